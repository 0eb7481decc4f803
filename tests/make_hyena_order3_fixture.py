#!/usr/bin/env python3
"""make_hyena_order3_fixture.py -- write tests/data/hyenadna-order3/: a HyenaDNA model of Hyena order 3 (hyena_order,
the reference's layer.order: in_proj to 4·D channels, two long filters per layer from one filter MLP of output width
2·D, two long convolutions per mixer), with the outputs of the public reference code run in float64 (run once,
outputs committed; tests/test_hyena.c reads them; docs/models.md §3.4.4).

Configuration: d_model 20, 2 layers, d_inner 48, emb_dim 5, filter_order 12, num_inner_mlps 2, max_seq_len 96,
activation_freq 10, pad_vocab_size_multiple 8 (16 embedding rows), layer_norm_epsilon 1e-5, untied lm_head.

Usage (needs torch, numpy and einops, e.g. /work/venv):

    python3 tests/make_hyena_order3_fixture.py HYENA_DNA_GIT FASTA

HYENA_DNA_GIT  a clone of github.com/HazyResearch/hyena-dna (read at d553021b, as for tests/data/hyenadna-tiny)
FASTA          tests/data/hyenadna-tiny/input.fa (lambda-phage records the new ones are cut from)

standalone_hyenadna.py is read from git and imported from a temporary folder, never copied into this repository
(the stand-ins of tests/make_hyena_variant_fixture.py).  The model is built with residual_in_fp32 false and cast to
float64 after its weights were loaded back from the written model.safetensors.
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
from make_hyena_variant_fixture import COMMIT, IDS, build_model, import_reference   # noqa: E402
from make_plantcaduceus_fixture import read_fasta, rel_f   # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "hyenadna-order3")
ORDER, D, N, F, E, H, INNER, LMAX, W, EPS, MULT = 3, 20, 2, 48, 5, 12, 2, 96, 10.0, 1e-5, 8
SEED_INIT, SEED_NOISE = 20261207, 20261208


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    git, fasta = sys.argv[1:]
    sh = import_reference(git)
    model, cfg = build_model(sh, OUT, ORDER, D, N, F, E, H, INNER, LMAX, W, EPS, MULT, SEED_INIT, SEED_NOISE)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")

    src = read_fasta(fasta)
    recs = collections.OrderedDict([("seq1", src["seq1"]), ("seq2", src["seq2"]), ("seq3", src["seq5"][:7]),
                                    ("seq4", src["seq7"][:33]), ("seq5", src["seq6"][:LMAX - 1]),
                                    ("seq6", src["seq8"][:LMAX - 16] + src["seq5"][100:116])])
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
    out, table = collections.OrderedDict(), []
    for dtype in (torch.float64, torch.float32):
        m = model.to(dtype)
        with torch.no_grad():
            for name, s in recs.items():
                ids = [IDS.get(c, 6) for c in s.upper()]
                hidden = m(torch.tensor([ids]))[0]
                logits = hidden @ head.to(dtype).T
                if dtype == torch.float64:
                    out["tokens.%s" % name] = torch.tensor(ids, dtype=torch.int32)
                    out["hidden.%s" % name] = hidden.float()
                    out["logits.%s" % name] = logits.float()
                else:
                    table.append((name, len(ids), rel_f(hidden, out["hidden.%s" % name]),
                                  rel_f(logits, out["logits.%s" % name])))
    write_safetensors(os.path.join(OUT, "expected.safetensors"), out)
    for row in table:
        print("| %s | %d | %.1e | %.1e |" % row)


if __name__ == "__main__":
    main()
