#!/usr/bin/env bash
# bench_score_variants.sh -- throughput of `hyenadna score-variants` (variants per second) in window and
# prefix mode on a random VCF over a synthetic genome, with the hyenadna-tiny fixture model.
#
#   bench/bench_score_variants.sh [HYENADNA]        (default ./hyenadna)
# Environment: N (variants, 100000), GENOME (bases, 2000000), NW (variants for the window-mode runs, N),
#   WINDOWS ("128 256 512 1024"), THREADS ("1 2"), INDELS (fraction of indels, 0.1), OUT (bench/out/score_variants).
# Prints one TSV line per run: mode window threads variants seconds variants_per_s forward_passes cpu_seconds
# (cpu_seconds = user + system time; on a shared machine it is the better measure of the work).
#
# Measured 2026-11-28 on the 2-core development VM while it was shared (load average 12-19, so wall
# times are 2-5x the CPU time), hyenadna-tiny, OpenBLAS generic (PRESCOTT) kernel:
#   prefix W=1024 chunk 1026 overlap 512, 100000 SNVs on 400 kb:  826 passes, 52 s CPU  (~1900 variants/CPU-s;
#                                                           wall 261 s with 1 thread, 167 s with 2)
#   window W=128,  200 variants (400 passes):   3.0 s CPU   (~66 variants/CPU-s, 7.5 ms per pass)
#   window W=1024, 200 variants (400 passes):  25.4 s CPU   (~7.9 variants/CPU-s, 63 ms per pass)
# Window mode costs two forward passes per ALT allele (the REF window is shared only by alleles at the
# same position), linear in W; prefix mode costs one pass per (chunk − overlap) bases of reference
# covered, whatever the variant density.  Threads split the windows (one per thread, identical results).
set -eu
H=${1:-./hyenadna}
here=$(cd "$(dirname "$0")" && pwd)
M=${MODEL:-$here/../tests/data/hyenadna-tiny}
N=${N:-100000}; G=${GENOME:-2000000}; NW=${NW:-$N}
WINDOWS=${WINDOWS:-"128 256 512 1024"}; THREADS=${THREADS:-"1 2"}
OUT=${OUT:-$here/out/score_variants}
mkdir -p "$OUT"

# synthetic genome: two contigs of random bases (fixed seed), 60 per line
awk -v G="$G" 'BEGIN{srand(7); split("ACGT",b,""); for (c=1;c<=2;c++) { print ">chr" c; n=int(G/2); line="";
  for (i=0;i<n;i++) { line=line b[int(rand()*4)+1]; if (length(line)==60) { print line; line="" } } if (line!="") print line } }' \
  > "$OUT/genome.fa"
rm -f "$OUT/genome.fa.fai"
# random sorted VCF: 90% SNVs, 5% insertions, 5% deletions, at distinct positions; REF from the genome
INDELS=${INDELS:-0.1}
mkvcf() {   # mkvcf NVARIANTS FILE
  awk -v N="$1" -v G="$G" -v F="$INDELS" 'BEGIN{srand(11)}
    /^>/ { c=substr($1,2); next } { seq[c]=seq[c] $0 }
    END { split("ACGT",b,""); per=int(N/2); L=length(seq["chr1"]);
      print "##fileformat=VCFv4.2"; print "##contig=<ID=chr1,length=" L ">"; print "##contig=<ID=chr2,length=" length(seq["chr2"]) ">";
      print "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO";
      for (k=1;k<=2;k++) { c="chr" k; L=length(seq[c]); step=(L-20)/per;
        for (i=0;i<per;i++) { p=int(10+i*step+rand()*step*0.5); r=substr(seq[c],p,1); u=rand();
          if (u>=F) { do a=b[int(rand()*4)+1]; while (a==r); print c "\t" p "\t.\t" r "\t" a "\t.\t.\t." }
          else if (u<F/2) print c "\t" p "\t.\t" r "\t" r "AC\t.\t.\t."
          else print c "\t" p "\t.\t" substr(seq[c],p,3) "\t" r "\t.\t.\t." } } }' "$OUT/genome.fa" > "$2"
}
mkvcf "$N" "$OUT/in.vcf"
[ "$NW" = "$N" ] && cp "$OUT/in.vcf" "$OUT/inw.vcf" || mkvcf "$NW" "$OUT/inw.vcf"
"$H" score-variants -m "$M" -f "$OUT/genome.fa" --all-snvs -r chr1:1-10 -o /dev/null 2>/dev/null   # builds the .fai

printf 'mode\twindow\tthreads\tvariants\tseconds\tvariants_per_s\tforward_passes\tcpu_seconds\n'
run() {   # run MODE WINDOW THREADS VCF
  local t0 t1 n
  n=$(grep -vc '^#' "$4")
  t0=$(date +%s.%N)
  local tm=(); [ -x /usr/bin/time ] && tm=(/usr/bin/time -f 'cpu %U %S' -o "$OUT/time.$1.$2.$3")
  "${tm[@]}" "$H" score-variants -m "$M" -f "$OUT/genome.fa" --score "$1" -w "$2" --threads "$3" --no-version -O t \
    -o "$OUT/out.$1.$2.$3.tsv" "$4" 2> "$OUT/err.$1.$2.$3"
  t1=$(date +%s.%N)
  local cpu=""; [ -s "$OUT/time.$1.$2.$3" ] && cpu=$(awk '/^cpu/{print $2+$3}' "$OUT/time.$1.$2.$3")
  local fw; fw=$(grep -o '[0-9]* forward passes' "$OUT/err.$1.$2.$3" | cut -d' ' -f1)
  awk -v m="$1" -v w="$2" -v t="$3" -v n="$n" -v a="$t0" -v b="$t1" -v f="$fw" -v c="$cpu" \
    'BEGIN{s=b-a; printf "%s\t%s\t%s\t%d\t%.2f\t%.1f\t%s\t%s\n", m, w, t, n, s, n/s, f, c}'
}
for t in $THREADS; do run prefix 1024 "$t" "$OUT/in.vcf"; done
for w in $WINDOWS; do for t in $THREADS; do run window "$w" "$t" "$OUT/inw.vcf"; done; done
