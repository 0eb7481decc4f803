#!/usr/bin/env python3
"""make_plantcaduceus_fixture.py -- write tests/data/plantcaduceus/: PlantCaduceus parity fixtures made by the public
reference code run in float64 (run once, outputs committed; tests/test_caduceus.c reads them).

PlantCaduceus (kuleshov-group/PlantCaduceus_l20 ... _l32) is Caduceus-PS (`rcps: true`) with its own config: the GPN
vocabulary of its tokenizer.json ([PAD]=0 [MASK]=1 [UNK]=2 a=3 c=4 g=5 t=6, lower-casing, vocab_size 8), the
complement map {3<->6, 4<->5}, `residual_in_fp32: true`, architectures ["Caduceus"] (so its pytorch_model.bin holds
the base model's state dict: `backbone.` names, no LM head, the tied BiMamba projections as shared storage).

Usage (needs torch, einops, transformers 4.38.1 and tokenizers; e.g. /work/venv plus a pip --target folder):

    PYTHONPATH=/path/to/transformers-4.38.1 python3 tests/make_plantcaduceus_fixture.py CADUCEUS_GIT MAMBA_GIT FASTA

CADUCEUS_GIT  a clone of github.com/kuleshov-group/caduceus (read at commit 0060a6d, as the other Caduceus fixtures)
MAMBA_GIT     a clone of github.com/state-spaces/mamba (read at v1.2.0.post1 = 34076d6, the version Caduceus pins)
FASTA         the lambda-phage records of the Caduceus fixture sets (tests/data/caduceus-ps/input.fa)

The reference files are read from git and imported from a temporary folder, never copied into this repository:
caduceus/{configuration_caduceus,modeling_caduceus,modeling_rcps}.py; mamba_ssm/modules/mamba_simple.py (Mamba,
Block) and mamba_ssm/ops/selective_scan_interface.py (selective_scan_ref).  Stand-ins, as for the other Caduceus
fixtures: the Triton kernels are replaced by mamba's own reference functions (rms_norm_ref and layer_norm_ref, taken
from mamba_ssm/ops/triton/layernorm.py by their source text; rms_norm_fn := rms_norm_ref with the fused add);
selective_scan_fn := selective_scan_ref; no causal_conv1d (Mamba's nn.Conv1d path); Mamba.use_fast_path off.  The
only edit to the reference code: every `.float()` becomes "at least float32" so that the float64 run is really
float64 (a no-op in float32), and residual_in_fp32 likewise keeps float64 residuals.
"""
import ast
import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_ckpt_fixtures import write_safetensors   # noqa: E402  (the safetensors writer of the checkpoint fixtures)

CADUCEUS_COMMIT = "0060a6d8079b6a040fc55d505e15972a327b70a6"
MAMBA_COMMIT = "34076d664838588a3c97727b263478ab9f621a07"   # v1.2.0.post1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "plantcaduceus")
D_MODEL, N_LAYER = 48, 2
SEED_INIT, SEED_NOISE = 20261203, 20261204

# the GPN tokenizer PlantCaduceus ships (tokenizer.json of kuleshov-group/PlantCaduceus_*; gonzalobenegas/tokenizer-dna-mlm)
TOKENIZER = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True} for i, t in enumerate(["[PAD]", "[MASK]", "[UNK]"])],
    "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None,
    "decoder": None,
    "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False,
              "vocab": {"[PAD]": 0, "[MASK]": 1, "[UNK]": 2, "a": 3, "c": 4, "g": 5, "t": 6}, "merges": []},
}


def git_show(repo, commit, path):
    return subprocess.run(["git", "-C", repo, "show", "%s:%s" % (commit, path)], check=True,
                          capture_output=True).stdout.decode()


def at_least_32(src):
    return src.replace(".float()", "._hd_atleast32()")


