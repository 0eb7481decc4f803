#!/usr/bin/env bash
# test_shard.sh -- `--shard I/N` of embed and score-variants: for N = 1, 2, 3 (and more shards than rows),
# the N outputs gathered as the man pages say (TSV/BED: the first shard whole, then the others without
# their header line; VCF: bcftools concat) are byte for byte the output of the single run.
. "$(dirname "$0")/../lib.sh"
need bcftools samtools bgzip
M="$T/hyenadna-tiny"

# gather_text OUT FILES...: the first file whole, then the others without their first (header) line
gather_text() { local out=$1 f first=1; shift; : > "$out"; for f in "$@"; do
  if [ $first = 1 ]; then cat "$f" >> "$out"; first=0; else tail -n +2 "$f" >> "$out"; fi; done; }

# check NAME EXT GATHER PER "N..." -- hyenadna args... : the single run vs N shards gathered, for each N;
# PER: output rows per sharded item (3 for --all-snvs TSV: a position gives 3 SNVs), for the balance check
check() {
  local name=$1 ext=$2 how=$3 per=$4 ns=$5; shift 6
  local single="$tmp/$name.all.$ext"
  if ! "$H" "$@" -o "$single" 2>"$tmp/err"; then bad "$name: single run failed"; sed 's/^/    /' "$tmp/err" | head -3; return; fi
  local rows; rows=$(grep -vc '^#' "$single")
  [ "$rows" -gt 0 ] && ok || bad "$name: the single run wrote no rows"
  for N in $ns; do
    local files=() i
    for i in $(seq 1 "$N"); do
      local f="$tmp/$name.$i-$N.$ext"
      if ! "$H" "$@" --shard "$i/$N" -o "$f" 2>"$tmp/err"; then bad "$name: shard $i/$N failed"; sed 's/^/    /' "$tmp/err" | head -3; continue 2; fi
      files+=("$f")
    done
    local g="$tmp/$name.gathered-$N.$ext"
    case $how in
      text) gather_text "$g" "${files[@]}" ;;
      vcf)  bcftools concat --no-version -O v -o "$g" "${files[@]}" 2>"$tmp/err" || { bad "$name: bcftools concat of $N shards"; continue; } ;;
    esac
    if cmp -s "$g" "$single"; then ok; else bad "$name: $N shards gathered differ from the single run"; diff "$g" "$single" | head -4 | cut -c1-120 | sed 's/^/    /'; fi
    # the blocks are balanced (sizes differ by at most 1)
    local sizes; sizes=$(for f in "${files[@]}"; do echo $(( $(grep -vc '^#' "$f") / per )); done | sort -n | tr '\n' ' ')
    echo "$sizes" | awk '{ exit !($NF - $1 <= 1) }' && ok || bad "$name: unbalanced shards for N=$N (items per shard: $sizes)"
  done
}

# ---------------------------------------------------------------- embed
fa="$T/hyenadna-tiny/input.fa"
check embed-records tsv text 1 "1 2 3 10" -- embed -m "$M" "$fa"
check embed-windows tsv text 1 "1 2 3" -- embed -m "$M" -w 100 -s 60 "$fa"
check embed-bed bed text 1 "2 3" -- embed -m "$M" -w 64 "$fa"
cp "$fa" "$tmp/g.fa"; samtools faidx "$tmp/g.fa"
awk 'BEGIN{OFS="\t"} $2 > 40 {print $1, 10, ($2 > 300 ? 300 : $2)}' "$tmp/g.fa.fai" > "$tmp/r.bed"
check embed-regions tsv text 1 "2 3" -- embed -m "$M" -R "$tmp/r.bed" -w 50 "$tmp/g.fa"
# reads of a BAM file (every record of the FASTA as a read mapped at position 1 of seq1)
{
  printf '@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:seq1\tLN:100000\n'
  awk '/^>/{if(s)print n"\t"s; n=substr($1,2); s=""; next} {s=s $0} END{if(s)print n"\t"s}' "$fa" |
    awk 'BEGIN{OFS="\t"} {print $1, 0, "seq1", 1, 60, length($2) "M", "*", 0, 0, $2, "*"}'
} > "$tmp/r.sam"
samtools view -b -o "$tmp/r.bam" "$tmp/r.sam" 2>/dev/null
check embed-reads tsv text 1 "2 3" -- embed -m "$M" -w 90 "$tmp/r.bam"
# names met more than once (the same interval twice, a read name twice, windows of overlapping regions)
# get the suffixes _2, _3 of the single run in whichever shard they fall: a shard once numbered only the
# names of its own block, so that shards 2.. repeated names of earlier shards
awk 'BEGIN{OFS="\t"} {print; print; print $1, $2 + 5, $3}' "$tmp/r.bed" > "$tmp/dup.bed"
check embed-dup-regions tsv text 1 "2 3 5" -- embed -m "$M" -R "$tmp/dup.bed" "$tmp/g.fa"
check embed-dup-windows bed text 1 "2 3" -- embed -m "$M" -R "$tmp/dup.bed" -w 40 -s 30 "$tmp/g.fa"
{ grep '^@' "$tmp/r.sam"; grep -v '^@' "$tmp/r.sam" | awk '{print; print}'; } > "$tmp/dup.sam"
samtools view -b -o "$tmp/dup.bam" "$tmp/dup.sam" 2>/dev/null
check embed-dup-reads tsv text 1 "2 3 4" -- embed -m "$M" "$tmp/dup.bam"
check embed-dup-readwindows tsv text 1 "3" -- embed -m "$M" -w 90 "$tmp/dup.bam"
# every name of the gathered output is there once
cut -f1 "$tmp/embed-dup-reads.gathered-3.tsv" | sort | uniq -d > "$tmp/dupnames"
[ -f "$tmp/embed-dup-reads.gathered-3.tsv" ] && [ ! -s "$tmp/dupnames" ] && ok || bad "embed-dup-reads: names repeated across shards: $(head -3 "$tmp/dupnames" | tr '\n' ' ')"
# safetensors: each shard is its own file (no byte gather); both are written
"$H" embed -m "$M" -w 100 -o "$tmp/st.all.safetensors" "$fa" 2>/dev/null
for i in 1 2; do "$H" embed -m "$M" -w 100 --shard $i/2 -o "$tmp/st.$i.safetensors" "$fa" 2>/dev/null; done
if [ -s "$tmp/st.1.safetensors" ] && [ -s "$tmp/st.2.safetensors" ]; then ok; else bad "embed safetensors shards missing"; fi

