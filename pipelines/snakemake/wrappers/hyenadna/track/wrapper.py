"""Snakemake wrapper for hyenadna track: per-base genome-browser tracks of a DNA language model (bigWig or
bedGraph: logp, entropy, ic, A/C/G/T logo heights) and the tabix table of every SNV.  See meta.yaml and
`man hyenadna-track`."""

__author__ = "the hyenadna authors"
__license__ = "MIT"

import re

from snakemake.shell import shell

log = snakemake.log_fmt_shell(stdout=False, stderr=True)
extra = snakemake.params.get("extra", "")

# the model: input.model (a model directory or .safetensors file), else params.model, else $HYENADNA_MODEL
model = snakemake.input.get("model") or snakemake.params.get("model", "")
model = f"--model {model}" if model else ""

# the output prefix: params.prefix, else the first output name without its track suffix
prefix = snakemake.params.get("prefix", "")
if not prefix:
    m = re.fullmatch(r"(.+)\.(logp|entropy|ic|A|C|G|T)\.(bw|bedgraph\.gz)(\.tbi)?|(.+)\.snv\.tsv\.gz(\.tbi)?",
                     str(snakemake.output[0]))
    if not m:
        raise ValueError("hyenadna track wrapper: give params.prefix, or outputs named PREFIX.NAME.bw, "
                         "PREFIX.NAME.bedgraph.gz or PREFIX.snv.tsv.gz")
    prefix = m.group(1) or m.group(5)

# what to compute: params.what (e.g. "logp,entropy", "all"); the output type from params.output_type or
# the outputs' names
what = snakemake.params.get("what", "")
what = f"--what {what}" if what else ""
otype = snakemake.params.get("output_type", "")
if not otype and any(str(f).endswith(".bedgraph.gz") for f in snakemake.output):
    otype = "bedgraph"
otype = f"--output-type {otype}" if otype else ""

# the regions: params.region ("CHR[:BEG-END][,...]") or input.regions (a BED file); else every contig
region = snakemake.params.get("region", "")
region = f"--region {region}" if region else ""
if snakemake.input.get("regions"):
    region = f"--regions-file {snakemake.input.regions}"

# scatter: params.shard = "I/N", or a scatteritem "I-of-N"
shard = str(snakemake.params.get("shard", ""))
m = re.fullmatch(r"(\d+)-of-(\d+)", shard)
if m:
    shard = f"{m.group(1)}/{m.group(2)}"
shard = f"--shard {shard}" if shard else ""

shell(
    "hyenadna track {model} --fasta-ref {snakemake.input.ref} --threads {snakemake.threads}"
    " {region} {shard} {what} {otype} {extra} --output {prefix} {log}"
)
