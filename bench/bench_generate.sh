#!/usr/bin/env bash
# bench_generate.sh -- `hyenadna generate`'s cached decoding against re-running the full forward for
# every new token, on each causal family: tokens per second for NEW new bases after prompts of 1k, 8k and
# 32k bases, on fixture-shaped and public-size random-weight models (bench/make_model, bench/make_evo2),
# and the time of NEW naive full-forward steps (measured on NAIVE prefixes spread over the generation,
# extrapolated to NEW: the column says so).  Targets (issue 18): DNA-xLSTM and Evo 2 per-token time flat
# in the prompt length (within 20 % from 1k to 32k); every family >= 50x faster than the naive way at an
# 8k prompt.
#
# usage: bench/bench_generate.sh [BUILD_DIR] [THREADS] [PROMPTS] [NEW] [NAIVE]
#   BUILD_DIR holds hyenadna and bench/genbench, bench/make_model (make check builds them) [.]
#   THREADS [2]; PROMPTS, comma-separated [1000,8000,32000]; NEW [1000]; NAIVE forwards per row [5]
#   HD_BENCH_MODELS: a space-separated list of the model names below [all but the two public Evo 2 shapes,
#   which are opt-in: evo2-1b-public writes a 2.4 GB model, evo2-7b-public 13 GB, and one naive forward of the
#   7B shape at 32k takes most of an hour on a CPU; try them with NEW 100 and NAIVE 1]
# Prints one TSV table (genbench's columns, bench/genbench.c) after a header naming each model.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd); threads=${2:-2}; prompts=${3:-1000,8000,32000}; new=${4:-1000}; naive=${5:-5}
data=$here/../tests/data
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for t in genbench make_model make_evo2; do make -C "$build" "bench/$t" >/dev/null; done   # rebuilt when stale
maxp=$(echo "$prompts" | tr ',' '\n' | sort -n | tail -1)
L=$((maxp + new + 2))

# the models: name, then how to make it in $work/NAME
declare -A how=(
  [hyena-fixture]="make_model -d 128 -n 2 -f 512 -L $((L > 1026 ? L : 1026))"    # hyenadna-tiny's shape
  [hyena-public]="make_model -d 256 -n 8 -f 1024 -L 160002"                     # medium-160k (holds 32k + NEW)
  [xlstm-mlstm-fixture]="fixture xlstm-mlstm"                                   # the fixture, unidirectional
  [xlstm-slstm-fixture]="fixture xlstm-slstm"
  [xlstm-mlstm-public]="make_model -a mlstm -d 256 -n 4 -L $L"                  # the released "2M" shape
  [xlstm-slstm-public]="make_model -a slstm -d 256 -n 4 -L $L"
  [evo2-fixture]="fixture evo2-tiny"                                            # width 64, 8 blocks SMLASMLA
  [evo2-1b-public]="make_evo2 -H 1920 -n 25 -a 15 -i 5120 -g 120 -L $L"        # evo2_1b_base's shape
  [evo2-7b-public]="make_evo2 -L $L"                                            # evo2_7b's shape
)
order="hyena-fixture hyena-public xlstm-mlstm-fixture xlstm-slstm-fixture xlstm-mlstm-public xlstm-slstm-public evo2-fixture"
first=1
for name in ${HD_BENCH_MODELS:-$order}; do
  set -- ${how[$name]}
  d=$work/$name
  if [ "$1" = fixture ] && [ "$2" = evo2-tiny ]; then
    # the fixture's weights with a max_seqlen long enough for the prompts
    mkdir -p "$d"; ln -s "$data/$2/model.pt" "$d/model.pt"
    sed "s/^max_seqlen: [0-9]*/max_seqlen: $((L > 16384 ? L : 16384))/" "$data/$2/config.yml" >"$d/config.yml"
  elif [ "$1" = fixture ]; then
    # the fixture's weights with a unidirectional stack and a RoPE table long enough for the prompts
    mkdir -p "$d"; ln -s "$data/$2/model.safetensors" "$d/model.safetensors"
    sed -e 's/"bidirectional": true/"bidirectional": false/' -e "s/\"max_length\": [0-9]*/\"max_length\": $L/" \
      "$data/$2/config.json" >"$d/config.json"
  else
    "$build/bench/$1" "${@:2}" -s 1 "$d" >/dev/null
  fi
  echo "# $name: ${how[$name]}"
  OMP_WAIT_POLICY=passive "$build/bench/genbench" -m "$d" -p "$prompts" -n "$new" -k "$naive" -@ "$threads" \
    | sed "s|$work/||" | { [ $first = 1 ] && cat || tail -n +2; }
  first=0
done
