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
{ cat train.fa; printf '>a9 label=a\n'; cat long.fa | sed 1d; } > longtrain.fa
run 1 "classify centroid, a training record longer than the model" -- "$H" classify -m "$M" --method centroid -t longtrain.fa --window 500 q.fa
errline "hyenadna classify: longtrain.fa: record 'a9': 1100 bases exceed the model's maximum length of 1026; training examples are not cut into windows (--window cuts the queries): cut it into examples of at most 1026 bases" "classify long training record"
run 1 "classify --cv --window" -- "$H" classify --method kmer -t train.fa --cv 2 --window 500
errline "hyenadna classify: option --cv: cross-validation uses --train only (no QUERY, -r, --window, --bed or --head)" "classify --cv --window refused"
run 1 "classify --max-iter 0" -- "$H" classify --method kmer -t train.fa --max-iter 0 iupac.fa
has "$tmp/err" "hyenadna classify: option --max-iter" "classify --max-iter 0 refused naming the option"
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

# ------------------------------------------------------------------ -T with FASTA or FASTQ input, where it has no use: a warning says so
# (it was ignored silently); with alignments it is used, no warning
tw="option -T/--reference: 'br.fa' is not used"
run 0 "embed -T, FASTA input" -- "$H" embed -m "$M" -T br.fa br.fa
has "$tmp/err" "hyenadna embed: warning: $tw: br.fa is FASTA or FASTQ" "-T with FASTA input"
run 0 "embed -T -r, regions of a FASTA file" -- "$H" embed -m "$M" -T br.fa -r chr2:1-10 br.fa
has "$tmp/err" "$tw: br.fa is FASTA or FASTQ" "-T with regions of a FASTA file"
samtools fastq plain.sam > plain.fq 2>/dev/null
"$H" embed -m "$M" -T br.fa - < plain.fq >"$tmp/out" 2>"$tmp/err" && ok || bad "embed -T, FASTQ on standard input failed"
has "$tmp/err" "$tw: standard input is FASTA or FASTQ" "-T with FASTQ on standard input"
run 0 "embed -T, a BAM" -- "$H" embed -m "$M" -T br.fa br.bam
hasnt "$tmp/err" "not used" "-T with a BAM is used"
hasnt "$tmp/err" "warning" "-T with the BAM's reference: no warning"
# ... and checked against the header (@SQ names and lengths), as htslib checks a CRAM's: a reference other than
# the reads' (chr1:A shorter, chr2 missing) was taken silently; samtools reads a BAM without one, so this is a
# warning naming a contig that differs, and an error only where it would give bases: the '=' bases of a read
printf '>chr1:A\n%s\n>chr3\n%s\n' "${ref1:0:50}" "$(rnd 40 22)" > wrongref.fa
run 0 "embed -T, a BAM and another reference" -- "$H" embed -m "$M" -T wrongref.fa br.bam
has "$tmp/err" "hyenadna embed: warning: option -T/--reference: 'wrongref.fa' is not the reference of br.bam: contig chr1:A has 60 bases in its header, the reference has 50 bases (and 1 more of its 2 contigs differ)" "-T, another reference: the contig"
[ "$(grep -vc '^#' "$tmp/out")" -eq 3 ] && ok || bad "-T, another reference: the reads not embedded"
run 1 "'=' bases with another reference" -- "$H" embed -m "$M" -T wrongref.fa eq.sam
has "$tmp/err" "hyenadna embed: eq.sam: read 'r2' has '=' bases on chr1:A, which has 60 bases in the header, but the reference 'wrongref.fa' (-T) has 50 bases: give the FASTA the reads were aligned to" "'=' bases with another reference: the read"
run 0 "embed -T, a BAM and a reference that is not there" -- "$H" embed -m "$M" -T nosuch.fa br.bam
has "$tmp/err" "warning: option -T/--reference: br.bam: cannot use the reference (-T): cannot open 'nosuch.fa'" "-T missing with a BAM: a warning"

# ------------------------------------------------------------------ -T that cannot be used: hyenadna's own message says why
# (it said "br.cram: cannot use the reference 'X'", the reason only in htslib's [E::] lines)
tref() {   # description, -T FILE, the reason expected (a prefix of the rest of the line)
  run 1 "$1" -- "$H" embed -m "$M" -T "$2" br.cram
  if grep -q '^\[E::' "$tmp/err"; then bad "$1: htslib's log lines: $(grep '^\[E::' "$tmp/err" | head -2)"; else ok; fi
  has "$tmp/err" "hyenadna embed: br.cram: cannot use the reference (-T): $3" "$1"
}
tref "-T missing" nope.fa "cannot open 'nope.fa': No such file or directory"
mkdir -p adir; tref "-T a directory" adir "adir: a directory, not a FASTA file"
printf 'hello\n' > hello.txt; tref "-T not FASTA" hello.txt "hello.txt: cannot load or build the FASTA index (.fai): "
gzip -c br.fa > brgz.fa.gz; tref "-T gzip-compressed" brgz.fa.gz "brgz.fa.gz: cannot index a gzip-compressed FASTA (a FASTA index needs bgzip compression): compress it with bgzip"
tref "-T a BAM" br.bam "br.bam: not a FASTA reference but alignments (htslib detects BAM version 1 compressed sequence data): give the reference genome's FASTA file"
# unreadable, and no .fai in a read-only folder: as an unprivileged user (root reads and writes anyway)
as_user() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
mkdir -p ro && cp br.fa ro/r.fa && cp br.fa ro/unread.fa && chmod 000 ro/unread.fa && chmod 555 ro && chmod 755 "$tmp"
if as_user "$H" --version >/dev/null 2>&1 && as_user test -r br.cram && ! as_user test -r ro/unread.fa; then
  as_user "$H" embed -m "$M" -T ro/r.fa br.cram >"$tmp/out" 2>"$tmp/err" && bad "-T in a read-only folder, no .fai: exit 0" || ok
  has "$tmp/err" "hyenadna embed: br.cram: cannot use the reference (-T): ro/r.fa: there is no FASTA index ro/r.fa.fai, and it cannot be made in ro (Permission denied): index the FASTA where it can be written" "-T without .fai in a read-only folder"
  as_user "$H" embed -m "$M" -T ro/unread.fa br.cram >"$tmp/out" 2>"$tmp/err" && bad "-T unreadable: exit 0" || ok
  has "$tmp/err" "hyenadna embed: br.cram: cannot use the reference (-T): cannot open 'ro/unread.fa': Permission denied" "-T unreadable"
else
  echo "note: no unprivileged user to run as: -T unreadable / read-only folder not checked"
fi
chmod 755 ro

# ------------------------------------------------------------------ an alignment file where FASTA is read: one message in every reader
# (the file, the format htslib's hts_detect_format sees, what to do); forward and generate called a BAM or CRAM
# 'not FASTA or FASTQ: the first record does not start with ...', a SAM 'invalid character in record SQ', a
# reference '-f x.bam' got faidx's 'Format error, unexpected "B"'
bgzip -c plain.sam > plain.sam.gz
printf 'a\t%s\nb\t%s\n' "$(rnd 30 23)" "$(rnd 30 24)" > lab.tsv
aln_desc() { case $1 in *.sam) echo "SAM version 1.6 sequence text";; *.sam.gz) echo "SAM version 1.6 BGZF-compressed sequence data";;
             *.bam) echo "BAM version 1 compressed sequence data";; *.cram) echo "CRAM version 3.0 compressed sequence data";; esac; }
seqs_todo="write its reads as FASTA with 'samtools fasta', or embed them with 'hyenadna embed', which reads SAM, BAM and CRAM"
ref_todo="give the reference genome's FASTA file (plain or bgzip-compressed)"
for f in plain.sam plain.sam.gz br.bam br.cram; do
  want="$f: not FASTA or FASTQ but alignments (htslib detects $(aln_desc $f)): $seqs_todo"
  run 1 "forward $f" -- "$H" forward -m "$M" -o a.st "$f"
  errline "hyenadna forward: $want" "forward $f"
  run 1 "generate $f" -- "$H" generate -m "$M" --seed 1 "$f"
  errline "hyenadna generate: $want" "generate $f"
  run 1 "classify, queries in $f" -- "$H" classify --method kmer -t lab.tsv "$f"
  errline "hyenadna classify: $want" "classify queries $f"
  run 1 "classify -t $f" -- "$H" classify --method kmer -t "$f" q.fa
  errline "hyenadna classify: $f: not labelled sequences (FASTA, TSV or BED) but alignments (htslib detects $(aln_desc $f)): write its reads as FASTA with 'samtools fasta' and label them" "classify -t $f"
  for c in "track -m $M -o tr -r chr2" "score-variants -m $M --all-snvs -r chr2:1-5" "plot --snv lab.tsv -r chr2:1-5 -o p.svg" \
           "classify --method kmer -t lab.tsv -r chr2 --window 10"; do
    set -- $c; cmd=$1; shift
    run 1 "$cmd -f $f" -- "$H" "$cmd" "$@" -f "$f"
    errline "hyenadna $cmd: $f: not a FASTA reference but alignments (htslib detects $(aln_desc $f)): $ref_todo" "$cmd -f $f"
  done
