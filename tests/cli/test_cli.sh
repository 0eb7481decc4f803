#!/usr/bin/env bash
# test_cli.sh -- end-to-end checks of the command-line conventions (streams and exit codes).
# Run by `make check` with HYENADNA and TESTDATA set.
set -u
H=${HYENADNA:?HYENADNA not set}
T=${TESTDATA:?TESTDATA not set}
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ok()   { pass=$((pass+1)); }
bad()  { fail=$((fail+1)); echo "FAIL: $*"; }
# expect STATUS DESCRIPTION -- command...  (stdout to $tmp/out, stderr to $tmp/err)
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; sed 's/^/    /' "$tmp/err" | head -5; fi
}
has()    { if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; head -3 "$1" | sed 's/^/    /'; fi; }
empty()  { if [ ! -s "$1" ]; then ok; else bad "$2: $(basename "$1") not empty"; head -3 "$1" | sed 's/^/    /'; fi; }

# bare program: grouped usage on stderr, exit 1
expect 1 "bare hyenadna" -- "$H"
empty "$tmp/out" "bare hyenadna stdout"
has "$tmp/err" "Usage:   hyenadna <command>" "bare hyenadna usage"
has "$tmp/err" "\-\- Inference" "usage groups"

# --help / help: stdout, exit 0
expect 0 "hyenadna --help" -- "$H" --help
has "$tmp/out" "Usage:" "--help on stdout"
expect 0 "hyenadna help" -- "$H" help
has "$tmp/out" "info" "help lists commands"

# unknown command
expect 1 "unknown command" -- "$H" frobnicate
has "$tmp/err" "hyenadna: unrecognized command 'frobnicate'" "unknown command message"
expect 1 "help of unknown command" -- "$H" help frobnicate

# --version: two fixed lines
expect 0 "--version" -- "$H" --version
if head -1 "$tmp/out" | grep -Eq '^hyenadna [0-9]+\.[0-9]+\.[0-9]+$'; then ok; else bad "--version line 1: $(head -1 "$tmp/out")"; fi
if sed -n 2p "$tmp/out" | grep -Eq '^Using htslib [0-9]+\.[0-9]+'; then ok; else bad "--version line 2: $(sed -n 2p "$tmp/out")"; fi
has "$tmp/out" "CUDA backend" "--version states the CUDA backend"
v=$("$H" --version | sed '1!d; s/^.*hyenadna //')
if echo "$v" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$'; then ok; else bad "nf-core version extraction gave '$v'"; fi

# every subcommand: CMD --help and help CMD on stdout with exit 0, bad option exit 1
for c in info forward score-variants; do
  expect 0 "$c --help" -- "$H" "$c" --help
  has "$tmp/out" "Usage: hyenadna $c" "$c --help"
  empty "$tmp/err" "$c --help stderr"
  expect 0 "help $c" -- "$H" help "$c"
  has "$tmp/out" "Usage: hyenadna $c" "help $c"
  expect 1 "$c --no-such-option" -- "$H" "$c" --no-such-option
done

# info on every fixture set
for s in hyenadna-tiny caduceus-ph caduceus-ps xlstm-mlstm xlstm-slstm; do
  expect 0 "info $s" -- "$H" info -m "$T/$s"
  has "$tmp/out" "^parameters" "info $s parameters"
done
"$H" info -m "$T/hyenadna-tiny" > "$tmp/info"
has "$tmp/info" "^family	hyenadna" "info family"
has "$tmp/info" "^parameters	438144" "info hyenadna-tiny learned parameters"
has "$tmp/info" "^max_length	1026" "info max length"
has "$tmp/info" "freq" "info reports the shared freq"
"$H" info -m "$T/caduceus-ps" > "$tmp/info"
has "$tmp/info" "^family	caduceus" "info caduceus family"
has "$tmp/info" "PS" "info caduceus-ps variant"
has "$tmp/info" "mamba_rev" "info caduceus aliased reverse projections"

