#!/usr/bin/env bash
# test_robust.sh -- stdout closed early ends every subcommand quietly (status 0 or 141, no crash, no error
# message; convert writes a directory, not a stream), and outputs are byte-identical with 1 and N threads
# for every fixture family (and, for embed, every batch size).
# Run by `make check` with HYENADNA and TESTDATA set.
. "$(dirname "$0")/../lib.sh"

# a reference and variants on it, a labelled training set
printf '>chr1\n' > "$tmp/ref.fa"
awk 'BEGIN{srand(7); for(l=0;l<20;l++){s=""; for(i=0;i<60;i++) s=s substr("ACGT",int(rand()*4)+1,1); print s}}' >> "$tmp/ref.fa"
{ printf '##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1200>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n'
  for p in 5 100 333 600 1100; do
    b=$(awk -v p=$p 'NR>1{s=s $0} END{print substr(s,p,1)}' "$tmp/ref.fa"); a=A; [ "$b" = A ] && a=G
    printf 'chr1\t%d\t.\t%s\t%s\t.\t.\t.\n' $p "$b" "$a"; done; } > "$tmp/v.vcf"
awk 'BEGIN{srand(11); for(r=0;r<12;r++){s=""; for(i=0;i<80;i++) s=s substr(r<6?"AACGT":"CGGTT",int(rand()*5)+1,1);
  printf ">r%d label=%s\n%s\n", r, (r<6?"a":"b"), s}}' > "$tmp/train.fa"
awk 'BEGIN{srand(5); for(r=0;r<40;r++){s=""; for(i=0;i<300;i++) s=s substr("ACGT",int(rand()*4)+1,1); printf ">q%d\n%s\n", r, s}}' > "$tmp/many.fa"

# ------------------------------------------------------------------ stdout closed early
early() {   # DESCRIPTION -- command...
  local what=$1; shift 2
  ( "$@" 2>"$tmp/err"; echo $? > "$tmp/rc" ) | head -c 10 > /dev/null
  local rc; rc=$(cat "$tmp/rc")
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 141 ]; then bad "$what | head -c 10: exit $rc"; sed 's/^/    /' "$tmp/err" | head -3; return; fi
  if grep -qiE 'error|sanitizer|segmentation|abort' "$tmp/err"; then bad "$what | head -c 10: $(head -2 "$tmp/err")"; return; fi
  ok
}
HY=$T/hyenadna-tiny
early "info"            -- "$H" info -m "$HY"
early "forward"         -- "$H" forward -m "$HY" "$tmp/many.fa"
early "embed"           -- "$H" embed -m "$HY" "$tmp/many.fa"
early "embed safetensors" -- "$H" embed -m "$HY" -O safetensors "$tmp/many.fa"
early "score-variants"  -- "$H" score-variants -m "$HY" -f "$tmp/ref.fa" "$tmp/v.vcf"
early "score-variants --all-snvs" -- "$H" score-variants -m "$HY" -f "$tmp/ref.fa" --all-snvs -r chr1:1-200
early "classify"        -- "$H" classify -m "$HY" --method centroid -t "$tmp/train.fa" "$tmp/many.fa"

# ------------------------------------------------------------------ a full disk: exit 2, the output named
# (standard output as "standard output", as in every other message, not "-")
if [ -c /dev/full ]; then
  full() {   # DESCRIPTION WHAT -- command (writing to standard output, or to -o /dev/full)
    local what=$1 name=$2; shift 3
    "$@" > /dev/full 2>"$tmp/err"; local rc=$?
    if [ $rc -eq 2 ] && grep -q "^hyenadna [a-z-]*: $name: write failed: No space left on device" "$tmp/err"; then ok
    else bad "$what on a full disk: exit $rc: $(head -2 "$tmp/err")"; fi
  }
  full "embed > /dev/full"          "standard output" -- "$H" embed -m "$HY" "$tmp/many.fa"
  full "forward > /dev/full"        "standard output" -- "$H" forward -m "$HY" "$tmp/many.fa"
  full "score-variants > /dev/full" "standard output" -- "$H" score-variants -m "$HY" -f "$tmp/ref.fa" "$tmp/v.vcf"
  full "classify > /dev/full"       "standard output" -- "$H" classify -m "$HY" --method centroid -t "$tmp/train.fa" "$tmp/many.fa"
  full "embed -o /dev/full"         "/dev/full"       -- "$H" embed -m "$HY" -o /dev/full "$tmp/many.fa"
