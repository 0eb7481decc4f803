#!/usr/bin/env python3
"""Write the example data of data/ from the raw files of fetch.sh (stdlib + bgzip/tabix/samtools).

  data/example.fa            100 records of 1,000 bp tiling human GRCh37 chr22:20,000,001-20,100,000
                             (hisat2 example window), record names in samtools region style
  data/example_ref.fa.gz     BGZF FASTA, contig `22` = GRCh37 chr22:1-20,100,000 in real coordinates:
  (+ .fai, .gzi)             bases 1-20,000,000 are N (not shipped), 20,000,001-20,100,000 the real window
  data/example.vcf.gz (+.tbi) the real genotyped sites of 10 donors (drop-seq-testdata) in that window;
                             REF alleles checked against the FASTA
  data/example_labels.fa     E. coli K-12 MG1655 200-bp windows, `label=coding` (inside a RefSeq CDS) or
                             `label=intergenic` (no annotated feature), `split=train` below 3.7 Mb else `test`
Usage: make_examples.py RAWDIR DATADIR
"""
import gzip, os, random, re, subprocess, sys

START, END, TILE = 20_000_001, 20_100_000, 1000


def wrap(s, n=60):
    return ''.join(s[i:i + n] + '\n' for i in range(0, len(s), n))


def chr22_window(raw):
    with open(os.path.join(raw, '22_20-21M.fa')) as f:
        hdr = f.readline()
        assert hdr.startswith('>22:20000001-21000000'), hdr
        seq = ''.join(l.strip() for l in f)
    return seq[START - 20_000_001:END - 20_000_000]


def write_example_fa(seq, out):
    with open(out + '.tmp', 'w') as f:
        for i in range(0, len(seq), TILE):
            a = START + i
            f.write(f'>22:{a}-{a + TILE - 1} Homo sapiens GRCh37 chromosome 22 (hisat2 example window)\n')
            f.write(wrap(seq[i:i + TILE]))
    os.replace(out + '.tmp', out)


def write_ref(seq, out):
    plain = out[:-3]
    with open(plain, 'w') as f:
        f.write('>22 Homo sapiens GRCh37 chromosome 22:1-20100000; only 20000001-20100000 is real sequence, '
                'the rest is N\n')
        full = 'N' * (START - 1) + seq
        for i in range(0, len(full), 60):
            f.write(full[i:i + 60] + '\n')
    for p in (out, out + '.fai', out + '.gzi'):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run(['bgzip', '-f', '-i', '-@', '1', plain], check=True)
    subprocess.run(['samtools', 'faidx', out], check=True)


def write_vcf(raw, seq, out):
    lines = []
    n = bad = 0
    with gzip.open(os.path.join(raw, '10_donors_chr22.selected_sites.vcf.gz'), 'rt') as f:
        for line in f:
            if line.startswith('##contig'):
                if line.startswith('##contig=<ID=22,'):
                    lines.append(line)
                continue
            if line.startswith('##'):
                if line.startswith('##GATKCommandLine') or line.startswith('##reference'):
                    continue
                lines.append(line)
                continue
            if line.startswith('#'):
                lines.append('##source_note=drop-seq-testdata 10_donors_chr22.selected_sites.vcf.gz, restricted to '
                             f'22:{START}-{END} by hyenadna data/train/make_examples.py\n')
                lines.append(line)
                continue
            c = line.split('\t', 5)
            pos = int(c[1])
            if c[0] != '22' or pos < START or pos + len(c[3]) - 1 > END:
                continue
            ref = seq[pos - START:pos - START + len(c[3])].upper()
            n += 1
            if ref != c[3].upper():
                bad += 1
                continue
            lines.append(line)
    assert bad == 0, f'{bad} REF mismatches'
    plain = out[:-3]
    with open(plain, 'w') as f:
        f.writelines(lines)
    subprocess.run(['bgzip', '-f', plain], check=True)
    subprocess.run(['tabix', '-f', '-p', 'vcf', out], check=True)
    print(f'make_examples: {n} variants, REF matches {n - bad}/{n}', file=sys.stderr)


def ecoli_labels(raw, out, n_train=300, n_test=100, W=200):
    feats, seq, inseq, inloc = [], [], False, False
    for line in gzip.open(os.path.join(raw, 'NC_000913.gbk.gz'), 'rt'):
        if line.startswith('ORIGIN'):
            inseq = True
            continue
        if line.startswith('//'):
            break
        if inseq:
            seq.append(re.sub(r'[^A-Za-z]', '', line))
            continue
        if line.startswith('     ') and line[5] != ' ':
            feats.append([line[5:21].strip(), line[21:].strip()])
            inloc = True
        elif line.startswith(' ' * 21):
            t = line.strip()
            if t.startswith('/'):
                inloc = False
            elif inloc:
                feats[-1][1] += t
    seq = ''.join(seq).upper()
    L = len(seq)
    cds, anyf = bytearray(L), bytearray(L)
    for key, loc in feats:
        if key == 'source':
            continue
        for a, b in re.findall(r'<?(\d+)\.\.>?(\d+)', loc):
            a, b = int(a) - 1, min(int(b), L)
            anyf[a:b] = b'\x01' * (b - a)
            if key == 'CDS':
                cds[a:b] = b'\x01' * (b - a)
    # non-overlapping 200-bp windows
    pos = [i for i in range(0, L - W, W) if sum(cds[i:i + W]) == W]
    neg = [i for i in range(0, L - W, W) if sum(anyf[i:i + W]) == 0]
    rng = random.Random(0)
    pick = []
    for lab, cand in (('coding', pos), ('intergenic', neg)):
        tr = [i for i in cand if i + W <= 3_700_000]
        te = [i for i in cand if i >= 3_700_000]
        pick += [(i, lab, 'train') for i in rng.sample(tr, min(n_train, len(tr)))]
        pick += [(i, lab, 'test') for i in rng.sample(te, min(n_test, len(te)))]
    pick.sort()
    with open(out + '.tmp', 'w') as f:
        for i, lab, split in pick:
            f.write(f'>NC_000913.3:{i + 1}-{i + W} label={lab} split={split}\n{seq[i:i + W]}\n')
    os.replace(out + '.tmp', out)
    c = {}
    for _, lab, split in pick:
        c[(lab, split)] = c.get((lab, split), 0) + 1
    print(f'make_examples: E. coli windows {sorted(c.items())}', file=sys.stderr)


def main():
    raw, data = sys.argv[1], sys.argv[2]
    seq = chr22_window(raw)
    assert len(seq) == END - START + 1
    write_example_fa(seq, os.path.join(data, 'example.fa'))
    write_ref(seq, os.path.join(data, 'example_ref.fa.gz'))
    write_vcf(raw, seq, os.path.join(data, 'example.vcf.gz'))
    ecoli_labels(raw, os.path.join(data, 'example_labels.fa'))


if __name__ == '__main__':
    main()
