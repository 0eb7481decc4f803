#!/usr/bin/env bash
# test_snakemake.sh -- run the example Snakemake workflow (pipelines/snakemake/example) for real on the
# fixture model: score-variants scattered over 3 shards and gathered with bcftools concat, embed of BED
# regions in 3 shards gathered.  Checks that the gathered VCF has every input record, in order and
# otherwise unchanged, each scored record annotated, and that both gathered outputs equal a single
# run of hyenadna.  Skips (77) when snakemake, bcftools, samtools or bgzip is not installed (.ci/run
# installs them).
. "$(dirname "$0")/../lib.sh"
need snakemake bcftools samtools bgzip
M="$T/hyenadna-tiny"

# the workflow calls `hyenadna` from PATH: the one under test
bindir="$tmp/bin"; mkdir -p "$bindir"; ln -s "$H" "$bindir/hyenadna"
export PATH="$bindir:$PATH"

# reference, variants (every 17th position of both contigs, some multi-allelic, an indel, a REF
# mismatch and a record on a contig absent from the reference) and regions
cd "$tmp" || exit 1
awk '/^>/{p=($1==">seq6"||$1==">seq5")} p' "$M/input.fa" | sed 's/^>seq6.*/>ctgA/; s/^>seq5.*/>ctgB/' > ref.fa
samtools faidx ref.fa
{
  printf '##fileformat=VCFv4.2\n'
  awk '{printf "##contig=<ID=%s,length=%s>\n", $1, $2}' ref.fa.fai
  printf '##contig=<ID=ctgZ,length=99>\n##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
  printf '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
  printf '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n'
  {
    for c in ctgA ctgB; do
      seq=$(samtools faidx ref.fa "$c" | grep -v '^>' | tr -d '\n')
      for ((p = 1; p <= ${#seq}; p += 17)); do
        r=${seq:$((p-1)):1}; case $r in A) a=G,T;; C) a=T;; G) a=A,C;; *) a=C;; esac
        printf '%s\t%d\tv%d\t%s\t%s\t50\tPASS\tDP=%d\tGT\t0/1\n' "$c" "$p" "$p" "$r" "$a" "$p"
      done
      printf '%s\t%d\tdel\t%s\t%s\t.\t.\t.\tGT\t0/1\n' "$c" 5 "${seq:4:3}" "${seq:4:1}"
      printf '%s\t%d\tmism\tN\tA\t.\t.\t.\tGT\t0/1\n' "$c" 9
    done | sort -k1,1 -k2,2n
    printf 'ctgZ\t5\tnoctg\tA\tT\t.\t.\t.\tGT\t0/1\n'
  }
} > calls.vcf
bgzip -c calls.vcf > calls.vcf.gz
printf 'ctgA\t0\t300\nctgB\t10\t200\nctgA\t500\t1000\n' > regions.bed
nrec=$(bcftools view -H calls.vcf | wc -l)
cat > config.yaml <<EOC
model: $M
ref: ref.fa
vcf: calls.vcf.gz
bed: regions.bed
shards: 3
threads: 1
score_extra: "--window 128"
embed_extra: "--window 100 --stride 50"
EOC

if snakemake -s "$S/pipelines/snakemake/example/Snakefile" --configfile config.yaml --cores 2 --quiet \
     >snakemake.log 2>&1; then ok; else bad "the example workflow failed"; tail -30 snakemake.log | sed 's/^/    /'; fi

out=results/scored.vcf.gz
[ -s "$out" ] && [ -s "$out.tbi" ] && ok || bad "no gathered $out (+ .tbi)"
# 3 shards were run, each with its block
n=$(ls logs/score_variants/*.log 2>/dev/null | wc -l)
[ "$n" -eq 3 ] && ok || bad "expected 3 score-variants shard logs, found $n"
# ... whose record counts (the summary lines) are balanced blocks adding up to the input's
counts=$(for f in logs/score_variants/*.log; do sed -n 's/^hyenadna score-variants: \([0-9]*\) records:.*/\1/p' "$f"; done | sort -n | tr '\n' ' ')
echo "$counts" | awk -v t="$nrec" '{ s = 0; for (i = 1; i <= NF; i++) s += $i; exit !(NF == 3 && s == t && $NF - $1 <= 1) }' \
  && ok || bad "shard record counts '$counts' are not 3 balanced blocks of $nrec"
# every input record, in order, unchanged but for the added INFO tags
bcftools view -H calls.vcf > in.txt
bcftools annotate -x INFO/HDNA_LLR,INFO/HDNA_EDIST "$out" 2>/dev/null | bcftools view -H > out.txt
[ "$(wc -l < out.txt)" -eq "$nrec" ] && ok || bad "gathered VCF has $(wc -l < out.txt) records, the input $nrec"
cmp -s in.txt out.txt && ok || { bad "gathered VCF records differ from the input's (minus INFO tags)"; diff in.txt out.txt | head -5; }
# the SNVs were scored: every record with ID v* on ctgA/ctgB has HDNA_LLR
nscored=$(bcftools query -i 'ID~"^v" && INFO/HDNA_LLR!="."' -f '%ID\n' "$out" | wc -l)
nsnv=$(grep -c '	v[0-9]' calls.vcf)
[ "$nscored" -eq "$nsnv" ] && ok || bad "$nscored of $nsnv SNV records carry HDNA_LLR"
bcftools query -i 'ID="mism" || ID="noctg"' -f '%INFO/HDNA_LLR\n' "$out" | grep -qv '^\.$' && bad "unscorable records annotated" || ok
# the gathered records equal one unsharded run
hyenadna score-variants -m "$M" -f ref.fa --window 128 -o single.vcf.gz calls.vcf.gz 2>/dev/null
cmp -s <(bcftools view -H single.vcf.gz) <(bcftools view -H "$out") && ok || bad "gathered records differ from a single run"
# embeddings: 3 shards gathered equal one run
emb=results/embeddings.tsv
hyenadna embed -m "$M" -R regions.bed --window 100 --stride 50 -o single.tsv ref.fa 2>/dev/null
[ "$(grep -vc '^#' single.tsv)" -gt 3 ] && ok || bad "single embed run: too few rows"
cmp -s "$emb" single.tsv && ok || bad "gathered embeddings differ from a single run"
# temporary shard outputs removed
[ -z "$(ls results/scored 2>/dev/null)" ] && ok || bad "shard outputs left behind"

finish