def install_reference(caduceus_git, mamba_git, tmp):
    torch.Tensor._hd_atleast32 = lambda t: t if t.dtype == torch.float64 else t.float()
    sys.modules["selective_scan_cuda"] = types.ModuleType("selective_scan_cuda")   # imported, never called
    pkg = os.path.join(tmp, "mamba_ssm")
    for d in ["", "modules", "ops", "ops/triton"]:
        os.makedirs(os.path.join(pkg, d), exist_ok=True)
        open(os.path.join(pkg, d, "__init__.py"), "w").close()
    for path in ["mamba_ssm/modules/mamba_simple.py", "mamba_ssm/ops/selective_scan_interface.py"]:
        with open(os.path.join(tmp, path), "w") as f:
            f.write(at_least_32(git_show(mamba_git, MAMBA_COMMIT, path)))
    # the Triton layer norm module: mamba's own reference functions and RMSNorm class, taken by their source text
    ln = git_show(mamba_git, MAMBA_COMMIT, "mamba_ssm/ops/triton/layernorm.py")
    tree = ast.parse(ln)
    keep = [ast.get_source_segment(ln, n) for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in ("layer_norm_ref", "rms_norm_ref", "RMSNorm")]
    stand_in = '''

def _fused(ref, x, weight, bias, residual, eps, prenorm, residual_in_fp32):
    # the Triton kernel's semantics: residual_out = x + residual, in float32 when residual_in_fp32 (at least)
    out, res = ref(x, weight, bias, residual=residual, eps=eps, prenorm=True)
    if residual is None and residual_in_fp32:
        res = res._hd_atleast32()
    return (out, res) if prenorm else out


def layer_norm_fn(x, weight, bias, residual=None, eps=1e-6, prenorm=False, residual_in_fp32=False, is_rms_norm=False):
    return _fused(rms_norm_ref if is_rms_norm else layer_norm_ref, x, weight, bias, residual, eps, prenorm,
                  residual_in_fp32)


def rms_norm_fn(x, weight, bias, residual=None, prenorm=False, residual_in_fp32=False, eps=1e-6):
    return _fused(rms_norm_ref, x, weight, bias, residual, eps, prenorm, residual_in_fp32)
'''
    with open(os.path.join(pkg, "ops/triton/layernorm.py"), "w") as f:
        f.write("import torch\nimport torch.nn.functional as F\n\n\n" + at_least_32("\n\n\n".join(keep)) + stand_in)
    cad = os.path.join(tmp, "caduceus")
    os.makedirs(cad)
    open(os.path.join(cad, "__init__.py"), "w").close()
    for name in ["configuration_caduceus", "modeling_caduceus", "modeling_rcps"]:
        with open(os.path.join(cad, name + ".py"), "w") as f:
            f.write(at_least_32(git_show(caduceus_git, CADUCEUS_COMMIT, "caduceus/%s.py" % name)))
    sys.path.insert(0, tmp)
    import mamba_ssm.modules.mamba_simple as ms
    from mamba_ssm.ops.selective_scan_interface import selective_scan_ref
    assert ms.causal_conv1d_fn is None
    ms.selective_scan_fn = selective_scan_ref
    from caduceus.configuration_caduceus import CaduceusConfig
    from caduceus.modeling_caduceus import CaduceusForMaskedLM
    return CaduceusConfig, CaduceusForMaskedLM, ms.Mamba


def read_fasta(path):
    recs, name = collections.OrderedDict(), None
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            recs[name] = []
        elif name:
            recs[name].append(line)
    return collections.OrderedDict((k, "".join(v)) for k, v in recs.items())


def rel_f(a, b):
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm()) if float(b.norm()) else float((a - b).norm())