done
cat plain.sam | "$H" forward -m "$M" -o a.st - >"$tmp/out" 2>"$tmp/err" && bad "forward of a SAM on standard input succeeded" || \
  errline "hyenadna forward: standard input: not FASTA or FASTQ but alignments (htslib detects SAM version 1.6 sequence text): $seqs_todo" "SAM on standard input"

# ------------------------------------------------------------------ reads: the same sequences and names from a BAM as from its FASTQ
# (samtools fastq): a read on the reverse strand (flag 16, SEQ stored reverse-complemented, IUPAC codes too)
# is embedded as sequenced, windows of a QNAME with colons (Illumina) are braced as those of a FASTQ record
Q=$(rnd 400 71); rc() { printf '%s' "$1" | rev | tr ACGTRYKMBDHVN TGCAYRMKVHDBN; }
strand_sam() {   # the SEQ of reads fwd and pr/1 (reverse)
  printf '@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:q\tLN:400\n'
  printf 'fwd\t0\tq\t11\t60\t70M\t*\t0\t0\t%s\t*\n' "$1"
  printf 'M01:5:AB:1:1101:155:13\t16\tq\t101\t60\t5H61M\t*\t0\t0\t%sRYKMB%s\t*\n' "${Q:100:30}" "${Q:135:26}"
  printf 'pr\t83\tq\t201\t60\t50M\t=\t301\t150\t%s\t*\n' "$2"
  printf 'pr\t163\tq\t301\t60\t50M\t=\t201\t-150\t%s\t*\n' "${Q:300:50}"
  printf 'qc\t528\tq\t351\t60\t41M\t*\t0\t0\t%s\t*\n' "${Q:350:41}"
}
strand_sam "${Q:10:70}" "${Q:200:50}" > strand.sam
strand_sam "${Q:10:3}===${Q:16:64}" "${Q:200:40}====${Q:244:6}" > streq.sam
samtools view -b -o strand.bam strand.sam && samtools fastq strand.bam > strand.fq 2>/dev/null
[ "$(sed -n 6p strand.fq)" = "$(rc "${Q:100:30}RYKMB${Q:135:26}")" ] && ok || bad "samtools fastq does not reverse-complement: $(sed -n 6p strand.fq)"
for w in "" "-w 24 -s 20"; do
  run 0 "embed $w, BAM reads" -- "$H" embed -m "$M" $w strand.bam
  grep -v '^#' out | cut -f1,6- > bam.rows; grep -v '^#' out | cut -f5 | tr -d '\n' > bam.strands
  run 0 "embed $w, the same reads as FASTQ" -- "$H" embed -m "$M" $w strand.fq
  grep -v '^#' out | cut -f1,6- > fq.rows
  [ -s bam.rows ] && cmp -s bam.rows fq.rows && ok || bad "embed $w: BAM and FASTQ of the same reads differ: $(diff bam.rows fq.rows | cut -c1-60 | head -4)"
done
[ "$(cut -f1 bam.rows | grep -c '^{M01:5:AB:1:1101:155:13}:')" -eq 3 ] && ok || bad "read windows braced: $(cut -f1 bam.rows | tr '\n' ' ')"
[ "$(cut -f1 bam.rows | grep -c '^pr/[12]:')" -eq 6 ] && ok || bad "paired read windows: $(cut -f1 bam.rows | tr '\n' ' ')"
case $(cat bam.strands) in *-*) ok;; *) bad "the strand column of reverse reads is -: $(cat bam.strands)";; esac
printf '>q\n%s\n' "$Q" > q.fa
samtools view -C -T q.fa -o strand.cram strand.sam
run 0 "embed, FASTQ reads" -- "$H" embed -m "$M" strand.fq; mv out fq.tsv
run 0 "embed, CRAM reads" -- "$H" embed -m "$M" -T q.fa strand.cram
[ "$(grep -v '^#' out | cut -f1,6-)" = "$(grep -v '^#' fq.tsv | cut -f1,6-)" ] && ok || bad "CRAM and FASTQ of the same reads differ"
# '=' bases of a reverse read: filled in from -T on the stored strand, then reverse-complemented
run 0 "embed, '=' bases of a reverse read" -- "$H" embed -m "$M" -T q.fa streq.sam; mv out eq.tsv
run 0 "embed, the same reads spelled out" -- "$H" embed -m "$M" strand.sam
cmp -s eq.tsv out && ok || bad "'=' bases of a reverse read differ from the bases spelled out"

# ------------------------------------------------------------------ a region of a SAM file: an uncompressed SAM cannot be indexed, say what can
printf '@HD\tVN:1.6\n@SQ\tSN:q\tLN:400\n' > nobgzf.sam
run 1 "embed -r on a plain SAM file" -- "$H" embed -m "$M" -r q:1-100 nobgzf.sam
errline "hyenadna embed: nobgzf.sam: an uncompressed SAM file cannot be indexed for the region query: convert it to BAM (samtools sort -o FILE.bam nobgzf.sam) and run samtools index on that" "plain SAM region"

# ------------------------------------------------------------------ FASTQ qualities not of the sequence's length: named, longer ones not called 'truncated'
printf '@a\nACGTACGTAC\n+\nIIIIIIIIII\n@b\nACGTACGT\n+\nIIIIIIIIIIIII\n' > longq.fq
run 1 "FASTQ, a quality line longer than the sequence" -- "$H" embed -m "$M" longq.fq
errline "hyenadna embed: longq.fq: record 'b' (record number 2): the quality string does not have the length of the sequence (8 bases): cut short, or longer than the sequence" "long quality line"
printf '@a\nACGTACGTAC\n+\nIIIII\n@b\nACGTACGT\n+\nIIIIIIII\n' > shortq.fq
run 1 "FASTQ, the first record's quality line cut short" -- "$H" embed -m "$M" shortq.fq
errline "hyenadna embed: shortq.fq: record 'a' (record number 1): the quality string does not have the length of the sequence (10 bases): cut short, or longer than the sequence" "short quality line, the first record named"

# ------------------------------------------------------------------ faidx's own reason when a FASTA cannot be indexed
printf '>a\nACGTACGT\nACG\nACGTACGT\n' > ragged.fa
run 1 "embed -r on a FASTA with ragged lines" -- "$H" embed -m "$M" -r a:1-4 ragged.fa
if grep -q "^hyenadna embed: ragged.fa: cannot load or build the FASTA index (.fai): ..*" "$tmp/err"; then ok; else bad "faidx reason: $(cat "$tmp/err")"; fi

# ------------------------------------------------------------------ score-variants: windows of equal length at contig ends
R=$(rnd 2000 31); S=$(rnd 215 32)
printf '>mid\n%s\n>end\n%s\n>short\n%s\n' "$R" "${R:0:1110}" "$S" > ends.fa
vh() { printf '##fileformat=VCFv4.2\n'; for c in "$@"; do printf '##contig=<ID=%s>\n' "$c"; done; printf '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n'; }
{ vh mid end short
  printf 'mid\t1001\tdel_mid\t%s\t%s\t.\t.\t.\n' "${R:1000:51}" "${R:1000:1}"
  printf 'end\t1001\tdel_end\t%s\t%s\t.\t.\t.\n' "${R:1000:51}" "${R:1000:1}"      # 59 bases before the end
  printf 'short\t11\tdel_short\t%s\t%s\t.\t.\t.\n' "${S:10:189}" "${S:10:1}"      # 188 bp of a 215-bp contig
} > ends.vcf
run 0 "score-variants, deletions at contig ends" -- "$H" score-variants -m "$M" -f ends.fa -w 256 -O t -o ends.tsv ends.vcf
run 0 "score-variants --llr mean" -- "$H" score-variants -m "$M" -f ends.fa -w 256 --llr mean -O t -o ends_mean.tsv ends.vcf
llr() { awk -F'\t' -v id="$2" '$3==id{print $6}' "$1"; }
lm=$(llr ends.tsv del_mid); le=$(llr ends.tsv del_end); ls_=$(llr ends.tsv del_short)
# the same 50-bp deletion scores alike mid-contig and 59 bases before the end (a window 50 bases shorter
# on the ALT side, the old rule, adds ~1.4 nats per deleted base); a deletion on a contig shorter than W is scored
if awk -v a="$lm" -v b="$le" 'BEGIN{d=a-b; if (d<0) d=-d; exit !(a!="" && b!="" && a!="." && b!="." && d < 15)}'; then ok; else bad "deletion mid-contig $lm vs at the end $le"; fi
if awk -v a="$ls_" 'BEGIN{exit !(a!="" && a!="." && a>-40 && a<40)}'; then ok; else bad "188-bp deletion on a 215-bp contig: LLR $ls_"; fi
# --llr mean divides each window by its Lw - 1 scored positions: Lw = 256 mid-contig, 215 - 188 = 27 on the short contig
for c in "del_mid 255" "del_end 255" "del_short 26"; do
  set -- $c
  if awk -v s="$(llr ends.tsv "$1")" -v m="$(llr ends_mean.tsv "$1")" -v n="$2" 'BEGIN{d=s-m*n; if (d<0) d=-d; a=s<0?-s:s; exit !(d <= 1e-4*a + 1e-3)}'; then ok
  else bad "--llr mean of $1: $(llr ends_mean.tsv "$1") x $2 != $(llr ends.tsv "$1")"; fi
