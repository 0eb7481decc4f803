/* make_model.c -- write a HyenaDNA model with random weights (config.json + model.safetensors) for
 * benchmarks: the tensor names and shapes of the public Hugging Face checkpoints, pos_emb.z/t and
 * modulation.deltas as the reference constructor computes them (docs/models.md §3.4.5), the other weights
 * drawn from a seeded generator at the scale of the reference initialisation.  The LM head is tied
 * (no lm_head.weight), as in the released Lightning checkpoints (the -hf files store a copy of the
 * embedding as lm_head.weight; docs/models.md §3.3).
 *
 *   make_model [-a hyena|mlstm|slstm] [-b] [-c CHUNK] [-d D] [-n LAYERS] [-f D_INNER] [-L MAX_SEQ_LEN] [-s SEED] OUTDIR
 *
 * Defaults: the large-1m shape (d_model 256, 8 layers, d_inner 1024, max_seq_len 1000002).
 * -a mlstm / slstm: a unidirectional (causal) DNA-xLSTM instead, every block mLSTM (the released runs'
 * block, §5.6: inner width 2·D rounded down to 64, 4 heads, RoPE, biases, chunkwise 64) or every block
 * sLSTM (§5.8: 4 heads, FFN width 1.1·D rounded down to 8), in the layout of the converted Lightning
 * checkpoints (model_config.json + model.safetensors); -L is max_length, -f is ignored.  -b makes it
 * bidirectional (weight-shared, §5.4: the released masked-LM runs), -c sets the mLSTM chunk (the
 * pre-training scripts use 1024). */
#include "safetensors.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t S = 42;

