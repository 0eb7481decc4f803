#!/usr/bin/env bash
# test_track.sh -- `hyenadna track` on real DNA with the bundled default model (data/): its SNV table equals
# `score-variants --all-snvs --score prefix` with the same chunking (forward, --rc, a region whose chunks
# start O bases before it; with --overlap 0 but at the chunk ends, where score-variants has window-mode rows), gaps at the first base of a contig (and the last with --rc) and at N, contigs
# in name order, shards merged equal one run byte for byte (bigWig, bedGraph, tables; empty shards too),
# identical outputs for 1 and 2 threads, masked and unmasked modes of a masked model and the Evo 2 fixture
# (byte tokens) equal score-variants' (also around IUPAC codes; a reference character that is not a base is an
# error), progress on stderr.  (Values against `forward --logits` and the
# bigWig contents: test_track_values.sh.)
. "$(dirname "$0")/../lib.sh"
need bgzip tabix
M="$S/data/models/default"
cd "$tmp" || exit 1

# a FASTA of real human DNA (data/example.fa tiles chr22:20,000,001-20,100,000 in 1-kb records):
# w1 = 3 kb, w2 = 1 kb with 30 N at 401-430, Aaa = 700 bp (first in name order, last in the file)
rec() { awk -v a="$1" -v b="$2" '/^>/{n++; next} n >= a && n <= b' "$S/data/example.fa" | tr -d '\n'; }
fa() { printf '>%s\n' "$1"; fold -w 60; echo; }
rec 1 3 | fa w1 > ref.fa
rec 4 4 | awk '{print substr($0,1,400) "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNN" substr($0,431)}' | tr -d '\n' | fa w2 >> ref.fa
rec 5 5 | cut -c1-700 | tr -d '\n' | fa Aaa >> ref.fa

run() { "$H" track -m "$M" -f ref.fa "$@" 2>>log.txt; }
# table body of score-variants --all-snvs (TSV) in track's columns: chrom pos ref alt llr
sv_rows() { "$H" score-variants -m "$M" --all-snvs --no-edist -O t "$@" 2>>log.txt | grep -v '^#' | cut -f1,2,4,5,6; }
tab_rows() { bgzip -dc "$1" | grep -v '^#'; }

# ---- the SNV table equals score-variants --all-snvs --score prefix with the same chunking
for opts in "--chunk 1026 --overlap 513" "--chunk 300 --overlap 100" "--chunk 300 --overlap 100 --rc"; do
  # a region inside w1 (chunks from O bases before it) and the whole of w1 (chunks from its start)
  for reg in w1:1201-2900 w1; do
    run $opts -r "$reg" --what llr -o sv || { bad "track $opts -r $reg failed"; continue; }
    want=$(sv_rows -f ref.fa --score prefix $opts -r "$reg" | awk -v rc="$(echo "$opts" | grep -c rc)" \
           '$2 != 1 && !(rc == 1 && $2 == 3000)')   # track leaves the first (with --rc the last) base a gap
    got=$(tab_rows sv.snv.tsv.gz)
    [ -n "$got" ] && [ "$got" = "$want" ] && ok || { bad "SNV table ($opts -r $reg) differs from score-variants"; diff <(echo "$want") <(echo "$got") | head -4; }
  done
