# The effective config: the validated config with every schema default filled in, written by a job (never
# while parsing, so `-n`, `--lint` and `--report` write nothing). Every stage reads it as an ancient() input:
# a config edit reruns this job, and a stage only when its own keys change (mgiqa.rule_config).


rule effective_config:
    output:
        config=R.config_output(CONFIG),  # in the report's Configuration category (mgiqa.report_items)
    log:
        f"{LOGS}/config/effective_config.log",
    benchmark:
        f"{BENCH}/config/effective_config.tsv"
    params:
        config_json=RC.config_json(config),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    shell:
        "mgiqa validate-config --json {params.config_json:q} --write-effective {output.config:q} > {log:q} 2>&1"
