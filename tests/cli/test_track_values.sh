#!/usr/bin/env bash
# test_track_values.sh -- the values of `hyenadna track` at every base of the first two chunks of real DNA
# equal those computed independently (tests/cli/track_expect.py, numpy) from `hyenadna forward --logits` on
# the chunks of the rule: default chunking, small chunks, --rc, N inside the chunks; the bigWig files open
# in pyBigWig with the FASTA's chromosome sizes and zoom levels, and their structure (chromosome tree, data
# R-tree, blocks, zoom records, summary), parsed without libBigWig, is what the UCSC tools read; bedGraph
# output holds the same values; --plot draws the values of the tracks and of the table.
# Needs Debian's python3-numpy and python3-pybigwig (.ci/run installs them); skips (77) without them.
. "$(dirname "$0")/../lib.sh"
need bgzip
M="$S/data/models/default"
PY=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import numpy, pyBigWig' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: python3 with numpy and pyBigWig needed (apt-get install python3-numpy python3-pybigwig)"; exit 77; }
cd "$tmp" || exit 1

# real human DNA from data/example.fa (1-kb records tiling chr22:20,000,001-20,100,000): w1 = 3 kb, w2 = 1 kb
# with 30 N at 401-430, and a third contig the runs leave out (its size must still be in the bigWigs)
rec() { awk -v a="$1" -v b="$2" '/^>/{n++; next} n >= a && n <= b' "$S/data/example.fa" | tr -d '\n'; }
fa() { printf '>%s\n' "$1"; fold -w 60; echo; }
rec 1 3 | fa w1 > ref.fa
rec 4 4 | awk '{print substr($0,1,400) "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNN" substr($0,431)}' | tr -d '\n' | fa w2 >> ref.fa
rec 5 5 | cut -c1-777 | fa other >> ref.fa

expect() {   # CONTIG C O RC PREFIX
  if "$PY" "$S/tests/cli/track_expect.py" "$H" "$M" ref.fa "$@" > expect.log 2>&1; then ok; tail -1 expect.log
  else bad "values of $5 ($1, C=$2 O=$3 rc=$4) differ from forward --logits"; head -12 expect.log | sed 's/^/    /'; fi
}
# the default chunking of the default model: C = 1026 (its maximum length), O = 513
"$H" track -m "$M" -f ref.fa -r w1,w2 --what all -o d 2>/dev/null || bad "default run failed"
expect w1 1026 513 0 d
# small chunks, forward and averaged with the reverse strand; N inside the first chunks of w2
"$H" track -m "$M" -f ref.fa -r w1,w2 --what all --chunk 300 --overlap 100 -o s 2>/dev/null || bad "small-chunk run failed"
expect w1 300 100 0 s
expect w2 300 100 0 s
"$H" track -m "$M" -f ref.fa -r w1,w2 --what all --chunk 300 --overlap 100 --rc -o r 2>/dev/null || bad "--rc run failed"
expect w1 300 100 1 r
expect w2 300 100 1 r
# a region: its chunks start O bases before it (not at the contig start), the bases around it are gaps
"$H" track -m "$M" -f ref.fa -r w1:1234-2345 --what all --chunk 300 --overlap 100 -o g 2>/dev/null || bad "region run failed"
expect w1 300 100 0 g 1234 2345
"$H" track -m "$M" -f ref.fa -r w1:1234-2345 --what all --chunk 300 --overlap 100 --rc -o gr 2>/dev/null || bad "region --rc run failed"
expect w1 300 100 1 gr 1234 2345

# bedGraph: the same values as the bigWig (printed %.6g), the same gaps
"$H" track -m "$M" -f ref.fa -r w1,w2 --what logp,probs --chunk 300 --overlap 100 -O bedgraph -o s 2>/dev/null || bad "bedgraph run failed"
if "$PY" - <<'EOF'
import gzip, math, pyBigWig
bad = 0
for t in ["logp", "A", "C", "G", "T"]:
    bw = pyBigWig.open("s.%s.bw" % t)
    got = {}
    for line in gzip.open("s.%s.bedgraph.gz" % t, "rt"):
        if line.startswith("#"):
            continue
        c, b, e, v = line.split("\t")
        got[(c, int(b))] = float(v)
    n = 0
    for c, L in bw.chroms().items():
        for iv in bw.intervals(c) or []:
            n += 1
            v = got.get((c, iv[0]))
            if v is None or abs(v - iv[2]) > 1e-5 * max(1, abs(iv[2])):
                bad += 1
    if n != len(got) or n < 3000:
        bad += 1
        print("%s: %d bigWig values, %d bedGraph lines" % (t, n, len(got)))
raise SystemExit(1 if bad else 0)
EOF
then ok; else bad "bedGraph values differ from the bigWig's"; fi

# --plot: the picture's values (the <title> of every point and cell) are those of the tracks and of the table
"$H" track -m "$M" -f ref.fa -r w2:381-460 --what logp,entropy,probs --chunk 300 --overlap 100 --plot p.svg -o p 2>/dev/null \
  && "$H" track -m "$M" -f ref.fa -r w2:381-460 --what llr --chunk 300 --overlap 100 --plot h.svg -o h 2>/dev/null \
  || bad "--plot runs failed"
if "$PY" - <<'EOF2'
import gzip, math, re, xml.etree.ElementTree as ET
import pyBigWig
bad = 0
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse("p.svg").getroot()
groups = {g.get("data-track"): g for g in root.iter(ns + "g") if g.get("class") == "points"}
for t in ["logp", "entropy", "A", "C", "G", "T"]:
    bw = pyBigWig.open("p.%s.bw" % t)
    want = bw.values("w2", 380, 460)
    got = {}
    for el in groups.get(t, ET.Element("g")).iter(ns + "title"):
        pos, val = el.text.split()
        got[int(pos)] = float(val)
    for i, w in enumerate(want):
        g = got.get(381 + i)
        if math.isnan(w):
            bad += g is not None   # a gap is drawn as a gap: no point
        elif g is None or abs(g - w) > 1e-5 * max(1, abs(w)):
            bad += 1
    if len(got) != sum(not math.isnan(w) for w in want) or len(got) < 40:
        bad += 1
        print("%s: %d points for %d values" % (t, len(got), sum(not math.isnan(w) for w in want)))
# the heatmap: 3 cells with a value per base with a value, equal to the table
rows = {}
for line in gzip.open("h.snv.tsv.gz", "rt"):
    if not line.startswith("#"):
        c, p, r, a, v = line.split()
        rows[(int(p), r, a)] = float(v)
cells = {}
for el in ET.parse("h.svg").getroot().iter(ns + "title"):
    m = re.fullmatch(r"(\d+) ([ACGT])>([ACGT]) (\S+)", el.text or "")
    if m and m.group(4) not in ("no", "."):
        try:
            cells[(int(m.group(1)), m.group(2), m.group(3))] = float(m.group(4))
        except ValueError:
            pass
if cells.keys() != rows.keys() or any(abs(cells[k] - rows[k]) > 1e-5 * max(1, abs(rows[k])) for k in rows):
    bad += 1
    print("heatmap: %d cells, table: %d rows" % (len(cells), len(rows)))
raise SystemExit(1 if bad else 0)
EOF2
then ok; else bad "--plot values differ from the tracks or the table"; fi

finish
