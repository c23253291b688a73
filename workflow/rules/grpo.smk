# GRPO with the multi-dimensional Thurstone reward: one branch per ablation and seed.


rule grpo:
    input:
        model=lambda w: P.grpo_start_model(config, w.ablation, w.seed),
        tables=lambda w: [P.prepared(config, d) for d in P.ablation_train_datasets(config, REG, w.ablation)],
        plan=f"{DATA}/batches/{{ablation}}.csv",
        config=ancient(CONFIG),
    output:
        model=directory(f"{MODELS}/grpo/{{ablation}}/seed{{seed}}"),
    log:
        f"{LOGS}/grpo/{{ablation}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/grpo/{{ablation}}_seed{{seed}}.tsv"
    params:
        settings=RC.settings(config, REG, "grpo"),
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
        "{params.env}{params.launch} grpo --config {input.config:q} --ablation {wildcards.ablation:q} --seed {wildcards.seed:q}"
        " --model {input.model:q} --tables {input.tables:q} --batch-plan {input.plan:q}"
        " -o {output.model:q} > {log:q} 2>&1"


rule train:
    # target: every trained branch (GRPO per ablation and seed, and the SFT-only models)
    input:
        grpo=P.all_grpo_models(config),
        sft=[P.sft_model(config, p, s) for p in P.sft_prompts(config) for s in config["seeds"]],
