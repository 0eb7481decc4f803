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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_xlstm_variant_fixture import generate   # noqa: E402

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
    generate(OUT, CONFIG, SEED_INIT, SEED_NOISE, *sys.argv[1:])

if __name__ == "__main__":
    main()
