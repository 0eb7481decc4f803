#!/usr/bin/env bash
# test_generate.sh -- `hyenadna generate` on the command line: reproducibility across thread counts,
# top-k 1 = greedy, seeds, record names and line width, length limits, refusals, atomic output, the
# README example.  (Greedy output against `forward --logits`: tests/test_generate.c.)
. "$(dirname "$0")/../lib.sh"
same() { if cmp -s "$1" "$2"; then ok; else bad "$3: $(basename "$1") and $(basename "$2") differ"; diff "$1" "$2" | head -4 | sed 's/^/    /'; fi; }
seqs() { grep -v '^>' "$1" | tr -d '\n'; }

tiny=$T/hyenadna-tiny
# a unidirectional twin of the sLSTM fixture (same weights): a causal DNA-xLSTM
mkdir -p "$tmp/xs"
sed 's/"bidirectional": true/"bidirectional": false/' "$T/xlstm-slstm/config.json" >"$tmp/xs/config.json"
ln -s "$T/xlstm-slstm/model.safetensors" "$tmp/xs/model.safetensors"
grep -q '"bidirectional": false' "$tmp/xs/config.json" && ok || bad "could not make the causal xLSTM twin"
printf '>p1 first prompt\nACGTTGCAACGGATTACAGATTACA\n>p2\nggattacaNNacgt\n>p3\nT\n' >"$tmp/prompts.fa"

# seeded sampling: the same output for any thread count, per model
for m in "$tiny" "$tmp/xs" "$T/evo2-tiny"; do
  n=$(basename "$m")
  for th in 1 2 3; do
    expect 0 "$n -@ $th" -- "$H" generate -m "$m" -n 150 --seed 7 -@ "$th" -o "$tmp/s$th.fa" "$tmp/prompts.fa"
  done
  same "$tmp/s1.fa" "$tmp/s2.fa" "$n: --seed 7 with 1 and 2 threads"
  same "$tmp/s1.fa" "$tmp/s3.fa" "$n: --seed 7 with 1 and 3 threads"
  expect 0 "$n --seed 8" -- "$H" generate -m "$m" -n 150 --seed 8 -o "$tmp/s8.fa" "$tmp/prompts.fa"
  [ "$(seqs "$tmp/s1.fa")" != "$(seqs "$tmp/s8.fa")" ] && ok || bad "$n: seeds 7 and 8 give the same bases"
  # top-k 1 is greedy, whatever the seed and temperature
  expect 0 "$n greedy" -- "$H" generate -m "$m" -n 150 --temperature 0 -o "$tmp/g.fa" "$tmp/prompts.fa"
  expect 0 "$n top-k 1" -- "$H" generate -m "$m" -n 150 --top-k 1 --temperature 2.5 --seed 99 -o "$tmp/k1.fa" "$tmp/prompts.fa"
  [ "$(seqs "$tmp/g.fa")" = "$(seqs "$tmp/k1.fa")" ] && ok || bad "$n: --top-k 1 differs from --temperature 0"
  [ "$(seqs "$tmp/g.fa")" != "$(seqs "$tmp/s1.fa")" ] && ok || bad "$n: sampling at T=1 gave the greedy bases"
done

# records: names, description, 60 bases per line, only A C G T
f=$tmp/s1.fa
[ "$(grep -c '^>' "$f")" -eq 3 ] && ok || bad "three prompts, $(grep -c '^>' "$f") records"
has "$f" "^>p1 model=$T/evo2-tiny temperature=1 top_k=4 top_p=1 seed=7$" "header of p1"
has "$f" "^>p3 " "header of p3"
awk '!/^>/ { if (length($0) > 60 || $0 !~ /^[ACGT]+$/) bad = 1 } END { exit bad }' "$f" && ok || bad "lines of A/C/G/T, at most 60"
[ "$(awk '/^>/ {if (n) print n; n = 0; next} {n += length($0)} END {print n}' "$f" | sort -u)" = 150 ] && ok || bad "150 bases per record"
[ "$(sed -n 2p "$f" | tr -d '\n' | wc -c)" -eq 60 ] && ok || bad "first line holds 60 bases"
expect 0 "--num-samples 3 --with-prompt" -- "$H" generate -m "$tiny" -n 7 --num-samples 3 --with-prompt --top-k 2 --top-p 0.9 --temperature 0.5 --seed 1 "$tmp/prompts.fa"
[ "$(grep '^>' "$tmp/out" | cut -d' ' -f1 | tr '\n' ' ')" = ">p1_s1 >p1_s2 >p1_s3 >p2_s1 >p2_s2 >p2_s3 >p3_s1 >p3_s2 >p3_s3 " ] && ok || bad "sample names: $(grep '^>' "$tmp/out" | cut -d' ' -f1 | tr '\n' ' ')"
has "$tmp/out" "temperature=0.5 top_k=2 top_p=0.9 seed=1$" "settings in the header"
[ "$(sed -n 2p "$tmp/out")" = "ACGTTGCAACGGATTACAGATTACA" ] || [ "$(sed -n 2p "$tmp/out" | cut -c1-25)" = "ACGTTGCAACGGATTACAGATTACA" ] && ok || bad "--with-prompt starts with the prompt"
awk '/^>p2_s1/ {getline; print; exit}' "$tmp/out" | grep -q '^ggattacaNNacgt[ACGT]\{7\}$' && ok || bad "--with-prompt keeps the prompt as given"

