#!/usr/bin/env python3
"""make_evo2_variant_fixture.py -- write tests/data/evo2-variant/: an Evo 2 (StripedHyena 2) parity fixture of a
configuration unlike the released models and unlike tests/data/evo2-tiny, made by the public reference code run in
float64 (run once, outputs committed; tests/test_evo2.c reads them).

Usage (needs torch, numpy, pyyaml, einops; e.g. /work/venv):

    python3 tests/make_evo2_variant_fixture.py VORTEX_GIT OUT_DIR

VORTEX_GIT  a clone of github.com/Zymrael/vortex; its vortex/ package is read at commit
            cb229ae50581aa072972c33a81e23eb43a1330ab (as for evo2-tiny) with `git archive` into a temporary folder,
            never copied into this repository.
OUT_DIR     tests/data/evo2-variant

Stand-ins for a CPU run, as for evo2-tiny: `vortex.ops` replaced by an empty package (its __init__ imports CUDA
extensions); `vortex.ops.embedding.rotary.apply_rotary` (a Triton kernel) written here from its documented semantics
(GPT-NeoX half split, cos/sin rows from seqlen_offsets, in place or not); `torch.cuda.device` a no-op context; the
`tqdm` and `rich.logging` imports stubbed when absent.  For the float64 run only: `torch.float32` -> `torch.float64`
in vortex/model/engine.py and in HyenaCascade.compute_filter, and `pos_idx_in_fp32 = False` on every rotary module
(positions and the stored inv_freq stay float64).  The float32 run is the unpatched code on model.float().
Loading is vortex's own: StripedHyena(config), then custom_load_state_dict(state, strict=True) (Wqkv permutation).
"""
import collections
import io
import json
import math
import os
import struct
import subprocess
import sys
import tarfile
import tempfile

COMMIT = "cb229ae50581aa072972c33a81e23eb43a1330ab"
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20260301

# the configuration: every key of evo2-7b-1m.yml, values chosen to differ from the released models and evo2-tiny
CONFIG = collections.OrderedDict([
    ("model_name", "evo2-variant-random-20260301"),
    ("vocab_size", 256), ("hidden_size", 24), ("num_filters", 12),
    ("hcl_layer_idxs", [1, 4, 5]), ("hcm_layer_idxs", [2]), ("hcs_layer_idxs", [3]), ("attn_layer_idxs", [0, 6]),
    ("hcm_filter_length", 130), ("hcl_filter_groups", 24), ("hcm_filter_groups", 4), ("hcs_filter_groups", 6),
    ("hcs_filter_length", 5), ("num_layers", 7), ("short_filter_length", 4), ("num_attention_heads", 2),
    ("short_filter_bias", False), ("mlp_init_method", "torch.nn.init.zeros_"),
    ("mlp_output_init_method", "torch.nn.init.zeros_"), ("eps", "0.00001"), ("state_size", 8),
    ("rotary_emb_base", 1000000), ("rotary_emb_scaling_factor", 4), ("use_interpolated_rotary_pos_emb", True),
    ("make_vocab_size_divisible_by", 8), ("inner_size_multiple_of", 32), ("log_intermediate_values", False),
    ("proj_groups", 1), ("hyena_filter_groups", 1), ("column_split_hyena", True), ("column_split", True),
    ("interleave", True), ("evo2_style_activations", True), ("model_parallel_size", 1), ("pipe_parallel_size", 1),
    ("tie_embeddings", False), ("mha_out_proj_bias", True), ("hyena_out_proj_bias", True), ("hyena_flip_x1x2", False),
    ("qkv_proj_bias", False), ("use_fp8_input_projections", False), ("max_seqlen", 4096), ("max_batch_size", 1),
    ("final_norm", True), ("use_flash_attn", False), ("use_flash_rmsnorm", False), ("use_flash_depthwise", False),
    ("use_flashfft", False), ("use_laughing_hyena", False), ("inference_mode", True),
    ("tokenizer_type", "CharLevelTokenizer"), ("prefill_style", "fft"), ("mlp_activation", "silu"),
    ("print_activations", False),
])
# records: (name, source record of evo2-tiny/input.fa, start, length); blocks, decode as below
RECORDS = [("v1", "seq5", 0, 1), ("v2", "seq5", 10, 2), ("v7", "seq5", 20, 7), ("v30", "seq8", 0, 30),
           ("v130", "seq6", 0, 130), ("v301", "seq6", 500, 301)]