done
# ... and with --overlap 0 equals it except at the bases hyenadna-track(1) names, where score-variants has
# window-mode rows and track a gap: each chunk's first base (the contig's or the region's first base
# included) and, with --rc, each chunk's last base (the contig's last base included); chunks of C = 300
# from the contig start, or from the region's first base
for opts in "--chunk 300 --overlap 0" "--chunk 300 --overlap 0 --rc"; do
  for reg in w1:1201-2900 w1; do
    run $opts -r "$reg" --what llr -o sv0 || { bad "track $opts -r $reg failed"; continue; }
    s0=$(echo "$reg" | awk -F'[:-]' '{print $2 ? $2 : 1}')
    all=$(sv_rows -f ref.fa --score prefix $opts -r "$reg")
    gap() { awk -v s="$s0" -v rc="$(echo "$opts" | grep -c rc)" -v keep="$1" \
            '{ d = $2 - s; g = d % 300 == 0 || (rc == 1 && (d + 1) % 300 == 0) } g != keep'; }
    want=$(echo "$all" | gap 1); gaps=$(echo "$all" | gap 0 | cut -f2 | uniq | tr '\n' ' ')
    got=$(tab_rows sv0.snv.tsv.gz)
    [ -n "$got" ] && [ "$got" = "$want" ] && ok || { bad "--overlap 0 SNV table ($opts -r $reg) differs from score-variants but at chunk ends"; diff <(echo "$want") <(echo "$got") | head -4; }
    case "$opts $reg" in *rc\ w1) nexp=20;; *rc\ w1:*) nexp=11;; *\ w1) nexp=10;; *) nexp=6;; esac
    n=$(echo "$gaps" | wc -w)
    [ "$n" -eq "$nexp" ] && ok || bad "--overlap 0 ($opts -r $reg): score-variants' window-mode rows at $n bases ($gaps), expected $nexp"
  done
done
# ... on the bundled example reference too (bgzip FASTA, real coordinates), with the defaults of both
# (C = 1026, O = C/2: score-variants' default overlap was W/2 = 512, other chunks, other values)
"$H" track -m "$M" -f "$S/data/example_ref.fa.gz" -r 22:20000001-20002500 --what llr -o ex 2>>log.txt
want=$("$H" score-variants -m "$M" --all-snvs --no-edist -O t -f "$S/data/example_ref.fa.gz" --score prefix \
       -r 22:20000001-20002500 2>>log.txt | grep -v '^#' | cut -f1,2,4,5,6)
[ "$(tab_rows ex.snv.tsv.gz | wc -l)" -eq 7500 ] && [ "$(tab_rows ex.snv.tsv.gz)" = "$want" ] && ok || bad "example_ref SNV table differs from score-variants"
tabix ex.snv.tsv.gz 22:20001000-20001000 | awk 'END{exit NR != 3}' && ok || bad "tabix query of the SNV table"
bgzip -dc ex.snv.tsv.gz | grep '^#' | tail -1 | grep -qx '#chrom	pos	ref	alt	llr' && ok || bad "SNV table header line"

# ---- gaps (bedGraph text): the first base of each contig, N, with --rc the last base too; name order
run --what logp -O bedgraph -o g || bad "bedgraph run failed"
bgzip -dc g.logp.bedgraph.gz | grep -v '^#' > g.txt
[ "$(cut -f1 g.txt | uniq | tr '\n' ' ')" = "Aaa w1 w2 " ] && ok || bad "contigs not in name order: $(cut -f1 g.txt | uniq | tr '\n' ' ')"
awk '$2 == 0' g.txt | grep -q . && bad "a value at the first base of a contig" || ok
awk '$1 == "w2" && $2 >= 400 && $2 < 430' g.txt | grep -q . && bad "a value at N" || ok
n=$(wc -l < g.txt); [ "$n" -eq $((699 + 2999 + 969)) ] && ok || bad "bedGraph has $n values, expected $((699 + 2999 + 969))"
awk '$3 != $2 + 1 || $4 > 0' g.txt | grep -q . && bad "bedGraph lines not one base each, or logp > 0" || ok
tabix g.logp.bedgraph.gz w1:100-109 | awk 'END{exit NR != 10}' && ok || bad "tabix query of the bedGraph"
run --what logp -O bedgraph --rc -o grc || bad "--rc bedgraph run failed"
bgzip -dc grc.logp.bedgraph.gz | grep -v '^#' > grc.txt
awk '($1 == "w1" && $2 == 2999) || ($1 == "Aaa" && $2 == 699) || $2 == 0' grc.txt | grep -q . && bad "--rc: a value at a contig end" || ok
[ "$(wc -l < grc.txt)" -eq $((n - 3)) ] && ok || bad "--rc bedGraph has $(wc -l < grc.txt) values, expected $((n - 3))"
cmp -s g.txt grc.txt && bad "--rc changed nothing" || ok
# a chunk of 1 base in prefix mode would leave every base a gap (exit 0, empty tracks): refused naming --chunk;
# a chunk of 2 with --overlap 1 gives every base but the first of each contig a value
run --chunk 1 --overlap 0 --what logp -O bedgraph -o c1; st=$?
[ $st -eq 1 ] && grep -q 'option --chunk: 1 base leaves every base without a value in prefix mode' log.txt && ! ls c1.* >/dev/null 2>&1 \
  && ok || bad "--chunk 1 (prefix): status $st, $(tail -1 log.txt)"
