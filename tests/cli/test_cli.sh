#!/usr/bin/env bash
# test_cli.sh -- end-to-end checks of the command-line conventions (streams and exit codes).
# Run by `make check` with HYENADNA, TESTDATA and HD_BUILT_CUDA (yes/no) set.
. "$(dirname "$0")/../lib.sh"
need bcftools bgzip   # the score-variants checks read the VCF outputs back

# bare program: grouped usage on stderr, exit 1
expect 1 "bare hyenadna" -- "$H"
empty "$tmp/out" "bare hyenadna stdout"
has "$tmp/err" "Usage:   hyenadna <command>" "bare hyenadna usage"
has "$tmp/err" "\-\- Inference" "usage groups"

# --help / help: stdout, exit 0
expect 0 "hyenadna --help" -- "$H" --help
has "$tmp/out" "Usage:" "--help on stdout"
expect 0 "hyenadna help" -- "$H" help
has "$tmp/out" "info" "help lists commands"

# unknown command
expect 1 "unknown command" -- "$H" frobnicate
has "$tmp/err" "hyenadna: unrecognized command 'frobnicate'" "unknown command message"
expect 1 "help of unknown command" -- "$H" help frobnicate

# --version: two fixed lines
expect 0 "--version" -- "$H" --version
if head -1 "$tmp/out" | grep -Eq '^hyenadna [0-9]+\.[0-9]+\.[0-9]+$'; then ok; else bad "--version line 1: $(head -1 "$tmp/out")"; fi
if sed -n 2p "$tmp/out" | grep -Eq '^Using htslib [0-9]+\.[0-9]+'; then ok; else bad "--version line 2: $(sed -n 2p "$tmp/out")"; fi
# the backends line says what this build has (make check passes HD_BUILT_CUDA from configure)
case ${HD_BUILT_CUDA:-} in
  yes) has "$tmp/out" "^Backends: cpu, cuda (CUDA backend compiled in; [0-9]* devices\? visible)" "--version of a CUDA build" ;;
  no)  has "$tmp/out" "^Backends: cpu (CUDA backend not compiled in)" "--version of a build without CUDA" ;;
  *)   bad "HD_BUILT_CUDA is '${HD_BUILT_CUDA:-}', expected yes or no (set by make check)" ;;
esac
v=$("$H" --version | sed '1!d; s/^.*hyenadna //')
if echo "$v" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$'; then ok; else bad "nf-core version extraction gave '$v'"; fi

# every subcommand: CMD --help and help CMD on stdout with exit 0, bad option exit 1
cmds=$("$H" --help | awk '/^ -- Help/{exit} /^    [a-z]/{print $1}')
for c in $cmds; do
  expect 0 "$c --help" -- "$H" "$c" --help
  has "$tmp/out" "Usage: hyenadna $c" "$c --help"
  empty "$tmp/err" "$c --help stderr"
  expect 0 "help $c" -- "$H" help "$c"
  has "$tmp/out" "Usage: hyenadna $c" "help $c"
  expect 1 "$c --no-such-option" -- "$H" "$c" --no-such-option
done

# info on every fixture set
for s in hyenadna-tiny caduceus-ph caduceus-ps xlstm-mlstm xlstm-slstm; do
  expect 0 "info $s" -- "$H" info -m "$T/$s"
  has "$tmp/out" "^parameters" "info $s parameters"
done
"$H" info -m "$T/hyenadna-tiny" > "$tmp/info"
has "$tmp/info" "^family	hyenadna" "info family"
has "$tmp/info" "^parameters	438144" "info hyenadna-tiny learned parameters"
has "$tmp/info" "^max_length	1026" "info max length"
has "$tmp/info" "freq" "info reports the shared freq"
"$H" info -m "$T/caduceus-ps" > "$tmp/info"
has "$tmp/info" "^family	caduceus" "info caduceus family"
has "$tmp/info" "PS" "info caduceus-ps variant"
has "$tmp/info" "mamba_rev" "info caduceus aliased reverse projections"

# model errors: exit 2, message names the file
expect 2 "missing model" -- "$H" info -m "$tmp/nope"
has "$tmp/err" "$tmp/nope" "missing model named"
printf 'garbage' > "$tmp/bad.safetensors"
expect 2 "corrupt model" -- "$H" info -m "$tmp/bad.safetensors"
has "$tmp/err" "bad.safetensors" "corrupt model named"
has "$tmp/err" "^hyenadna info: " "error prefix"

# forward: input errors exit 1, nothing left under the output name
printf '>r1\nACGTXACGT\n' > "$tmp/bad.fa"
expect 1 "bad base" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/o.safetensors" "$tmp/bad.fa"
has "$tmp/err" "bad.fa: invalid character 'X' in record 'r1' at position 5" "bad base names the file, the record and the position"
has "$tmp/err" "position 5" "bad base names the position"
if [ ! -e "$tmp/o.safetensors" ] && [ -z "$(ls -A "$tmp" | grep tmp)" ]; then ok; else bad "partial output left behind"; ls -A "$tmp"; fi
expect 1 "missing input" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/o.safetensors" "$tmp/none.fa"
has "$tmp/err" "none.fa" "missing input named"
expect 1 "bad --threads" -- "$H" forward -m "$T/hyenadna-tiny" --threads x "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "\-\-threads" "bad --threads named"
python_len=$(( 1030 )); seq=$(head -c $python_len /dev/zero | tr '\0' 'A')
printf '>long\n%s\n' "$seq" > "$tmp/long.fa"
expect 1 "too long for the model" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/o.safetensors" "$tmp/long.fa"
has "$tmp/err" "1026" "too long names the limit"

# forward from stdin, Windows line endings and soft-masked bases
printf '>w1 desc\r\nacgtNNRY\r\nACGT\r\n' > "$tmp/crlf.fa"
"$H" forward -m "$T/hyenadna-tiny" -o "$tmp/a.safetensors" - < "$tmp/crlf.fa"; st=$?
if [ $st -eq 0 ] && [ -s "$tmp/a.safetensors" ]; then ok; else bad "forward from stdin (exit $st)"; fi
gzip -c "$tmp/crlf.fa" > "$tmp/crlf.fa.gz"
expect 0 "forward on gzip input" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/b.safetensors" "$tmp/crlf.fa.gz"
if cmp -s "$tmp/a.safetensors" "$tmp/b.safetensors"; then ok; else bad "gzip and plain input differ"; fi

# names longer than any fixed buffer: every tensor key holds the whole name (two records alike in their
# first 1,100 characters are two records)
ln=$(head -c 1100 /dev/zero | tr '\0' L)
printf '>%sA\nACGT\n>%sB\nACGG\n' "$ln" "$ln" > "$tmp/longnames.fa"
expect 0 "forward long names" -- "$H" forward -m "$T/hyenadna-tiny" --logits --residuals --layer 1 -o "$tmp/ln.safetensors" "$tmp/longnames.fa"
for k in tokens hidden logits residual.layer0 layer.1; do
  for x in A B; do has "$tmp/ln.safetensors" "\"$k\.$ln$x\"" "forward long name: $k key of record $x"; done
done

# a safetensors output named .gz is written uncompressed (it is mapped when read), with a warning saying so
expect 0 "forward -o NAME.safetensors.gz" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/z.safetensors.gz" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "z.safetensors.gz: safetensors output is written uncompressed whatever its name" "safetensors .gz name: warning"
[ "$(od -An -c -j8 -N1 "$tmp/z.safetensors.gz" | tr -d ' ')" = "{" ] && ok || bad "safetensors .gz name: not a plain safetensors file"
expect 1 "forward --layer twice" -- "$H" forward -m "$T/hyenadna-tiny" --layer 1 --layer 1 -o "$tmp/l2.safetensors" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "option --layer: '1' is given twice" "forward --layer twice named"
# one spelling per block: '01' or ' 1' (read by strtol) wrote the tensors of block 1 under other keys
# (layer.01.NAME, 'layer. 1.NAME'), and '--layer 1 --layer 01' the same tensor twice
expect 1 "forward --layer 01" -- "$H" forward -m "$T/hyenadna-tiny" --layer 1 --layer 01 -o "$tmp/l2.safetensors" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "option --layer: layer '01': write the block index without leading zeros ('1')" "forward --layer 01 named"
[ ! -e "$tmp/l2.safetensors" ] && ok || bad "forward --layer 01 wrote $tmp/l2.safetensors"
expect 1 "forward --layer ' 1'" -- "$H" forward -m "$T/hyenadna-tiny" --layer " 1" -o "$tmp/l2.safetensors" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "option --layer: layer ' 1': expected a block index 0..1" "forward --layer ' 1' named"
# --shift is HyenaDNA's: another family says it is not used (it was ignored silently), HyenaDNA uses it
printf '>s\nACGTACGTAC\n' > "$tmp/shift.fa"
expect 0 "forward --shift on a Caduceus model" -- "$H" forward -m "$T/caduceus-ph" --shift 0.3 -o "$tmp/sh1.safetensors" "$tmp/shift.fa"
has "$tmp/err" "option --shift: .*caduceus-ph has no HyenaDNA filter modulation (a caduceus model): not used" "--shift not used named"
expect 0 "forward --shift on HyenaDNA" -- "$H" forward -m "$T/hyenadna-tiny" --shift 0.3 -o "$tmp/sh2.safetensors" "$tmp/shift.fa"
"$H" forward -m "$T/hyenadna-tiny" -o "$tmp/sh0.safetensors" "$tmp/shift.fa"
if ! grep -q "shift" "$tmp/err" && [ -s "$tmp/sh0.safetensors" ] && ! cmp -s "$tmp/sh0.safetensors" "$tmp/sh2.safetensors"; then ok; else bad "forward --shift on HyenaDNA: warned or no effect"; fi
# errors of records read from standard input name it as such, not '-'
{ echo ">long"; printf '%2000s\n' "" | tr ' ' A; } > "$tmp/long.fa"
expect 1 "forward: a record beyond the maximum length from standard input" -- sh -c '"$0" forward -m "$1" -o "$2" - < "$3"' "$H" "$T/hyenadna-tiny" "$tmp/sl.safetensors" "$tmp/long.fa"
has "$tmp/err" "record 'long' of standard input: 2000 tokens exceed" "too long: standard input named"
expect 1 "forward: a bad base from standard input" -- sh -c 'printf ">z\nACGZ\n" | "$0" forward -m "$1" -o "$2" -' "$H" "$T/hyenadna-tiny" "$tmp/sz.safetensors"
has "$tmp/err" "^hyenadna forward: standard input: invalid character 'Z'" "bad base: standard input named"
# a name that is not UTF-8 (a Latin-1 header) cannot be a safetensors key: an error naming the file and the
# record, no output (the tensor was dropped from the header; embed said "out of memory"); TSV takes it
printf '>ok1\nACGT\n>lat\351n\nACGT\n' > "$tmp/latin1.fa"
expect 1 "forward Latin-1 name" -- "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/l1.safetensors" "$tmp/latin1.fa"
has "$tmp/err" "(record number 2) of .*latin1.fa: the name is not valid UTF-8" "forward Latin-1 name: file and record named"
expect 1 "embed Latin-1 name to safetensors" -- "$H" embed -m "$T/hyenadna-tiny" -o "$tmp/l1.safetensors" "$tmp/latin1.fa"
has "$tmp/err" "latin1.fa: the name 'lat" "embed Latin-1 name: file and record named"
has "$tmp/err" "not valid UTF-8.*TSV" "embed Latin-1 name: the remedy named"
[ ! -e "$tmp/l1.safetensors" ] && ok || bad "a safetensors output with a Latin-1 name was left behind"
expect 0 "embed Latin-1 name to TSV" -- "$H" embed -m "$T/hyenadna-tiny" "$tmp/latin1.fa"
[ "$(grep -c "^lat" "$tmp/out")" = 1 ] && ok || bad "embed Latin-1 name in TSV"
# a Latin-1 file or model path only informs the metadata: written with its odd bytes as \xNN (it was dropped)
lp=$tmp/$'d\351p'; mkdir -p "$lp"; printf '>ok1\nACGT\n' > "$lp/in"$'\351'.fa; cp -r "$T/hyenadna-tiny" "$lp/m"
expect 0 "embed of a Latin-1 path to safetensors" -- "$H" embed -m "$lp/m" -o "$tmp/l2.safetensors" "$lp/in"$'\351'.fa
has "$tmp/l2.safetensors" '"input":"[^"]*d\\\\xE9p/in\\\\xE9.fa"' "embed metadata: the input path, odd bytes escaped"
has "$tmp/l2.safetensors" '"model":"[^"]*d\\\\xE9p/m"' "embed metadata: the model path, odd bytes escaped"
expect 0 "forward of a Latin-1 model path" -- "$H" forward -m "$lp/m" -o "$tmp/l3.safetensors" "$lp/in"$'\351'.fa
has "$tmp/l3.safetensors" '"model":"[^"]*d\\\\xE9p/m"' "forward metadata: the model path, odd bytes escaped"