FULL_LOGITS = ("v1", "v2", "v7")   # logits [L, V] stored; the longer records: their last TAIL rows
TAIL = 8
BLOCKS = "v30"                            # residual after every block and every mlp.l3 output
DECODE = ("v301", 289)                    # prefix >= hcm_filter_length - 1: vortex's cached path is right there


def yval(v):
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def read_fasta(path):
    recs, name, seq = {}, None, []
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            if name:
                recs[name] = "".join(seq)
            name, seq = line[1:].split()[0], []
        elif line:
            seq.append(line)
    if name:
        recs[name] = "".join(seq)
    return recs


def prepare_vortex(git, prec, tmp):
    """vortex/ at COMMIT into tmp/vortexPREC, with the stand-ins of the docstring"""
    root = os.path.join(tmp, "vortex%d" % prec)
    os.makedirs(root)
    tar = subprocess.run(["git", "-C", git, "archive", COMMIT, "vortex"], check=True, capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(tar)).extractall(root)
    ops = os.path.join(root, "vortex", "ops")
    subprocess.run(["rm", "-rf", ops], check=True)
    os.makedirs(os.path.join(ops, "embedding"))
    open(os.path.join(ops, "__init__.py"), "w").close()
    open(os.path.join(ops, "embedding", "__init__.py"), "w").close()
    with open(os.path.join(ops, "embedding", "rotary.py"), "w") as f:
        f.write(ROTARY_STANDIN)
    stubs = os.path.join(root, "stubs")
    os.makedirs(os.path.join(stubs, "rich"))
    with open(os.path.join(stubs, "tqdm.py"), "w") as f:
        f.write("def tqdm(x, *a, **k):\n    return x\n")
    open(os.path.join(stubs, "rich", "__init__.py"), "w").close()
    with open(os.path.join(stubs, "rich", "logging.py"), "w") as f:
        f.write("import logging\nclass RichHandler(logging.StreamHandler):\n"
                "    def __init__(self, *a, **k):\n        super().__init__()\n")
    if prec == 64:
        p = os.path.join(root, "vortex", "model", "engine.py")
        s = open(p).read()
        open(p, "w").write(s.replace("torch.float32", "torch.float64"))
        p = os.path.join(root, "vortex", "model", "model.py")
        s = open(p).read()
        i = s.index("def compute_filter")
        j = s.index("filter_dtype = torch.float32", i)
        open(p, "w").write(s[:j] + "filter_dtype = torch.float64" + s[j + len("filter_dtype = torch.float32"):])
    return root


ROTARY_STANDIN = '''import torch
def apply_rotary(x, cos, sin, seqlen_offsets=0, cu_seqlens=None, max_seqlen=None, interleaved=False, inplace=False,
                 conjugate=False):
    assert cu_seqlens is None and not interleaved
    L, off = x.shape[1], int(seqlen_offsets)
    c, s = cos[off:off + L], sin[off:off + L]
    if conjugate:
        s = -s
    ro = c.shape[-1] * 2
    c = torch.cat([c, c], -1)[None, :, None, :]
    s = torch.cat([s, s], -1)[None, :, None, :]
    xr = x[..., :ro]
    x1, x2 = xr.chunk(2, dim=-1)
    out = xr * c + torch.cat([-x2, x1], -1) * s
    if inplace:
        x[..., :ro] = out
        return x
    return torch.cat([out, x[..., ro:]], -1)
'''