run -r w2:1-60 --chunk 2 --overlap 1 --what logp -O bedgraph -o c2 && [ "$(bgzip -dc c2.logp.bedgraph.gz | grep -vc '^#')" -eq 59 ] \
  && ok || bad "--chunk 2 --overlap 1: not 59 values on 60 bases"

# ---- shards merged = one run, byte for byte
run --what all -o one || bad "single run failed"
for N in 3 7; do
  parts=()
  for i in $(seq 1 $N); do run --what all --shard $i/$N -o p$N.$i || bad "shard $i/$N failed"; parts+=(p$N.$i); done
  "$H" track --merge m$N "${parts[@]}" 2>>log.txt || bad "--merge of $N parts failed"
  for f in one.*; do cmp -s "$f" "m$N${f#one}" && ok || bad "$N shards merged: ${f#one.} differs from the single run"; done
done
[ "$(ls one.* | wc -l)" -eq 9 ] && ok || bad "expected 7 bigWigs + table + index, got $(ls one.* | tr '\n' ' ')"
# a region of only N has no values: the bigWig's summary is min = max = 0 with no bases covered, as the UCSC
# writers leave it (libBigWig left DBL_MAX / DBL_MIN, which browsers take as the track's range)
{ echo '>nn'; printf 'N%.0s' $(seq 200); echo; } > nn.fa
"$H" track -m "$M" -f nn.fa --what logp -o nn 2>>log.txt || bad "all-N run failed"
summ=$(od -An -j "$(od -An -t u8 -j 44 -N 8 nn.logp.bw | tr -d ' ')" -N 24 -t u8 nn.logp.bw | tr -s ' \n' ' ')
[ "$(echo $summ)" = "0 0 0" ] && ok || bad "all-N bigWig summary (bases, min, max as u64): $summ"
# more shards than bases: empty shards write empty tracks that merge away
run -r w1:10-13 --what logp,llr -o tiny || bad "tiny run failed"
parts=(); for i in 1 2 3 4 5 6; do run -r w1:10-13 --what logp,llr --shard $i/6 -o tp.$i; parts+=(tp.$i); done
"$H" track --merge tm "${parts[@]}" 2>>log.txt && cmp -s tiny.logp.bw tm.logp.bw && cmp -s tiny.snv.tsv.gz tm.snv.tsv.gz && ok \
  || bad "6 shards of 4 bases merged differ from one run"
run -O bedgraph --what entropy,llr -o bg1 && run -O bedgraph --what entropy,llr --shard 1/2 -o bgp1 && run -O bedgraph --what entropy,llr --shard 2/2 -o bgp2 \
  && "$H" track --merge bgm bgp1 bgp2 2>>log.txt || bad "bedgraph shards failed"
for f in bg1.*; do cmp -s "$f" "bgm${f#bg1}" && ok || bad "bedGraph shards merged: ${f#bg1.} differs"; done
"$H" track --merge bad p3.2 p3.1 2>err.txt && bad "--merge accepted parts out of order" || { grep -q "shard order" err.txt && ok || bad "out-of-order parts: $(cat err.txt)"; }
# ... bedGraph and table parts likewise, naming the part (htslib said 'Chromosome blocks not continuous', then
# 'cannot build the tabix index' of the output); a part given twice
"$H" track --merge bad bgp2 bgp1 2>err.txt && bad "--merge accepted bedGraph parts out of order" \
  || { grep -q "bgp1.entropy.bedgraph.gz: .*shard order" err.txt && ! grep -q 'tabix\|E::' err.txt && ok || bad "out-of-order bedGraph parts: $(cat err.txt)"; }
