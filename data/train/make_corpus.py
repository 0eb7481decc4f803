#!/usr/bin/env python3
"""Build the training corpus (DATA.md section 6(a)) from the raw files of fetch.sh.

Writes into WORK:
  corpus.tsv        record, label, group, length, train_len, val_len
  train.u8 / val.u8 token ids (uint8, A=7 C=8 G=9 T=10 N=11, other=6), records concatenated
  train.idx / val.idx  one line per record: record<TAB>group<TAB>offset<TAB>length
The held-out validation slice of every record is its LAST part: 2 % of the record, at least
4,096 bp, at most 25 % of the record. Training never sees it.
Usage: make_corpus.py RAWDIR WORKDIR
"""
import gzip, lzma, os, sys
import numpy as np

def read_fa(p):
    op = gzip.open if p.endswith('.gz') else lzma.open if p.endswith('.xz') else open
    name, buf = None, []
    with op(p, 'rt') as f:
        for line in f:
            if line.startswith('>'):
                if name:
                    yield name, ''.join(buf)
                name, buf = line[1:].split()[0], []
            else:
                buf.append(line.strip().upper())
    if name:
        yield name, ''.join(buf)

PLAN = [('hs37chrXtrunc.fa.gz', 'Homo_sapiens_chrX', 'human', (15_000_000, 25_000_000)),
        ('genome_1.fa.gz', 'Plasmodium_falciparum', 'eukaryote', None),
        ('ce2chrX.fa.gz', 'Caenorhabditis_elegans_chrX', 'eukaryote', (0, 6_000_000)),
        ('chr1.fa', 'Saccharomyces_cerevisiae', 'eukaryote', None),
        ('chr2.fa', 'Saccharomyces_cerevisiae', 'eukaryote', None),
        ('MG1655-K12.fasta.gz', 'Escherichia_coli', 'bacteria', None),
        ('MGH78578.fna.xz', 'Klebsiella_pneumoniae', 'bacteria', None),
        ('O395.fasta.gz', 'Vibrio_cholerae', 'bacteria', None),
        ('N315.fasta.gz', 'Staphylococcus_aureus', 'bacteria', None),
        ('G27.fasta.gz', 'Helicobacter_pylori', 'bacteria', None),
        ('GCF_000195955.2_ASM19595v2_genomic.fna', 'Mycobacterium_tuberculosis', 'bacteria', None),
        ('lambda_virus.fa.gz', 'Enterobacteria_phage_lambda', 'virus', None),
        ('MT-human.fa.gz', 'Homo_sapiens_chrM', 'organelle', None)]
PF_MAX = 5_000_000

LUT = np.full(256, 6, dtype=np.uint8)
for ch, v in zip(b'ACGTN', (7, 8, 9, 10, 11)):
    LUT[ch] = v
    LUT[ord(chr(ch).lower())] = v

def tokens(seq):
    return LUT[np.frombuffer(seq.encode('ascii'), dtype=np.uint8)]

def main():
    raw, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    tr, va, tri, vai, rows = [], [], [], [], []
    toff = voff = 0
    for fn, label, group, sl in PLAN:
        used = 0
        for name, seq in read_fa(os.path.join(raw, fn)):
            if sl:
                seq = seq[sl[0]:sl[1]]
            if label == 'Plasmodium_falciparum':
                if used >= PF_MAX:
                    break
                seq = seq[:PF_MAX - used]
            used += len(seq)
            rid = f'{label}|{name}'
            t = tokens(seq)
            nv = min(max(len(t) // 50, 4096), len(t) // 4)
            a, b = t[:len(t) - nv], t[len(t) - nv:]
            tr.append(a); va.append(b)
            tri.append(f'{rid}\t{group}\t{toff}\t{len(a)}\n'); toff += len(a)
            vai.append(f'{rid}\t{group}\t{voff}\t{len(b)}\n'); voff += len(b)
            rows.append(f'{rid}\t{label}\t{group}\t{len(t)}\t{len(a)}\t{len(b)}\n')
    np.concatenate(tr).tofile(os.path.join(work, 'train.u8'))
    np.concatenate(va).tofile(os.path.join(work, 'val.u8'))
    with open(os.path.join(work, 'train.idx'), 'w') as f:
        f.writelines(tri)
    with open(os.path.join(work, 'val.idx'), 'w') as f:
        f.writelines(vai)
    with open(os.path.join(work, 'corpus.tsv'), 'w') as f:
        f.write('record\tlabel\tgroup\tlength\ttrain_len\tval_len\n')
        f.writelines(rows)
    print(f'make_corpus: {len(rows)} records, train {toff} bp, val {voff} bp', file=sys.stderr)

if __name__ == '__main__':
    main()