# determinism: 1 and 2 threads give byte-identical files
"$H" forward -m "$T/hyenadna-tiny" --threads 1 -o "$tmp/t1.safetensors" "$T/hyenadna-tiny/input.fa"
"$H" forward -m "$T/hyenadna-tiny" --threads 2 -o "$tmp/t2.safetensors" "$T/hyenadna-tiny/input.fa"
if cmp -s "$tmp/t1.safetensors" "$tmp/t2.safetensors"; then ok; else bad "1 and 2 threads differ"; fi

# --device: a malformed name is a usage error (1); cuda without a usable device is a resource error (2);
# auto always runs (the GPU when one is visible, else the CPU)
expect 1 "bad --device" -- "$H" forward -m "$T/hyenadna-tiny" --device cuda:x -o "$tmp/d.safetensors" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "cuda:x" "bad --device named"
if "$H" --version | grep -q "0 devices visible\|not compiled in"; then
  expect 2 "--device cuda without a GPU" -- "$H" forward -m "$T/hyenadna-tiny" --device cuda -o "$tmp/d.safetensors" "$T/hyenadna-tiny/input.fa"
  has "$tmp/err" "\-\-device cuda" "--device cuda error names the option"
  if [ ! -e "$tmp/d.safetensors" ]; then ok; else bad "--device cuda failure left an output"; fi
fi
expect 0 "--device auto" -- "$H" forward -m "$T/hyenadna-tiny" --device auto -o "$tmp/d.safetensors" "$T/hyenadna-tiny/input.fa"
"$H" --version > "$tmp/ver"
has "$tmp/ver" "^Device (--device auto): " "--version names the device auto uses"
"$H" info -m "$T/hyenadna-tiny" > "$tmp/info"
has "$tmp/info" "^device	" "info names the device"
if [ "${HD_BUILT_CUDA:-}" = yes ]; then has "$tmp/info" "^backends	cpu, cuda$" "info: the backends of a CUDA build"
else has "$tmp/info" "^backends	cpu$" "info: the backends of a build without CUDA"; fi
HYENADNA_PRECISION=fp64 "$H" forward -m "$T/hyenadna-tiny" -o "$tmp/d.safetensors" "$T/hyenadna-tiny/input.fa" 2>"$tmp/err"; st=$?
if [ $st -eq 1 ]; then ok; else bad "HYENADNA_PRECISION=fp64: exit $st, expected 1"; fi
has "$tmp/err" "HYENADNA_PRECISION" "bad precision names the variable"
# --precision bf16 on the CPU: run where the processor has AVX512_BF16, refused (exit 1, naming it) elsewhere
"$H" forward -m "$T/hyenadna-tiny" --device cpu --precision bf16 -o "$tmp/bf.safetensors" "$T/hyenadna-tiny/input.fa" 2>"$tmp/err"; st=$?
if grep -q '^flags.* avx512_bf16' /proc/cpuinfo; then
  if [ $st -eq 0 ] && [ -s "$tmp/bf.safetensors" ]; then ok; else bad "--precision bf16 on an AVX512_BF16 CPU: exit $st"; fi
  # every family's other-option fixtures (HyenaDNA order 3, Evo 2 grouped-query attention, ...) within the bf16
  # bar of docs/models.md §6.9 (rel_F 5e-2; measured 0.4e-2 to 1.9e-2), and not at the fp32 bar (bf16 did run)
  for s in hyenadna-order3 evo2-gqa caduceus-variant xlstm-variant xlstm-noncausal; do
    kc=; case $s in evo2*) kc=--keep-case;; esac
    "$H" forward -m "$T/$s" --device cpu --precision bf16 $kc -o "$tmp/bf-$s.st" "$T/$s/input.fa" 2>"$tmp/err"; st=$?
    if [ $st -eq 0 ] && "$(dirname "$H")/bench/stcompare" -q -r 5e-2 -a 1 "$tmp/bf-$s.st" "$T/$s/expected.safetensors" > "$tmp/cmp" &&
       ! "$(dirname "$H")/bench/stcompare" -q "$tmp/bf-$s.st" "$T/$s/expected.safetensors" > /dev/null; then ok
    else bad "--precision bf16 on $s: exit $st, $(tail -1 "$tmp/cmp")"; fi
  done
else
  if [ $st -eq 1 ] && [ ! -e "$tmp/bf.safetensors" ]; then ok; else bad "--precision bf16 without AVX512_BF16: exit $st, expected 1"; fi
  has "$tmp/err" "AVX512_BF16" "the bf16 refusal names AVX512_BF16"
fi

# stdout closed early ends quietly
"$H" forward -m "$T/hyenadna-tiny" "$T/hyenadna-tiny/input.fa" 2>"$tmp/err" | head -c 10 > /dev/null
st=${PIPESTATUS[0]}
if [ "$st" -eq 0 ] || [ "$st" -eq 141 ]; then ok; else bad "closed stdout: exit $st"; fi
empty "$tmp/err" "closed stdout stderr"

