# SFT warmup (TRL SFTTrainer), one per prompt kind and seed, shared by every ablation using that prompt.


rule sft:
    input:
        model=P.base_model(config),
        tables=lambda w: [P.prepared(config, d) for d in P.sft_train_datasets(config, REG, w.prompt)],
        config=ancient(CONFIG),
    output:
        model=directory(f"{MODELS}/sft/{{prompt}}/seed{{seed}}"),
    log:
        f"{LOGS}/sft/{{prompt}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/sft/{{prompt}}_seed{{seed}}.tsv"
    params:
        settings=RC.settings(config, REG, "sft"),
        launch=LAUNCH,
        env=P.thread_env(config),
    threads: P.job_threads(config)
    resources:
        mem_mb=COMPUTE["mem_mb"],
        runtime=COMPUTE["runtime_min"],
        gpu=COMPUTE["gpus"],
        slurm_partition=COMPUTE["partition"] or "",
    conda:
        GPU_ENV
    shell:
        "{params.env}{params.launch} sft --config {input.config:q} --prompt {wildcards.prompt:q} --seed {wildcards.seed:q}"
        " --model {input.model:q} --tables {input.tables:q} -o {output.model:q} > {log:q} 2>&1"
