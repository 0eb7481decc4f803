#!/usr/bin/env bash
# test_hub.sh -- `hyenadna pull`, -m hf:OWNER/REPO and `hyenadna models` against a stand-in Hub on the loopback
# interface (tests/hub_server.py: endpoint 127.0.0.1:PORT, LFS storage 127.0.0.2:PORT); no network is used.
. "$(dirname "$0")/../lib.sh"
need python3
PY=$(command -v python3)
check() { if eval "$2"; then ok; else bad "$1"; fi; }   # description, condition

W=$tmp
SRV=
stop_server() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null; SRV=; }
trap 'stop_server; rm -rf "$tmp"' EXIT
start_server() {
  rm -f "$W/port"
  "$PY" "$S/tests/hub_server.py" --root "$W/root" --port-file "$W/port" --log "$W/log" &
  SRV=$!
  for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
  [ -s "$W/port" ] || { echo "the stand-in hub did not start"; exit 1; }
  export HF_ENDPOINT="http://127.0.0.1:$(cat "$W/port")"
}
# run the binary: status in $rc, stdout in $out, stderr in $err
run() { "$H" "$@" >"$W/out" 2>"$W/err"; rc=$?; out=$(cat "$W/out"); err=$(cat "$W/err"); }
sha() { sha256sum "$1" | cut -c1-64; }
# the same tensors, byte for byte, in two safetensors files (the __metadata__ names the model path, so differs)
same_tensors() {
  "$PY" - "$1" "$2" <<'PYEOF'
import json, struct, sys
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
a, b = load(sys.argv[1]), load(sys.argv[2])
sys.exit(0 if a and a == b else 1)
PYEOF
}

# ---------------------------------------------------------------- repositories of the stand-in hub
R=$W/root/test
mkdir -p "$R"
for r in tiny gated corrupt resume missing evil long huge resume2 norange busy busylist slow down stall badetag relred elsewhere conc tagged full \
         oddetag oddbad etagslash etagdots etagempty etagctl etaglong; do
  mkdir -p "$R/$r"; cp "$T/hyenadna-tiny/config.json" "$T/hyenadna-tiny/model.safetensors" "$R/$r/"
done
cp "$T/hyenadna-tiny/README.md" "$R/tiny/"
echo '{"gated": "hf_gate_tok"}' > "$R/gated.json"
echo '{"corrupt": ["model.safetensors"]}' > "$R/corrupt.json"
echo '{"truncate_once": ["model.safetensors"]}' > "$R/resume.json"
echo '{"missing": ["model.safetensors"]}' > "$R/missing.json"
echo '{"extra_listing": ["../../../escaped.safetensors"]}' > "$R/evil.json"
echo '{"long_body": ["model.safetensors"]}' > "$R/long.json"
echo '{"huge_headers": true}' > "$R/huge.json"
echo '{"truncate_once": ["model.safetensors"]}' > "$R/resume2.json"
echo '{"truncate_once": ["model.safetensors"], "ignore_range": ["model.safetensors"]}' > "$R/norange.json"
echo '{"fail_first": {"where": "storage", "n": 1, "status": 503}}' > "$R/busy.json"
echo '{"fail_first": {"where": "listing", "n": 1, "status": 502}}' > "$R/busylist.json"
echo '{"fail_first": {"where": "resolve", "n": 1, "status": 429, "retry_after": 1}}' > "$R/slow.json"
echo '{"fail_first": {"where": "storage", "n": 100, "status": 503}}' > "$R/down.json"
echo '{"stall": ["model.safetensors"]}' > "$R/stall.json"
echo '{"bad_etag": ["model.safetensors"]}' > "$R/badetag.json"
# ETags of a mirror behind HF_ENDPOINT: weak, quoted, other characters, an upper-case sha256
echo '{"etag": {"config.json": "W/\"cfg-v1.2_x+y=z:1\"", "model.safetensors": "\"@SHA256_UPPER@\""}}' > "$R/oddetag.json"
echo '{"etag": {"model.safetensors": "\"@SHA256_UPPER@\""}, "corrupt": ["model.safetensors"]}' > "$R/oddbad.json"
echo '{"etag": {"config.json": "\"../../../escaped\""}}' > "$R/etagslash.json"
echo '{"etag": {"config.json": "W/\"..\""}}' > "$R/etagdots.json"
echo '{"etag": {"model.safetensors": "\"\""}}' > "$R/etagempty.json"
echo '{"etag": {"config.json": "\"a\u0001b\""}}' > "$R/etagctl.json"
echo "{\"etag\": {\"config.json\": \"$(printf 'e%.0s' $(seq 201))\"}}" > "$R/etaglong.json"
echo '{"relative_redirect": true}' > "$R/relred.json"
echo '{"listing_elsewhere": true}' > "$R/elsewhere.json"
echo '{"tags": {"v1": "main"}}' > "$R/tagged.json"
# a repository with files in folders
mkdir -p "$R/folders/extra/deep" "$R/folders/other"; cp "$T/hyenadna-tiny/config.json" "$T/hyenadna-tiny/model.safetensors" "$R/folders/"
echo notes > "$R/folders/extra/notes.txt"; echo deep > "$R/folders/extra/deep/x.txt"; echo other > "$R/folders/other/y.txt"
# repositories without weights hyenadna reads: a config and a README; a config and TensorFlow weights
mkdir -p "$R/noweights" "$R/tfonly"; cp "$T/hyenadna-tiny/config.json" "$T/hyenadna-tiny/README.md" "$R/noweights/"
cp "$T/hyenadna-tiny/config.json" "$R/tfonly/"; head -c 4096 "$T/hyenadna-tiny/model.safetensors" > "$R/tfonly/tf_model.h5"
if [ -d "$T/evo2-tiny" ]; then   # an Evo 2 repository: the .pt, its YAML and Hugging Face's own config.json
  mkdir -p "$R/evo2"; cp "$T/evo2-tiny/model.pt" "$T/evo2-tiny/config.yml" "$R/evo2/"
  echo '{"_name_or_path": "arcinstitute/evo2_7b", "model_type": "stripedhyena2"}' > "$R/evo2/config.json"
