#!/usr/bin/env bash
# test_plot_browser.sh -- a heatmap of `hyenadna plot` opened in a headless browser (Debian chromium):
# the screenshot has the SVG's size and is not all one colour.  Exits 77 without chromium or python3.
. "$(dirname "$0")/../lib.sh"
need python3
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "SKIP: chromium missing (Debian package chromium)"; exit 77; }
CHECK="python3 $S/tests/cli/plot_check.py"
# an SNV table of 120 positions (made-up bases and LLRs: the picture is what is tested)
awk 'BEGIN { printf "#chrom\tpos\tref\talt\tllr\n";
  for (i = 1; i <= 120; i++) { r = substr("ACGT", (i * 7) % 4 + 1, 1);
    for (k = 1; k <= 4; k++) { a = substr("ACGT", k, 1); if (a != r) printf "chrT\t%d\t%s\t%s\t%.4f\n", 1000 + i, r, a, sin(i * 0.37 + k) * 3 } } }' > "$tmp/snv.tsv"
"$H" plot --snv "$tmp/snv.tsv" -r chrT:1001-1120 -o "$tmp/h.svg" || { echo "FAIL: plot"; exit 1; }
wh=$($CHECK size "$tmp/h.svg") || { echo "FAIL: $wh"; exit 1; }
w=${wh% *}; h=${wh#* }
timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size="$w,$h" --screenshot="$tmp/shot.png" "file://$tmp/h.svg" >"$tmp/log" 2>&1
[ -s "$tmp/shot.png" ] || { echo "FAIL: chromium wrote no screenshot"; tail -5 "$tmp/log"; exit 1; }
$CHECK png "$tmp/shot.png" "$w" "$h" && ok || bad "the screenshot"
finish