# convert: PyTorch checkpoints (tests/data/ckpt, made by tests/make_ckpt_fixtures.py)
C=$T/ckpt
body() { local n; n=$(od -An -t u8 -N8 "$1" | tr -d ' '); tail -c +$((9 + n)) "$1"; }   # safetensors data area
expect 0 "convert lightning hyenadna" -- "$H" convert -o "$tmp/hconv" "$C/hyenadna-lightning.ckpt"
has "$tmp/out" "^config	hyper_parameters.model" "convert takes the config from hyper_parameters"
has "$tmp/out" "^aliased	model.backbone.layers.0.mixer.filter_fn.implicit_filter.3.freq" "convert reports the shared freq"
has "$tmp/out" "^dropped	optimizer_states	list with 12 tensors" "convert reports the optimizer state"
has "$tmp/out" "^dropped	train_torchmetrics.perplexity.total	metric state" "convert drops torchmetrics"
has "$tmp/out" "^family	hyenadna" "convert checks the family"
has "$tmp/out" "^summary	56 tensors kept" "convert summary"
if [ -s "$tmp/hconv/model.safetensors" ] && [ -s "$tmp/hconv/config.json" ] && [ -z "$(ls -A "$tmp" | grep tmp)" ]; then ok; else bad "convert output directory"; ls -A "$tmp" "$tmp/hconv"; fi
expect 0 "info on a checkpoint" -- "$H" info -m "$C/hyenadna-lightning.ckpt"
has "$tmp/out" "^parameters	438144" "info on a checkpoint counts the parameters"
"$H" forward -m "$T/hyenadna-tiny" --logits -o "$tmp/f0.safetensors" "$T/hyenadna-tiny/input.fa"
"$H" forward -m "$tmp/hconv" --logits -o "$tmp/f1.safetensors" "$T/hyenadna-tiny/input.fa"
"$H" forward -m "$C/hyenadna-lightning.ckpt" --logits -o "$tmp/f2.safetensors" "$T/hyenadna-tiny/input.fa"
if [ -s "$tmp/f0.safetensors" ] && cmp -s <(body "$tmp/f0.safetensors") <(body "$tmp/f1.safetensors"); then ok; else bad "forward on the converted model differs from the fixture"; fi
if [ -s "$tmp/f2.safetensors" ] && cmp -s <(body "$tmp/f0.safetensors") <(body "$tmp/f2.safetensors"); then ok; else bad "forward on the checkpoint differs from the fixture"; fi
expect 0 "convert lightning xlstm" -- "$H" convert -o "$tmp/xconv/" "$C/xlstm-lightning.ckpt"
has "$tmp/out" "^family	xlstm" "convert xlstm family"
has "$tmp/out" "^parameters	63312" "convert xlstm parameters"
# a bare state dict needs --config; nothing is left behind on failure
expect 2 "convert without a config" -- "$H" convert -o "$tmp/xp" "$C/xlstm-plain.bin"
has "$tmp/err" "xlstm-plain.bin" "missing config names the file"
has "$tmp/err" "\-\-config" "missing config suggests --config"
if [ ! -e "$tmp/xp" ] && [ -z "$(ls -A "$tmp" | grep tmp)" ]; then ok; else bad "failed convert left output"; ls -A "$tmp"; fi
expect 0 "convert with --config to one file" -- "$H" convert -c "$T/xlstm-mlstm/config.json" -o "$tmp/xp.safetensors" "$C/xlstm-plain.bin"
expect 0 "info on the single converted file" -- "$H" info -m "$tmp/xp.safetensors"
has "$tmp/out" "^family	xlstm" "single-file config from __metadata__"
expect 1 "convert onto an existing file" -- "$H" convert -c "$T/xlstm-mlstm/config.json" -o "$tmp/xp.safetensors" "$C/xlstm-plain.bin"
has "$tmp/err" "\-\-force" "existing output suggests --force"
expect 0 "convert --force" -- "$H" convert -f -c "$T/xlstm-mlstm/config.json" -o "$tmp/xp.safetensors" "$C/xlstm-plain.bin"
expect 1 "convert into a non-empty directory" -- "$H" convert -o "$tmp/hconv" "$C/hyenadna-lightning.ckpt"
expect 0 "convert --force into a directory" -- "$H" convert -f -o "$tmp/hconv" "$C/hyenadna-lightning.ckpt"
# an empty output name (an unset shell variable) is a usage error before any work, in a clean directory:
# it was found only when the output was renamed into place, after the whole run (a '.tmp.' directory or
# file made and removed in the working directory)
mkdir -p "$tmp/emptyo"
for c in "convert $C/hyenadna-lightning.ckpt" "embed -m $T/hyenadna-tiny $T/hyenadna-tiny/input.fa" \
         "embed -m $T/hyenadna-tiny -O safetensors $T/hyenadna-tiny/input.fa" "forward -m $T/hyenadna-tiny $T/hyenadna-tiny/input.fa"; do
  (cd "$tmp/emptyo" && exec "$H" $c -o '') >"$tmp/out" 2>"$tmp/err"; st=$?
  if [ $st -eq 1 ] && grep -q "output .*name is empty" "$tmp/err" && [ ! -s "$tmp/out" ] && [ -z "$(ls -A "$tmp/emptyo")" ]; then ok
  else bad "$c -o '': exit $st, expected 1 naming the empty output: $(head -2 "$tmp/err") $(ls -A "$tmp/emptyo")"; fi
done
# --force of another model there: the earlier config.json (read before config.yml) and tokenizer.json go
echo '{}' > "$tmp/hconv/tokenizer.json"
expect 0 "convert --force of an Evo 2 over a HyenaDNA directory" -- "$H" convert -f -c "$T/evo2-tiny/config.yml" -o "$tmp/hconv" "$T/evo2-tiny/model.pt"
if [ -f "$tmp/hconv/config.yml" ] && [ ! -e "$tmp/hconv/config.json" ] && [ ! -e "$tmp/hconv/tokenizer.json" ]; then ok; else bad "--force left the earlier model's config.json or tokenizer.json: $(ls "$tmp/hconv")"; fi
expect 0 "info on the replaced directory" -- "$H" info -m "$tmp/hconv"
has "$tmp/out" "^family	evo2" "the replaced directory holds the new model"
expect 0 "convert --dry-run" -- "$H" convert -n "$C/misc.pt"
has "$tmp/out" "^kept	w_t	F32	\[6, 4\]" "dry run lists a transposed view"
has "$tmp/out" "^kept	b	BF16	\[2, 3, 4\]" "dry run lists bf16"
has "$tmp/out" "^state_dict	model" "dry run finds the model entry"
# not a checkpoint, a truncated one, a config that is not JSON: errors naming the file
expect 2 "convert a FASTA file" -- "$H" convert -o "$tmp/fa" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "input.fa" "not a checkpoint names the file"
head -c 100000 "$C/hyenadna-lightning.ckpt" > "$tmp/trunc.ckpt"
expect 2 "convert a truncated checkpoint" -- "$H" convert -o "$tmp/tr" "$tmp/trunc.ckpt"
has "$tmp/err" "trunc.ckpt" "truncated checkpoint named"
expect 2 "forward on a truncated checkpoint" -- "$H" forward -m "$tmp/trunc.ckpt" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "trunc.ckpt" "truncated checkpoint named by -m"
expect 1 "convert with a bad --config" -- "$H" convert -c "$T/hyenadna-tiny/input.fa" -o "$tmp/bc" "$C/xlstm-plain.bin"
has "$tmp/err" "input.fa" "bad --config named"
if [ ! -e "$tmp/fa" ] && [ ! -e "$tmp/tr" ] && [ ! -e "$tmp/bc" ]; then ok; else bad "failed convert left output"; fi
expect 1 "convert without input" -- "$H" convert -o "$tmp/none"
# a sharded PyTorch checkpoint: its index and a shard are named as such (the index was 'not a PyTorch checkpoint',
# a shard converted to a model without half its tensors)
mkdir -p "$tmp/shb" && cp "$C/xlstm-plain.bin" "$tmp/shb/pytorch_model-00001-of-00002.bin" && cp "$C/xlstm-plain.bin" "$tmp/shb/pytorch_model-00002-of-00002.bin"
printf '{"weight_map": {"a": "pytorch_model-00001-of-00002.bin", "b": "pytorch_model-00002-of-00002.bin"}}' >"$tmp/shb/pytorch_model.bin.index.json"
expect 2 "convert the index of a sharded checkpoint" -- "$H" convert -c "$T/xlstm-mlstm/config.json" -o "$tmp/shc" "$tmp/shb/pytorch_model.bin.index.json"
has "$tmp/err" "pytorch_model.bin.index.json: the index of a sharded PyTorch checkpoint.*(2 shards)" "sharded checkpoint index named"
expect 2 "convert a shard of a sharded checkpoint" -- "$H" convert -c "$T/xlstm-mlstm/config.json" -o "$tmp/shc" "$tmp/shb/pytorch_model-00001-of-00002.bin"
has "$tmp/err" "pytorch_model-00001-of-00002.bin: one of the 2 shards" "shard named"
expect 2 "info on a sharded checkpoint's directory" -- "$H" info -m "$tmp/shb"
has "$tmp/err" "index of a sharded PyTorch checkpoint" "sharded checkpoint directory"
if [ ! -e "$tmp/shc" ]; then ok; else bad "a refused sharded convert left output"; fi
expect 1 "convert with a directory as --config" -- "$H" convert -c "$T/hyenadna-tiny" -o "$tmp/dc" "$C/xlstm-plain.bin"
has "$tmp/err" "cannot open config '$T/hyenadna-tiny': not a regular file" "directory --config named as such"
expect 2 "info with a directory as --config" -- "$H" info -c "$T/hyenadna-tiny" -m "$T/hyenadna-tiny"
has "$tmp/err" "cannot open config '$T/hyenadna-tiny': Is a directory" "directory -c named as such"
# a model with its own token ids (PlantCaduceus): the tokenizer.json beside its config travels with it
P=$T/plantcaduceus
expect 0 "convert PlantCaduceus" -- "$H" convert -c "$P/config.json" -o "$tmp/pconv" "$P/pytorch_model.bin"
has "$tmp/out" "^tokenizer	$P/tokenizer.json" "convert reports the tokenizer"
if cmp -s "$tmp/pconv/tokenizer.json" "$P/tokenizer.json"; then ok; else bad "convert copies tokenizer.json"; fi
"$H" forward -m "$P" --logits -o "$tmp/p0.safetensors" "$P/input.fa"
"$H" forward -m "$tmp/pconv" --logits -o "$tmp/p1.safetensors" "$P/input.fa"
if [ -s "$tmp/p0.safetensors" ] && cmp -s <(body "$tmp/p0.safetensors") <(body "$tmp/p1.safetensors"); then ok; else bad "forward on the converted PlantCaduceus differs"; fi
# a config without complement_map: §2's map (A<->T, C<->G) in the model's own ids (docs/models.md §4.1), so the
# PS buffers (a<->t, c<->g as tokenizer.json numbers them) agree and the outputs are the model's
mkdir -p "$tmp/pnocm"
awk '/"complement_map"/{skip=1; next} skip&&/^  }/{skip=0; next} !skip' "$P/config.json" > "$tmp/pnocm/config.json"
ln -s "$P/pytorch_model.bin" "$P/tokenizer.json" "$tmp/pnocm/"
if grep -q complement_map "$tmp/pnocm/config.json"; then bad "complement_map not dropped"; else ok; fi
expect 0 "PlantCaduceus without complement_map" -- "$H" forward -m "$tmp/pnocm" --logits -o "$tmp/p2.safetensors" "$P/input.fa"
if [ -s "$tmp/p2.safetensors" ] && cmp -s <(body "$tmp/p0.safetensors") <(body "$tmp/p2.safetensors"); then ok; else bad "PlantCaduceus without complement_map differs"; fi
# a config without vocab_size: the default 16 rows do not fit its 8-row embedding; the message names the config
# and the missing key (it named the complement_map buffer, 16 ids expected)
mkdir -p "$tmp/pnovs"
grep -v '"vocab_size"' "$P/config.json" | sed 's/"transformers_version": "\([^"]*\)",$/"transformers_version": "\1"/' > "$tmp/pnovs/config.json"
ln -s "$P/pytorch_model.bin" "$P/tokenizer.json" "$tmp/pnovs/"
expect 2 "PlantCaduceus config without vocab_size" -- "$H" info -m "$tmp/pnovs"
has "$tmp/err" "pnovs/config.json: config key 'vocab_size' is missing, .* which has 8 rows: add \"vocab_size\": 8 to the config" "missing vocab_size named"
if grep -q "invalid JSON" "$tmp/err"; then bad "the config without vocab_size is not JSON"; else ok; fi
# lower-case input with --keep-case: the same tokens and outputs (its tokenizer lower-cases, one token per base);
# the warning names the tokenizer.json (its vocabulary is all lower-case bases)
tr 'ACGTN' 'acgtn' < "$P/input.fa" | sed '/^>/y/acgtn/ACGTN/' > "$tmp/plower.fa"
expect 0 "PlantCaduceus lower-case --keep-case" -- "$H" forward --keep-case -m "$P" --logits -o "$tmp/p3.safetensors" "$tmp/plower.fa"
has "$tmp/err" "keep-case has no effect .*tokenizer.json has one token per base" "--keep-case warning names PlantCaduceus's tokenizer"
if [ -s "$tmp/p3.safetensors" ] && cmp -s <(body "$tmp/p0.safetensors") <(body "$tmp/p3.safetensors"); then ok; else bad "PlantCaduceus lower-case input differs"; fi
# --special on a vocabulary without [CLS]/[SEP]: a usage error at model load, before the input is read
expect 1 "PlantCaduceus --special cls-sep" -- "$H" forward -m "$P" --special cls-sep -o "$tmp/psp.safetensors" "$tmp/no-such.fa"
has "$tmp/err" "option --special cls-sep: the model's vocabulary ($P/tokenizer.json) has no \\[CLS\\] token" "--special cls-sep on PlantCaduceus"
expect 1 "PlantCaduceus --special sep" -- "$H" forward -m "$P" --special sep -o "$tmp/psp.safetensors" "$P/input.fa"
has "$tmp/err" "option --special sep: the model's vocabulary ($P/tokenizer.json) has no \\[SEP\\] token" "--special sep on PlantCaduceus"
if [ ! -e "$tmp/psp.safetensors" ]; then ok; else bad "--special refused left an output"; fi
expect 2 "convert PlantCaduceus to one file" -- "$H" convert -c "$P/config.json" -o "$tmp/p.safetensors" "$P/pytorch_model.bin"
has "$tmp/err" "own tokenizer.json.*convert to a directory" "single file without the tokenizer refused"
if [ ! -e "$tmp/p.safetensors" ] && [ -z "$(ls -A "$tmp" | grep tmp)" ]; then ok; else bad "refused single-file convert left output"; fi
# a checkpoint without hyper_parameters takes the config.json beside it (or DNA-xLSTM's model_config.json in its
# Lightning run folder), as -m FILE does: a Hugging Face pytorch_model.bin converts in its repository folder
expect 0 "convert PlantCaduceus without --config" -- "$H" convert -o "$tmp/pconv2" "$P/pytorch_model.bin"
has "$tmp/out" "^config	$P/config.json" "convert reports the config beside the checkpoint"
if cmp -s "$tmp/pconv2/config.json" "$P/config.json" && cmp -s "$tmp/pconv2/tokenizer.json" "$P/tokenizer.json"; then ok; else bad "convert without --config: config or tokenizer not copied"; fi
"$H" forward -m "$tmp/pconv2" --logits -o "$tmp/p2.safetensors" "$P/input.fa"
if [ -s "$tmp/p2.safetensors" ] && cmp -s <(body "$tmp/p0.safetensors") <(body "$tmp/p2.safetensors"); then ok; else bad "forward on PlantCaduceus converted without --config differs"; fi
mkdir -p "$tmp/run/checkpoints"; cp "$C/xlstm-plain.bin" "$tmp/run/checkpoints/last.bin"; cp "$T/xlstm-mlstm/config.json" "$tmp/run/model_config.json"
expect 0 "convert a bare state dict with model_config.json in its run folder" -- "$H" convert -o "$tmp/xrun" "$tmp/run/checkpoints/last.bin"
has "$tmp/out" "^config	$tmp/run/model_config.json" "convert reports the run folder's config"
expect 2 "convert a bare state dict with no config anywhere" -- "$H" convert -o "$tmp/xnone" "$C/xlstm-plain.bin"
has "$tmp/err" "no config.json or model_config.json beside it; give one with --config" "no config: names where it looked"
# classify: labelled windows of seq6 (fwd) against their reverse complements (rc)
awk '/^>/{p=($1==">seq6")} !/^>/&&p{printf "%s",$0}' "$T/hyenadna-tiny/input.fa" > "$tmp/s6"
s6=$(cat "$tmp/s6")
: > "$tmp/train.fa"; : > "$tmp/test.fa"
for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
  w=${s6:$((i*80)):64}; r=$(echo "$w" | rev | tr ACGT TGCA)
  if [ $((i % 2)) -eq 0 ]; then f="$tmp/train.fa"; else f="$tmp/test.fa"; fi
  printf '>w%d label=fwd\n%s\n>r%d label=rc\n%s\n' "$i" "$w" "$i" "$r" >> "$f"
