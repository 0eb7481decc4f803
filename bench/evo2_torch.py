#!/usr/bin/env python3
"""evo2_torch.py -- the Evo 2 (StripedHyena 2) forward in plain PyTorch, written from the model's description
(docs/models.md §6: the same maths as the public vortex code's stateless path, full-length tensors, FFTs of
size 2L, SDPA attention), in float32 or bfloat16 (weights and activations cast; filters and FFTs in float32,
as vortex runs its BF16 path).  It loads the same model directory as hyenadna (model.safetensors +
config.yml, e.g. from bench/make_evo2) and is the baseline bench/bench_evo2.sh compares against, and a second
implementation to cross-check with (--check).

usage: evo2_torch.py MODEL_DIR LENGTH [--dtype float32|bfloat16] [--threads N] [--seed S] [--check OUT.safetensors]
prints: seconds=<forward wall> cpu_seconds=<user+sys of the forward> peak_rss_kb=<ru_maxrss> [check_rel_F=...]
(--check: OUT is `hyenadna forward --logits` on the same sequence, record name `rand`)
"""
import argparse, json, math, os, random, resource, struct, time

import torch
import torch.nn.functional as F
import yaml


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
    data = torch.from_file(path, shared=False, size=os.path.getsize(path), dtype=torch.uint8)
    base = 8 + n
    types = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "I32": torch.int32}
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = data[base + b: base + e].view(types[v["dtype"]]).reshape(v["shape"])
    return out


def rmsnorm(x, scale, eps):
    # eps outside the root (§6.4)
    return scale * (x / (x.norm(2, dim=-1, keepdim=True) * x.shape[-1] ** -0.5 + eps))


def fft_causal_conv(u, h):
    """u [C, L], h [C, <=L] (tap 0 on the current position); FFT of size 2L in float32"""
    L = u.shape[-1]
    n = 2 * L
    y = torch.fft.irfft(torch.fft.rfft(u.float(), n=n) * torch.fft.rfft(h.float(), n=n), n=n)[..., :L]
    return y


