#!/usr/bin/env bash
# test_realworld.sh -- regressions of what real-world inputs (the test files of htslib, bcftools and samtools)
# showed (issue 19): every input here is written by this script.  Run by `make check` with HYENADNA and
# TESTDATA set; needs samtools and bcftools (as the other CLI tests).
set -u
H=${HYENADNA:?HYENADNA not set}
T=${TESTDATA:?TESTDATA not set}
M=$T/hyenadna-tiny
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
for t in samtools bcftools bgzip; do command -v $t >/dev/null || { echo "$t is needed (apt-get install samtools bcftools tabix)"; exit 1; }; done
# run STATUS DESCRIPTION -- command...  (stdout to $tmp/out, stderr to $tmp/err)
run() {
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; sed 's/^/    /' "$tmp/err" | head -5; fi
}
# the one line of stderr is exactly TEXT
errline() {
  local n; n=$(grep -vc '^\[[EW]::' "$tmp/err")
  if [ "$n" -eq 1 ] && [ "$(grep -v '^\[[EW]::' "$tmp/err")" = "$1" ]; then ok; else bad "$2: stderr is not the line '$1':"; sed 's/^/    /' "$tmp/err" | head -5; fi
}
has()   { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; sed 's/^/    /' "$1" | head -5; fi; }
hasnt() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' in $(basename "$1")"; sed 's/^/    /' "$1" | head -5; else ok; fi; }
cd "$tmp" || exit 1
rnd() { awk -v n="$1" -v s="$2" 'BEGIN{srand(s); for(i=0;i<n;i++) printf "%s", substr("ACGT",int(rand()*4)+1,1); print ""}'; }

# ------------------------------------------------------------------ getopt messages carry the command prefix
for c in $("$H" --help | awk '/^ -- Help/{exit} /^    [a-z]/{print $1}'); do
  run 1 "$c -Z" -- "$H" "$c" -Z
  if head -1 "$tmp/err" | grep -q "^hyenadna $c: invalid option -- 'Z'$"; then ok; else bad "$c -Z: $(head -1 "$tmp/err")"; fi
  run 1 "$c --no-such-option" -- "$H" "$c" --no-such-option
  if head -1 "$tmp/err" | grep -q "^hyenadna $c: unrecognized option '--no-such-option'$"; then ok; else bad "$c --no-such-option: $(head -1 "$tmp/err")"; fi
done

# ------------------------------------------------------------------ invalid bases: one message, naming the file and the record
printf '>1\nACGTACGTAC\n>2\nACGT5ACGTA\n' > digit.fa
run 1 "embed, a digit in record 2" -- "$H" embed -m "$M" digit.fa
errline "hyenadna embed: digit.fa: invalid character '5' in record '2' at position 5" "embed bad base"
run 1 "embed -r, a digit in record 2" -- "$H" embed -m "$M" -r 2:3-8 digit.fa
errline "hyenadna embed: digit.fa: invalid character '5' in record '2' at position 5" "embed -r bad base"
run 1 "forward, a digit in record 2" -- "$H" forward -m "$M" -o f.st digit.fa
errline "hyenadna forward: digit.fa: invalid character '5' in record '2' at position 5" "forward bad base"

# ------------------------------------------------------------------ classify: messages not written into themselves, k-mers checked
{ for i in 1 2 3 4; do printf '>a%d label=a\n%s\n>b%d label=b\n%s\n' $i "$(rnd 60 $i)" $i "$(rnd 60 $((i+10)))"; done; } > train.fa
printf '>q1\n%s\n>q2\nACGT!ACGT\n' "$(rnd 40 99)" > q.fa
for meth in kmer centroid knn logistic context; do
  run 1 "classify --method $meth, '!' in a query" -- "$H" classify -m "$M" --method $meth -t train.fa -o c.tsv q.fa
  errline "hyenadna classify: q.fa: invalid character '!' in record 'q2' at position 5" "classify $meth bad query base"
  if [ ! -e c.tsv ]; then ok; else bad "classify $meth left c.tsv"; rm -f c.tsv; fi
