#!/usr/bin/env python3
"""Evaluate a HyenaDNA model with the C binary (`hyenadna forward --logits`), not PyTorch, against
uniform (2 bits) and order-k Markov baselines (k = 2, 4, 6, 8) fitted on the same training corpus.

Sets: the held-out validation slice of every corpus record (grouped), and genomes the corpus does not
contain (see SETS below). Windows of 1,024 bases with stride 512; every base is scored once, with at
least 512 bases of left context except in the first window of a sequence. Scored positions: the target
and its 8 preceding bases are all A/C/G/T (the same positions for every model). The model's probability
is its softmax over the four base rows (ids 7-10) of the 16 logits.
Markov: counts over both strands of the training split, add-1/2 smoothing.
By default at most about --cap bases are scored per validation set (the first cap/n bases of each of its n
records), because the C forward runs on a shared 2-core machine; --cap 0 scores everything.
Usage: evaluate.py [--hyenadna ./hyenadna] [--model data/models/default] [--work data/train/work]
Writes WORK/eval.tsv and WORK/eval.md (markdown table) and prints the table.
"""
import argparse, gzip, lzma, math, os, subprocess, sys, tempfile, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hdmodel
from make_corpus import read_fa, tokens

W, S, KMAX = 1024, 512, 8
CODE = np.full(256, 255, dtype=np.uint8)
CODE[7], CODE[8], CODE[9], CODE[10] = 0, 1, 2, 3

# unseen genomes: (label, file in RAW, record filter or None, list of (start, end) slices or None = whole)
SETS = [
    ('human chr20 (GRCh37; chromosome not in corpus): 10.000-10.025, 25.000-25.025, 40.000-40.025, 55.000-55.025 Mb',
     '20.fa.gz', None,
     [(10_000_000, 10_025_000), (25_000_000, 25_025_000), (40_000_000, 40_025_000), (55_000_000, 55_025_000)]),
    ('E. coli 536 (strain not in corpus): 2.0-2.1 Mb', 'NC_008253.fna.gz', None, [(2_000_000, 2_100_000)]),
    ('C. trachomatis (phylum not in corpus): 0-0.1 Mb', 'ct.fasta.gz', None, [(0, 100_000)]),
    ('M. leprae TN (species not in corpus): 1.0-1.1 Mb', 'GCF_000195855.1_ASM19585v1_genomic.fna', None,
     [(1_000_000, 1_100_000)]),
]


def codes_of(t):
    return CODE[t]


def kmer_index(c, k):
    """index of the (k+1)-mer ending at each position i >= k (context c[i-k..i-1], base c[i]), and validity."""
    n = len(c)
    bad = (c == 255).astype(np.int32)
    cb = np.concatenate([[0], np.cumsum(bad)])
    i = np.arange(k, n)
    valid = (cb[i + 1] - cb[i - k]) == 0
    idx = np.zeros(n - k, dtype=np.int64)
    cc = np.where(c == 255, 0, c).astype(np.int64)
    for j in range(k + 1):
        idx = (idx << 2) | cc[j:n - k + j]
    return idx, valid


def fit_markov(work, k):
    toks = np.fromfile(os.path.join(work, 'train.u8'), dtype=np.uint8)
    counts = np.zeros(4 ** (k + 1), dtype=np.float64)
    with open(os.path.join(work, 'train.idx')) as f:
        for line in f:
            _, _, off, n = line.rstrip('\n').split('\t')
            c = codes_of(toks[int(off):int(off) + int(n)])
            rc = np.where(c == 255, 255, 3 - c)[::-1].copy()
            for cs in (c, rc):
                if len(cs) <= k:
                    continue
                idx, valid = kmer_index(cs, k)
                counts += np.bincount(idx[valid], minlength=4 ** (k + 1))
    counts = counts.reshape(-1, 4) + 0.5
    return np.log2(counts / counts.sum(1, keepdims=True)).reshape(-1)


def scored_mask(c):
    """positions p >= 8 whose target and 8 preceding bases are all A/C/G/T."""
    m = np.zeros(len(c), dtype=bool)
    if len(c) > KMAX:
        _, valid = kmer_index(c, KMAX)
        m[KMAX:] = valid
    return m


def markov_bits(c, mask, logp, k):
    idx, _ = kmer_index(c, k)
    full = np.zeros(len(c))
    full[k:] = -logp[idx]
    return full[mask]


def windows(n):
    """(start, first scored target, end) per window; targets p are scored with logits at p - start - 1."""
    out, done = [], 1
    s = 0
    while done < n:
        if s + W >= n:
            s = max(0, n - W)
        e = min(s + W, n)
        out.append((s, done, e))
        done = e
        s += S
    return out


