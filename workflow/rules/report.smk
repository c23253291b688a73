# Tables and figures (in `snakemake --report report.html` with their captions, workflow/report/*.rst). The figures are an input of the tables rule, so the main target brings them along.


rule figures:
    input:
        metrics=P.all_metrics(config),
        predictions=P.all_predictions(config),
        grpo_models=P.all_grpo_models(config),
        config=ancient(CONFIG),
    output:
        **R.figure_outputs(config),  # the PNGs flagged for `snakemake --report` (mgiqa.report_items)
    log:
        f"{LOGS}/report/figures.log",
    benchmark:
        f"{BENCH}/report/figures.tsv"
    params:
        metrics_root=lambda w, input: P.ancestor(input.metrics[0], 3),
        predictions_root=lambda w, input: P.ancestor(input.predictions[0], 3),
        models_root=lambda w, input: P.first_ancestor(input.grpo_models, 3, MODELS),
        out_dir=lambda w, output: P.ancestor(output.srcc_by_benchmark_png, 1),
        settings=RC.settings(config, REG, "figures"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa figures --config {input.config:q} --metrics-root {params.metrics_root:q}"
        " --predictions-root {params.predictions_root:q} --models-root {params.models_root:q}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule tables:
    input:
        metrics=P.all_metrics(config),
        predictions=P.all_predictions(config),
        figures=rules.figures.output,
        config=ancient(CONFIG),  # the effective config, in the report beside the tables
    output:
        **R.table_outputs(config),
    log:
        f"{LOGS}/report/tables.log",
    benchmark:
        f"{BENCH}/report/tables.tsv"
    params:
        metrics_root=lambda w, input: P.ancestor(input.metrics[0], 3),
        predictions_root=lambda w, input: P.ancestor(input.predictions[0], 3),
        out_dir=lambda w, output: P.ancestor(output.main_csv, 1),
        settings=RC.settings(config, REG, "tables"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa tables --config {input.config:q} --metrics-root {params.metrics_root:q}"
        " --predictions-root {params.predictions_root:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"
