#!/usr/bin/env python3
"""make_xlstm_variant_fixture.py -- write tests/data/xlstm-variant/: a mixed mLSTM/sLSTM DNA-xLSTM model with a
configuration unlike the other xlstm-* sets, with the outputs of the public reference code run in float64 (run once,
outputs committed; tests/test_xlstm.c reads them).

Configuration: d_model 48, 4 blocks with sLSTM at [1, 2] (mLSTM at 0 and 3), bidirectional with
bidirectional_alternating (blocks 0, 2 run on the reversed sequence), mLSTM 2 heads, proj_factor 1.5, kernel 3,
q/k/v blocks of 8, biases, parallel backend, no RoPE; sLSTM 8 heads, kernel 2, FFN proj_factor 1.3 rounded up to 64.

Usage (needs torch, numpy, einops and dacite, e.g. /work/venv plus `pip install dacite`):

    python3 tests/make_xlstm_variant_fixture.py DNA_XLSTM_GIT FASTA

DNA_XLSTM_GIT  a clone of github.com/ml-jku/DNA-xLSTM (read at 06820ece, as the other xlstm-* sets)
FASTA          tests/data/xlstm-slstm/input.fa (lambda-phage records the new ones are cut from)

models/dna_xlstm is extracted from git into a temporary folder and imported from there, never copied into this
repository.  Stand-ins: omegaconf's create/to_container (identity on the plain dict used; added to the module
make_ckpt_fixtures registers), transformers'
PretrainedConfig (stores the keywords), the sLSTM CUDA loader (never called).  As for the other sets, the model is
built with the stored CUDA backend layout, and run on the vanilla backend after converting the sLSTM cell's kernel
and bias (docs/models.md §5); the only edit to upstream code: the `.float()` casts of apply_rotary_emb become
"at least float32" (unused here: no RoPE).
"""
import collections
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_ckpt_fixtures import write_safetensors   # noqa: E402
from make_plantcaduceus_fixture import read_fasta, rel_f   # noqa: E402

COMMIT = "06820eceb6dae78563e1a7d3514335b07bd3c415"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "xlstm-variant")
SEED_INIT, SEED_NOISE = 20261207, 20261208
CONFIG = dict(d_model=48, n_layer=4, vocab_size=12, pad_vocab_size_multiple=8, max_length=256,
              m_conv1d_kernel_size=3, m_conv1d_causal=True, m_qkv_proj_blocksize=8, m_num_heads=2, m_proj_factor=1.5,
              m_backend="parallel", m_chunk_size=64, m_backend_bidirectional=False, m_position_embeddings=False,
              m_bias=True, s_num_heads=8, s_conv1d_kernel_size=2, s_conv1d_causal=True, s_lstm_at=[1, 2],
              s_proj_factor=1.3, s_round_proj_up_dim_up=True, s_round_proj_up_to_multiple_of=64,
              s_position_embeddings=False, dropout=0.0, bidirectional=True, bidirectional_alternating=True,
              rcps=False, complement_map=None)
STUBS = {
    "transformers/__init__.py": "class PretrainedConfig:\n    def __init__(self, **kw):\n"
                                "        for k, v in kw.items():\n            setattr(self, k, v)\n",
}
IDS = {"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}


def install(git, tmp):
    tar = subprocess.run(["git", "-C", git, "archive", COMMIT, "models/dna_xlstm"], check=True,
                         capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(tar)).extractall(tmp)
    root = os.path.join(tmp, "models")
    with open(os.path.join(root, "dna_xlstm/xlstm/blocks/slstm/src/cuda_init.py"), "w") as f:
        f.write("def load(*a, **k):\n    raise RuntimeError('no CUDA')\n")
    cell = os.path.join(root, "dna_xlstm/xlstm/blocks/mlstm/cell.py")
    src = open(cell).read().replace(".float().reshape", "._hd_atleast32().reshape")
    open(cell, "w").write(src)
    for path, text in STUBS.items():
        os.makedirs(os.path.dirname(os.path.join(tmp, path)), exist_ok=True)
        with open(os.path.join(tmp, path), "w") as f:
            f.write(text)
    # omegaconf: make_ckpt_fixtures registers pickling stand-ins under that name; add the two functions used
    sys.modules["omegaconf"].OmegaConf = type("OmegaConf", (), {"create": staticmethod(lambda x: x),
                                                                "to_container": staticmethod(lambda x: x)})
    torch.Tensor._hd_atleast32 = lambda t: t if t.dtype == torch.float64 else t.float()
    sys.path[:0] = [tmp, root]
    import dna_xlstm.xlstm.blocks.slstm.cell as scell
    scell.sLSTMCellFuncGenerator = lambda training, config: None   # the CUDA kernel is never run
    from dna_xlstm.modelling_xlstm import xLSTMConfig, xLSTMLMHeadModel
    return scell, xLSTMConfig, xLSTMLMHeadModel


def generate(out_dir, config, seed_init, seed_noise, git, fasta):
    """out_dir/: the reference model of `config` (every parameter perturbed), its config.json, input.fa cut from
    `fasta` and the float64 reference outputs; prints the float32 run's errors"""
    scell, xLSTMConfig, xLSTMLMHeadModel = install(git, tempfile.mkdtemp())
    torch.manual_seed(seed_init)
    stored = xLSTMLMHeadModel(xLSTMConfig(**config)).eval()      # sLSTM cells in the CUDA (stored) layout
    gen = torch.Generator().manual_seed(seed_noise)
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
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"),
                      collections.OrderedDict(("model." + k, v.float().contiguous()) for k, v in sd.items()))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump({"config": dict({"_target_": "models.dna_xlstm.modelling_xlstm.xLSTMConfig"}, **config)}, f, indent=4)
        f.write("\n")
    # the vanilla-backend model with the converted cell layout
    conf = xLSTMConfig(**config)
    conf.xlstm_cfg.slstm_block.slstm.backend = "vanilla"
    model = xLSTMLMHeadModel(conf).eval()
    cuda = {n: m for n, m in stored.named_modules() if isinstance(m, scell.sLSTMCell_cuda)}
    van = {n: m for n, m in model.named_modules() if isinstance(m, scell.sLSTMCell_vanilla)}
    assert len(cuda) == len(config["s_lstm_at"]) and cuda.keys() == van.keys()
    for n, c in cuda.items():
        sd[n + "._recurrent_kernel_"] = van[n]._recurrent_kernel_ext2int(c._recurrent_kernel_int2ext(sd[n + "._recurrent_kernel_"]))
        sd[n + "._bias_"] = van[n]._bias_ext2int(c._bias_int2ext(sd[n + "._bias_"]))
    model.load_state_dict(sd)

    src = read_fasta(fasta)
    recs = collections.OrderedDict([("seq1", src["seq1"]), ("seq2", src["seq2"]), ("seq3", src["seq3"][:5] + src["seq4"][:2]),
                                    ("seq4", src["seq4"]), ("seq5", src["seq7"][:150])])
    with open(os.path.join(out_dir, "input.fa"), "w") as f:
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
    write_safetensors(os.path.join(out_dir, "expected.safetensors"), out)
    for row in table:
        print("| %s | %d | %.1e | %.1e |" % row)



def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    generate(OUT, CONFIG, SEED_INIT, SEED_NOISE, *sys.argv[1:])

if __name__ == "__main__":
    main()
