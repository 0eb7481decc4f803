#!/usr/bin/env bash
# test_plot.sh -- the pictures: score-variants --all-snvs --plot and hyenadna plot (--snv, --bigwig).
# The heatmap's cells against the --all-snvs table (3 valued cells and one reference cell per position,
# titles equal to the table's LLRs, colours monotone on each side of 0, wrapping into strips, gaps at N),
# the same from a bgzipped tabix-indexed track-style table, the track panels against the values written into
# bigWig files (gaps as gaps), XML well-formedness (xmllint), rendering by rsvg-convert without warnings,
# PNG output, and the errors.  Needs python3 (xml.etree) and rsvg-convert; exits 77 without them.
. "$(dirname "$0")/../lib.sh"
need python3 rsvg-convert bgzip tabix
MKBW=$(dirname "$H")/tests/plot_mkbw
CHECK="python3 $S/tests/cli/plot_check.py"
[ -x "$MKBW" ] || { echo "FAIL: $MKBW not built"; exit 1; }
REF=$tmp/ref.fa.gz
cp "$S/data/example_ref.fa.gz" "$S/data/example_ref.fa.gz.fai" "$S/data/example_ref.fa.gz.gzi" "$tmp/"
mv "$tmp/example_ref.fa.gz" "$REF"; mv "$tmp/example_ref.fa.gz.fai" "$REF.fai"; mv "$tmp/example_ref.fa.gz.gzi" "$REF.gzi"
check() { local what=$1; shift; if out=$("$@" 2>&1); then ok; else bad "$what: $out"; fi; }
xmlok() {   # well-formed XML, by xmllint when present (python's parser is used by every check anyway)
  if command -v xmllint >/dev/null; then check "xmllint $1" xmllint --noout "$1"; else check "xml $1" $CHECK size "$1"; fi
}
render() {   # rsvg-convert renders the SVG without a word on stderr, at the SVG's size
  local svg=$1 wh
  if rsvg-convert -o "$svg.png" "$svg" 2>"$tmp/rsvg.err" && [ ! -s "$tmp/rsvg.err" ]; then ok; else bad "rsvg-convert $svg: $(cat "$tmp/rsvg.err")"; fi
  wh=$($CHECK size "$svg") && check "rsvg PNG of $svg" $CHECK png "$svg.png" ${wh% *} ${wh#* }
}

# ---------------------------------------------------------------- heatmap from score-variants
R=22:20000851-20001100   # 250 positions: two strips of 200
"$H" score-variants -f "$REF" --all-snvs --score prefix -r $R -O t -o "$tmp/sat.tsv" --plot "$tmp/sat.svg" 2>"$tmp/err" \
  && ok || bad "score-variants --plot: $(cat "$tmp/err")"
xmlok "$tmp/sat.svg"
check "heatmap cells = table" $CHECK heatmap "$tmp/sat.svg" "$tmp/sat.tsv" $R 2
grep -q 'model default' "$tmp/sat.svg" && grep -q 'score prefix' "$tmp/sat.svg" && grep -q '22:20,000,851-20,001,100' "$tmp/sat.svg" \
  && ok || bad "the heatmap's title does not name the region, model and score mode"
render "$tmp/sat.svg"

# the same picture from the table afterwards, and with other strips
"$H" plot --snv "$tmp/sat.tsv" -r $R -o "$tmp/p.svg" 2>"$tmp/err" && ok || bad "plot --snv: $(cat "$tmp/err")"
diff <(grep -o '<rect class="[a-z]*"[^>]*><title>[^<]*' "$tmp/sat.svg") <(grep -o '<rect class="[a-z]*"[^>]*><title>[^<]*' "$tmp/p.svg") >/dev/null \
  && ok || bad "plot --snv draws other cells than score-variants --plot"
"$H" plot --snv "$tmp/sat.tsv" -r $R --strip 100 --title "my title" -o "$tmp/p100.svg" && ok || bad "plot --strip 100"
check "three strips of 100" $CHECK heatmap "$tmp/p100.svg" "$tmp/sat.tsv" $R 3
grep -q '>my title<' "$tmp/p100.svg" && ok || bad "--title not used"
"$H" plot --snv "$tmp/sat.tsv" -r $R --title "$(printf 'a <b> & \xff\x01 %%s %.0s' $(seq 300))" -o "$tmp/odd.svg" && ok || bad "plot --title with odd bytes"
xmlok "$tmp/odd.svg"
render "$tmp/p100.svg"

# N bases: empty columns (the example reference is N before 20,000,001)
RN=22:19999991-20000030
"$H" score-variants -f "$REF" --all-snvs --score prefix -r $RN -O t -o "$tmp/satn.tsv" --plot "$tmp/satn.svg" 2>/dev/null && ok || bad "score-variants over N"
check "heatmap with N" $CHECK heatmap "$tmp/satn.svg" "$tmp/satn.tsv" $RN 1
n=$(grep -c 'class="gap"' "$tmp/satn.svg"); [ "$n" = 10 ] && ok || bad "10 N positions should be 10 gap columns, got $n"

# the track table layout (chrom pos ref alt llr), bgzipped and tabix-indexed: read through the index
{ printf '#chrom\tpos\tref\talt\tllr\n'; awk -F'\t' '!/^#/{print $1"\t"$2"\t"$4"\t"$5"\t"$6}' "$tmp/sat.tsv"; } | bgzip > "$tmp/snv.tsv.gz"
tabix -s1 -b2 -e2 "$tmp/snv.tsv.gz"
R2=22:20000911-20000990
"$H" plot --snv "$tmp/snv.tsv.gz" -r $R2 -f "$REF" -o "$tmp/tbx.svg" --verbosity 3 2>"$tmp/err" && ok || bad "plot --snv tabix: $(cat "$tmp/err")"
grep -q 'tabix index' "$tmp/err" && ok || bad "the tabix index was not used: $(cat "$tmp/err")"
check "heatmap from the tabix table" $CHECK heatmap "$tmp/tbx.svg" "$tmp/sat.tsv" $R2 1
zcat "$tmp/snv.tsv.gz" | tail -n +2 > "$tmp/snv_nohdr.tsv"   # no header: 5 columns are the track layout
"$H" plot --snv "$tmp/snv_nohdr.tsv" -r $R2 -f "$REF" -o "$tmp/nohdr.svg" && ok || bad "plot of a headerless table"
diff <(grep -o '<title>[^<]*' "$tmp/nohdr.svg") <(grep -o '<title>[^<]*' "$tmp/tbx.svg") >/dev/null \
  && ok || bad "a headerless 5-column table gives other cells"
# CHR alone: the span of the table's rows; thousands separators (with -f, the rule of every command); stdin
"$H" plot --snv "$tmp/sat.tsv" -r 22 -o "$tmp/whole.svg" && check "-r CHR: the rows' span" $CHECK heatmap "$tmp/whole.svg" "$tmp/sat.tsv" $R 2 \
  || bad "plot -r 22"
"$H" plot --snv "$tmp/sat.tsv" -f "$REF" -r 22:20,000,911-20,000,990 -o "$tmp/sep.svg" && check "-r with separators" $CHECK heatmap "$tmp/sep.svg" "$tmp/sat.tsv" $R2 1 \
  || bad "plot -r 22:20,000,911-20,000,990"
"$H" plot --snv - -r $R2 -o "$tmp/stdin.svg" < "$tmp/sat.tsv" && check "table on standard input" $CHECK heatmap "$tmp/stdin.svg" "$tmp/sat.tsv" $R2 1 \
  || bad "plot --snv -"
# a table without some SNVs: grey "no value" cells
awk -F'\t' '!($2 == 20000920 && $5 == "A")' "$tmp/sat.tsv" > "$tmp/holes.tsv"
"$H" plot --snv "$tmp/holes.tsv" -r $R2 -o "$tmp/holes.svg" && ok || bad "plot of a table with a missing row"
grep -q 'class="na"[^>]*><title>20000920 [CGT]&gt;A no value<' "$tmp/holes.svg" && ok || bad "a missing SNV is not a no-value cell"
# a position without any row: a gap cell, its base unknown without -f ('?', not 'N' as it read); with -f its
# reference cell and no-value cells
awk -F'\t' '$2 != 20000930' "$tmp/sat.tsv" > "$tmp/nopos.tsv"
"$H" plot --snv "$tmp/nopos.tsv" -r $R2 -o "$tmp/nopos.svg" && ok || bad "plot of a table without a position"
grep -q 'class="gap"[^>]*><title>20000930 ?: no scores<' "$tmp/nopos.svg" && ok || bad "a position without rows and without -f: $(grep -o '<title>20000930[^<]*' "$tmp/nopos.svg")"
b930=$(awk -F'\t' '$2 == 20000930 {print $4; exit}' "$tmp/sat.tsv")
"$H" plot --snv "$tmp/nopos.tsv" -r $R2 -f "$REF" -o "$tmp/noposf.svg" && ok || bad "plot -f of a table without a position"
grep -q "<title>20000930 $b930 (reference base)<" "$tmp/noposf.svg" && ! grep -q '<title>20000930 ?' "$tmp/noposf.svg" && ok \
  || bad "a position without rows, with -f: $(grep -o '<title>20000930[^<]*' "$tmp/noposf.svg")"

# ---------------------------------------------------------------- track panels from bigWig files
RT=22:20000901-20000960
python3 - "$tmp" <<'EOF'
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
for n in logp entropy A C G T phylop; do "$MKBW" "$tmp/out.$n.bw" 22 20100000 < "$tmp/bw.$n.txt" || bad "plot_mkbw $n"; done
BW=$tmp/out.logp.bw,$tmp/out.entropy.bw,$tmp/out.A.bw,$tmp/out.C.bw,$tmp/out.G.bw,$tmp/out.T.bw,$tmp/out.phylop.bw
"$H" plot --bigwig "$BW" -r $RT -f "$REF" -o "$tmp/tr.svg" 2>"$tmp/err" && ok || bad "plot --bigwig: $(cat "$tmp/err")"
xmlok "$tmp/tr.svg"
check "track points = values" $CHECK tracks "$tmp/tr.svg" logp="$tmp/v.logp.txt" entropy="$tmp/v.entropy.txt" \
  A="$tmp/v.A.txt" C="$tmp/v.C.txt" G="$tmp/v.G.txt" T="$tmp/v.T.txt" phylop="$tmp/v.phylop.txt"
# gaps are gaps: the logp line is drawn as three runs (20000902-20000929, 20000933-20000960: two subpaths per path)
runs=$(python3 -c "
import re,sys; s=open(sys.argv[1]).read()
p=re.findall(r'<path fill=\"none\" stroke=\"#3b6ea8\"[^>]*d=\"([^\"]*)\"', s); print(p[0].count('M'))" "$tmp/tr.svg")
[ "$runs" = 2 ] && ok || bad "the logp line should have 2 runs around its gaps, has $runs"
grep -q '>TCACCCACCAGCT\|class="sequence"' "$tmp/tr.svg" && ok || bad "no reference sequence under the tracks"
render "$tmp/tr.svg"

# ---------------------------------------------------------------- PNG
"$H" plot --snv "$tmp/sat.tsv" -r $R -o "$tmp/h.png" 2>"$tmp/err" && ok || bad "plot -o x.png: $(cat "$tmp/err")"
wh=$($CHECK size "$tmp/p.svg"); check "plot -o x.png" $CHECK png "$tmp/h.png" ${wh% *} ${wh#* }
"$H" plot --bigwig "$BW" -r $RT -f "$REF" --png -o - > "$tmp/t.png" 2>"$tmp/err" && ok || bad "plot --png -o -: $(cat "$tmp/err")"
wh=$($CHECK size "$tmp/tr.svg"); check "--png to stdout" $CHECK png "$tmp/t.png" ${wh% *} ${wh#* }
"$H" score-variants -f "$REF" --all-snvs --score prefix -r $RT -O t -o "$tmp/s2.tsv" --plot "$tmp/s2.png" 2>/dev/null && [ "$(head -c4 "$tmp/s2.png" | tail -c3)" = PNG ] \
  && ok || bad "score-variants --plot x.png"
# without rsvg-convert: a clear error, status 2, nothing written (checked before the model runs)
mkdir "$tmp/nobin"; ln -s "$(command -v python3)" "$tmp/nobin/python3"
PATH=$tmp/nobin "$H" plot --snv "$tmp/sat.tsv" -r $R -o "$tmp/no.png" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q 'librsvg2-bin' "$tmp/err" && [ ! -e "$tmp/no.png" ] && ok || bad "PNG without rsvg-convert: status $rc, $(cat "$tmp/err")"
PATH=$tmp/nobin "$H" score-variants -f "$REF" --all-snvs -r $RT -o "$tmp/no.tsv" --plot "$tmp/no.png" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q 'rsvg-convert' "$tmp/err" && [ ! -e "$tmp/no.tsv" ] && ok || bad "score-variants --plot PNG without rsvg-convert: status $rc"

# ---------------------------------------------------------------- the README's pictures are well-formed and render
for f in "$S"/docs/img/*.svg; do xmlok "$f"; cp "$f" "$tmp/readme.svg"; render "$tmp/readme.svg"; done

# ---------------------------------------------------------------- errors (status 1, a message, no output)
err() {   # expected status, what the message must contain, command...
  local st=$1 msg=$2; shift 2
  rm -f "$tmp/e.svg"
  "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  if [ $rc = "$st" ] && grep -q -- "$msg" "$tmp/err" && [ ! -e "$tmp/e.svg" ]; then ok; else bad "$* → status $rc (want $st), $(cat "$tmp/err")"; fi
}
err 1 "region is needed" "$H" plot --snv "$tmp/sat.tsv" -o "$tmp/e.svg"
err 1 "nothing to draw" "$H" plot -r $R -o "$tmp/e.svg"
err 1 "not both" "$H" plot --snv "$tmp/sat.tsv" --bigwig "$tmp/out.logp.bw" -r $R -o "$tmp/e.svg"
err 1 "at most 10000" "$H" plot --snv "$tmp/sat.tsv" -r 22:20000001-20010001 -o "$tmp/e.svg"
err 1 "not a region" "$H" plot --snv "$tmp/sat.tsv" -r 22:30-20 -o "$tmp/e.svg"
err 1 "cannot open '$tmp/absent.tsv'" "$H" plot --snv "$tmp/absent.tsv" -r $R -o "$tmp/e.svg"
err 1 "no SNV in" "$H" plot --snv "$tmp/sat.tsv" -r 21:1-100 -o "$tmp/e.svg"
# a whole contig, or one from a position, without -f (no end known): named as given (it read 21:1-9223372034707292159)
err 1 "sat.tsv: no SNV in 21$" "$H" plot --snv "$tmp/sat.tsv" -r 21 -o "$tmp/e.svg"
err 1 "sat.tsv: no SNV in 21:5-$" "$H" plot --snv "$tmp/sat.tsv" -r 21:5 -o "$tmp/e.svg"
printf '22\t20000900\tA\n' > "$tmp/short.tsv"
err 1 "short.tsv: line 1 has 3 columns" "$H" plot --snv "$tmp/short.tsv" -r $R -o "$tmp/e.svg"
printf '#chrom\tpos\tref\talt\tllr\n22\t20000900\tA\tC\tabc\n' > "$tmp/badllr.tsv"
err 1 "line 2.*'abc' is not an LLR" "$H" plot --snv "$tmp/badllr.tsv" -r $R -o "$tmp/e.svg"
printf '#chrom\tpos\tref\talt\tllr\n22\t20000900\tA\tC\t1\n22\t20000900\tA\tC\t2\n' > "$tmp/dup.tsv"
err 1 "two rows for 22:20000900 A>C" "$H" plot --snv "$tmp/dup.tsv" -r $R -o "$tmp/e.svg"
b=$(awk -F'\t' '$2 == 20000900 {print $4; exit}' "$tmp/sat.tsv")   # the real base; the table says another
printf '#chrom\tpos\tref\talt\tllr\n22\t20000900\t%s\tC\t1\n' $([ "$b" = A ] && echo G || echo A) > "$tmp/mism.tsv"
err 1 "is $b in the reference" "$H" plot --snv "$tmp/mism.tsv" -r $R -f "$REF" -o "$tmp/e.svg"
err 1 "is not a bigWig file" "$H" plot --bigwig "$tmp/sat.tsv" -r $RT -o "$tmp/e.svg"
err 1 "no sequence named '7' in $tmp/out.logp.bw" "$H" plot --bigwig "$tmp/out.logp.bw" -r 7:1-100 -o "$tmp/e.svg"
# two files of one track name (two runs' logp): both named ('plot: track 'logp' given twice' named neither)
cp "$tmp/out.logp.bw" "$tmp/run2.logp.bw"
err 1 "option --bigwig: '$tmp/out.logp.bw' and '$tmp/run2.logp.bw' are both the 'logp' track" "$H" plot --bigwig "$tmp/out.logp.bw,$tmp/run2.logp.bw" -r $RT -o "$tmp/e.svg"
echo "5 1.5" | "$MKBW" "$tmp/other.x.bw" chrT 1000
err 1 "contig 22 is not in bigWig file '$tmp/other.x.bw'" "$H" plot --bigwig "$tmp/out.logp.bw,$tmp/other.x.bw" -r $RT -o "$tmp/e.svg"
err 1 "lies outside 22, which has 20100000 bases" "$H" plot --bigwig "$tmp/out.logp.bw" -r 22:20099990-20100010 -o "$tmp/e.svg"
err 1 "cannot open bigWig file" "$H" plot --bigwig "$tmp/absent.bw" -r $RT -o "$tmp/e.svg"
# a truncated bigWig file (a copy cut short) is an error naming it, whatever the cut: libBigWig crashed on a
# file cut after its header, and did not notice a file cut in its zoom levels
sz=$(wc -c < "$tmp/out.logp.bw")
for cut in 64 100 $((sz / 2)) $((sz - 40)) $((sz - 1)); do
  head -c $cut "$tmp/out.logp.bw" > "$tmp/cut.logp.bw"
  err 1 "cannot read bigWig file '$tmp/cut.logp.bw': truncated" "$H" plot --bigwig "$tmp/cut.logp.bw" -r $RT -o "$tmp/e.svg"
done
err 1 "'$tmp' is not a bigWig file" "$H" plot --bigwig "$tmp" -r $RT -o "$tmp/e.svg"
# -o naming an input bigWig is refused, as every command refuses to replace its inputs (the bigWig was replaced)
cp "$tmp/out.logp.bw" "$tmp/same.logp.bw"
"$H" plot --bigwig "$tmp/same.logp.bw" -r $RT -o "$tmp/same.logp.bw" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "refusing to replace an input" "$tmp/err" && cmp -s "$tmp/out.logp.bw" "$tmp/same.logp.bw" \
  && ok || bad "plot -o the input bigWig: status $rc, $(cat "$tmp/err")"
err 1 "given twice" "$H" plot --bigwig "$tmp/out.logp.bw,$tmp/out.logp.bw" -r $RT -o "$tmp/e.svg"
err 1 "option --strip" "$H" plot --snv "$tmp/sat.tsv" -r $R --strip 0 -o "$tmp/e.svg"
err 1 "option --vmax" "$H" plot --snv "$tmp/sat.tsv" -r $R --vmax -1 -o "$tmp/e.svg"
err 1 "draws the scores of --all-snvs" "$H" score-variants -f "$REF" --plot "$tmp/e.svg" "$S/data/example.vcf.gz"
err 1 "the heatmap shows 1 to 10000" "$H" score-variants -f "$REF" --all-snvs -r 22:20000001-20010001 --plot "$tmp/e.svg" -o "$tmp/e.tsv"

finish