done
expect 0 "classify kmer" -- "$H" classify --method kmer --train "$tmp/train.fa" "$tmp/test.fa" --metrics "$tmp/m.json"
has "$tmp/out" "^#name	label	score_fwd	score_rc	prob_fwd	prob_rc	true_label$" "classify TSV header"
if [ "$(grep -vc '^#' "$tmp/out")" -eq 12 ]; then ok; else bad "classify kmer: expected 12 rows"; fi
has "$tmp/m.json" '"confusion_matrix"' "classify metrics JSON"
has "$tmp/err" "accuracy" "classify metrics summary on stderr"
expect 0 "classify context" -- "$H" classify -m "$T/hyenadna-tiny" --shots 2 --train "$tmp/train.fa" "$tmp/test.fa"
if awk -F'\t' '!/^#/{n++; s=$5+$6; if (s<0.999||s>1.001) bad=1; if (($3>$4)!=($2=="fwd")) bad=1} END{exit !(n==12 && !bad)}' "$tmp/out"; then ok; else bad "classify context: probabilities or labels inconsistent"; head -3 "$tmp/out"; fi
expect 0 "classify centroid --save-head" -- "$H" classify -m "$T/hyenadna-tiny" --method centroid --pool last --train "$tmp/train.fa" --save-head "$tmp/h.safetensors" "$tmp/test.fa"
cp "$tmp/out" "$tmp/c1"
expect 0 "classify --head" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/h.safetensors" "$tmp/test.fa"
if cmp -s "$tmp/out" "$tmp/c1"; then ok; else bad "saved head gives other calls"; fi
# the head given as the model (-m) is named as a head, not 'no config' (the same for embed/forward outputs below)
expect 2 "info -m a classify head" -- "$H" info -m "$tmp/h.safetensors"
has "$tmp/err" "h.safetensors is a classify head (written by --save-head), not a model's weights" "a head given as the model"
expect 1 "classify --head with another pooling" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/h.safetensors" --pool mean "$tmp/test.fa"
has "$tmp/err" "h.safetensors" "head pooling refusal names the head"
expect 1 "classify --head for another model" -- "$H" classify -m "$T/caduceus-ph" --head "$tmp/h.safetensors" "$tmp/test.fa"
has "$tmp/err" "another model" "head model refusal"
expect 1 "classify --head with --rc, made without" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/h.safetensors" --rc "$tmp/test.fa"
has "$tmp/err" "option --rc: the head .*h.safetensors was made without --rc" "head --rc refusal names the mismatch"
# a head file missing or cut short is bad input (exit 1), as a missing query file is
expect 1 "classify --head, no such file" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/nohead.safetensors" "$tmp/test.fa"
has "$tmp/err" "nohead.safetensors" "missing head named"
head -c 100 "$tmp/h.safetensors" > "$tmp/cut.safetensors"
expect 1 "classify --head, a truncated head" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/cut.safetensors" "$tmp/test.fa"
has "$tmp/err" "cut.safetensors" "truncated head named"
# a knn head keeps its vectors: -k chooses the voters, as when fitted with that -k
"$H" classify -m "$T/hyenadna-tiny" --method knn -k 1 --train "$tmp/train.fa" "$tmp/test.fa" > "$tmp/k1" 2>/dev/null
expect 0 "classify --method knn --save-head (k 5)" -- "$H" classify -m "$T/hyenadna-tiny" --method knn --train "$tmp/train.fa" --save-head "$tmp/knn.safetensors" "$tmp/test.fa"
if ! cmp -s "$tmp/out" "$tmp/k1"; then ok; else bad "knn -k 1 and -k 5 agree: the -k check below proves nothing"; fi
expect 0 "classify --head knn -k 1" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/knn.safetensors" -k 1 "$tmp/test.fa"
if cmp -s "$tmp/out" "$tmp/k1"; then ok; else bad "--head knn -k 1 ignored -k"; diff "$tmp/out" "$tmp/k1" | head -4; fi
# saved again with -k 1 (the loaded head's model fields replaced, not leaked: the sanitizer build checks)
expect 0 "classify --head knn -k 1 --save-head" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/knn.safetensors" -k 1 --save-head "$tmp/knn1.safetensors" "$tmp/test.fa"
expect 0 "classify --head (knn saved with -k 1)" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/knn1.safetensors" "$tmp/test.fa"
if cmp -s "$tmp/out" "$tmp/k1"; then ok; else bad "knn head saved again with -k 1 does not vote with 1"; fi
# -k above the training set's size: every example votes, and the user is told so (once, with --cv too)
expect 0 "classify knn -k above the examples" -- "$H" classify -m "$T/hyenadna-tiny" --method knn -k 50 --train "$tmp/train.fa" "$tmp/test.fa"
has "$tmp/err" "train.fa: option -k: 50 neighbours, but the training set has 12 examples" "knn -k too large warned"
expect 0 "classify knn -k above the examples, --cv 3" -- "$H" classify -m "$T/hyenadna-tiny" --method knn -k 50 --train "$tmp/train.fa" --cv 3
if [ "$(grep -c 'option -k' "$tmp/err")" -eq 1 ]; then ok; else bad "knn -k warning not given exactly once with --cv"; cat "$tmp/err"; fi
expect 0 "classify knn -k 5" -- "$H" classify -m "$T/hyenadna-tiny" --method knn --train "$tmp/train.fa" "$tmp/test.fa"
if ! grep -q 'option -k' "$tmp/err"; then ok; else bad "knn -k 5 with 12 examples warned"; fi
# ... and with a saved knn head, which holds the 12 training vectors (it said nothing)
expect 0 "classify --head knn -k above its examples" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/knn.safetensors" -k 50 "$tmp/test.fa"
has "$tmp/err" "knn.safetensors: option -k: 50 neighbours, but the head holds 12 training examples; all of them vote" "--head knn -k too large warned"
# the options that choose and fit the examples do nothing with a saved head: a warning names them (and -k
# with a head other than knn); the calls are the head's
expect 0 "classify --head with fitting options" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/h.safetensors" --shots 2 --seed 7 --l2 5 --max-iter 3 -k 2 "$tmp/test.fa"
has "$tmp/err" "options --shots, --seed, --l2, --max-iter, -k: no effect with the saved centroid head .*h.safetensors" "--head: fitting options warned"
if cmp -s "$tmp/out" "$tmp/c1"; then ok; else bad "--head with fitting options: other calls"; fi
expect 0 "classify --head knn -k 3" -- "$H" classify -m "$T/hyenadna-tiny" --head "$tmp/knn.safetensors" -k 3 "$tmp/test.fa"
if ! grep -q 'warning' "$tmp/err"; then ok; else bad "--head knn -k 3 warned: $(cat "$tmp/err")"; fi
printf '>a label=x\nACGT\n>b\nACGT\n' > "$tmp/nolab.fa"
expect 1 "classify missing label=" -- "$H" classify --method kmer --train "$tmp/nolab.fa" "$tmp/test.fa"
has "$tmp/err" "nolab.fa: record 'b'" "missing label= names file and record"
printf '>a label=x\nACGT\n>b label=x\nACGT\n' > "$tmp/one.fa"
expect 1 "classify one class" -- "$H" classify --method kmer --train "$tmp/one.fa" -o "$tmp/none.tsv" "$tmp/test.fa"
has "$tmp/err" "one.fa: only one class" "one class named"
if [ ! -e "$tmp/none.tsv" ]; then ok; else bad "classify left an output after an error"; fi
# genome windows: BED9 with one colour per label
cp "$T/hyenadna-tiny/input.fa" "$tmp/ref.fa"
expect 0 "classify region windows" -- "$H" classify -m "$T/hyenadna-tiny" --method logistic --train "$tmp/train.fa" -f "$tmp/ref.fa" -r seq6:1-400 --window 100
has "$tmp/out" '^track .*itemRgb="On"' "classify BED track line"
if [ "$(grep -c '^seq6	' "$tmp/out")" -eq 4 ] && awk -F'\t' '/^seq6/{if ($2%100||$3-$2!=100||$9!~/^[0-9]+,[0-9]+,[0-9]+$/) exit 1}' "$tmp/out"; then ok; else bad "classify BED9 windows"; head -4 "$tmp/out"; fi
expect 0 "classify --cv" -- "$H" classify --method kmer --train "$tmp/train.fa" --cv 3 --seed 5
if [ "$(grep -vc '^#' "$tmp/out")" -eq 12 ]; then ok; else bad "classify --cv rows"; fi
cp "$tmp/out" "$tmp/cv1"
"$H" classify --method kmer --train "$tmp/train.fa" --cv 3 --seed 5 > "$tmp/cv2" 2>/dev/null
if cmp -s "$tmp/cv1" "$tmp/cv2"; then ok; else bad "classify --cv not deterministic"; fi
expect 1 "classify without --train" -- "$H" classify --method kmer "$tmp/test.fa"
# embed: records, empty input, errors naming what is at fault, compressed output
E() { "$H" embed -m "$T/hyenadna-tiny" "$@"; }
expect 0 "embed records" -- E -o "$tmp/e.tsv" "$T/hyenadna-tiny/input.fa"
if [ "$(grep -vc '^#' "$tmp/e.tsv")" -eq 8 ]; then ok; else bad "embed: expected 8 rows"; fi
if head -1 "$tmp/e.tsv" | grep -q "^#name	chrom	start	end	strand	dim0	.*	dim127$"; then ok; else bad "embed TSV header"; fi
if awk -F'\t' '!/^#/ && NF != 133 { exit 1 }' "$tmp/e.tsv"; then ok; else bad "embed TSV: 5 + 128 columns"; fi
expect 0 "embed .tsv.gz" -- E -o "$tmp/e.tsv.gz" "$T/hyenadna-tiny/input.fa"
if zcat "$tmp/e.tsv.gz" | cmp -s - "$tmp/e.tsv"; then ok; else bad "embed .tsv.gz is not the TSV under zcat"; fi
# .bgz, bgzip's other suffix, which embed's format names took (.bed.bgz: BED), was written plain
expect 0 "embed .bed.bgz" -- E -o "$tmp/e.bed.bgz" "$T/hyenadna-tiny/input.fa"
expect 0 "embed -O bed" -- E -O bed -o "$tmp/e.bed" "$T/hyenadna-tiny/input.fa"
# (BGZF: gzip with the 'BC' extra field at byte 12)
if [ "$(od -An -tx1 -N2 "$tmp/e.bed.bgz" | tr -d ' ')" = 1f8b ] && [ "$(od -An -c -j12 -N2 "$tmp/e.bed.bgz" | tr -d ' ')" = BC ] &&
   zcat "$tmp/e.bed.bgz" | cmp -s - "$tmp/e.bed"; then ok; else bad "embed .bed.bgz is not the BED, bgzipped"; fi
