#!/usr/bin/env bash
# gpu-check.sh -- everything a machine with an NVIDIA GPU should check, in one call (about 5 minutes;
# each step has its own time limit so the whole stays under 10).
#
#   bash bench/gpu-check.sh            (from the repository root, or from anywhere)
#
#   1. build with the CUDA backend in _gpu_build/ (autoreconf, configure --with-cuda, make -j$JOBS);
#   2. tests/test_cuda (every GPU op against the CPU op, the Evo 2 ops included, and the argument patterns of
#      the model options; hyenadna-tiny, evo2-tiny and the option fixtures (hyenadna-order3/-variant,
#      evo2-gqa/-variant), Evo 2's cached decoding too, at the fixture bars on the GPU),
#      then the whole `make check` (where --device auto now means the GPU);
#   3. `hyenadna forward` on every fixture set in tests/data, CPU vs GPU and GPU vs expected.safetensors
#      (bench/stcompare, bars rel_F 1e-4, max_abs 1e-3); a GPU outside the built architectures
#      (HYENADNA_CUDA_ARCHS=sm_50): --device auto falls back to the CPU with a note, --device cuda fails;
#   4. the large-1m HyenaDNA shape (d_model 256, 8 layers, d_inner 1024, max_seq_len 1000002, random
#      weights from bench/make_model) timed at 32k, 160k and 1M tokens in fp32, tf32 and bf16
#      (bench/gpubench), with a CPU fp32 reference at 32k.  Target: 1M tokens under 1 s in fp32.
#
# Results go to $OUT (set by the device runner) or bench/out/gpu-check/: summary.txt (the table and
# one line per check), plus the logs.  Exit status 0 only when every check passed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
res=${OUT:-$top/bench/out/gpu-check}
mkdir -p "$res"
sum="$res/summary.txt"
: > "$sum"
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
fails=0
say()  { echo "$*" | tee -a "$sum"; }
pass() { say "PASS  $*"; }
failed() { say "FAIL  $*"; fails=$((fails + 1)); }
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 ))s; }

say "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
git -C "$top" log --oneline -1 2>/dev/null | sed 's/^/commit: /' | tee -a "$sum"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$sum"
else
  say "gpu: nvidia-smi not found"
fi

# ---------------------------------------------------------------- 1. build
b="$top/_gpu_build"
say "== build ($JOBS jobs) [$(elapsed)]"
crit=--with-criterion
pkg-config --exists criterion 2>/dev/null || [ -e /usr/include/criterion/criterion.h ] || crit=--without-criterion
if ! (autoreconf -fi >"$res/autoreconf.log" 2>&1 && rm -rf "$b" && mkdir -p "$b" && cd "$b" &&
      "$top/configure" --with-cuda $crit >"$res/configure.log" 2>&1); then
  failed "configure --with-cuda (see configure.log)"; tail -20 "$res/configure.log"; exit 1
fi
if ! (cd "$b" && timeout 300 make -j"$JOBS" >"$res/make.log" 2>&1 && timeout 120 make -j"$JOBS" bench-tools >>"$res/make.log" 2>&1); then
  failed "make (see make.log)"; tail -30 "$res/make.log"; exit 1
fi
grep -q 'warning:' "$res/make.log" && say "note: compiler warnings in make.log"
pass "build with CUDA [$(elapsed)]"
H="$b/hyenadna"
"$H" --version | tee -a "$sum"
if ! "$H" --version | grep -q "Device (--device auto): cuda"; then
  failed "no usable CUDA device: --device auto does not pick the GPU (the GPU checks below will fail)"
fi

# ---------------------------------------------------------------- 2. tests
say "== tests [$(elapsed)]"
if [ "$crit" = --with-criterion ]; then
  (cd "$b" && timeout 120 make -j"$JOBS" tests/test_cuda >>"$res/make.log" 2>&1)
  (cd "$b" && CRITERION_NO_EARLY_EXIT=1 timeout 300 ./tests/test_cuda --verbose >"$res/test_cuda.log" 2>&1); rc=$?
  grep -E '^\[(FAIL|SKIP)\]|Synthesis|Assertion|assert' "$res/test_cuda.log" | head -40 | tee -a "$sum"
  if [ $rc -eq 0 ]; then pass "tests/test_cuda (GPU ops vs CPU, hyenadna-tiny on the GPU)"
  elif [ $rc -eq 77 ]; then failed "tests/test_cuda skipped: no CUDA device visible"
  else failed "tests/test_cuda (exit $rc; see test_cuda.log)"; fi
  (cd "$b" && timeout 400 make -j"$JOBS" check >"$res/check.log" 2>&1); rc=$?
  grep -E '^(PASS|FAIL|SKIP|ERROR|# )' "$res/check.log" | tee -a "$sum"
  [ $rc -eq 0 ] && pass "make check (--device auto = GPU)" || { failed "make check (exit $rc)"; cat "$b/test-suite.log" >> "$res/check.log" 2>/dev/null; }
else
  failed "Criterion not installed: unit tests not run (apt-get install libcriterion-dev)"
fi

