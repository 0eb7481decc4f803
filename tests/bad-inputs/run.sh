#!/usr/bin/env bash
# run.sh -- the bad-input suite: every malformed or unsuitable input is one clear error, the documented exit
# status (1 input/usage, 2 model/resource), and nothing left at the output path (no file, no temp file).
# Inputs are generated here from the fixtures.  Run by `make check` with HYENADNA, TESTDATA and SRCDIR set.
. "$(dirname "$0")/../lib.sh"
I=$tmp/in; mkdir -p "$I"

# fails STATUS NEEDLE DESCRIPTION -- command... ; OUT (a fresh empty directory) holds the output path.
# Checks: the exit status, exactly one line on stderr, naming NEEDLE, and OUT still empty afterwards.
n=0
fails() {
  local want=$1 needle=$2 what=$3; shift 4
  n=$((n+1)); OUT=$tmp/out$n; mkdir -p "$OUT"
  local cmd=() a
  for a in "$@"; do cmd+=("${a//@OUT@/$OUT}"); done
  "${cmd[@]}" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null; local got=$?
  # htslib's own diagnostic ([E::...]) may precede ours when htslib itself rejects a VCF line
  local lines; lines=$(grep -v '^\[[EW]::' "$tmp/stderr" | grep -c .)
  if [ "$got" -ne "$want" ]; then bad "$what: exit $got, expected $want"; sed 's/^/    /' "$tmp/stderr" | head -5; return; fi
  if [ "$lines" -ne 1 ]; then bad "$what: $lines lines on stderr, expected one error"; sed 's/^/    /' "$tmp/stderr" | head -5; return; fi
  if ! grep -qF -- "$needle" "$tmp/stderr"; then bad "$what: error does not name '$needle': $(cat "$tmp/stderr")"; return; fi
  if [ -n "$(ls -A "$OUT")" ]; then bad "$what: output left behind: $(ls -A "$OUT")"; return; fi
  ok
}

HY=$T/hyenadna-tiny CA=$T/caduceus-ph XL=$T/xlstm-slstm
FA=$HY/input.fa

# ------------------------------------------------------------------ model files
# copy a fixture model directory into $I/NAME, then let the caller damage it
mk() { rm -rf "$I/$2"; mkdir -p "$I/$2"; cp "$1/config.json" "$1/model.safetensors" "$I/$2/"; }
hlen() { perl -e 'open F,"<",$ARGV[0] or die; binmode F; read F,$b,8; print unpack("Q<",$b)' "$1"; }

