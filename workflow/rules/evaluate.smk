# Evaluation: one job per (method, seed) covers every benchmark (the model loads once), then metrics.


rule predict:
    input:
        model=lambda w: P.method_model(config, w.method, w.seed),
        tables=[P.prepared(config, b) for b in config["datasets"]["benchmarks"]],
        config=ancient(CONFIG),
    output:
        predictions=P.per_benchmark(config, "predictions"),
    log:
        f"{LOGS}/predict/{{method}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/predict/{{method}}_seed{{seed}}.tsv"
    wildcard_constraints:
        method="|".join(P.predicted_methods(config)),
    params:
        prompt=lambda w: P.method_prompt(config, w.method),
        out_dir=lambda w, output: P.ancestor(output.predictions[0], 1),
        settings=RC.settings(config, REG, "predict"),
        env=P.thread_env(config),
    threads: P.job_threads(config)
    resources:
        mem_mb=COMPUTE["mem_mb"],
        runtime=COMPUTE["runtime_min"],
        gpu=min(1, COMPUTE["gpus"]),
        slurm_partition=COMPUTE["partition"] or "",
    conda:
        GPU_ENV
    shell:
        "{params.env}mgiqa predict --config {input.config:q} --model {input.model:q} --prompt {params.prompt:q}"
        " --method {wildcards.method:q} --benchmark-tables {input.tables:q} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1"


rule classical:
    input:
        tables=[P.prepared(config, b) for b in config["datasets"]["benchmarks"]],
        config=ancient(CONFIG),
    output:
        predictions=P.per_benchmark(config, "predictions", method="classical_{measure}", seed=0),
    log:
        f"{LOGS}/classical/{{measure}}.log",
    benchmark:
        f"{BENCH}/classical/{{measure}}.tsv"
    wildcard_constraints:
        measure="|".join(config["evaluation"]["classical"]) or "none",
    params:
        out_dir=lambda w, output: P.ancestor(output.predictions[0], 1),
        settings=RC.settings(config, REG, "classical"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    shell:
        "mgiqa classical --config {input.config:q} --measure {wildcards.measure:q} --benchmark-tables {input.tables:q}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule metrics:
    input:
        predictions=P.per_benchmark(config, "predictions"),
        tables=[P.prepared(config, b) for b in config["datasets"]["benchmarks"]],
        config=ancient(CONFIG),
    output:
        metrics=P.per_benchmark(config, "metrics"),
    log:
        f"{LOGS}/metrics/{{method}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/metrics/{{method}}_seed{{seed}}.tsv"
    params:
        out_dir=lambda w, output: P.ancestor(output.metrics[0], 1),
        settings=RC.settings(config, REG, "metrics"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa metrics --config {input.config:q} --method {wildcards.method:q} --predictions {input.predictions:q}"
        " --benchmark-tables {input.tables:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule evaluate:
    # target: metrics of every method on every benchmark
    input:
        metrics=P.all_metrics(config),
