# Evaluation: predictions of every method on every benchmark, then metrics per (method, seed, benchmark).


rule predict:
    input:
        model=lambda w: P.method_model(config, w.method, w.seed),
        table=f"{DATA}/prepared/{{benchmark}}.csv",
    output:
        predictions=f"{RESULTS}/predictions/{{method}}/seed{{seed}}/{{benchmark}}.csv",
    log:
        f"{LOGS}/predict/{{method}}_seed{{seed}}_{{benchmark}}.log",
    benchmark:
        f"{BENCH}/predict/{{method}}_seed{{seed}}_{{benchmark}}.tsv"
    wildcard_constraints:
        method="|".join(P.model_methods(config)),
    params:
        prompt=lambda w: P.method_prompt(config, w.method),
        evaluation=config["evaluation"],
        generation=config["generation"],
    threads: 1
    resources:
        mem_mb=COMPUTE.get("mem_mb", 8000),
        runtime=COMPUTE.get("runtime_min", 60),
        gpu=min(1, COMPUTE.get("gpus", 0)),
        slurm_partition=COMPUTE.get("partition") or "",
    conda:
        ENV
    shell:
        "mgiqa predict --config {CONFIG} --model {input.model} --benchmark-table {input.table}"
        " --prompt {params.prompt} -o {output.predictions} > {log} 2>&1"


rule classical:
    input:
        table=f"{DATA}/prepared/{{benchmark}}.csv",
    output:
        predictions=f"{RESULTS}/predictions/classical_{{measure}}/seed0/{{benchmark}}.csv",
    log:
        f"{LOGS}/classical/{{measure}}_{{benchmark}}.log",
    benchmark:
        f"{BENCH}/classical/{{measure}}_{{benchmark}}.tsv"
    wildcard_constraints:
        measure="|".join(config["evaluation"].get("classical", [])) or "none",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    shell:
        "mgiqa classical --config {CONFIG} --benchmark-table {input.table} --measure {wildcards.measure}"
        " -o {output.predictions} > {log} 2>&1"


rule metrics:
    input:
        predictions=f"{RESULTS}/predictions/{{method}}/seed{{seed}}/{{benchmark}}.csv",
    output:
        metrics=f"{RESULTS}/metrics/{{method}}/seed{{seed}}/{{benchmark}}.json",
    log:
        f"{LOGS}/metrics/{{method}}_seed{{seed}}_{{benchmark}}.log",
    benchmark:
        f"{BENCH}/metrics/{{method}}_seed{{seed}}_{{benchmark}}.tsv"
    params:
        evaluation=config["evaluation"],
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa metrics --config {CONFIG} --predictions {input.predictions} -o {output.metrics} > {log} 2>&1"


rule evaluate:
    # target: metrics of every method on every benchmark
    input:
        metrics=P.all_metrics(config),