"$H" track --merge bad bgp1 bgp2 bgp2 2>err.txt && bad "--merge accepted a bedGraph part twice" || { grep -q "bgp2.entropy.bedgraph.gz: .*shard order" err.txt && ok || bad "bedGraph part twice: $(cat err.txt)"; }
# parts of runs with other options are refused before any output, naming the part and both runs' options
# (the text outputs' '#' lines record them; the model by its name, wherever a task saw it)
run -O bedgraph --what entropy,llr --chunk 500 --shard 2/2 -o bgq2 || bad "bedgraph shard (--chunk 500) failed"
"$H" track --merge bad bgp1 bgq2 2>err.txt; st=$?
[ $st -eq 1 ] && grep -q "part 2: 'bgq2.entropy.bedgraph.gz' was made by another run .*chunk=500, overlap=250.* not .*chunk=1026" err.txt \
  && ! ls bad.* >/dev/null 2>&1 && ok || bad "--merge of parts with other --chunk: status $st, $(cat err.txt)"
run --what all --overlap 100 --shard 3/3 -o p3o || bad "shard with --overlap 100 failed"
"$H" track --merge bad p3.1 p3.2 p3o 2>err.txt; st=$?
[ $st -eq 1 ] && grep -q "part 3: 'p3o.snv.tsv.gz' was made by another run.*overlap=100" err.txt && ! ls bad.* >/dev/null 2>&1 && ok \
  || bad "--merge of bigWig parts with another --overlap (its SNV table): status $st, $(cat err.txt)"
mkdir -p elsewhere && "$H" track -m "$M/" -f ref.fa -O bedgraph --what entropy,llr --shard 2/2 -o elsewhere/bgp2 2>>log.txt \
  && "$H" track --merge bgm2 bgp1 elsewhere/bgp2 2>>log.txt && cmp -s bgm.entropy.bedgraph.gz bgm2.entropy.bedgraph.gz && ok \
  || bad "parts of one run with the model given as another path (a trailing /) not merged as one run"