expect 0 "embed 1 thread" -- E --threads 1 -o "$tmp/e1.tsv" "$T/hyenadna-tiny/input.fa"
if cmp -s "$tmp/e1.tsv" "$tmp/e.tsv"; then ok; else bad "embed: 1 and 2 threads differ"; fi
expect 0 "embed batch size 1 with --progress" -- E -b 1 --progress -o "$tmp/b1.tsv" "$T/hyenadna-tiny/input.fa"
if cmp -s "$tmp/b1.tsv" "$tmp/e.tsv"; then ok; else bad "embed: batch size 1 differs from 64"; fi
has "$tmp/err" "8 sequences, 1482 bases" "embed --progress line"
# one progress rule for every command: on a terminal or with --progress, never at --verbosity 0
expect 0 "forward --progress" -- "$H" forward -m "$T/hyenadna-tiny" --progress -o "$tmp/p.safetensors" "$T/hyenadna-tiny/input.fa"
has "$tmp/err" "hyenadna forward: 8 records, 1482 bases, [0-9]* bases/s" "forward --progress line"
# a warning during the run starts a line of its own: it was written after the progress line drawn last
# (on a terminal, glued to the end of the progress text)
awk 'BEGIN{srand(9); for(r=0;r<500;r++){s=""; for(i=0;i<1000;i++) s=s substr("ACGT",int(rand()*4)+1,1);
  if (r==480) print ">empty"; printf ">b%d\n%s\n", r, s}}' > "$tmp/late_empty.fa"
expect 0 "embed --progress, a warning late in the run" -- "$H" embed -@1 --progress -o "$tmp/le.tsv" "$tmp/late_empty.fa"
if tr '\r' '\n' < "$tmp/err" | grep -q "^hyenadna embed: warning: record 'empty'" && [ "$(grep -c "warning: record 'empty'" "$tmp/err")" = 1 ]; then ok
elif ! grep -q $'\r' "$tmp/err"; then bad "embed --progress: no progress line"
else bad "embed --progress: the warning shares the progress line: $(tr '\r' '\n' < "$tmp/err" | grep warning)"; fi
for c in forward embed; do
  "$H" $c -m "$T/hyenadna-tiny" --progress --verbosity 0 -o "$tmp/p.$c" "$T/hyenadna-tiny/input.fa" 2>"$tmp/err"
  empty "$tmp/err" "$c --progress --verbosity 0"
