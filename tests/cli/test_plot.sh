#!/usr/bin/env bash
# test_plot.sh -- the pictures: score-variants --all-snvs --plot and hyenadna plot (--snv, --bigwig).
# The heatmap's cells against the --all-snvs table (3 valued cells and one reference cell per position,
# titles equal to the table's LLRs, colours monotone on each side of 0, wrapping into strips, gaps at N),
# the same from a bgzipped tabix-indexed track-style table, the track panels against the values written into
# bigWig files (gaps as gaps), XML well-formedness (xmllint), rendering by rsvg-convert without warnings,
# PNG output, and the errors.  Needs python3 (xml.etree) and rsvg-convert; exits 77 without them.
set -u
H=${HYENADNA:?HYENADNA not set}
S=${SRCDIR:?SRCDIR not set}
MKBW=$(dirname "$H")/tests/plot_mkbw
CHECK="python3 $S/tests/cli/plot_check.py"
for t in python3 rsvg-convert bgzip tabix; do
  command -v $t >/dev/null || { echo "SKIP: $t missing (Debian: python3, librsvg2-bin, tabix)"; exit 77; }
done
[ -x "$MKBW" ] || { echo "FAIL: $MKBW not built"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
REF=$T/ref.fa.gz
cp "$S/data/example_ref.fa.gz" "$S/data/example_ref.fa.gz.fai" "$S/data/example_ref.fa.gz.gzi" "$T/"
mv "$T/example_ref.fa.gz" "$REF"; mv "$T/example_ref.fa.gz.fai" "$REF.fai"; mv "$T/example_ref.fa.gz.gzi" "$REF.gzi"
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if out=$("$@" 2>&1); then ok; else bad "$what: $out"; fi; }
xmlok() {   # well-formed XML, by xmllint when present (python's parser is used by every check anyway)
  if command -v xmllint >/dev/null; then check "xmllint $1" xmllint --noout "$1"; else check "xml $1" $CHECK size "$1"; fi
}
render() {   # rsvg-convert renders the SVG without a word on stderr, at the SVG's size
  local svg=$1 wh
  if rsvg-convert -o "$svg.png" "$svg" 2>"$T/rsvg.err" && [ ! -s "$T/rsvg.err" ]; then ok; else bad "rsvg-convert $svg: $(cat "$T/rsvg.err")"; fi
  wh=$($CHECK size "$svg") && check "rsvg PNG of $svg" $CHECK png "$svg.png" ${wh% *} ${wh#* }
}

# ---------------------------------------------------------------- heatmap from score-variants
R=22:20000851-20001100   # 250 positions: two strips of 200
"$H" score-variants -f "$REF" --all-snvs --score prefix -r $R -O t -o "$T/sat.tsv" --plot "$T/sat.svg" 2>"$T/err" \
  && ok || bad "score-variants --plot: $(cat "$T/err")"
xmlok "$T/sat.svg"
check "heatmap cells = table" $CHECK heatmap "$T/sat.svg" "$T/sat.tsv" $R 2
grep -q 'model default' "$T/sat.svg" && grep -q 'score prefix' "$T/sat.svg" && grep -q '22:20,000,851-20,001,100' "$T/sat.svg" \
  && ok || bad "the heatmap's title does not name the region, model and score mode"
render "$T/sat.svg"

# the same picture from the table afterwards, and with other strips
"$H" plot --snv "$T/sat.tsv" -r $R -o "$T/p.svg" 2>"$T/err" && ok || bad "plot --snv: $(cat "$T/err")"
diff <(grep -o '<rect class="[a-z]*"[^>]*><title>[^<]*' "$T/sat.svg") <(grep -o '<rect class="[a-z]*"[^>]*><title>[^<]*' "$T/p.svg") >/dev/null \
  && ok || bad "plot --snv draws other cells than score-variants --plot"
"$H" plot --snv "$T/sat.tsv" -r $R --strip 100 --title "my title" -o "$T/p100.svg" && ok || bad "plot --strip 100"
check "three strips of 100" $CHECK heatmap "$T/p100.svg" "$T/sat.tsv" $R 3
grep -q '>my title<' "$T/p100.svg" && ok || bad "--title not used"
"$H" plot --snv "$T/sat.tsv" -r $R --title "$(printf 'a <b> & \xff\x01 %%s %.0s' $(seq 300))" -o "$T/odd.svg" && ok || bad "plot --title with odd bytes"
xmlok "$T/odd.svg"
render "$T/p100.svg"

# N bases: empty columns (the example reference is N before 20,000,001)
RN=22:19999991-20000030
"$H" score-variants -f "$REF" --all-snvs --score prefix -r $RN -O t -o "$T/satn.tsv" --plot "$T/satn.svg" 2>/dev/null && ok || bad "score-variants over N"
check "heatmap with N" $CHECK heatmap "$T/satn.svg" "$T/satn.tsv" $RN 1
n=$(grep -c 'class="gap"' "$T/satn.svg"); [ "$n" = 10 ] && ok || bad "10 N positions should be 10 gap columns, got $n"

# the track table layout (chrom pos ref alt llr), bgzipped and tabix-indexed: read through the index
{ printf '#chrom\tpos\tref\talt\tllr\n'; awk -F'\t' '!/^#/{print $1"\t"$2"\t"$4"\t"$5"\t"$6}' "$T/sat.tsv"; } | bgzip > "$T/snv.tsv.gz"
tabix -s1 -b2 -e2 "$T/snv.tsv.gz"
R2=22:20000911-20000990
"$H" plot --snv "$T/snv.tsv.gz" -r $R2 -f "$REF" -o "$T/tbx.svg" --verbosity 3 2>"$T/err" && ok || bad "plot --snv tabix: $(cat "$T/err")"
grep -q 'tabix index' "$T/err" && ok || bad "the tabix index was not used: $(cat "$T/err")"
check "heatmap from the tabix table" $CHECK heatmap "$T/tbx.svg" "$T/sat.tsv" $R2 1
zcat "$T/snv.tsv.gz" | tail -n +2 > "$T/snv_nohdr.tsv"   # no header: 5 columns are the track layout
"$H" plot --snv "$T/snv_nohdr.tsv" -r $R2 -f "$REF" -o "$T/nohdr.svg" && ok || bad "plot of a headerless table"
diff <(grep -o '<title>[^<]*' "$T/nohdr.svg") <(grep -o '<title>[^<]*' "$T/tbx.svg") >/dev/null \
  && ok || bad "a headerless 5-column table gives other cells"
# CHR alone: the span of the table's rows; thousands separators (with -f, the rule of every command); stdin
"$H" plot --snv "$T/sat.tsv" -r 22 -o "$T/whole.svg" && check "-r CHR: the rows' span" $CHECK heatmap "$T/whole.svg" "$T/sat.tsv" $R 2 \
  || bad "plot -r 22"
"$H" plot --snv "$T/sat.tsv" -f "$REF" -r 22:20,000,911-20,000,990 -o "$T/sep.svg" && check "-r with separators" $CHECK heatmap "$T/sep.svg" "$T/sat.tsv" $R2 1 \
  || bad "plot -r 22:20,000,911-20,000,990"
"$H" plot --snv - -r $R2 -o "$T/stdin.svg" < "$T/sat.tsv" && check "table on standard input" $CHECK heatmap "$T/stdin.svg" "$T/sat.tsv" $R2 1 \
  || bad "plot --snv -"
# a table without some SNVs: grey "no value" cells
awk -F'\t' '!($2 == 20000920 && $5 == "A")' "$T/sat.tsv" > "$T/holes.tsv"
"$H" plot --snv "$T/holes.tsv" -r $R2 -o "$T/holes.svg" && ok || bad "plot of a table with a missing row"
grep -q 'class="na"[^>]*><title>20000920 [CGT]&gt;A no value<' "$T/holes.svg" && ok || bad "a missing SNV is not a no-value cell"

# ---------------------------------------------------------------- track panels from bigWig files
RT=22:20000901-20000960
python3 - "$T" <<'EOF'
import math, sys
t = sys.argv[1]
gaps = {20000901, 20000930, 20000931, 20000932}   # no value: drawn as gaps
for name, f in [('logp', lambda p: -0.1 - 3.7 * abs(math.sin(p * 0.7))), ('entropy', lambda p: 1.2 + 0.75 * math.cos(p)),
                ('A', lambda p: 0.4 * (1 + math.sin(p))), ('C', lambda p: 0.3 * (1 + math.cos(p * 1.3))),
                ('G', lambda p: 0.25 * (1 + math.sin(p * 0.4))), ('T', lambda p: 0.1 + 0.05 * math.cos(p)),
                ('phylop', lambda p: 3 * math.sin(p * 0.3))]:
    with open('%s/v.%s.txt' % (t, name), 'w') as vals, open('%s/bw.%s.txt' % (t, name), 'w') as bw:
        for p in range(20000895, 20000970):   # wider than the region: the region is cut out
            if p in gaps:
                continue
            v = f(p)
            bw.write('%d %.9g\n' % (p - 1, v))
            if 20000901 <= p <= 20000960:
                vals.write('%d %.9g\n' % (p, v))
EOF
for n in logp entropy A C G T phylop; do "$MKBW" "$T/out.$n.bw" 22 20100000 < "$T/bw.$n.txt" || bad "plot_mkbw $n"; done
BW=$T/out.logp.bw,$T/out.entropy.bw,$T/out.A.bw,$T/out.C.bw,$T/out.G.bw,$T/out.T.bw,$T/out.phylop.bw
"$H" plot --bigwig "$BW" -r $RT -f "$REF" -o "$T/tr.svg" 2>"$T/err" && ok || bad "plot --bigwig: $(cat "$T/err")"
xmlok "$T/tr.svg"
check "track points = values" $CHECK tracks "$T/tr.svg" logp="$T/v.logp.txt" entropy="$T/v.entropy.txt" \
  A="$T/v.A.txt" C="$T/v.C.txt" G="$T/v.G.txt" T="$T/v.T.txt" phylop="$T/v.phylop.txt"
# gaps are gaps: the logp line is drawn as three runs (20000902-20000929, 20000933-20000960: two subpaths per path)
runs=$(python3 -c "
import re,sys; s=open(sys.argv[1]).read()
p=re.findall(r'<path fill=\"none\" stroke=\"#3b6ea8\"[^>]*d=\"([^\"]*)\"', s); print(p[0].count('M'))" "$T/tr.svg")
[ "$runs" = 2 ] && ok || bad "the logp line should have 2 runs around its gaps, has $runs"
grep -q '>TCACCCACCAGCT\|class="sequence"' "$T/tr.svg" && ok || bad "no reference sequence under the tracks"
render "$T/tr.svg"

# ---------------------------------------------------------------- PNG
"$H" plot --snv "$T/sat.tsv" -r $R -o "$T/h.png" 2>"$T/err" && ok || bad "plot -o x.png: $(cat "$T/err")"
wh=$($CHECK size "$T/p.svg"); check "plot -o x.png" $CHECK png "$T/h.png" ${wh% *} ${wh#* }
"$H" plot --bigwig "$BW" -r $RT -f "$REF" --png -o - > "$T/t.png" 2>"$T/err" && ok || bad "plot --png -o -: $(cat "$T/err")"
wh=$($CHECK size "$T/tr.svg"); check "--png to stdout" $CHECK png "$T/t.png" ${wh% *} ${wh#* }
"$H" score-variants -f "$REF" --all-snvs --score prefix -r $RT -O t -o "$T/s2.tsv" --plot "$T/s2.png" 2>/dev/null && [ "$(head -c4 "$T/s2.png" | tail -c3)" = PNG ] \
  && ok || bad "score-variants --plot x.png"
# without rsvg-convert: a clear error, status 2, nothing written (checked before the model runs)
mkdir "$T/nobin"; ln -s "$(command -v python3)" "$T/nobin/python3"
PATH=$T/nobin "$H" plot --snv "$T/sat.tsv" -r $R -o "$T/no.png" 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'librsvg2-bin' "$T/err" && [ ! -e "$T/no.png" ] && ok || bad "PNG without rsvg-convert: status $rc, $(cat "$T/err")"
PATH=$T/nobin "$H" score-variants -f "$REF" --all-snvs -r $RT -o "$T/no.tsv" --plot "$T/no.png" 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'rsvg-convert' "$T/err" && [ ! -e "$T/no.tsv" ] && ok || bad "score-variants --plot PNG without rsvg-convert: status $rc"

# ---------------------------------------------------------------- the README's pictures are well-formed and render
for f in "$S"/docs/img/*.svg; do xmlok "$f"; cp "$f" "$T/readme.svg"; render "$T/readme.svg"; done

# ---------------------------------------------------------------- errors (status 1, a message, no output)
err() {   # expected status, what the message must contain, command...
  local st=$1 msg=$2; shift 2
  rm -f "$T/e.svg"
  "$@" >/dev/null 2>"$T/err"; local rc=$?
  if [ $rc = "$st" ] && grep -q -- "$msg" "$T/err" && [ ! -e "$T/e.svg" ]; then ok; else bad "$* → status $rc (want $st), $(cat "$T/err")"; fi
}
err 1 "region is needed" "$H" plot --snv "$T/sat.tsv" -o "$T/e.svg"
err 1 "nothing to draw" "$H" plot -r $R -o "$T/e.svg"
err 1 "not both" "$H" plot --snv "$T/sat.tsv" --bigwig "$T/out.logp.bw" -r $R -o "$T/e.svg"
err 1 "at most 10000" "$H" plot --snv "$T/sat.tsv" -r 22:20000001-20010001 -o "$T/e.svg"
err 1 "not a region" "$H" plot --snv "$T/sat.tsv" -r 22:30-20 -o "$T/e.svg"
err 1 "cannot open '$T/absent.tsv'" "$H" plot --snv "$T/absent.tsv" -r $R -o "$T/e.svg"
err 1 "no SNV in" "$H" plot --snv "$T/sat.tsv" -r 21:1-100 -o "$T/e.svg"
printf '22\t20000900\tA\n' > "$T/short.tsv"
err 1 "short.tsv: line 1 has 3 columns" "$H" plot --snv "$T/short.tsv" -r $R -o "$T/e.svg"
printf '#chrom\tpos\tref\talt\tllr\n22\t20000900\tA\tC\tabc\n' > "$T/badllr.tsv"
err 1 "line 2.*'abc' is not an LLR" "$H" plot --snv "$T/badllr.tsv" -r $R -o "$T/e.svg"
printf '#chrom\tpos\tref\talt\tllr\n22\t20000900\tA\tC\t1\n22\t20000900\tA\tC\t2\n' > "$T/dup.tsv"
err 1 "two rows for 22:20000900 A>C" "$H" plot --snv "$T/dup.tsv" -r $R -o "$T/e.svg"
b=$(awk -F'\t' '$2 == 20000900 {print $4; exit}' "$T/sat.tsv")   # the real base; the table says another
printf '#chrom\tpos\tref\talt\tllr\n22\t20000900\t%s\tC\t1\n' $([ "$b" = A ] && echo G || echo A) > "$T/mism.tsv"
err 1 "is $b in the reference" "$H" plot --snv "$T/mism.tsv" -r $R -f "$REF" -o "$T/e.svg"
err 1 "is not a bigWig file" "$H" plot --bigwig "$T/sat.tsv" -r $RT -o "$T/e.svg"
err 1 "no sequence named '7' in $T/out.logp.bw" "$H" plot --bigwig "$T/out.logp.bw" -r 7:1-100 -o "$T/e.svg"
echo "5 1.5" | "$MKBW" "$T/other.x.bw" chrT 1000
err 1 "contig 22 is not in bigWig file '$T/other.x.bw'" "$H" plot --bigwig "$T/out.logp.bw,$T/other.x.bw" -r $RT -o "$T/e.svg"
err 1 "lies outside 22, which has 20100000 bases" "$H" plot --bigwig "$T/out.logp.bw" -r 22:20099990-20100010 -o "$T/e.svg"
err 1 "cannot open bigWig file" "$H" plot --bigwig "$T/absent.bw" -r $RT -o "$T/e.svg"
err 1 "given twice" "$H" plot --bigwig "$T/out.logp.bw,$T/out.logp.bw" -r $RT -o "$T/e.svg"
err 1 "option --strip" "$H" plot --snv "$T/sat.tsv" -r $R --strip 0 -o "$T/e.svg"
err 1 "option --vmax" "$H" plot --snv "$T/sat.tsv" -r $R --vmax -1 -o "$T/e.svg"
err 1 "draws the scores of --all-snvs" "$H" score-variants -f "$REF" --plot "$T/e.svg" "$S/data/example.vcf.gz"
err 1 "the heatmap shows 1 to 10000" "$H" score-variants -f "$REF" --all-snvs -r 22:20000001-20010001 --plot "$T/e.svg" -o "$T/e.tsv"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