def perturbed_model(CaduceusForMaskedLM, Mamba, config, seed_init, seed_noise):
    """the reference model of `config` on its slow (CPU) path, every parameter (shared ones once) perturbed by
    noise of its own scale (0.2 for the all-ones ones, 0.1 for the all-zero biases)"""
    torch.manual_seed(seed_init)
    model = CaduceusForMaskedLM(config).eval()
    for mod in model.modules():
        if isinstance(mod, Mamba):
            mod.use_fast_path = False   # mamba_inner_fn needs CUDA; the reference path is the slow one
    gen = torch.Generator().manual_seed(seed_noise)
    seen = set()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if id(p) in seen:
                continue
            seen.add(id(p))
            sd = float(p.std()) if p.numel() > 1 else 0.0
            sigma = sd if sd > 1e-6 else (0.2 if float(p.abs().max()) > 0.5 else 0.1)
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * sigma)
    return model


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    caduceus_git, mamba_git, fasta = sys.argv[1:]
    tmp = tempfile.mkdtemp()
    try:
        CaduceusConfig, CaduceusForMaskedLM, Mamba = install_reference(caduceus_git, mamba_git, tmp)
        from tokenizers import Tokenizer
        tok = Tokenizer.from_str(json.dumps(TOKENIZER))

        cfg = dict(
            architectures=["Caduceus"],
            auto_map={"AutoConfig": "configuration_caduceus.CaduceusConfig",
                      "AutoModel": "modeling_caduceus.Caduceus",
                      "AutoModelForMaskedLM": "modeling_caduceus.CaduceusForMaskedLM",
                      "AutoModelForSequenceClassification": "modeling_caduceus.CaduceusForSequenceClassification"},
            bidirectional=True, bidirectional_strategy="add", bidirectional_weight_tie=True,
            complement_map={str(i): c for i, c in enumerate([0, 1, 2, 6, 5, 4, 3, 7])},
            d_model=D_MODEL, fused_add_norm=True,
            initializer_cfg={"initializer_range": 0.02, "n_residuals_per_layer": 1, "rescale_prenorm_residual": True},
            model_type="caduceus", n_layer=N_LAYER, norm_epsilon=1e-5, pad_vocab_size_multiple=8, rcps=True,
            residual_in_fp32=True, rms_norm=True,
            ssm_cfg={"bias": False, "conv_bias": True, "d_conv": 4, "d_state": 16, "dt_init": "random",
                     "dt_init_floor": 1e-4, "dt_max": 0.1, "dt_min": 0.001, "dt_rank": "auto", "dt_scale": 1.0,
                     "expand": 2, "use_fast_path": True},
            torch_dtype="float32", transformers_version="4.38.1", vocab_size=8)
        config = CaduceusConfig(**{k: v for k, v in cfg.items() if k not in ("model_type", "transformers_version")})
        model = perturbed_model(CaduceusForMaskedLM, Mamba, config, SEED_INIT, SEED_NOISE)

        os.makedirs(OUT, exist_ok=True)
        # the checkpoint as PlantCaduceus ships it: torch.save of the base model's state dict (shared storages kept)
        torch.save(model.caduceus.state_dict(), os.path.join(OUT, "pytorch_model.bin"))
        with open(os.path.join(OUT, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        with open(os.path.join(OUT, "tokenizer.json"), "w") as f:
            json.dump(TOKENIZER, f, indent=2)
            f.write("\n")

        # input: the Caduceus fixture records, the 1,024-base one cut to PlantCaduceus' 512
        recs = read_fasta(fasta)
        recs["seq6"] = recs["seq6"][:512]
        with open(os.path.join(OUT, "input.fa"), "w") as f:
            for name, s in recs.items():
                f.write(">%s\n" % name + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60)))

        expected, table = collections.OrderedDict(), []
        m64 = CaduceusForMaskedLM(config).eval()
        m64.load_state_dict(model.state_dict())
        m64 = m64.double()
        for mod in m64.modules():
            if isinstance(mod, Mamba):
                mod.use_fast_path = False
        for name, s in recs.items():
            ids = tok.encode(s, add_special_tokens=False).ids
            assert len(ids) == len(s), name
            x = torch.tensor([ids], dtype=torch.long)
            with torch.no_grad():
                out64 = m64(input_ids=x, output_hidden_states=True)
                out32 = model(input_ids=x, output_hidden_states=True)
            h64, l64 = out64.hidden_states[-1][0], out64.logits[0]
            h32, l32 = out32.hidden_states[-1][0], out32.logits[0]
            expected["tokens." + name] = torch.tensor(ids, dtype=torch.int32)
            expected["hidden." + name] = h64.float()
            expected["logits." + name] = l64.float()
            table.append((name, len(ids), rel_f(h32, h64), float((h32.double() - h64).abs().max()),
                          rel_f(l32, l64), float((l32.double() - l64).abs().max())))
        write_safetensors(os.path.join(OUT, "expected.safetensors"), expected)
        print("record  L  rel_F hidden fp32  max_abs  rel_F logits fp32  max_abs")
        for row in table:
            print("%s %5d  %.2e  %.2e  %.2e  %.2e" % row)
        for fn in sorted(os.listdir(OUT)):
            p = os.path.join(OUT, fn)
            print("%-22s %9d  %s" % (fn, os.path.getsize(p), hashlib.sha256(open(p, "rb").read()).hexdigest()))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
