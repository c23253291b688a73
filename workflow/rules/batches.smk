# GRPO batch plans: seeded, domain-homogeneous batches of B images (one plan per ablation).


rule batch_plan:
    input:
        tables=lambda w: [P.prepared(config, d) for d in P.ablation_train_datasets(config, REG, w.ablation)],
        config=ancient(CONFIG),
    output:
        plan=f"{DATA}/batches/{{ablation}}.csv",
    log:
        f"{LOGS}/batch_plan/{{ablation}}.log",
    benchmark:
        f"{BENCH}/batch_plan/{{ablation}}.tsv"
    params:
        scope=lambda w: P.batch_scope(config, w.ablation),
        settings=RC.settings(config, REG, "batch_plan"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "mgiqa batch-plan --config {input.config:q} --tables {input.tables:q} --scope {params.scope:q}"
        " -o {output.plan:q} > {log:q} 2>&1"


rule batch_plans:
    # target: the batch plan of every GRPO branch
    input:
        plans=[P.batch_plan(config, a) for a in P.grpo_ablations(config)],
