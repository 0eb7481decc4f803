#!/usr/bin/python3
"""make_xlstm_model.py -- write a random-weight DNA-xLSTM model (config.json + model.safetensors) for benchmarks.

The tensor names, shapes and configuration keys of the released runs (docs/models.md §5.1–5.2, §5.6): mLSTM
blocks, 4 heads, proj_factor 2, q/k/v block size 4, conv kernel 4, RoPE and biases on, bidirectional
(weight-shared), chunkwise cell, as the pre-training scripts configure them.  The public sizes:

  500k   d_model 128, 4 blocks        2m   d_model 256, 4 blocks

usage: bench/make_xlstm_model.py {500k|2m} OUTDIR [--max-length N] [--chunk C] [--seed S]
  --max-length sets the RoPE table (the released runs use 1,024 or 32,768; a forward may not be longer).
Needs only numpy (Debian python3-numpy).
"""
import argparse
import json
import os
import struct

import numpy as np

SIZES = {"500k": (128, 4), "2m": (256, 4)}


def weights(D, n_layer, vocab, seed):
    rng = np.random.default_rng(seed)
    NH, K, bs = 4, 4, 4
    Ei = int(2.0 * D) // 64 * 64          # inner width rounds down to a multiple of 64 (§5.2)
    w, pre = {}, "model.backbone."
    w[pre + "token_embedding.weight"] = rng.normal(0, 0.02, (vocab, D))
    w[pre + "lm_head.weight"] = rng.normal(0, D ** -0.5, (vocab, D))
    for i in range(n_layer):
        p = f"{pre}xlstm_block_stack.blocks.{i}."
        x = p + "xlstm."
        w[p + "xlstm_norm.weight"] = rng.normal(0, 0.1, D)
        w[x + "proj_up.weight"] = rng.normal(0, D ** -0.5, (2 * Ei, D))
        w[x + "proj_up.bias"] = rng.normal(0, 0.02, 2 * Ei)
        for q in ("q_proj", "k_proj", "v_proj"):
            w[x + q + ".weight"] = rng.normal(0, bs ** -0.5, (Ei // bs, bs, bs))
            w[x + q + ".bias"] = rng.normal(0, 0.02, Ei)
        w[x + "conv1d.conv.weight"] = rng.normal(0, 0.3, (Ei, 1, K))
        w[x + "conv1d.conv.bias"] = rng.normal(0, 0.1, Ei)
        w[x + "learnable_skip"] = 1 + rng.normal(0, 0.1, Ei)
        w[x + "mlstm_cell.igate.weight"] = rng.normal(0, 0.01, (NH, 3 * Ei))
        w[x + "mlstm_cell.igate.bias"] = rng.normal(0, 0.1, NH)
        w[x + "mlstm_cell.fgate.weight"] = rng.normal(0, 0.01, (NH, 3 * Ei))
        w[x + "mlstm_cell.fgate.bias"] = np.linspace(3.0, 6.0, NH)
        w[x + "mlstm_cell.outnorm.weight"] = rng.normal(0, 0.1, Ei)
        w[x + "proj_down.weight"] = rng.normal(0, Ei ** -0.5 / 2, (D, Ei))
        w[x + "proj_down.bias"] = rng.normal(0, 0.02, D)
    w[pre + "xlstm_block_stack.post_blocks_norm.weight"] = rng.normal(0, 0.1, D)
    return {k: v.astype(np.float32) for k, v in w.items()}


def config(D, n_layer, vocab, max_length, chunk):
    return {"config": {
        "_target_": "models.dna_xlstm.modelling_xlstm.xLSTMConfig", "d_model": D, "n_layer": n_layer,
        "vocab_size": vocab, "pad_vocab_size_multiple": 8, "max_length": max_length,
        "m_conv1d_kernel_size": 4, "m_conv1d_causal": True, "m_qkv_proj_blocksize": 4, "m_num_heads": 4,
        "m_proj_factor": 2.0, "m_backend": "chunkwise", "m_chunk_size": chunk, "m_backend_bidirectional": False,
        "m_position_embeddings": True, "m_bias": True, "s_num_heads": 4, "s_conv1d_kernel_size": 4,
        "s_conv1d_causal": True, "s_lstm_at": [], "s_proj_factor": 1.1, "s_round_proj_up_dim_up": False,
        "s_round_proj_up_to_multiple_of": 8, "s_position_embeddings": False, "dropout": 0.0, "bidirectional": True,
        "bidirectional_alternating": False, "rcps": False, "complement_map": None}}


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for k in sorted(tensors):
        b = np.ascontiguousarray(tensors[k]).tobytes()
        header[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("size", choices=sorted(SIZES))
    ap.add_argument("outdir")
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    D, n_layer = SIZES[a.size]
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "config.json"), "w") as f:
        json.dump(config(D, n_layer, 12, a.max_length, a.chunk), f, indent=2)
    write_safetensors(os.path.join(a.outdir, "model.safetensors"), weights(D, n_layer, 12, a.seed))


if __name__ == "__main__":
    main()