fi

# ------------------------------------------------------------------ 1 vs N threads: byte-identical
same() {   # DESCRIPTION OUTNAME -- command with @THR@ and @OUT@...
  local what=$1 name=$2; shift 3
  local t a cmd
  for t in 1 3; do
    cmd=(); for a in "$@"; do a=${a//@THR@/$t}; cmd+=("${a//@OUT@/$tmp/$name.$t}"); done
    if ! "${cmd[@]}" 2>"$tmp/err"; then bad "$what -@$t failed: $(head -2 "$tmp/err")"; return; fi
  done
  if cmp -s "$tmp/$name.1" "$tmp/$name.3" && [ -s "$tmp/$name.1" ]; then ok; else bad "$what: output differs between -@1 and -@3"; fi
}
for fam in hyenadna-tiny caduceus-ph xlstm-slstm; do
  M=$T/$fam
  same "forward $fam" fw.$fam -- "$H" forward -m "$M" -@ @THR@ --logits -o @OUT@ "$tmp/many.fa"
  same "embed $fam" em.$fam -- "$H" embed -m "$M" -@ @THR@ -o @OUT@ "$tmp/many.fa"
  case $fam in hyenadna*) mode=window;; *) mode=masked;; esac
  same "score-variants $fam" sv.$fam -- "$H" score-variants -m "$M" -@ @THR@ -s $mode --no-version -f "$tmp/ref.fa" -o @OUT@ "$tmp/v.vcf"
  same "classify $fam" cl.$fam -- "$H" classify -m "$M" -@ @THR@ --method logistic -t "$tmp/train.fa" -o @OUT@ "$tmp/many.fa"
done
same "classify context hyenadna-tiny" clc -- "$H" classify -m "$HY" -@ @THR@ --method context -t "$tmp/train.fa" -o @OUT@ "$tmp/many.fa"

# ------------------------------------------------------------------ embed batch sizes: byte-identical
# (the default model; a batch runs its sequences one per thread, src/workers.h): -b 1 on one thread is the
# sequences one at a time, each other (threads, batch size) must give the same bytes, for mean-pooled TSV
# and per-base safetensors rows, from FASTA and from a SAM of the same reads
D=$S/data/models/default
awk 'BEGIN{srand(3); printf "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:100000\n";
  for(r=0;r<30;r++){L=20+int(rand()*180); s=""; for(i=0;i<L;i++) s=s substr("ACGT",int(rand()*4)+1,1);
  printf "s%d\t0\tchr1\t%d\t60\t%dM\t*\t0\t0\t%s\t*\n", r, 1+r*100, L, s}}' > "$tmp/reads.sam"
for inp in many.fa reads.sam; do
  for fmt in tsv safetensors; do
    pool=mean; [ $fmt = safetensors ] && pool=none
    if ! "$H" embed -m "$D" -@ 1 -b 1 --pool $pool -O $fmt -o "$tmp/eb.ref" "$tmp/$inp" 2>"$tmp/err"; then
      bad "embed $inp $fmt -@1 -b1 failed: $(head -2 "$tmp/err")"; continue; fi
    for tb in "2 3" "2 64" "3 7" "2 "; do
      set -- $tb
      if ! "$H" embed -m "$D" -@ "$1" ${2:+-b "$2"} --pool $pool -O $fmt -o "$tmp/eb.out" "$tmp/$inp" 2>"$tmp/err"; then
        bad "embed $inp $fmt -@$1 -b${2:-default} failed: $(head -2 "$tmp/err")"
      elif cmp -s "$tmp/eb.ref" "$tmp/eb.out" && [ -s "$tmp/eb.ref" ]; then ok
      else bad "embed $inp $fmt: -@$1 -b${2:-default} differs from -@1 -b1"; fi
    done
  done
