#!/usr/bin/env bash
# bench_caduceus.sh -- hyenadna forward on Caduceus and DNA-xLSTM against each model's floor, at 1k, 32k and
# 131k tokens: the Caduceus 131k shape (d_model 256, 16 layers, PH; bench_caduceus.py --model-only) and
# DNA-xLSTM at its public sizes 500k and 2M (bench/make_model -a mlstm -b -c 1024: 4 bidirectional mLSTM blocks,
# chunk 1024 as the pre-training scripts set it, RoPE table as long as the longest run),
# random weights and random DNA.  Prints wall seconds, CPU seconds (user + sys), peak RSS, the floor
# (bench/ssm_floor: the forward's GEMMs at the SGEMM rate the CPU backend reaches on the model's shapes plus
# its recurrence work at the measured vector exp/FMA update rate, on the same threads) and wall / floor
# (target ≤ 1.5).  With HD_BENCH_TORCH=1, Caduceus is also timed against bench_caduceus.py's PyTorch model
# (its scan is a Python loop over positions: ≈ 50 s per 1k tokens, so only up to HD_BENCH_TORCH_MAX tokens);
# bench/ has no PyTorch implementation of DNA-xLSTM.
#
# usage: bench/bench_caduceus.sh [BUILD_DIR] [THREADS] [LENGTHS...]
#   BUILD_DIR holds the hyenadna binary, bench/ssm_floor and bench/make_model (made there when absent) [.]
#   LENGTHS default: 1024 32768 131072
#   HD_BENCH_MODELS  which models, from caduceus-ph caduceus-ps xlstm-500k xlstm-2m [caduceus-ph xlstm-500k xlstm-2m]
#   HD_BENCH_TORCH=1 also run PyTorch (Caduceus) up to HD_BENCH_TORCH_MAX tokens [1024], with HD_BENCH_PY [/usr/bin/python3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}; threads=${2:-2}; shift $(( $# > 2 ? 2 : $# )) || true
lengths=${*:-1024 32768 131072}
models=${HD_BENCH_MODELS:-caduceus-ph xlstm-500k xlstm-2m}
py=${HD_BENCH_PY:-/usr/bin/python3}
gen=/usr/bin/python3
out=$here/out/ssm; mkdir -p "$out"
H=$build/hyenadna
for t in ssm_floor make_model; do make -C "$build" "bench/$t" >/dev/null; done   # rebuilt when stale
maxL=0; for L in $lengths; do [ "$L" -gt "$maxL" ] && maxL=$L; done
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

make_model() {   # name dir
  case $1 in
    caduceus-ph) $gen "$here/bench_caduceus.py" --model-only --workdir "$out/cad" >/dev/null; echo "$out/cad/model-ph";;
    caduceus-ps) $gen "$here/bench_caduceus.py" --model-only --rcps --workdir "$out/cad" >/dev/null; echo "$out/cad/model-ps";;
    xlstm-500k|xlstm-2m)
             d=$out/${1}-$maxL; D=128; [ "$1" = xlstm-2m ] && D=256
             [ -f "$d/model.safetensors" ] || "$build/bench/make_model" -a mlstm -b -c 1024 -d $D -n 4 -L "$maxL" "$d" >/dev/null
             echo "$d";;
    *) echo "bench_caduceus.sh: unknown model $1" >&2; exit 1;;
  esac
}
floor_args() {   # name -> ssm_floor arguments before L
  case $1 in
    caduceus-ph) echo "caduceus 256 16";; caduceus-ps) echo "caduceus 256 16";;
    xlstm-500k) echo "xlstm 128 4";; xlstm-2m) echo "xlstm 256 4";;
  esac
}

echo "| model | L | wall s | CPU s | peak RSS MB | GEMM s | scan s | floor s | wall / floor | floor CPU s | CPU / floor CPU | PyTorch s | PyTorch RSS MB | speed-up | logits rel_F |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for name in $models; do
  mdir=$(make_model "$name")
  for L in $lengths; do
    fa=$out/rand_$L.fa
    [ -f "$fa" ] || awk -v L="$L" 'BEGIN { srand(L); printf(">r%d\n", L); for (i = 0; i < L; i++) { printf("%s", substr("ACGT", int(rand() * 4) + 1, 1)); if (i % 60 == 59) printf("\n") } printf("\n") }' > "$fa"
    read -r hw hu hs hk < <( { /usr/bin/time -f "%e %U %S %M" "$H" forward --no-hidden --logits -m "$mdir" --threads "$threads" \
                                 -o "$out/hd_$L.safetensors" "$fa" >/dev/null; } 2>&1 | tail -1)
    rm -f "$out/hd_$L.safetensors"
    ps=""; [ "$name" = caduceus-ps ] && ps=ps
    fl=$("$build/bench/ssm_floor" $(floor_args "$name") "$L" "$threads" $ps)
    gs=$(echo "$fl" | sed 's/.*gemm_s=\([0-9.]*\).*/\1/'); ss=$(echo "$fl" | sed 's/.*scan_s=\([0-9.]*\).*/\1/')
    fs=$(echo "$fl" | sed 's/.*floor_s=\([0-9.]*\).*/\1/'); fc=$(echo "$fl" | sed 's/.*floor_cpu_s=\([0-9.]*\).*/\1/')
    pw=–; pk=–; sp=–; rf=–
    if [ "${HD_BENCH_TORCH:-0}" = 1 ] && [ "${name%-*}" = caduceus ] && [ "$L" -le "${HD_BENCH_TORCH_MAX:-1024}" ]; then
      row=$($py "$here/bench_caduceus.py" --hyenadna "$H" --lengths "$L" --threads "$threads" --workdir "$out/cadt" \
              $([ -n "$ps" ] && echo --rcps) | tail -1)
      pw=$(echo "$row" | awk -F'|' '{ split($5, a, " "); print a[1] }'); pk=$(echo "$row" | awk -F'|' '{ gsub(/ /, "", $6); print $6 }')
      rf=$(echo "$row" | awk -F'|' '{ gsub(/ /, "", $8); print $8 }')
      sp=$(awk -v a="$pw" -v b="$hw" 'BEGIN { printf("%.1f×", a / b) }')
    fi
    awk -v m="$name" -v L="$L" -v hw="$hw" -v hu="$hu" -v hs="$hs" -v hk="$hk" -v gs="$gs" -v ss="$ss" -v fs="$fs" -v fc="$fc" \
        -v pw="$pw" -v pk="$pk" -v sp="$sp" -v rf="$rf" 'BEGIN {
      printf("| %s | %d | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %s | %s |\n", m, L, hw, hu + hs, hk / 1024, gs, ss, fs, hw / fs, fc, (hu + hs) / fc, pw, pk, sp, rf) }'
  done
done
echo
echo "$("$build/bench/ssm_floor" caduceus 256 16 1 "$threads" | sed 's/ gemm_gflop.*//') ($threads threads; SGEMM on the Caduceus shapes)"
echo "wall s includes start-up, model loading and writing the logits; floor = GEMM s + scan s (bench/ssm_floor.c);"
echo "floor CPU s: the same work at the rates per CPU-second (compare with CPU s when the machine is shared)."