mk "$HY" trunc; head -c 100 "$HY/model.safetensors" > "$I/trunc/model.safetensors"
fails 2 "$I/trunc/model.safetensors" "header past the end" -- "$H" forward -m "$I/trunc" -o @OUT@/o.st "$FA"
mk "$HY" tiny; head -c 5 "$HY/model.safetensors" > "$I/tiny/model.safetensors"
fails 2 "$I/tiny/model.safetensors" "5-byte model file" -- "$H" forward -m "$I/tiny" -o @OUT@/o.st "$FA"
mk "$HY" cut; sz=$(stat -c %s "$HY/model.safetensors"); head -c $((sz - 100)) "$HY/model.safetensors" > "$I/cut/model.safetensors"
fails 2 "$I/cut/model.safetensors" "data area truncated" -- "$H" embed -m "$I/cut" -o @OUT@/o.tsv "$FA"
mk "$HY" hugehdr; perl -e 'open F,"+<",$ARGV[0] or die; binmode F; print F pack("Q<", 1<<40)' "$I/hugehdr/model.safetensors"
fails 2 "$I/hugehdr/model.safetensors" "header length 2^40" -- "$H" forward -m "$I/hugehdr" -o @OUT@/o.st "$FA"
# the second tensor's data_offsets rewritten to overlap the first (same header length)
mk "$HY" overlap
perl -0777 -i -pe 's/"data_offsets":\[8192,8704\]/"data_offsets":[7680,8192]/' "$I/overlap/model.safetensors"
fails 2 "overlap" "overlapping data_offsets" -- "$H" forward -m "$I/overlap" -o @OUT@/o.st "$FA"
# a shape that disagrees with the config ([16,128] → [128,16] keeps the byte count and the header length)
mk "$HY" shape
perl -0777 -i -pe 's/(word_embeddings\.weight":\{"dtype":"F32","shape":)\[16,128\]/$1\[128,16\]/' "$I/shape/model.safetensors"
fails 2 "word_embeddings" "wrong tensor shape" -- "$H" forward -m "$I/shape" -o @OUT@/o.st "$FA"
# invalid JSON in the header
mk "$HY" json; perl -0777 -i -pe 's/"__metadata__"/"__metadata__"\x01/; s/"format":"pt"/"format":"p"/' "$I/json/model.safetensors"
fails 2 "invalid JSON" "invalid header JSON" -- "$H" info -m "$I/json"
# NaN weights: an error at load naming the tensor (checked once per tensor; README, "Model files": weights must be finite)
for fam in HY CA XL; do
  src=${!fam}; mk "$src" nan$fam
  perl -e 'open F,"+<",$ARGV[0] or die; binmode F; read F,$b,8; $h=unpack("Q<",$b); seek F,0,0; read F,$j,8+$h;
           $j=~/"([^"]+)":\{"dtype":"F32","shape":\[[0-9,]+\],"data_offsets":\[0,/ or die "no tensor at 0";
           print STDERR "$1\n"; seek F,8+$h+4,0; print F pack("L<",0x7fc00000)' "$I/nan$fam/model.safetensors" 2>"$I/nan$fam.name"
  fails 2 "non-finite" "NaN weight ($fam)" -- "$H" forward -m "$I/nan$fam" -o @OUT@/o.st "$src/input.fa"
  perl -e 'open F,"+<",$ARGV[0] or die; binmode F; read F,$b,8; $h=unpack("Q<",$b); seek F,8+$h+4,0; print F pack("L<",0x7f800000)' "$I/nan$fam/model.safetensors"
  fails 2 "$(sed 's/^[a-z]*\.backbone\.//' "$I/nan$fam.name")" "Inf weight ($fam) names the tensor" -- "$H" embed -m "$I/nan$fam" -o @OUT@/o.tsv "$src/input.fa"
done

# checkpoints (convert): nothing of the output directory or its temporary twin is left
head -c 3000 "$T/ckpt/hyenadna-lightning.ckpt" > "$I/trunc.ckpt"
fails 2 "trunc.ckpt" "truncated checkpoint" -- "$H" convert -o @OUT@/model "$I/trunc.ckpt"
printf 'PK\003\004garbage' > "$I/garbage.ckpt"
fails 2 "garbage.ckpt" "corrupt zip checkpoint" -- "$H" convert -o @OUT@/model "$I/garbage.ckpt"

( cd "$I" && "$H" convert -o - "$T/ckpt/hyenadna-lightning.ckpt" >/dev/null 2>"$tmp/stderr"; echo $? > "$tmp/rc" )
[ "$(cat "$tmp/rc")" = 1 ] && grep -q "option -o" "$tmp/stderr" && [ ! -e "$I/-" ] && ok || bad "convert -o - must be refused, not make a directory '-'"