static double unif(void)   /* [0, 1) */
{
    S ^= S << 13;
    S ^= S >> 7;
    S ^= S << 17;
    return (double)(S >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(void)
{
    double u = unif(), v = unif();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

static float *buf;
static size_t buf_n;

static float *scratch(size_t n)
{
    if (n > buf_n) {
        free(buf);
        buf = malloc(n * sizeof(float));
        buf_n = n;
        if (!buf) { fprintf(stderr, "make_model: out of memory\n"); exit(2); }
    }
    return buf;
}

static hd_stw *W;

static void put(const char *name, const int64_t *shape, int ndim, const float *v)
{
    if (hd_stw_add(W, name, HD_F32, ndim, shape, v)) {
        fprintf(stderr, "make_model: %s\n", hd_error());
        hd_stw_abort(W);
        exit(2);
    }
}

/* a tensor of n values: mean + std·N(0,1), or uniform in [−a, a] when a > 0 */
static void put_rand(const char *name, const int64_t *shape, int ndim, double mean, double std, double a)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    float *v = scratch(n);
    for (size_t i = 0; i < n; i++) v[i] = (float)(a > 0 ? (2 * unif() - 1) * a : mean + std * gauss());
    put(name, shape, ndim, v);
}

#define NAME(...) (snprintf(nm, sizeof nm, __VA_ARGS__), nm)
#define SH(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* a DNA-xLSTM of N blocks, all mLSTM or all sLSTM (see the top of the file) */
static int write_xlstm(const char *dir, int slstm, int bidir, long chunk, long D, long N, long Lmax)
{
    const long V = 12, NH = 4, K = 4, bs = 4, Ei = (2 * D) / 64 * 64, U = (long)(1.1 * (double)D) / 8 * 8, DH = D / NH;
    if (!slstm && (Ei < 64 || Ei % NH || (Ei / NH) % 2)) { fprintf(stderr, "make_model: d_model %ld too small for mLSTM\n", D); return 1; }
    if (slstm && (D % NH || U < 1)) { fprintf(stderr, "make_model: d_model %ld is not a multiple of 4\n", D); return 1; }
    char path[4096];
    snprintf(path, sizeof path, "%s/model_config.json", dir);
    FILE *fp = fopen(path, "w");
    if (!fp) { fprintf(stderr, "make_model: %s: %s\n", path, strerror(errno)); return 2; }
    fprintf(fp, "{\n  \"config\": {\n    \"_target_\": \"models.dna_xlstm.modelling_xlstm.xLSTMConfig\",\n"
                "    \"d_model\": %ld, \"n_layer\": %ld, \"vocab_size\": %ld, \"max_length\": %ld,\n"
                "    \"m_conv1d_kernel_size\": %ld, \"m_qkv_proj_blocksize\": %ld, \"m_num_heads\": %ld,\n"
                "    \"m_proj_factor\": 2.0, \"m_backend\": \"chunkwise\", \"m_chunk_size\": %ld,\n"
                "    \"m_position_embeddings\": true, \"m_bias\": true, \"s_num_heads\": %ld,\n"
                "    \"s_conv1d_kernel_size\": %ld, \"s_proj_factor\": 1.1, \"s_round_proj_up_dim_up\": false,\n"
                "    \"s_round_proj_up_to_multiple_of\": 8, \"s_lstm_at\": [",
            D, N, V, Lmax, K, bs, NH, chunk, NH, K);
    for (long i = 0; slstm && i < N; i++) fprintf(fp, "%s%ld", i ? ", " : "", i);
    fprintf(fp, "],\n    \"bidirectional\": %s, \"rcps\": false\n  }\n}\n", bidir ? "true" : "false");
    if (fclose(fp)) { fprintf(stderr, "make_model: %s: write error\n", path); return 2; }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!(W = hd_stw_open(path))) { fprintf(stderr, "make_model: %s\n", hd_error()); return 2; }
    hd_stw_meta(W, "generator", "bench/make_model (random weights)");
    char nm[256];
    const char *pre = "model.backbone.";
    double sd = 0.02, out_sd = 0.02 / sqrt(2.0 * (double)N);
    put_rand(NAME("%stoken_embedding.weight", pre), SH(V, D), 0, 1.0, 0);
    for (long i = 0; i < N; i++) {
        char B[128];
        snprintf(B, sizeof B, "%sxlstm_block_stack.blocks.%ld.", pre, i);
        put_rand(NAME("%sxlstm_norm.weight", B), SH(D), 0, sd, 0);
        if (!slstm) {
            put_rand(NAME("%sxlstm.proj_up.weight", B), SH(2 * Ei, D), 0, sd, 0);
            put_rand(NAME("%sxlstm.proj_up.bias", B), SH(2 * Ei), 0, sd, 0);
            put_rand(NAME("%sxlstm.conv1d.conv.weight", B), SH(Ei, 1, K), 0, 0, 0.5);
            put_rand(NAME("%sxlstm.conv1d.conv.bias", B), SH(Ei), 0, 0, 0.5);
            const char *qkv[3] = {"q", "k", "v"};
            for (int j = 0; j < 3; j++) {
                put_rand(NAME("%sxlstm.%s_proj.weight", B, qkv[j]), SH(Ei / bs, bs, bs), 0, 0.5, 0);
                put_rand(NAME("%sxlstm.%s_proj.bias", B, qkv[j]), SH(Ei), 0, sd, 0);
            }
            put_rand(NAME("%sxlstm.learnable_skip", B), SH(Ei), 1, sd, 0);
            put_rand(NAME("%sxlstm.proj_down.weight", B), SH(D, Ei), 0, out_sd, 0);
            put_rand(NAME("%sxlstm.proj_down.bias", B), SH(D), 0, sd, 0);
            put_rand(NAME("%sxlstm.mlstm_cell.igate.weight", B), SH(NH, 3 * Ei), 0, sd, 0);
            put_rand(NAME("%sxlstm.mlstm_cell.igate.bias", B), SH(NH), 0, 0.1, 0);
            put_rand(NAME("%sxlstm.mlstm_cell.fgate.weight", B), SH(NH, 3 * Ei), 0, sd, 0);
            put_rand(NAME("%sxlstm.mlstm_cell.fgate.bias", B), SH(NH), 4.5, 1.0, 0);
            put_rand(NAME("%sxlstm.mlstm_cell.outnorm.weight", B), SH(Ei), 0, sd, 0);
        } else {
            put_rand(NAME("%sxlstm.conv1d.conv.weight", B), SH(D, 1, K), 0, 0, 0.5);
            put_rand(NAME("%sxlstm.conv1d.conv.bias", B), SH(D), 0, 0, 0.5);
            const char *g[4] = {"fgate", "igate", "zgate", "ogate"};
            for (int j = 0; j < 4; j++) put_rand(NAME("%sxlstm.%s.weight", B, g[j]), SH(NH, DH, DH), 0, 1 / sqrt((double)DH), 0);
            put_rand(NAME("%sxlstm.slstm_cell._recurrent_kernel_", B), SH(NH, DH, 4 * DH), 0, 1 / sqrt((double)DH), 0);
            put_rand(NAME("%sxlstm.slstm_cell._bias_", B), SH(NH * 4 * DH), 0, 0.5, 0);
            put_rand(NAME("%sxlstm.group_norm.weight", B), SH(D), 0, sd, 0);
            put_rand(NAME("%sffn_norm.weight", B), SH(D), 0, sd, 0);
            put_rand(NAME("%sffn.proj_up.weight", B), SH(2 * U, D), 0, sd, 0);
            put_rand(NAME("%sffn.proj_down.weight", B), SH(D, U), 0, out_sd, 0);
        }
    }
    put_rand(NAME("%sxlstm_block_stack.post_blocks_norm.weight", pre), SH(D), 0, sd, 0);
    put_rand(NAME("%slm_head.weight", pre), SH(V, D), 0, sd, 0);
    if (hd_stw_close(W)) { fprintf(stderr, "make_model: %s\n", hd_error()); return 2; }
    free(buf);
    printf("%s: DNA-xLSTM d_model %ld, %ld %s blocks, max_length %ld, %s (random weights)\n", dir, D, N,
           slstm ? "sLSTM" : "mLSTM", Lmax, bidir ? "bidirectional" : "unidirectional");
    return 0;
}

int main(int argc, char **argv)
{
    long D = 256, N = 8, F = 1024, Lmax = 1000002, chunk = 64;
    int c, arch = 0, bidir = 0;
    while ((c = getopt(argc, argv, "a:bc:d:n:f:L:s:h")) >= 0) {
        switch (c) {
        case 'a':
            if (!strcmp(optarg, "hyena")) arch = 0;
            else if (!strcmp(optarg, "mlstm")) arch = 1;
            else if (!strcmp(optarg, "slstm")) arch = 2;
            else { fprintf(stderr, "make_model: -a %s: expected hyena, mlstm or slstm\n", optarg); return 1; }
            break;
        case 'b': bidir = 1; break;
        case 'c': chunk = atol(optarg); break;
        case 'd': D = atol(optarg); break;
        case 'n': N = atol(optarg); break;
        case 'f': F = atol(optarg); break;
        case 'L': Lmax = atol(optarg); break;
        case 's': S = strtoull(optarg, NULL, 10) * 2654435761u + 1; break;
        case 'h':
            printf("Usage: make_model [-a hyena|mlstm|slstm] [-b] [-c CHUNK] [-d D] [-n LAYERS] [-f D_INNER] [-L MAX_SEQ_LEN] [-s SEED] OUTDIR\n");
            return 0;
        default: return 1;
        }
    }
    if (optind != argc - 1 || D < 2 || N < 1 || F < 1 || Lmax < 2 || chunk < 1) {
        fprintf(stderr, "Usage: make_model [-a hyena|mlstm|slstm] [-b] [-c CHUNK] [-d D] [-n LAYERS] [-f D_INNER] [-L MAX_SEQ_LEN] [-s SEED] OUTDIR\n");
        return 1;
    }
    const char *dir = argv[optind];
    if (mkdir(dir, 0777) && errno != EEXIST) { fprintf(stderr, "make_model: %s: %s\n", dir, strerror(errno)); return 2; }
    if (arch) return write_xlstm(dir, arch == 2, bidir, chunk, D, N, Lmax);
    const long E = 5, H = 64, rows = 16;

    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *fp = fopen(path, "w");
    if (!fp) { fprintf(stderr, "make_model: %s: %s\n", path, strerror(errno)); return 2; }
    fprintf(fp,
            "{\n  \"architectures\": [\"HyenaDNAForCausalLM\"],\n  \"model_type\": \"hyenadna\",\n"
            "  \"d_model\": %ld,\n  \"n_layer\": %ld,\n  \"d_inner\": %ld,\n  \"max_seq_len\": %ld,\n"
            "  \"emb_dim\": %ld,\n  \"filter_order\": %ld,\n  \"hyena_order\": 2,\n  \"num_inner_mlps\": 2,\n"
            "  \"short_filter_order\": 3,\n  \"activation_freq\": 10,\n  \"layer_norm_epsilon\": 1e-05,\n"
            "  \"vocab_size\": 12,\n  \"pad_vocab_size_multiple\": 8,\n  \"pad_token_id\": 4,\n"
            "  \"tie_word_embeddings\": true,\n  \"torch_dtype\": \"float32\"\n}\n",
            D, N, F, Lmax, E, H);
    if (fclose(fp)) { fprintf(stderr, "make_model: %s: write error\n", path); return 2; }

    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!(W = hd_stw_open(path))) { fprintf(stderr, "make_model: %s\n", hd_error()); return 2; }
    hd_stw_meta(W, "format", "pt");
    hd_stw_meta(W, "generator", "bench/make_model (random weights)");

    const char *pre = "hyena.backbone.";
    char nm[256];
    put_rand(NAME("%sembeddings.word_embeddings.weight", pre), SH(rows, D), 0, 0.02, 0);
    /* positional features (docs/models.md §3.4.5): t_i = i/(Lmax−1); z_i = [t, cos(f_b ω_i), −sin(f_b ω_i)] */
    float *t = malloc((size_t)Lmax * sizeof(float)), *z = malloc((size_t)Lmax * E * sizeof(float));
    if (!t || !z) { fprintf(stderr, "make_model: out of memory\n"); return 2; }
    const double f[2] = {1e-4, 1.0};
    for (long i = 0; i < Lmax; i++) {
        double ti = (double)i / (double)(Lmax - 1), w = 2 * M_PI * (double)i / (double)Lmax;
        t[i] = (float)ti;
        z[i * E + 0] = (float)ti;
        for (int b = 0; b < 2; b++) {
            z[i * E + 1 + b] = (float)cos(f[b] * w);
            z[i * E + 3 + b] = (float)-sin(f[b] * w);
        }
    }
    float *deltas = malloc((size_t)D * sizeof(float)), *freq = malloc((size_t)H * sizeof(float));
    double d0 = log(0.01) / 1.5, d1 = log(0.01) / 0.3;
    for (long c2 = 0; c2 < D; c2++) deltas[c2] = (float)(d0 + (d1 - d0) * (double)c2 / (double)(D - 1));
    for (long h = 0; h < H; h++) freq[h] = 10.0f;
    double out_std = 0.02 / sqrt(2.0 * (double)N);
    for (long i = 0; i < N; i++) {
        char L[96];
        snprintf(L, sizeof L, "%slayers.%ld.", pre, i);
        put_rand(NAME("%smixer.in_proj.weight", L), SH(3 * D, D), 0, 0.02, 0);
        put_rand(NAME("%smixer.in_proj.bias", L), SH(3 * D), 0, 0.02, 0);
        put_rand(NAME("%smixer.short_filter.weight", L), SH(3 * D, 1, 3), 0, 0, 1 / sqrt(3.0));
        put_rand(NAME("%smixer.short_filter.bias", L), SH(3 * D), 0, 0, 1 / sqrt(3.0));
        put_rand(NAME("%smixer.out_proj.weight", L), SH(D, D), 0, out_std, 0);
        put_rand(NAME("%smixer.out_proj.bias", L), SH(D), 0, 0.02, 0);
        put_rand(NAME("%smixer.filter_fn.bias", L), SH(D), 0, 1, 0);
        put(NAME("%smixer.filter_fn.pos_emb.z", L), SH(1, Lmax, E), z);
        put(NAME("%smixer.filter_fn.pos_emb.t", L), SH(1, Lmax, 1), t);
        put(NAME("%smixer.filter_fn.modulation.deltas", L), SH(1, 1, D), deltas);
        put_rand(NAME("%smixer.filter_fn.implicit_filter.0.weight", L), SH(H, E), 0, 0, 1 / sqrt((double)E));
        put_rand(NAME("%smixer.filter_fn.implicit_filter.0.bias", L), SH(H), 0, 0, 1 / sqrt((double)E));
        put(NAME("%smixer.filter_fn.implicit_filter.1.freq", L), SH(1, H), freq);
        for (int j = 2; j <= 4; j += 2) {
            put_rand(NAME("%smixer.filter_fn.implicit_filter.%d.weight", L, j), SH(H, H), 0, 0, 1 / sqrt((double)H));
            put_rand(NAME("%smixer.filter_fn.implicit_filter.%d.bias", L, j), SH(H), 0, 0, 1 / sqrt((double)H));
        }
        put_rand(NAME("%smixer.filter_fn.implicit_filter.6.weight", L), SH(D, H), 0, 0, 1 / sqrt((double)H));
        put_rand(NAME("%snorm1.weight", L), SH(D), 1, 0.02, 0);
        put_rand(NAME("%snorm1.bias", L), SH(D), 0, 0.02, 0);
        put_rand(NAME("%snorm2.weight", L), SH(D), 1, 0.02, 0);
        put_rand(NAME("%snorm2.bias", L), SH(D), 0, 0.02, 0);
        put_rand(NAME("%smlp.fc1.weight", L), SH(F, D), 0, 0.02, 0);
        put_rand(NAME("%smlp.fc1.bias", L), SH(F), 0, 0.02, 0);
        put_rand(NAME("%smlp.fc2.weight", L), SH(D, F), 0, out_std, 0);
        put_rand(NAME("%smlp.fc2.bias", L), SH(D), 0, 0.02, 0);
    }
    put_rand(NAME("%sln_f.weight", pre), SH(D), 1, 0.02, 0);
    put_rand(NAME("%sln_f.bias", pre), SH(D), 0, 0.02, 0);
    if (hd_stw_close(W)) { fprintf(stderr, "make_model: %s\n", hd_error()); return 2; }
    free(t); free(z); free(deltas); free(freq); free(buf);
    printf("%s: HyenaDNA d_model %ld, %ld layers, d_inner %ld, max_seq_len %ld (random weights)\n", dir, D, N, F, Lmax);
    return 0;
}
