# Tables and figures. The figures are an input of the tables rule, so the main target brings them along.


rule figures:
    input:
        metrics=P.all_metrics(config),
        predictions=P.all_predictions(config),
        grpo_models=P.all_grpo_models(config),
    output:
        **P.figure_files(config),
    log:
        f"{LOGS}/report/figures.log",
    benchmark:
        f"{BENCH}/report/figures.tsv"
    params:
        metrics_root=f"{RESULTS}/metrics",
        predictions_root=f"{RESULTS}/predictions",
        models_root=MODELS,
        out_dir=f"{RESULTS}/figures",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa figures --config {CONFIG} --metrics-root {params.metrics_root}"
        " --predictions-root {params.predictions_root} --models-root {params.models_root}"
        " --out-dir {params.out_dir} > {log} 2>&1"


rule tables:
    input:
        metrics=P.all_metrics(config),
        predictions=P.all_predictions(config),
        figures=rules.figures.output,
    output:
        **P.table_files(config),
    log:
        f"{LOGS}/report/tables.log",
    benchmark:
        f"{BENCH}/report/tables.tsv"
    params:
        metrics_root=f"{RESULTS}/metrics",
        predictions_root=f"{RESULTS}/predictions",
        out_dir=f"{RESULTS}/tables",
        evaluation=config["evaluation"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa tables --config {CONFIG} --metrics-root {params.metrics_root}"
        " --predictions-root {params.predictions_root} --out-dir {params.out_dir} > {log} 2>&1"