# samples come from one prefill (forked; Evo 2 prefills again): sample 1 of three is the single sample of
# the same seed
for m in "$tiny" "$tmp/xs" "$T/evo2-tiny"; do
  expect 0 "--num-samples 3" -- "$H" generate -m "$m" -n 90 --num-samples 3 --seed 5 "$tmp/prompts.fa"
  awk '/^>p2_s1 /{p=1; next} /^>/{p=0} p' "$tmp/out" | tr -d '\n' >"$tmp/ns3"
  awk '/^>p2_s2 /{p=1; next} /^>/{p=0} p' "$tmp/out" | tr -d '\n' >"$tmp/ns3b"
  expect 0 "--num-samples 1" -- "$H" generate -m "$m" -n 90 --seed 5 "$tmp/prompts.fa"
  awk '/^>p2 /{p=1; next} /^>/{p=0} p' "$tmp/out" | tr -d '\n' >"$tmp/ns1"
  [ -s "$tmp/ns1" ] && same "$tmp/ns3" "$tmp/ns1" "$(basename "$m"): sample 1 of 3 vs the single sample" || bad "no p2 record"
  cmp -s "$tmp/ns3" "$tmp/ns3b" && bad "$(basename "$m"): samples 1 and 2 are equal" || ok
done

# without --seed: a seed on stderr that repeats the run
expect 0 "random seed" -- "$H" generate -m "$tiny" -n 80 "$tmp/prompts.fa"
has "$tmp/err" "random seed [0-9]" "the seed is printed"
seed=$(sed -n 's/.*random seed \([0-9]*\).*/\1/p' "$tmp/err")
cp "$tmp/out" "$tmp/r1.fa"
has "$tmp/r1.fa" "seed=$seed\$" "the printed seed is in the header"
expect 0 "--seed from stderr" -- "$H" generate -m "$tiny" -n 80 --seed "$seed" "$tmp/prompts.fa"
same "$tmp/out" "$tmp/r1.fa" "--seed $seed repeats the unseeded run"

# stdin and the default model
printf '>s\nACGTACGTAC\n' | "$H" generate -n 5 --seed 3 - >"$tmp/out" 2>"$tmp/err" && ok || bad "generate from stdin"
[ "$(sed -n 2p "$tmp/out" | wc -c)" -eq 6 ] && ok || bad "5 bases from stdin: $(sed -n 2p "$tmp/out")"

# masked models (Caduceus, a bidirectional DNA-xLSTM) are refused, the message naming the causal families,
# a unidirectional DNA-xLSTM among them; no random seed is printed for a run that cannot start (it was, with
# "--seed N repeats this run", before the refusal)
for m in caduceus-ph caduceus-ps xlstm-mlstm xlstm-slstm; do
  expect 1 "masked $m" -- "$H" generate -m "$T/$m" -n 5 "$tmp/prompts.fa"
  has "$tmp/err" "^hyenadna generate: $T/$m is a masked or non-causal .*: generate needs a causal (next-base) model (HyenaDNA, Evo 2, a unidirectional DNA-xLSTM with causal convolutions)$" "message for $m"
  grep -q "random seed" "$tmp/err" && bad "$m: a random seed printed for a refused model" || ok
done
expect 1 "missing prompts file" -- "$H" generate -m "$tiny" -n 5 "$tmp/nonexistent.fa"
grep -q "random seed" "$tmp/err" && bad "a random seed printed for a missing input" || ok