done
: > "$tmp/empty.fa"
expect 0 "embed empty input" -- E "$tmp/empty.fa"
if [ "$(wc -l < "$tmp/out")" -eq 1 ] && head -1 "$tmp/out" | grep -q '^#name'; then ok; else bad "embed empty input: header only"; fi
# (an explicit empty file on stdin: /dev/null is not always a character device in containers)
E -O bed - < "$tmp/empty.fa" > "$tmp/out" 2> "$tmp/err"; st=$?
if [ $st -eq 0 ]; then ok; else bad "embed empty stdin as BED: exit $st"; sed 's/^/    /' "$tmp/err" | head -3; fi
if [ "$(wc -l < "$tmp/out")" -eq 1 ] && head -1 "$tmp/out" | grep -q '^#chrom	start	end	name	score	strand	dim0'; then ok; else bad "embed empty BED: header only"; fi
expect 0 "embed empty input to safetensors" -- E -o "$tmp/empty.safetensors" "$tmp/empty.fa"
# an output of embed or forward given as the model (also with the model's config) is named as such: it said
# 'no config: the file's __metadata__ has no 'config' entry' (with -c: a tensor missing)
"$H" forward -m "$T/hyenadna-tiny" -o "$tmp/fw.safetensors" "$T/hyenadna-tiny/input.fa" 2>/dev/null
expect 2 "info -m an embed output" -- "$H" info -m "$tmp/empty.safetensors"
has "$tmp/err" "empty.safetensors is an output of .hyenadna embed. (its __metadata__ 'generator'), not a model's weights" "an embed output given as the model"
expect 2 "embed -m a forward output, -c its model's config" -- "$H" embed -m "$tmp/fw.safetensors" -c "$T/hyenadna-tiny/config.json" "$tmp/empty.fa"
has "$tmp/err" "fw.safetensors is an output of .hyenadna forward." "a forward output given as the model"
if [ -s "$tmp/empty.safetensors" ]; then ok; else bad "embed empty safetensors missing"; fi
cp "$T/hyenadna-tiny/input.fa" "$tmp/g.fa"
expect 1 "embed region outside the contig" -- E -r seq6:1000-1025 -o "$tmp/r.tsv" "$tmp/g.fa"
has "$tmp/err" "seq6:1000-1025" "region outside named"
has "$tmp/err" "1024 bases" "region outside gives the length"
if [ ! -e "$tmp/r.tsv" ]; then ok; else bad "embed left output after a region error"; fi
expect 1 "embed unknown contig" -- E -r chrQ:1-10 "$tmp/g.fa"
has "$tmp/err" "chrQ" "unknown contig named"
expect 1 "embed empty -r (an unset variable)" -- E -r '' -o "$tmp/r.tsv" "$tmp/g.fa"
has "$tmp/err" "\-\-region: empty region" "embed empty -r named"
if [ ! -e "$tmp/r.tsv" ]; then ok; else bad "embed empty -r left an output"; fi
printf 'seq6\t1020\t1025\n' > "$tmp/r.bed"
expect 1 "embed BED region outside" -- E -R "$tmp/r.bed" "$tmp/g.fa"
has "$tmp/err" "r.bed line 1" "BED region outside names the line"
printf 'seq6\t1023\t1024\n' > "$tmp/edge.bed"
expect 0 "embed BED region at the edge" -- E -R "$tmp/edge.bed" "$tmp/g.fa"
if grep -q "^seq6:1024-1024	seq6	1023	1024	+	" "$tmp/out"; then ok; else bad "embed BED edge coordinates"; fi
expect 1 "embed regions from stdin" -- E -r seq1 -
has "$tmp/err" "standard input" "regions need a file"
gzip -c "$tmp/g.fa" > "$tmp/g.fa.gz"
expect 1 "embed regions of a gzip FASTA" -- E -r seq1 "$tmp/g.fa.gz"
has "$tmp/err" "bgzip" "gzip FASTA for regions: advice"
expect 0 "embed gzip FASTA whole records" -- E -o "$tmp/gz.tsv" "$tmp/g.fa.gz"
if cmp -s "$tmp/gz.tsv" "$tmp/e.tsv"; then ok; else bad "embed gzip and plain FASTA differ"; fi
expect 1 "embed --no-split" -- E --no-split "$tmp/long.fa"
has "$tmp/err" "1026" "--no-split names the limit"
has "$tmp/err" "record 'long'" "--no-split names the record"
expect 0 "embed splits long records" -- E "$tmp/long.fa"
has "$tmp/err" "warning" "embed split warning"
if [ "$(grep -vc '^#' "$tmp/out")" -eq 2 ]; then ok; else bad "embed: 1030 bases give 2 windows"; fi
expect 1 "embed --pool none to TSV" -- E --pool none -o "$tmp/n.tsv" "$tmp/g.fa"
has "$tmp/err" "\-\-pool none" "--pool none needs safetensors named"
expect 1 "embed bad --pool" -- E --pool median "$tmp/g.fa"
has "$tmp/err" "median" "bad --pool named"
expect 1 "embed bad -O" -- E -O parquet "$tmp/g.fa"
has "$tmp/err" "parquet" "bad -O named"
expect 1 "embed --stride without --window" -- E -s 10 "$tmp/g.fa"
has "$tmp/err" "\-\-window" "--stride needs --window"
expect 1 "embed --window over the maximum" -- E -w 2000 "$tmp/g.fa"
has "$tmp/err" "\-\-window" "--window over the maximum named"
expect 1 "embed --layer out of range" -- E --layer 5 "$tmp/g.fa"
has "$tmp/err" "\-\-layer" "--layer out of range named"
# spaces around a value are refused, leading as trailing, as every numeric option does
for v in ' 1' '1 ' '+1'; do
  expect 1 "embed --layer '$v'" -- E --layer "$v" "$tmp/g.fa"
  has "$tmp/err" "option --layer: layer '$v': expected a block index 0..1" "--layer '$v' named"
done
expect 1 "forward --layer ' 1'" -- "$H" forward -m "$T/hyenadna-tiny" --layer ' 1' -o "$tmp/sp.safetensors" "$tmp/g.fa"
has "$tmp/err" "option --layer: layer ' 1'" "forward --layer ' 1' named"
expect 1 "embed --window ' 10'" -- E --window ' 10' "$tmp/g.fa"
has "$tmp/err" "option --window: ' 10' is not an integer" "--window with a leading space"
expect 1 "forward --shift ' 0.5'" -- "$H" forward -m "$T/hyenadna-tiny" --shift ' 0.5' -o "$tmp/sp.safetensors" "$tmp/g.fa"
has "$tmp/err" "option --shift: ' 0.5' is not a number" "--shift with a leading space"
expect 1 "embed bad base" -- E -o "$tmp/bb.tsv" "$tmp/bad.fa"
has "$tmp/err" "r1" "embed bad base names the record"
has "$tmp/err" "position 5" "embed bad base names the position"
if [ ! -e "$tmp/bb.tsv" ] && [ -z "$(ls -A "$tmp" | grep tmp)" ]; then ok; else bad "embed partial output left behind"; ls -A "$tmp"; fi
expect 1 "embed missing input" -- E "$tmp/none.fa"
has "$tmp/err" "none.fa" "embed missing input named"
expect 1 "embed VCF input" -- E <(printf '##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n')
has "$tmp/err" "not FASTA" "embed rejects a VCF"
printf 'hello world\n' > "$tmp/text.txt"
expect 1 "embed plain text" -- E "$tmp/text.txt"
has "$tmp/err" "text.txt: not FASTA" "embed rejects text that is not FASTA"
# an xz or bzip2 FASTA (which the FASTA reader took for plain text: "not FASTA") is refused naming the
# compression and the remedy, from a file and from standard input
for z in xz bzip2; do
  command -v $z >/dev/null 2>&1 || { bad "$z is not installed (apt-get install ${z/xz/xz-utils}): input check not run"; continue; }
  $z -c "$T/hyenadna-tiny/input.fa" > "$tmp/in.fa.$z"
  for c in embed forward; do
    expect 1 "$c $z FASTA" -- "$H" $c -m "$T/hyenadna-tiny" -o "$tmp/z.out" "$tmp/in.fa.$z"
    has "$tmp/err" "in.fa.$z.*$z-compressed.*recompress it with bgzip" "$c $z FASTA: the file, compression and remedy named"
  done
  expect 1 "embed $z FASTA on standard input" -- sh -c '"$1" embed -m "$2" - < "$3"' sh "$H" "$T/hyenadna-tiny" "$tmp/in.fa.$z"
  has "$tmp/err" "standard input.*$z-compressed" "embed $z on standard input named"
done
# ------------------------------------------------------------------ score-variants
# reference and VCFs built from the lambda-phage records of the fixture input
M="$T/hyenadna-tiny"
sv="$tmp/sv"; mkdir -p "$sv"
awk '/^>/{p=($1==">seq6"||$1==">seq5")} p' "$T/hyenadna-tiny/input.fa" | sed 's/^>seq6.*/>ctgA/; s/^>seq5.*/>ctgB/' > "$sv/ref.fa"
seqA=$(awk '/^>/{p=($1==">ctgA")} !/^>/&&p' "$sv/ref.fa" | tr -d '\n'); lenA=${#seqA}
b() { printf '%s' "${seqA:$(($1-1)):${2:-1}}"; }          # bases of ctgA at 1-based POS
other() { case $1 in A) echo C;; C) echo G;; G) echo T;; *) echo A;; esac; }
{
  printf '##fileformat=VCFv4.2\n##contig=<ID=ctgA,length=%s>\n##contig=<ID=ctgB,length=255>\n##contig=<ID=ctgZ,length=99>\n' "$lenA"
  printf '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
  printf '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n##FILTER=<ID=q10,Description="Low quality">\n'
  printf '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n'
  printf 'ctgA\t1\tfirst\t%s\t%s\t30\tPASS\tDP=7\tGT:AD\t0/1:3,4\t0/0:7,0\n' "$(b 1)" "$(other "$(b 1)")"
  printf 'ctgA\t100\tmulti\t%s\t%s,%s\t.\t.\t.\tGT:AD\t1/2:0,2,3\t./.:.\n' "$(b 100)" "$(other "$(b 100)")" "$(other "$(other "$(b 100)")")"
  printf 'ctgA\t200\tmism\t%s\tA\t.\tq10\tDP=1\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(other "$(b 200)")"
  printf 'ctgA\t300\tsym\t%s\t<DEL>\t.\t.\tDP=2\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(b 300)"
  printf 'ctgA\t400\tins\t%s\t%sTT\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(b 400)" "$(b 400)"
  printf 'ctgA\t500\tdel\t%s\t%s\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$(b 500 4)" "$(b 500)"
  printf 'ctgA\t600\tstar\t%s\t*,%s\t.\t.\t.\tGT:AD\t0/1:1,1,0\t0/0:2,0,0\n' "$(b 600)" "$(other "$(b 600)")"
  printf 'ctgA\t%s\tlast\t%s\t%s\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n' "$lenA" "$(b "$lenA")" "$(other "$(b "$lenA")")"
  printf 'ctgZ\t5\tnoctg\tA\tT\t.\t.\t.\tGT:AD\t0/1:1,1\t0/0:2,0\n'
} > "$sv/in.vcf"
nrec=$(grep -vc '^#' "$sv/in.vcf")
expect 0 "score-variants VCF" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 -o "$sv/out.vcf" "$sv/in.vcf"
has "$sv/out.vcf" '^##INFO=<ID=HDNA_LLR,Number=A,Type=Float,Description=' "HDNA_LLR declared"
has "$sv/out.vcf" '^##INFO=<ID=HDNA_EDIST,Number=A,Type=Float,Description=' "HDNA_EDIST declared"
has "$sv/out.vcf" '^##hyenadna_score-variantsVersion=' "version line"
has "$sv/out.vcf" '^##hyenadna_score-variantsCommand=score-variants ' "command line"
if [ -e "$sv/ref.fa.fai" ]; then ok; else bad "reference index not made on the fly"; fi
has "$tmp/err" "$nrec records: 6 scored" "summary scored count"
has "$tmp/err" "1 REF not matching the reference" "summary mismatch count"
has "$tmp/err" "1 contig not in the reference" "summary contig count"
has "$tmp/err" "1 symbolic or '\*' ALT" "summary symbolic count"
has "$tmp/err" "variants/s" "summary rate"
# every record, in order, unchanged apart from the added tags
bcftools view -H "$sv/in.vcf" > "$sv/a.txt" 2>/dev/null
bcftools annotate -x INFO/HDNA_LLR,INFO/HDNA_EDIST "$sv/out.vcf" 2>/dev/null | bcftools view -H > "$sv/b.txt" 2>/dev/null
if [ -s "$sv/a.txt" ] && cmp -s "$sv/a.txt" "$sv/b.txt"; then ok; else bad "output differs from input apart from the tags"; diff "$sv/a.txt" "$sv/b.txt" | head -5; fi
tagged() { bcftools query -i "ID==\"$1\"" -f '%INFO/HDNA_LLR|%INFO/HDNA_EDIST' "$sv/${2:-out.vcf}" 2>/dev/null; }
for id in first ins del last; do
  v=$(tagged $id); if echo "$v" | grep -Eq '^-?[0-9.e+-]+\|[0-9.e+-]+$'; then ok; else bad "record $id not scored: '$v'"; fi
