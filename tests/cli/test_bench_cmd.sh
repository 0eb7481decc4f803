#!/usr/bin/env bash
# test_bench_cmd.sh -- `hyenadna bench` at small lengths with the bundled default model (max length 1026):
# the table, the JSON document (parsed by python3: every field, the GEMM FLOPs against the hand count of the
# default model's shape, the ratio against the times), -o written atomically, lengths with suffixes, the
# lengths over the model's maximum refused, usage errors (exit 1), --device cuda without a GPU (exit 2),
# progress only with --progress, the other families.
# Run by `make check` with HYENADNA and TESTDATA set.
. "$(dirname "$0")/../lib.sh"
need python3
unset HYENADNA_MODEL HYENADNA_PRECISION

# the table: a header, a markdown rule, one row per length in order, the kernels below; nothing on stderr
expect 0 "bench, table" -- "$H" bench -L 64,100 -r 2 -@ 1
has "$tmp/out" "^| model *| family *| *params" "table header"
has "$tmp/out" "^| -* | -* | -*: |" "markdown rule"
if [ "$(grep -c '^| default ' "$tmp/out")" = 2 ]; then ok; else bad "table: two rows expected"; cat "$tmp/out"; fi
if grep '^| default ' "$tmp/out" | awk -F'|' '{print $7 + 0}' | tr '\n' ' ' | grep -qx '64 100 '; then ok; else bad "table: lengths 64, 100 in order"; fi
has "$tmp/out" "^SGEMM: [0-9.]* GFLOP/s on cpu (1 thread)" "table: SGEMM rate"
has "$tmp/out" "^BLAS: " "table: BLAS line"
has "$tmp/out" "^FFT: FFTW3 single precision, planner estimate below 65536 points, measure from 65536" "table: FFT planner"
empty "$tmp/err" "bench: stderr without --progress"
# the planner the environment picks is the one reported (the default model's transforms are all below 65,536
# points: nothing is planned harder here)
HYENADNA_FFT_PLANNER=patient expect 0 "bench, patient planner" -- "$H" bench -L 64 -r 1 -@ 1
has "$tmp/out" "^FFT: FFTW3 single precision, planner estimate below 65536 points, patient from 65536" "table: patient planner"
HYENADNA_FFT_PLANNER=estimate expect 0 "bench, estimate planner" -- "$H" bench -L 64 -r 1 -@ 1
has "$tmp/out" "^FFT: FFTW3 single precision, planner estimate;" "table: estimate planner"
# a planner that is not one of the three is refused, by name, in bench and in the subcommands
HYENADNA_FFT_PLANNER=fast expect 1 "bench, unknown planner" -- "$H" bench -L 64 -r 1 -@ 1
has "$tmp/err" "HYENADNA_FFT_PLANNER: 'fast' is not one of estimate, measure, patient" "unknown planner named"
HYENADNA_FFT_PLANNER=Patient expect 1 "embed, unknown planner" -- "$H" embed "$S/data/example.fa"
has "$tmp/err" "HYENADNA_FFT_PLANNER: 'Patient'" "unknown planner named (embed)"
HYENADNA_FFT_PLANNER=measure expect 0 "bench, measure planner" -- "$H" bench -L 64 -r 1 -@ 1
# so are misspelt kernel switches (they silently meant the default)
HYENADNA_CPU_ISA=avx-512 expect 1 "embed, unknown HYENADNA_CPU_ISA" -- "$H" embed "$S/data/example.fa"
has "$tmp/err" "HYENADNA_CPU_ISA: 'avx-512' is not one of generic, avx2, avx512" "unknown ISA named"
HYENADNA_CPU_AMX=off expect 1 "embed, unknown HYENADNA_CPU_AMX" -- "$H" embed "$S/data/example.fa"
has "$tmp/err" "HYENADNA_CPU_AMX: 'off' is not 0 or 1" "unknown AMX switch named"
for v in generic avx2 avx512; do HYENADNA_CPU_ISA=$v expect 0 "embed, HYENADNA_CPU_ISA=$v" -- "$H" embed "$S/data/example.fa"; done
for v in 0 1; do HYENADNA_CPU_AMX=$v expect 0 "embed, HYENADNA_CPU_AMX=$v" -- "$H" embed "$S/data/example.fa"; done

# in bf16 (where the processor has AVX512_BF16) the rate is the bf16 kernel's: GEMM, not SGEMM
if grep -qw avx512_bf16 /proc/cpuinfo; then
  expect 0 "bench --precision bf16" -- "$H" bench -L 64 -r 1 -@ 1 --precision bf16
  has "$tmp/out" "^GEMM: [0-9.]* GFLOP/s on cpu (1 thread, bf16 projections" "table: bf16 GEMM rate"
fi