done

# ------------------------------------------------------------------ interrupted runs leave nothing behind
awk 'BEGIN{srand(9); for(r=0;r<400;r++){s=""; for(i=0;i<1000;i++) s=s substr("ACGT",int(rand()*4)+1,1); printf ">b%d\n%s\n", r, s}}' > "$tmp/big.fa"
interrupted() {   # DESCRIPTION -- command with @OUT@ (a fresh directory)
  local what=$1; shift 2
  local o=$tmp/int.$RANDOM; mkdir -p "$o"
  local cmd=() a; for a in "$@"; do cmd+=("${a//@OUT@/$o}"); done
  "${cmd[@]}" 2>/dev/null & local pid=$! i
  for i in $(seq 100); do [ -n "$(ls -A "$o")" ] && break; sleep 0.05; done
  kill -TERM $pid 2>/dev/null; wait $pid; local rc=$?
  if [ $rc -ne 143 ]; then bad "$what: interrupted run exited $rc, expected 143 (did it finish first?)"; return; fi
  if [ -n "$(ls -A "$o")" ]; then bad "$what: interrupted run left $(ls -A "$o")"; return; fi
  ok
}
interrupted "forward"        -- "$H" forward -@1 -m "$HY" -o @OUT@/x.st "$tmp/big.fa"
interrupted "embed"          -- "$H" embed -@1 -m "$HY" -o @OUT@/x.tsv "$tmp/big.fa"
interrupted "score-variants" -- "$H" score-variants -@1 -m "$HY" --all-snvs -f "$tmp/big.fa" -r b1 -o @OUT@/x.vcf.gz
interrupted "classify"       -- "$H" classify -@1 -m "$HY" --method knn -t "$tmp/train.fa" -o @OUT@/x.tsv "$tmp/big.fa"
# convert fills a temporary directory OUT.tmp.XXXXXX (a 240 MB task head makes it last long enough to catch)
if python3 "$S/tests/make_big_ckpt.py" "$HY/model.safetensors" "$tmp/big.pt" 60000000; then
  interrupted "convert -o DIR"   -- "$H" convert -c "$HY/config.json" -o @OUT@/m "$tmp/big.pt"
  interrupted "convert -o FILE"  -- "$H" convert -c "$HY/config.json" -o @OUT@/m.safetensors "$tmp/big.pt"
  rm -f "$tmp/big.pt"
else bad "make_big_ckpt.py failed"; fi

# plot --png: the SVG, PNG and message files it gives rsvg-convert in $TMPDIR go too, and rsvg-convert is
# killed first (else it writes its PNG again after them): a stand-in that writes its -o file, says it has
# started, then waits
mkdir -p "$tmp/fakersvg" "$tmp/plt"
printf '#!/bin/sh\necho partial > "$4"; echo $$ > "$RSVG_MARK"; exec sleep 60\n' > "$tmp/fakersvg/rsvg-convert"
chmod +x "$tmp/fakersvg/rsvg-convert"
"$H" score-variants -@1 -m "$HY" --all-snvs --score prefix -f "$tmp/big.fa" -r b1:1-30 -O t -o "$tmp/sat.tsv" 2>/dev/null \
  || bad "score-variants for plot --png failed"
TMPDIR=$tmp/plt PATH=$tmp/fakersvg:$PATH RSVG_MARK=$tmp/rsvg.pid "$H" plot --snv "$tmp/sat.tsv" -r b1:1-30 \
  -o "$tmp/plt/x.png" 2>/dev/null & pid=$!
