# SFT warmup (TRL SFTTrainer), one per prompt kind and seed, shared by every ablation using that prompt.


rule sft:
    input:
        model=P.base_model(config),
        tables=lambda w: [P.prepared(config, d) for d in P.sft_train_datasets(config, REG, w.prompt)],
    output:
        model=directory(f"{MODELS}/sft/{{prompt}}/seed{{seed}}"),
    log:
        f"{LOGS}/sft/{{prompt}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/sft/{{prompt}}_seed{{seed}}.tsv"
    params:
        config=CONFIG,
        sft=config["sft"],
        model=config["model"],
        launch=LAUNCH,
        env=P.thread_env(config),
    threads: P.job_threads(config)
    resources:
        mem_mb=COMPUTE.get("mem_mb", 8000),
        runtime=COMPUTE.get("runtime_min", 60),
        gpu=COMPUTE.get("gpus", 0),
        slurm_partition=COMPUTE.get("partition") or "",
    conda:
        GPU_ENV
    shell:
        "{params.env}{params.launch} sft --config {params.config:q} --prompt {wildcards.prompt:q} --seed {wildcards.seed:q}"
        " --model {input.model:q} --tables {input.tables:q} -o {output.model:q} > {log:q} 2>&1"
