#!/bin/sh
# run.sh -- the whole recipe of the bundled default model (data/models/default), end to end:
#   1. fetch.sh        real DNA from Debian bookworm packages (apt-get download; nothing installed)
#   2. make_corpus.py  the ~45 Mb multi-kingdom corpus of DATA.md 6(a); the last 2 % of every record held out
#   3. train.py        tiny HyenaDNA, next-base prediction, reverse-complement augmentation, CPU, seeded;
#                      resumes from data/train/work/ckpt.pt when it exists (rerun to continue a cut run)
#   4. export          data/models/default/{config.json,model.safetensors} in the public -hf layout
#   5. verify.py       the C binary's logits against PyTorch's (rel_F <= 1e-4)
#   6. evaluate.py     bits/base with the C binary against uniform and order-k Markov baselines
#   7. make_examples.py the example data files of data/
# Needs: python3 with torch (Debian python3-torch) and numpy, bgzip/tabix/samtools, a built ./hyenadna,
# `apt-get update` run once. Environment knobs: STEPS (1500), SEED (1), TIME_BUDGET seconds (3840),
# THREADS (1), PYTHON (/usr/bin/python3), HYENADNA (./hyenadna).
# Run from the repository root: data/train/run.sh
set -eu
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
HD=${HYENADNA:-./hyenadna}
WORK=data/train/work
OUT=data/models/default
data/train/fetch.sh "$WORK/raw"
[ -s "$WORK/train.u8" ] || "$PY" data/train/make_corpus.py "$WORK/raw" "$WORK"
"$PY" data/train/train.py --work "$WORK" --out "$WORK/model" --steps "${STEPS:-1500}" --seed "${SEED:-1}" \
    --time-budget "${TIME_BUDGET:-3840}" --threads "${THREADS:-1}" 2>&1 | tee -a "$WORK/train.log"
mkdir -p "$OUT"
cp "$WORK/model/config.json" "$WORK/model/model.safetensors" "$OUT/"
"$PY" data/train/verify.py --hyenadna "$HD" --model "$OUT" --work "$WORK" | tee "$WORK/verify.txt"
"$PY" data/train/evaluate.py --hyenadna "$HD" --model "$OUT" --work "$WORK" | tee "$WORK/eval.txt"
"$PY" data/train/make_examples.py "$WORK/raw" data
echo "run.sh: done; the evaluation table is in $WORK/eval.md"