for i in $(seq 200); do [ -s "$tmp/rsvg.pid" ] && break; sleep 0.05; done
kill -TERM $pid 2>/dev/null; wait $pid; rc=$?
rp=$(cat "$tmp/rsvg.pid" 2>/dev/null)
if [ $rc -eq 143 ] && [ -n "$rp" ] && [ -z "$(ls -A "$tmp/plt")" ] && ! kill -0 "$rp" 2>/dev/null; then ok
else bad "plot --png interrupted: exit $rc, left '$(ls -A "$tmp/plt")', rsvg-convert $(kill -0 "$rp" 2>/dev/null && echo running || echo gone)"; fi
[ -n "$rp" ] && kill "$rp" 2>/dev/null

# a signal the caller ignores stays ignored (nohup's SIGHUP; SIGINT of a job a script starts in the
# background): the run goes on to its end instead of dying with its temporaries removed
ignored() {   # SIGNAL
  local o=$tmp/ign.$1; mkdir -p "$o"
  ( trap '' "$1"; exec "$H" embed -@1 -m "$HY" -o "$o/x.tsv" "$tmp/big.fa" 2>"$tmp/err" ) & local pid=$! i
  for i in $(seq 100); do [ -n "$(ls -A "$o")" ] && break; sleep 0.05; done
  kill -"$1" $pid 2>/dev/null; wait $pid; local rc=$?
  if [ $rc -eq 0 ] && [ "$(grep -c '^b' "$o/x.tsv" 2>/dev/null)" = 400 ]; then ok
  else bad "SIG$1 ignored by the caller: exit $rc, $(ls -A "$o")"; fi
}
ignored HUP
ignored INT
# a file-size limit (ulimit -f, a batch system's h_fsize): a write error naming the output, exit 2, nothing
# left (SIGXFSZ killed the run with its temporary file in place)
mkdir -p "$tmp/fsz"
( ulimit -f 20; exec "$H" embed -@1 -m "$HY" -o "$tmp/fsz/x.tsv" "$tmp/big.fa" 2>"$tmp/err" ); rc=$?
if [ $rc -eq 2 ] && grep -q "x.tsv: write failed: File too large" "$tmp/err" && [ -z "$(ls -A "$tmp/fsz")" ]; then ok
else bad "embed past ulimit -f: exit $rc, left '$(ls -A "$tmp/fsz")': $(head -2 "$tmp/err")"; fi

# ------------------------------------------------------------------ libgomp's messages as it loads come once
# (main.c re-runs the program with OMP_WAIT_POLICY set: the re-run printed them again), and the program's own
# messages of the re-run still reach standard error
e=(env -u OMP_WAIT_POLICY -u HYENADNA_NO_ENV_TUNE -u HYENADNA_ENV_TUNED OMP_NUM_THREADS=bogus GOMP_SPINCOUNT=x)
"${e[@]}" "$H" info -m "$HY" >/dev/null 2>"$tmp/err"; rc=$?
n1=$(grep -c "Invalid value for environment variable OMP_NUM_THREADS" "$tmp/err")
n2=$(grep -c "Invalid value for environment variable GOMP_SPINCOUNT" "$tmp/err")
[ $rc -eq 0 ] && [ "$n1" -eq 1 ] && [ "$n2" -eq 1 ] && ok || bad "libgomp's load-time messages: exit $rc, printed $n1 and $n2 times"
"${e[@]}" "$H" info -m "$tmp/no-such-model" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -ne 0 ] && grep -q "^hyenadna info: .*no-such-model" "$tmp/err" && ok || bad "the re-run's own error lost: exit $rc, $(cat "$tmp/err")"