def make_weights(names_shapes, cfg, seed):
    """random values in the spirit of evo2-tiny's (its README, Values), drawn here, in float64"""
    import torch
    g = torch.Generator().manual_seed(seed)
    N = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    U = lambda b, *s: (torch.rand(*s, generator=g, dtype=torch.float64) * 2 - 1) * b
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    sd, radii = collections.OrderedDict(), {}
    for k, s in names_shapes:
        if k in ("embedding_layer.weight", "unembed.weight"):
            v = 0.25 * N(*s) + 0.05 * N(*s)
        elif k.endswith("norm.scale"):
            v = 1 + 0.25 * N(*s)
        elif ".mlp.l" in k:
            v = U(1 / math.sqrt(s[1]), *s) + 0.5 / math.sqrt(s[1]) * N(*s)
        elif k.endswith("projections.weight"):
            v = U(math.sqrt(6 / (s[0] + s[1])), *s) + 0.05 * N(*s)
        elif k.endswith("short_filter_weight"):
            v = 0.5 * N(*s) + 0.1 * N(*s)
        elif k.endswith("filter.h") and s[-1] >= 128:
            t = torch.arange(s[-1], dtype=torch.float64)
            tau = 8 + 56 * torch.rand(s[0], 1, 1, generator=g, dtype=torch.float64)
            v = N(*s) * (0.35 * torch.exp(-t / tau) + 0.03)
        elif k.endswith("filter.h"):
            v = 0.4 * N(*s) + 0.05 * N(*s)
        elif k.endswith("filter.D"):
            v = 0.5 * N(*s)
        elif k.endswith("log_poles"):
            r = torch.exp(math.log(5e-4) + (math.log(1.5) - math.log(5e-4)) * torch.rand(*s, generator=g, dtype=torch.float64))
            radii[k] = r
            v = -r
        elif k.endswith("residues"):
            v = 0.5 * N(*s) * torch.sqrt(radii[k.replace("residues", "log_poles")][..., 0])
        elif k.endswith("out_filter_dense.weight") or k.endswith("out_proj.weight"):
            v = U(1 / math.sqrt(H), *s) + 0.3 / math.sqrt(H) * N(*s)
        elif k.endswith(".bias"):
            v = 0.1 * N(*s)
        elif k.endswith("Wqkv.weight"):   # stored per head [q, k, v] (savanna); q and k rows x2.5
            v = (U(1 / math.sqrt(H), *s) + 0.5 / math.sqrt(H) * N(*s)).reshape(nh, 3, hd, H)
            v[:, :2] *= 2.5
            v = v.reshape(s)
        elif k.endswith("inv_freq"):
            i = torch.arange(0, hd, 2, dtype=torch.float64)
            v = 1 / float(cfg["rotary_emb_base"]) ** (i / hd) * torch.exp(0.1 * N(*s))
        else:
            raise SystemExit("no value rule for " + k)
        sd[k] = v
    return sd


def child(prec, out, result):
    """run inside a vortex checkout on sys.path: (64) write model.pt, then the reference outputs"""
    import contextlib
    import logging
    import numpy as np
    import torch
    import yaml
    torch.cuda.device = lambda *a, **k: contextlib.nullcontext()
    logging.disable(logging.CRITICAL)
    from vortex.model.model import StripedHyena, AttentionBlock
    from vortex.model.utils import dotdict
    cfg = dotdict(yaml.safe_load(open(os.path.join(out, "config.yml"))))
    torch.manual_seed(SEED)
    model = StripedHyena(cfg)
    pt = os.path.join(out, "model.pt")
    if prec == 64:
        shapes = [(k, tuple(p.shape)) for k, p in model.state_dict().items()]
        sd = make_weights(shapes, CONFIG, SEED + 1)
        store = collections.OrderedDict(
            (k, v.to(torch.float32 if ("log_poles" in k or "residues" in k) else torch.bfloat16).contiguous())
            for k, v in sd.items())
        torch.save(store, pt)
    store = torch.load(pt, weights_only=True)
    dt = torch.float64 if prec == 64 else torch.float32
    model = model.double() if prec == 64 else model.float()
    for b in model.blocks:
        if isinstance(b, AttentionBlock) and prec == 64:
            b.inner_mha_cls.rotary_emb.pos_idx_in_fp32 = False
    model.custom_load_state_dict({k: v.to(dt) for k, v in store.items()}, strict=True)
    model.eval()
    recs = read_fasta(os.path.join(out, "input.fa"))
    res, cap = {}, {}
    model.norm.register_forward_hook(lambda m, i, o: cap.__setitem__("hidden", o))
    for k, b in enumerate(model.blocks):
        b.register_forward_hook(lambda m, i, o, k=k: cap.__setitem__("block.%d" % k, o[0]))
        b.mlp.l3.register_forward_hook(lambda m, i, o, k=k: cap.__setitem__("blocks.%d.mlp.l3" % k, o))
    ids_of = lambda s: torch.tensor(np.frombuffer(s.encode(), np.uint8).astype(np.int64))[None]
    with torch.no_grad():
        for name, seq in recs.items():
            cap.clear()
            lg, _ = model(ids_of(seq))
            res["logits." + name] = lg[0].numpy()
            res["hidden." + name] = cap["hidden"][0].numpy()
            if name == BLOCKS:
                for k in range(CONFIG["num_layers"]):
                    res["block.%d.%s" % (k, name)] = cap["block.%d" % k][0].numpy()
                    res["blocks.%d.mlp.l3.%s" % (k, name)] = cap["blocks.%d.mlp.l3" % k][0].numpy()
        cap.clear()
        name, P = DECODE
        ids = ids_of(recs[name])
        ipd = model.initialize_inference_params(max_seqlen=ids.shape[1])
        lg, ipd = model(ids[:, :P], inference_params_dict=ipd)
        res["decode.%s.prefill_last_logits" % name] = lg[0, -1].numpy()
        for k, b in enumerate(model.blocks):
            if k in CONFIG["hcl_layer_idxs"]:
                res["decode.%s.hcl_state.layer%d" % (name, k)] = ipd["hcl"].state_dict[k][0].real.numpy()
        rows = []
        for t in range(P, ids.shape[1]):
            for key in ("mha", "hcl", "hcm", "hcs"):
                ipd[key].seqlen_offset = t
            lg, ipd = model(ids[:, t:t + 1], inference_params_dict=ipd)
            rows.append(lg[0, -1].numpy())
        res["decode.%s.logits" % name] = np.stack(rows)
    np.savez(result, **res)