# JSON: every field, with values that hang together
expect 0 "bench --json" -- "$H" bench --json -L 1k,0.5k,10 -r 3 -w 1 -@ 1
cp "$tmp/out" "$tmp/b.json"
if python3 - "$tmp/b.json" <<'EOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
assert d["program"] == "hyenadna bench", d["program"]
m = d["model"]
assert m["family"] == "hyenadna" and m["d_model"] == 128 and m["n_layer"] == 2 and m["max_length"] == 1026, m
assert d["threads"] == 1 and d["device"].startswith("cpu"), (d["threads"], d["device"])
assert d["repetitions"] == 3 and d["warmup"] == 1
g = d["sgemm"]
assert g["gflops"] > 0 and g["seconds"] > 0 and g["cpu_seconds"] > 0 and abs(g["flops"] / g["seconds"] / 1e9 - g["gflops"]) < 1e-6 * g["gflops"], g
assert g["shapes"] == [[2048, 128, 512], [2048, 512, 128]], g["shapes"]
k = d["kernels"]
for f in ("blas", "blas_core", "blas_config", "fft", "fft_planner", "fft_wisdom_present"):
    assert f in k, f
r = d["results"]
assert [x["length"] for x in r] == [1000, 500, 10], [x["length"] for x in r]
assert [x["length_text"] for x in r] == ["1k", "0.5k", "10"]
# hand count of the default model's GEMMs per token (2 blocks of in_proj, out_proj, MLP, filter MLP; block 0's
# in_proj is a table lookup)
per_token = 2 * (2*128*384 + 2*128*128 + 4*128*512 + 2*(5*64 + 2*64*64 + 64*128)) - 2*128*384
for x in r:
    t = x["seconds"]
    assert len(t) == 3 and all(v > 0 for v in t), t
    assert len(x["cpu_seconds"]) == 3 and all(v > 0 for v in x["cpu_seconds"]), x["cpu_seconds"]
    mean = sum(t) / 3
    assert abs(x["mean_s"] - mean) <= 1e-9 + 1e-6 * mean, (x["mean_s"], mean)
    sd = math.sqrt(sum((v - mean) ** 2 for v in t) / 2)
    assert abs(x["sd_s"] - sd) <= 1e-9 + 1e-6 * sd, (x["sd_s"], sd)
    assert x["median_s"] == sorted(t)[1]
    assert abs(x["tokens_per_s"] - x["length"] / mean) <= 1e-6 * x["tokens_per_s"]
    assert x["peak_rss_bytes"] > 1e6, x["peak_rss_bytes"]
    assert x["gemm_flops"] == per_token * x["length"], (x["gemm_flops"], per_token * x["length"])
    assert abs(x["gemm_only_s"] - x["gemm_flops"] / (g["gflops"] * 1e9)) <= 1e-6 * x["gemm_only_s"]
    assert abs(x["ratio_to_gemm"] - x["mean_s"] / x["gemm_only_s"]) <= 1e-6 * x["ratio_to_gemm"]
    assert x["device_memory_bytes"] is None
EOF
then ok; else bad "bench --json: fields"; fi

# -o: written atomically (nothing else left in the folder); an unwritable folder is a resource error
mkdir -p "$tmp/o"
expect 0 "bench -o FILE" -- "$H" bench --json -L 32 -r 1 -o "$tmp/o/b.json" -@ 1
empty "$tmp/out" "bench -o: standard output"
if python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["results"][0]["length"] == 32' "$tmp/o/b.json"; then ok; else bad "bench -o: JSON"; fi
if [ "$(ls -A "$tmp/o")" = b.json ]; then ok; else bad "bench -o left $(ls -A "$tmp/o")"; fi
expect 2 "bench -o into a missing folder" -- "$H" bench -L 32 -r 1 -o "$tmp/missing/b.txt" -@ 1
has "$tmp/err" "missing/b.txt" "bench -o error names the file"
# ... found before anything is measured (it was found after the whole bench had run: hours with long lengths)
expect 2 "bench -o into a missing folder, before measuring" -- "$H" bench -L 32 -r 1 -o "$tmp/missing/b.txt" -@ 1 --verbosity 3
if grep -q "SGEMM:\|length 32:" "$tmp/err"; then bad "bench -o into a missing folder: measured first"; else ok; fi

# default lengths: those of 1k, 32k, 160k, 1m within the maximum (1026): 1k only
expect 0 "bench, default lengths" -- "$H" bench --json -r 1 -@ 1
if python3 -c 'import json, sys; assert [x["length"] for x in json.load(open(sys.argv[1]))["results"]] == [1000]' "$tmp/out"; then ok; else bad "default lengths: [1000]"; fi