# model errors: exit 2, message names the file
expect 2 "missing model" -- "$H" info -m "$tmp/nope"
has "$tmp/err" "$tmp/nope" "missing model named"
printf 'garbage' > "$tmp/bad.safetensors"
expect 2 "corrupt model" -- "$H" info -m "$tmp/bad.safetensors"
has "$tmp/err" "bad.safetensors" "corrupt model named"
has "$tmp/err" "^hyenadna info: " "error prefix"

# forward: input errors exit 1, nothing left under the output name
printf '>r1\nACGTXACGT\n' > "$tmp/bad.fa"
expect 1 "bad base" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/o.safetensors" "$tmp/bad.fa"
has "$tmp/err" "record r1" "bad base names the record"
has "$tmp/err" "position 5" "bad base names the position"
if [ ! -e "$tmp/o.safetensors" ] && [ -z "$(ls -A "$tmp" | grep tmp)" ]; then ok; else bad "partial output left behind"; ls -A "$tmp"; fi
expect 1 "missing input" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/o.safetensors" "$tmp/none.fa"
has "$tmp/err" "none.fa" "missing input named"
expect 1 "bad --threads" -- "$H" forward -m "$T/hyenadna-tiny" --threads x "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "\-\-threads" "bad --threads named"
python_len=$(( 1030 )); seq=$(head -c $python_len /dev/zero | tr '\0' 'A')
printf '>long\n%s\n' "$seq" > "$tmp/long.fa"
expect 1 "too long for the model" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/o.safetensors" "$tmp/long.fa"
has "$tmp/err" "1026" "too long names the limit"

# forward from stdin, Windows line endings and soft-masked bases
printf '>w1 desc\r\nacgtNNRY\r\nACGT\r\n' > "$tmp/crlf.fa"
"$H" forward -m "$T/hyenadna-tiny" -o "$tmp/a.safetensors" - < "$tmp/crlf.fa"; st=$?
if [ $st -eq 0 ] && [ -s "$tmp/a.safetensors" ]; then ok; else bad "forward from stdin (exit $st)"; fi
gzip -c "$tmp/crlf.fa" > "$tmp/crlf.fa.gz"
expect 0 "forward on gzip input" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/b.safetensors" "$tmp/crlf.fa.gz"
if cmp -s "$tmp/a.safetensors" "$tmp/b.safetensors"; then ok; else bad "gzip and plain input differ"; fi

# determinism: 1 and 2 threads give byte-identical files
"$H" forward -m "$T/hyenadna-tiny" --threads 1 -o "$tmp/t1.safetensors" "$T/hyenadna-tiny/input.fa"
"$H" forward -m "$T/hyenadna-tiny" --threads 2 -o "$tmp/t2.safetensors" "$T/hyenadna-tiny/input.fa"
if cmp -s "$tmp/t1.safetensors" "$tmp/t2.safetensors"; then ok; else bad "1 and 2 threads differ"; fi

# stdout closed early ends quietly
"$H" forward -m "$T/hyenadna-tiny" "$T/hyenadna-tiny/input.fa" 2>"$tmp/err" | head -c 10 > /dev/null
st=${PIPESTATUS[0]}
if [ "$st" -eq 0 ] || [ "$st" -eq 141 ]; then ok; else bad "closed stdout: exit $st"; fi
empty "$tmp/err" "closed stdout stderr"

