# Released checkpoints (evaluation.external with hub_id or local_path): fetched once, then evaluated by the
# predict and metrics rules like every other method (mgiqa.evaluation.external). Entries naming an internal
# method (`method:`) reuse its model and need no rule here. A download: on a cluster, run it where the
# network is first (`--until fetch_external_model`, as fetch_dataset and fetch_base_model).
from mgiqa.evaluation import external as EXT


rule fetch_external_model:
    input:
        config=ancient(CONFIG),
    output:
        model=directory(f"{MODELS}/external/{{external}}"),
    log:
        f"{LOGS}/model/fetch_external_{{external}}.log",
    benchmark:
        f"{BENCH}/model/fetch_external_{{external}}.tsv"
    wildcard_constraints:
        external="|".join(EXT.fetched_methods(config)) or "none",
    params:
        settings=RC.settings(config, REG, "fetch_external_model"),
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        ENV
    shell:
        "mgiqa fetch-model --config {input.config:q} --method {wildcards.external:q} -o {output.model:q}"
        " > {log:q} 2>&1"