# lengths over the model's maximum are refused before anything runs
expect 1 "length over the maximum" -- "$H" bench -L 1k,2k -r 1
has "$tmp/err" "^hyenadna bench: option -L: length 2k (2000 tokens) exceeds the model's maximum length of 1026 tokens" "over-maximum message"
empty "$tmp/out" "over-maximum: no output"
expect 1 "1ki is 1024 (fits), 1.1k does not" -- "$H" bench -L 1ki,1.1k -r 1
has "$tmp/err" "length 1.1k (1100 tokens)" "1.1k is 1100 tokens"

# usage errors
for bad_len in 0 -5 1x 0x10 1.5 "" k 1k,,2 1e3; do
  expect 1 "-L '$bad_len'" -- "$H" bench -L "$bad_len"
  has "$tmp/err" "^hyenadna bench: option -L: '" "-L '$bad_len' message"
done
expect 1 "-L beyond 10^10 tokens" -- "$H" bench -L 99999999999999
has "$tmp/err" "option -L: '99999999999999' is out of range" "-L beyond 10^10: out of range, not 'not a length'"
expect 1 "-r 0" -- "$H" bench -r 0
expect 1 "-w x" -- "$H" bench -w x
expect 1 "unknown option" -- "$H" bench --bogus
expect 1 "stray argument" -- "$H" bench 1k
has "$tmp/err" "unexpected argument '1k'" "stray argument message"
expect 1 "bad precision" -- "$H" bench --precision fp7
expect 2 "missing model" -- "$H" bench -m "$tmp/nonexistent" -L 10
expect 0 "bench --help" -- "$H" bench --help
has "$tmp/out" "^Usage: hyenadna bench" "help usage line"
has "$tmp/out" "k = 1,000" "help documents the suffixes"

# --device cuda: a clear error where there is no GPU (or no CUDA backend)
if [ "${HD_BUILT_CUDA:-no}" = no ]; then
  expect 2 "--device cuda without the CUDA backend" -- "$H" bench --device cuda -L 10 -r 1
  has "$tmp/err" "^hyenadna bench: --device cuda: .*without the CUDA backend" "--device cuda message"
  # a failed measurement leaves nothing under -o (the output is opened before the measurements)
  mkdir -p "$tmp/oc"
  expect 2 "--device cuda -o FILE" -- "$H" bench --device cuda -L 10 -r 1 -o "$tmp/oc/b.txt"
  if [ -z "$(ls -A "$tmp/oc")" ]; then ok; else bad "--device cuda -o left $(ls -A "$tmp/oc")"; fi
elif "$H" --version | grep -q "0 devices visible"; then
  expect 2 "--device cuda without a GPU" -- "$H" bench --device cuda -L 10 -r 1
  has "$tmp/err" "^hyenadna bench: .*cuda" "--device cuda message"
fi

# --progress: on stderr, the table still alone on stdout
expect 0 "bench --progress" -- "$H" bench --progress -L 16,32 -r 1 -@ 1
has "$tmp/err" "lengths" "progress line"
if [ "$(grep -c '^| default ' "$tmp/out")" = 2 ]; then ok; else bad "--progress: table rows"; fi

# the other families run and count their GEMMs
for m in caduceus-ps xlstm-slstm evo2-tiny; do
  expect 0 "bench $m" -- "$H" bench --json -m "$T/$m" -L 50 -r 1 -@ 1
  if python3 -c 'import json, sys; x = json.load(open(sys.argv[1]))["results"][0]; assert x["tokens_per_s"] > 0 and x["gemm_flops"] > 0 and x["ratio_to_gemm"] > 0' "$tmp/out"; then ok; else bad "bench $m: results"; fi
done

# -@ 0 (the default): OMP_NUM_THREADS when set, else the cores the process may run on (taskset, a job's
# cpuset), not every core of the machine; -@ N still overrides both
OMP_NUM_THREADS=1 expect 0 "bench, OMP_NUM_THREADS=1" -- "$H" bench -L 64 -r 1
has "$tmp/out" "^| default .*| cpu (1 thread) *| *1 |" "OMP_NUM_THREADS=1 respected"
OMP_NUM_THREADS=1 expect 0 "bench, OMP_NUM_THREADS=1 -@ 2" -- "$H" bench -@ 2 -L 64 -r 1
has "$tmp/out" "^| default .*| cpu (2 threads) *| *2 |" "-@ 2 overrides OMP_NUM_THREADS"
if command -v taskset >/dev/null 2>&1; then
  env -u OMP_NUM_THREADS taskset -c 0 "$H" bench -L 64 -r 1 > "$tmp/out" 2>"$tmp/err"
  has "$tmp/out" "^| default .*| cpu (1 thread) *| *1 |" "taskset -c 0: one thread"
fi

