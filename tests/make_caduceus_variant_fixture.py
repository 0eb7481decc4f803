#!/usr/bin/env python3
"""make_caduceus_variant_fixture.py -- write tests/data/caduceus-variant/: a Caduceus-PS model with a configuration
unlike the released ones and the other caduceus-* sets, with the outputs of the public reference code run in float64
(run once, outputs committed; tests/test_caduceus.c reads them).

Configuration (docs/models.md §4.1, §4.5): rcps true (fused add-norm, so the residual halves swap), d_model 40,
n_layer 2, bidirectional_strategy "ew_multiply" (the two directions' out_proj outputs multiplied),
bidirectional_weight_tie false (mamba_rev has in_proj/out_proj of its own), rms_norm false (LayerNorm with a bias in
the blocks and the final norm), ssm_cfg bias true (in_proj/out_proj biases), expand 1.5 (E = int(1.5·40) = 60),
d_state 8, d_conv 3, dt_rank "auto" (3), norm_epsilon 1e-4.

Usage (needs torch and einops, e.g. /work/venv):

    python3 tests/make_caduceus_variant_fixture.py CADUCEUS_GIT MAMBA_GIT FASTA

CADUCEUS_GIT  a clone of github.com/kuleshov-group/caduceus (read at commit 0060a6d, as the other Caduceus fixtures)
MAMBA_GIT     a clone of github.com/state-spaces/mamba (read at v1.2.0.post1 = 34076d6, the version Caduceus pins)
FASTA         tests/data/caduceus-ps/input.fa (lambda-phage records the new ones are cut from)

The reference is installed from git into a temporary folder exactly as make_plantcaduceus_fixture.py does
(install_reference: selective_scan_ref, mamba's rms_norm_ref/layer_norm_ref for the Triton kernels, the slow
nn.Conv1d path, `.float()` made "at least float32"); the only other stand-ins are a minimal `transformers` package
(PretrainedConfig storing its keywords, PreTrainedModel as an nn.Module whose post_init initialises and calls tie_weights,
which the model overrides to tie its LM head to the embedding, the output dataclasses), which touch the initialisation and the output containers, not the forward.
"""
import collections
import copy
import hashlib
import json
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_ckpt_fixtures import write_safetensors   # noqa: E402
from make_plantcaduceus_fixture import install_reference, perturbed_model, read_fasta, rel_f   # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "caduceus-variant")
SEED_INIT, SEED_NOISE = 20261209, 20261210
IDS = {"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}
CONFIG = dict(
    architectures=["CaduceusForMaskedLM"], bidirectional=True, bidirectional_strategy="ew_multiply",
    bidirectional_weight_tie=False,
    complement_map={str(i): c for i, c in enumerate([0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15])},
    d_model=40, fused_add_norm=True,
    initializer_cfg={"initializer_range": 0.02, "n_residuals_per_layer": 1, "rescale_prenorm_residual": True},
    model_type="caduceus", n_layer=2, norm_epsilon=1e-4, pad_vocab_size_multiple=8, rcps=True,
    residual_in_fp32=False, rms_norm=False,
    ssm_cfg={"bias": True, "conv_bias": True, "d_conv": 3, "d_state": 8, "dt_init": "random", "dt_init_floor": 1e-4,
             "dt_max": 0.1, "dt_min": 0.001, "dt_rank": "auto", "dt_scale": 1.0, "expand": 1.5, "use_fast_path": True},
    torch_dtype="float32", vocab_size=16)

TRANSFORMERS = {
    "__init__.py": '''import torch.nn as _nn


class PretrainedConfig:
    output_hidden_states, use_return_dict, pad_token_id, tie_word_embeddings, problem_type = False, True, None, True, None

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


class PreTrainedModel(_nn.Module):
    def __init__(self, config, *a, **k):
        super().__init__()
        self.config = config

    def post_init(self):
        self.apply(self._init_weights)
        self.tie_weights()

    def tie_weights(self):
        self.get_output_embeddings().weight = self.get_input_embeddings().weight
''',
    "modeling_outputs.py": '''from dataclasses import dataclass, fields
from typing import Any


class _Output:   # indexable as a tuple of its non-None fields, as transformers' ModelOutput
    def __getitem__(self, i):
        return tuple(getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None)[i]


@dataclass
class BaseModelOutputWithNoAttention(_Output):
    last_hidden_state: Any = None
    hidden_states: Any = None


@dataclass
class MaskedLMOutput(_Output):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None


@dataclass
class SequenceClassifierOutput(_Output):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
''',
}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    caduceus_git, mamba_git, fasta = sys.argv[1:]
    tmp = tempfile.mkdtemp()
    try:
        os.makedirs(os.path.join(tmp, "transformers"))
        for fn, text in TRANSFORMERS.items():
            with open(os.path.join(tmp, "transformers", fn), "w") as f:
                f.write(text)
        sys.path.insert(0, tmp)
        CaduceusConfig, CaduceusForMaskedLM, Mamba = install_reference(caduceus_git, mamba_git, tmp)
        config = CaduceusConfig(**{k: copy.deepcopy(v) for k, v in CONFIG.items() if k != "model_type"})
        model = perturbed_model(CaduceusForMaskedLM, Mamba, config, SEED_INIT, SEED_NOISE)
        # HF saving: aliased tensors once (the LM head tied to the embedding is dropped)
        state, seen = collections.OrderedDict(), set()
        for k, v in model.state_dict().items():
            if (v.data_ptr(), tuple(v.shape)) in seen:
                continue
            seen.add((v.data_ptr(), tuple(v.shape)))
            state[k] = v.float().contiguous().clone() if v.dtype.is_floating_point else v.clone()
        assert "lm_head.lm_head.weight" not in state
        assert "caduceus.backbone.layers.0.mixer.submodule.mamba_rev.in_proj.bias" in state
        os.makedirs(OUT, exist_ok=True)
        write_safetensors(os.path.join(OUT, "model.safetensors"), state)
        with open(os.path.join(OUT, "config.json"), "w") as f:
            json.dump(CONFIG, f, indent=2, sort_keys=True)
            f.write("\n")

        src = read_fasta(fasta)
        recs = collections.OrderedDict([("seq1", src["seq1"][:1]), ("seq2", src["seq2"][:2]),
                                        ("seq3", src["seq3"][:4] + src["seq4"][:3]), ("seq4", src["seq4"][:64]),
                                        ("seq5", src["seq7"][:150])])
        with open(os.path.join(OUT, "input.fa"), "w") as f:
            for name, s in recs.items():
                f.write(">%s\n" % name + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60)))

        expected, table = collections.OrderedDict(), []
        m64 = copy.deepcopy(model).double()
        for name, s in recs.items():
            x = torch.tensor([[IDS.get(c, 6) for c in s.upper()]], dtype=torch.long)
            with torch.no_grad():
                h64 = m64.caduceus(x, return_dict=True).last_hidden_state[0]
                l64 = m64(x).logits[0]
                h32 = model.caduceus(x, return_dict=True).last_hidden_state[0]
                l32 = model(x).logits[0]
            expected["tokens." + name] = x[0].to(torch.int32)
            expected["hidden." + name] = h64.float()
            expected["logits." + name] = l64.float()
            table.append((name, x.shape[1], rel_f(h32, h64), rel_f(l32, l64)))
        write_safetensors(os.path.join(OUT, "expected.safetensors"), expected)
        print("record  L  rel_F hidden fp32  rel_F logits fp32")
        for row in table:
            print("%s %5d  %.2e  %.2e" % row)
        for fn in sorted(os.listdir(OUT)):
            p = os.path.join(OUT, fn)
            print("%-22s %9d  %s" % (fn, os.path.getsize(p), hashlib.sha256(open(p, "rb").read()).hexdigest()))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
