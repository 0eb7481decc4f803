#!/usr/bin/env bash
# classify_genomes.sh -- accuracy of hyenadna classify (context, centroid, logistic, kmer) at 4, 16 and
# 64 shots per class on real DNA: 200-bp windows of phage lambda (bowtie2-examples) against E. coli K-12
# MG1655 (ragout-examples) and against human chrM (minimap2), all from Debian packages.
# Usage: bench/classify_genomes.sh [MODEL] [WORKDIR]   (needs apt-get download, python3; no install)
set -eu
H=${HYENADNA:-$(dirname "$0")/../hyenadna}
M=${1:-$(dirname "$0")/../tests/data/hyenadna-tiny}
D=${2:-bench/out/classify}
mkdir -p "$D"; cd "$D"
debfile() { d=$(mktemp -d); (cd "$d" && apt-get download -q "$1" >/dev/null 2>&1) && dpkg-deb --fsys-tarfile "$d/$1"_*.deb | tar -xO ".$2" > "$3"; rm -rf "$d"; }
[ -s lambda.fa.gz ] || debfile bowtie2-examples /usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz lambda.fa.gz
[ -s ecoli.fa.gz ] || debfile ragout-examples /usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz ecoli.fa.gz
[ -s mt.fa.gz ] || debfile minimap2 /usr/share/doc/minimap2/test/MT-human.fa.gz mt.fa.gz
python3 - <<'PY'
import gzip, random
def rd(p): return ''.join(l.strip() for l in gzip.open(p, 'rt') if not l.startswith('>')).upper()
W = 200
def split(s, ntr, nte, rng):
    st = list(range(0, len(s) - W, W)); rng.shuffle(st)   # disjoint, non-overlapping windows
    return [s[i:i+W] for i in st[:ntr]], [s[i:i+W] for i in st[ntr:ntr+nte]]
lam = rd('lambda.fa.gz')
for other, lab, ntr, nte, lte, seed in (('ecoli.fa.gz', 'ecoli', 100, 100, 100, 7), ('mt.fa.gz', 'chrM', 64, 18, 50, 11)):
    rng = random.Random(seed)
    ltr, lt = split(lam, max(ntr, 64), lte, rng); otr, ot = split(rd(other), ntr, nte, rng)
    with open(f'train_{lab}.tsv', 'w') as o:
        o.writelines(f'lambda\t{x}\n' for x in ltr); o.writelines(f'{lab}\t{x}\n' for x in otr)
    with open(f'test_{lab}.fa', 'w') as o:
        o.writelines(f'>l{i} label=lambda\n{x}\n' for i, x in enumerate(lt)); o.writelines(f'>o{i} label={lab}\n{x}\n' for i, x in enumerate(ot))
PY
printf 'task\tshots\tseed\tmethod\taccuracy\tmcc\tseconds\n'
for task in ecoli chrM; do
  for shots in 4 16 64; do
    for seed in 1 2 3; do
      for m in kmer centroid logistic context; do
        [ $m = context ] && [ $seed != 1 ] && continue
        t0=$(date +%s.%N)
        r=$("$H" classify -m "$M" --method $m --shots $shots --seed $seed --train train_$task.tsv test_$task.fa \
              2>&1 >/dev/null | sed -n 's/.*accuracy \([0-9.]*\).*MCC \([-0-9.]*\).*/\1\t\2/p')
        printf '%s\t%s\t%s\t%s\t%s\t%.1f\n' $task $shots $seed $m "$r" "$(echo "$(date +%s.%N) - $t0" | bc)"
      done
    done
  done
done