# ------------------------------------------------------------------ closed standard streams
# (a daemon or pipeline that runs tools without them): with standard error closed, a warning must not land
# in the output file (which took descriptor 2); with standard output closed, the output meant for it is an
# error naming it, exit 2; with standard input closed, '-' is a read error
printf '>s1\nACGTACGTAGCTAGCTAGCATCGATCGA\n>empty\n\n>s2\nGGGCCCATATATCGCG\n' > "$tmp/withempty.fa"
"$H" embed -m "$HY" -o "$tmp/closed2.tsv" - < "$tmp/withempty.fa" 2>&-; rc=$?
if [ $rc -eq 0 ] && [ "$(head -c 5 "$tmp/closed2.tsv")" = "#name" ] && ! grep -q "warning" "$tmp/closed2.tsv"; then ok
else bad "embed 2>&-: exit $rc, output starts '$(head -c 60 "$tmp/closed2.tsv")'"; fi
for c in "embed -m $HY" "forward -m $HY" "classify -m $HY --method centroid -t $tmp/train.fa" "generate -m $HY -n 5 --seed 1"; do
  $H $c "$tmp/withempty.fa" >&- 2>"$tmp/err"; rc=$?
  if [ $rc -eq 2 ] && grep -q "standard output.*Bad file descriptor" "$tmp/err"; then ok
  else bad "${c%% *} >&-: exit $rc: $(head -2 "$tmp/err")"; fi
done
"$H" embed -m "$HY" - <&- >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "standard input" "$tmp/err" && [ ! -s "$tmp/out" ]; then ok
else bad "embed - <&-: exit $rc: $(head -2 "$tmp/err")"; fi

# ------------------------------------------------------------------ an output never replaces an input
# (the output is renamed over its final name when complete: `-o in.fa in.fa` read the input, then replaced it)
replaces() {   # DESCRIPTION FILE -- command (FILE is both an input and the output)
  local what=$1 f=$2; shift 3
  cp "$f" "$tmp/orig"
  "$@" >/dev/null 2>"$tmp/err" </dev/null; local rc=$?
  if [ $rc -ne 1 ]; then bad "$what: output over an input: exit $rc, expected 1"; head -2 "$tmp/err"
  elif ! cmp -s "$f" "$tmp/orig"; then bad "$what: the input was replaced"
  elif ! grep -q "output '.*' is the input" "$tmp/err"; then bad "$what: message: $(head -2 "$tmp/err")"
  else ok; fi
  cp "$tmp/orig" "$f"
}
cp "$tmp/many.fa" "$tmp/same.fa"; cp "$tmp/v.vcf" "$tmp/same.vcf"; cp "$tmp/ref.fa" "$tmp/sameref.fa"
cp "$tmp/train.fa" "$tmp/sametrain.fa"; ln -f "$tmp/same.fa" "$tmp/link.fa"
replaces "embed -o IN IN"            "$tmp/same.fa"      -- "$H" embed -m "$HY" -o "$tmp/same.fa" "$tmp/same.fa"
replaces "embed -o IN (another name)" "$tmp/same.fa"     -- "$H" embed -m "$HY" -o "$tmp/./same.fa" "$tmp/same.fa"
replaces "forward -o LINK IN"        "$tmp/same.fa"      -- "$H" forward -m "$HY" -o "$tmp/link.fa" "$tmp/same.fa"
replaces "embed -o IN < IN"          "$tmp/same.fa"      -- sh -c '"$1" embed -m "$2" -o "$3" < "$3"' sh "$H" "$HY" "$tmp/same.fa"
replaces "classify -o TRAIN"         "$tmp/sametrain.fa" -- "$H" classify -m "$HY" --method centroid -t "$tmp/sametrain.fa" -o "$tmp/sametrain.fa" "$tmp/many.fa"
replaces "generate -o PROMPTS"       "$tmp/same.fa"      -- "$H" generate -m "$HY" -n 5 -o "$tmp/same.fa" "$tmp/same.fa"
replaces "score-variants -o VCF"     "$tmp/same.vcf"     -- "$H" score-variants -m "$HY" -f "$tmp/ref.fa" -o "$tmp/same.vcf" "$tmp/same.vcf"
replaces "score-variants -o REF"     "$tmp/sameref.fa"   -- "$H" score-variants -m "$HY" -f "$tmp/sameref.fa" -o "$tmp/sameref.fa" "$tmp/v.vcf"
cp "$HY/model.safetensors" "$tmp/same.safetensors"
replaces "forward -o MODEL"          "$tmp/same.safetensors" -- "$H" forward -m "$tmp/same.safetensors" -c "$HY/config.json" -o "$tmp/same.safetensors" "$tmp/many.fa"
# an existing output that is no input is replaced, as before
if "$H" embed -m "$HY" -o "$tmp/same.tsv" "$tmp/many.fa" 2>/dev/null && "$H" embed -m "$HY" -o "$tmp/same.tsv" "$tmp/many.fa" 2>"$tmp/err"; then ok
else bad "embed over its own earlier output: $(head -2 "$tmp/err")"; fi
# an existing directory is refused when the output is opened, not by the rename at the end of the run
mkdir -p "$tmp/adir"
for c in "embed -m $HY" "forward -m $HY"; do
  $H $c -o "$tmp/adir" "$tmp/many.fa" 2>"$tmp/err"; rc=$?
  if [ $rc -eq 2 ] && grep -q "cannot create output file '.*adir': Is a directory" "$tmp/err" && [ -z "$(ls -A "$tmp/adir")" ]; then ok
  else bad "$c -o DIR: exit $rc: $(head -2 "$tmp/err")"; fi
