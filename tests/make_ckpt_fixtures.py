#!/usr/bin/python3
"""make_ckpt_fixtures.py -- write the PyTorch checkpoint fixtures of tests/data/ckpt/ (run once, outputs committed).

Needs Debian's python3-torch (1.13) and numpy; run with the system interpreter from the repository root:

    /usr/bin/python3 tests/make_ckpt_fixtures.py

The tensors are the tiny fixture weights of tests/data/hyenadna-tiny and tests/data/xlstm-mlstm (read from their
model.safetensors with the few lines of header parsing below), re-packed the way the public checkpoints carry them:

  hyenadna-lightning.ckpt  PyTorch-Lightning checkpoint of HyenaDNA: state_dict with the Lightning names
                           (model.backbone.…, model.lm_head.weight), implicit_filter.{1,3,5}.freq as three names of
                           one storage, torchmetrics entries, Adam optimizer state, lr scheduler, callbacks, and
                           hyper_parameters as omegaconf-like DictConfig/ListConfig/AnyNode objects (stand-in classes
                           below, pickled under omegaconf's module and class names; omegaconf itself is not needed).
  xlstm-lightning.ckpt     the same for DNA-xLSTM (hyper_parameters.model = {_name_, config: {...}}).
  xlstm-plain.bin          a bare state dict saved with torch.save (an HF pytorch_model.bin); needs --config.
  misc.pt                  {'model': {...}, 'optimizer': ...}: F16/BF16/I64/I32 tensors, a transposed view, row and
                           column views with storage offsets, a scalar and an empty tensor.
  misc-expected.safetensors  the contiguous tensors misc.pt must convert to.
"""
import collections
import json
import os
import struct
import sys
import types

import numpy as np
import torch

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "data", "ckpt")


def read_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    out = collections.OrderedDict()
    for name in sorted(hdr):
        if name == "__metadata__":
            continue
        v = hdr[name]
        assert v["dtype"] == "F32", name
        lo, hi = v["data_offsets"]
        a = np.frombuffer(b[8 + n + lo:8 + n + hi], dtype="<f4").reshape(v["shape"]).copy()
        out[name] = torch.from_numpy(a)
    return out


def write_safetensors(path, tensors):
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}
    hdr, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        hdr[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---------------------------------------------------------------- omegaconf stand-ins
# The classes pickle exactly like omegaconf 2.x objects do at protocol 2: NEWOBJ of the class, then BUILD with the
# __getstate__ dict (_content / _val, _metadata, _parent with back-references to the parent container).
def _module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m


_mods = {n: _module(n) for n in ("omegaconf", "omegaconf.base", "omegaconf.dictconfig", "omegaconf.listconfig",
                                 "omegaconf.nodes")}


class Metadata:
    def __init__(self, ref_type=None, object_type=None, optional=True, key=None):
        self.ref_type, self.object_type, self.optional, self.key = ref_type, object_type, optional, key
        self.flags = {}
        self.flags_root = False
        self.resolver_cache = collections.defaultdict(dict)


class ContainerMetadata(Metadata):
    def __init__(self, key=None, object_type=None):
        super().__init__(ref_type=object, object_type=object_type, key=key)
        self.key_type = object
        self.element_type = object


class AnyNode:
    def __init__(self, value, key, parent):
        self._val, self._parent = value, parent
        self._metadata = Metadata(ref_type=object, key=key)

    def __getstate__(self):
        return dict(self.__dict__)


class DictConfig:
    def __init__(self, content, key=None, parent=None):
        self._parent = parent
        self._metadata = ContainerMetadata(key=key, object_type=dict)
        self._content = {k: _node(v, k, self) for k, v in content.items()}

    def __getstate__(self):
        return dict(self.__dict__)


class ListConfig:
    def __init__(self, content, key=None, parent=None):
        self._parent = parent
        self._metadata = ContainerMetadata(key=key, object_type=list)
        self._content = [_node(v, i, self) for i, v in enumerate(content)]

    def __getstate__(self):
        return dict(self.__dict__)


def _node(v, key, parent):
    if isinstance(v, dict):
        return DictConfig(v, key, parent)
    if isinstance(v, (list, tuple)):
        return ListConfig(v, key, parent)
    return AnyNode(v, key, parent)


for cls, mod in ((Metadata, "omegaconf.base"), (ContainerMetadata, "omegaconf.base"), (AnyNode, "omegaconf.nodes"),
                 (DictConfig, "omegaconf.dictconfig"), (ListConfig, "omegaconf.listconfig")):
    cls.__module__ = mod
    setattr(_mods[mod], cls.__name__, cls)


# ---------------------------------------------------------------- Lightning-style checkpoints
def adam_state(params):
    """Adam state for the first few parameters (keeps the fixture small; the real files hold every parameter)."""
    g = torch.Generator().manual_seed(7)
    state = {}
    for i, p in enumerate(params[:4]):
        state[i] = {"step": torch.tensor(1000.0), "exp_avg": torch.randn(p.shape, generator=g) * 1e-3,
                    "exp_avg_sq": torch.rand(p.shape, generator=g) * 1e-6}
    return [{"state": state, "param_groups": [{"lr": 6e-4, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1,
                                                "amsgrad": False, "params": list(range(len(params)))}]}]


def lightning(state_dict, model_cfg, params):
    hp = DictConfig({
        "train": {"seed": 2222, "interval": "step", "monitor": "val/loss", "mode": "min"},
        "trainer": {"accelerator": "gpu", "devices": 1, "max_epochs": 100, "precision": 16},
        "loader": {"batch_size": 256, "num_workers": 4},
        "dataset": {"_name_": "hg38", "max_length": 1024, "tokenizer_name": "char", "add_eos": True},
        "optimizer": {"_name_": "adamw", "lr": 6e-4, "weight_decay": 0.1, "betas": [0.9, 0.999]},
        "scheduler": {"_name_": "cosine_warmup_timm", "t_in_epochs": False, "t_initial": 10000},
        "model": model_cfg,
    })
    return {
        "epoch": 3,
        "global_step": 1000,
        "pytorch-lightning_version": "1.8.6",
        "state_dict": state_dict,
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 4, "completed": 3}}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val/loss', 'mode': 'min'}": {
            "best_model_score": torch.tensor(1.1875), "best_model_path": "checkpoints/val/loss.ckpt",
            "dirpath": "checkpoints", "best_k_models": {}}},
        "optimizer_states": adam_state(params),
        "lr_schedulers": [{"base_lrs": [6e-4], "last_epoch": 1000, "_step_count": 1001}],
        "hparams_name": "config",
        "hyper_parameters": hp,
        "hparams_type": DictConfig,
    }