# ------------------------------------------------------------------ configs
cfg() { mk "$1" "$2"; perl -0777 -i -pe "$3" "$I/$2/config.json"; }
cfg "$HY" dmodel0 's/"d_model": 128/"d_model": 0/'
fails 2 "d_model" "d_model 0" -- "$H" forward -m "$I/dmodel0" -o @OUT@/o.st "$FA"
cfg "$HY" nlayer 's/"n_layer": 2/"n_layer": 1000000000/'
fails 2 "n_layer" "n_layer 10^9" -- "$H" forward -m "$I/nlayer" -o @OUT@/o.st "$FA"
cfg "$HY" nodmodel 's/"d_model": 128,//'
fails 2 "d_model" "d_model missing" -- "$H" forward -m "$I/nodmodel" -o @OUT@/o.st "$FA"
cfg "$HY" strdmodel 's/"d_model": 128/"d_model": "big"/'
fails 2 "d_model" "d_model a string" -- "$H" forward -m "$I/strdmodel" -o @OUT@/o.st "$FA"
cfg "$HY" badjson 's/\{/[/'
fails 2 "config.json" "config not JSON object" -- "$H" forward -m "$I/badjson" -o @OUT@/o.st "$FA"
# a maximum length needing terabytes: the request is refused before allocating, saying how much
cfg "$HY" hugelen 's/"max_seq_len": 1026/"max_seq_len": 4000000000000/'
fails 2 "max_seq_len" "max_seq_len 4e12" -- "$H" forward -m "$I/hugelen" -o @OUT@/o.st "$FA"
# DNA-xLSTM builds its RoPE tables from max_length at load: 2^31 rows need ~275 GB, refused before allocating
cfg "$T/xlstm-mlstm" ropelen 's/"max_length": 256/"max_length": 2147483648/'
fails 2 "max_length 2147483648 needs" "xLSTM max_length 2^31 (RoPE tables)" -- "$H" forward -m "$I/ropelen" -o @OUT@/o.st "$T/xlstm-mlstm/input.fa"
awk 'BEGIN{print ">long"; s=""; for(i=0;i<4000;i++) s=s "ACGTACGTAC"; print s}' > "$I/long.fa"
cfg "$HY" bigwidth 's/"max_seq_len": 1026/"max_seq_len": 100000000/'
cfg "$HY" tblen 's/"max_seq_len": 1026/"max_seq_len": 2000000000/'
fails 2 "pos_emb.z" "max_seq_len 2e9 (terabytes of filters) against 1026-long tensors" -- "$H" forward -m "$I/tblen" -o @OUT@/o.st "$I/long.fa"

# ------------------------------------------------------------------ FASTA
printf '>s1\nACGTXYZ\n' > "$I/badchar.fa"
fails 1 "s1" "bad character in FASTA" -- "$H" forward -m "$HY" -o @OUT@/o.st "$I/badchar.fa"
fails 1 "s1" "bad character (embed)" -- "$H" embed -m "$HY" -o @OUT@/o.tsv "$I/badchar.fa"
# the bad record comes after good ones: the output already opened must vanish, temp file included
{ for i in 1 2 3 4 5 6; do printf '>ok%d\nACGTACGTAC\n' $i; done; printf '>late\nACGT!ACGT\n'; } > "$I/late.fa"
fails 1 "late" "bad character in a later record (forward)" -- "$H" forward -m "$HY" -o @OUT@/o.st "$I/late.fa"
fails 1 "late" "bad character in a later record (embed tsv)" -- "$H" embed -m "$HY" -o @OUT@/o.tsv "$I/late.fa"
fails 1 "late" "bad character in a later record (embed safetensors)" -- "$H" embed -m "$HY" -o @OUT@/o.safetensors "$I/late.fa"
# the FASTA rules (hyenadna(1), INPUT FILES), the same in every command: an empty record and a record whose
# name was used before are skipped with a warning naming them (the first record of a name is used)
printf '>s1\nACGT\n>empty\n>s3\nACGT\n' > "$I/empty.fa"
printf '>s1\nACGT\n>s1\nACGA\n>s2\nAC\n' > "$I/dup.fa"
printf '>s1 label=x\nACGT\n>empty label=y\n>s3 label=y\nACGA\n>s1 label=y\nCC\n' > "$I/rules.fa"
printf '>a1 label=x\nACGTACGTAC\n>a2 label=x\nACGTTTGTAC\n>b1 label=y\nGGGGCCCCAA\n>b2 label=y\nGGGCCCCAAT\n' > "$I/train.fa"
printf '>q1\nACGTACGAAC\n' > "$I/q.fa"
skips() {   # skips NEEDLE ROWS DESCRIPTION -- command (stdout: one row per record kept, after a '#' header)
  local needle=$1 rows=$2 what=$3; shift 4
  "$@" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null; local got=$?
  if [ "$got" -ne 0 ]; then bad "$what: exit $got, expected 0"; sed 's/^/    /' "$tmp/stderr" | head -3; return; fi
  grep -q "warning: record '$needle' of .*skipped" "$tmp/stderr" || { bad "$what: no warning naming record $needle: $(cat "$tmp/stderr")"; return; }
  [ "$(grep -vc '^#' "$tmp/stdout")" -eq "$rows" ] || { bad "$what: $(grep -vc '^#' "$tmp/stdout") rows, expected $rows"; return; }
  ok
}
skips empty 2 "empty record (embed)" -- "$H" embed -m "$HY" "$I/empty.fa"
skips s1 2 "repeated name (embed)" -- "$H" embed -m "$HY" "$I/dup.fa"
skips empty 2 "empty record (classify query)" -- "$H" classify --method kmer -t "$I/train.fa" "$I/empty.fa"
skips s1 2 "repeated name (classify query)" -- "$H" classify --method kmer -t "$I/train.fa" "$I/dup.fa"
skips empty 1 "empty record and repeated name (classify training set)" -- "$H" classify --method kmer -t "$I/rules.fa" "$I/q.fa"
grep -q "warning: record 's1' of .*rules.fa.*skipped" "$tmp/stderr" && ok || bad "classify training set: the repeated name s1 not named"
for f in empty dup; do
  "$H" forward -m "$HY" -o "$tmp/$f.st" "$I/$f.fa" 2>"$tmp/stderr"; st=$?
  keys=$(head -c 4096 "$tmp/$f.st" | grep -ao '"tokens\.[a-z0-9]*"' | tr '\n' ' ')
  if [ $st -eq 0 ] && grep -q "warning: record" "$tmp/stderr" && [ "$keys" = "$([ $f = empty ] && echo '"tokens.s1" "tokens.s3" ' || echo '"tokens.s1" "tokens.s2" ')" ]; then ok
  else bad "forward $f.fa: exit $st, tensors $keys"; fi