done
printf '>q3\nACGTRYACGTN\n' > iupac.fa
run 0 "classify --method kmer, IUPAC codes are bases" -- "$H" classify --method kmer -t train.fa iupac.fa
{ cat train.fa; printf '>a9 label=a\nAC#GT\n'; } > badtrain.fa
run 1 "classify, '#' in a training record" -- "$H" classify --method kmer -t badtrain.fa q.fa
errline "hyenadna classify: badtrain.fa: invalid character '#' in record 'a9' at position 3" "classify bad training base"
printf '>long\n%s\n' "$(rnd 1100 5)" > long.fa
run 1 "classify context, a query longer than the model" -- "$H" classify -m "$M" --method context -t train.fa long.fa
errline "hyenadna classify: long.fa: record 'long': query of 1100 bases leaves no room for a prompt within the model's maximum length of 1026 tokens" "classify context long query"
run 1 "classify --cv with too many folds" -- "$H" classify --method kmer -t train.fa --cv 9
errline "hyenadna classify: train.fa: option --cv: class 'a' has 4 records, fewer than the 9 folds" "classify --cv message"

# ------------------------------------------------------------------ FASTA headers: "> bar desc" is bar everywhere (samtools' rule)
printf '> bar some description\n%s\n>\tbaz\n%s\n' "$(rnd 80 7)" "$(rnd 50 8)" > sp.fa
run 0 "embed, header with a space after >" -- "$H" embed -m "$M" sp.fa
[ "$(grep -v '^#' "$tmp/out" | cut -f1 | tr '\n' ' ')" = "bar baz " ] && ok || bad "whole-file reader names: $(cut -f1 "$tmp/out" | tr '\n' ' ')"
run 0 "embed -r bar:1-20 (indexed reader)" -- "$H" embed -m "$M" -r bar:1-20,baz sp.fa
[ "$(grep -v '^#' "$tmp/out" | cut -f1-4 | tr '\t\n' ', ')" = "bar:1-20,bar,0,20 baz:1-50,baz,0,50 " ] && ok || bad "indexed reader names: $(grep -v '^#' "$tmp/out" | cut -f1-4 | tr '\t\n' ', ')"
[ "$(cut -f1 sp.fa.fai | tr '\n' ' ')" = "bar baz " ] && ok || bad "faidx names: $(cut -f1 sp.fa.fai | tr '\n' ' ')"
run 0 "classify, query header with a space" -- "$H" classify --method kmer -t train.fa sp.fa
[ "$(grep -v '^#' "$tmp/out" | cut -f1 | tr '\n' ' ')" = "bar baz " ] && ok || bad "classify query names: $(cut -f1 "$tmp/out" | tr '\n' ' ')"
run 0 "classify -r on the indexed reference" -- "$H" classify --method kmer -t train.fa -f sp.fa -r bar --window 40
[ "$(grep -c '^bar	' "$tmp/out")" -eq 2 ] && ok || bad "classify -r bar: $(cat "$tmp/out")"
{ printf '> t1 label=a\n%s\n>  t2   label=b\n%s\n' "$(rnd 60 1)" "$(rnd 60 11)"; cat train.fa; } > sptrain.fa
run 0 "classify, training headers with spaces" -- "$H" classify --method kmer -t sptrain.fa iupac.fa
b5=$(sed -n 2p sp.fa | cut -c5)
printf '##fileformat=VCFv4.2\n##contig=<ID=bar,length=80>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nbar\t5\tv1\t%s\t%s\t.\t.\t.\n' "$b5" "$([ "$b5" = A ] && echo C || echo A)" > sp.vcf
run 0 "score-variants, reference header with a space" -- "$H" score-variants -m "$M" -f sp.fa -O t sp.vcf
[ "$(awk -F'\t' '$3=="v1" && $6!="."' "$tmp/out" | wc -l)" -eq 1 ] && ok || bad "score-variants on contig bar: $(cat "$tmp/out")"