# prompts: empty, bad characters, too long; generation stops at the maximum length
printf '>e\n\n' >"$tmp/empty.fa"
expect 1 "empty prompt" -- "$H" generate -m "$tiny" -n 5 "$tmp/empty.fa"
has "$tmp/err" "record 'e' of $tmp/empty.fa: empty prompt" "empty prompt message names the record and the file"
printf '>ok\nACGT\n>bad\nACGU\n' >"$tmp/bad.fa"
expect 1 "bad character" -- "$H" generate -m "$tiny" -n 5 -o "$tmp/bad.out.fa" "$tmp/bad.fa"
has "$tmp/err" "bad" "bad character names the record"
[ ! -e "$tmp/bad.out.fa" ] && ok || bad "a failed run left $tmp/bad.out.fa"
[ -z "$(ls "$tmp" | grep -i 'bad.out.fa.')" ] && ok || bad "a failed run left a temporary file"
awk 'BEGIN { printf ">long\n"; for (i = 0; i < 1100; i++) printf "%s", substr("ACGT", i % 4 + 1, 1); print "" }' >"$tmp/long.fa"
expect 1 "prompt too long" -- "$H" generate -m "$tiny" -n 5 "$tmp/long.fa"
has "$tmp/err" "record 'long' of $tmp/long.fa: the prompt of 1100 bases exceeds the model's maximum length of 1026" "too long message"
has "$tmp/err" "truncate-prompt" "the message names --truncate-prompt"
expect 0 "--truncate-prompt" -- "$H" generate -m "$tiny" -n 30 --truncate-prompt --seed 1 "$tmp/long.fa"
[ "$(seqs "$tmp/out" | wc -c)" -eq 30 ] && ok || bad "--truncate-prompt gives all 30 bases"
awk 'BEGIN { printf ">near\n"; for (i = 0; i < 1020; i++) printf "%s", substr("ACGT", i % 4 + 1, 1); print "" }' >"$tmp/near.fa"
expect 0 "stop at the maximum length" -- "$H" generate -m "$tiny" -n 20 --seed 1 "$tmp/near.fa"
has "$tmp/err" "record 'near' of $tmp/near.fa: generation stops at the model's maximum length of 1026 tokens: 7 of 20 new bases" "stop message"
[ "$(seqs "$tmp/out" | wc -c)" -eq 7 ] && ok || bad "7 bases up to the maximum length"
# -n far beyond the maximum length (the largest allowed, 2^40) stops there too: no memory asked for bases
# that cannot be made (it failed with 'out of memory', exit 2)
expect 0 "-n 2^40 stops at the maximum length" -- "$H" generate -m "$tiny" -n 1099511627776 --seed 1 "$tmp/near.fa"
has "$tmp/err" "record 'near' of $tmp/near.fa: generation stops at the model's maximum length of 1026 tokens: 7 of 1099511627776 new bases" "-n 2^40 stop message"
[ "$(seqs "$tmp/out" | wc -c)" -eq 7 ] && ok || bad "-n 2^40: 7 bases up to the maximum length"

# a model without a maximum length (the causal sLSTM twin) writes its bases as they are drawn: -n 2^40 needs no
# memory for them (it failed at once with 'out of memory ... the new bases', exit 2); head ends the run
timeout 300 "$H" generate -m "$tmp/xs" -n 1099511627776 --seed 1 "$tmp/prompts.fa" 2>"$tmp/err" | head -c 20000 >"$tmp/out"
[ "$(wc -c <"$tmp/out")" -eq 20000 ] && ok || { bad "-n 2^40 without a maximum length: $(wc -c <"$tmp/out") bytes"; head -3 "$tmp/err"; }
[ "$(grep -c '^>' "$tmp/out")" -eq 1 ] && has "$tmp/out" "^>p1 " "-n 2^40: the first record" || bad "-n 2^40: one record"
awk 'NR > 1 && NR < 300 { if (length($0) != 60 || $0 !~ /^[ACGT]+$/) bad = 1 } END { exit bad }' "$tmp/out" && ok || bad "-n 2^40: lines of 60 bases"
# the bases as they are written are those of a run that ends (buffered 4,096 at a time: past one buffer)
expect 0 "-n 5000 without a maximum length" -- "$H" generate -m "$tmp/xs" -n 5000 --seed 1 "$tmp/prompts.fa"
[ "$(seqs "$tmp/out" | cut -c1-5000)" = "$(timeout 300 "$H" generate -m "$tmp/xs" -n 1099511627776 --seed 1 "$tmp/prompts.fa" 2>/dev/null | head -c 6000 | sed 1d | tr -d '\n' | cut -c1-5000)" ] && ok || bad "-n 2^40: the first 5000 bases differ from -n 5000"

# options
for o in "--top-k 5" "--top-k 0" "--top-p 0" "--top-p 1.5" "--temperature -1" "-n 0" "--num-samples 0" "--seed -3" "--seed x"; do
  # shellcheck disable=SC2086
  expect 1 "bad option $o" -- "$H" generate -m "$tiny" $o "$tmp/prompts.fa"
