#!/usr/bin/env bash
# test_plot_browser.sh -- a heatmap of `hyenadna plot` opened in a headless browser (Debian chromium):
# the screenshot has the SVG's size and is not all one colour.  Exits 77 without chromium or python3.
set -u
H=${HYENADNA:?HYENADNA not set}
S=${SRCDIR:?SRCDIR not set}
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "SKIP: chromium missing (Debian package chromium)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
CHECK="python3 $S/tests/cli/plot_check.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# an SNV table of 120 positions (made-up bases and LLRs: the picture is what is tested)
awk 'BEGIN { printf "#chrom\tpos\tref\talt\tllr\n";
  for (i = 1; i <= 120; i++) { r = substr("ACGT", (i * 7) % 4 + 1, 1);
    for (k = 1; k <= 4; k++) { a = substr("ACGT", k, 1); if (a != r) printf "chrT\t%d\t%s\t%s\t%.4f\n", 1000 + i, r, a, sin(i * 0.37 + k) * 3 } } }' > "$T/snv.tsv"
"$H" plot --snv "$T/snv.tsv" -r chrT:1001-1120 -o "$T/h.svg" || { echo "FAIL: plot"; exit 1; }
wh=$($CHECK size "$T/h.svg") || { echo "FAIL: $wh"; exit 1; }
w=${wh% *}; h=${wh#* }
timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$T/profile" \
  --window-size="$w,$h" --screenshot="$T/shot.png" "file://$T/h.svg" >"$T/log" 2>&1
[ -s "$T/shot.png" ] || { echo "FAIL: chromium wrote no screenshot"; tail -5 "$T/log"; exit 1; }
$CHECK png "$T/shot.png" "$w" "$h" || exit 1
echo "1 passed, 0 failed"