# ------------------------------------------------------------------ alignments: braced regions, '=' bases, CRAM without its reference
printf '>chr1:A\n%s\n>chr2\n%s\n' "$(rnd 60 21)" "$(rnd 40 22)" > br.fa
samtools faidx br.fa
ref1=$(sed -n 2p br.fa)
r1=${ref1:2:12}; r2=${ref1:4:12}; r2eq="${r2:0:3}===${r2:6:6}"; r3=$(sed -n 4p br.fa | cut -c1-10)
sam() {   # reads r1 (chr1:A:3), r2 (chr1:A:5, SEQ $1), r3 (chr2:1)
  printf '@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1:A\tLN:60\n@SQ\tSN:chr2\tLN:40\n'
  printf 'r1\t0\tchr1:A\t3\t60\t12M\t*\t0\t0\t%s\t*\nr2\t0\tchr1:A\t5\t60\t12M\t*\t0\t0\t%s\t*\nr3\t0\tchr2\t1\t60\t10M\t*\t0\t0\t%s\t*\n' "$r1" "$1" "$r3"
}
sam "$r2" > plain.sam; sam "$r2eq" > eq.sam
samtools view -b -o br.bam plain.sam && samtools index br.bam
run 0 "embed -r {chr1:A}:1-4 on a BAM" -- "$H" embed -m "$M" -r '{chr1:A}:1-4' br.bam
[ "$(grep -v '^#' "$tmp/out" | cut -f1,2 | tr '\t\n' ', ')" = "r1,chr1:A " ] && ok || bad "braced region on the BAM path: $(grep -v '^#' "$tmp/out" | cut -f1,2 | tr '\t\n' ', ')"
run 0 "embed -r {chr1:A}:10-20,chr2 on a BAM" -- "$H" embed -m "$M" -r '{chr1:A}:10-20,chr2' br.bam
[ "$(grep -v '^#' "$tmp/out" | cut -f1 | tr '\n' ' ')" = "r1 r2 r3 " ] && ok || bad "braced region list on the BAM path: $(grep -v '^#' "$tmp/out" | cut -f1 | tr '\n' ' ')"
run 1 "SAM '=' bases without -T" -- "$H" embed -m "$M" eq.sam
errline "hyenadna embed: eq.sam: read 'r2' has '=' bases (identical to the reference): give the reference FASTA with -T FILE to read them" "'=' bases without a reference"
run 0 "SAM '=' bases with -T" -- "$H" embed -m "$M" -T br.fa eq.sam
mv out eq.tsv
run 0 "the same reads spelled out" -- "$H" embed -m "$M" plain.sam
cmp -s eq.tsv out && ok || bad "'=' bases resolved from -T differ from the bases spelled out"
printf '@SQ\tSN:chr1:A\tLN:60\nu1\t4\t*\t0\t0\t*\t*\t0\t0\tAC=T\t*\n' > equnmapped.sam
run 1 "'=' in an unmapped read" -- "$H" embed -m "$M" --unmapped -T br.fa equnmapped.sam
has "$tmp/err" "read 'u1'" "'=' in an unmapped read names it"
cp br.fa gone.fa && samtools faidx gone.fa && samtools view -C -T gone.fa -o br.cram plain.sam && rm gone.fa gone.fa.fai
run 1 "CRAM without its reference" -- env REF_PATH="$tmp/no-cache/%s" REF_CACHE="$tmp/no-cache/%s" "$H" embed -m "$M" br.cram
has "$tmp/err" "hyenadna embed: br.cram: cannot decode the CRAM records after read 0: the reference sequence they were compressed against was not found; give that FASTA with -T FILE" "CRAM without its reference"
hasnt "$tmp/err" "corrupt" "CRAM without its reference is not 'corrupt'"
run 0 "CRAM with -T" -- "$H" embed -m "$M" -T br.fa br.cram
grep -v '^#' "$tmp/out" | cut -f1 > cram.names
[ "$(tr '\n' ' ' < cram.names)" = "r1 r2 r3 " ] && ok || bad "CRAM with -T: $(tr '\n' ' ' < cram.names)"

# ------------------------------------------------------------------ faidx's own reason when a FASTA cannot be indexed
printf '>a\nACGTACGT\nACG\nACGTACGT\n' > ragged.fa
run 1 "embed -r on a FASTA with ragged lines" -- "$H" embed -m "$M" -r a:1-4 ragged.fa
if grep -q "^hyenadna embed: ragged.fa: cannot load or build the FASTA index (.fai): ..*" "$tmp/err"; then ok; else bad "faidx reason: $(cat "$tmp/err")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
