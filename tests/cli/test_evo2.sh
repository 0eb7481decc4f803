#!/usr/bin/env bash
# test_evo2.sh -- Evo 2 end to end through the command line (tests/data/evo2-tiny, see its README): info, the
# ways to give the model and its config, forward parity (logits, hidden, per-block and mlp.l3 outputs), the
# tokenizer's case handling, convert, embed, and the loader's errors with their exit statuses.
# Run by `make check` with HYENADNA and TESTDATA set (bench/stcompare is built next to hyenadna).
. "$(dirname "$0")/../lib.sh"
B=$(dirname "$H")/bench
E=$T/evo2-tiny

# info: family, block pattern, where the config came from, precision, what was ignored
expect 0 "info evo2-tiny" -- "$H" info -m "$E"
has "$tmp/out" "^family	evo2" "info family"
has "$tmp/out" "^variant	SMLASMLA" "info block pattern"
has "$tmp/out" "^max_length	16384" "info context"
has "$tmp/out" "^config_source	found in the model directory" "info config source"
has "$tmp/out" "^precision	bfloat16" "info precision"
has "$tmp/out" "unembed.weight: ignored" "info: unembed.weight ignored"
has "$tmp/out" "filter.t: 2 leftover time grids, ignored" "info: filter.t ignored"
has "$tmp/out" "_extra_state: 10 .*ignored" "info: _extra_state ignored"
expect 0 "info -m FILE.pt -c CONFIG.yml" -- "$H" info -m "$E/model.pt" --config "$E/config.yml"
has "$tmp/out" "^config_source	given with -c" "info -c"
# the .pt given alone: the YAML beside it is its config (as the error for a checkpoint without one says)
expect 0 "info -m FILE.pt with the YAML beside it" -- "$H" info -m "$E/model.pt"
has "$tmp/out" "^config	$E/config.yml" "info FILE.pt: the YAML beside it"
has "$tmp/out" "^config_source	the YAML beside the weights" "info FILE.pt: config source"

# forward: every stored logits/hidden/tokens entry, and the --layer outputs against block.K / blocks.K.mlp.l3
expect 0 "forward --keep-case" -- "$H" forward --keep-case --logits --layer 3 --layer blocks.5.mlp.l3 --layer 7 \
  -m "$E/model.pt" -c "$E/config.yml" -o "$tmp/f.st" "$E/input.fa"
expect 0 "forward parity" -- "$B/stcompare" -p layer.blocks.=blocks. -p layer.=block. "$tmp/f.st" "$E/expected.safetensors"
has "$tmp/out" "compared 27 tensors" "forward: 24 entries + 3 layers compared"
has "$tmp/out" "^layer.blocks.5.mlp.l3.seq4	.*ok" "forward --layer blocks.5.mlp.l3"
has "$tmp/out" "^layer.7.seq4	.*ok" "forward --layer 7"

# --precision bf16 where the processor has AVX512_BF16 (AMX tiles where it has AMX-BF16): the device line, and
# logits and hidden within the bf16 bar of docs/models.md §6.9 (rel_F 5e-2; measured 1.8e-2), not the fp32 one
if grep -q ' avx512_bf16' /proc/cpuinfo; then
  expect 0 "forward --precision bf16" -- "$H" forward --keep-case --logits --precision bf16 --verbosity 3 -m "$E" \
    -o "$tmp/b16.st" "$E/input.fa"
  if grep -q ' amx_bf16' /proc/cpuinfo; then has "$tmp/err" "bf16 projections, AMX)" "bf16 on AMX"
  else has "$tmp/err" "bf16 projections)" "bf16 on VDPBF16PS"; fi
  expect 0 "bf16 within its bar" -- "$B/stcompare" -r 5e-2 -a 1 "$tmp/b16.st" "$E/expected.safetensors"
  expect 1 "bf16 is not fp32" -- "$B/stcompare" "$tmp/b16.st" "$E/expected.safetensors"
else
  echo "# this processor lacks AVX512_BF16: forward --precision bf16 not checked"
fi

# without --keep-case soft-masked bases are upper-cased: seq8's tokens differ, the others do not
expect 0 "forward (upper-cased)" -- "$H" forward -m "$E" -o "$tmp/u.st" "$E/input.fa"
expect 1 "upper-cased tokens differ on the soft-masked record" -- "$B/stcompare" "$tmp/u.st" "$E/expected.safetensors"
has "$tmp/out" "^tokens.seq8	.*FAIL" "seq8 upper-cased"
has "$tmp/out" "^hidden.seq6	.*ok" "seq6 unaffected by case"

