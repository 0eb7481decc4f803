#!/usr/bin/env bash
# test_bench.sh -- the tools bench/gpu-check.sh relies on, exercised on the CPU so that they are known
# to work before a GPU session runs them: make_model writes a loadable model (deterministically),
# stcompare passes equal outputs and fails different ones, gpubench times a forward.
# Run by `make check` with HYENADNA and TESTDATA set (the tools are built next to hyenadna).
. "$(dirname "$0")/../lib.sh"
B=$(dirname "$H")/bench

bash -n "$S/bench/gpu-check.sh" && ok || bad "bench/gpu-check.sh has a syntax error"

# make_model: a small HyenaDNA the CLI can load; the same seed gives the same file
expect 0 "make_model" -- "$B/make_model" -d 32 -n 2 -f 64 -L 3000 -s 5 "$tmp/m"
expect 0 "make_model again" -- "$B/make_model" -d 32 -n 2 -f 64 -L 3000 -s 5 "$tmp/m2"
if cmp -s "$tmp/m/model.safetensors" "$tmp/m2/model.safetensors"; then ok; else bad "make_model is not deterministic"; fi
expect 0 "info on the made model" -- "$H" info -m "$tmp/m"
has "$tmp/out" "^family	hyenadna" "made model family"
has "$tmp/out" "^d_model	32" "made model d_model"
has "$tmp/out" "^max_length	3000" "made model max length"
expect 1 "make_model without a directory" -- "$B/make_model" -d 32

# a forward on it, twice (1 and 2 threads): stcompare finds them equal
awk 'BEGIN { srand(3); printf(">r1\n"); for (i = 0; i < 2500; i++) printf("%s", substr("ACGT", int(rand()*4)+1, 1)); printf("\n>r2\nACGTTGCA\n") }' > "$tmp/in.fa"
expect 0 "forward on the made model" -- "$H" forward --device cpu -m "$tmp/m" --logits -o "$tmp/a.safetensors" "$tmp/in.fa"
expect 0 "forward, 1 thread" -- "$H" forward --device cpu -@ 1 -m "$tmp/m" --logits -o "$tmp/b.safetensors" "$tmp/in.fa"
expect 0 "stcompare equal" -- "$B/stcompare" "$tmp/a.safetensors" "$tmp/b.safetensors"
has "$tmp/out" "compared 6 tensors" "stcompare counts tokens, hidden and logits of two records"

# stcompare against the fixture: the CPU forward passes, the shift-0 forward fails the bars
"$H" forward --device cpu -m "$T/hyenadna-tiny" --logits -o "$tmp/t.safetensors" "$T/hyenadna-tiny/input.fa"
expect 0 "stcompare CPU vs fixture" -- "$B/stcompare" -q "$tmp/t.safetensors" "$T/hyenadna-tiny/expected.safetensors"
has "$tmp/out" "compared 24 tensors" "stcompare compares every record's tokens, hidden and logits"
"$H" forward --device cpu -m "$T/hyenadna-tiny" --shift 0 -o "$tmp/s.safetensors" "$T/hyenadna-tiny/input.fa"
expect 1 "stcompare detects a different model" -- "$B/stcompare" "$tmp/s.safetensors" "$T/hyenadna-tiny/expected.safetensors"
has "$tmp/out" "hidden.seq5.*FAIL" "stcompare names the tensor over the bar"
expect 0 "stcompare with a loose bar" -- "$B/stcompare" -r 1 -a 100 "$tmp/s.safetensors" "$T/hyenadna-tiny/expected.safetensors"
expect 2 "stcompare on a missing file" -- "$B/stcompare" "$tmp/none.safetensors" "$tmp/a.safetensors"
expect 2 "stcompare with nothing in common" -- "$B/stcompare" "$tmp/a.safetensors" "$T/hyenadna-tiny/expected.safetensors"

# gpubench on the CPU: a table row per length, the CPU reference equal to itself
expect 0 "gpubench -d cpu" -- "$B/gpubench" -m "$tmp/m" -d cpu -L 100,2000 -p fp32 -r 1 -c 2000 -@ 2
has "$tmp/out" "rel_vs_cpu" "gpubench header"
if awk '$1 == "cpu" && $2 == 2000 && $3 == "fp32" && $NF == "0" { f = 1 } END { exit !f }' "$tmp/out"; then ok; else bad "gpubench row for L=2000"; cat "$tmp/out"; fi
expect 1 "gpubench tf32 on the CPU" -- "$B/gpubench" -m "$tmp/m" -d cpu -L 100 -p tf32 -r 1
has "$tmp/err" "tf32" "gpubench names the precision"
expect 1 "gpubench beyond max length" -- "$B/gpubench" -m "$tmp/m" -d cpu -L 3001 -p fp32 -r 1

# ssm_floor (bench/bench_caduceus.sh): both families give a positive floor; a bad family is a usage error
bash -n "$S/bench/bench_caduceus.sh" && ok || bad "bench/bench_caduceus.sh has a syntax error"
expect 0 "ssm_floor caduceus" -- "$B/ssm_floor" caduceus 32 2 1000 1
has "$tmp/out" "floor_s=[0-9]*\.[0-9]*[1-9]" "ssm_floor caduceus floor"
expect 0 "ssm_floor xlstm" -- "$B/ssm_floor" xlstm 64 2 1000 1 64
has "$tmp/out" "floor_s=[0-9]*\.[0-9]*[1-9]" "ssm_floor xlstm floor"
expect 1 "ssm_floor unknown family" -- "$B/ssm_floor" hyena 32 2 1000 1
# bench_generate.sh at small sizes: a row per model and prompt, cached decoding faster than re-forwarding
expect 0 "make_model -a mlstm" -- "$B/make_model" -a mlstm -d 64 -n 2 -L 1100 "$tmp/xm"
expect 0 "generate on the made mLSTM" -- "$H" generate -m "$tmp/xm" -n 20 --seed 1 "$T/hyenadna-tiny/input.fa"
expect 0 "bench_generate.sh" -- bash "$S/bench/bench_generate.sh" "$(dirname "$H")" 1 150,300 12 2
n=$(grep -c $'\t' "$tmp/out")
[ "$n" -eq 15 ] && ok || { bad "bench_generate.sh: $n table lines, expected 15 (header + 7 models x 2 prompts)"; head -20 "$tmp/out"; }
awk -F'\t' 'NR > 1 && $1 !~ /^#/ && NF == 18 && $17 > 1 { n++ } END { exit n != 14 }' <(grep -v '^#' "$tmp/out") && ok || bad "bench_generate.sh: rows without a speed-up > 1"

finish