done
v=$(tagged multi); if echo "$v" | grep -Eq '^-?[0-9.e+-]+,-?[0-9.e+-]+\|'; then ok; else bad "multi-allelic: one value per ALT: '$v'"; fi
v=$(tagged star); if echo "$v" | grep -Eq '^\.,-?[0-9.e+-]+\|'; then ok; else bad "'*' ALT gets a missing value: '$v'"; fi
for id in mism sym noctg; do
  v=$(tagged $id); if [ "$v" = ".|." ]; then ok; else bad "record $id should pass through unannotated: '$v'"; fi
done
# --strict: the mismatch is an error naming the record; nothing left under the output name
expect 1 "score-variants --strict" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --strict -o "$sv/strict.vcf" "$sv/in.vcf"
has "$tmp/err" "ctgA:200" "--strict names the record"
has "$tmp/err" "REF allele" "--strict says why"
if [ ! -e "$sv/strict.vcf" ] && [ -z "$(ls -A "$sv" | grep '\.tmp\.')" ]; then ok; else bad "--strict left output behind"; ls -A "$sv"; fi
# TSV: one line per ALT, same values as the VCF
expect 0 "score-variants TSV" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 -o "$sv/out.tsv" "$sv/in.vcf"
if [ "$(head -1 "$sv/out.tsv")" = "$(printf '#chrom\tpos\tid\tref\talt\tllr\tedist')" ]; then ok; else bad "TSV header: $(head -1 "$sv/out.tsv")"; fi
nalt=$(grep -v '^#' "$sv/in.vcf" | awk -F'\t' '{n+=split($5,a,",")} END{print n}')
if [ "$(grep -vc '^#' "$sv/out.tsv")" -eq "$nalt" ]; then ok; else bad "TSV has $(grep -vc '^#' "$sv/out.tsv") lines, expected $nalt"; fi
t=$(awk -F'\t' '$3=="ins"{print $6}' "$sv/out.tsv"); vv=$(tagged ins | cut -d'|' -f1)
if awk -v a="$t" -v b="$vv" 'BEGIN{d=a-b; if (d<0) d=-d; m=(a<0?-a:a); exit !(d <= 1e-4*m + 1e-6)}'; then ok; else bad "TSV $t vs VCF $vv"; fi
# VCF -> BCF (indexed) -> VCF round trip; BCF input
expect 0 "score-variants BCF output" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version -W -o "$sv/out.bcf" "$sv/in.vcf"
if [ -s "$sv/out.bcf.csi" ]; then ok; else bad "--write-index made no .csi"; fi
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version "$sv/in.vcf" 2>/dev/null > "$sv/nv.vcf"
if grep -q '^##hyenadna_score-variants' "$sv/nv.vcf"; then bad "--no-version kept the version lines"; else ok; fi
bcftools view -H "$sv/out.bcf" > "$sv/c.txt" 2>/dev/null; bcftools view -H "$sv/nv.vcf" > "$sv/d.txt" 2>/dev/null
if [ -s "$sv/c.txt" ] && cmp -s "$sv/c.txt" "$sv/d.txt"; then ok; else bad "BCF and VCF outputs differ"; diff "$sv/c.txt" "$sv/d.txt" | head -4; fi
bcftools view -Ob -o "$sv/in.bcf" "$sv/in.vcf" 2>/dev/null
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version "$sv/in.bcf" 2>/dev/null | bcftools view -H > "$sv/e.txt" 2>/dev/null
if [ -s "$sv/e.txt" ] && cmp -s "$sv/d.txt" "$sv/e.txt"; then ok; else bad "BCF input differs from VCF input"; fi
expect 0 "score-variants bgzipped VCF" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version -W -o "$sv/out.vcf.gz" "$sv/in.vcf"
if [ -s "$sv/out.vcf.gz.tbi" ] && bcftools view -H "$sv/out.vcf.gz" 2>/dev/null | cmp -s - "$sv/d.txt"; then ok; else bad "bgzipped VCF output"; fi
# -W to a device or a pipe: nothing to index, refused (the index was skipped without a word, exit 0)
expect 1 "score-variants -W to /dev/null" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 -W -Oz -o /dev/null "$sv/in.vcf"
has "$tmp/err" "option --write-index: output '/dev/null' is not a regular file (a device or a pipe), which cannot be indexed" "-W to a device: said so"
# an index of the other kind left by an earlier run (a .csi, which htslib reads first) is removed
cp "$sv/out.vcf.gz.tbi" "$sv/out.vcf.gz.csi"
expect 0 "score-variants -W over a stale .csi" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version -W -o "$sv/out.vcf.gz" "$sv/in.vcf"
[ -s "$sv/out.vcf.gz.tbi" ] && [ ! -e "$sv/out.vcf.gz.csi" ] && ok || bad "score-variants -W left the stale .csi: $(ls "$sv"/out.vcf.gz*)"
# standard input, bgzipped reference
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --no-version - < "$sv/in.vcf" 2>/dev/null | bcftools view -H > "$sv/f.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/f.txt"; then ok; else bad "VCF from standard input"; fi
bgzip -c "$sv/ref.fa" > "$sv/refz.fa.gz"
"$H" score-variants -m "$M" -f "$sv/refz.fa.gz" -w 256 --no-version "$sv/in.vcf" 2>/dev/null | bcftools view -H > "$sv/g.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/g.txt"; then ok; else bad "bgzipped reference"; fi
# xz (which htslib opens, then aborts on: status 134) and bzip2 input are refused with the file named
for z in xz bzip2; do
  command -v $z >/dev/null 2>&1 || { bad "$z is not installed (apt-get install ${z/xz/xz-utils}): input check not run"; continue; }
  $z -c "$sv/in.vcf" > "$sv/in.vcf.$z"
  expect 1 "score-variants $z input" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" "$sv/in.vcf.$z"
  has "$tmp/err" "in.vcf.$z.*recompress it with bgzip" "$z input: the file and the remedy named"
  expect 1 "score-variants $z on standard input" -- sh -c '"$1" score-variants -m "$2" -f "$3" - < "$4"' sh "$H" "$M" "$sv/ref.fa" "$sv/in.vcf.$z"
  has "$tmp/err" "standard input" "$z on standard input named"
done
# a VCF without ##contig lines gets the reference's (as bcftools reheader --fai would add them): its VCF output
# declares them with their lengths, and its BCF output (impossible without them) holds the same records
grep -v '^##contig' "$sv/in.vcf" | grep -v '^ctgZ' > "$sv/noctg.vcf"
expect 0 "score-variants BCF output, no contig declared" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 -o "$sv/noctg.bcf" "$sv/noctg.vcf"
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 "$sv/noctg.vcf" 2>/dev/null > "$sv/noctg.out.vcf"
[ "$(grep '^##contig' "$sv/noctg.out.vcf" | tr '\n' ' ')" = "##contig=<ID=ctgB,length=$(awk '/^>/{p=($1==">ctgB")} !/^>/&&p' "$sv/ref.fa" | tr -d '\n' | wc -c)> ##contig=<ID=ctgA,length=$lenA> " ] \
  && ok || bad "contigs of the reference not declared: $(grep '^##contig' "$sv/noctg.out.vcf" | tr '\n' ' ')"
