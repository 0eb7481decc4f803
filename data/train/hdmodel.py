"""HyenaDNA (tiny shape) in PyTorch, exactly as MODELS.md section 3.4 specifies, plus a hand-written
safetensors writer/reader in the public `-hf` layout (LongSafari/hyenadna-tiny-1k-seqlen-hf).

Semantics: pre-norm residual blocks; Hyena order-2 mixer (in_proj, depthwise causal short conv of
width 3 padded by 2, split x0|x1|v, gate g = v*x1, causal long convolution by FFT of length 2L with
the skip term Dbias*g, output gate x0, out_proj); implicit filter MLP 5->64->64->64->D with one shared
Sin frequency, exponential modulation exp(-t|delta|) + 0.05; MLP with tanh GELU; LayerNorm eps 1e-5;
untied LM head over 16 rows.
"""
import json, math, struct
import torch
import torch.nn as nn
import torch.nn.functional as F

SHIFT = 0.05
CONFIG = {
    "activation_freq": 10,
    "architectures": ["HyenaDNAForCausalLM"],
    "auto_map": {
        "AutoConfig": "configuration_hyena.HyenaConfig",
        "AutoModel": "modeling_hyena.HyenaDNAModel",
        "AutoModelForCausalLM": "modeling_hyena.HyenaDNAForCausalLM",
        "AutoModelForSequenceClassification": "modeling_hyena.HyenaDNAForSequenceClassification",
    },
    "d_inner": 512, "d_model": 128, "emb_dim": 5, "embed_dropout": 0.1, "filter_order": 64,
    "hyena_dropout": 0.0, "hyena_filter_dropout": 0.0, "hyena_order": 2, "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05, "max_seq_len": 1026, "model_type": "hyenadna", "n_layer": 2,
    "num_inner_mlps": 2, "pad_token_id": 4, "pad_vocab_size_multiple": 8, "short_filter_order": 3,
    "tie_word_embeddings": False, "torch_dtype": "float32", "train_freq": True,
    "transformers_version": "4.35.0.dev0", "use_bias": True, "vocab_size": 12,
}


class Sin(nn.Module):
    def __init__(self, dim, w=10.0):
        super().__init__()
        self.freq = nn.Parameter(w * torch.ones(1, dim))

    def forward(self, x):
        return torch.sin(self.freq * x)


def positional_features(lmax, emb_dim=5):
    """pos_emb.z [1, Lmax, E] and pos_emb.t [1, Lmax, 1] exactly as the reference constructs them
    (MODELS.md 3.4.5; stored in the checkpoints, never trained)."""
    t = torch.linspace(0, 1, lmax)[None, :, None]
    bands = (emb_dim - 1) // 2
    t_rescaled = torch.linspace(0, lmax - 1, lmax)[None, :, None]
    w = 2 * math.pi * t_rescaled / lmax
    f = torch.linspace(1e-4, bands - 1, bands)[None, None]
    z = torch.exp(-1j * f * w)
    return torch.cat([t, z.real, z.imag], dim=-1), t


class HyenaFilter(nn.Module):
    def __init__(self, d, lmax, emb_dim=5, order=64, w=10.0):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(d))
        z, t = positional_features(lmax, emb_dim)
        self.register_buffer('z', z.float())
        self.register_buffer('t', t.float())
        self.sin = Sin(order, w)
        self.l0 = nn.Linear(emb_dim, order)
        self.l2 = nn.Linear(order, order)
        self.l4 = nn.Linear(order, order)
        self.l6 = nn.Linear(order, d, bias=False)
        max_decay, min_decay = math.log(1e-2) / 0.3, math.log(1e-2) / 1.5
        self.register_buffer('deltas', torch.linspace(min_decay, max_decay, d)[None, None])

    def filter(self, L):
        z, t = self.z[:, :L], self.t[:, :L]
        a = self.sin(self.l0(z))
        a = self.sin(self.l2(a))
        a = self.sin(self.l4(a))
        h = self.l6(a)                                  # [1, L, D]
        return h * (torch.exp(-t * self.deltas.abs()) + SHIFT)


class Mixer(nn.Module):
    def __init__(self, d, lmax):
        super().__init__()
        self.d = d
        self.in_proj = nn.Linear(d, 3 * d)
        self.out_proj = nn.Linear(d, d)
        self.short_filter = nn.Conv1d(3 * d, 3 * d, 3, padding=2, groups=3 * d)
        self.filter_fn = HyenaFilter(d, lmax)

    def forward(self, h):                               # h [B, L, D]
        B, L, D = h.shape
        p = self.in_proj(h).transpose(1, 2)             # [B, 3D, L]
        s = self.short_filter(p)[..., :L]
        x0, x1, v = s[:, :D], s[:, D:2 * D], s[:, 2 * D:]
        g = v * x1
        k = self.filter_fn.filter(L)[0].transpose(0, 1)  # [D, L]
        n = 2 * L
        K = torch.fft.rfft(k, n=n) / n
        U = torch.fft.rfft(g, n=n)
        y = torch.fft.irfft(U * K, n=n, norm='forward')[..., :L]
        y = y + g * self.filter_fn.bias[None, :, None]
        return self.out_proj((y * x0).transpose(1, 2))


