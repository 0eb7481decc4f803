#!/usr/bin/env bash
# bench_evo2.sh -- Evo 2 on the CPU: `hyenadna forward` against a plain PyTorch forward of the same model
# (bench/evo2_torch.py, float32 and bfloat16) at 1k, 8k and 32k tokens on a random-weight model of the real
# 7B shape (bench/make_evo2, BF16, 13 GB), and the time the forward's dense GEMMs alone take at the rate
# bench/evo2_gemm_rate measures (the floor for a CPU implementation).  Prints, per length: wall and CPU
# seconds, tokens/s and peak RSS of each, the RSS above the model file's size (the issue's budget: weights
# + 2 GB at 8k), the ratio to the GEMM-only time (target ≤ 1.3) and to PyTorch (target ≥ 3× faster, ≤ ½ the
# memory); then how time and memory grow from the first length to the last.
#
# usage: bench/bench_evo2.sh [BUILD_DIR] [THREADS] [LENGTHS...]
#   BUILD_DIR holds hyenadna and bench/make_evo2 (make bench-tools; bench/evo2_gemm_rate is built here) [.]
#   LENGTHS default: 1024 8192 32768
#   HD_EVO2_MODEL=DIR  the model to time [bench/out/evo2-7b, written by make_evo2 when absent: 13 GB on disk,
#                      about a minute; remove it afterwards]
#   HD_EVO2_SHAPE="-H 64 -n 8 -a 4 -i 176 -g 16"  make_evo2 options (a small shape, to check this script)
#   HD_BENCH_PY=python3 with torch and PyYAML [python3]; HD_BENCH_TORCH=0 skips PyTorch
#   PRECISION=bf16 (or HYENADNA_PRECISION)  hyenadna's forward and the GEMM floor in bf16 (AMX where the processor has it,
#                      else VDPBF16PS) [fp32]; the PyTorch runs are unchanged
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}; threads=${2:-2}; shift $(( $# > 2 ? 2 : $# )) || true
lengths=${*:-1024 8192 32768}
prec=${PRECISION:-${HYENADNA_PRECISION:-fp32}}
echo "hyenadna precision: $prec"
py=${HD_BENCH_PY:-python3}
out=$here/out; mkdir -p "$out"
H=$build/hyenadna
model=${HD_EVO2_MODEL:-$out/evo2-7b}
make -C "$build" bench/evo2_gemm_rate bench/make_evo2 >/dev/null   # rebuilt when stale
if [ ! -f "$model/model.safetensors" ]; then
  echo "writing $model with bench/make_evo2 ${HD_EVO2_SHAPE:-(the 7B shape)}" >&2
  "$build/bench/make_evo2" ${HD_EVO2_SHAPE:-} "$model" >&2
fi
cfg=$model/config.yml
get() { sed -n "s/^$1: *//p" "$cfg" | head -1; }
hid=$(get hidden_size); inner=$(get inner_mlp_size); nl=$(get num_layers)
nattn=$(get attn_layer_idxs | tr -cd ',0-9' | awk -F, '{print ($0 == "" ? 0 : NF)}')
wbytes=$(stat -c %s "$model/model.safetensors")

printf '%7s | %8s %8s %8s %7s %8s | %8s %6s | %8s %8s %7s | %8s %8s %7s | %6s %6s\n' \
  L hd_wall hd_cpu tok_s RSS_MB over_MB gemm_cpu x_gemm f32_wall f32_cpu f32_MB bf16_wall bf16_cpu bf16_MB x_f32 mem_f32
first=; last=
for L in $lengths; do
  fa=$out/evo2_rand_$L.fa
  [ -f "$fa" ] || $py - "$L" "$fa" <<'PY'
import random, sys
L, path = int(sys.argv[1]), sys.argv[2]
random.seed(L)
s = "".join(random.choice("ACGT") for _ in range(L))
open(path, "w").write(">rand\n" + "\n".join(s[i:i + 60] for i in range(0, L, 60)) + "\n")
PY
  read -r hw hu hs hk < <( { /usr/bin/time -f "%e %U %S %M" "$H" forward --no-hidden --logits -m "$model" --threads "$threads" --precision "$prec" \
                               -o "$out/evo2_hd_$L.safetensors" "$fa" ; } 2>&1 | tail -1)
  gc=$("$build/bench/evo2_gemm_rate" "$hid" "$inner" "$nl" "$nattn" "$L" "$threads" "$prec" | sed 's/.*gemm_cpu_seconds=\([0-9.]*\).*/\1/')
  f32="NA NA 0 NA"; b16="NA NA 0"
  if [ "${HD_BENCH_TORCH:-1}" = 1 ]; then
    t=$($py "$here/evo2_torch.py" "$model" "$L" --threads "$threads" --check "$out/evo2_hd_$L.safetensors" 2>&1 | tail -1 || true)
    f32="$(echo "$t" | sed -n 's/.*seconds=\([0-9.]*\) cpu_seconds=\([0-9.]*\) peak_rss_kb=\([0-9]*\).*check_rel_F=\([0-9.e+-]*\).*/\1 \2 \3 \4/p')"
    [ -n "$f32" ] || { echo "evo2_torch.py float32 failed: $t" >&2; f32="NA NA 0 NA"; }
    t=$($py "$here/evo2_torch.py" "$model" "$L" --threads "$threads" --dtype bfloat16 2>&1 | tail -1 || true)
    b16="$(echo "$t" | sed -n 's/.*seconds=\([0-9.]*\) cpu_seconds=\([0-9.]*\) peak_rss_kb=\([0-9]*\).*/\1 \2 \3/p')"
    [ -n "$b16" ] || { echo "evo2_torch.py bfloat16 failed: $t" >&2; b16="NA NA 0"; }
  fi
  rm -f "$out/evo2_hd_$L.safetensors"
  read -r fw fc fk frel <<<"$f32"; read -r bw bc bk <<<"$b16"
  hc=$(echo "$hu + $hs" | bc)
  awk -v L="$L" -v hw="$hw" -v hc="$hc" -v hk="$hk" -v wb="$wbytes" -v gc="$gc" -v fw="$fw" -v fc="$fc" -v fk="$fk" \
      -v bw="$bw" -v bc="$bc" -v bk="$bk" 'BEGIN{
    xf = (fc=="NA") ? "NA" : sprintf("%.2f", fc/hc); mf = (fk==0) ? "NA" : sprintf("%.2f", hk/fk)
    printf "%7d | %8.2f %8.2f %8.0f %7.0f %8.0f | %8.2f %6.2f | %8s %8s %7s | %8s %8s %7s | %6s %6s\n", L, hw, hc, L/hw, hk/1024,
           (hk*1024-wb)/1e6, gc, hc/gc, fw, fc, (fk==0?"NA":sprintf("%.0f", fk/1024)), bw, bc, (bk==0?"NA":sprintf("%.0f", bk/1024)), xf, mf }'
  [ "$frel" = NA ] || echo "        (PyTorch float32 logits vs hyenadna: rel_F $frel)"
  [ -n "$first" ] || first="$L $hc $hk"
  last="$L $hc $hk"
done
read -r L0 c0 k0 <<<"$first"; read -r L1 c1 k1 <<<"$last"
awk -v L0="$L0" -v c0="$c0" -v k0="$k0" -v L1="$L1" -v c1="$c1" -v k1="$k1" -v wb="$wbytes" 'BEGIN{
  printf "growth %d -> %d tokens (x%.0f): CPU time x%.1f, peak RSS x%.2f, RSS above the weights %.0f -> %.0f MB\n",
         L0, L1, L1/L0, c1/c0, k1/k0, (k0*1024-wb)/1e6, (k1*1024-wb)/1e6 }'
echo "hd_*: hyenadna forward (whole command); tok_s = L / wall; over_MB = peak RSS - model file size (mapped weights);"
echo "gemm_cpu: CPU seconds of the dense GEMMs alone at the measured rate; x_gemm = hd_cpu / gemm_cpu (target <= 1.3);"
echo "x_f32 = PyTorch float32 CPU s / hyenadna CPU s (target >= 3); mem_f32 = hyenadna RSS / PyTorch RSS (target <= 0.5)."
