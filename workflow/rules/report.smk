# Tables and figures. The figures are an input of the tables rule, so the main target brings them along.


rule figures:
    input:
        metrics=P.all_metrics(config),
        grpo_models=P.all_grpo_models(config),
    output:
        srcc_bars=f"{RESULTS}/figures/srcc_by_benchmark.png",
        scatter=f"{RESULTS}/figures/pred_vs_mos.png",
        curves=f"{RESULTS}/figures/training_rewards.png",
        ablations=f"{RESULTS}/figures/ablation_deltas.png",
        attributes=f"{RESULTS}/figures/attribute_srcc.png",
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
        figures=rules.figures.output,
    output:
        main=f"{RESULTS}/tables/main.csv",
        main_md=f"{RESULTS}/tables/main.md",
        ablations=f"{RESULTS}/tables/ablations.csv",
        ablations_md=f"{RESULTS}/tables/ablations.md",
        attributes=f"{RESULTS}/tables/attributes.csv",
        attributes_md=f"{RESULTS}/tables/attributes.md",
    log:
        f"{LOGS}/report/tables.log",
    benchmark:
        f"{BENCH}/report/tables.tsv"
    params:
        metrics_root=f"{RESULTS}/metrics",
        out_dir=f"{RESULTS}/tables",
        evaluation=config["evaluation"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa tables --config {CONFIG} --metrics-root {params.metrics_root} --out-dir {params.out_dir} > {log} 2>&1"
