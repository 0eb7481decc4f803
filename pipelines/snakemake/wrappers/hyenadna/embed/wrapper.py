"""Snakemake wrapper for hyenadna embed: embeddings of FASTA records, BED regions, sliding windows or
the reads of a SAM/BAM/CRAM file, as TSV, BED or safetensors.  See meta.yaml and `man hyenadna-embed`."""

__author__ = "the hyenadna authors"
__license__ = "MIT"

import re

from snakemake.shell import shell

log = snakemake.log_fmt_shell(stdout=False, stderr=True)
extra = snakemake.params.get("extra", "")

model = snakemake.input.get("model") or snakemake.params.get("model", "")
model = f"-m {model}" if model else ""

# regions: input.regions (a BED file: 0-based half-open; other names: 1-based chr beg end)
regions = snakemake.input.get("regions", "")
regions = f"-R {regions}" if regions else ""

# reference of a CRAM input
reference = snakemake.input.get("reference", "")
reference = f"-T {reference}" if reference else ""

shard = str(snakemake.params.get("shard", ""))
m = re.fullmatch(r"(\d+)-of-(\d+)", shard)
if m:
    shard = f"{m.group(1)}/{m.group(2)}"
shard = f"--shard {shard}" if shard else ""

shell(
    "hyenadna embed {model} {regions} {reference} --threads {snakemake.threads} {shard} {extra}"
    " -o {snakemake.output[0]} {snakemake.input.seq} {log}"
)