done
# the first record of a repeated name is the one used (as in a FASTA index)
"$H" embed -m "$HY" "$I/dup.fa" 2>/dev/null | grep -v '^#' | cut -f1,4 > "$tmp/dup.rows"
[ "$(cut -f2 "$tmp/dup.rows" | tr '\n' ' ')" = "4 2 " ] && ok || bad "repeated name: the first record's row expected: $(cat "$tmp/dup.rows")"
printf 'ACGT\nACGT\n' > "$I/nohdr.fa"
fails 1 "nohdr.fa" "no FASTA header" -- "$H" forward -m "$HY" -o @OUT@/o.st "$I/nohdr.fa"
fails 1 "missing.fa" "missing input" -- "$H" forward -m "$HY" -o @OUT@/o.st "$I/missing.fa"
# Windows line endings are accepted and give the same output as Unix ones
printf '>s1\r\nACGTACGTTT\r\nGGCA\r\n' > "$I/crlf.fa"; printf '>s1\nACGTACGTTT\nGGCA\n' > "$I/lf.fa"
"$H" embed -m "$HY" -o "$tmp/crlf.tsv" "$I/crlf.fa" 2>/dev/null && "$H" embed -m "$HY" -o "$tmp/lf.tsv" "$I/lf.fa" 2>/dev/null \
  && cmp -s "$tmp/crlf.tsv" "$tmp/lf.tsv" && ok || bad "CRLF FASTA differs from LF"

