#!/usr/bin/env bash
# bench_track.sh -- throughput and memory of `hyenadna track`: a 10-Mb region of real human DNA with the
# bundled default model, every track (--what all: 7 bigWigs and the SNV table), in bases per CPU-second
# and peak RSS.  Target (issue 17): >= 50,000 bases per CPU-second for the default model.
#
#   bench/bench_track.sh [HYENADNA]        (default ./hyenadna)
# Environment: REF (a FASTA; default: human GRCh37 chr20 from Debian's vt-examples package, fetched once
#   into $OUT with `apt-get download`, nothing installed), REGION (20:30000001-40000000, 10 Mb, 0.1 % N),
#   THREADS ("1 2"), WHAT (all), EXTRA (further options, e.g. "--rc"), MODEL (the bundled default model),
#   OUT (bench/out/track).
# Prints one TSV line per run: region bases threads wall_s cpu_s bases_per_cpu_s peak_rss_mb forward_passes
# (cpu_s = user + system time, the robust measure on a shared machine; peak_rss_mb from /usr/bin/time).
# Quick check of the script: REGION=20:30000001-30200000 bench/bench_track.sh
set -eu
H=${1:-./hyenadna}
here=$(cd "$(dirname "$0")" && pwd)
M=${MODEL:-$here/../data/models/default}
OUT=${OUT:-$here/out/track}
REGION=${REGION:-20:30000001-40000000}
THREADS=${THREADS:-"1 2"}
WHAT=${WHAT:-all}
EXTRA=${EXTRA:-}
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "bench_track.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

REF=${REF:-}
if [ -z "$REF" ]; then
  REF=$OUT/20.fa.gz
  if [ ! -s "$REF" ]; then   # BGZF human chr20 (63 Mb) with its .fai, from the vt-examples package
    d=$(mktemp -d)
    (cd "$d" && apt-get download -q vt-examples >/dev/null 2>&1) || { echo "bench_track.sh: apt-get download vt-examples failed; set REF" >&2; exit 1; }
    for f in 20.fa.gz 20.fa.gz.fai; do
      dpkg-deb --fsys-tarfile "$d"/vt-examples_*.deb | tar -xO "./usr/share/doc/vt/examples/ref/$f" > "$OUT/$f"
    done
    rm -rf "$d" "$OUT/20.fa.gz.gzi"
  fi
fi

printf 'region\tbases\tthreads\twall_s\tcpu_s\tbases_per_cpu_s\tpeak_rss_mb\tforward_passes\n'
for t in $THREADS; do
  p="$OUT/run.t$t"
  rm -f "$p".*
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  /usr/bin/time -f 'cpu %U %S %M' -o "$OUT/time.t$t" "$H" track -m "$M" -f "$REF" -r "$REGION" --what "$WHAT" \
    --threads "$t" $EXTRA -o "$p" 2> "$OUT/err.t$t"
  t1=$(date +%s.%N)
  line=$(grep '^hyenadna track: [0-9]* bases' "$OUT/err.t$t")
  bases=$(echo "$line" | sed 's/^hyenadna track: \([0-9]*\) bases.*/\1/')
  fw=$(echo "$line" | grep -o '[0-9]* forward passes' | cut -d' ' -f1)
  awk -v r="$REGION" -v n="$bases" -v t="$t" -v a="$t0" -v b="$t1" -v f="$fw" '/^cpu/ {
    c = $2 + $3; printf "%s\t%d\t%s\t%.2f\t%.2f\t%.0f\t%.1f\t%s\n", r, n, t, b - a, c, n / c, $4 / 1024, f }' "$OUT/time.t$t"
done