# ------------------------------------------------------------------ score-variants
# reference and VCFs built from the lambda-phage records of the fixture input
M="$T/hyenadna-tiny"
sv="$tmp/sv"; mkdir -p "$sv"
awk '/^>/{p=($1==">seq6"||$1==">seq5")} p' "$T/hyenadna-tiny/input.fa" | sed 's/^>seq6.*/>ctgA/; s/^>seq5.*/>ctgB/' > "$sv/ref.fa"
seqA=$(awk '/^>/{p=($1==">ctgA")} !/^>/&&p' "$sv/ref.fa" | tr -d '\n'); lenA=${#seqA}
b() { printf '%s' "${seqA:$(($1-1)):${2:-1}}"; }          # bases of ctgA at 1-based POS
other() { case $1 in A) echo C;; C) echo G;; G) echo T;; *) echo A;; esac; }
{
  printf '##fileformat=VCFv4.2\n##contig=<ID=ctgA,length=%s>\n##contig=<ID=ctgB,length=255>\n##contig=<ID=ctgZ,length=99>\n' "$lenA"
  printf '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
  printf '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n##FILTER=<ID=q10,Description="Low quality">\n'
  printf '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n'
  printf 'ctgA\t1\tfirst\t%s\t%s\t30\tPASS\tDP=7\tGT:AD\t0/1:3,4\t0/0:7,0\n' "$(b 1)" "$(other "$(b 1)")"
  printf 'ctgA\t100\tmulti\t%s\t%s,%s\t.\t.\t.\tGT:AD\t1/2:0,2,3\t./.:.\n' "$(b 100)" "$(other "$(b 100)")" "$(other "$(other "$(b 100)")")"
  printf 'ctgA\t200\tmism\t%s\tA\t.\tq10\tDP=1\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(other "$(b 200)")"
  printf 'ctgA\t300\tsym\t%s\t<DEL>\t.\t.\tDP=2\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(b 300)"
  printf 'ctgA\t400\tins\t%s\t%sTT\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(b 400)" "$(b 400)"
  printf 'ctgA\t500\tdel\t%s\t%s\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(b 500 4)" "$(b 500)"
  printf 'ctgA\t600\tstar\t%s\t*,%s\t.\t.\t.\tGT:AD\t0/1:1,1,0\t0/0:2,0,0\n' "$(b 600)" "$(other "$(b 600)")"
  printf 'ctgA\t%s\tlast\t%s\t%s\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$lenA" "$(b "$lenA")" "$(other "$(b "$lenA")")"
  printf 'ctgZ\t5\tnoctg\tA\tT\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n'
} > "$sv/in.vcf"
nrec=$(grep -vc '^#' "$sv/in.vcf")
expect 0 "score-variants VCF" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 -o "$sv/out.vcf" "$sv/in.vcf"
has "$sv/out.vcf" '^##INFO=<ID=HDNA_LLR,Number=A,Type=Float,Description=' "HDNA_LLR declared"
has "$sv/out.vcf" '^##INFO=<ID=HDNA_EDIST,Number=A,Type=Float,Description=' "HDNA_EDIST declared"
has "$sv/out.vcf" '^##hyenadna_score-variantsVersion=' "version line"
has "$sv/out.vcf" '^##hyenadna_score-variantsCommand=score-variants ' "command line"
if [ -e "$sv/ref.fa.fai" ]; then ok; else bad "reference index not made on the fly"; fi
has "$tmp/err" "$nrec records: 6 scored" "summary scored count"
has "$tmp/err" "1 REF not matching the reference" "summary mismatch count"
has "$tmp/err" "1 contig not in the reference" "summary contig count"
has "$tmp/err" "1 symbolic or '\*' ALT" "summary symbolic count"
has "$tmp/err" "variants/s" "summary rate"
if command -v bcftools >/dev/null; then ok; else bad "bcftools is needed by the score-variants tests (apt-get install bcftools)"; fi
# every record, in order, unchanged apart from the added tags
bcftools view -H "$sv/in.vcf" > "$sv/a.txt" 2>/dev/null
bcftools annotate -x INFO/HDNA_LLR,INFO/HDNA_EDIST "$sv/out.vcf" 2>/dev/null | bcftools view -H > "$sv/b.txt" 2>/dev/null
if [ -s "$sv/a.txt" ] && cmp -s "$sv/a.txt" "$sv/b.txt"; then ok; else bad "output differs from input apart from the tags"; diff "$sv/a.txt" "$sv/b.txt" | head -5; fi
tagged() { bcftools query -i "ID==\"$1\"" -f '%INFO/HDNA_LLR|%INFO/HDNA_EDIST' "$sv/${2:-out.vcf}" 2>/dev/null; }
for id in first ins del last; do
  v=$(tagged $id); if echo "$v" | grep -Eq '^-?[0-9.e+-]+\|[0-9.e+-]+$'; then ok; else bad "record $id not scored: '$v'"; fi