done

# ------------------------------------------------------------------ jobs side by side on one unindexed reference
# (the pieces of a scattered workflow): each finds the whole .fai or builds its own under a temporary name
mkdir -p "$tmp/par"
for k in 1 2 3; do cp "$tmp/ref.fa" "$tmp/par/ref$k.fa"; bgzip -c "$tmp/ref.fa" > "$tmp/par/ref$k.fa.gz" 2>/dev/null || true; done
for k in 1 2 3; do
  for f in "$tmp/par/ref$k.fa" "$tmp/par/ref$k.fa.gz"; do
    [ -s "$f" ] || continue
    for j in 1 2 3 4 5 6; do
      ( "$H" embed -@1 -m "$HY" -r chr1:$((j * 100))-$((j * 100 + 150)) -o "$f.$j.tsv" "$f" 2>"$f.$j.err"; echo $? > "$f.$j.rc" ) &
    done
    wait
    for j in 1 2 3 4 5 6; do
      if [ "$(cat "$f.$j.rc")" != 0 ] || ! grep -q "^chr1:$((j * 100))-" "$f.$j.tsv"; then bad "$(basename "$f") job $j beside 5 others: $(head -2 "$f.$j.err")"; continue 2; fi
    done
    ok
  done
done
if ls -A "$tmp/par" | grep -q "\.tmp"; then bad "temporary index files left: $(ls -A "$tmp/par" | grep "\.tmp" | head -3)"; else ok; fi
for k in 1 2 3; do
  if [ "$(cat "$tmp/par/ref$k.fa.fai")" = "$(printf 'chr1\t1200\t6\t60\t61')" ]; then ok; else bad "ref$k.fa.fai built by jobs side by side: $(cat "$tmp/par/ref$k.fa.fai")"; fi
done