class Block(nn.Module):
    def __init__(self, d, f, lmax):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.mixer = Mixer(d, lmax)
        self.fc1 = nn.Linear(d, f)
        self.fc2 = nn.Linear(f, d)

    def forward(self, r):
        r = r + self.mixer(self.norm1(r))
        return r + self.fc2(F.gelu(self.fc1(self.norm2(r)), approximate='tanh'))


class HyenaDNA(nn.Module):
    def __init__(self, d=128, n_layer=2, f=512, lmax=1026, seed=0):
        super().__init__()
        self.lmax = lmax
        self.emb = nn.Embedding(16, d)
        self.layers = nn.ModuleList([Block(d, f, lmax) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.lm_head = nn.Linear(d, 16, bias=False)
        std = 0.02
        for mod in [self.emb, self.lm_head] + [m for b in self.layers for m in (b.mixer.in_proj, b.fc1)]:
            nn.init.normal_(mod.weight, std=std)
        for b in self.layers:
            for mod in (b.mixer.out_proj, b.fc2):
                nn.init.normal_(mod.weight, std=std / math.sqrt(2 * n_layer))
            for mod in (b.mixer.in_proj, b.mixer.out_proj, b.fc1, b.fc2):
                nn.init.zeros_(mod.bias)

    def forward(self, ids, hidden=False):
        if ids.shape[1] > self.lmax:
            raise ValueError('sequence longer than max_seq_len')
        r = self.emb(ids)
        for b in self.layers:
            r = b(r)
        out = self.ln_f(r)
        return out if hidden else self.lm_head(out)

    # ---- public -hf layout -------------------------------------------------------------
    def hf_state(self):
        P = 'hyena.backbone.'
        st = {P + 'embeddings.word_embeddings.weight': self.emb.weight}
        for i, b in enumerate(self.layers):
            q = f'{P}layers.{i}.'
            m, fl = b.mixer, b.mixer.filter_fn
            st.update({
                q + 'mixer.in_proj.weight': m.in_proj.weight, q + 'mixer.in_proj.bias': m.in_proj.bias,
                q + 'mixer.out_proj.weight': m.out_proj.weight, q + 'mixer.out_proj.bias': m.out_proj.bias,
                q + 'mixer.short_filter.weight': m.short_filter.weight,
                q + 'mixer.short_filter.bias': m.short_filter.bias,
                q + 'mixer.filter_fn.bias': fl.bias,
                q + 'mixer.filter_fn.pos_emb.z': fl.z, q + 'mixer.filter_fn.pos_emb.t': fl.t,
                q + 'mixer.filter_fn.implicit_filter.0.weight': fl.l0.weight,
                q + 'mixer.filter_fn.implicit_filter.0.bias': fl.l0.bias,
                q + 'mixer.filter_fn.implicit_filter.1.freq': fl.sin.freq,
                q + 'mixer.filter_fn.implicit_filter.2.weight': fl.l2.weight,
                q + 'mixer.filter_fn.implicit_filter.2.bias': fl.l2.bias,
                q + 'mixer.filter_fn.implicit_filter.4.weight': fl.l4.weight,
                q + 'mixer.filter_fn.implicit_filter.4.bias': fl.l4.bias,
                q + 'mixer.filter_fn.implicit_filter.6.weight': fl.l6.weight,
                q + 'mixer.filter_fn.modulation.deltas': fl.deltas,
                q + 'norm1.weight': b.norm1.weight, q + 'norm1.bias': b.norm1.bias,
                q + 'norm2.weight': b.norm2.weight, q + 'norm2.bias': b.norm2.bias,
                q + 'mlp.fc1.weight': b.fc1.weight, q + 'mlp.fc1.bias': b.fc1.bias,
                q + 'mlp.fc2.weight': b.fc2.weight, q + 'mlp.fc2.bias': b.fc2.bias,
            })
        st[P + 'ln_f.weight'] = self.ln_f.weight
        st[P + 'ln_f.bias'] = self.ln_f.bias
        st['lm_head.weight'] = self.lm_head.weight
        return st

    def load_hf(self, tensors):
        with torch.no_grad():
            for k, v in self.hf_state().items():
                v.copy_(tensors[k].reshape(v.shape))


def write_safetensors(path, tensors, metadata=None):
    """8-byte little-endian header length, JSON header padded with spaces to a multiple of 8, data."""
    hdr, blobs, off = {}, [], 0
    if metadata:
        hdr['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = tensors[name].detach().to(torch.float32).contiguous().cpu().numpy()
        b = a.astype('<f4').tobytes()
        hdr[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    import os
    os.replace(tmp, path)


def read_safetensors(path):
    import numpy as np
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    dt = {'F32': '<f4', 'I32': '<i4', 'F64': '<f8', 'I64': '<i8'}
    for k, v in hdr.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt[v['dtype']]).copy()).reshape(v['shape'])
    return out


def export(model, outdir, metadata=None):
    import os
    os.makedirs(outdir, exist_ok=True)
    write_safetensors(os.path.join(outdir, 'model.safetensors'), model.hf_state(), metadata)
    with open(os.path.join(outdir, 'config.json.tmp'), 'w') as f:
        json.dump(CONFIG, f, indent=2, sort_keys=True)
        f.write('\n')
    os.replace(os.path.join(outdir, 'config.json.tmp'), os.path.join(outdir, 'config.json'))