done
# numbers: an integer too large for any type is out of range (not "not an integer"); hexadecimal is not a number
expect 1 "-n overflowing" -- "$H" generate -m "$tiny" -n 99999999999999999999 "$tmp/prompts.fa"
has "$tmp/err" "option --num-bases: 99999999999999999999 is out of range" "-n overflowing: out of range"
expect 1 "--temperature in hexadecimal" -- "$H" generate -m "$tiny" --temperature 0x10 "$tmp/prompts.fa"
has "$tmp/err" "option --temperature: '0x10' is not a number" "--temperature 0x10 refused"
# a number out of range is named as given (1.0000001 printed as %g read '1 is out of range [0, 1]'), also
# beyond the largest double (1e400 was 'not a number'); one below the smallest (1e-400) is that number, 0;
# --top-p's range is (0, 1] for 0 and 1.5 alike
expect 1 "--top-p just above 1" -- "$H" generate -m "$tiny" --top-p 1.0000001 "$tmp/prompts.fa"
has "$tmp/err" "option --top-p: 1.0000001 is out of range (0, 1]$" "--top-p 1.0000001 named as given"
expect 1 "--top-p 1.5" -- "$H" generate -m "$tiny" --top-p 1.5 "$tmp/prompts.fa"
has "$tmp/err" "option --top-p: 1.5 is out of range (0, 1]$" "--top-p 1.5: the range (0, 1]"
expect 1 "--top-p 1e-400" -- "$H" generate -m "$tiny" --top-p 1e-400 "$tmp/prompts.fa"
has "$tmp/err" "option --top-p: 1e-400 is out of range (0, 1]$" "--top-p 1e-400: a number, out of range"
expect 1 "--temperature 1e400" -- "$H" generate -m "$tiny" --temperature 1e400 "$tmp/prompts.fa"
has "$tmp/err" "option --temperature: 1e400 is out of range \\[0, 1e+06\\]$" "--temperature 1e400: out of range"
expect 1 "--temperature inf" -- "$H" generate -m "$tiny" --temperature inf "$tmp/prompts.fa"
has "$tmp/err" "option --temperature: 'inf' is not a number" "--temperature inf: not a number"
# a temperature below the smallest double is 0: greedy, as is -0, recorded as 0 in the header
expect 0 "--temperature 1e-400" -- "$H" generate -m "$tiny" -n 20 --temperature 1e-400 "$tmp/prompts.fa"
seqs "$tmp/out" >"$tmp/t400"
has "$tmp/out" "^>p1 .* temperature=0 " "--temperature 1e-400 is 0"
expect 0 "--temperature -0" -- "$H" generate -m "$tiny" -n 20 --temperature -0 "$tmp/prompts.fa"
has "$tmp/out" "^>p1 .* temperature=0 " "--temperature -0 is recorded as 0"
expect 0 "--temperature 0" -- "$H" generate -m "$tiny" -n 20 --temperature 0 "$tmp/prompts.fa"
[ "$(seqs "$tmp/out")" = "$(cat "$tmp/t400")" ] && ok || bad "--temperature 1e-400 is not greedy"
expect 0 "--help" -- "$H" generate --help
has "$tmp/out" "Usage: hyenadna generate" "--help"

# the README example (run in a scratch directory, data/ from the source tree)
ex=$(sed -n 's/^\$H \(generate .*\)$/\1/p' "$S/README.md" | head -1)
[ -n "$ex" ] && ok || bad "no generate example in README.md"
mkdir -p "$tmp/readme" && ln -s "$S/data" "$tmp/readme/data"
(cd "$tmp/readme" && eval "\"$H\" $ex") >"$tmp/out" 2>"$tmp/err" && ok || { bad "README example failed: $ex"; head -3 "$tmp/err"; }
f=$tmp/readme/new.fa
[ "$(grep -c '^>' "$f" 2>/dev/null)" -eq "$(grep -c '^>' "$S/data/example.fa")" ] && ok || bad "README example: one record per window"
[ "$(awk '/^>/ {if (n) print n; n = 0; next} {n += length($0)} END {print n}' "$f" | sort -u)" = 200 ] && ok || bad "README example: 200 bases per record"
expected=$(awk '/^\$H generate/ {getline; getline; getline; print; exit}' "$S/README.md")
[ "$(sed -n 2p "$f")" = "$expected" ] && ok || bad "README example output: $(sed -n 2p "$f") vs README $expected"

finish
