#!/usr/bin/env bash
# bench_short.sh -- many short sequences: `hyenadna embed` on N random reads of LEN bases with the bundled
# default model, from FASTA and from BAM, at each thread count, in reads per second (wall) and per CPU-second.
# Target (issue 21 item 2): >= 1,000 reads/s for 150-bp reads with the default model on 2 cores, scaling
# with cores, the same output bits for every thread count and batch size (checked here too).
#
#   bench/bench_short.sh [HYENADNA]        (default ./hyenadna)
# Environment: N (reads, 20000), LEN (bases per read, 150), THREADS ("1 2"), BATCH (-b for embed; empty =
#   its default), BAM (1: also from a BAM of the same reads, when samtools is installed; 0: FASTA only),
#   MODEL (the bundled default model), OUT (bench/out/short).
# Prints one TSV line per run: input (fa or bam) reads len threads wall_s cpu_s reads_per_s reads_per_cpu_s peak_rss_mb
# (cpu_s = user + system; peak_rss_mb from /usr/bin/time), and exits 1 if the outputs differ between runs.
# Quick check of the script: N=500 bench/bench_short.sh _build/hyenadna
set -eu
H=${1:-./hyenadna}
here=$(cd "$(dirname "$0")" && pwd)
M=${MODEL:-$here/../data/models/default}
N=${N:-20000}; LEN=${LEN:-150}
THREADS=${THREADS:-"1 2"}
BATCH=${BATCH:-}
BAM=${BAM:-1}
OUT=${OUT:-$here/out/short}
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "bench_short.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

# N random reads (fixed seed) as FASTA, and as a BAM of reads aligned end to end on one contig
awk -v N="$N" -v L="$LEN" 'BEGIN{srand(21); split("ACGT",b,"");
  for (r=0; r<N; r++) { s=""; for (i=0; i<L; i++) s=s b[int(rand()*4)+1]; printf ">r%d\n%s\n", r, s } }' > "$OUT/reads.fa"
inputs="fa"
if [ "$BAM" = 1 ] && command -v samtools >/dev/null 2>&1; then
  awk -v L="$LEN" 'BEGIN{ printf "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:%d\n", 1000000000 }
    /^>/ { name=substr($1,2); next }
    { n++; printf "%s\t0\tchr1\t%d\t60\t%dM\t*\t0\t0\t%s\t*\n", name, n, L, $0 }' "$OUT/reads.fa" |
    samtools view -b -o "$OUT/reads.bam" -
  inputs="fa bam"
elif [ "$BAM" = 1 ]; then
  echo "bench_short.sh: samtools not installed, FASTA only" >&2
fi

printf 'input\treads\tlen\tthreads\twall_s\tcpu_s\treads_per_s\treads_per_cpu_s\tpeak_rss_mb\n'
status=0
for in in $inputs; do
  first=
  for t in $THREADS; do
    p="$OUT/$in.t$t"
    t0=$(date +%s.%N)
    /usr/bin/time -f 'cpu %U %S %M' -o "$p.time" "$H" embed -m "$M" -@ "$t" ${BATCH:+-b "$BATCH"} \
      -o "$p.tsv" "$OUT/reads.$in" 2> "$p.err" || { echo "bench_short.sh: embed failed:" >&2; cat "$p.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    rows=$(grep -vc '^#' "$p.tsv" || true)
    [ "$rows" = "$N" ] || { echo "bench_short.sh: $p.tsv has $rows rows, expected $N" >&2; status=1; }
    awk -v src="$in" -v n="$N" -v l="$LEN" -v t="$t" -v a="$t0" -v b="$t1" '/^cpu/ {
      c = $2 + $3; w = b - a; printf "%s\t%d\t%d\t%s\t%.2f\t%.2f\t%.0f\t%.0f\t%.1f\n", src, n, l, t, w, c, n / w, n / c, $4 / 1024 }' "$p.time"
    # the vectors must not depend on the thread count (the read names and order are the same too)
    if [ -z "$first" ]; then first=$p.tsv
    elif ! cmp -s "$first" "$p.tsv"; then echo "bench_short.sh: $in output differs between -@ ${THREADS%% *} and -@ $t" >&2; status=1; fi
  done
done
exit $status