def write_safetensors(path, tensors, meta):
    import numpy as np
    hdr, blobs, off = {"__metadata__": meta}, [], 0
    for k, v in tensors.items():
        a = np.ascontiguousarray(v, dtype=np.int32 if v.dtype.kind in "iu" else np.float32)
        b = a.tobytes()
        hdr[k] = {"dtype": "I32" if a.dtype == np.int32 else "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        return child(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    import numpy as np
    git, out = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.yml"), "w") as f:
        for k, v in CONFIG.items():
            f.write("%s: %s\n" % (k, yval(v)))
    src = read_fasta(os.path.join(HERE, "data", "evo2-tiny", "input.fa"))
    with open(os.path.join(out, "input.fa"), "w") as f:
        for name, rec, beg, n in RECORDS:
            s = src[rec][beg:beg + n]
            f.write(">%s evo2-tiny/input.fa %s[%d:%d]\n" % (name, rec, beg, beg + n))
            for i in range(0, len(s), 60):
                f.write(s[i:i + 60] + "\n")
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for prec in (64, 32):
            root = prepare_vortex(git, prec, tmp)
            env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.path.join(root, "stubs"))
            r = os.path.join(tmp, "ref%d.npz" % prec)
            subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(prec), out, r], check=True, env=env, cwd=tmp)
            res[prec] = dict(np.load(r))
    ref, r32 = res[64], res[32]
    recs = read_fasta(os.path.join(out, "input.fa"))
    exp = collections.OrderedDict()
    for name, seq in recs.items():
        exp["tokens." + name] = np.frombuffer(seq.encode(), np.uint8).astype(np.int32)
        exp["hidden." + name] = ref["hidden." + name]
        exp["logits." + name] = ref["logits." + name] if name in FULL_LOGITS else ref["logits." + name][-TAIL:]
    for k in sorted(ref):
        if k.startswith("block") or k.startswith("decode."):
            exp[k] = ref[k]
    exp["decode.%s.prefix" % DECODE[0]] = np.array([DECODE[1]], np.int32)
    meta = {"generator": "tests/make_evo2_variant_fixture.py", "reference": "Zymrael/vortex@" + COMMIT,
            "precision": "float64 run rounded to float32", "logits_tail_rows": str(TAIL),
            "full_logits": ",".join(FULL_LOGITS)}
    write_safetensors(os.path.join(out, "expected.safetensors"), exp, meta)
    # the float32 run of the same code against the float64 one: what a float32 implementation can reach
    print("| tensor | rel_F fp32 vs fp64 | max_abs |\n|---|---:|---:|")
    for k in sorted(ref):
        a, b = r32[k].astype(np.float64), ref[k].astype(np.float64)
        print("| %s | %.1e | %.1e |" % (k, np.linalg.norm(a - b) / np.linalg.norm(b), np.abs(a - b).max()))
    # the decoded logits against the stateless ones at the same positions
    name, P = DECODE
    st = ref["logits." + name][P:]
    d = ref["decode.%s.logits" % name]
    print("decode vs stateless (float64): rel_F %.1e" % (np.linalg.norm(d - st) / np.linalg.norm(st)))


if __name__ == "__main__":
    main()