# convert: a directory with model.safetensors (BF16 kept) and config.yml, same outputs
expect 0 "convert" -- "$H" convert -c "$E/config.yml" -o "$tmp/conv" "$E/model.pt"
has "$tmp/out" "_extra_state	_io.BytesIO object (Transformer Engine FP8 state)" "convert reports the FP8 state"
if [ -f "$tmp/conv/config.yml" ] && [ -f "$tmp/conv/model.safetensors" ]; then ok; else bad "convert output files"; fi
expect 0 "info converted" -- "$H" info -m "$tmp/conv" -t
has "$tmp/out" "^tensor	blocks.0.mlp.l1.weight	BF16" "converted weights stay BF16"
has "$tmp/out" "FP8 scaling state in 6 entries" "the FP8 state is remembered"
expect 0 "forward converted" -- "$H" forward --keep-case --logits -m "$tmp/conv" -o "$tmp/c.st" "$E/input.fa"
expect 0 "converted = original" -- "$B/stcompare" -r 0 -a 0 "$tmp/c.st" "$tmp/f.st"

expect 0 "convert without -c: the YAML beside the .pt" -- "$H" convert -o "$tmp/conv2" "$E/model.pt"
has "$tmp/out" "^config	the YAML beside the weights" "convert reports the YAML beside the .pt"
if cmp -s "$tmp/conv2/config.yml" "$E/config.yml" && cmp -s "$tmp/conv2/model.safetensors" "$tmp/conv/model.safetensors"
then ok; else bad "convert without -c: the same files as with -c"; fi

# embed: mean of the final hidden state, and of a module output
expect 0 "embed" -- "$H" embed --keep-case -m "$E" -o "$tmp/e.tsv" "$E/input.fa"
if [ "$(grep -vc '^#' "$tmp/e.tsv")" -eq 8 ]; then ok; else bad "embed: 8 rows"; fi
expect 0 "embed --layer blocks.2.mlp.l3" -- "$H" embed --keep-case --layer blocks.2.mlp.l3 -m "$E" -o "$tmp/e2.tsv" "$E/input.fa"
if ! cmp -s "$tmp/e.tsv" "$tmp/e2.tsv"; then ok; else bad "embed --layer changes nothing"; fi

# score-variants (causal windows, both strands) and classify on byte tokens
printf '>c\n%s\n' "$(grep -v '^>' "$E/input.fa" | tr -d '\n' | head -c 1500)" >"$tmp/ref.fa"
printf '##fileformat=VCFv4.2\n##contig=<ID=c,length=1500>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n' >"$tmp/v.vcf"
pos=700; refb=$(sed -n 2p "$tmp/ref.fa" | cut -c$pos); alt=A; [ "$refb" = A ] && alt=C
printf 'c\t%d\t.\t%s\t%s\t.\t.\t.\n' "$pos" "$refb" "$alt" >>"$tmp/v.vcf"
expect 0 "score-variants --window 512 --rc" -- "$H" score-variants -m "$E" -f "$tmp/ref.fa" --window 512 --rc -O t "$tmp/v.vcf"
if awk -F'\t' '!/^#/ && $6 != "" && $6 != "." {n++} END {exit n != 1}' "$tmp/out"; then ok; else bad "score-variants: one LLR"; cat "$tmp/out"; fi
awk '/^>/{n++; print ">r" n " label=" (n % 2 ? "a" : "b"); next} {print}' "$E/input.fa" >"$tmp/lab.fa"
expect 0 "classify centroid" -- "$H" classify -m "$E" --method centroid --train "$tmp/lab.fa" "$E/input.fa"
if [ "$(grep -vc '^#' "$tmp/out")" -eq 8 ]; then ok; else bad "classify: 8 rows"; fi

# the benchmark's model generator: a small shape loads and runs, deterministically
expect 0 "make_evo2" -- "$B/make_evo2" -H 32 -n 5 -a 2 -i 48 -g 8 -p SMLAS -L 4096 -s 3 "$tmp/gen"
expect 0 "make_evo2 again" -- "$B/make_evo2" -H 32 -n 5 -a 2 -i 48 -g 8 -p SMLAS -L 4096 -s 3 "$tmp/gen2"
if cmp -s "$tmp/gen/model.safetensors" "$tmp/gen2/model.safetensors"; then ok; else bad "make_evo2 is not deterministic"; fi
expect 0 "info on the generated model" -- "$H" info -m "$tmp/gen"
has "$tmp/out" "^variant	SMLAS, 2 heads" "generated block pattern"
expect 0 "forward on the generated model" -- "$H" forward --logits -m "$tmp/gen" -o "$tmp/g.st" "$E/input.fa"
# a NaN deep in a large BF16 tensor (the load-time scan runs in parallel blocks): the first one is named
expect 0 "make_evo2 (wider)" -- "$B/make_evo2" -H 256 -n 2 -a 2 -i 2048 -g 16 -p SL -L 4096 -s 3 "$tmp/wide"
# bench forks a child per measurement after loading the model (its BF16 tensors scanned for non-finite values):
# nothing in the load may start threads
expect 0 "bench on the wider model" -- timeout 300 "$H" bench -m "$tmp/wide" -L 256 -r 1 -w 0 -@ 2
has "$tmp/out" "| *256 |" "bench row of 256 tokens"
if python3 - "$tmp/wide/model.safetensors" <<'PY'
import json, struct, sys
f = open(sys.argv[1], "r+b")
n = struct.unpack("<Q", f.read(8))[0]
t = json.loads(f.read(n))["blocks.1.mlp.l3.weight"]
assert t["dtype"] == "BF16" and t["shape"][0] * t["shape"][1] > 450001
for k in (450001, 300007):
    f.seek(8 + n + t["data_offsets"][0] + 2 * k)
    f.write(struct.pack("<H", 0x7FC0))
