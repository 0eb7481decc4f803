#!/usr/bin/env bash
# bench_hyena.sh -- hyenadna forward vs a PyTorch implementation of the same HyenaDNA model
# (bench/hyena_torch.py, CPU, same thread count) at 1k, 32k, 160k and 1M tokens, on random-weight models
# in the exact layout and shape of the public sizes (bench/make_hyena_model.py).  Prints wall seconds,
# CPU seconds (user+sys: robust when other jobs share the machine), peak RSS and the ratios, and the
# CPU seconds the forward's GEMMs alone take at the SGEMM rate measured by bench/gemm_rate.
#
# usage: bench/bench_hyena.sh [BUILD_DIR] [THREADS] [LENGTHS...]
#   BUILD_DIR holds the hyenadna binary (bench/gemm_rate is built there with make bench/gemm_rate) [.]
#   LENGTHS default: 1024 32768 160000 1000000
#   HD_BENCH_PY=/path/to/python3 selects the PyTorch to compare with [/usr/bin/python3: Debian python3-torch]
#   HD_BENCH_TORCH=0 skips the PyTorch runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}; threads=${2:-2}; shift $(( $# > 2 ? 2 : $# )) || true
lengths=${*:-1024 32768 160000 1000000}
py=${HD_BENCH_PY:-/usr/bin/python3}
gen=$py   # make_hyena_model.py needs torch too
out=$here/out; mkdir -p "$out"
H=$build/hyenadna
make -C "$build" bench/gemm_rate >/dev/null   # rebuilt when stale

model_for() {   # the smallest public size that takes L tokens
  if [ "$1" -le 32770 ]; then echo small-32k; elif [ "$1" -le 160002 ]; then echo medium-160k
  elif [ "$1" -le 450002 ]; then echo medium-450k; else echo large-1m; fi
}
shape() { case $1 in small-32k) echo "256 1024 4";; *) echo "256 1024 8";; esac; }

printf '%-12s %8s | %8s %8s %7s | %8s %8s %7s | %6s %6s %6s | %8s\n' \
  model L hd_wall hd_cpu hd_MB pt_wall pt_cpu pt_MB wall_x cpu_x mem_x gemm_cpu
for L in $lengths; do
  m=$(model_for "$L")
  [ -f "$out/$m/model.safetensors" ] || $gen "$here/make_hyena_model.py" "$m" "$out/$m"
  fa=$out/rand_$L.fa
  [ -f "$fa" ] || $gen - "$L" "$fa" <<'PY'
import random, sys
L, path = int(sys.argv[1]), sys.argv[2]
random.seed(L)
s = "".join(random.choice("ACGT") for _ in range(L))
open(path, "w").write(">rand\n" + "\n".join(s[i:i + 60] for i in range(0, L, 60)) + "\n")
PY
  read -r hw hu hs hk < <( { /usr/bin/time -f "%e %U %S %M" "$H" forward --no-hidden -m "$out/$m" --threads "$threads" \
                               -o "$out/hd_$L.safetensors" "$fa" ; } 2>&1 | tail -1)
  rm -f "$out/hd_$L.safetensors"
  gc=$(OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OMP_WAIT_POLICY=passive "$build/bench/gemm_rate" $(shape "$m") "$L" "$threads" \
       | sed 's/.*gemm_cpu_seconds=//')
  pw=NA; pc=NA; pk=0
  if [ "${HD_BENCH_TORCH:-1}" = 1 ]; then
    t=$($py "$here/hyena_torch.py" "$out/$m" "$L" --threads "$threads" 2>&1 | tail -1 || true)
    pw=$(echo "$t" | sed -n 's/.*seconds=\([0-9.]*\) cpu.*/\1/p'); pc=$(echo "$t" | sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p')
    pk=$(echo "$t" | sed -n 's/.*peak_rss_kb=\([0-9]*\).*/\1/p'); pw=${pw:-NA}; pc=${pc:-NA}; pk=${pk:-0}
  fi
  awk -v m="$m" -v L="$L" -v hw="$hw" -v hc="$(echo "$hu + $hs" | bc)" -v hk="$hk" -v pw="$pw" -v pc="$pc" -v pk="$pk" -v gc="$gc" 'BEGIN{
    wx = (pw=="NA") ? "NA" : sprintf("%.2f", pw/hw); cx = (pc=="NA") ? "NA" : sprintf("%.2f", pc/hc)
    mx = (pk==0) ? "NA" : sprintf("%.2f", hk/pk)
    printf "%-12s %8d | %8.2f %8.2f %7.0f | %8s %8s %7s | %6s %6s %6s | %8.2f\n", m, L, hw, hc, hk/1024, pw, pc, (pk==0?"NA":sprintf("%.0f", pk/1024)), wx, cx, mx, gc }'
done
echo "wall_x, cpu_x: PyTorch time / hyenadna time (higher is better); mem_x: hyenadna peak RSS / PyTorch peak RSS;"
echo "gemm_cpu: CPU seconds the forward's dense projections alone take at the measured SGEMM rate."