class Evo2:
    def __init__(self, d, dtype):
        with open(os.path.join(d, "config.yml")) as f:
            self.c = yaml.safe_load(f)
        w = load_safetensors(os.path.join(d, "model.safetensors"))
        self.dt = dtype
        # everything in the compute dtype except the HCL poles and residues (float32, as vortex keeps them)
        self.w = {k: (v if ("log_poles" in k or "residues" in k) else v.to(dtype)) for k, v in w.items()}
        c = self.c
        self.H, self.nh = c["hidden_size"], c["num_attention_heads"]
        self.hd = self.H // self.nh
        self.eps = float(c.get("eps", 1e-6))
        self.kind = {}
        for key, t in (("hcs_layer_idxs", "S"), ("hcm_layer_idxs", "M"), ("hcl_layer_idxs", "L"), ("attn_layer_idxs", "A")):
            for k in c[key]:
                self.kind[k] = t
        self.scale = float(c.get("rotary_emb_scaling_factor", 1.0)) if c.get("use_interpolated_rotary_pos_emb") else 1.0

    def W(self, name):
        return self.w[name]

    def hyena(self, k, u):
        H, L, W = self.H, u.shape[0], self.W
        p = f"blocks.{k}."
        z = rmsnorm(u, W(p + "pre_norm.scale"), self.eps) @ W(p + "projections.weight").T       # [L, 3H]
        z = z.T.float()                                                                        # [3H, L]
        sw = W(p + "filter.short_filter_weight").float()
        z = F.conv1d(z[None], sw, padding=sw.shape[-1] - 1, groups=3 * H)[0, :, :L]           # cross-correlation
        x2, x1, v = z[0::3], z[1::3], z[2::3]                                                  # de-interleave
        x1v = x1 * v
        t = self.kind[k]
        if t == "S":
            h = W(p + "filter.h").float()
            h = h.repeat_interleave(H // h.shape[0], 0)
            y = F.conv1d(x1v[None], h, padding=h.shape[-1] - 1, groups=H)[0, :, :L]
        elif t == "M":
            h = W(p + "filter.h").float()[:, 0, :L]
            h = h.repeat_interleave(H // h.shape[0], 0)
            y = fft_causal_conv(x1v, h) + W(p + "filter.D").float()[:, None] * x1v
        else:
            lp, R = W(p + "filter.log_poles").float(), W(p + "filter.residues").float()
            tt = torch.arange(L, dtype=torch.float32)
            h = (R[..., None] * torch.exp(lp * tt)).sum(1)                                    # [H, L]
            y = fft_causal_conv(x1v, h) + W(p + "filter.D").float()[:, None] * x1v
        y = (x2 * y).T.to(self.dt)
        return u + y @ W(p + "out_filter_dense.weight").T + W(p + "out_filter_dense.bias")

    def attention(self, k, u):
        L, H, nh, hd, W = u.shape[0], self.H, self.nh, self.hd, self.W
        p = f"blocks.{k}.inner_mha_cls."
        Wqkv = W(p + "Wqkv.weight")
        if self.c.get("column_split", True):   # stored per head [q, k, v]: to [q | k | v]
            Wqkv = Wqkv.reshape(nh, 3, hd, H).transpose(0, 1).reshape(3 * H, H)
        qkv = rmsnorm(u, W(f"blocks.{k}.pre_norm.scale"), self.eps) @ Wqkv.T
        q, kk, v = (x.reshape(L, nh, hd).transpose(0, 1) for x in qkv.split(H, dim=-1))       # [nh, L, hd]
        inv = W(p + "rotary_emb.inv_freq").float()
        ang = (torch.arange(L, dtype=torch.float64)[:, None] / self.scale) * inv.double()[None]
        cos, sin = ang.cos().float(), ang.sin().float()

        def rope(x):   # GPT-NeoX halves
            x = x.float()
            a, b = x[..., : hd // 2], x[..., hd // 2:]
            return torch.cat([a * cos - b * sin, b * cos + a * sin], -1).to(self.dt)

        o = F.scaled_dot_product_attention(rope(q), rope(kk), v, is_causal=True)
        o = o.transpose(0, 1).reshape(L, H)
        return u + o @ W(p + "out_proj.weight").T + W(p + "out_proj.bias")

    def mlp(self, k, u):
        p, W = f"blocks.{k}.", self.W
        x = rmsnorm(u, W(p + "post_norm.scale"), self.eps)
        a, b = x @ W(p + "mlp.l1.weight").T, x @ W(p + "mlp.l2.weight").T
        if k == 0 or not self.c.get("evo2_style_activations", False):
            a = F.gelu(a)
        return u + (a * b) @ W(p + "mlp.l3.weight").T

    @torch.no_grad()
    def forward(self, ids):
        E = self.W("embedding_layer.weight")
        u = E[ids]
        for k in range(self.c["num_layers"]):
            u = self.attention(k, u) if self.kind[k] == "A" else self.hyena(k, u)
            u = self.mlp(k, u)
        return rmsnorm(u, self.W("norm.scale"), self.eps) @ E.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("length", type=int)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--check", default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    m = Evo2(a.model, getattr(torch, a.dtype))
    random.seed(a.length if a.seed is None else a.seed)   # the same DNA as bench_evo2.sh writes
    s = "".join(random.choice("ACGT") for _ in range(a.length))
    ids = torch.tensor(list(s.encode()), dtype=torch.long)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    logits = m.forward(ids)
    t1, r1 = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    msg = f"seconds={t1 - t0:.3f} cpu_seconds={cpu:.3f} peak_rss_kb={r1.ru_maxrss}"
    if a.check:
        ref = load_safetensors(a.check)["logits.rand"].float()
        got = logits.float()
        msg += f" check_rel_F={float((got - ref).norm() / ref.norm()):.3g}"
    print(msg)


if __name__ == "__main__":
    main()
