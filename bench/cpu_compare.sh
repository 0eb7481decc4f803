#!/usr/bin/env bash
# cpu_compare.sh -- CPU seconds (user+sys) of the same command under several hyenadna binaries, run in
# turn R times each (interleaved, so that a change in the machine's load hits them alike); prints the
# median and the minimum per binary.  For comparing builds on a shared machine, where wall times are noise.
# usage: bench/cpu_compare.sh R "ARGS..." BIN1 BIN2 ...      e.g.
#   bench/cpu_compare.sh 5 "forward --no-hidden -m bench/out/small-32k -@ 2 -o /tmp/x.st bench/out/rand_32768.fa" /tmp/hd_base _build/hyenadna
set -euo pipefail
R=$1; args=$2; shift 2
declare -A all
tf=$(mktemp); trap 'rm -f "$tf"' EXIT
for ((i = 0; i < R; i++)); do
  for b in "$@"; do
    /usr/bin/time -o "$tf" -f "%U %S" "$b" $args >/dev/null 2>&1
    c=$(tail -1 "$tf" | awk '{print $1 + $2}')
    all[$b]="${all[$b]:-} $c"
  done
done
for b in "$@"; do
  echo "${all[$b]}" | tr ' ' '\n' | grep . | sort -g | awk -v b="$b" '{v[NR] = $1} END {printf "%-40s median %.3f  min %.3f  (n=%d)\n", b, v[int((NR + 1) / 2)], v[1], NR}'
done
