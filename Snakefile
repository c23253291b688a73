# MG-IQA pipeline. Default: the embedded demo (config/config.yaml).
#   snakemake --cores all results/tables/main.csv
#   snakemake --cores all --configfile config/paper.yaml results/tables/main.csv
# All logic lives in src/mgiqa; the rule files only wire `mgiqa <stage>` commands together.

# The demo config is the default; a --configfile REPLACES it (no key-by-key merge with the demo, so a
# config with fewer ablations or benchmarks means exactly that).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/config.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/batches.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/sft.smk"
include: "workflow/rules/grpo.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/external.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.tables.output.main_csv,