# ---------------------------------------------------------------- 3. fixtures: CPU vs GPU
say "== fixture sets: forward on CPU and GPU [$(elapsed)]"
fx="$res/fixtures"; mkdir -p "$fx"
for d in "$top"/tests/data/*/; do
  s=$(basename "$d")
  [ -f "$d/input.fa" ] && [ -f "$d/expected.safetensors" ] || continue
  kc=; case $s in evo2*) kc=--keep-case;; esac   # Evo 2's fixtures are checked on the bytes as they are
  if ! timeout 120 "$H" forward --device cpu --logits $kc -m "$d" -o "$fx/$s.cpu.safetensors" "$d/input.fa" 2>"$fx/$s.cpu.err"; then
    say "n/a   $s: the CPU forward fails in this build ($(head -1 "$fx/$s.cpu.err"))"; continue
  fi
  if ! timeout 120 "$H" forward --device cuda --logits $kc -m "$d" -o "$fx/$s.gpu.safetensors" "$d/input.fa" 2>"$fx/$s.gpu.err"; then
    if grep -q "does not implement" "$fx/$s.gpu.err"; then say "n/a   $s: $(head -1 "$fx/$s.gpu.err")"
    else failed "$s: GPU forward: $(head -1 "$fx/$s.gpu.err")"; fi
    continue
  fi
  "$b/bench/stcompare" -q "$fx/$s.gpu.safetensors" "$fx/$s.cpu.safetensors" > "$fx/$s.gpu-vs-cpu.txt"; r1=$?
  "$b/bench/stcompare" -q "$fx/$s.gpu.safetensors" "$d/expected.safetensors" > "$fx/$s.gpu-vs-expected.txt"; r2=$?
  [ $r1 -eq 0 ] && pass "$s GPU vs CPU: $(tail -1 "$fx/$s.gpu-vs-cpu.txt")" || { failed "$s GPU vs CPU: $(tail -1 "$fx/$s.gpu-vs-cpu.txt")"; head -5 "$fx/$s.gpu-vs-cpu.txt" | tee -a "$sum"; }
  [ $r2 -eq 0 ] && pass "$s GPU vs expected: $(tail -1 "$fx/$s.gpu-vs-expected.txt")" || { failed "$s GPU vs expected: $(tail -1 "$fx/$s.gpu-vs-expected.txt")"; head -5 "$fx/$s.gpu-vs-expected.txt" | tee -a "$sum"; }
done

# ---------------------------------------------------------------- 3b. a GPU the kernels were not built for
# (pretended with HYENADNA_CUDA_ARCHS naming another architecture): auto takes the CPU with a warning,
# --device cuda fails with an error naming the compute capability
say "== a device outside the built architectures [$(elapsed)]"
d="$top/tests/data/hyenadna-tiny"
HYENADNA_CUDA_ARCHS=sm_50 timeout 60 "$H" forward --device auto -m "$d" -o "$res/arch-auto.st" "$d/input.fa" 2>"$res/arch-auto.err"; rc=$?
if [ $rc -eq 0 ] && grep -q "the GPU is not used.*compute capability" "$res/arch-auto.err"; then pass "--device auto on an unbuilt architecture: the CPU, with a note"
else failed "--device auto on an unbuilt architecture (exit $rc): $(head -2 "$res/arch-auto.err")"; fi
HYENADNA_CUDA_ARCHS=sm_50 timeout 60 "$H" forward --device cuda -m "$d" -o "$res/arch-cuda.st" "$d/input.fa" 2>"$res/arch-cuda.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "compute capability" "$res/arch-cuda.err"; then pass "--device cuda on an unbuilt architecture: exit 2, $(head -1 "$res/arch-cuda.err")"
else failed "--device cuda on an unbuilt architecture (exit $rc, expected 2): $(head -2 "$res/arch-cuda.err")"; fi

# ---------------------------------------------------------------- 4. large-1m timings
say "== large-1m (d_model 256, 8 layers, d_inner 1024, max_seq_len 1000002; random weights) [$(elapsed)]"
mdir=${TMPDIR:-/tmp}/hyenadna-large-1m.$$
if timeout 120 "$b/bench/make_model" -d 256 -n 8 -f 1024 -L 1000002 "$mdir" >>"$res/bench.log" 2>&1; then
  timeout 420 "$b/bench/gpubench" -m "$mdir" -d cuda -L 32768,160000,1000000 -p fp32,tf32,bf16 -r 3 -c 32768 \
    >"$res/bench.txt" 2>>"$res/bench.log"; rc=$?
  cat "$res/bench.txt" | tee -a "$sum"
  [ $rc -eq 0 ] && pass "gpubench" || failed "gpubench (exit $rc; see bench.log)"
  t1m=$(awk '$1 == "cuda" && $2 == 1000000 && $3 == "fp32" { print $5 }' "$res/bench.txt")
  if [ -n "$t1m" ]; then
    if awk -v t="$t1m" 'BEGIN { exit !(t < 1.0) }'; then pass "1M-token large-1m forward, fp32: ${t1m} s (target < 1 s)"
    else say "MISS  1M-token large-1m forward, fp32: ${t1m} s (target < 1 s)"; fi
  fi
  rm -rf "$mdir"
else
  failed "make_model (see bench.log)"
fi

say "== done in $(elapsed): $fails failed"
[ $fails -eq 0 ]
