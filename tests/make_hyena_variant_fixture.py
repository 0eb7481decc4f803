#!/usr/bin/env python3
"""make_hyena_variant_fixture.py -- write tests/data/hyenadna-variant/: a HyenaDNA model whose configuration differs
from every released one (and from tests/data/hyenadna-tiny) in each key our loader reads, with the outputs of the
public reference code run in float64 (run once, outputs committed; tests/test_hyena.c reads them).

Configuration: d_model 24, 3 layers, d_inner 40 (not 4·D), emb_dim 7, filter_order 16, num_inner_mlps 1,
max_seq_len 130, activation_freq 3.5, pad_vocab_size_multiple 1 (12 embedding rows), layer_norm_epsilon 1e-3 (the
reference uses it in norm1, norm2 and ln_f alike), untied lm_head.

Usage (needs torch, numpy and einops, e.g. /work/venv):

    python3 tests/make_hyena_variant_fixture.py HYENA_DNA_GIT FASTA

HYENA_DNA_GIT  a clone of github.com/HazyResearch/hyena-dna (read at d553021b, as for tests/data/hyenadna-tiny)
FASTA          tests/data/hyenadna-tiny/input.fa (lambda-phage records the new ones are cut from)

standalone_hyenadna.py is read from git and imported from a temporary folder, never copied into this repository;
stand-ins: torchvision.ops.StochasticDepth with p = 0 (the identity) and the two transformers names its tokenizer
class needs at import.  The model is built with residual_in_fp32 false and cast to float64 after its weights were
loaded back from the written model.safetensors.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_ckpt_fixtures import read_safetensors, write_safetensors   # noqa: E402
from make_plantcaduceus_fixture import read_fasta, rel_f   # noqa: E402

COMMIT = "d553021b483b82980aa4b868b37ec2d4332e198a"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "hyenadna-variant")
D, N, F, E, H, INNER, LMAX, W, EPS, MULT = 24, 3, 40, 7, 16, 1, 130, 3.5, 1e-3, 1
SEED_INIT, SEED_NOISE = 20261205, 20261206
STUBS = {
    "torchvision/__init__.py": "",
    "torchvision/ops.py": "import torch.nn as nn\nclass StochasticDepth(nn.Module):\n"
                          "    def __init__(self, p, mode):\n        super().__init__()\n        assert p == 0\n"
                          "    def forward(self, x):\n        return x\n",
    "transformers/__init__.py": "",
    "transformers/tokenization_utils.py": "class AddedToken(str):\n    def __new__(cls, s, **kw):\n"
                                          "        return str.__new__(cls, s)\nclass PreTrainedTokenizer:\n"
                                          "    def __init__(self, **kw):\n        pass\n",
}
IDS = {"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}


def import_reference(git):
    """standalone_hyenadna.py at COMMIT, read from the clone `git` and imported from a temporary folder beside
    the stand-ins of its imports"""
    tmp = tempfile.mkdtemp()
    for path, text in STUBS.items():
        os.makedirs(os.path.dirname(os.path.join(tmp, path)), exist_ok=True)
        with open(os.path.join(tmp, path), "w") as f:
            f.write(text)
    with open(os.path.join(tmp, "standalone_hyenadna.py"), "w") as f:
        f.write(subprocess.run(["git", "-C", git, "show", "%s:standalone_hyenadna.py" % COMMIT], check=True,
                               capture_output=True).stdout.decode())
    sys.path.insert(0, tmp)
    import standalone_hyenadna as sh
    return sh


def build_model(sh, out, order, D, N, F, E, H, INNER, LMAX, W, EPS, MULT, SEED_INIT, SEED_NOISE):
    """the reference model of this shape with every parameter perturbed, written to out/model.safetensors in
    the -hf layout with an untied lm_head; returns (model, its config.json dict)"""
    torch.manual_seed(SEED_INIT)
    layer = dict(emb_dim=E, filter_order=H, l_max=LMAX, order=order, w=W, num_inner_mlps=INNER)
    model = sh.HyenaDNAModel(d_model=D, n_layer=N, d_inner=F, vocab_size=12, layer=layer, layer_norm_epsilon=EPS,
                             pad_vocab_size_multiple=MULT, residual_in_fp32=False).eval()
    # every parameter perturbed (the shared Sin frequency once), pos_emb.z too (a parameter with its own lr)
    gen = torch.Generator().manual_seed(SEED_NOISE)
    seen = set()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if id(p) in seen:
                continue
            seen.add(id(p))
            sigma = max(float(p.std()) if p.numel() > 1 else 0.0, 0.1)
            if name.endswith("pos_emb.z"):
                sigma = 0.05
            elif name.endswith(("freq", "deltas")):
                sigma = 1.0
            elif "norm" in name and name.endswith("weight"):
                sigma = 0.2
            if name.endswith("fc1.bias"):
                p.add_(-1.0)
            p.add_(torch.randn(p.shape, generator=gen) * sigma)
        rows = model.backbone.embeddings.word_embeddings.weight.shape[0]
        head = torch.randn(rows, D, generator=gen) * 0.3
    # the -hf layout: hyena. prefix, one freq name per layer (the Sin module is shared), untied lm_head
    weights = collections.OrderedDict(
        ("hyena." + k, v.float().contiguous()) for k, v in model.state_dict().items()
        if ".freq" not in k or k.endswith("implicit_filter.1.freq"))
    weights["lm_head.weight"] = head.float()
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), weights)
    cfg = {"activation_freq": W, "architectures": ["HyenaDNAForCausalLM"], "d_inner": F, "d_model": D, "emb_dim": E,
           "filter_order": H, "hyena_order": order, "layer_norm_epsilon": EPS, "max_seq_len": LMAX,
           "model_type": "hyenadna", "n_layer": N, "num_inner_mlps": INNER, "pad_token_id": 4,
           "pad_vocab_size_multiple": MULT, "short_filter_order": 3, "tie_word_embeddings": False,
           "train_freq": True, "vocab_size": 12}
    return model, cfg


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    git, fasta = sys.argv[1:]
    sh = import_reference(git)
    model, cfg = build_model(sh, OUT, 2, D, N, F, E, H, INNER, LMAX, W, EPS, MULT, SEED_INIT, SEED_NOISE)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")

    src = read_fasta(fasta)
    recs = collections.OrderedDict([("seq1", src["seq1"]), ("seq2", src["seq2"]), ("seq3", src["seq5"][:7]),
                                    ("seq4", src["seq7"][:64]), ("seq5", src["seq6"][:LMAX - 2]),
                                    ("seq6", src["seq8"])])
    with open(os.path.join(OUT, "input.fa"), "w") as f:
        for name, s in recs.items():
            f.write(">%s\n" % name + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60)))

    # the reference, float64 (and float32 for the table below), on the weights as written
    stored = read_safetensors(os.path.join(OUT, "model.safetensors"))
    state = model.state_dict()
    for k in state:
        state[k] = stored["hyena." + k] if "hyena." + k in stored else \
            stored["hyena." + k.rsplit(".", 2)[0] + ".1.freq"]   # the shared Sin's other names
    model.load_state_dict(state)
    head = stored["lm_head.weight"]
    runs = collections.OrderedDict()
    for name, s in recs.items():
        ids = [IDS.get(c, 6) for c in s.upper()]
        runs[name] = ("", ids)
        if name == "seq5":
            runs[name + "_cls_sep"] = ("_cls_sep", [0] + ids + [1])   # the standalone tokenizer's [CLS] ... [SEP]
    out, table = collections.OrderedDict(), []
    for dtype in (torch.float64, torch.float32):
        m = model.to(dtype)
        with torch.no_grad():
            for key, (tag, ids) in runs.items():
                name = key.replace("_cls_sep", "")
                hidden = m(torch.tensor([ids]))[0]
                logits = hidden @ head.to(dtype).T
                if dtype == torch.float64:
                    out["tokens%s.%s" % (tag, name)] = torch.tensor(ids, dtype=torch.int32)
                    out["hidden%s.%s" % (tag, name)] = hidden.float()
                    out["logits%s.%s" % (tag, name)] = logits.float()
                else:
                    table.append((key, len(ids), rel_f(hidden, out["hidden%s.%s" % (tag, name)]),
                                  rel_f(logits, out["logits%s.%s" % (tag, name)])))
    write_safetensors(os.path.join(OUT, "expected.safetensors"), out)
    for row in table:
        print("| %s | %d | %.1e | %.1e |" % row)


if __name__ == "__main__":
    main()
