#!/usr/bin/env python3
"""Check that the C implementation (`hyenadna forward --logits`) and the PyTorch training model agree on
the exported model: logits and hidden states on validation windows of every corpus group (1,024 bases)
plus shorter prefixes. Pass bar (fixtures' README): rel_F <= 1e-4 and max_abs <= 1e-3 per tensor.
Usage: verify.py [--hyenadna ./hyenadna] [--model data/models/default] [--work data/train/work]
Exit status 0 when every tensor passes, 1 otherwise.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hdmodel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--hyenadna', default='./hyenadna')
    ap.add_argument('--model', default='data/models/default')
    ap.add_argument('--work', default='data/train/work')
    a = ap.parse_args()
    torch.set_num_threads(1)
    vt = np.fromfile(os.path.join(a.work, 'val.u8'), dtype=np.uint8)
    recs = {}
    with open(os.path.join(a.work, 'val.idx')) as f:
        for line in f:
            name, group, off, n = line.rstrip('\n').split('\t')
            recs.setdefault(group, (int(off), int(n)))
    seqs = {}
    for g, (off, n) in sorted(recs.items()):
        t = vt[off + n // 2 - 512: off + n // 2 + 512]
        seqs[f'val_{g}'] = t
    seqs['val_human_prefix_100'] = seqs['val_human'][:100]
    seqs['val_bacteria_prefix_1'] = seqs['val_bacteria'][:1]
    m = hdmodel.HyenaDNA()
    m.load_hf(hdmodel.read_safetensors(os.path.join(a.model, 'model.safetensors')))
    m.eval()
    inv = np.array(list('NNNNNNNACGTN'))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        fa, st = os.path.join(tmp, 'v.fa'), os.path.join(tmp, 'v.safetensors')
        with open(fa, 'w') as f:
            for k, t in seqs.items():
                f.write(f'>{k}\n{"".join(inv[t])}\n')
        subprocess.run([a.hyenadna, 'forward', '--logits', '-m', a.model, '-o', st, fa], check=True)
        c = hdmodel.read_safetensors(st)
        print(f'{"record":24s} {"L":>5s} {"tensor":7s} {"rel_F":>10s} {"max_abs":>10s}')
        for k, t in seqs.items():
            ids = torch.from_numpy(t.astype(np.int64))[None]
            if not torch.equal(c['tokens.' + k].long(), ids[0]):
                print(f'{k}: token ids differ'); ok = False
            with torch.no_grad():
                ref = {'logits': m(ids)[0], 'hidden': m(ids, hidden=True)[0]}
            for what, e in ref.items():
                x = c[f'{what}.{k}']
                rel = ((x - e).norm() / e.norm()).item()
                mx = (x - e).abs().max().item()
                good = rel <= 1e-4 and mx <= 1e-3
                ok &= good
                print(f'{k:24s} {len(t):5d} {what:7s} {rel:10.2e} {mx:10.2e} {"ok" if good else "FAIL"}')
    print('verify: PASS' if ok else 'verify: FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