# ------------------------------------------------------------------ VCF (score-variants)
REF=$I/ref.fa
printf '>chr1\n' > "$REF"; awk 'BEGIN{srand(3); for(l=0;l<10;l++){s=""; for(i=0;i<60;i++) s=s substr("ACGT",int(rand()*4)+1,1); print s}}' >> "$REF"
b1=$(sed -n 2p "$REF" | cut -c1); b10=$(sed -n 2p "$REF" | cut -c10)
alt() { case $1 in A) echo C;; *) echo A;; esac; }
vhdr() { printf '##fileformat=VCFv4.2\n##contig=<ID=chr1,length=600>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n'; }
{ vhdr | sed '2a ##contig=<ID=chrZ,length=100>'; printf 'chr1\t10\t.\t%s\t%s\t.\t.\t.\n' "$b10" "$(alt "$b10")"; printf 'chrZ\t5\t.\tA\tC\t.\t.\t.\n'; } > "$I/nocontig.vcf"
fails 1 "chrZ" "contig missing from the reference (--strict)" -- "$H" score-variants --strict -m "$HY" -f "$REF" -o @OUT@/o.vcf "$I/nocontig.vcf"
mm=$(alt "$b10")
{ vhdr; printf 'chr1\t10\t.\t%s\t%s\t.\t.\t.\n' "$mm" "$b10"; } > "$I/mismatch.vcf"
fails 1 "mismatch.vcf line 4 (chr1:10)" "REF mismatch (--strict)" -- "$H" score-variants --strict -m "$HY" -f "$REF" -o @OUT@/o.vcf "$I/mismatch.vcf"
{ vhdr; printf 'chr1\t0\t.\t%s\t%s\t.\t.\t.\n' "$b1" "$(alt "$b1")"; } > "$I/pos0.vcf"
fails 1 "chr1:0" "POS 0 (--strict)" -- "$H" score-variants --strict -m "$HY" -f "$REF" -o @OUT@/o.vcf "$I/pos0.vcf"
"$H" score-variants -m "$HY" -f "$REF" -o "$tmp/pos0.vcf" "$I/pos0.vcf" 2>/dev/null && grep -v '^#' "$tmp/pos0.vcf" | grep -q 'chr1	0' \
  && ! grep -v '^#' "$tmp/pos0.vcf" | grep -q HDNA_LLR && ok || bad "POS 0 without --strict: record passed through unscored"
{ vhdr; printf 'chr1\t99999999999999999999\t.\tA\tC\t.\t.\t.\n'; } > "$I/hugepos.vcf"
fails 1 "hugepos.vcf" "POS beyond 2^63" -- "$H" score-variants -m "$HY" -f "$REF" -o @OUT@/o.vcf "$I/hugepos.vcf"
{ vhdr; printf 'chr1\t601\t.\tA\tC\t.\t.\t.\n'; } > "$I/past.vcf"
fails 1 "chr1:601" "position past the contig (--strict)" -- "$H" score-variants --strict -m "$HY" -f "$REF" -o @OUT@/o.vcf "$I/past.vcf"
printf 'not a vcf\n' > "$I/notvcf.vcf"
fails 1 "notvcf.vcf" "not a VCF" -- "$H" score-variants -m "$HY" -f "$REF" -o @OUT@/o.vcf "$I/notvcf.vcf"
{ vhdr; printf 'chr1\t10\t.\t%s\t%s\t.\t.\t.\n' "$b10" "$(alt "$b10")"; } > "$I/ok.vcf"
fails 1 "missing-ref.fa" "missing reference" -- "$H" score-variants -m "$HY" -f "$I/missing-ref.fa" -o @OUT@/o.vcf "$I/ok.vcf"
# a model of the wrong kind for the score mode
fails 1 "prefix" "--score prefix with a masked model" -- "$H" score-variants -s prefix -m "$CA" -f "$REF" -o @OUT@/o.vcf "$I/ok.vcf"
fails 1 "window" "--score window with a masked model" -- "$H" score-variants -s window -m "$CA" -f "$REF" -o @OUT@/o.vcf "$I/ok.vcf"
fails 1 "--score" "unknown --score" -- "$H" score-variants -s frob -m "$HY" -f "$REF" -o @OUT@/o.vcf "$I/ok.vcf"