done
# an indel whose ALT window is its REF window (the last bases deleted, bases inserted after the last one) is
# passed through unscored and counted, not scored 0
{ vh end
  printf 'end\t1108\tdel_last\t%s\t%s\t.\t.\t.\n' "${R:1107:3}" "${R:1107:1}"
  printf 'end\t1110\tins_after\t%s\t%sGA\t.\t.\t.\n' "${R:1109:1}" "${R:1109:1}"
  printf 'end\t1105\tdel_near\t%s\t%s\t.\t.\t.\n' "${R:1104:3}" "${R:1104:1}"
} > last.vcf
run 0 "score-variants, indels at the last base" -- "$H" score-variants -m "$M" -f ends.fa -w 256 -o last.out.vcf last.vcf
lq() { bcftools query -i "ID==\"$1\"" -f '%INFO/HDNA_LLR %INFO/HDNA_EDIST' last.out.vcf 2>/dev/null; }
for id in del_last ins_after; do [ "$(lq $id)" = ". ." ] && ok || bad "$id is invisible in its window and must pass through unscored: '$(lq $id)'"; done
lq del_near | grep -Eq '^-?[0-9][0-9.e+-]* [0-9][0-9.e+-]*$' && ok || bad "a deletion 2 bases before the end is scored: '$(lq del_near)'"
has "$tmp/err" "3 records: 1 scored, 2 passed through unscored (2 ALT window identical to the REF window)" "same-window record count"
has "$tmp/err" "2 left unscored (2 ALT window identical to the REF window)" "same-window allele count"
run 1 "--llr with a bad value" -- "$H" score-variants -m "$M" -f ends.fa --llr median ends.vcf
errline "hyenadna score-variants: option --llr: 'median' is not one of sum, mean" "--llr message"

# ------------------------------------------------------------------ score-variants: non-ACGT alleles and windows are not scored
A=$(rnd 300 41)
B="${A:0:100}N${A:101:199}"                 # an N at 101
C="${A:0:200}R${A:201:99}"                  # an IUPAC R at 201
printf '>a\n%s\n>b\n%s\n>c\n%s\n' "$A" "$B" "$C" > iu.fa
o() { case $1 in A) echo C;; C) echo G;; G) echo T;; *) echo A;; esac; }
{ vh a b c
  printf 'a\t50\taltN\t%s\tN\t.\t.\t.\n' "${A:49:1}"
  printf 'a\t60\taltNN\t%s\tNN\t.\t.\t.\n' "${A:59:1}"
  printf 'a\t70\taltR\t%s\tR\t.\t.\t.\n' "${A:69:1}"
  printf 'a\t80\tmulti\t%s\t%s,N\t.\t.\t.\n' "${A:79:1}" "$(o "${A:79:1}")"
  printf 'b\t101\trefN\tN\tA\t.\t.\t.\n'
  printf 'b\t150\tflankN\t%s\t%s\t.\t.\t.\n' "${A:149:1}" "$(o "${A:149:1}")"
  printf 'c\t150\tflankR\t%s\t%s\t.\t.\t.\n' "${A:149:1}" "$(o "${A:149:1}")"
} > iu.vcf
run 0 "score-variants, non-ACGT alleles and windows" -- "$H" score-variants -m "$M" -f iu.fa -w 256 -o iu.out.vcf iu.vcf
q() { bcftools query -i "ID==\"$1\"" -f '%INFO/HDNA_LLR' iu.out.vcf 2>/dev/null; }
for id in altN altNN altR refN flankR; do [ "$(q $id)" = "." ] && ok || bad "$id should pass through unscored: '$(q $id)'"; done
if q multi | grep -Eq '^-?[0-9.e+-]+,\.$'; then ok; else bad "multi-allelic A>x,N: the N ALT gets a missing value: '$(q multi)'"; fi
if q flankN | grep -Eq '^-?[0-9.e+-]+$'; then ok; else bad "N in the flanks is read as N (the model has an N token): '$(q flankN)'"; fi
has "$tmp/err" "7 records: 2 scored, 5 passed through unscored (4 non-ACGT allele, 1 non-ACGT reference in window)" "non-ACGT counts"
has "$tmp/err" "5 left unscored (4 non-ACGT, 1 non-ACGT reference in window)" "non-ACGT ALT allele counts"
# (digit.fa of the invalid-bases section above, indexed there)
vh 1 2 > digit.vcf; printf '2\t2\t.\tC\tG\t.\t.\t.\n' >> digit.vcf
run 1 "score-variants, a digit in the reference" -- "$H" score-variants -m "$M" -f digit.fa -o d.vcf digit.vcf
errline "hyenadna score-variants: digit.fa: invalid character '5' in record '2' at position 5" "the reference's bad base, as embed says it"
[ ! -e d.vcf ] && ok || bad "score-variants left d.vcf after the reference error"

# ------------------------------------------------------------------ score-variants: a reference that does not fit the VCF is loud
G=$(rnd 400 51)
printf '>17\n%s\n' "$G" > g17.fa; printf '>chr17\n%s\n' "$G" > gchr.fa
{ vh 17; for p in 10 20 30 40 50 60 70 80 90 100; do b=${G:$((p-1)):1}; r=$b; [ $p -le 80 ] && r=$(o "$b"); printf '17\t%d\tv%d\t%s\t%s\t.\t.\t.\n' $p $p "$r" "$(o "$(o "$b")")"; done; } > wrong.vcf
run 0 "score-variants, 8 of 10 REF alleles mismatching" -- "$H" score-variants -m "$M" -f g17.fa -o /dev/null wrong.vcf
for p in 10 20 30 40 50; do has "$tmp/err" "warning: wrong.vcf line $((p/10+3)) (17:$p v$p): REF allele" "mismatch $p named"; done
hasnt "$tmp/err" "(17:60 v60)" "only the first 5 mismatches named"
has "$tmp/err" "8 of the 10 REF alleles checked (80%) do not match the reference 'g17.fa': the VCF was probably made against another assembly" "wrong assembly warning"
run 1 "--strict: a mismatch is an error" -- "$H" score-variants -m "$M" -f g17.fa --strict -o /dev/null wrong.vcf
errline "hyenadna score-variants: wrong.vcf line 4 (17:10 v10): REF allele '$(o "${G:9:1}")' does not match the reference '${G:9:1}' in 'g17.fa'" "--strict mismatch"
sed 's/^17\t/chr17\t/; s/ID=17>/ID=chr17>/' wrong.vcf | awk -F'\t' -v OFS='\t' '!/^#/ && $2<=80{$4=substr("'"$G"'", $2, 1)} 1' > chr.vcf
run 0 "score-variants, VCF chr17 vs reference 17" -- "$H" score-variants -m "$M" -f g17.fa -o /dev/null chr.vcf
has "$tmp/err" "none of the contigs of the VCF's records is in the reference 'g17.fa'" "no contig found warning"
has "$tmp/err" "the VCF names contigs with a 'chr' prefix and the reference without ('chr17' in the VCF, '17' in the reference)" "chr prefix warning (VCF with chr)"
has "$tmp/err" "10 contig not in the reference" "records counted"
awk -F'\t' -v OFS='\t' '!/^#/ && $2<=80{$4=substr("'"$G"'", $2, 1)} 1' wrong.vcf > ok17.vcf
run 0 "score-variants, VCF 17 vs reference chr17" -- "$H" score-variants -m "$M" -f gchr.fa -o /dev/null ok17.vcf
has "$tmp/err" "the VCF names contigs without a 'chr' prefix and the reference with ('17' in the VCF, 'chr17' in the reference)" "chr prefix warning (reference with chr)"
run 0 "score-variants, the right reference" -- "$H" score-variants -m "$M" -f g17.fa -o /dev/null ok17.vcf
hasnt "$tmp/err" "warning" "no warning when the reference fits"

# telomeric breakends (VCF: POS 0 or the contig length + 1, REF N, breakend ALT) are symbolic records, not REFs
# outside the contig: no warning, no 'another assembly' alarm, not an error under --strict
{ vh 17; printf '17\t0\ttel1\tN\t.[17:100[\t.\t.\t.\n17\t401\ttel2\tN\t]17:200].\t.\t.\t.\n17\t10\tsnv\t%s\t%s\t.\t.\t.\n' "${G:9:1}" "$(o "${G:9:1}")"; } > tel.vcf
run 0 "telomeric breakends, --strict" -- "$H" score-variants -m "$M" -f g17.fa --strict -o tel.out.vcf tel.vcf
hasnt "$tmp/err" "warning" "telomeric breakends: no warning"
has "$tmp/err" "3 records: 1 scored, 2 passed through unscored (2 symbolic or '*' ALT)" "telomeric breakends counted as symbolic"
[ "$(bcftools view -H tel.out.vcf 2>/dev/null | cut -f3 | tr '\n' ' ')" = "tel1 tel2 snv " ] && ok || bad "telomeric breakends not passed through"
# symbolic records with REF N inside the contig (gnomAD-SV writes every SV so): no base to compare, so not a
# mismatch -- no warning, no 'another assembly' alarm, no error under --strict (bcftools norm skips them too);
# a base REF that misses the reference and N before a base ALT still mismatch
G17=$(printf '%s' "$G" | head -c 120)
printf '>17\n%sNNNN%s\n' "$G17" "${G:124}" > g17n.fa
{ vh 17; for p in 10 20 30 40 50 60; do printf '17\t%d\tsv%d\tN\t<DEL>\t.\tPASS\t.\n' $p $p; done
  printf '17\t122\tsvn\tN\t<DUP>\t.\tPASS\t.\n17\t70\tbnd\tN\tN[17:300[\t.\t.\t.\n'; } > gsv.vcf