fi
if [ -d "$T/plantcaduceus" ]; then   # a repository with a PyTorch checkpoint only (and tokenizer.json)
  mkdir -p "$R/plant"; cp "$T/plantcaduceus/config.json" "$T/plantcaduceus/tokenizer.json" "$T/plantcaduceus/pytorch_model.bin" "$R/plant/"
fi
# a sharded repository (model.safetensors.index.json and two shards, as Hugging Face saves large models)
mkdir -p "$R/sharded"; cp "$T/hyenadna-tiny/config.json" "$R/sharded/"
"$PY" - "$T/hyenadna-tiny/model.safetensors" "$R/sharded" <<'PYEOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
names = list(h); wm = {}
for i, part in enumerate((names[:len(names) // 2], names[len(names) // 2:])):
    fn = "model-%05d-of-00002.safetensors" % (i + 1); hh = {}; blobs = []; off = 0
    for k in part:
        a, e = h[k]["data_offsets"]; blob = b[8 + n + a:8 + n + e]
        hh[k] = {"dtype": h[k]["dtype"], "shape": h[k]["shape"], "data_offsets": [off, off + len(blob)]}
        off += len(blob); blobs.append(blob); wm[k] = fn
    hb = json.dumps(hh).encode(); hb += b" " * (-len(hb) % 8)
    open(sys.argv[2] + "/" + fn, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
json.dump({"metadata": {"total_size": len(b) - 8 - n}, "weight_map": wm}, open(sys.argv[2] + "/model.safetensors.index.json", "w"))
PYEOF

export HF_HUB_CACHE=$W/cache HF_HOME=$W/hfhome
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_TOKEN_PATH HYENADNA_MODEL
start_server
TOK=hf_secret_$$

# ---------------------------------------------------------------- a normal pull, with a token
HF_TOKEN=$TOK run pull test/tiny
check "pull test/tiny exits 0 ($err)" '[ $rc -eq 0 ]'
repo=$W/cache/models--test--tiny
commit=$(cat "$repo/refs/main" 2>/dev/null)
check "refs/main holds a 40-hex commit" '[[ "$commit" =~ ^[0-9a-f]{40}$ ]]'
check "the snapshot folder is printed" '[ "$out" = "$repo/snapshots/$commit" ]'
st=$(sha "$T/hyenadna-tiny/model.safetensors")
check "the LFS blob is named by its sha256" '[ -f "$repo/blobs/$st" ] && [ "$(sha "$repo/blobs/$st")" = "$st" ]'
check "the snapshot link is relative, to the blob" '[ "$(readlink "$repo/snapshots/$commit/model.safetensors")" = "../../blobs/$st" ]'
check "config.json is linked" '[ -L "$repo/snapshots/$commit/config.json" ] && cmp -s "$repo/snapshots/$commit/config.json" "$T/hyenadna-tiny/config.json"'
check "README.md is not fetched by default" '[ ! -e "$repo/snapshots/$commit/README.md" ]'
check "no .incomplete left" '! ls "$repo"/blobs/*.incomplete >/dev/null 2>&1'
check "the endpoint received the token" 'grep "\"server\": \"hub\"" "$W/log" | grep -q "Bearer $TOK"'
check "the storage host (127.0.0.2) was asked for the LFS file" 'grep -q "\"server\": \"storage\"" "$W/log"'
check "the storage host never received the token" '! grep "\"server\": \"storage\"" "$W/log" | grep -q "Bearer"'
check "the token is not written into the cache" '! grep -rqa "$TOK" "$W/cache"'
check "the token is not printed" '! grep -q "$TOK" "$W/out" "$W/err"'
HF_TOKEN=$TOK run pull --include 'README*' --progress test/tiny
check "--include fetches more ($err)" '[ $rc -eq 0 ] && [ -L "$repo/snapshots/$commit/README.md" ]'
check "--progress draws a bar with rate and ETA" 'grep -q "ETA" "$W/err"'

: > "$W/log"
run pull test/tiny
check "a second pull finds the blobs in the cache" '[ $rc -eq 0 ] && ! grep -q "\"method\": \"GET\", \"path\": \"/lfs/" "$W/log"'
run pull --force test/tiny
check "--force downloads again" '[ $rc -eq 0 ] && grep -q "\"method\": \"GET\", \"path\": \"/lfs/" "$W/log" && [ "$(sha "$repo/blobs/$st")" = "$st" ]'
run pull
check "pull without a model: exit 1" '[ $rc -eq 1 ]'
run pull test/tiny test/gated
check "pull of two models: exit 1" '[ $rc -eq 1 ]'

# ---------------------------------------------------------------- -m hf: with the server stopped
stop_server
"$H" forward -m "$T/hyenadna-tiny" --logits -o "$W/direct.st" "$T/hyenadna-tiny/input.fa" 2>/dev/null
run forward -m hf:test/tiny --logits -o "$W/hub.st" "$T/hyenadna-tiny/input.fa"
check "forward -m hf:test/tiny runs from the cache with the server down ($err)" '[ $rc -eq 0 ]'
check "... and gives the same outputs as the model directory" 'same_tensors "$W/direct.st" "$W/hub.st"'
run info -m "hf:test/tiny@$commit"
check "-m hf:OWNER/REPO@COMMIT" '[ $rc -eq 0 ] && echo "$out" | grep -q "^weights.*snapshots/$commit/model.safetensors"'
HYENADNA_MODEL=hf:test/tiny run info
check "HYENADNA_MODEL=hf:..." '[ $rc -eq 0 ] && echo "$out" | grep -q "^family.hyenadna"'
run info -m hf:test/absent
check "a model not in the cache: exit 2" '[ $rc -eq 2 ]'
check "... naming the pull command" 'echo "$err" | grep -q "hyenadna pull test/absent"'
run info -m hf:test/tiny@v9
check "a revision not in the cache names the pull command with it" '[ $rc -eq 2 ] && echo "$err" | grep -q "hyenadna pull test/tiny@v9"'
run pull test/tiny
check "pull with the server down: the cached snapshot, with a warning naming the network error ($err)" '[ $rc -eq 0 ] && [ "$out" = "$repo/snapshots/$commit" ] && echo "$err" | grep -qi "network error" && echo "$err" | grep -q "using the cached snapshot"'
run pull test/absent
check "... a repository that is not cached: exit 2, a network error" '[ $rc -eq 2 ] && echo "$err" | grep -qi "network error" && [ -z "$out" ]'
run models
check "models runs without the network" '[ $rc -eq 0 ]'
# a release name as models lists it, given where OWNER/REPO is read: the error names its repository (or,
# not on the Hub, where its weights are), for pull and for -m hf:, with or without @REVISION
rel=$(echo "$out" | awk -F'\t' '$NF ~ /^hf:/ {print $1 "\t" substr($NF, 4); exit}')
rname=${rel%%	*}; rrepo=${rel#*	}
xrel=$(echo "$out" | awk -F'\t' '$NF !~ /^hf:/ && !/^#/ {print $1 "\t" $NF; exit}')
xname=${xrel%%	*}; xurl=${xrel#*	}
check "models lists a release on the Hub ($rel) and one elsewhere ($xrel)" '[ -n "$rname" ] && [ "$rrepo" != "$rname" ] && [ -n "$xname" ] && [ "$xurl" != "$xname" ]'
for spec in "$rname" "$rname@main" "${rrepo#*/}"; do
  run pull "$spec"
  check "pull $spec: exit 1 naming $rrepo ($err)" '[ $rc -eq 1 ] && echo "$err" | grep -qF "hyenadna pull: '"'"'$spec'"'"' is not OWNER/REPO[@REVISION]: hyenadna models lists $rname as $rrepo on the Hub"'
done
run info -m "hf:$rname"
check "-m hf:$rname: exit 1 naming $rrepo ($err)" '[ $rc -eq 1 ] && echo "$err" | grep -qF "lists $rname as $rrepo on the Hub"'
run pull "$xname"
check "pull $xname: exit 1 naming where its weights are ($err)" '[ $rc -eq 1 ] && echo "$err" | grep -qF "lists $xname as not on the Hub, its weights at $xurl"'
run pull no-such-release
check "pull of an unknown bare name: the plain message ($err)" '[ $rc -eq 1 ] && [ "$err" = "hyenadna pull: '"'"'no-such-release'"'"' is not OWNER/REPO[@REVISION]" ]'
start_server

# ---------------------------------------------------------------- HF_HUB_OFFLINE: the cache, never the server
run pull test/tagged@v1
tcommit=$(cat "$W/cache/models--test--tagged/refs/v1" 2>/dev/null)
check "pull at a tag writes refs/v1 ($err)" '[ $rc -eq 0 ] && [[ "$tcommit" =~ ^[0-9a-f]{40}$ ]] && [ "$out" = "$W/cache/models--test--tagged/snapshots/$tcommit" ]'
: > "$W/log"
HF_HUB_OFFLINE=1 run pull test/tiny
check "HF_HUB_OFFLINE=1: pull prints the cached snapshot ($err)" '[ $rc -eq 0 ] && [ "$out" = "$repo/snapshots/$commit" ]'
HF_HUB_OFFLINE=1 run pull test/tagged@v1
check "... a tag, through refs/v1 ($err)" '[ $rc -eq 0 ] && [ "$out" = "$W/cache/models--test--tagged/snapshots/$tcommit" ]'
HF_HUB_OFFLINE=1 run pull "test/tiny@$commit"
check "... a commit ($err)" '[ $rc -eq 0 ] && [ "$out" = "$repo/snapshots/$commit" ]'
TRANSFORMERS_OFFLINE=1 run pull test/tiny
check "... TRANSFORMERS_OFFLINE=1 as well ($err)" '[ $rc -eq 0 ] && [ "$out" = "$repo/snapshots/$commit" ]'
HF_HUB_OFFLINE=1 run pull test/tiny@v9
check "... a revision not in the cache: exit 2 naming the repository, the revision, the cache and the variable" '[ $rc -eq 2 ] && [ -z "$out" ] && echo "$err" | grep "test/tiny" | grep "v9" | grep "$W/cache/models--test--tiny" | grep -q "HF_HUB_OFFLINE"'
HF_HUB_OFFLINE=1 run pull test/resume
check "... a repository not in the cache: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep "test/resume" | grep -q "$W/cache/models--test--resume"'
HF_HUB_OFFLINE=1 run pull --force test/tiny
check "... --force: exit 1, names the variable" '[ $rc -eq 1 ] && echo "$err" | grep -q -- "--force.*HF_HUB_OFFLINE"'
check "... and the server was never asked" '[ ! -s "$W/log" ]'

# ---------------------------------------------------------------- an interrupted download resumes
: > "$W/log"
run pull --retries 0 test/resume
rrepo=$W/cache/models--test--resume
check "an interrupted download: exit 2" '[ $rc -eq 2 ]'
check "... says it can be resumed" 'echo "$err" | grep -q "resume"'
check "... keeps the partial blob" 'ls "$rrepo"/blobs/*.incomplete >/dev/null 2>&1'
check "... and writes no snapshot and no ref" '[ ! -e "$rrepo/snapshots" ] && [ ! -e "$rrepo/refs" ]'
part=$(ls "$rrepo"/blobs/*.incomplete 2>/dev/null | head -1)
have=$(stat -c %s "$part" 2>/dev/null || echo 0)
run pull test/resume
check "the second pull completes ($err)" '[ $rc -eq 0 ]'
check "... with a Range request from the partial size" 'grep "\"server\": \"storage\"" "$W/log" | grep -q "\"range\": \"bytes=$have-\""'
check "... and the blob is whole" '[ "$(sha "$rrepo/blobs/$st")" = "$st" ] && [ ! -e "$part" ]'

# ---------------------------------------------------------------- retries: a cut transfer, 429 and 5xx, a stall
: > "$W/log"
run pull test/resume2
check "a transfer cut once is resumed in the same run ($err)" '[ $rc -eq 0 ] && echo "$err" | grep -q "trying again in 1 s (1 of 3)"'
check "... with a Range request, and the blob is whole" 'grep "\"server\": \"storage\"" "$W/log" | grep -q "\"range\": \"bytes=[1-9]" && [ "$(sha "$W/cache/models--test--resume2/blobs/$st")" = "$st" ]'
run pull test/norange
check "a resume the storage answers with 200 (Range ignored) gives the whole file ($err)" '[ $rc -eq 0 ] && [ "$(sha "$W/cache/models--test--norange/blobs/$st")" = "$st" ] && ! ls "$W/cache/models--test--norange"/blobs/*.incomplete >/dev/null 2>&1'
run pull test/busy
check "a 503 from the storage, then the file ($err)" '[ $rc -eq 0 ] && echo "$err" | grep -q "HTTP 503; trying again" && [ "$(sha "$W/cache/models--test--busy/blobs/$st")" = "$st" ]'
run pull test/busylist
check "a 502 on the listing, then the listing ($err)" '[ $rc -eq 0 ] && echo "$err" | grep -q "HTTP 502; trying again"'
run pull test/slow
check "a 429 with Retry-After on a file, then the file ($err)" '[ $rc -eq 0 ] && echo "$err" | grep -q "HTTP 429; trying again in 1 s"'
: > "$W/log"
run pull --retries 1 test/down
check "a 503 every time: exit 2 after --retries tries, naming the status" '[ $rc -eq 2 ] && echo "$err" | grep -q "model.safetensors.*HTTP 503" && [ "$(grep -c "\"server\": \"storage\"" "$W/log")" -eq 2 ]'
run pull --retries 0 test/down
check "--retries 0: no second try" '[ $rc -eq 2 ] && ! echo "$err" | grep -q "trying again"'
run pull --retries x test/down
check "--retries with a non-number: exit 1" '[ $rc -eq 1 ] && echo "$err" | grep -q -- "--retries"'
HF_HUB_DOWNLOAD_TIMEOUT=1 run pull --retries 0 test/stall
check "a storage that stalls: exit 2 after HF_HUB_DOWNLOAD_TIMEOUT, says so" '[ $rc -eq 2 ] && echo "$err" | grep -q "no data for 1 seconds (HF_HUB_DOWNLOAD_TIMEOUT)"'
HF_HUB_DOWNLOAD_TIMEOUT=soon run pull test/tiny
check "HF_HUB_DOWNLOAD_TIMEOUT not a number: exit 1 naming it" '[ $rc -eq 1 ] && echo "$err" | grep -q "HF_HUB_DOWNLOAD_TIMEOUT"'

# ---------------------------------------------------------------- redirects and the token
: > "$W/log"
HF_TOKEN=$TOK run pull test/relred
check "a relative redirect on a file is followed ($err)" '[ $rc -eq 0 ] && grep "\"server\": \"hub\"" "$W/log" | grep "redirected=1" | grep -q "Bearer $TOK"'
: > "$W/log"
HF_TOKEN=$TOK run pull test/elsewhere
check "a listing redirected to another host is read ($err)" '[ $rc -eq 0 ] && grep "\"server\": \"storage\"" "$W/log" | grep -q "/api/models/test/elsewhere"'
check "... and that host never got the token" '! grep "\"server\": \"storage\"" "$W/log" | grep -q "Bearer"'
HF_ENDPOINT="http://hfuser:hf_pw_$$@${HF_ENDPOINT#http://}" run pull --verbosity 3 test/nosuchrepo
check "a password in HF_ENDPOINT is not printed" '[ $rc -eq 2 ] && echo "$err" | grep -q "not found on http://127.0.0.1" && ! grep -q "hf_pw_$$" "$W/err"'

# ---------------------------------------------------------------- two pulls of one repository at once
pids=; for i in 1 2 3; do "$H" pull test/conc >"$W/conc$i.out" 2>"$W/conc$i.err" & pids="$pids $!"; done
crc=0; for p in $pids; do wait "$p" || crc=1; done
check "three pulls of one repository at once all succeed ($(cat "$W"/conc*.err))" '[ $crc -eq 0 ] && [ "$(cat "$W"/conc*.out | sort -u | wc -l)" -eq 1 ]'
check "... the blob is whole, nothing left over" '[ "$(sha "$W/cache/models--test--conc/blobs/$st")" = "$st" ] && [ -z "$(find "$W/cache/models--test--conc" -name "*.incomplete" -o -name "*.tmp*")" ]'

# ---------------------------------------------------------------- failures: exit 2, nothing in snapshots/
run pull test/badetag
check "an X-Linked-Etag that is not the sha256 of the body: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep -q "checksum mismatch"'
check "... nothing in the cache" '[ -z "$(ls "$W/cache/models--test--badetag/blobs" | grep -v "^[0-9a-f]\{40\}$")" ] && [ ! -e "$W/cache/models--test--badetag/snapshots" ]'

# any ETag safe as a file name names the blob, as huggingface_hub names it (W/ and quotes stripped, the rest as
# sent); an upper-case sha256 is still checked; one that cannot be a file name in blobs/ is refused, naming why
# (ETags had to be 32-128 hex digits: a mirror sending others was refused with 'an unexpected ETag')
run pull test/oddetag
od=$W/cache/models--test--oddetag; ST=$(echo "$st" | tr a-f A-F)
check "a mirror's ETags (weak, other characters, upper-case sha256): exit 0 ($err)" '[ $rc -eq 0 ]'
check "... the config's blob is named by its ETag" '[ -f "$od/blobs/cfg-v1.2_x+y=z:1" ] && cmp -s "$od/blobs/cfg-v1.2_x+y=z:1" "$T/hyenadna-tiny/config.json"'
check "... the weights' blob by the upper-case sha256" '[ -f "$od/blobs/$ST" ] && [ "$(readlink "$out/model.safetensors")" = "../../blobs/$ST" ]'
run info -m hf:test/oddetag
check "... and the model opens ($err)" '[ $rc -eq 0 ]'
run pull test/oddbad
check "an upper-case sha256 ETag is checked: a corrupt body is a checksum mismatch" '[ $rc -eq 2 ] && echo "$err" | grep -q "checksum mismatch"'
for e in "etagslash:ETag:it holds a '/'" "etagdots:ETag:it is '.' or '..'" "etagempty:X-Linked-Etag:it is empty" \
         "etagctl:ETag:it holds a control character" "etaglong:ETag:it is longer than 200 bytes"; do
  repo=${e%%:*}; why=${e#*:}; hdr=${why%%:*}; why=${why#*:}
  run pull test/$repo
  check "$repo: exit 2, the $hdr cannot name a blob: $why ($err)" '[ $rc -eq 2 ] && echo "$err" | grep -qF "the $hdr from the server cannot name its blob in the cache: $why"'
  check "... nothing in snapshots/" '[ ! -e "$W/cache/models--test--$repo/snapshots" ]'
done
check "... nothing written outside the cache" '[ ! -e "$W/escaped" ] && [ ! -e "$W/cache/escaped" ]'

# --include DIR/ is everything under DIR, as huggingface_hub's allow_patterns (it matched nothing)
run pull --include extra/ test/folders
check "--include extra/ fetches the files under extra/ ($err)" '[ $rc -eq 0 ] && [ "$(cat "$out/extra/notes.txt")" = notes ] && [ "$(cat "$out/extra/deep/x.txt")" = deep ] && [ ! -e "$out/other" ]'
check "... linked relative to the blobs, one ../ per folder" '[[ "$(readlink "$out/extra/deep/x.txt")" =~ ^\.\./\.\./\.\./\.\./blobs/[0-9a-f]{40}$ ]]'
HF_HUB_OFFLINE=1 run pull --include extra/ test/folders
check "... and offline, --include extra/ matches them in the snapshot (no warning) ($err)" '[ $rc -eq 0 ] && ! echo "$err" | grep -q "matches --include"'

# a repository without weights: refused before anything is downloaded, naming what it lists (pull gave a snapshot
# of config.json alone, which -m hf: then called incomplete, asking for the pull that made it)
for nw in "noweights:README.md, config.json" "tfonly:config.json, tf_model.h5"; do
  repo=${nw%%:*}
  run pull test/$repo
  check "a repository without weights ($repo): exit 2, says so and lists its files ($err)" '[ $rc -eq 2 ] && [ -z "$out" ] && echo "$err" | grep -qF "test/$repo has no weights hyenadna reads at revision '"'"'main'"'"'" && echo "$err" | grep -qF "it lists: ${nw#*:}"'
  check "... nothing downloaded" '[ ! -e "$W/cache/models--test--$repo/snapshots" ] && [ -z "$(ls "$W/cache/models--test--$repo/blobs" 2>/dev/null)" ]'
done
run pull --include '*.h5' test/tfonly
check "... with --include matching a file: fetched, with a warning that -m hf: will not open it ($err)" '[ $rc -eq 0 ] && [ -L "$out/tf_model.h5" ] && echo "$err" | grep -q "warning: .*-m hf:test/tfonly will not open"'

run pull test/corrupt
check "a corrupted LFS body: exit 2, a checksum error" '[ $rc -eq 2 ] && echo "$err" | grep -q "checksum mismatch"'
check "... no blob, no partial file, no snapshot" '[ ! -e "$W/cache/models--test--corrupt/blobs/$st" ] && ! ls "$W/cache/models--test--corrupt"/blobs/*.incomplete >/dev/null 2>&1 && [ ! -e "$W/cache/models--test--corrupt/snapshots" ]'
run pull test/missing
check "a 404: exit 2 naming the file" '[ $rc -eq 2 ] && echo "$err" | grep -q "model.safetensors" && echo "$err" | grep -q "404"'
check "... no snapshot" '[ ! -e "$W/cache/models--test--missing/snapshots" ]'
run pull test/nosuchrepo
check "an unknown repository: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep -q "not found"'
# the Hub answers 401 RepositoryNotFound without a token: not found, the name or a missing token at fault (it
# said 'access refused (HTTP 401: Invalid username or password.)'); 404 with a token
check "... answered 401 without a token: not found, and no token was sent ($err)" 'echo "$err" | grep -q "repository test/nosuchrepo not found on $HF_ENDPOINT (HTTP 401): check the name" && echo "$err" | grep -q "no token was sent"'
HF_TOKEN=$TOK run pull test/nosuchrepo
check "... 404 with a token: not found, the token has no access ($err)" '[ $rc -eq 2 ] && echo "$err" | grep -q "repository test/nosuchrepo not found on $HF_ENDPOINT (HTTP 404): check the name" && echo "$err" | grep -q "the token sent has no access"'
run pull test/tiny@nosuchbranch
check "an unknown revision: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep -q "nosuchbranch"'
run pull test/long
check "a body longer than announced: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep -q "longer than"'
check "... the partial file is removed" '! ls "$W/cache/models--test--long"/blobs/*.incomplete >/dev/null 2>&1'
run pull test/huge
check "an absurd header block: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep -q "header block"'
# a write that fails under way (a full disk; here the file size limit, its signal ignored so that write fails)
( trap '' XFSZ; ulimit -f 501; "$H" pull --retries 0 test/full >"$W/out" 2>"$W/err" ); rc=$?; err=$(cat "$W/err")
part=$(ls "$W/cache/models--test--full"/blobs/*.incomplete 2>/dev/null | head -1)
check "a download whose file cannot be written: exit 2 naming the partial file and why ($err)" '[ $rc -eq 2 ] && [ -n "$part" ] && echo "$err" | grep -qF "cannot write $part: File too large"'
check "... the bytes it says it kept are what the file holds" 'echo "$err" | grep -qF "($(stat -c %s "$part") of $(stat -c %s "$T/hyenadna-tiny/model.safetensors") bytes kept"'
run pull test/full
check "... and the next pull resumes it ($err)" '[ $rc -eq 0 ] && [ "$(sha "$W/cache/models--test--full/blobs/$st")" = "$st" ] && [ ! -e "$part" ]'

# ---------------------------------------------------------------- a gated repository
: > "$W/log"
run pull test/gated
check "gated without a token: exit 2, says gated and HF_TOKEN" '[ $rc -eq 2 ] && echo "$err" | grep -q "gated" && echo "$err" | grep -q "HF_TOKEN"'
HF_TOKEN=hf_wrong run pull test/gated
check "gated with a token without access: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep -q "no access"'
check "... the wrong token is not printed" '! grep -q hf_wrong "$W/err"'
mkdir -p "$W/hfhome"; printf 'hf_gate_tok\n' > "$W/hfhome/token"
run pull test/gated
check "gated with the token file \$HF_HOME/token ($err)" '[ $rc -eq 0 ]'
check "... the storage host still got no token" '! grep "\"server\": \"storage\"" "$W/log" | grep -q "Bearer"'
# a blank HF_TOKEN (spaces, a line break) is no token, and the token file is read, as huggingface_hub does
# (its _clean_token: CR and LF removed, then the ends stripped); it sent no token at all
rm -rf "$W/cache/models--test--gated"
HF_TOKEN='  ' run pull test/gated
check "HF_TOKEN of spaces: the token file is read ($err)" '[ $rc -eq 0 ]'
rm -rf "$W/cache/models--test--gated"
HF_TOKEN=$'\n' HUGGING_FACE_HUB_TOKEN=hf_wrong run pull test/gated
check "HF_TOKEN of a line break: the token file is read, not HUGGING_FACE_HUB_TOKEN ($err)" '[ $rc -eq 0 ]'
printf 'hf_gate\r\n_tok\n' > "$W/hfhome/token"; rm -rf "$W/cache/models--test--gated"
HF_TOKEN=' ' run pull test/gated
check "a token file's line breaks are removed, as huggingface_hub removes them ($err)" '[ $rc -eq 0 ]'
rm -f "$W/hfhome/token"; rm -rf "$W/cache/models--test--gated"
HF_TOKEN='  ' run pull test/gated
check "HF_TOKEN of spaces and no token file: no token (gated, exit 2)" '[ $rc -eq 2 ] && echo "$err" | grep -q "no token was sent"'
HF_TOKEN=" $TOK"$'\r\n' run pull test/tiny
check "HF_TOKEN with blanks and a line break around it: sent cleaned ($err)" '[ $rc -eq 0 ] && grep "\"server\": \"hub\"" "$W/log" | grep -q "\"Bearer $TOK\""'

# ---------------------------------------------------------------- crafted names
run pull ../tiny
check "owner '..': exit 1" '[ $rc -eq 1 ]'
run pull 'test/tiny@../../../etc'
check "revision with '..': exit 1" '[ $rc -eq 1 ]'
run pull 'test/ti/ny'
check "a repository name with a separator: exit 1" '[ $rc -eq 1 ]'
run pull '/etc/passwd'
check "an absolute path: exit 1" '[ $rc -eq 1 ]'
run info -m 'hf:test/..'
check "-m hf: with '..': exit 1" '[ $rc -eq 1 ]'
run pull test/evil
check "a listing with a crafted file name: exit 2, refused" '[ $rc -eq 2 ] && echo "$err" | grep -q "cannot be written safely"'
check "... nothing written outside the cache" '[ -z "$(find "$W" -name "escaped*")" ]'

# ---------------------------------------------------------------- an Evo 2 repository as published
if [ -d "$R/evo2" ]; then
  run pull test/evo2
  check "pull of an Evo 2 repository: the .pt, the YAML and config.json ($err)" '[ $rc -eq 0 ] && [ -L "$out/model.pt" ] && [ -L "$out/config.yml" ] && [ -L "$out/config.json" ]'
  "$H" forward -m "$T/evo2-tiny/model.pt" -c "$T/evo2-tiny/config.yml" -o "$W/edirect.st" "$T/evo2-tiny/input.fa" 2>/dev/null
  run forward -m hf:test/evo2 -o "$W/ehub.st" "$T/evo2-tiny/input.fa"
  check "-m hf: runs it with its YAML, passing over Hugging Face's config.json ($err)" '[ $rc -eq 0 ] && same_tensors "$W/edirect.st" "$W/ehub.st"'
fi

# ---------------------------------------------------------------- a repository with a PyTorch checkpoint only
if [ -d "$R/plant" ]; then
  run pull test/plant
  check "pull of a .bin-only repository ($err)" '[ $rc -eq 0 ] && [ -L "$out/pytorch_model.bin" ] && [ -L "$out/tokenizer.json" ]'
  run info -m hf:test/plant
  check "-m hf: opens its pytorch_model.bin ($err)" '[ $rc -eq 0 ] && echo "$out" | grep -q "^weights.*pytorch_model.bin"'
  "$H" forward -m "$T/plantcaduceus/pytorch_model.bin" -o "$W/pdirect.st" "$T/plantcaduceus/input.fa" 2>/dev/null
  run forward -m hf:test/plant -o "$W/phub.st" "$T/plantcaduceus/input.fa"
  check "... and runs it as the file itself ($err)" '[ $rc -eq 0 ] && same_tensors "$W/pdirect.st" "$W/phub.st"'
fi

# ---------------------------------------------------------------- a sharded repository
run pull test/sharded
check "pull of a sharded repository: the index and both shards ($err)" '[ $rc -eq 0 ] && [ -L "$out/model.safetensors.index.json" ] && [ -L "$out/model-00001-of-00002.safetensors" ] && [ -L "$out/model-00002-of-00002.safetensors" ]'
run info -m hf:test/sharded
check "-m hf: opens the sharded model through its index ($err)" '[ $rc -eq 0 ] && echo "$out" | grep -q "^weights.*model.safetensors.index.json"'
run forward -m hf:test/sharded --logits -o "$W/shub.st" "$T/hyenadna-tiny/input.fa"
check "... and gives the outputs of the one-file model ($err)" '[ $rc -eq 0 ] && same_tensors "$W/direct.st" "$W/shub.st"'
stop_server

# ---------------------------------------------------------------- a cache built by hand in huggingface_hub's layout
C=$W/handmade
hr=$C/models--hand--built
c1=0123456789abcdef0123456789abcdef01234567
cfg=$(sha1sum "$T/hyenadna-tiny/config.json" | cut -c1-40)
mkdir -p "$hr/blobs" "$hr/snapshots/$c1" "$hr/refs/refs/pr"
cp "$T/hyenadna-tiny/model.safetensors" "$hr/blobs/$st"
cp "$T/hyenadna-tiny/config.json" "$hr/blobs/$cfg"
ln -s "../../blobs/$st" "$hr/snapshots/$c1/model.safetensors"
ln -s "../../blobs/$cfg" "$hr/snapshots/$c1/config.json"
printf '%s' "$c1" > "$hr/refs/main"
printf '%s' "$c1" > "$hr/refs/refs/pr/1"
HF_HUB_CACHE=$C run forward -m hf:hand/built --logits -o "$W/hand.st" "$T/hyenadna-tiny/input.fa"
check "a hand-built huggingface_hub cache is read ($err)" '[ $rc -eq 0 ] && same_tensors "$W/direct.st" "$W/hand.st"'
HF_HUB_CACHE=$C run info -m hf:hand/built@refs/pr/1
check "... at a nested ref (refs/pr/1)" '[ $rc -eq 0 ]'
HF_HUB_CACHE=$C HF_HUB_OFFLINE=1 run pull hand/built@refs/pr/1
check "... and by pull under HF_HUB_OFFLINE ($err)" '[ $rc -eq 0 ] && [ "$out" = "$hr/snapshots/$c1" ]'
unset HF_HUB_CACHE
HF_HOME=$W/home2 run info -m hf:hand/built
check "without HF_HUB_CACHE the cache is \$HF_HOME/hub (absent: exit 2)" '[ $rc -eq 2 ] && echo "$err" | grep -q "$W/home2/hub/models--hand--built"'
mkdir -p "$W/home2"; ln -s "$C" "$W/home2/hub"
HF_HOME=$W/home2 run info -m hf:hand/built
check "... and found there" '[ $rc -eq 0 ]'
mkdir -p "$C/models--LongSafari--hyenadna-tiny-1k-seqlen-hf"; cp -a "$hr/." "$C/models--LongSafari--hyenadna-tiny-1k-seqlen-hf/"
rm -f "$hr/blobs/$st"
HF_HUB_CACHE=$C run info -m hf:hand/built
check "a snapshot whose blob is gone: exit 2 naming the link and the blob ($err)" '[ $rc -eq 2 ] && echo "$err" | grep -qF "incomplete: '"'"'model.safetensors'"'"' links to ../../blobs/$st, which is missing"'

# ---------------------------------------------------------------- the catalogue
HF_HUB_CACHE=$C run models
check "models: exit 0" '[ $rc -eq 0 ]'
check "models: a header and at least 27 checkpoints" '[ "$(echo "$out" | head -1 | cut -f1)" = "#name" ] && [ "$(echo "$out" | grep -vc "^#")" -ge 27 ]'
for want in LongSafari/hyenadna-tiny-1k-seqlen-hf LongSafari/hyenadna-large-1m-seqlen-hf kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16 \
            kuleshov-group/caduceus-ph_seqlen-1k_d_model-256_n_layer-4_lr-8e-3 kuleshov-group/PlantCaduceus_l20 kuleshov-group/PlantCaduceus_l32 \
            arcinstitute/evo2_7b arcinstitute/evo2_40b; do
  check "models lists $want" 'echo "$out" | grep -q "hf:$want\$"'
done
check "models lists the DNA-xLSTM releases" '[ "$(echo "$out" | grep -c "^dna_xlstm")" -ge 4 ]'
check "models: a cached repository says so" 'echo "$out" | grep "hf:LongSafari/hyenadna-tiny-1k-seqlen-hf$" | cut -f9 | grep -qx yes'
check "models: others are not cached" 'echo "$out" | grep "hf:LongSafari/hyenadna-large-1m-seqlen-hf$" | cut -f9 | grep -qx no'
check "models: the FP8 Evo 2 checkpoints are not supported" 'echo "$out" | grep "hf:arcinstitute/evo2_40b$" | cut -f8 | grep -q "^no"'
check "models: HyenaDNA is supported" 'echo "$out" | grep "hf:LongSafari/hyenadna-large-1m-seqlen-hf$" | cut -f8 | grep -qx yes'
HF_HUB_CACHE=$C run models --json
check "models --json is a JSON array of the same rows" '[ $rc -eq 0 ] && echo "$out" | "$PY" -c "import json,sys; a=json.load(sys.stdin); assert len(a) >= 27 and all(\"supported\" in e and \"cached\" in e for e in a); assert any(e[\"repo\"] == \"LongSafari/hyenadna-tiny-1k-seqlen-hf\" and e[\"cached\"] is True for e in a)"'
run models -o "$W/models.tsv"
check "models -o FILE" '[ $rc -eq 0 ] && [ "$(grep -vc "^#" "$W/models.tsv")" -ge 27 ]'
run models extra
check "models: an unexpected argument is a usage error" '[ $rc -eq 1 ]'

finish