# a part cut short (libBigWig crashed on one cut after its header): an error naming it, status 1
mkdir -p cut && for f in p3.2.*; do cp "$f" "cut/${f#p3.2.}"; done
for f in cut/*.bw; do head -c 100 "$f" > "$f.x" && mv "$f.x" "$f"; done
mv cut p3cut; for f in p3cut/*; do mv "$f" "p3cut.${f#p3cut/}"; done; rmdir p3cut
"$H" track --merge cm p3.1 p3cut p3.3 2>err.txt; st=$?
[ $st -eq 1 ] && grep -q "p3cut.*truncated" err.txt && ok || bad "--merge of a truncated part: status $st, $(cat err.txt)"

# ---- the thread count changes nothing; progress is reported on request
run --what all -@ 1 -o t1 && "$H" track -m "$M" -f ref.fa --what all -@ 2 --progress -o t2 2>prog.txt || bad "thread runs failed"
for f in t1.*; do cmp -s "$f" "t2${f#t1}" && ok || bad "1 vs 2 threads: ${f#t1.} differs"; done
tr '\r' '\n' < prog.txt | grep -q '^hyenadna track: .*bases/s' && grep -q $'\r' prog.txt && ok \
  || bad "no progress line (rewritten in place) with --progress: $(head -c 200 prog.txt)"

# ---- a masked model (Caduceus fixture): masked and unmasked SNV tables equal score-variants'
CA="$T/caduceus-ph"
# (unmasked --chunk 300 with the default overlap of both, C/2)
for mode in "unmasked --chunk 300 --overlap 100" "unmasked --chunk 300" "masked -w 64"; do
  "$H" track -m "$CA" -f ref.fa -r w1:901-1000 --score $mode --what llr,logp -o ca 2>>log.txt || { bad "caduceus $mode failed"; continue; }
  want=$("$H" score-variants -m "$CA" --all-snvs --no-edist -O t -f ref.fa -r w1:901-1000 --score $mode 2>>log.txt | grep -v '^#' | cut -f1,2,4,5,6)
  [ "$(tab_rows ca.snv.tsv.gz | wc -l)" -eq 300 ] && [ "$(tab_rows ca.snv.tsv.gz)" = "$want" ] && ok || bad "caduceus --score $mode differs from score-variants"
done

# ---- a model with its own token ids (Evo 2's bytes, the fixture): the table still equals score-variants'
E2="$T/evo2-tiny"
if [ -s "$E2/model.pt" ]; then
  "$H" track -m "$E2" -f ref.fa -r w1:201-1400 --what llr,logp --chunk 256 -o e2 2>>log.txt || bad "evo2 track failed"
  want=$("$H" score-variants -m "$E2" --all-snvs --no-edist -O t -f ref.fa -r w1:201-1400 --score prefix --chunk 256 --overlap 128 \
         2>>log.txt | grep -v '^#' | cut -f1,2,4,5,6)
  [ "$(tab_rows e2.snv.tsv.gz | wc -l)" -eq 3600 ] && [ "$(tab_rows e2.snv.tsv.gz)" = "$want" ] && ok || bad "evo2 SNV table differs from score-variants"
fi

# ---- IUPAC codes and characters that are not bases in the reference, as score-variants reads them: a base
# whose chunk (or masked window) holds an IUPAC code other than N gets no value, as score-variants leaves it
# unscored (track read R as N: values where score-variants has none, and Evo 2 fed 'N' for its byte R); a
# character that is not a base is the error every command gives (track read it as N, exit 0)
rec 1 2 | awk '{print substr($0,1,700) "R" substr($0,702,700) "y" tolower(substr($0,1403,30)) "n" substr($0,1434)}' | tr -d '\n' | fa iu > iu.fa
for m in "$M --chunk 300 --overlap 100" "$M --chunk 300 --overlap 100 --rc" "$T/caduceus-ph --score unmasked --chunk 300 --overlap 100" \
         "$T/caduceus-ph --score masked -w 64" "$T/evo2-tiny --chunk 256 --overlap 128"; do
  set -- $m
  [ -s "$1/config.json" ] || [ -s "$1/model.pt" ] || continue
  reg=iu:601-1500; case "$m" in *masked\ -w*) reg=iu:661-740;; esac
  "$H" track -m $m -f iu.fa -r $reg --what llr,logp -o iu 2>>log.txt || { bad "track -m $m on IUPAC codes failed"; continue; }
  mode=prefix; case "$m" in *--score*) mode=;; esac
  want=$("$H" score-variants -m $m ${mode:+--score $mode} --all-snvs --no-edist -O t -f iu.fa -r $reg 2>>log.txt | grep -v '^#' | cut -f1,2,4,5,6 | awk '$5 != "."')
  got=$(tab_rows iu.snv.tsv.gz)
  gaps=$(bgzip -dc iu.snv.tsv.gz | grep -vc '^#' | awk -v r="$reg" '{split(r, a, "[:-]"); print (a[3] - a[2] + 1) * 3 - $1}')
  [ -n "$got" ] && [ "$got" = "$want" ] && [ "$gaps" -gt 30 ] && ok \
    || { bad "-m $m: SNV table around IUPAC codes differs from score-variants ($gaps rows missing)"; diff <(echo "$want") <(echo "$got") | head -4; }
done
rec 1 1 | awk '{print substr($0,1,450) "5" substr($0,452)}' | tr -d '\n' | fa bad > bad.fa
"$H" track -m "$M" -f bad.fa -r bad:401-500 --chunk 300 --overlap 100 -o badref 2>err.txt; rc=$?
[ $rc -eq 1 ] && grep -q "bad.fa: invalid character '5' in record 'bad' at position 451" err.txt && [ -z "$(ls badref.* 2>/dev/null)" ] && ok \
  || bad "a '5' in the reference: exit $rc, left $(ls badref.* 2>/dev/null), $(cat err.txt)"

# ---- a contig longer than 2^29 (plants, amphibians): the tables index with a .csi, which tabix finds (a
# .tbi cannot hold the positions: the run failed at the end); shards merged too.  The contig is 2^29 N
# (65,536-base lines, a 1-MB bgzip file) then 70 bases of DNA; below 2^29 a table keeps its .tbi
l=$(head -c 65536 /dev/zero | tr '\0' N)
{ echo '>big'; yes "$l" | head -n 8192; rec 1 1 | cut -c1-70; } | bgzip -l 1 > big.fa.gz
big() { "$H" track -m "$M" -f big.fa.gz --what logp,llr -O bedgraph "$@" 2>>log.txt; }
big -r big:536870901-536870982 -o b29 || bad "track beyond 2^29 failed"
for f in b29.snv.tsv.gz b29.logp.bedgraph.gz; do
  [ -s $f.csi ] && [ ! -e $f.tbi ] && ok || bad "$f beyond 2^29: no .csi index: $(ls b29.*)"
done
[ "$(tabix b29.snv.tsv.gz big:536870950-536870950 | wc -l)" -eq 3 ] && ok || bad "tabix query of the SNV table beyond 2^29"
[ "$(tabix b29.logp.bedgraph.gz big:536870950-536870950 | cut -f2)" = 536870949 ] && ok || bad "tabix query of the bedGraph beyond 2^29"
grep -q "b29.snv.tsv.gz: a record reaches beyond position 536870912, which a .tbi index cannot hold: writing a .csi index" log.txt \
  && ok || bad "no warning of the .csi index"
big -r big:536870901-536870982 --shard 1/2 -o b29p1 && big -r big:536870901-536870982 --shard 2/2 -o b29p2 \
  && "$H" track --merge b29m b29p1 b29p2 2>>log.txt || bad "shards beyond 2^29 failed"
for f in b29.*; do cmp -s "$f" "b29m${f#b29}" && ok || bad "shards beyond 2^29 merged: ${f#b29.} differs"; done
cp b29.snv.tsv.gz.csi b28.snv.tsv.gz.csi   # a stale index of the other kind, left by an earlier run: removed
big -r big:536870800-536870900 -o b28 || bad "track below 2^29 failed"
[ -s b28.snv.tsv.gz.tbi ] && [ ! -e b28.snv.tsv.gz.csi ] && ok || bad "a table below 2^29: not a .tbi: $(ls b28.*)"

# ---- regions files as browsers and bedtools write them: browser/track/# lines, extra columns, CRLF,
# unsorted and overlapping intervals: each base of their union once, in order; a file with no regions
# is an error naming it (it named the FASTA: "'ref.fa' has no bases"); a prefix ending in '/' is refused
# (it wrote the hidden files DIR/.logp.bw)
printf 'browser position w1:1-100\r\ntrack name=t\r\n# comment\r\nw2\t5\t9\tx\t0\t+\r\nw1\t150\t300\tb\r\nw1\t100\t200\ta\r\n\r\nw2\t7\t12\r\n' > odd.bed
run --what logp -O bedgraph -R odd.bed -o odd || bad "track -R odd.bed failed"
want=$(printf 'w1\t%d\n' $(seq 100 299); printf 'w2\t%d\n' $(seq 5 11))
[ "$(bgzip -dc odd.logp.bedgraph.gz | grep -v '^#' | cut -f1,2)" = "$want" ] && ok || bad "odd.bed: not each base of the union once"
printf 'track name=t\n# nothing\n\n' > empty.bed
"$H" track -m "$M" -f ref.fa -R empty.bed -o none 2>err.txt; rc=$?
[ $rc -eq 1 ] && grep -q "empty.bed" err.txt && ! grep -q "ref.fa" err.txt && ok || bad "a BED with no regions: exit $rc, $(cat err.txt)"
"$H" track -m "$M" -f ref.fa -r '' -o none 2>err.txt; rc=$?
[ $rc -eq 1 ] && grep -q "option -r" err.txt && ok || bad "-r '': exit $rc, $(cat err.txt)"
[ -z "$(ls none.* 2>/dev/null)" ] && ok || bad "failed runs left $(ls none.*)"
mkdir -p dir
"$H" track -m "$M" -f ref.fa -r w1:1-50 -o dir/ 2>err.txt; rc=$?
[ $rc -eq 1 ] && grep -q "ends in '/'" err.txt && [ -z "$(ls -A dir)" ] && ok || bad "-o dir/: exit $rc, left $(ls -A dir), $(cat err.txt)"
"$H" track --merge dir/ p3.1 p3.2 p3.3 2>err.txt; rc=$?
[ $rc -eq 1 ] && [ -z "$(ls -A dir)" ] && ok || bad "--merge dir/: exit $rc, left $(ls -A dir)"

finish
