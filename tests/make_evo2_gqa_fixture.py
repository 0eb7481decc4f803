#!/usr/bin/env python3
"""make_evo2_gqa_fixture.py -- write tests/data/evo2-gqa/: an Evo 2 (StripedHyena 2) parity fixture with grouped-query
attention (proj_groups 2: 4 query heads sharing 2 key/value heads), made by the public reference code run in float64
(run once, outputs committed; tests/test_evo2.c reads them).

Usage (needs torch, numpy, pyyaml, einops; e.g. /work/venv):

    python3 tests/make_evo2_gqa_fixture.py VORTEX_GIT OUT_DIR

VORTEX_GIT  a clone of github.com/Zymrael/vortex; its vortex/ package is read at commit
            cb229ae50581aa072972c33a81e23eb43a1330ab with `git archive` into a temporary folder, never copied into this
            repository.
OUT_DIR     tests/data/evo2-gqa

The CPU stand-ins, the float64 edits and the output format are those of tests/make_evo2_variant_fixture.py (imported
from it).  vortex's load-time Wqkv permutation (column_split) reshapes Wqkv as [H, heads, 3, head size] and fails
for proj_groups > 1, so the configuration has column_split: False: Wqkv rows [q | k | v], H query rows then
H/proj_groups key rows and as many value rows.  Loading is vortex's own: StripedHyena(config), then
custom_load_state_dict(state, strict=True).
"""
import collections
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_evo2_variant_fixture as mv  # noqa: E402

SEED = 20261204
CONFIG = collections.OrderedDict(mv.CONFIG)
CONFIG.update([
    ("model_name", "evo2-gqa-random-20261204"), ("hidden_size", 32), ("num_filters", 32), ("num_layers", 5),
    ("attn_layer_idxs", [0, 4]), ("hcs_layer_idxs", [1]), ("hcm_layer_idxs", [2]), ("hcl_layer_idxs", [3]),
    ("hcl_filter_groups", 32), ("hcm_filter_groups", 8), ("hcs_filter_groups", 8), ("hcm_filter_length", 128),
    ("hcs_filter_length", 7), ("short_filter_length", 3), ("num_attention_heads", 4), ("proj_groups", 2),
    ("column_split", False), ("column_split_hyena", False), ("qkv_proj_bias", True), ("state_size", 8),
    ("rotary_emb_base", 10000), ("use_interpolated_rotary_pos_emb", False), ("mlp_activation", "gelu"),
    ("inner_mlp_size", 40),
])
# records: (name, source record of evo2-tiny/input.fa, start, length)
RECORDS = [("g1", "seq5", 0, 1), ("g2", "seq5", 10, 2), ("g7", "seq5", 20, 7), ("g129", "seq6", 0, 129),
           ("g280", "seq6", 500, 280)]
FULL_LOGITS = ("g1", "g2", "g7")   # logits [L, V] stored; the longer records: their last TAIL rows
TAIL = 8
DECODE = ("g280", 256)             # prefix >= hcm_filter_length - 1 (as in make_evo2_variant_fixture.py)


