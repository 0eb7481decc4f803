#!/usr/bin/python3
"""bench_caduceus.py -- `hyenadna forward` vs a PyTorch implementation of the same Caduceus model.

Writes a random-weight Caduceus checkpoint of the released 131k shape (d_model 256, 16 layers, PH by
default, --rcps for PS) as config.json + model.safetensors, random DNA of each length, and times

  * `hyenadna forward -@T --logits --no-hidden` under /usr/bin/time -v, and
  * the PyTorch model (docs/models.md §4, written here: in_proj shared by both directions, nn.functional
    conv1d, and the sequential reference selective scan of mamba-ssm's selective_scan_ref, run over
    time chunks so that memory stays bounded) in a child process under /usr/bin/time -v,

reporting wall seconds, peak RSS and the ratio, and the rel. Frobenius difference of the logits.

Usage: bench/bench_caduceus.py [--hyenadna ./hyenadna] [--lengths 1024,32768,131072] [--threads 2]
                               [--torch-max-len 131072] [--rcps] [--workdir bench/out/caduceus] [--model-only]
(bench/bench_caduceus.sh uses --model-only for its model and prints the table with floors.)
Needs Debian's python3-torch and python3-numpy (no other packages).
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time

import numpy as np

COMP = [0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15]


def config(d_model, n_layer, rcps):
    return {
        "architectures": ["CaduceusForMaskedLM"], "model_type": "caduceus", "d_model": d_model,
        "n_layer": n_layer, "vocab_size": 16, "pad_vocab_size_multiple": 8,
        "ssm_cfg": {"d_state": 16, "d_conv": 4, "expand": 2, "dt_rank": "auto", "bias": False, "conv_bias": True},
        "rms_norm": True, "fused_add_norm": True, "residual_in_fp32": False, "norm_epsilon": 1e-5,
        "bidirectional": True, "bidirectional_strategy": "add", "bidirectional_weight_tie": True, "rcps": rcps,
        "complement_map": {str(i): c for i, c in enumerate(COMP)},
    }


def make_weights(d_model, n_layer, rcps, seed=1):
    rng = np.random.default_rng(seed)
    D, E, N, K = d_model, 2 * d_model, 16, 4
    R = (D + 15) // 16
    pre = "caduceus.backbone."
    mix = "mixer.submodule." if rcps else "mixer."
    w = {}
    emb = "embeddings.word_embeddings.embedding.weight" if rcps else "embeddings.word_embeddings.weight"
    w[pre + emb] = rng.normal(0, 0.02, (16, D))
    for i in range(n_layer):
        p = f"{pre}layers.{i}."
        w[p + "norm.weight"] = 1 + rng.normal(0, 0.2, D)
        w[p + mix + "mamba_fwd.in_proj.weight"] = rng.normal(0, D ** -0.5, (2 * E, D))
        w[p + mix + "mamba_fwd.out_proj.weight"] = rng.normal(0, E ** -0.5 / 4, (D, E))
        for d in ("mamba_fwd", "mamba_rev"):
            q = p + mix + d + "."
            w[q + "conv1d.weight"] = rng.normal(0, 0.3, (E, 1, K))
            w[q + "conv1d.bias"] = rng.normal(0, 0.3, E)
            w[q + "x_proj.weight"] = rng.normal(0, E ** -0.5, (R + 2 * N, E))
            w[q + "dt_proj.weight"] = rng.normal(0, R ** -0.5, (E, R))
            w[q + "dt_proj.bias"] = np.log(np.expm1(rng.uniform(1e-3, 1e-1, E)))
            w[q + "A_log"] = np.log(np.tile(np.arange(1, N + 1, dtype=np.float64), (E, 1)))
            w[q + "D"] = 1 + rng.normal(0, 0.2, E)
    w[pre + "norm_f.weight"] = 1 + rng.normal(0, 0.2, D)
    w = {k: v.astype(np.float32) for k, v in w.items()}
    if rcps:
        w[pre + "embeddings.word_embeddings.complement_map"] = np.array(COMP, dtype=np.int64)
        w["lm_head.complement_map"] = np.array(COMP, dtype=np.int64)
    return w


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k])
        b = a.tobytes()
        header[k] = {"dtype": {"float32": "F32", "int64": "I64"}[str(a.dtype)], "shape": list(a.shape),
                     "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    h = json.loads(buf[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        dt = {"F32": np.float32, "I32": np.int32, "I64": np.int64}[v["dtype"]]
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(buf[8 + n + s:8 + n + e], dtype=dt).reshape(v["shape"])
    return out


# ---------------------------------------------------------------- the PyTorch model

def torch_forward(model_dir, ids, chunk=1024):
    import torch
    import torch.nn.functional as F
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    W = {k.replace("caduceus.backbone.", ""): torch.from_numpy(v.copy())
         for k, v in read_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    rcps, D, n_layer = cfg["rcps"], cfg["d_model"], cfg["n_layer"]
    E, N, K, R = 2 * D, 16, 4, (D + 15) // 16
    mix = "mixer.submodule." if rcps else "mixer."
    comp = torch.tensor(COMP)

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def mamba_dir(x, z, p):   # x, z [E, L] of the direction's own order -> gated y [E, L]
        L = x.shape[1]
        xc = F.conv1d(x[None], W[p + "conv1d.weight"], W[p + "conv1d.bias"], padding=K - 1, groups=E)[0, :, :L]
        s = F.silu(xc)
        xd = W[p + "x_proj.weight"] @ s                   # [R+2N, L]
        dt = F.softplus(W[p + "dt_proj.weight"] @ xd[:R] + W[p + "dt_proj.bias"][:, None])   # [E, L]
        A = -torch.exp(W[p + "A_log"])
        Bm, Cm = xd[R:R + N], xd[R + N:]
        h = torch.zeros(E, N)
        y = torch.empty(E, L)
        for c0 in range(0, L, chunk):      # selective_scan_ref, chunked in time to bound memory
            c1 = min(L, c0 + chunk)
            dA = torch.exp(torch.einsum("el,en->eln", dt[:, c0:c1], A))
            dBu = torch.einsum("el,nl,el->eln", dt[:, c0:c1], Bm[:, c0:c1], s[:, c0:c1])
            for i in range(c1 - c0):
                h = dA[:, i] * h + dBu[:, i]
                y[:, c0 + i] = h @ Cm[:, c0 + i]
        y = y + s * W[p + "D"][:, None]
        return y * F.silu(z)

    def bimamba(u, layer):      # u [L, D]
        p = f"layers.{layer}.{mix}"
        xz = W[p + "mamba_fwd.in_proj.weight"] @ u.T      # [2E, L], shared by both directions
        x, z = xz[:E], xz[E:]
        y = mamba_dir(x, z, p + "mamba_fwd.")
        y = y + mamba_dir(x.flip(1), z.flip(1), p + "mamba_rev.").flip(1)
        return (W[p + "mamba_fwd.out_proj.weight"] @ y).T

    emb = W["embeddings.word_embeddings.embedding.weight" if rcps else "embeddings.word_embeddings.weight"]
    ids = torch.from_numpy(ids.astype(np.int64))
    with torch.no_grad():
        if not rcps:
            h, r = emb[ids], None
            for i in range(n_layer):
                r = h if r is None else h + r
                h = bimamba(rms(r, W[f"layers.{i}.norm.weight"]), i)
            out = rms(h + r, W["norm_f.weight"])
            return (out @ emb.T).numpy()
        h, r = torch.cat([emb[ids], emb[comp[ids]].flip(-1)], -1), None
        for i in range(n_layer):
            s = h if r is None else h + r
            sA, sB = s[:, D:], s[:, :D]
            r = torch.cat([sA, sB], -1)                  # the residual half-swap of the fused path
            w = W[f"layers.{i}.norm.weight"]
            hA = bimamba(rms(sA, w), i)
            hB = bimamba(rms(sB, w.flip(0)).flip(0, 1), i).flip(0, 1)
            h = torch.cat([hA, hB], -1)
        s, wf = h + r, W["norm_f.weight"]
        out = torch.cat([rms(s[:, :D], wf), rms(s[:, D:], wf.flip(0))], -1)
        return (out[:, :D] @ emb.T + out[:, D:].flip(-1) @ emb[comp].T).numpy()


# ---------------------------------------------------------------- driver

def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return wall, rss / 1024.0, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hyenadna", default="./hyenadna")
    ap.add_argument("--lengths", default="1024,32768,131072")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--rcps", action="store_true")
    ap.add_argument("--torch-max-len", type=int, default=1 << 30, help="skip PyTorch above this length")
    ap.add_argument("--workdir", default="bench/out/caduceus")
    ap.add_argument("--model-only", action="store_true", help="write the model into WORKDIR/model-ph|ps and stop")
    ap.add_argument("--torch-child", nargs=3, metavar=("MODEL", "IDS", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.torch_child:
        import torch
        torch.set_num_threads(a.threads)
        ids = np.load(a.torch_child[1])
        t0 = time.time()
        lg = torch_forward(a.torch_child[0], ids)
        print(f"forward_s {time.time() - t0:.3f}")
        np.save(a.torch_child[2], lg)
        return

    os.makedirs(a.workdir, exist_ok=True)
    mdir = os.path.join(a.workdir, "model-ps" if a.rcps else "model-ph")
    os.makedirs(mdir, exist_ok=True)
    json.dump(config(a.d_model, a.layers, a.rcps), open(os.path.join(mdir, "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(mdir, "model.safetensors"), make_weights(a.d_model, a.layers, a.rcps))
    if a.model_only:
        return
    rng = np.random.default_rng(7)
    print(f"Caduceus-{'PS' if a.rcps else 'PH'} d_model {a.d_model}, {a.layers} layers, {a.threads} threads")
    print("| L | hyenadna s | hyenadna RSS MiB | PyTorch s (forward s) | PyTorch RSS MiB | time ratio | logits rel_F |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for L in [int(x) for x in a.lengths.split(",")]:
        seq = "".join(rng.choice(list("ACGT"), L))
        fa = os.path.join(a.workdir, f"in{L}.fa")
        with open(fa, "w") as f:
            f.write(f">r{L}\n{seq}\n")
        out = os.path.join(a.workdir, f"out{L}.safetensors")
        hw, hr, _ = timed([a.hyenadna, "forward", f"-@{a.threads}", "-m", mdir, "--logits", "--no-hidden", "-o", out, fa])
        got = read_safetensors(out)[f"logits.r{L}"]
        if L > a.torch_max_len:
            print(f"| {L} | {hw:.2f} | {hr:.0f} | not run | – | – | – |", flush=True)
            continue
        ids = read_safetensors(out)[f"tokens.r{L}"]
        np.save(os.path.join(a.workdir, f"ids{L}.npy"), ids)
        tout = os.path.join(a.workdir, f"torch{L}.npy")
        tw, tr, so = timed([sys.executable, os.path.abspath(__file__), "--threads", str(a.threads), "--torch-child",
                            mdir, os.path.join(a.workdir, f"ids{L}.npy"), tout])
        fs = float(re.search(r"forward_s ([\d.]+)", so).group(1))
        want = np.load(tout)
        rel = np.linalg.norm(got.astype(np.float64) - want) / np.linalg.norm(want)
        print(f"| {L} | {hw:.2f} | {hr:.0f} | {tw:.2f} ({fs:.2f}) | {tr:.0f} | {tw / hw:.1f}× | {rel:.1e} |", flush=True)


if __name__ == "__main__":
    main()