# ------------------------------------------------------------------ an index older than its FASTA is rebuilt
# (the reference replaced after it was indexed: htslib read other bases, even header lines, through the old
# offsets), with a warning naming it; an index as new as its FASTA is kept as it is
mkdir -p "$tmp/stale" "$tmp/fresh"
printf '>c1\nACGTACGTAC\nGGGGGGGGGG\n>c2\nTTTTTTTTTT\n' > "$tmp/stale/r.fa"
"$H" embed -m "$HY" -r c1:1-5 -o /dev/null "$tmp/stale/r.fa" 2>/dev/null
awk 'BEGIN{srand(4); for(r=1;r<=3;r++){printf ">c%d\n", r; for(l=0;l<r+1;l++){s=""; for(i=0;i<50;i++) s=s substr("ACGT",int(rand()*4)+1,1); print s}}}' > "$tmp/stale/r.fa"
touch -d '2 hours ago' "$tmp/stale/r.fa.fai"
cp "$tmp/stale/r.fa" "$tmp/fresh/r.fa"
"$H" embed -m "$HY" -r c1:1-100,c3 -o "$tmp/fresh.tsv" "$tmp/fresh/r.fa" 2>/dev/null
"$H" embed -m "$HY" -r c1:1-100,c3 -o "$tmp/stale.tsv" "$tmp/stale/r.fa" 2>"$tmp/err"; rc=$?
if [ $rc -eq 0 ] && cmp -s "$tmp/fresh.tsv" "$tmp/stale.tsv" && cmp -s "$tmp/fresh/r.fa.fai" "$tmp/stale/r.fa.fai" &&
   grep -q "warning: .*r.fa.fai is older than the FASTA file: rebuilt" "$tmp/err"; then ok
else bad "embed over a FASTA newer than its .fai: exit $rc: $(head -2 "$tmp/err")"; fi
"$H" embed -m "$HY" -r c2 -o /dev/null "$tmp/stale/r.fa" 2>"$tmp/err"
if [ ! -s "$tmp/err" ]; then ok; else bad "an index as new as its FASTA: $(head -2 "$tmp/err")"; fi
# an index older than a FASTA it still describes (copied or touched after indexing, a base changed in place,
# newlines added at the end) is used as it is, silently: no rebuild, no copy in $TMPDIR
cp "$tmp/stale/r.fa.fai" "$tmp/fai.before"
for change in touch '2s/^./C/' tail; do
  cp "$tmp/fresh/r.fa" "$tmp/stale/r.fa"; cp "$tmp/fai.before" "$tmp/stale/r.fa.fai"
  case $change in touch) ;; tail) printf '\n\n' >> "$tmp/stale/r.fa";; *) sed -i "$change" "$tmp/stale/r.fa";; esac
  touch -d '2 hours ago' "$tmp/stale/r.fa.fai"
  "$H" embed -m "$HY" -r c1:1-100,c3 -o /dev/null "$tmp/stale/r.fa" 2>"$tmp/err"; rc=$?
  if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/fai.before" "$tmp/stale/r.fa.fai" &&
     [ "$(stat -c %Y "$tmp/stale/r.fa.fai")" -lt "$(stat -c %Y "$tmp/stale/r.fa")" ]; then ok
  else bad "an older index that still describes its FASTA ($change) was not used as it is: exit $rc: $(head -2 "$tmp/err")"; fi
done
# records added, removed, resized or renamed behind an older index: rebuilt
for change in '$a>c4\nACGT' '/^>c2$/,+3d' '3d' '1i>c0\nAAAA' 's/^>c2$/>c22/' 's/^>c2$/>c9/'; do
  cp "$tmp/fresh/r.fa" "$tmp/stale/r.fa"; cp "$tmp/fai.before" "$tmp/stale/r.fa.fai"
  sed -i "$change" "$tmp/stale/r.fa"; touch -d '2 hours ago' "$tmp/stale/r.fa.fai"
  "$H" embed -m "$HY" -r c1:1-10 -o /dev/null "$tmp/stale/r.fa" 2>"$tmp/err"; rc=$?
  if [ $rc -eq 0 ] && grep -q "older than the FASTA file: rebuilt" "$tmp/err" && ! cmp -s "$tmp/fai.before" "$tmp/stale/r.fa.fai"; then ok
  else bad "an older index of a changed FASTA ($change) was not rebuilt: exit $rc: $(head -2 "$tmp/err")"; fi
