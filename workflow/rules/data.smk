# Data stage: download (or generate, for the demo) -> canonical label table -> table joined with images.


rule fetch_dataset:
    input:
        config=ancient(CONFIG),
    output:
        marker=f"{DATA}/raw/{{dataset}}/.complete",
    log:
        f"{LOGS}/fetch/{{dataset}}.log",
    benchmark:
        f"{BENCH}/fetch/{{dataset}}.tsv"
    params:
        settings=RC.settings(config, REG, "fetch_dataset"),  # rerun trigger: the keys it reads
        raw_root=lambda w, output: P.ancestor(output.marker, 2),
    resources:
        mem_mb=2000,
        runtime=240,
    conda:
        ENV
    shell:
        "mgiqa fetch {wildcards.dataset:q} --config {input.config:q} --raw-root {params.raw_root:q} > {log:q} 2>&1"


rule labels:
    input:
        marker=rules.fetch_dataset.output.marker,
        config=ancient(CONFIG),
    output:
        table=f"{DATA}/tables/{{dataset}}.csv",
    log:
        f"{LOGS}/labels/{{dataset}}.log",
    benchmark:
        f"{BENCH}/labels/{{dataset}}.tsv"
    params:
        label_file=lambda w: P.label_file(config, REG, w.dataset),
        settings=RC.settings(config, REG, "labels"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa labels {wildcards.dataset:q} {params.label_file:q} --config {input.config:q} -o {output.table:q} > {log:q} 2>&1"


rule prepare:
    input:
        table=rules.labels.output.table,
        marker=rules.fetch_dataset.output.marker,
        config=ancient(CONFIG),
    output:
        prepared=f"{DATA}/prepared/{{dataset}}.csv",
        report=f"{DATA}/prepared/{{dataset}}.report.json",
    log:
        f"{LOGS}/prepare/{{dataset}}.log",
    benchmark:
        f"{BENCH}/prepare/{{dataset}}.tsv"
    params:
        settings=RC.settings(config, REG, "prepare"),
        dataset_root=lambda w, input: P.ancestor(input.marker, 1),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    shell:
        "mgiqa prepare --config {input.config:q} --dataset {wildcards.dataset:q} --table {input.table:q}"
        " --dataset-root {params.dataset_root:q} -o {output.prepared:q} --report {output.report:q} > {log:q} 2>&1"


rule data:
    # target: every dataset of the config, downloaded/generated, parsed and checked
    input:
        prepared=[P.prepared(config, d) for d in P.all_datasets(config)],