# a bench killed by a signal (a job's time limit sent to its pid) takes its measuring child with it: the
# child was left computing the rest of its repetitions, orphaned
"$H" bench -m "$T/xlstm-slstm" -@ 1 -L 1000 -r 1000 -o "$tmp/killed.tsv" 2>/dev/null & bp=$!
child= first=
for i in $(seq 200); do   # the second child: the forwards (the first one times SGEMM)
  child=$(ps --ppid $bp -o pid= | tr -d ' '); [ -n "$child" ] && [ -z "$first" ] && first=$child
  [ -n "$child" ] && [ "$child" != "$first" ] && break; child=; sleep 0.05
done
sleep 0.2; kill -TERM $bp; wait $bp; brc=$?
alive=
if [ -n "$child" ]; then
  for i in $(seq 40); do   # a dead child is reaped by init, a zombie until then
    st=$(ps -o stat= -p "$child" 2>/dev/null | cut -c1); alive=$st
    [ -z "$st" ] || [ "$st" = Z ] && { alive=; break; }; sleep 0.05
  done
fi
if [ -z "$child" ]; then bad "bench: no forward child seen"
elif [ -n "$alive" ]; then bad "bench killed: its child $child still running (state $alive)"; kill "$child" 2>/dev/null
elif [ $brc -ne 143 ] || [ -e "$tmp/killed.tsv" ]; then bad "bench killed: exit $brc, or output left"
else ok; fi

# the FFTW wisdom cache (hyenadna(1) HYENADNA_FFTW_WISDOM), on a made HyenaDNA long enough for transforms of
# 65,536 points: written whole under its name, nothing beside it; a path that cannot be written (a directory,
# a folder that cannot be made) costs nothing else and leaves nothing (a directory left 'DIR.PID.tmp' beside
# it); two runs side by side both succeed; HOME unset is the home of the password database
if "$(dirname "$H")/bench/make_model" -d 8 -n 1 -f 16 -L 33000 -s 3 "$tmp/longm" >/dev/null 2>&1; then
  awk 'BEGIN{srand(2); s=""; for(i=0;i<33000;i++) s=s substr("ACGT",int(rand()*4)+1,1); printf ">long\n%s\n", s}' > "$tmp/long.fa"
  mkdir -p "$tmp/wis/isdir"
  unset HYENADNA_FFT_PLANNER
  HYENADNA_FFTW_WISDOM=$tmp/wis/isdir expect 0 "forward, wisdom path a directory" -- "$H" forward -@1 -m "$tmp/longm" -o /dev/null "$tmp/long.fa"
  if [ "$(ls -A "$tmp/wis")" = isdir ] && [ -z "$(ls -A "$tmp/wis/isdir")" ]; then ok; else bad "wisdom path a directory: left $(ls -A "$tmp/wis")"; fi
  touch "$tmp/wis/afile"
  HYENADNA_FFTW_WISDOM=$tmp/wis/afile/sub/w expect 0 "forward, wisdom under a file" -- "$H" forward -@1 -m "$tmp/longm" -o /dev/null "$tmp/long.fa"
  empty "$tmp/err" "forward, wisdom under a file: stderr"
  for j in 1 2; do
    ( HYENADNA_FFTW_WISDOM=$tmp/wis/new/w "$H" forward -@1 -m "$tmp/longm" -o "$tmp/wf$j.st" "$tmp/long.fa" 2>"$tmp/werr$j"; echo $? > "$tmp/wrc$j" ) &
  done
  wait
  # (not compared: a measured plan and the estimated one round differently)
  if [ "$(cat "$tmp/wrc1" "$tmp/wrc2")" = "$(printf '0\n0')" ] && [ -s "$tmp/wf1.st" ] && [ -s "$tmp/wf2.st" ]; then ok; else bad "two runs sharing a new wisdom file: $(cat "$tmp/werr1" "$tmp/werr2" | head -2)"; fi
  if [ "$(ls -A "$tmp/wis/new")" = w ] && grep -q "fftw" "$tmp/wis/new/w"; then ok; else bad "wisdom written by two runs: $(ls -A "$tmp/wis/new")"; fi
  HYENADNA_FFTW_WISDOM=$tmp/wis/new/w expect 0 "bench with the wisdom" -- "$H" bench -L 64 -r 1 -@ 1
  has "$tmp/out" "wisdom $tmp/wis/new/w (present)" "the written wisdom is found"
else bad "make_model (bench tools built with hyenadna) failed"; fi
home=$(getent passwd "$(id -u)" | cut -d: -f6)
if [ -n "$home" ]; then
  env -u HOME -u XDG_CACHE_HOME -u HYENADNA_FFTW_WISDOM "$H" bench -L 64 -r 1 -@ 1 > "$tmp/out" 2>"$tmp/err"
  has "$tmp/out" "wisdom $home/.cache/hyenadna/fftw3f.wisdom" "HOME unset: the password database's home"
fi

finish test_bench_cmd