def hyena():
    src = read_safetensors(os.path.join(ROOT, "data", "hyenadna-tiny", "model.safetensors"))
    sd = collections.OrderedDict()
    for name, t in src.items():
        new = "model.lm_head.weight" if name == "lm_head.weight" else name.replace("hyena.backbone.", "model.backbone.", 1)
        sd[new] = t
        if new.endswith("implicit_filter.1.freq"):   # one Sin module shared by indices 1, 3, 5: three names, one storage
            sd[new.replace(".1.freq", ".3.freq")] = t
            sd[new.replace(".1.freq", ".5.freq")] = t
    sd["train_torchmetrics.perplexity.total"] = torch.tensor(12345.0)
    sd["train_torchmetrics.perplexity.count"] = torch.tensor(1000, dtype=torch.int64)
    cfg = json.load(open(os.path.join(ROOT, "data", "hyenadna-tiny", "config.json")))
    model_cfg = {   # the original Lightning config.json layout (docs/models.md §3.3.2)
        "_name_": "lm", "d_model": cfg["d_model"], "n_layer": cfg["n_layer"], "d_inner": cfg["d_inner"],
        "vocab_size": cfg["vocab_size"], "resid_dropout": 0.0, "embed_dropout": 0.1, "fused_mlp": False,
        "fused_dropout_add_ln": True, "residual_in_fp32": True, "pad_vocab_size_multiple": 8,
        "return_hidden_state": True,
        "layer": {"_name_": "hyena", "emb_dim": 5, "filter_order": 64, "local_order": 3,
                  "l_max": cfg["max_seq_len"], "modulate": True, "w": 10, "lr": 6e-4, "wd": 0.0, "lr_pos_emb": 0.0},
    }
    params = [t for n, t in sd.items() if "torchmetrics" not in n]
    torch.save(lightning(sd, model_cfg, params), os.path.join(OUT, "hyenadna-lightning.ckpt"))


def xlstm():
    sd = read_safetensors(os.path.join(ROOT, "data", "xlstm-mlstm", "model.safetensors"))
    cfg = json.load(open(os.path.join(ROOT, "data", "xlstm-mlstm", "config.json")))
    model_cfg = {"_name_": "dna_xlstm", "config": cfg["config"]}
    torch.save(lightning(sd, model_cfg, list(sd.values())), os.path.join(OUT, "xlstm-lightning.ckpt"))
    torch.save(sd, os.path.join(OUT, "xlstm-plain.bin"))


def misc():
    g = torch.Generator().manual_seed(11)
    w = torch.randn(4, 6, generator=g)
    model = collections.OrderedDict()
    model["w"] = w
    model["w_t"] = w.t()                  # strides (1, 6): not contiguous
    model["w_row"] = w[2]                 # storage offset 12 elements
    model["w_col"] = w[:, 3]              # offset 3, stride 6
    model["h"] = torch.randn(3, 5, generator=g).half()
    model["b"] = torch.randn(2, 3, 4, generator=g).bfloat16()
    model["b_perm"] = model["b"].permute(2, 0, 1)
    model["i64"] = torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4)
    model["i32"] = torch.arange(7, dtype=torch.int32) * 1000 - 3000
    model["scalar"] = torch.tensor(3.5)
    model["empty"] = torch.zeros(0, 3)
    obj = {"model": model, "optimizer": {"state": {0: {"momentum_buffer": torch.ones(4, 6)}}}, "epoch": 1,
           "args": types.SimpleNamespace(lr=0.1, arch="toy")}
    torch.save(obj, os.path.join(OUT, "misc.pt"))
    write_safetensors(os.path.join(OUT, "misc-expected.safetensors"), model)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    hyena()
    xlstm()
    misc()
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))