run 0 "symbolic records with REF N, --strict" -- "$H" score-variants -m "$M" -f g17n.fa --strict -o gsv.out.vcf gsv.vcf
hasnt "$tmp/err" "warning" "REF N of symbolic records: no warning"
has "$tmp/err" "8 records: 0 scored, 8 passed through unscored (8 symbolic or '*' ALT)" "REF N of symbolic records counted as symbolic"
[ "$(bcftools view -H gsv.out.vcf 2>/dev/null | wc -l)" = 8 ] && ok || bad "REF N symbolic records not passed through"
{ vh 17; printf '17\t10\tsvx\t%s\t<DEL>\t.\t.\t.\n17\t20\tnb\tN\t%s\t.\t.\t.\n' "$(o "${G:9:1}")" "${G:19:1}"; } > gsvx.vcf
run 0 "a symbolic record with a wrong base REF, N before a base ALT" -- "$H" score-variants -m "$M" -f g17.fa -o /dev/null gsvx.vcf
has "$tmp/err" "(17:10 svx): REF allele '$(o "${G:9:1}")' does not match the reference" "symbolic record, wrong base REF: a mismatch"
has "$tmp/err" "(17:20 nb): REF allele 'N' does not match the reference" "REF N, base ALT: a mismatch"
{ vh 17; printf '17\t0\tpos0\tN\tA\t.\t.\t.\n'; } > pos0.vcf
run 1 "POS 0 of a base ALT, --strict" -- "$H" score-variants -m "$M" -f g17.fa --strict -o pos0.out.vcf pos0.vcf
has "$tmp/err" "(17:0 pos0): REF allele 'N' lies outside contig '17'" "POS 0 of a base ALT: still outside the contig"

# ------------------------------------------------------------------ score-variants: a VCF scored again describes its new scores only
run 0 "score-variants, first run" -- "$H" score-variants -m "$M" -f g17.fa -w 128 -o s1.vcf ok17.vcf
run 0 "score-variants, the scored VCF again" -- "$H" score-variants -m "$M" -f g17.fa -w 64 --llr mean -o s2.vcf s1.vcf
run 0 "score-variants, the original VCF" -- "$H" score-variants -m "$M" -f g17.fa -w 64 --llr mean -o s3.vcf ok17.vcf
for tag in 'INFO=<ID=HDNA_LLR,' 'INFO=<ID=HDNA_EDIST,' '##hyenadna_score-variantsModel='; do
  [ "$(grep -c "$tag" s2.vcf)" -eq 1 ] && ok || bad "re-scored VCF: $(grep -c "$tag" s2.vcf) lines '$tag'"
done
grep '^##INFO=<ID=HDNA_LLR' s2.vcf > desc.txt
has desc.txt "windows of min(64," "re-scored LLR description names the new window"
has desc.txt "(--llr mean)" "re-scored LLR description names the new reduction"
hasnt desc.txt "128" "re-scored LLR description keeps nothing of the first run"
grep '^##hyenadna_score-variantsModel' s2.vcf > model.txt
has model.txt "window=64;llr=mean" "re-scored model line"
[ "$(grep -c '^##hyenadna_score-variantsCommand' s2.vcf)" -eq 2 ] && ok || bad "the command history keeps both runs"
bcftools query -f '%ID %INFO/HDNA_LLR %INFO/HDNA_EDIST\n' s2.vcf > v2.txt 2>/dev/null; bcftools query -f '%ID %INFO/HDNA_LLR %INFO/HDNA_EDIST\n' s3.vcf > v3.txt 2>/dev/null
[ -s v2.txt ] && cmp -s v2.txt v3.txt && ok || bad "re-scored values differ from a fresh scoring"

