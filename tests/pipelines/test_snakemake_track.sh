#!/usr/bin/env bash
# test_snakemake_track.sh -- run the track workflow (pipelines/snakemake/track) for real with the bundled
# default model on real DNA (data/example.fa): scattered by contig (bigWig, every track) and by shard
# (bedGraph and the SNV table), gathered with `hyenadna track --merge`; the gathered files must equal one
# unsharded `hyenadna track` run byte for byte, and the pieces must be gone.  Skips (77) only when
# snakemake is not installed (.ci/run installs it).
. "$(dirname "$0")/../lib.sh"
need snakemake
M="$S/data/models/default"
bindir="$tmp/bin"; mkdir -p "$bindir"; ln -s "$H" "$bindir/hyenadna"
export PATH="$bindir:$PATH"
cd "$tmp" || exit 1

# three contigs of real human DNA, not in name order in the file
rec() { awk -v a="$1" -v b="$2" '/^>/{n++; next} n >= a && n <= b' "$S/data/example.fa" | tr -d '\n'; }
fa() { printf '>%s\n' "$1"; fold -w 60; echo; }
{ rec 1 2 | fa chr2; rec 3 3 | cut -c1-900 | fa chr10; rec 4 5 | fa chr1; } > ref.fa

# flow NAME SCATTER WHAT TYPE: run the workflow in NAME/ and compare with a single run
flow() {
  local d=$1 scatter=$2 what=$3 otype=$4
  mkdir -p "$d" && cp ref.fa "$d/" && cd "$d" || return
  printf 'model: %s\nref: ref.fa\nprefix: results/genome\nwhat: %s\noutput_type: %s\nscatter: %s\nshards: 3\nthreads: 1\n' \
    "$M" "$what" "$otype" "$scatter" > config.yaml
  if snakemake -s "$S/pipelines/snakemake/track/Snakefile" --configfile config.yaml --cores 2 --quiet >snakemake.log 2>&1; then ok
  else bad "$d: the workflow failed"; tail -20 snakemake.log | sed 's/^/    /'
    tail -n 5 logs/track/*.log 2>/dev/null | sed 's/^/    /'; cd ..; return; fi
  local n; n=$(ls logs/track/*.log 2>/dev/null | wc -l)
  [ "$n" -eq 3 ] && ok || bad "$d: expected 3 pieces, found $n logs"
  hyenadna track -m "$M" -f ref.fa --what "$what" -O "$otype" -o single 2>/dev/null || bad "$d: single run failed"
  local f k=0
  for f in single.*; do
    k=$((k + 1))
    cmp -s "$f" "results/genome${f#single}" && ok || bad "$d: gathered ${f#single.} differs from a single run"
  done
  [ "$k" -ge 2 ] && ok || bad "$d: the single run wrote $k files"
  [ -z "$(ls results/pieces 2>/dev/null)" ] && ok || bad "$d: pieces left behind: $(ls results/pieces | head -3)"
  cd ..
}
flow bycontig contig all bigwig
flow byshard shard logp,llr bedgraph

finish
