# Base model: the demo builds a tiny Qwen2.5-VL offline and pretrains it to see (on a task disjoint from
# the benchmarks); the paper config fetches Qwen2.5-VL-7B-Instruct (or uses a local path).

if config["model"]["source"] == "tiny":

    rule build_tiny_model:
        input:
            templates="src/mgiqa/templates/prompts.yaml",  # the tokenizer is trained on them
            config=ancient(CONFIG),
        output:
            model=directory(P.base_init_model(config)),
        log:
            f"{LOGS}/model/build_tiny_model.log",
        benchmark:
            f"{BENCH}/model/build_tiny_model.tsv"
        params:
            settings=RC.settings(config, REG, "build_tiny_model"),
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            ENV
        shell:
            "mgiqa build-model --config {input.config:q} -o {output.model:q} > {log:q} 2>&1"

    rule pretrain_base_model:
        input:
            model=P.base_init_model(config),
            table=P.prepared(config, P.pretrain_dataset(config)),
            config=ancient(CONFIG),
        output:
            model=directory(P.base_model(config)),
        log:
            f"{LOGS}/model/pretrain.log",
        benchmark:
            f"{BENCH}/model/pretrain.tsv"
        params:
            settings=RC.settings(config, REG, "pretrain_base_model"),
            env=P.thread_env(config, P.pretrain_threads(config)),
        threads: P.pretrain_threads(config)
        resources:
            mem_mb=4000,
            runtime=60,
        conda:
            ENV
        shell:
            "{params.env}mgiqa pretrain --config {input.config:q} --model {input.model:q} --table {input.table:q}"
            " -o {output.model:q} > {log:q} 2>&1"

else:

    rule fetch_base_model:
        input:
            config=ancient(CONFIG),
        output:
            model=directory(P.base_model(config)),
        log:
            f"{LOGS}/model/fetch_base_model.log",
        benchmark:
            f"{BENCH}/model/fetch_base_model.tsv"
        params:
            settings=RC.settings(config, REG, "fetch_base_model"),
        resources:
            mem_mb=4000,
            runtime=120,
        conda:
            ENV
        shell:
            "mgiqa build-model --config {input.config:q} -o {output.model:q} > {log:q} 2>&1"