# ------------------------------------------------------------------ score-variants: malformed VCF lines htslib lets through are refused
mal() {   # mal NAME LINE-NUMBER DESCRIPTION -- data line printf args
  local name=$1 ln=$2 what=$3; shift 4
  { vh 17; printf '17\t10\t.\t%s\tA\t.\t.\t.\n' "${G:9:1}"; printf "$@"; printf '17\t20\t.\t%s\tA\t.\t.\t.\n' "${G:19:1}"; } > "$name.vcf"
  run 1 "$what" -- "$H" score-variants -m "$M" -f g17.fa -o "$name.out.vcf" "$name.vcf"
  has "$tmp/err" "hyenadna score-variants: $name.vcf line $ln: malformed VCF data line" "$what: the line named"
  [ ! -e "$name.out.vcf" ] && [ -z "$(ls -A | grep "$name.out.vcf")" ] && ok || bad "$what: output left behind"
}
mal short 5 "a data line of 7 columns" -- '17\t15\tx\tA\tC\t.\t.\n'
mal nopos 5 "POS abc" -- '17\tabc\t.\tA\tC\t.\t.\t.\n'
mal empty 5 "an empty line" -- '\n'
mal qual 5 "QUAL abc (htslib writes 0)" -- '17\t15\t.\tA\tC\tabc\t.\t.\n'
has "$tmp/err" "line 5: malformed VCF data line: QUAL is neither '.' nor a number" "QUAL abc: why"
mal qualx 5 "QUAL 30x (htslib writes 30)" -- '17\t15\t.\tA\tC\t30x\t.\t.\n'
mal qual0 5 "an empty QUAL (htslib writes 0)" -- '17\t15\t.\tA\tC\t\t.\t.\n'
{ vh 17; printf '17\t10\t.\t%s\tA\t%s\t.\t.\n' "${G:9:1}" 30 "${G:9:1}" 1e3 "${G:9:1}" 2.5 "${G:9:1}" . "${G:9:1}" -1; } > quals.vcf
run 0 "QUAL values that are numbers or '.'" -- "$H" score-variants -m "$M" -f g17.fa -o quals.out.vcf quals.vcf
[ "$(bcftools view -H quals.out.vcf 2>/dev/null | cut -f6 | tr '\n' ' ')" = "30 1000 2.5 . -1 " ] && ok || bad "QUAL numbers: $(cut -f6 quals.out.vcf | tail -5 | tr '\n' ' ')"
mal nosamples 5 "genotypes under a header that names no sample" -- '17\t15\t.\tA\tC\t.\t.\t.\tGT\t0/1\n'
has "$tmp/err" "line 5: malformed VCF data line: 10 tab-separated columns, where a header that names no sample has 8 (9 with FORMAT): the sample columns would be lost" "genotypes without samples: why"
# the columns of a header that names two samples: htslib dropped a third sample column without a word, and
# read a line without FORMAT and samples as a record it then refused to write (exit 2, 'write failed')
vh2() { vh 17 | sed '$d'; printf '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n'; }
for c in 'extra:17\t15\t.\tA\tC\t.\t.\t.\tGT\t0/1\t1/1\t0/0\n:12 tab-separated columns, where the header'"'"'s 2 samples need 11: the columns after the last sample would be lost' \
         'nofmt:17\t15\t.\tA\tC\t.\t.\t.\n:8 tab-separated columns, where the header'"'"'s 2 samples need 11 (FORMAT and one column per sample)'; do
  name=${c%%:*}; rest=${c#*:}; line=${rest%%:*}; why=${rest#*:}
  for ot in v b; do
    { vh2; printf "$line"; } > "cols_$name.vcf"
    run 1 "sample columns ($name), -O $ot" -- "$H" score-variants -m "$M" -f g17.fa -O $ot -o "cols_$name.out" "cols_$name.vcf"
    errline "hyenadna score-variants: cols_$name.vcf line 5: malformed VCF data line: $why" "sample columns ($name), -O $ot: the line and why"
    [ ! -e "cols_$name.out" ] && ok || bad "sample columns ($name): output left behind"
  done
done
# what loses nothing passes: empty columns at the end (a trailing tab), FORMAT alone under a header without samples
{ vh2; printf '17\t10\t.\t%s\tA\t.\t.\t.\tGT\t0/1\t1|1\t\n' "${G:9:1}"; } > trailtab.vcf
{ vh 17; printf '17\t10\t.\t%s\tA\t.\t.\t.\tGT\n' "${G:9:1}"; } > fmtonly.vcf
for f in trailtab fmtonly; do
  run 0 "$f: scored" -- "$H" score-variants -m "$M" -f g17.fa -o "$f.out.vcf" "$f.vcf"
  bcftools annotate -x INFO/HDNA_LLR,INFO/HDNA_EDIST "$f.out.vcf" 2>/dev/null | grep -v '^#' > a.txt
  bcftools view "$f.vcf" 2>/dev/null | grep -v '^#' > b.txt
  [ -s a.txt ] && cmp -s a.txt b.txt && grep -q 'HDNA_LLR=' "$f.out.vcf" && ok || bad "$f: the record is not the input's plus the scores"
done
# a POS beyond 2^31 - 1 (VCF holds it, BCF cannot): an input error naming the record, not 'write failed: <stale errno>'
{ vh 17; printf '17\t10\t.\t%s\tA\t.\t.\t.\n17\t3000000000\tfar\tA\tC\t.\t.\t.\n' "${G:9:1}"; } > far.vcf
run 0 "a POS beyond 2^31, VCF output" -- "$H" score-variants -m "$M" -f g17.fa -o far.out.vcf far.vcf
[ "$(grep -c $'^17\t3000000000\tfar\tA\tC\t' far.out.vcf)" -eq 1 ] && ok || bad "a POS beyond 2^31 not passed through in VCF"
run 1 "a POS beyond 2^31, BCF output" -- "$H" score-variants -m "$M" -f g17.fa -o far.bcf far.vcf
has "$tmp/err" "hyenadna score-variants: far.bcf: cannot write the record at 17:3000000000 as BCF: BCF holds positions up to 2147483647 (write VCF, -O v or z)" "a POS beyond 2^31 to BCF: the record and the remedy"
[ ! -e far.bcf ] && ok || bad "a POS beyond 2^31 left far.bcf"
# -W on a bgzipped VCF reaching beyond 2^29 (a .tbi cannot hold it): a .csi index, not the whole output discarded
{ vh 17 big | sed 's/ID=big>/ID=big,length=700000000>/'; printf '17\t10\t.\t%s\tA\t.\t.\t.\nbig\t600000000\tfar\tA\tC\t.\t.\t.\n' "${G:9:1}"; } > big29.vcf
run 0 "-W, a bgzipped VCF beyond 2^29" -- "$H" score-variants -m "$M" -f g17.fa -W -o big29.vcf.gz big29.vcf
has "$tmp/err" "big29.vcf.gz: a record reaches beyond position 536870912, which a .tbi index cannot hold: writing a .csi index" "-W beyond 2^29: the .csi announced"
[ -s big29.vcf.gz.csi ] && [ ! -e big29.vcf.gz.tbi ] && ok || bad "-W beyond 2^29: no .csi index: $(ls big29*)"
[ "$(bcftools view -H -r big:600000000 big29.vcf.gz 2>/dev/null | cut -f3)" = far ] && ok || bad "-W beyond 2^29: the .csi does not find the record"
run 0 "-W, a bgzipped VCF below 2^29" -- "$H" score-variants -m "$M" -f g17.fa -W -o small29.vcf.gz ok17.vcf
[ -s small29.vcf.gz.tbi ] && [ ! -e small29.vcf.gz.csi ] && ok || bad "-W below 2^29: not a .tbi: $(ls small29*)"
# -W on an unsorted input: refused at the first record out of order, named, before any scoring of the rest (the
# index failed after the whole run, 'is it sorted?', naming no record); contig blocks in any order are sorted
{ vh 17 18; printf '17\t30\tb\t%s\tA\t.\t.\t.\n17\t10\ta\t%s\tA\t.\t.\t.\n' "${G:29:1}" "${G:9:1}"; } > unsorted.vcf
run 1 "-W, POS out of order" -- "$H" score-variants -m "$M" -f g17.fa -W -o unsorted.vcf.gz unsorted.vcf
errline "hyenadna score-variants: unsorted.vcf line 6 (17:10 a): not sorted: POS 10 comes after POS 30; -W/--write-index needs a sorted input (bcftools sort, or leave -W out)" "-W unsorted: the record named"
[ ! -e unsorted.vcf.gz ] && [ ! -e unsorted.vcf.gz.tbi ] && ok || bad "-W unsorted left output: $(ls unsorted.vcf.gz*)"
{ vh 17 18; printf '18\t5\tc\tA\tC\t.\t.\t.\n17\t10\ta\t%s\tA\t.\t.\t.\n18\t7\td\tA\tC\t.\t.\t.\n' "${G:9:1}"; } > blocks.vcf
bcftools view -Ob -o blocks.bcf blocks.vcf 2>/dev/null
run 1 "-W, a contig's records apart (BCF input)" -- "$H" score-variants -m "$M" -f g17.fa -W -o blocks.out.bcf blocks.bcf
has "$tmp/err" "hyenadna score-variants: blocks.bcf record 3 (18:7 d): not sorted: contig '18' comes again after contig '17'; -W/--write-index needs a sorted input, each contig's records together (bcftools sort, or leave -W out)" "-W contig blocks apart: the record named"
head -n -1 blocks.vcf > blocks2.vcf
run 0 "-W, contig blocks out of header order" -- "$H" score-variants -m "$M" -f g17.fa -W -o blocks2.vcf.gz blocks2.vcf
[ "$(bcftools view -H -r 18 blocks2.vcf.gz 2>/dev/null | cut -f3)" = c ] && ok || bad "-W contig blocks out of header order: not indexed"
run 0 "unsorted input without -W" -- "$H" score-variants -m "$M" -f g17.fa -o unsorted.out.vcf unsorted.vcf
{ vh 17; printf '17\t10\t.\t%s\tA\t.\t.\t.\n17\t30\t.\tA' "${G:9:1}"; } > trunc.vcf
run 1 "a truncated last line" -- "$H" score-variants -m "$M" -f g17.fa -o trunc.out.vcf trunc.vcf
has "$tmp/err" "trunc.vcf line 5: malformed VCF data line: fewer than 8" "a truncated line is bad input, not a write failure"
{ vh 17; awk 'BEGIN{srand(9); for(i=1;i<=20000;i++) printf "17\t5\tid%d_%d\tA\tG\t.\t.\t.\n", i, int(rand()*1e9)}'; } | bgzip -c > big.vcf.gz
head -c $(( $(wc -c < big.vcf.gz) / 2 )) big.vcf.gz > cut.vcf.gz
run 1 "a bgzipped VCF cut short" -- "$H" score-variants -m "$M" -f g17.fa -Ob -o cut.bcf cut.vcf.gz
if grep -q "^hyenadna score-variants: cut.vcf.gz: read error at line [0-9]* (truncated or corrupt compressed data)$" "$tmp/err"; then ok; else bad "cut VCF: $(cat "$tmp/err")"; fi
[ ! -e cut.bcf ] && ok || bad "a cut VCF left cut.bcf"
# a VCF without its first line (##fileformat=VCFv4.x): htslib takes it for unknown text, the error says what is missing
grep -v '^##fileformat' ok17.vcf > noff.vcf
run 1 "a VCF without ##fileformat" -- "$H" score-variants -m "$M" -f g17.fa -o noff.out.vcf noff.vcf
errline "hyenadna score-variants: 'noff.vcf' is not a VCF or BCF file (a VCF starts with a ##fileformat=VCFv4.x line)" "no ##fileformat: the line named"
: > empty.vcf
run 1 "an empty VCF" -- "$H" score-variants -m "$M" -f g17.fa -o empty.out.vcf empty.vcf
errline "hyenadna score-variants: 'empty.vcf' is not a VCF or BCF file (it is empty)" "an empty file: said so"
# the reference given as the input (-f forgotten), or a BED: what htslib reads it as, and where a FASTA goes
run 1 "a FASTA as the VCF" -- "$H" score-variants -m "$M" -f g17.fa -o fa.out.vcf g17.fa
errline "hyenadna score-variants: 'g17.fa' is not a VCF or BCF file (htslib reads it as FASTA sequence text; the reference FASTA is given with -f)" "a FASTA as the VCF: said so"
printf '17\t1\t10\n' > r.bed
run 1 "a BED as the VCF" -- "$H" score-variants -m "$M" -f g17.fa -o bed.out.vcf r.bed
errline "hyenadna score-variants: 'r.bed' is not a VCF or BCF file (htslib reads it as BED genomic region text)" "a BED as the VCF: said so"
bcftools view -Ob -o ok17.bcf ok17.vcf 2>/dev/null
run 0 "BCF input (binary: no line checks)" -- "$H" score-variants -m "$M" -f g17.fa -O t ok17.bcf

# ------------------------------------------------------------------ score-variants: the reference named by ##reference=
mkdir -p vdir && cp g17.fa vdir/ && sed '2i ##reference=g17.fa' ok17.vcf > vdir/rel.vcf
run 0 "##reference= relative to the VCF's folder" -- env -u HYENADNA_REF "$H" score-variants -m "$M" -O t vdir/rel.vcf
[ "$(grep -vc '^#' "$tmp/out")" -eq 10 ] && ok || bad "relative ##reference=: $(head -3 "$tmp/out")"
sed '2i ##reference=file:///no/such/ref.fa' ok17.vcf > absent.vcf
run 1 "##reference= names a file that cannot be read" -- env -u HYENADNA_REF "$H" score-variants -m "$M" absent.vcf
errline "hyenadna score-variants: the VCF's ##reference=file:///no/such/ref.fa names '/no/such/ref.fa', which cannot be read (No such file or directory): give the reference FASTA with -f REF.fa (or set HYENADNA_REF)" "unreadable ##reference="
run 0 "##reference= unreadable, HYENADNA_REF used" -- env HYENADNA_REF=g17.fa "$H" score-variants -m "$M" -O t absent.vcf
has "$tmp/err" "warning: the VCF's ##reference=file:///no/such/ref.fa names '/no/such/ref.fa', which cannot be read" "the fallback is said"

# ------------------------------------------------------------------ score-variants: -o NAME.txt is TSV, as the man page says
run 0 "score-variants -o a.txt" -- "$H" score-variants -m "$M" -f g17.fa -o a.txt ok17.vcf
[ "$(head -1 a.txt)" = "$(printf '#chrom\tpos\tid\tref\talt\tllr\tedist')" ] && ok || bad "-o a.txt: $(head -1 a.txt)"

# ------------------------------------------------------------------ the man page's TSV -> bcftools annotate recipe keeps every ALT
{ vh 17; for p in 15 25 35; do b=${G:$((p-1)):1}; printf '17\t%d\tm%d\t%s\t%s,%s\t.\t.\t.\n' $p $p "$b" "$(o "$b")" "$(o "$(o "$b")")"; done; } > multi.vcf
bcftools norm -m- -Oz -o split.vcf.gz multi.vcf 2>/dev/null
run 0 "recipe: score the split records as TSV" -- "$H" score-variants -m "$M" -f g17.fa -o scores.tsv.gz split.vcf.gz
tabix -f -s1 -b2 -e2 scores.tsv.gz
printf '##INFO=<ID=HDNA_LLR,Number=A,Type=Float,Description="LLR">\n' > hdna.hdr
printf '##INFO=<ID=HDNA_EDIST,Number=A,Type=Float,Description="EDIST">\n' >> hdna.hdr
bcftools annotate -a scores.tsv.gz -h hdna.hdr -c CHROM,POS,-,REF,ALT,HDNA_LLR,HDNA_EDIST -Oz -o annotated.vcf.gz split.vcf.gz 2>/dev/null
run 0 "recipe: the VCF output of the unsplit records" -- "$H" score-variants -m "$M" -f g17.fa -o direct.vcf multi.vcf
bcftools query -f '%ALT %INFO/HDNA_LLR\n' annotated.vcf.gz > ann.txt 2>/dev/null
bcftools norm -m- direct.vcf 2>/dev/null | bcftools query -f '%ALT %INFO/HDNA_LLR\n' > dir.txt 2>/dev/null
[ "$(wc -l < ann.txt)" -eq 6 ] && ! grep -q ' \.$' ann.txt && ok || bad "recipe: every ALT annotated: $(tr '\n' ';' < ann.txt)"
paste -d' ' ann.txt dir.txt | awk '{d=$2-$4; if (d<0) d=-d; if ($1!=$3 || d>1e-4*($2<0?-$2:$2)+1e-5) bad=1} END{exit bad}' && ok || bad "recipe values differ from the VCF output: $(paste -d' ' ann.txt dir.txt | tr '\n' ';')"

# ------------------------------------------------------------------ classify -o NAME.bed with FASTA queries: refused, not TSV under a .bed name
run 1 "classify -o calls.bed with FASTA queries" -- "$H" classify --method kmer -t train.fa -o calls.bed sp.fa
has "$tmp/err" "hyenadna classify: option -o calls.bed: FASTA queries give one TSV row per record" "classify .bed output refused"
[ ! -e calls.bed ] && ok || bad "classify left calls.bed"
run 0 "classify -o windows.bed with --window" -- "$H" classify --method kmer -t train.fa --window 40 -o windows.bed sp.fa
[ "$(grep -vc '^#\|^track' windows.bed)" -eq 4 ] && ok || bad "classify windows as BED9: $(cat windows.bed)"
# two outputs under one name: refused before the run (the later rename replaced the other, exit 0)
run 1 "classify -o x --metrics x" -- "$H" classify --method kmer -t train.fa -o both.out --metrics both.out train.fa
errline "hyenadna classify: options -o and --metrics both write both.out: give each its own file" "classify -o = --metrics"
[ ! -e both.out ] && ok || bad "classify -o = --metrics left both.out"
run 1 "classify --metrics - with the rows on standard output" -- "$H" classify --method kmer -t train.fa --metrics - train.fa
errline "hyenadna classify: options -o and --metrics both write standard output: give each its own file" "classify --metrics -"
: > h.st; ln h.st h2.st
run 1 "classify --save-head and --metrics, two names of one file" -- "$H" classify --method kmer -t train.fa --save-head h.st --metrics h2.st train.fa
errline "hyenadna classify: options --metrics and --save-head both write h.st: give each its own file" "classify --save-head = --metrics"
run 1 "classify -t - -" -- sh -c "'$H' classify --method kmer -t - - < train.fa"
errline "hyenadna classify: --train - and QUERY - both read standard input, which can be read once: give one of them as a file" "classify stdin twice"

# ------------------------------------------------------------------ an empty input: the header only, exit 0, in every command
: > none.fa
run 0 "embed, empty input" -- "$H" embed -m "$M" none.fa
[ "$(wc -l < "$tmp/out")" -eq 1 ] && head -1 "$tmp/out" | grep -q '^#name' && ok || bad "embed empty: $(head -c 200 "$tmp/out")"
run 0 "classify, empty query file" -- "$H" classify --method kmer -t train.fa none.fa
[ "$(cat "$tmp/out")" = "$(printf '#name\tlabel\tscore_a\tscore_b\tprob_a\tprob_b')" ] && ok || bad "classify empty: $(cat "$tmp/out")"
run 0 "classify, empty BED query file" -- "$H" classify --method kmer -t train.fa -f sp.fa --bed -o none.bed none.fa
[ "$(grep -c '^track' none.bed)" -eq 1 ] && [ "$(grep -vc '^track\|^#' none.bed)" -eq 0 ] && ok || bad "classify empty BED: $(cat none.bed)"
run 0 "forward, empty input" -- "$H" forward -m "$M" -o none.st none.fa
[ -s none.st ] && ok || bad "forward empty: no file"
vh 17 > none.vcf
run 0 "score-variants, a VCF without records" -- "$H" score-variants -m "$M" -f g17.fa -O t none.vcf
[ "$(cat "$tmp/out")" = "$(printf '#chrom\tpos\tid\tref\talt\tllr\tedist')" ] && ok || bad "score-variants empty: $(cat "$tmp/out")"

# ------------------------------------------------------------------ the default model reads 1,026 bases (README, hyenadna info)
printf '>x\n%s\n' "$(rnd 1026 61)" > b1026.fa; printf '>x\n%s\n' "$(rnd 1027 62)" > b1027.fa
run 0 "the default model takes 1,026 bases" -- env -u HYENADNA_MODEL "$H" forward -o b.st b1026.fa
run 1 "the default model refuses 1,027 bases" -- env -u HYENADNA_MODEL "$H" forward -o b.st b1027.fa
has "$tmp/err" "maximum length of 1026" "1,026 is the limit"

# ------------------------------------------------------------------ classify: BED queries with names (peak files), k-mer-less queries, label= twice
printf '>chr1\n%s\n>chr2\n%s\n' "$(rnd 400 1)" "$(rnd 400 2)" > bq.fa
printf 'chr1\t0\t50\tprom\nchr1\t50\t100\tenh\nchr1\t100\t150\tprom\nchr1\t150\t200\tenh\n' > bqtr.bed
printf 'chr2\t0\t60\tpeak1\t0\t+\t5.1\t3.2\t2.1\t30\nchr2\t100\t160\t.\t0\t.\t5.1\t3.2\t2.1\t30\n' > q.narrowPeak
run 0 "classify a narrowPeak query" -- "$H" classify --method kmer -t bqtr.bed -f bq.fa q.narrowPeak
[ "$(grep -v '^track' "$tmp/out" | awk -F'\t' '{print $NF}' | tr '\n' ' ')" = "name peak1 . " ] && ok || bad "narrowPeak names: $(cat "$tmp/out")"
hasnt "$tmp/out" "true_label" "narrowPeak names are not true labels"
run 1 "classify a narrowPeak query with --metrics" -- "$H" classify --method kmer -t bqtr.bed -f bq.fa --metrics np.json q.narrowPeak
errline "hyenadna classify: option --metrics: q.narrowPeak: the 4th column of the first query 'chr2:1-60', 'peak1', is not a class of the training set, so the 4th column holds names, not true labels: no metrics can be computed" "classify narrowPeak --metrics"
[ ! -e np.json ] && ok || bad "narrowPeak --metrics wrote np.json"
printf 'chr2\t0\t60\tprom\t0\t+\nchr2\t100\t160\tenh\t0\t-\n' > q6.bed
run 0 "classify labelled BED6 queries with --metrics" -- "$H" classify --method kmer -t bqtr.bed -f bq.fa --metrics b6.json q6.bed
has "$tmp/out" "true_label" "BED6 labels are true labels"
grep -q '"n": 2' b6.json && ok || bad "BED6 metrics: $(cat b6.json)"
printf 'chr2\t0\t60\tpeakA\t0\t+\nchr2\t100\t160\tenh\t0\t-\n' > q6n.bed
run 0 "classify BED6 names, a later one a class" -- "$H" classify --method kmer -t bqtr.bed -f bq.fa q6n.bed
has "$tmp/err" "query 'chr2:101-160(-)' has the class 'enh' in its 4th column" "BED6 class-like name warned"
printf 'chr2\t0\t60\tprom\t0\t+\nchr2\t100\t160\tpeakB\t0\t-\n' > q6m.bed
run 1 "classify BED6 labels, a later one not a class" -- "$H" classify --method kmer -t bqtr.bed -f bq.fa q6m.bed
has "$tmp/err" "query 'chr2:101-160(-)' has the label 'peakB' in its 4th column, which is not a class" "BED6 later non-class"
printf '>q1 label=prom\n%s\n>q2 label=enh\nNNNNNNNNNN\n>q3 label=prom\nACG\n' "$(rnd 60 5)" > kn.fa
run 0 "classify kmer, queries with no k-mer" -- "$H" classify --method kmer -t bqtr.bed -f bq.fa --metrics kn.json kn.fa
[ "$(grep -c '	NA	NA	NA	NA	NA	' "$tmp/out")" -eq 2 ] && ok || bad "kmer no k-mer rows: $(cat "$tmp/out")"
[ "$(grep -c 'have no 4-mer' "$tmp/err")" -eq 1 ] && ok || bad "kmer no k-mer: one warning: $(cat "$tmp/err")"
has "$tmp/err" "2 of 3 sequences have no 4-mer of A, C, G, T" "kmer no k-mer count"
grep -q '"unscored": 2' kn.json && grep -q '"n": 1,' kn.json && ok || bad "kmer no k-mer metrics: $(cat kn.json)"
# kmer training examples with no k-mer (all N, shorter than k) are skipped with a warning naming each, so the fit
# is that of the training set without them (an all-zero vector joined the fit); a class left empty is an error
{ for i in 1 2 3; do printf '>a%d label=a\n%s\n>b%d label=b\n%s\n' $i "$(rnd 60 $((i+30)))" $i "$(rnd 60 $((i+40)))"; done; } > kt.fa
{ cat kt.fa; printf '>aN label=a\nNNNNNNNNNNNN\n>bS label=b\nACG\n'; } > ktn.fa
printf '>q1\n%s\n>q2\n%s\n' "$(rnd 60 51)" "$(rnd 60 52)" > kq.fa
run 0 "classify kmer, training set without the k-merless records" -- "$H" classify --method kmer -t kt.fa kq.fa
mv out kt.out
for m in "" "--cv 3"; do
  run 0 "classify kmer $m, training records with no k-mer" -- "$H" classify --method kmer $m -t ktn.fa $( [ -z "$m" ] && echo kq.fa )
  has "$tmp/err" "ktn.fa: record 'aN' (class 'a') has no 4-mer of A, C, G, T (all N, or shorter than 4): not a training example" "k-merless training record named ($m)"
  has "$tmp/err" "ktn.fa: record 'bS' (class 'b') has no 4-mer" "short training record named ($m)"
done
run 0 "classify kmer, training records with no k-mer" -- "$H" classify --method kmer -t ktn.fa kq.fa
cmp -s out kt.out && ok || bad "k-merless training records changed the fit: $(cat out) / $(cat kt.out)"
{ cat ktn.fa; printf '>c1 label=c\nNNNN\n>c2 label=c\nNA\n'; } > ktc.fa
run 1 "classify kmer, a class of k-merless records only" -- "$H" classify --method kmer -t ktc.fa -o kc.tsv kq.fa
has "$tmp/err" "hyenadna classify: ktc.fa: class 'c' has no training example with a 4-mer of A, C, G, T (its records are all N or shorter than 4)" "empty class named"
[ ! -e kc.tsv ] && ok || bad "empty class left kc.tsv"
printf '>a1 label=x label=y\nACGTACGT\n' > twice.fa
run 1 "classify -t, label= twice" -- "$H" classify --method kmer -t twice.fa kn.fa
errline "hyenadna classify: twice.fa: record 'a1' has label= twice with different values in its header: give one label" "label= twice in training"
run 1 "classify query, label= twice" -- "$H" classify --method kmer -t bqtr.bed -f bq.fa twice.fa
errline "hyenadna classify: twice.fa: record 'a1' has label= twice with different values in its header: give one label" "label= twice in a query"

# ------------------------------------------------------------------ BED strand (6th column), as bedtools getfasta -s
# a '-' interval is the reverse complement of the reference's bases (samtools faidx -i writes it); '.' or
# no 6th column is '+'; embed -R and classify's BED files (queries and training) read it alike
printf '>chr1\n%s\n>chr2\n%s\n' "$(rnd 300 41)" "$(rnd 300 42)" > st.fa
samtools faidx st.fa
samtools faidx -i st.fa chr1:11-70 | sed '1s/.*/>m1/' > m1.fa
samtools faidx st.fa chr1:11-70 | sed '1s/.*/>p1/' > p1.fa
printf 'chr1\t10\t70\tr\t0\t-\n' > m.bed
printf 'chr1\t10\t70\tr\t0\t.\n' > dot.bed
run 0 "embed -R, a minus-strand interval" -- "$H" embed -m "$M" -R m.bed st.fa
grep -v '^#' out | cut -f1-5 > m.head; grep -v '^#' out | cut -f6- > m.vec
[ "$(cat m.head)" = "chr1:11-70(-)	chr1	10	70	-" ] && ok || bad "embed -R minus: name, coordinates, strand: $(cat m.head)"
run 0 "embed, the reverse complement from samtools faidx -i" -- "$H" embed -m "$M" m1.fa
[ -s m.vec ] && [ "$(grep -v '^#' out | cut -f6-)" = "$(cat m.vec)" ] && ok || bad "embed -R minus is not the reverse complement's embedding"
run 0 "embed -R, a '.' interval" -- "$H" embed -m "$M" -R dot.bed st.fa
grep -v '^#' out | cut -f6- > dot.vec
run 0 "embed, the forward bases" -- "$H" embed -m "$M" p1.fa
[ "$(grep -v '^#' out | cut -f6-)" = "$(cat dot.vec)" ] && [ "$(cat dot.vec)" != "$(cat m.vec)" ] && ok || bad "embed -R '.' is not the forward bases"
# windows of a minus interval go along its strand: the first ends at the interval's end
run 0 "embed -R minus, windows" -- "$H" embed -m "$M" --window 40 --stride 20 -R m.bed st.fa
[ "$(grep -v '^#' out | cut -f1-5 | tr '\n' ' ')" = "chr1:31-70(-)	chr1	30	70	- chr1:11-50(-)	chr1	10	50	- " ] && ok || bad "embed minus windows: $(grep -v '^#' out | cut -f1-5)"
grep -v '^#' out | sed -n 1p | cut -f6- > mw.vec
samtools faidx -i st.fa chr1:31-70 > mw.fa
run 0 "embed, the first window's reverse complement" -- "$H" embed -m "$M" mw.fa
[ "$(grep -v '^#' out | cut -f6-)" = "$(cat mw.vec)" ] && ok || bad "embed minus window is not its reverse complement's embedding"
# a MACS2/ENCODE peak file (BED6+4) is BED by its name: 0-based, its '-' strand read (it was read 1-based)
printf 'chr1\t10\t70\tpeak1\t500\t-\t8.1\t-1\t4.2\t30\n' > m.narrowPeak
run 0 "embed -R a .narrowPeak" -- "$H" embed -m "$M" -R m.narrowPeak st.fa
[ "$(grep -v '^#' out | cut -f1-5)" = "$(cat m.head)" ] && [ "$(grep -v '^#' out | cut -f6-)" = "$(cat m.vec)" ] && ok ||
  bad "embed -R .narrowPeak is not its BED's: $(grep -v '^#' out | cut -f1-5)"
printf 'chr1\t0\t70\n' > zero.txt
run 1 "embed -R, a 1-based list starting at 0" -- "$H" embed -m "$M" -R zero.txt st.fa
errline "hyenadna embed: zero.txt line 1: chr1:0-70 is empty or reversed (1-based inclusive: 1 <= start <= end); a start of 0 is BED's: name a BED file .bed (or .bed.gz), which is read 0-based" "a start of 0 in a 1-based list"
printf 'chr1\t10\t70\tr\t0\tx\n' > badst.bed
run 1 "embed -R, strand x" -- "$H" embed -m "$M" -R badst.bed st.fa
errline "hyenadna embed: badst.bed line 1: strand 'x' (the 6th column) is not +, - or ." "embed bad strand"
# classify: a minus query scores as its reverse complement; a minus training interval trains on it
{ for i in 1 2 3; do printf 'chr2\t%d\t%d\ta\t0\t+\nchr2\t%d\t%d\tb\t0\t-\n' $((i*60)) $((i*60+50)) $((i*60-30)) $((i*60+20)); done; } > sttr.bed
{ for i in 1 2 3; do samtools faidx st.fa chr2:$((i*60+1))-$((i*60+50)) | sed "1s/.*/>a$i label=a/"
                     samtools faidx -i st.fa chr2:$((i*60-29))-$((i*60+20)) | sed "1s/.*/>b$i label=b/"; done; } > sttr.fa
run 0 "classify, minus-strand BED training and query" -- "$H" classify --method kmer -t sttr.bed -f st.fa m.bed
grep -v '^track\|^#' out > m.calls
[ "$(cut -f1-3,6 m.calls)" = "chr1	10	70	-" ] && ok || bad "classify minus query row: $(cat m.calls)"
run 0 "classify, the same as FASTA" -- "$H" classify --method kmer -t sttr.fa m1.fa
[ "$(grep -v '^#' out | cut -f2-)" = "$(cut -f4,10-13 m.calls)" ] && ok || bad "classify minus BED vs FASTA: $(cat m.calls) / $(cat out)"
run 0 "classify, '.' query" -- "$H" classify --method kmer -t sttr.fa p1.fa
grep -v '^#' out | cut -f3- > p.sc
run 0 "classify, '.' BED query" -- "$H" classify --method kmer -t sttr.bed -f st.fa dot.bed
[ "$(grep -v '^track\|^#' out | cut -f10-13)" = "$(cat p.sc)" ] && [ "$(grep -v '^track\|^#' out | cut -f6)" = "." ] && ok || bad "classify '.' BED query: $(cat out)"
# the two strands of one interval are two training examples, not a repeated interval
printf 'chr2\t0\t50\ta\t0\t+\nchr2\t0\t50\tb\t0\t-\nchr2\t60\t110\ta\nchr2\t60\t110\tb\t0\t-\n' > both.bed
run 0 "classify, both strands of an interval" -- "$H" classify --method kmer -t both.bed -f st.fa p1.fa
hasnt "$tmp/err" "was given before" "both strands are two examples"
run 1 "classify -t, strand x" -- "$H" classify --method kmer -t badst.bed -f st.fa p1.fa
errline "hyenadna classify: badst.bed line 1: strand 'x' (the 6th column) is not +, - or ." "classify bad strand"


# ------------------------------------------------------------------ score-variants -r/-R (through the index) and -t/-T (streamed), as bcftools
{ printf '>c1\n%s\n>c2\n%s\n' "$(rnd 3000 41)" "$(rnd 2000 42)"; } > rg.fa
samtools faidx rg.fa
awk 'NR==2{print "##fileformat=VCFv4.2\n##contig=<ID=c1>\n##contig=<ID=c2>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"}
     NR==2||NR==4{c=(NR==2?"c1":"c2"); for(p=100;p<=length($0)-100;p+=97){r=substr($0,p,1); a=(r=="A"?"G":"A"); print c"\t"p"\t"c"_"p"\t"r"\t"a"\t.\t.\t."}}' rg.fa > rg0.vcf
# a deletion at c1:480 spanning the boundary of two regions: read once
del=$(awk 'NR==2{print substr($0,480,30)}' rg.fa)
{ grep '^#' rg0.vcf; { grep -v '^#' rg0.vcf; printf 'c1\t480\tc1_del\t%s\t%s\t.\t.\t.\n' "$del" "${del:0:1}"; } | sort -k1,1 -k2,2n; } > rg.vcf
bgzip -c rg.vcf > rg.vcf.gz; bcftools index -t rg.vcf.gz; bcftools view -Ob -o rg.bcf rg.vcf; bcftools index rg.bcf
run 0 "score-variants, all records" -- "$H" score-variants -m "$M" -f rg.fa -O t rg.vcf.gz
grep -v '^#' out > all.tsv
reg=c1:200-490,c1:500-900,c2:1500-1700,c1:450-470
for in in rg.vcf.gz rg.bcf; do
  run 0 "score-variants -r on $in" -- "$H" score-variants -m "$M" -f rg.fa -r $reg -O t $in
  grep -v '^#' out > r.tsv
  bcftools view -H -r $reg $in | cut -f3 > want.ids
  [ "$(cut -f3 r.tsv)" = "$(cat want.ids)" ] && [ -s want.ids ] && ok || bad "score-variants -r $in: records $(cut -f3 r.tsv | tr '\n' ' ') vs bcftools $(tr '\n' ' ' < want.ids)"
  [ "$(grep -c c1_del r.tsv)" = 1 ] && ok || bad "score-variants -r $in: the deletion over two regions not read once"
  # the same scores as in the run over every record
  if awk -F'\t' 'NR==FNR{s[$3]=$0; next} !($3 in s) || s[$3]!=$0 {bad=1} END{exit bad}' all.tsv r.tsv; then ok; else bad "score-variants -r $in: scores differ from the whole run"; fi
done
printf 'c1\t200\t490\nc2\t1600\n' > reg.txt; printf 'c1\t199\t490\nc2\t1599\t1600\n' > reg.bed
run 0 "score-variants -R (1-based, CHR POS line)" -- "$H" score-variants -m "$M" -f rg.fa -R reg.txt -O t rg.vcf.gz
grep -v '^#' out | cut -f3 > r1.ids
run 0 "score-variants -R (BED)" -- "$H" score-variants -m "$M" -f rg.fa -R reg.bed -O t rg.bcf
[ "$(cat r1.ids)" = "$(grep -v '^#' out | cut -f3)" ] && [ "$(bcftools view -H -R reg.bed rg.vcf.gz | cut -f3)" = "$(cat r1.ids)" ] && ok || bad "score-variants -R: $(tr '\n' ' ' < r1.ids)"
for t in c1:200-490,c2 ^c1:200-490,c2; do
  run 0 "score-variants -t $t (standard input)" -- sh -c "'$H' score-variants -m '$M' -f rg.fa -t '$t' -O t - < rg.vcf"
  [ "$(grep -v '^#' out | cut -f3)" = "$(bcftools view -H -t "$t" rg.vcf.gz | cut -f3)" ] && ok || bad "score-variants -t $t: $(grep -v '^#' out | cut -f3 | tr '\n' ' ')"
done
run 0 "score-variants -T ^FILE" -- "$H" score-variants -m "$M" -f rg.fa -T ^reg.bed -O t rg.vcf
[ "$(grep -v '^#' out | cut -f3)" = "$(bcftools view -H -T ^reg.bed rg.vcf.gz | cut -f3)" ] && ok || bad "score-variants -T ^FILE"
# --shard over the records of the regions: the parts joined are the regions' records
: > sh.ids
for i in 1 2 3; do
  run 0 "score-variants -r --shard $i/3" -- "$H" score-variants -m "$M" -f rg.fa -r $reg --shard $i/3 -O t rg.vcf.gz
  grep -v '^#' out | cut -f3 >> sh.ids
done
[ "$(cat sh.ids)" = "$(bcftools view -H -r $reg rg.vcf.gz | cut -f3)" ] && ok || bad "score-variants -r --shard: $(tr '\n' ' ' < sh.ids)"
run 1 "score-variants -r, no index" -- "$H" score-variants -m "$M" -f rg.fa -r c1 rg.vcf
has "$tmp/err" "option -r: 'rg.vcf' is not bgzip-compressed, so it has no index for regions" "-r on a plain VCF"
bgzip -c rg.vcf > noidx.vcf.gz
run 1 "score-variants -r, bgzipped without an index" -- "$H" score-variants -m "$M" -f rg.fa -r c1 noidx.vcf.gz
has "$tmp/err" "'noidx.vcf.gz' has no index (.tbi or .csi beside it)" "-r without an index"
run 1 "score-variants -r, standard input" -- sh -c "'$H' score-variants -m '$M' -f rg.fa -r c1 - < rg.vcf.gz"
has "$tmp/err" "use targets (-t/-T)" "-r on standard input"
run 1 "score-variants -r, unknown contig" -- "$H" score-variants -m "$M" -f rg.fa -r c9 rg.vcf.gz
has "$tmp/err" "option -r: region 'c9': no sequence named 'c9' in rg.fa" "-r unknown contig"
# an index older than its file (the file rewritten after indexing: here the c2 records dropped) reads
# nothing for c2 without an error: a warning names it, as htslib's
for in in rg.vcf.gz rg.bcf; do
  ext=tbi; case $in in *.bcf) ext=csi;; esac
  ot=z; [ $ext = csi ] && ot=b; grep -v c2_ rg.vcf | bcftools view -O$ot -o "st.$in"
  cp "$in.$ext" "st.$in.$ext"; touch -d 2000-01-01 "st.$in.$ext"
  "$H" score-variants -m "$M" -f rg.fa -r c2:1500-1700 -O t "st.$in" >"$tmp/out" 2>"$tmp/err"
  has "$tmp/err" "warning: the index 'st.$in.$ext' is older than 'st.$in'" "-r with a stale index of $in"
done
touch rg.vcf.gz.tbi
run 0 "score-variants -r, an index newer than its file" -- "$H" score-variants -m "$M" -f rg.fa -r c1 -O t rg.vcf.gz
hasnt "$tmp/err" "is older than" "-r with a fresh index"
run 1 "score-variants -t and -T" -- "$H" score-variants -m "$M" -f rg.fa -t c1 -T reg.bed rg.vcf.gz
run 1 "score-variants --all-snvs -t" -- "$H" score-variants -m "$M" -f rg.fa --all-snvs -r c1:1-10 -t c1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