cmp -s <(bcftools view -H "$sv/noctg.bcf" 2>&1) <(bcftools view -H "$sv/out.vcf" 2>&1 | grep -v '^ctgZ') && ok || bad "BCF of the VCF without contigs: records differ"
# BCF output of a record on a contig the header (declaring others) lacks: an error naming the record and the
# remedy, no output left
grep -v '^##contig=<ID=ctgA' "$sv/in.vcf" > "$sv/noctg.vcf"
expect 1 "score-variants BCF output, contig not declared" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -o "$sv/noctg2.bcf" "$sv/noctg.vcf"
has "$tmp/err" "noctg2.bcf: cannot write the record at ctgA:1: its contig is not declared.*bcftools reheader --fai" "undeclared contig: record and remedy named"
[ ! -e "$sv/noctg2.bcf" ] && ok || bad "a BCF output that failed was left behind"
# the reference: missing, from ##reference=, from $HYENADNA_REF
expect 1 "score-variants without a reference" -- env -u HYENADNA_REF "$H" score-variants -m "$M" "$sv/in.vcf"
has "$tmp/err" "reference" "missing reference message"
sed "2i ##reference=file://$sv/ref.fa" "$sv/in.vcf" > "$sv/withref.vcf"
"$H" score-variants -m "$M" -w 256 --no-version "$sv/withref.vcf" 2>/dev/null | bcftools view -H > "$sv/h.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/h.txt"; then ok; else bad "reference from ##reference="; fi
HYENADNA_REF="$sv/ref.fa" "$H" score-variants -m "$M" -w 256 --no-version "$sv/in.vcf" 2>/dev/null | bcftools view -H > "$sv/i.txt" 2>/dev/null
if cmp -s "$sv/d.txt" "$sv/i.txt"; then ok; else bad "reference from HYENADNA_REF"; fi
expect 1 "score-variants unreadable reference" -- "$H" score-variants -m "$M" -f "$sv/nope.fa" "$sv/in.vcf"
has "$tmp/err" "nope.fa" "unreadable reference named"
# options
expect 1 "score-variants bad --score" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --score best "$sv/in.vcf"
has "$tmp/err" "\-\-score" "bad --score named"
expect 1 "score-variants --window too long" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" -w 5000 "$sv/in.vcf"
has "$tmp/err" "1026" "--window names the limit"
# threads and prefix mode: 1 and 2 threads identical; prefix with --rc runs
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --threads 1 --no-version -O t "$sv/in.vcf" > "$sv/t1.tsv" 2>/dev/null
"$H" score-variants -m "$M" -f "$sv/ref.fa" -w 256 --threads 2 --no-version -O t "$sv/in.vcf" > "$sv/t2.tsv" 2>/dev/null
if [ -s "$sv/t1.tsv" ] && cmp -s "$sv/t1.tsv" "$sv/t2.tsv"; then ok; else bad "1 and 2 threads differ"; fi
expect 0 "score-variants prefix --rc" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --score prefix --rc -O t -o "$sv/p.tsv" "$sv/in.vcf"
if [ "$(awk -F'\t' '$3=="first"||$3=="multi"||$3=="ins"{n+=($6!=".")} END{print n}' "$sv/p.tsv")" -eq 4 ]; then ok; else bad "prefix --rc scores"; fi
# saturation mutagenesis
expect 0 "score-variants --all-snvs TSV" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs -r ctgB:1-10 -o "$sv/sat.tsv"
if [ "$(grep -vc '^#' "$sv/sat.tsv")" -eq 30 ] && [ "$(awk -F'\t' 'NR>1 && $6=="."' "$sv/sat.tsv" | wc -l)" -eq 0 ]; then ok; else bad "--all-snvs: 30 scored lines expected"; fi
expect 0 "score-variants --all-snvs VCF" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs -r ctgB:1-10 -O v -o "$sv/sat.vcf"
if [ "$(bcftools view -H "$sv/sat.vcf" 2>/dev/null | wc -l)" -eq 10 ]; then ok; else bad "--all-snvs VCF: 10 records expected"; fi
expect 1 "score-variants --all-snvs without -r" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs
expect 1 "score-variants --all-snvs bad region" -- "$H" score-variants -m "$M" -f "$sv/ref.fa" --all-snvs -r ctgQ:1-5
has "$tmp/err" "ctgQ" "bad region named"
# the bundled default model (data/models/default) is found without -m, also from an out-of-tree build
S=${SRCDIR:?SRCDIR not set}
if [ -s "$S/data/models/default/model.safetensors" ]; then ok; else bad "bundled default model missing under $S/data/models/default"; fi
expect 0 "info without -m" -- env -u HYENADNA_MODEL "$H" info
has "$tmp/out" "^model	.*models/default" "info without -m names the default model"
has "$tmp/out" "^family	hyenadna" "default model family"
has "$tmp/out" "^d_model	128" "default model width"
has "$tmp/out" "^n_layer	2" "default model depth"
has "$tmp/out" "^max_length	1026" "default model max length"
has "$tmp/out" "^parameters	438144" "default model learned parameters"
expect 0 "HYENADNA_MODEL overrides the default" -- env HYENADNA_MODEL="$T/caduceus-ph" "$H" info
has "$tmp/out" "^family	caduceus" "HYENADNA_MODEL used"
expect 0 "-m overrides HYENADNA_MODEL" -- env HYENADNA_MODEL="$T/caduceus-ph" "$H" info -m "$T/hyenadna-tiny"
has "$tmp/out" "^family	hyenadna" "-m used"
# a HYENADNA_MODEL that cannot be opened: the error says the model came from the variable (not from -m)
for c in info "embed $T/hyenadna-tiny/input.fa"; do
  expect 2 "HYENADNA_MODEL missing ($c)" -- env HYENADNA_MODEL="$tmp/no such model" $H $c
  has "$tmp/err" "no such model.*HYENADNA_MODEL=" "$c: error names HYENADNA_MODEL"
done
# a model or config that exists but is no file (a device, a named pipe), or a path through a file: the
# error says what it is (it always read 'No such file or directory')
mkfifo "$tmp/fifo"; : > "$tmp/plain"
for mp in "/dev/null|a device, not a file" "$tmp/fifo|a named pipe, not a file" "$tmp/plain/x|Not a directory"; do
  expect 2 "info -m ${mp%%|*}" -- "$H" info -m "${mp%%|*}"
  has "$tmp/err" "cannot open model '${mp%%|*}': ${mp#*|}" "info -m ${mp%%|*}: what it is"
  expect 2 "info -c ${mp%%|*}" -- "$H" info -m "$T/hyenadna-tiny" -c "${mp%%|*}"
  has "$tmp/err" "cannot open config '${mp%%|*}': ${mp#*|}" "info -c ${mp%%|*}: what it is"
done
# -m given the config instead of the weights: say so (it read the JSON as a safetensors header length)
for cf in "$T/hyenadna-tiny/config.json" "$T/evo2-tiny/config.yml"; do
  expect 2 "info -m $(basename "$cf")" -- "$H" info -m "$cf"
  has "$tmp/err" "model '$cf' is a config file, not weights" "info -m a config names the mistake"
done
expect 2 "-m missing, HYENADNA_MODEL set" -- env HYENADNA_MODEL="$T/caduceus-ph" "$H" info -m "$tmp/nomodel"
if grep -q HYENADNA_MODEL "$tmp/err"; then bad "-m missing: error blames HYENADNA_MODEL"; else ok; fi
# the quick start: forward with the default model on the example FASTA (first 3 records here)
awk '/^>/{n++} n<=3' "$S/data/example.fa" > "$tmp/ex.fa"
expect 0 "forward on data/example.fa with the default model" -- env -u HYENADNA_MODEL "$H" forward --logits -o "$tmp/ex.safetensors" "$tmp/ex.fa"
if head -c 4096 "$tmp/ex.safetensors" | grep -aq 'logits.22:20002001-20003000'; then ok; else bad "forward on example.fa: logits of the third record missing"; fi

# the input omitted (hyenadna(1)): standard input when it is not a terminal, as '-'; on a terminal the usage,
# exit 1 (not a wait for typed input); help CMD and CMD --help print the same help, exit 0
printf '>s1\nACGTACGTAGCTAGCT\n>s2\nGGATTACA\n' > "$tmp/omitted.fa"
for c in "generate -n 5 --seed 1" "forward" "embed"; do
  "$H" $c -m "$T/hyenadna-tiny" < "$tmp/omitted.fa" > "$tmp/om1" 2>"$tmp/err"; rc=$?
  "$H" $c -m "$T/hyenadna-tiny" - < "$tmp/omitted.fa" > "$tmp/om2" 2>/dev/null
  if [ $rc -eq 0 ] && [ -s "$tmp/om1" ] && cmp -s "$tmp/om1" "$tmp/om2"; then ok; else bad "${c%% *} without an input, from a pipe: exit $rc: $(head -2 "$tmp/err")"; fi
done
if command -v script >/dev/null 2>&1 && script --help 2>&1 | grep -q -- '--return'; then
  for c in generate forward embed score-variants; do
    script -qec "'$H' $c -m '$T/hyenadna-tiny'" /dev/null < /dev/null > "$tmp/out" 2>&1; rc=$?
    if [ $rc -eq 1 ] && grep -q "^hyenadna $c: no input given" "$tmp/out" && grep -q "^Usage: hyenadna $c " "$tmp/out"; then ok
    else bad "$c without an input on a terminal: exit $rc: $(head -2 "$tmp/out")"; fi
  done
else echo "note: the terminal checks need script(1) from util-linux"; fi
for c in $("$H" --help | awk '/^ -- Help/{exit} /^    [a-z]/{print $1}'); do
  "$H" "$c" --help > "$tmp/h1" 2>&1; r1=$?; "$H" help "$c" > "$tmp/h2" 2>&1; r2=$?
  if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ -s "$tmp/h1" ] && cmp -s "$tmp/h1" "$tmp/h2"; then ok; else bad "$c --help (exit $r1) and help $c (exit $r2) differ"; fi
  # every -m takes hf:OWNER/REPO and defaults to $HYENADNA_MODEL: its help and its page say so (info's help
  # and seven pages did not)
  grep -q -- '-m, --model' "$tmp/h1" || continue
  awk '/-m, --model/ {p = 1} p && /^  *-c, --config|^  *-@/ {exit} p' "$tmp/h1" | tr '\n' ' ' > "$tmp/mhelp"
  grep -q 'hf:OWNER/REPO' "$tmp/mhelp" && grep -qF '[$HYENADNA_MODEL, else the bundled default model]' "$tmp/mhelp" && ok || bad "$c --help: -m does not name hf:OWNER/REPO and \$HYENADNA_MODEL: $(cat "$tmp/mhelp")"
  awk '/^\.BI "\\-m, \\-\\-model " MODEL/ {p = 1; next} p && /^\.TP/ {exit} p' "$S/man/hyenadna-$c.1" | tr '\n' ' ' > "$tmp/mman"
  grep -q 'hf:OWNER/REPO' "$tmp/mman" && grep -qF '[$HYENADNA_MODEL, else the bundled default model]' "$tmp/mman" && ok || bad "hyenadna-$c.1: -m does not name hf:OWNER/REPO and \$HYENADNA_MODEL: $(cat "$tmp/mman")"
done

finish