done
# a FASTA that can no longer be indexed is not read through its older index: an error naming both
cp "$tmp/fresh/r.fa" "$tmp/stale/r.fa"; cp "$tmp/fai.before" "$tmp/stale/r.fa.fai"
sed -i '3s/^/x>/' "$tmp/stale/r.fa"; sed -i '4s/^A/A A/' "$tmp/stale/r.fa"; touch -d '2 hours ago' "$tmp/stale/r.fa.fai"
"$H" embed -m "$HY" -r c1:1-10 -o /dev/null "$tmp/stale/r.fa" 2>"$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "r.fa: .*r.fa.fai is older than the FASTA file, and the FASTA cannot be indexed again" "$tmp/err"; then ok
else bad "an older index of a FASTA that cannot be indexed: exit $rc: $(head -2 "$tmp/err")"; fi
cp "$tmp/fresh/r.fa" "$tmp/stale/r.fa"; rm -f "$tmp/stale/r.fa.fai"

# ------------------------------------------------------------------ a reference in a read-only folder
# (a shared reference, a container's read-only mount) without its index: the index is built in $TMPDIR for
# the run, with a warning naming the index that could not be written, and removed after it; with $TMPDIR
# unwritable too, an error naming both.  Run as another user when root (whom permissions do not stop).
as_user() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi; }
mkdir -p "$tmp/rodir" "$tmp/rotmp"
cp "$tmp/ref.fa" "$tmp/rodir/ref.fa"; bgzip -c "$tmp/ref.fa" > "$tmp/rodir/refz.fa.gz" 2>/dev/null || rm -f "$tmp/rodir/refz.fa.gz"
chmod 755 "$tmp"; chmod 555 "$tmp/rodir"; chmod 777 "$tmp/rotmp"
if as_user test -x "$H" -a -r "$HY/config.json" -a -r "$tmp/ref.fa" 2>/dev/null && ! as_user test -w "$tmp/rodir" 2>/dev/null; then
  "$H" embed -m "$HY" -r chr1:200-400 -o "$tmp/ro.want" "$tmp/ref.fa" 2>/dev/null
  for f in ref.fa refz.fa.gz; do
    [ -s "$tmp/rodir/$f" ] || continue
    TMPDIR=$tmp/rotmp as_user "$H" embed -m "$HY" -r chr1:200-400 "$tmp/rodir/$f" > "$tmp/ro.got" 2>"$tmp/err"; rc=$?
    if [ $rc -eq 0 ] && cmp -s "$tmp/ro.want" "$tmp/ro.got" && grep -q "warning: .*rodir/$f.fai': Permission denied: the index is built in .*rotmp" "$tmp/err" &&
       [ -z "$(ls -A "$tmp/rotmp")" ] && [ "$(ls -A "$tmp/rodir" | wc -l)" = "$(ls "$tmp/rodir" | wc -l)" ]; then ok
    else bad "$f in a read-only folder: exit $rc, left '$(ls -A "$tmp/rotmp")': $(head -2 "$tmp/err")"; fi
    TMPDIR=$tmp/rodir as_user "$H" embed -m "$HY" -r chr1:200-400 "$tmp/rodir/$f" > "$tmp/ro.got" 2>"$tmp/err"; rc=$?
    if [ $rc -eq 2 ] && grep -q "rodir/$f: no index can be written: .*rodir/$f.fai.*Permission denied; in \$TMPDIR: " "$tmp/err" && [ ! -s "$tmp/ro.got" ]; then ok
    else bad "$f in a read-only folder, TMPDIR read-only: exit $rc: $(head -2 "$tmp/err")"; fi
  done
else
  echo "note: read-only folder checks not run (no other user to run as, or it cannot read the build)"
fi
chmod 755 "$tmp/rodir"; chmod 700 "$tmp"

finish "test_robust:"