# errors name the option
"$H" embed -m "$M" --shard 4/3 "$fa" >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 1 ] && grep -q -- "--shard" "$tmp/err" && ok || bad "embed --shard 4/3: exit $st, $(cat "$tmp/err")"
"$H" embed -m "$M" --shard 1/2 - < "$fa" >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 1 ] && grep -q "standard input" "$tmp/err" && ok || bad "embed --shard from stdin: exit $st, $(cat "$tmp/err")"
"$H" embed -m "$M" --shard x "$fa" >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 1 ] && grep -q "'x' is not a shard" "$tmp/err" && ok || bad "embed --shard x: exit $st, $(cat "$tmp/err")"

# ---------------------------------------------------------------- score-variants
sv="$tmp/sv"; mkdir -p "$sv"
awk '/^>/{p=($1==">seq6"||$1==">seq5")} p' "$fa" | sed 's/^>seq6.*/>ctgA/; s/^>seq5.*/>ctgB/' > "$sv/ref.fa"
samtools faidx "$sv/ref.fa"
{
  printf '##fileformat=VCFv4.2\n'
  awk '{printf "##contig=<ID=%s,length=%s>\n", $1, $2}' "$sv/ref.fa.fai"
  printf '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
  printf '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n'
  # every 23rd position of both contigs, an SNV (plus an unscorable REF mismatch and a deletion)
  for c in ctgA ctgB; do
    seq=$(samtools faidx "$sv/ref.fa" "$c" | grep -v '^>' | tr -d '\n')
    for ((p = 1; p <= ${#seq}; p += 23)); do
      r=${seq:$((p-1)):1}; case $r in A) a=G;; C) a=T;; G) a=A;; *) a=C;; esac
      printf '%s\t%d\tv%d\t%s\t%s\t.\tPASS\tDP=%d\n' "$c" "$p" "$p" "$r" "$a" "$p"
    done
    printf '%s\t%d\tdel\t%s\t%s\t.\tPASS\t.\n' "$c" 3 "${seq:2:3}" "${seq:2:1}"
  done | sort -k1,1 -k2,2n
} > "$sv/in.vcf"
bgzip -c "$sv/in.vcf" > "$sv/in.vcf.gz"
bcftools view -O b -o "$sv/in.bcf" "$sv/in.vcf"
S=(score-variants -m "$M" -f "$sv/ref.fa" -w 128 --no-version)
check sv-vcf vcf vcf 1 "1 2 3" -- "${S[@]}" "$sv/in.vcf"
check sv-vcfgz vcf vcf 1 "3" -- "${S[@]}" -O v "$sv/in.vcf.gz"
check sv-bcf vcf vcf 1 "2" -- "${S[@]}" -O v "$sv/in.bcf"
check sv-tsv tsv text 1 "3" -- "${S[@]}" "$sv/in.vcf"
check sv-allsnvs tsv text 3 "2 3 60" -- "${S[@]}" --all-snvs -r ctgB:11-60
# every input record is in the gathered output, in order
bcftools view -H "$sv/in.vcf" | cut -f1-7 > "$tmp/in.txt"
bcftools view -H "$tmp/sv-vcf.gathered-3.vcf" | cut -f1-7 > "$tmp/outrec.txt"
cmp -s "$tmp/in.txt" "$tmp/outrec.txt" && ok || bad "score-variants 3 shards: records differ from the input"
"$H" "${S[@]}" --shard 1/2 - < "$sv/in.vcf" >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 1 ] && grep -q "standard input" "$tmp/err" && ok || bad "score-variants --shard from stdin: exit $st, $(cat "$tmp/err")"
"$H" "${S[@]}" --shard 1/0 "$sv/in.vcf" >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 1 ] && grep -q -- "--shard" "$tmp/err" && ok || bad "score-variants --shard 1/0: exit $st"

finish