def model_bits(hyenadna, model, c_tok, mask, tmp, threads):
    """-log2 p(base) per scored position, from `hyenadna forward --logits` on windows of the sequence."""
    n = len(c_tok)
    wins = windows(n)
    res = np.zeros(n)
    CH = 400
    for j0 in range(0, len(wins), CH):
        chunk = wins[j0:j0 + CH]
        fa = os.path.join(tmp, 'win.fa')
        st = os.path.join(tmp, 'win.safetensors')
        inv = np.array(list('NNNNNNNACGTN'))
        with open(fa, 'w') as f:
            for j, (s, _, e) in enumerate(chunk):
                t = c_tok[s:e]
                t = np.where((t >= 7) & (t <= 11), t, 11)
                f.write(f'>w{j0 + j}\n{"".join(inv[t])}\n')
        subprocess.run([hyenadna, 'forward', '--logits', '--no-hidden', '-@', str(threads), '-m', model,
                        '-o', st, fa], check=True)
        lg = hdmodel.read_safetensors(st)
        for j, (s, d, e) in enumerate(chunk):
            x = lg[f'logits.w{j0 + j}'].numpy().astype(np.float64)[:, 7:11]
            x = x - x.max(1, keepdims=True)
            lp = (x - np.log(np.exp(x).sum(1, keepdims=True))) / math.log(2)   # [len, 4]
            p = np.arange(d, e)
            tgt = CODE[c_tok[p]]
            ok = tgt != 255
            v = np.zeros(len(p))
            v[ok] = -lp[p[ok] - s - 1, tgt[ok]]
            res[p] = v
    return res[mask]


def load_sets(work, raw):
    sets = []
    vt = np.fromfile(os.path.join(work, 'val.u8'), dtype=np.uint8)
    groups = {}
    with open(os.path.join(work, 'val.idx')) as f:
        for line in f:
            name, group, off, n = line.rstrip('\n').split('\t')
            groups.setdefault(group, []).append(vt[int(off):int(off) + int(n)])
    for g in ['human', 'bacteria', 'eukaryote', 'virus', 'organelle']:
        if g in groups:
            sets.append((f'held-out {g} (corpus validation slices)', groups[g], True))
    for label, fn, rec, sl in SETS:
        seqs = [tokens(s) for name, s in read_fa(os.path.join(raw, fn)) if rec is None or name == rec]
        if sl:
            seqs = [seqs[0][a:b] for a, b in sl]
        sets.append((label, seqs, False))
    return sets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--hyenadna', default='./hyenadna')
    ap.add_argument('--model', default='data/models/default')
    ap.add_argument('--work', default='data/train/work')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--cap', type=int, default=100_000,
                    help='score at most about this many bases per set, split evenly over its sequences (0 = all)')
    a = ap.parse_args()
    raw = os.path.join(a.work, 'raw')
    t0 = time.time()
    logps = {}
    for k in (2, 4, 6, 8):
        cache = os.path.join(a.work, f'markov{k}.npy')
        if not os.path.exists(cache):
            np.save(cache + '.tmp.npy', fit_markov(a.work, k))
            os.replace(cache + '.tmp.npy', cache)
        logps[k] = np.load(cache)
    print(f'# Markov fitted in {time.time() - t0:.0f}s', file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, seqs, capped in load_sets(a.work, raw):
            t1 = time.time()
            tot = {m: 0.0 for m in ['model', 2, 4, 6, 8]}
            npos = 0
            for t in seqs:
                if a.cap and capped:
                    t = t[:max(2 * W, -(-a.cap // len(seqs)))]
                c = CODE[t]
                mask = scored_mask(c)
                if not mask.any():
                    continue
                npos += int(mask.sum())
                tot['model'] += model_bits(a.hyenadna, a.model, t, mask, tmp, a.threads).sum()
                for k in (2, 4, 6, 8):
                    tot[k] += markov_bits(c, mask, logps[k], k).sum()
            r = {m: v / npos for m, v in tot.items()}
            rows.append((label, npos, r))
            print(f'# {label}: {npos} bases, model {r["model"]:.4f}, markov8 {r[8]:.4f} ({time.time() - t1:.0f}s)',
                  file=sys.stderr, flush=True)
    hdr = '| set | bases scored | uniform | Markov k=2 | k=4 | k=6 | k=8 | **HyenaDNA (this model)** |\n' \
          '|---|---:|---:|---:|---:|---:|---:|---:|\n'
    md = hdr
    tsv = 'set\tbases\tuniform\tmarkov2\tmarkov4\tmarkov6\tmarkov8\tmodel\n'
    for label, npos, r in rows:
        best = min(r[k] for k in (2, 4, 6, 8))
        mark = '**' if r['model'] < best else ''
        md += (f'| {label} | {npos:,} | 2.000 | {r[2]:.3f} | {r[4]:.3f} | {r[6]:.3f} | {r[8]:.3f} | '
               f'{mark}{r["model"]:.3f}{mark} |\n')
        tsv += f'{label}\t{npos}\t2.0\t{r[2]:.5f}\t{r[4]:.5f}\t{r[6]:.5f}\t{r[8]:.5f}\t{r["model"]:.5f}\n'
    with open(os.path.join(a.work, 'eval.md'), 'w') as f:
        f.write(md)
    with open(os.path.join(a.work, 'eval.tsv'), 'w') as f:
        f.write(tsv)
    print(md)


if __name__ == '__main__':
    main()
