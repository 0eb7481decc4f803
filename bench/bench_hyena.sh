#!/usr/bin/env bash
# bench_hyena.sh -- hyenadna forward vs a PyTorch implementation of the same HyenaDNA model
# (bench/hyena_torch.py, Debian's python3-torch, CPU, same thread count) at 1k, 32k, 160k and 1M tokens,
# on random-weight models in the exact layout and shape of the public sizes (bench/make_hyena_model.py).
# Prints seconds, peak RSS and the ratios, plus the SGEMM-only estimate for each forward.
#
# usage: bench/bench_hyena.sh [BUILD_DIR] [THREADS] [LENGTHS...]
#   BUILD_DIR holds the hyenadna binary and bench/gemm_rate (make bench/gemm_rate) [.]
#   LENGTHS default: 1024 32768 160000 1000000.  HD_BENCH_TORCH=0 skips PyTorch runs (they need ~20 GB at 1M).
#   HD_BENCH_PY=/path/to/venv/bin/python3 compares with another PyTorch (e.g. PyPI torch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}; threads=${2:-2}; shift $(( $# > 2 ? 2 : $# )) || true
lengths=${*:-1024 32768 160000 1000000}
py=${HD_BENCH_PY:-/usr/bin/python3}   # the PyTorch to compare with (Debian python3-torch, or a venv with PyPI torch)
out=$here/out; mkdir -p "$out"
H=$build/hyenadna
[ -x "$build/bench/gemm_rate" ] || make -C "$build" bench/gemm_rate >/dev/null

model_for() {   # the smallest public size that takes L tokens
  if [ "$1" -le 32770 ]; then echo small-32k; elif [ "$1" -le 160002 ]; then echo medium-160k
  elif [ "$1" -le 450002 ]; then echo medium-450k; else echo large-1m; fi
}
shape() { case $1 in small-32k) echo "256 1024 4";; *) echo "256 1024 8";; esac; }

printf '%-12s %8s | %9s %9s | %9s %9s | %7s %7s | %9s\n' model L hd_s hd_rss_MB torch_s torch_rss_MB speedup mem_ratio gemm_only_s
for L in $lengths; do
  m=$(model_for "$L")
  [ -f "$out/$m/model.safetensors" ] || $py "$here/make_hyena_model.py" "$m" "$out/$m"
  fa=$out/rand_$L.fa
  [ -f "$fa" ] || $py - "$L" "$fa" <<'PY'
import random, sys
L, path = int(sys.argv[1]), sys.argv[2]
random.seed(L)
s = "".join(random.choice("ACGT") for _ in range(L))
open(path, "w").write(">rand\n" + "\n".join(s[i:i + 60] for i in range(0, L, 60)) + "\n")
PY
  hd=$( { /usr/bin/time -f "%e %M" "$H" forward -m "$out/$m" --threads "$threads" -o "$out/hd_$L.safetensors" "$fa" ; } 2>&1 | tail -1)
  hd_s=${hd% *}; hd_kb=${hd#* }
  rm -f "$out/hd_$L.safetensors"
  g=$(OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OMP_WAIT_POLICY=passive "$build/bench/gemm_rate" $(shape "$m") "$L" "$threads")
  gs=$(echo "$g" | sed 's/.*gemm_seconds=//')
  if [ "${HD_BENCH_TORCH:-1}" = 1 ]; then
    t=$($py "$here/hyena_torch.py" "$out/$m" "$L" --threads "$threads" 2>&1 | tail -1 || true)
    t_s=$(echo "$t" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p'); t_kb=$(echo "$t" | sed -n 's/.*peak_rss_kb=\([0-9]*\).*/\1/p')
  fi
  t_s=${t_s:-NA}; t_kb=${t_kb:-0}
  awk -v m="$m" -v L="$L" -v hs="$hd_s" -v hk="$hd_kb" -v ts="$t_s" -v tk="$t_kb" -v gs="$gs" 'BEGIN{
    sp = (ts=="NA") ? "NA" : sprintf("%.2fx", ts/hs); mr = (tk==0) ? "NA" : sprintf("%.2f", hk/tk);
    printf "%-12s %8d | %9.2f %9.0f | %9s %9s | %7s %7s | %9.2f\n", m, L, hs, hk/1024, ts, (tk==0?"NA":sprintf("%.0f", tk/1024)), sp, mr, gs }'
done
