"""Snakemake wrapper for hyenadna score-variants: score the ALT alleles of a VCF/BCF with a DNA
language model (INFO/HDNA_LLR, INFO/HDNA_EDIST).  See meta.yaml and `man hyenadna-score-variants`."""

__author__ = "the hyenadna authors"
__license__ = "MIT"

import re

from snakemake.shell import shell

log = snakemake.log_fmt_shell(stdout=False, stderr=True)
extra = snakemake.params.get("extra", "")

# the model: input.model (a model directory or .safetensors file), else params.model, else $HYENADNA_MODEL
model = snakemake.input.get("model") or snakemake.params.get("model", "")
model = f"-m {model}" if model else ""

# the reference: input.ref, else the VCF's ##reference= line or $HYENADNA_REF (hyenadna's own lookup)
ref = snakemake.input.get("ref", "")
ref = f"-f {ref}" if ref else ""

# scatter: params.shard = "I/N", or a scatteritem "I-of-N" from Snakemake's scattergather
shard = str(snakemake.params.get("shard", ""))
m = re.fullmatch(r"(\d+)-of-(\d+)", shard)
if m:
    shard = f"{m.group(1)}/{m.group(2)}"
shard = f"--shard {shard}" if shard else ""

# output type from the name (.vcf, .vcf.gz, .bcf, .tsv, .tsv.gz); an output named idx asks for -W
index = "-W" if snakemake.output.get("idx") else ""

shell(
    "hyenadna score-variants {model} {ref} --threads {snakemake.threads} {shard} {index} {extra}"
    " -o {snakemake.output[0]} {snakemake.input.vcf} {log}"
)