PY
then
  expect 2 "NaN in a BF16 weight" -- "$H" info -m "$tmp/wide"
  has "$tmp/err" "blocks.1.mlp.l3.weight' holds a non-finite value (NaN) at element 300007" "first NaN named"
else bad "could not patch the wide model"; fi

# errors, each naming the thing at fault
expect 1 "bad --layer" -- "$H" forward -m "$E" --layer blocks.2.mlp.l9 -o "$tmp/x.st" "$E/input.fa"
has "$tmp/err" "blocks.2.mlp.l9" "bad --layer named"
expect 1 "--special with byte tokens" -- "$H" forward -m "$E" --special cls-sep -o "$tmp/x.st" "$E/input.fa"
has "$tmp/err" "option --special cls-sep: evo2 models have no special tokens" "--special with byte tokens: the option named"
# refused at model load, before the input is read (a missing input is not what is reported)
expect 1 "--special with byte tokens, no input read" -- "$H" forward -m "$E" --special sep -o "$tmp/x.st" "$tmp/no-such.fa"
has "$tmp/err" "option --special sep: evo2 models have no special tokens" "--special refused before the input"
head -c 500000 "$E/model.pt" >"$tmp/trunc.pt"
expect 2 "truncated .pt" -- "$H" info -m "$tmp/trunc.pt" -c "$E/config.yml"
has "$tmp/err" "trunc.pt.*truncated" "truncated .pt named"
cp "$E/model.pt" "$tmp/evo2_40b.pt"
expect 2 "FP8 checkpoint" -- "$H" info -m "$tmp/evo2_40b.pt" -c "$E/config.yml"
has "$tmp/err" "FP8-trained Evo 2 checkpoint" "FP8 refused"
expect 2 "FP8 checkpoint (convert)" -- "$H" convert -c "$E/config.yml" -o "$tmp/fp8" "$tmp/evo2_40b.pt"
if [ ! -e "$tmp/fp8" ]; then ok; else bad "convert of an FP8 checkpoint left an output"; fi
sed 's/^num_attention_heads: 4$/num_attention_heads: 8/' "$E/config.yml" >"$tmp/heads.yml"
expect 2 "YAML contradicting the shapes" -- "$H" info -m "$E/model.pt" -c "$tmp/heads.yml"
has "$tmp/err" "num_attention_heads.*inv_freq" "head count mismatch named"
# a quoted YAML boolean is a string (vortex's Python would take "False" as true): refused, not the default taken
sed 's/^final_norm: True$/final_norm: "False"/' "$E/config.yml" >"$tmp/quoted.yml"
expect 2 "YAML boolean given as a string" -- "$H" info -m "$E/model.pt" -c "$tmp/quoted.yml"
has "$tmp/err" "quoted.yml: config key 'final_norm' is not a boolean" "string boolean named"
sed 's/^eps: 0.000001$/eps: -0.000001/' "$E/config.yml" >"$tmp/eps.yml"
expect 2 "negative eps" -- "$H" info -m "$E/model.pt" -c "$tmp/eps.yml"
has "$tmp/err" "eps.yml: config key 'eps' = -1e-06 is out of range \\[0, 1\\]" "negative eps named"
perl -pe 's/blocks\.6\.filter\.residues/blocks.6.filter.residuez/g' "$E/model.pt" >"$tmp/miss.pt"
expect 2 "missing tensor" -- "$H" info -m "$tmp/miss.pt" -c "$E/config.yml"
has "$tmp/err" "blocks.6.filter.residues' is missing" "missing tensor named"
mkdir "$tmp/noconf" && cp "$E/model.pt" "$tmp/noconf/"
expect 2 "no config for a non-7B shape" -- "$H" info -m "$tmp/noconf"
has "$tmp/err" "no shipped config fits" "no config named"

finish