# ------------------------------------------------------------------ classify inputs
printf '>a1 label=x\nACGTACGTAC\n>a2 label=x\nACGTTTGTAC\n>b1 label=y\nGGGGCCCCAA\n>b2 label=y\nGGGCCCCAAT\n' > "$I/train.fa"
printf '>q1\nACGTACGAAC\n' > "$I/q.fa"
printf '>a1 label=x\nACGTACGTAC\n>a2\nACGTTTGTAC\n>b1 label=y\nGGGGCCCCAA\n' > "$I/nolabel.fa"
fails 1 "a2" "training record without label=" -- "$H" classify --method centroid -m "$HY" -t "$I/nolabel.fa" -o @OUT@/o.tsv "$I/q.fa"
printf '>a1 label=x\nACGTACGTAC\n>a2 label=x\nACGTTTGTAC\n' > "$I/oneclass.fa"
fails 1 "oneclass.fa" "one class only" -- "$H" classify --method centroid -m "$HY" -t "$I/oneclass.fa" -o @OUT@/o.tsv "$I/q.fa"
printf 'x\tACGTACGT\ny\tGGGG!CCC\n' > "$I/badbase.tsv"
fails 1 "badbase.tsv" "TSV with a bad base" -- "$H" classify --method centroid -m "$HY" -t "$I/badbase.tsv" -o @OUT@/o.tsv "$I/q.fa"
printf 'chr1\t50\t20\tx\nchr1\t100\t160\ty\n' > "$I/rev.bed"
fails 1 "rev.bed" "BED with start > end" -- "$H" classify --method centroid -m "$HY" -f "$REF" -t "$I/rev.bed" -o @OUT@/o.tsv "$I/q.fa"
printf 'chr1\t10\t20\tx\nchr1\t590\t700\ty\n' > "$I/past.bed"
fails 1 "past.bed" "BED past the contig end" -- "$H" classify --method centroid -m "$HY" -f "$REF" -t "$I/past.bed" -o @OUT@/o.tsv "$I/q.fa"
fails 1 "late" "bad character in a later query (classify)" -- "$H" classify --method centroid -m "$HY" -t "$I/train.fa" --metrics @OUT@/m.json -o @OUT@/o.tsv "$I/late.fa"
fails 1 "--method" "--method context with a masked model" -- "$H" classify --method context -m "$CA" -t "$I/train.fa" -o @OUT@/o.tsv "$I/q.fa"
fails 1 "--method" "unknown --method" -- "$H" classify --method frob -m "$HY" -t "$I/train.fa" -o @OUT@/o.tsv "$I/q.fa"
printf 'chr1\t30\t10\n' > "$I/qrev.bed"
fails 1 "qrev.bed" "query BED with start > end" -- "$H" classify --method centroid --bed -m "$HY" -f "$REF" -t "$I/train.fa" -o @OUT@/o.tsv "$I/qrev.bed"

# ------------------------------------------------------------------ embed regions
fails 1 "rev.bed" "regions BED with start > end" -- "$H" embed -m "$HY" -R "$I/rev.bed" -o @OUT@/o.tsv "$REF"
fails 1 "chrZ" "region on an unknown contig" -- "$H" embed -m "$HY" -r chrZ:1-10 -o @OUT@/o.tsv "$REF"
fails 1 "chr1:500-700" "region past the contig end" -- "$H" embed -m "$HY" -r chr1:500-700 -o @OUT@/o.tsv "$REF"
fails 1 "--window" "window 0" -- "$H" embed -m "$HY" -w 0 -o @OUT@/o.tsv "$REF"

