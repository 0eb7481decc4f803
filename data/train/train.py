#!/usr/bin/env python3
"""Train the default tiny HyenaDNA (d_model 128, 2 layers, d_inner 512, max_seq_len 1026) on the corpus
of make_corpus.py: next-base prediction on random 1,024-base windows, reverse-complement augmentation
(p = 0.5), AdamW, linear warm-up then cosine decay over --steps. Seeded: the batch of step s depends
only on (--seed, s), so a run resumed from its checkpoint sees exactly the batches it would have seen.
Resumable: WORK/ckpt.pt is written every --ckpt-every steps and at the end (or at --time-budget).
Logs one line per --log-every steps to stdout: step, train loss (bits/base), lr, elapsed; and the
validation bits/base per group every --val-every steps.
"""
import argparse, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hdmodel

COMP = np.arange(256, dtype=np.uint8)
COMP[7], COMP[8], COMP[9], COMP[10] = 10, 9, 8, 7    # A<->T, C<->G; N and others unchanged


def load_split(work, split):
    toks = np.fromfile(os.path.join(work, split + '.u8'), dtype=np.uint8)
    recs = []
    with open(os.path.join(work, split + '.idx')) as f:
        for line in f:
            name, group, off, n = line.rstrip('\n').split('\t')
            recs.append((name, group, int(off), int(n)))
    return toks, recs


def batch(toks, recs, cum, rng, bsz, L):
    """bsz windows of L+1 tokens; record chosen with probability proportional to its length."""
    out = np.empty((bsz, L + 1), dtype=np.uint8)
    for i in range(bsz):
        while True:
            r = int(np.searchsorted(cum, rng.integers(cum[-1]), side='right'))
            _, _, off, n = recs[r]
            if n > L + 1:
                break
        s = off + int(rng.integers(n - L - 1))
        w = toks[s:s + L + 1]
        if rng.random() < 0.5:
            w = COMP[w[::-1]]
        out[i] = w
    return torch.from_numpy(out.astype(np.int64))


def bits(logits, tgt):
    """mean bits/base over A/C/G/T targets, softmax over all 16 rows (as the reference cross-entropy)."""
    mask = (tgt >= 7) & (tgt <= 10)
    ce = F.cross_entropy(logits.reshape(-1, 16), tgt.reshape(-1), reduction='none').reshape(tgt.shape)
    return (ce * mask).sum() / mask.sum().clamp(min=1) / math.log(2)


def val_windows(vtoks, vrecs, L, per_group):
    """Fixed validation windows: per group, up to per_group non-overlapping windows spread over its records."""
    groups = {}
    for name, group, off, n in vrecs:
        for s in range(off, off + n - L - 1 + 1, L + 1):
            groups.setdefault(group, []).append(s)
    out = {}
    for g, starts in groups.items():
        idx = np.linspace(0, len(starts) - 1, min(per_group, len(starts))).round().astype(int)
        out[g] = torch.from_numpy(np.stack([vtoks[starts[i]:starts[i] + L + 1] for i in sorted(set(idx))]).astype(np.int64))
    return out


@torch.no_grad()
def validate(model, vw):
    model.eval()
    res = {}
    for g, w in vw.items():
        tot = 0.0
        for j in range(0, len(w), 8):
            x = w[j:j + 8]
            tot += bits(model(x[:, :-1]), x[:, 1:]).item() * len(x)
        res[g] = tot / len(w)
    model.train()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', default='data/train/work')
    ap.add_argument('--out', default='data/models/default')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seqlen', type=int, default=1024)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--wd', type=float, default=0.1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--time-budget', type=float, default=0, help='stop (resumably) after this many seconds')
    ap.add_argument('--log-every', type=int, default=10)
    ap.add_argument('--val-every', type=int, default=250)
    ap.add_argument('--val-per-group', type=int, default=16)
    ap.add_argument('--ckpt-every', type=int, default=50)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    toks, recs = load_split(a.work, 'train')
    cum = np.cumsum([r[3] for r in recs])
    vtoks, vrecs = load_split(a.work, 'val')
    vw = val_windows(vtoks, vrecs, a.seqlen, a.val_per_group)
    model = hdmodel.HyenaDNA()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and 'freq' not in n]
    nodecay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and 'freq' not in n)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': a.wd}, {'params': nodecay, 'weight_decay': 0.0}],
                            lr=a.lr, betas=(0.9, 0.98))
    ck = os.path.join(a.work, 'ckpt.pt')
    step, hist = 0, []
    if os.path.exists(ck):
        st = torch.load(ck)
        model.load_state_dict(st['model'])
        opt.load_state_dict(st['opt'])
        step, hist = st['step'], st.get('hist', [])
        print(f'# resumed from {ck} at step {step}', flush=True)

    def save():
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'hist': hist,
                    'args': vars(a)}, ck + '.tmp')
        os.replace(ck + '.tmp', ck)

    def lr_at(s):
        if s < a.warmup:
            return a.lr * (s + 1) / a.warmup
        p = min(1.0, (s - a.warmup) / max(1, a.steps - a.warmup))
        return a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    t0 = time.time()
    acc, nacc = 0.0, 0
    print(f'# params {sum(p.numel() for p in model.parameters())}, train {cum[-1]} bp, steps {a.steps}, '
          f'batch {a.batch} x {a.seqlen}', flush=True)
    while step < a.steps:
        rng = np.random.default_rng([a.seed, step])
        x = batch(toks, recs, cum, rng, a.batch, a.seqlen)
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        loss = bits(model(x[:, :-1]), x[:, 1:])
        opt.zero_grad(set_to_none=True)
        (loss * math.log(2)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        acc += loss.item(); nacc += 1
        if step % a.log_every == 0:
            print(f'step {step} train_bits {acc / nacc:.4f} lr {lr_at(step - 1):.2e} t {time.time() - t0:.0f}s', flush=True)
            hist.append({'step': step, 'train_bits': acc / nacc})
            acc, nacc = 0.0, 0
        if step % a.val_every == 0 or step == a.steps:
            v = validate(model, vw)
            hist.append({'step': step, 'val_bits': v})
            print(f'val {step} ' + ' '.join(f'{g} {b:.4f}' for g, b in sorted(v.items())), flush=True)
        if step % a.ckpt_every == 0 or step == a.steps:
            save()
        if a.time_budget and time.time() - t0 > a.time_budget:
            print(f'# time budget reached at step {step}; checkpoint saved, rerun to continue', flush=True)
            break
    save()
    hdmodel.export(model, a.out, {'format': 'pt', 'trained_steps': step, 'recipe': 'data/train/run.sh',
                                  'seed': a.seed})
    print(f'# exported {a.out} at step {step}', flush=True)


if __name__ == '__main__':
    main()