def make_weights(names_shapes, cfg, seed):
    """make_evo2_variant_fixture's value rules, but Wqkv [q | k | v] with (H + 2·KVW) rows, q and k rows x2.5"""
    import torch
    g = torch.Generator().manual_seed(seed)
    N = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    U = lambda b, *s: (torch.rand(*s, generator=g, dtype=torch.float64) * 2 - 1) * b
    H = cfg["hidden_size"]
    sd, other = collections.OrderedDict(), []
    for k, s in names_shapes:
        if k.endswith("Wqkv.weight"):
            v = U(1 / math.sqrt(H), *s) + 0.5 / math.sqrt(H) * N(*s)
            v[:H + (s[0] - H) // 2] *= 2.5
            sd[k] = v
        else:
            other.append((k, s))
    rest = mv.make_weights(other, cfg, seed + 1)
    return collections.OrderedDict((k, sd[k] if k in sd else rest[k]) for k, _ in names_shapes)


def child(prec, out, result):
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
    recs = mv.read_fasta(os.path.join(out, "input.fa"))
    res, cap = {}, {}
    model.norm.register_forward_hook(lambda m, i, o: cap.__setitem__("hidden", o))
    ids_of = lambda s: torch.tensor(np.frombuffer(s.encode(), np.uint8).astype(np.int64))[None]
    with torch.no_grad():
        for name, seq in recs.items():
            lg, _ = model(ids_of(seq))
            res["logits." + name] = lg[0].numpy()
            res["hidden." + name] = cap["hidden"][0].numpy()
        name, P = DECODE
        ids = ids_of(recs[name])
        ipd = model.initialize_inference_params(max_seqlen=ids.shape[1])
        lg, ipd = model(ids[:, :P], inference_params_dict=ipd)
        res["decode.%s.prefill_last_logits" % name] = lg[0, -1].numpy()
        rows = []
        for t in range(P, ids.shape[1]):
            for key in ("mha", "hcl", "hcm", "hcs"):
                ipd[key].seqlen_offset = t
            lg, ipd = model(ids[:, t:t + 1], inference_params_dict=ipd)
            rows.append(lg[0, -1].numpy())
        res["decode.%s.logits" % name] = np.stack(rows)
    np.savez(result, **res)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        return child(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    import numpy as np
    git, out = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.yml"), "w") as f:
        for k, v in CONFIG.items():
            f.write("%s: %s\n" % (k, mv.yval(v)))
    src = mv.read_fasta(os.path.join(HERE, "data", "evo2-tiny", "input.fa"))
    with open(os.path.join(out, "input.fa"), "w") as f:
        for name, rec, beg, n in RECORDS:
            s = src[rec][beg:beg + n]
            f.write(">%s evo2-tiny/input.fa %s[%d:%d]\n" % (name, rec, beg, beg + n))
            for i in range(0, len(s), 60):
                f.write(s[i:i + 60] + "\n")
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for prec in (64, 32):
            root = mv.prepare_vortex(git, prec, tmp)
            env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.path.join(root, "stubs"))
            r = os.path.join(tmp, "ref%d.npz" % prec)
            subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(prec), out, r], check=True, env=env, cwd=tmp)
            res[prec] = dict(np.load(r))
    ref, r32 = res[64], res[32]
    recs = mv.read_fasta(os.path.join(out, "input.fa"))
    exp = collections.OrderedDict()
    for name, seq in recs.items():
        exp["tokens." + name] = np.frombuffer(seq.encode(), np.uint8).astype(np.int32)
        exp["hidden." + name] = ref["hidden." + name]
        exp["logits." + name] = ref["logits." + name] if name in FULL_LOGITS else ref["logits." + name][-TAIL:]
    for k in sorted(ref):
        if k.startswith("decode."):
            exp[k] = ref[k]
    exp["decode.%s.prefix" % DECODE[0]] = np.array([DECODE[1]], np.int32)
    meta = {"generator": "tests/make_evo2_gqa_fixture.py", "reference": "Zymrael/vortex@" + mv.COMMIT,
            "precision": "float64 run rounded to float32", "logits_tail_rows": str(TAIL),
            "full_logits": ",".join(FULL_LOGITS)}
    mv.write_safetensors(os.path.join(out, "expected.safetensors"), exp, meta)
    print("| tensor | rel_F fp32 vs fp64 | max_abs |\n|---|---:|---:|")
    for k in sorted(ref):
        a, b = r32[k].astype(np.float64), ref[k].astype(np.float64)
        print("| %s | %.1e | %.1e |" % (k, np.linalg.norm(a - b) / np.linalg.norm(b), np.abs(a - b).max()))
    name, P = DECODE
    st = ref["logits." + name][P:]
    d = ref["decode.%s.logits" % name]
    print("decode vs stateless (float64): rel_F %.1e" % (np.linalg.norm(d - st) / np.linalg.norm(st)))


if __name__ == "__main__":
    main()
