#!/usr/bin/python3
"""hyena_torch.py -- HyenaDNA in PyTorch, written the way the public reference (standalone_hyenadna.py,
docs/models.md §3.4) computes it: full-length tensors, rfft of size 2L per forward, implicit filter MLP over
all positions, tanh GELU.  It loads the same config.json + model.safetensors as hyenadna and is the
baseline the benchmark compares against (and a second implementation for cross-checks).

usage: hyena_torch.py MODEL_DIR LENGTH [--threads N] [--seed S] [--out hidden.npy]
prints: seconds=<forward wall time> peak_rss_kb=<ru_maxrss>
"""
import argparse, json, math, os, resource, struct, sys, time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
    data = torch.from_file(path, shared=False, size=os.path.getsize(path), dtype=torch.uint8)
    base = 8 + n
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        b, e = v["data_offsets"]
        out[k] = data[base + b: base + e].view(torch.float32).reshape(v["shape"])
    return out


def canon(name):
    for p in ("hyena.backbone.", "model.backbone.", "backbone."):
        if name.startswith(p):
            return name[len(p):]
    return name.replace("model.lm_head", "lm_head")


class Hyena:
    def __init__(self, d):
        self.cfg = json.load(open(os.path.join(d, "config.json")))
        self.w = {canon(k): v for k, v in load_safetensors(os.path.join(d, "model.safetensors")).items()}
        self.n_layer = self.cfg["n_layer"]
        self.D = self.cfg["d_model"]

    def filt(self, i, L):
        p = f"layers.{i}.mixer.filter_fn."
        w = self.w
        z = w[p + "pos_emb.z"][0, :L]
        t = w[p + "pos_emb.t"][0, :L]
        freq = w[p + "implicit_filter.1.freq"]
        h = torch.sin(freq * F.linear(z, w[p + "implicit_filter.0.weight"], w[p + "implicit_filter.0.bias"]))
        h = torch.sin(freq * F.linear(h, w[p + "implicit_filter.2.weight"], w[p + "implicit_filter.2.bias"]))
        h = torch.sin(freq * F.linear(h, w[p + "implicit_filter.4.weight"], w[p + "implicit_filter.4.bias"]))
        h = F.linear(h, w[p + "implicit_filter.6.weight"])
        decay = torch.exp(-t * w[p + "modulation.deltas"][0].abs())
        return h * (decay + 0.05)                                   # [L, D]

    def mixer(self, i, u):
        w = self.w
        p = f"layers.{i}.mixer."
        L = u.shape[0]
        x = F.linear(u, w[p + "in_proj.weight"], w[p + "in_proj.bias"]).t().unsqueeze(0)   # [1, 3D, L]
        x = F.conv1d(x, w[p + "short_filter.weight"], w[p + "short_filter.bias"], padding=2, groups=3 * self.D)[..., :L]
        x0, x1, v = x.split(self.D, dim=1)
        k = self.filt(i, L).t()                                     # [D, L]
        v = v * x1
        n = 2 * L
        K = torch.fft.rfft(k, n=n) / n
        U = torch.fft.rfft(v, n=n)
        y = torch.fft.irfft(U * K, n=n, norm="forward")[..., :L]
        y = y + v * w[p + "filter_fn.bias"].unsqueeze(-1)
        y = (y * x0)[0].t()                                         # [L, D]
        return F.linear(y, w[p + "out_proj.weight"], w[p + "out_proj.bias"])

    def forward(self, ids):
        w = self.w
        r = w["embeddings.word_embeddings.weight"][ids]
        for i in range(self.n_layer):
            p = f"layers.{i}."
            r = r + self.mixer(i, F.layer_norm(r, (self.D,), w[p + "norm1.weight"], w[p + "norm1.bias"], 1e-5))
            h = F.layer_norm(r, (self.D,), w[p + "norm2.weight"], w[p + "norm2.bias"], 1e-5)
            h = F.gelu(F.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]), approximate="tanh")
            r = r + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
        return F.layer_norm(r, (self.D,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("length", type=int)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fasta", help="write the random input here as FASTA (for hyenadna)")
    ap.add_argument("--out", help="write the hidden states as raw float32")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(a.seed)
    ids = torch.randint(7, 11, (a.length,), generator=g)
    if a.fasta:
        with open(a.fasta, "w") as f:
            f.write(">rand\n" + "".join("ACGT"[i - 7] for i in ids.tolist()) + "\n")
    m = Hyena(a.model)
    with torch.no_grad():
        t0, c0 = time.time(), time.process_time()
        hid = m.forward(ids)
        dt, dc = time.time() - t0, time.process_time() - c0
    if a.out:
        hid.numpy().astype("float32").tofile(a.out)
    print(f"seconds={dt:.3f} cpu_seconds={dc:.3f} peak_rss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main()