done
v=$(tagged multi); if echo "$v" | grep -Eq '^-?[0-9.e+-]+,-?[0-9.e+-]+\|'; then ok; else bad "multi-allelic: one value per ALT: '$v'"; fi
v=$(tagged star); if echo "$v" | grep -Eq '^\.,-?[0-9.e+-]+\|'; then ok; else bad "'*' ALT gets a missing value: '$v'"; fi
for id in mism sym noctg; do
  v=$(tagged $id); if [ "$v" = ".|." ]; then ok; else bad "record $id should pass through unannotated: '$v'"; fi
done
# --strict: the mismatch is an error naming the record; nothing left under the output name
expect 1 "score-variants --strict" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --strict -o "$sv/strict.vcf" "$sv/in.vcf"
has "$tmp/err" "ctgA:200" "--strict names the record"
has "$tmp/err" "REF allele" "--strict says why"
if [ ! -e "$sv/strict.vcf" ] && [ -z "$(ls -A "$sv" | grep '\.tmp\.')" ]; then ok; else bad "--strict left output behind"; ls -A "$sv"; fi
# TSV: one line per ALT, same values as the VCF
expect 0 "score-variants TSV" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 -o "$sv/out.tsv" "$sv/in.vcf"
if [ "$(head -1 "$sv/out.tsv")" = "$(printf '#chrom\tpos\tid\tref\talt\tllr\tedist')" ]; then ok; else bad "TSV header: $(head -1 "$sv/out.tsv")"; fi
nalt=$(grep -v '^#' "$sv/in.vcf" | awk -F'\t' '{n+=split($5,a,",")} END{print n}')
if [ "$(grep -vc '^#' "$sv/out.tsv")" -eq "$nalt" ]; then ok; else bad "TSV has $(grep -vc '^#' "$sv/out.tsv") lines, expected $nalt"; fi
t=$(awk -F'\t' '$3=="ins"{print $6}' "$sv/out.tsv"); vv=$(tagged ins | cut -d'|' -f1)
if awk -v a="$t" -v b="$vv" 'BEGIN{d=a-b; if (d<0) d=-d; m=(a<0?-a:a); exit !(d <= 1e-4*m + 1e-6)}'; then ok; else bad "TSV $t vs VCF $vv"; fi
# VCF -> BCF (indexed) -> VCF round trip; BCF input
expect 0 "score-variants BCF output" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version -W -o "$sv/out.bcf" "$sv/in.vcf"
if [ -s "$sv/out.bcf.csi" ]; then ok; else bad "--write-index made no .csi"; fi
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version "$sv/in.vcf" 2>/dev/null > "$sv/nv.vcf"
if grep -q '^##hyenadna_score-variants' "$sv/nv.vcf"; then bad "--no-version kept the version lines"; else ok; fi
bcftools view -H "$sv/out.bcf" > "$sv/c.txt" 2>/dev/null; bcftools view -H "$sv/nv.vcf" > "$sv/d.txt" 2>/dev/null
if [ -s "$sv/c.txt" ] && cmp -s "$sv/c.txt" "$sv/d.txt"; then ok; else bad "BCF and VCF outputs differ"; diff "$sv/c.txt" "$sv/d.txt" | head -4; fi
bcftools view -Ob -o "$sv/in.bcf" "$sv/in.vcf" 2>/dev/null
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version "$sv/in.bcf" 2>/dev/null | bcftools view -H > "$sv/e.txt" 2>/dev/null
if [ -s "$sv/e.txt" ] && cmp -s "$sv/d.txt" "$sv/e.txt"; then ok; else bad "BCF input differs from VCF input"; fi
expect 0 "score-variants bgzipped VCF" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version -W -o "$sv/out.vcf.gz" "$sv/in.vcf"
if [ -s "$sv/out.vcf.gz.tbi" ] && bcftools view -H "$sv/out.vcf.gz" 2>/dev/null | cmp -s - "$sv/d.txt"; then ok; else bad "bgzipped VCF output"; fi
# standard input, bgzipped reference
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version - < "$sv/in.vcf" 2>/dev/null | bcftools view -H > "$sv/f.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/f.txt"; then ok; else bad "VCF from standard input"; fi
bgzip -c "$sv/ref.fa" > "$sv/refz.fa.gz"
"$H" score-variants -m "$M" -f "$sv/refz.fa.gz" -w 256 --no-version "$sv/in.vcf" 2>/dev/null | bcftools view -H > "$sv/g.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/g.txt"; then ok; else bad "bgzipped reference"; fi
# the reference: missing, from ##reference=, from $HYENADNA_REF
expect 1 "score-variants without a reference" -- env -u HYENADNA_REF "$H" score-variants -m "$M" "$sv/in.vcf"
has "$tmp/err" "reference" "missing reference message"
sed "2i ##reference=file://$sv/ref.fa" "$sv/in.vcf" > "$sv/withref.vcf"
"$H" score-variants -m "$M" -w 256 --no-version "$sv/withref.vcf" 2>/dev/null | bcftools view -H > "$sv/h.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/h.txt"; then ok; else bad "reference from ##reference="; fi
HYENADNA_REF="$sv/ref.fa" "$H" score-variants -m "$M" -w 256 --no-version "$sv/in.vcf" 2>/dev/null | bcftools view -H > "$sv/i.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/i.txt"; then ok; else bad "reference from HYENADNA_REF"; fi
expect 1 "score-variants unreadable reference" -- "$H" score-variants -m "$M" -f "$sv/nope.fa" "$sv/in.vcf"
has "$tmp/err" "nope.fa" "unreadable reference named"
# options
expect 1 "score-variants bad --score" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --score best "$sv/in.vcf"
has "$tmp/err" "\-\-score" "bad --score named"
expect 1 "score-variants --window too long" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 5000 "$sv/in.vcf"
has "$tmp/err" "1026" "--window names the limit"
# threads and prefix mode: 1 and 2 threads identical; prefix with --rc runs
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --threads 1 --no-version -O t "$sv/in.vcf" > "$sv/t1.tsv" 2>/dev/null
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --threads 2 --no-version -O t "$sv/in.vcf" > "$sv/t2.tsv" 2>/dev/null
if [ -s "$sv/t1.tsv" ] && cmp -s "$sv/t1.tsv" "$sv/t2.tsv"; then ok; else bad "1 and 2 threads differ"; fi
expect 0 "score-variants prefix --rc" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --score prefix --rc -O t -o "$sv/p.tsv" "$sv/in.vcf"
if [ "$(awk -F'\t' '$3=="first"||$3=="multi"||$3=="ins"{n+=($6!=".")} END{print n}' "$sv/p.tsv")" -eq 4 ]; then ok; else bad "prefix --rc scores"; fi
# saturation mutagenesis
expect 0 "score-variants --all-snvs TSV" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs -r ctgB:1-10 -o "$sv/sat.tsv"
if [ "$(grep -vc '^#' "$sv/sat.tsv")" -eq 30 ] && [ "$(awk -F'\t' 'NR>1 && $6=="."' "$sv/sat.tsv" | wc -l)" -eq 0 ]; then ok; else bad "--all-snvs: 30 scored lines expected"; fi
expect 0 "score-variants --all-snvs VCF" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs -r ctgB:1-10 -O v -o "$sv/sat.vcf"
if [ "$(bcftools view -H "$sv/sat.vcf" 2>/dev/null | wc -l)" -eq 10 ]; then ok; else bad "--all-snvs VCF: 10 records expected"; fi
expect 1 "score-variants --all-snvs without -r" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs
expect 1 "score-variants --all-snvs bad region" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs -r ctgQ:1-5
has "$tmp/err" "ctgQ" "bad region named"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