# ------------------------------------------------------------------ track
fails 1 "chr1:500-700" "track: region past the contig end" -- "$H" track -m "$HY" -f "$REF" -r chr1:500-700 -o @OUT@/t
fails 1 "chrZ" "track: region on an unknown contig" -- "$H" track -m "$HY" -f "$REF" -r chrZ:1-10 -o @OUT@/t
printf '>c1\nACGTACGTAC\n' | gzip -c > "$I/plain.fa.gz"
fails 1 "plain.fa.gz" "track: a plain-gzip FASTA cannot be indexed" -- "$H" track -m "$HY" -f "$I/plain.fa.gz" -o @OUT@/t
fails 1 "prefix" "track: --score prefix on a masked model" -- "$H" track -s prefix -m "$CA" -f "$REF" -o @OUT@/t
fails 1 "masked" "track: --score masked on a causal model" -- "$H" track -s masked -m "$HY" -f "$REF" -o @OUT@/t
fails 1 "--overlap" "track: --overlap = --chunk" -- "$H" track -m "$HY" -f "$REF" --chunk 100 --overlap 100 -o @OUT@/t
fails 1 "--chunk" "track: --chunk beyond the model's length" -- "$H" track -m "$HY" -f "$REF" --chunk 5000 -o @OUT@/t
fails 1 "--what" "track: unknown track" -- "$H" track -m "$HY" -f "$REF" --what logp,frob -o @OUT@/t
fails 1 "-o PREFIX" "track: no output prefix" -- "$H" track -m "$HY" -f "$REF"
fails 2 "nodir" "track: output folder missing (a resource failure)" -- "$H" track -m "$HY" -f "$REF" -o "$tmp/nodir/t"
# an existing output that cannot be replaced (a folder): an error naming it, before any work, nothing else written
mkdir -p "$tmp/rep/t.entropy.bw"
"$H" track -m "$HY" -f "$REF" -o "$tmp/rep/t" >/dev/null 2>"$tmp/stderr"; st=$?
[ $st -eq 2 ] && grep -q "t.entropy.bw" "$tmp/stderr" && [ "$(ls -A "$tmp/rep")" = t.entropy.bw ] && ok \
  || bad "track: an output that is a folder: exit $st, $(cat "$tmp/stderr"), left $(ls -A "$tmp/rep")"
fails 1 "no track files" "track --merge: parts without track files" -- "$H" track --merge @OUT@/m "$tmp/nothere"
fails 1 "--plot" "track --plot with --shard" -- "$H" track -m "$HY" -f "$REF" -r chr1:1-50 --shard 1/2 --plot @OUT@/p.svg -o @OUT@/t
fails 1 "--plot" "track --plot over two regions" -- "$H" track -m "$HY" -f "$REF" -r chr1:1-50,chr1:100-150 --plot @OUT@/p.svg -o @OUT@/t

# ------------------------------------------------------------------ options
fails 1 "--threads" "negative thread count" -- "$H" forward -m "$HY" -@ -3 -o @OUT@/o.st "$FA"
fails 2 "nodir" "output directory missing (a resource failure)" -- "$H" forward -m "$HY" -o "$tmp/nodir/o.st" "$FA"

# ------------------------------------------------------------------ a full disk: every output failure is exit status 2
# (/dev/full accepts the open and fails every write with ENOSPC; a device is written in place, never renamed over;
# BGZF outputs are left out: htslib 1.16's bgzf_close leaks its buffers when the last flush fails, which the
# sanitizer build would report)
if [ -c /dev/full ] && [ -w /dev/full ]; then
  fails 2 "No space left" "forward -o on a full disk" -- "$H" forward -m "$HY" -o /dev/full "$FA"
  fails 2 "No space left" "embed TSV to a full stdout" -- sh -c '"$0" embed -m "$1" "$2" > /dev/full' "$H" "$HY" "$FA"
  fails 2 "No space left" "embed safetensors on a full disk" -- "$H" embed -m "$HY" -O safetensors -o /dev/full "$FA"
  fails 2 "No space left" "classify on a full disk" -- "$H" classify --method kmer -t "$I/train.fa" -o /dev/full "$I/q.fa"
  fails 2 "/dev/full" "score-variants VCF on a full disk" -- "$H" score-variants -m "$HY" -f "$REF" -o /dev/full "$I/ok.vcf"
  fails 2 "No space left" "score-variants TSV to a full stdout" -- sh -c '"$0" score-variants -m "$1" -f "$2" -O t "$3" > /dev/full' "$H" "$HY" "$REF" "$I/ok.vcf"
  fails 2 "standard output" "info to a full stdout" -- sh -c '"$0" info -m "$1" > /dev/full' "$H" "$HY"
  fails 2 "standard output" "convert report to a full stdout" -- sh -c '"$0" convert -n "$1" > /dev/full' "$H" "$T/ckpt/misc.pt"
  [ -c /dev/full ] && ok || bad "/dev/full was replaced by a regular file"
fi

finish "bad-inputs: $n cases + checks,"
