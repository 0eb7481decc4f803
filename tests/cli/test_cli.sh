#!/usr/bin/env bash
# test_cli.sh -- end-to-end checks of the command-line conventions (streams and exit codes).
# Run by `make check` with HYENADNA and TESTDATA set.
set -u
H=${HYENADNA:?HYENADNA not set}
T=${TESTDATA:?TESTDATA not set}
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ok()   { pass=$((pass+1)); }
bad()  { fail=$((fail+1)); echo "FAIL: $*"; }
# expect STATUS DESCRIPTION -- command...  (stdout to $tmp/out, stderr to $tmp/err)
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; sed 's/^/    /' "$tmp/err" | head -5; fi
}
has()    { if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; head -3 "$1" | sed 's/^/    /'; fi; }
empty()  { if [ ! -s "$1" ]; then ok; else bad "$2: $(basename "$1") not empty"; head -3 "$1" | sed 's/^/    /'; fi; }

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
has "$tmp/out" "CUDA backend" "--version states the CUDA backend"
v=$("$H" --version | sed '1!d; s/^.*hyenadna //')
if echo "$v" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$'; then ok; else bad "nf-core version extraction gave '$v'"; fi

# every subcommand: CMD --help and help CMD on stdout with exit 0, bad option exit 1
for c in info forward; do
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
has "$tmp/err" "record r1" "bad base names the record"
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

# determinism: 1 and 2 threads give byte-identical files
"$H" forward -m "$T/hyenadna-tiny" --threads 1 -o "$tmp/t1.safetensors" "$T/hyenadna-tiny/input.fa"
"$H" forward -m "$T/hyenadna-tiny" --threads 2 -o "$tmp/t2.safetensors" "$T/hyenadna-tiny/input.fa"
if cmp -s "$tmp/t1.safetensors" "$tmp/t2.safetensors"; then ok; else bad "1 and 2 threads differ"; fi

# stdout closed early ends quietly
"$H" forward -m "$T/hyenadna-tiny" "$T/hyenadna-tiny/input.fa" 2>"$tmp/err" | head -c 10 > /dev/null
st=${PIPESTATUS[0]}
if [ "$st" -eq 0 ] || [ "$st" -eq 141 ]; then ok; else bad "closed stdout: exit $st"; fi
empty "$tmp/err" "closed stdout stderr"

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
# the quick start: forward with the default model on the example FASTA (first 3 records here)
awk '/^>/{n++} n<=3' "$S/data/example.fa" > "$tmp/ex.fa"
expect 0 "forward on data/example.fa with the default model" -- env -u HYENADNA_MODEL "$H" forward --logits -o "$tmp/ex.safetensors" "$tmp/ex.fa"
if head -c 4096 "$tmp/ex.safetensors" | grep -aq 'logits.22:20002001-20003000'; then ok; else bad "forward on example.fa: logits of the third record missing"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
