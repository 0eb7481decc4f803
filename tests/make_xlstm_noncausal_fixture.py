#!/usr/bin/env python3
"""make_xlstm_noncausal_fixture.py -- write tests/data/xlstm-noncausal/: a mixed mLSTM/sLSTM DNA-xLSTM model with the
reference's non-causal options, with the outputs of the public reference code run in float64 (run once, outputs
committed; tests/test_xlstm.c reads them).

Configuration: d_model 32, 3 blocks with sLSTM at [1] (mLSTM at 0 and 2), bidirectional (not alternating) with
m_backend_bidirectional (the mLSTM blocks run once, their parallel-form cell without the causal mask; the sLSTM block
runs on both directions), m_conv1d_causal false with kernel 4 and s_conv1d_causal false with kernel 2 (even kernels:
PyTorch's padding "same" puts the extra tap after the position), mLSTM 4 heads, proj_factor 2, q/k/v blocks of 4,
parallel backend, no RoPE; sLSTM 4 heads, FFN proj_factor 1.3 rounded up to 64.

Usage (as tests/make_xlstm_variant_fixture.py, whose reference loader this script reuses):

    python3 tests/make_xlstm_noncausal_fixture.py DNA_XLSTM_GIT FASTA

DNA_XLSTM_GIT  a clone of github.com/ml-jku/DNA-xLSTM (read at 06820ece, as the other xlstm-* sets)
FASTA          tests/data/xlstm-slstm/input.fa (lambda-phage records the new ones are cut from)
"""
import collections
import json
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_ckpt_fixtures import write_safetensors   # noqa: E402
from make_plantcaduceus_fixture import read_fasta, rel_f   # noqa: E402
from make_xlstm_variant_fixture import install, IDS   # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "xlstm-noncausal")
SEED_INIT, SEED_NOISE = 20261211, 20261212
CONFIG = dict(d_model=32, n_layer=3, vocab_size=12, pad_vocab_size_multiple=8, max_length=256,
              m_conv1d_kernel_size=4, m_conv1d_causal=False, m_qkv_proj_blocksize=4, m_num_heads=4, m_proj_factor=2.0,
              m_backend="parallel", m_chunk_size=64, m_backend_bidirectional=True, m_position_embeddings=False,
              m_bias=False, s_num_heads=4, s_conv1d_kernel_size=2, s_conv1d_causal=False, s_lstm_at=[1],
              s_proj_factor=1.3, s_round_proj_up_dim_up=True, s_round_proj_up_to_multiple_of=64,
              s_position_embeddings=False, dropout=0.0, bidirectional=True, bidirectional_alternating=False,
              rcps=False, complement_map=None)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    git, fasta = sys.argv[1:]
    scell, xLSTMConfig, xLSTMLMHeadModel = install(git, tempfile.mkdtemp())
    torch.manual_seed(SEED_INIT)
    stored = xLSTMLMHeadModel(xLSTMConfig(**CONFIG)).eval()      # sLSTM cells in the CUDA (stored) layout
    gen = torch.Generator().manual_seed(SEED_NOISE)
    with torch.no_grad():
        for name, p in stored.named_parameters():
            sd = float(p.std()) if p.numel() > 1 else 0.0
            sigma = sd if sd > 1e-6 else 0.1
            if name.endswith("_bias_"):
                sigma = 0.5
            if "norm" in name or "skip" in name:
                sigma = max(sigma, 0.2)
            p.add_(torch.randn(p.shape, generator=gen) * sigma)
    sd = stored.state_dict()
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "model.safetensors"),
                      collections.OrderedDict(("model." + k, v.float().contiguous()) for k, v in sd.items()))
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump({"config": dict({"_target_": "models.dna_xlstm.modelling_xlstm.xLSTMConfig"}, **CONFIG)}, f, indent=4)
        f.write("\n")
    # the vanilla-backend model with the converted cell layout
    conf = xLSTMConfig(**CONFIG)
    conf.xlstm_cfg.slstm_block.slstm.backend = "vanilla"
    model = xLSTMLMHeadModel(conf).eval()
    cuda = {n: m for n, m in stored.named_modules() if isinstance(m, scell.sLSTMCell_cuda)}
    van = {n: m for n, m in model.named_modules() if isinstance(m, scell.sLSTMCell_vanilla)}
    assert len(cuda) == 1 and cuda.keys() == van.keys()
    for n, c in cuda.items():
        sd[n + "._recurrent_kernel_"] = van[n]._recurrent_kernel_ext2int(c._recurrent_kernel_int2ext(sd[n + "._recurrent_kernel_"]))
        sd[n + "._bias_"] = van[n]._bias_ext2int(c._bias_int2ext(sd[n + "._bias_"]))
    model.load_state_dict(sd)

    src = read_fasta(fasta)
    recs = collections.OrderedDict([("seq1", src["seq1"]), ("seq2", src["seq2"]), ("seq3", src["seq3"][:5] + src["seq4"][:2]),
                                    ("seq4", src["seq4"]), ("seq5", src["seq7"][:150])])
    with open(os.path.join(OUT, "input.fa"), "w") as f:
        for name, s in recs.items():
            f.write(">%s\n" % name + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60)))
    out, table = collections.OrderedDict(), []
    for dtype in (torch.float64, torch.float32):
        m = model.to(dtype)
        with torch.no_grad():
            for name, s in recs.items():
                ids = torch.tensor([[IDS.get(c, 6) for c in s.upper()]])
                hidden = m.backbone.headless_forward(ids)[0]
                logits = m(ids).logits[0]
                if dtype == torch.float64:
                    out["tokens." + name] = ids[0].to(torch.int32)
                    out["hidden." + name] = hidden.float()
                    out["logits." + name] = logits.float()
                else:
                    table.append((name, ids.shape[1], rel_f(hidden, out["hidden." + name]),
                                  rel_f(logits, out["logits." + name])))
    write_safetensors(os.path.join(OUT, "expected.safetensors"), out)
    for row in table:
        print("| %s | %d | %.1e | %.1e |" % row)


if __name__ == "__main__":
    main()
