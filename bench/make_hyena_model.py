#!/usr/bin/python3
"""make_hyena_model.py -- random-weight HyenaDNA models in the exact -hf layout and shape of the public
checkpoints (docs/models.md §3.1, §3.3.1), for benchmarks.  pos_emb.z/t are built as the reference builds them.

usage: make_hyena_model.py SIZE OUT_DIR     SIZE: tiny-1k small-32k medium-160k medium-450k large-1m
"""
import json, math, os, sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "train"))
from hdmodel import positional_features, write_safetensors  # noqa: E402  (shared with the training recipe)

SIZES = {
    "tiny-1k": (128, 2, 1026),
    "small-32k": (256, 4, 32770),
    "medium-160k": (256, 8, 160002),
    "medium-450k": (256, 8, 450002),
    "large-1m": (256, 8, 1000002),
}


def main():
    size, out = sys.argv[1], sys.argv[2]
    D, N, Lmax = SIZES[size]
    Fd, E, H = 4 * D, 5, 64
    g = torch.Generator().manual_seed(7)
    rnd = lambda *s, std=0.02: torch.randn(*s, generator=g) * std
    z, t = positional_features(Lmax, E)
    P = "hyena.backbone."
    W = {P + "embeddings.word_embeddings.weight": rnd(16, D, std=1.0),
         P + "ln_f.weight": 1 + rnd(D), P + "ln_f.bias": rnd(D), "lm_head.weight": rnd(16, D, std=1.0)}
    for i in range(N):
        p = f"{P}layers.{i}."
        W.update({
            p + "mixer.in_proj.weight": rnd(3 * D, D, std=D ** -0.5), p + "mixer.in_proj.bias": rnd(3 * D),
            p + "mixer.out_proj.weight": rnd(D, D, std=D ** -0.5), p + "mixer.out_proj.bias": rnd(D),
            p + "mixer.short_filter.weight": rnd(3 * D, 1, 3, std=0.5), p + "mixer.short_filter.bias": rnd(3 * D),
            p + "mixer.filter_fn.bias": rnd(D, std=1.0),
            p + "mixer.filter_fn.pos_emb.z": z.clone(), p + "mixer.filter_fn.pos_emb.t": t.clone(),
            p + "mixer.filter_fn.implicit_filter.0.weight": rnd(H, E, std=0.5), p + "mixer.filter_fn.implicit_filter.0.bias": rnd(H),
            p + "mixer.filter_fn.implicit_filter.1.freq": 10 + rnd(1, H, std=1.0),
            p + "mixer.filter_fn.implicit_filter.2.weight": rnd(H, H, std=0.125), p + "mixer.filter_fn.implicit_filter.2.bias": rnd(H),
            p + "mixer.filter_fn.implicit_filter.4.weight": rnd(H, H, std=0.125), p + "mixer.filter_fn.implicit_filter.4.bias": rnd(H),
            p + "mixer.filter_fn.implicit_filter.6.weight": rnd(D, H, std=0.125),
            p + "mixer.filter_fn.modulation.deltas": torch.linspace(math.log(1e-2) / 1.5, math.log(1e-2) / 0.3, D)[None, None],
            p + "norm1.weight": 1 + rnd(D), p + "norm1.bias": rnd(D), p + "norm2.weight": 1 + rnd(D), p + "norm2.bias": rnd(D),
            p + "mlp.fc1.weight": rnd(Fd, D, std=D ** -0.5), p + "mlp.fc1.bias": rnd(Fd),
            p + "mlp.fc2.weight": rnd(D, Fd, std=Fd ** -0.5), p + "mlp.fc2.bias": rnd(D),
        })
    os.makedirs(out, exist_ok=True)
    cfg = json.load(open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "hyenadna-tiny", "config.json")))
    cfg.update(d_model=D, n_layer=N, d_inner=Fd, max_seq_len=Lmax)
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(out, "model.safetensors"), W, {"format": "pt"})


if __name__ == "__main__":
    main()
