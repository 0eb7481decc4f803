/* make_evo2.c -- a random-weight Evo 2 model in the layout of the released checkpoints (docs/models.md §6.2):
 * OUT_DIR/model.safetensors (BF16 matrices, norms, filters and biases; F32 log-poles and residues) and
 * OUT_DIR/config.yml (vortex keys).  The default shape is evo2_7b's (hidden 4096, 32 blocks
 * SMLASMLSMLASMLSMLASMLSMLASMLSMLA, 32 heads, inner 11264, filter groups 256, 1M context): a 13 GB file,
 * written in pieces, never held in memory.  Deterministic for a seed.  For benchmarks (bench/bench_evo2.sh);
 * the values are random but keep the activations finite at any length (decaying HCL poles, scaled matrices).
 *
 * usage: make_evo2 [-H HIDDEN] [-n LAYERS] [-a HEADS] [-i INNER] [-g GROUPS] [-p PATTERN] [-L MAX_SEQLEN]
 *                  [-r ROTARY_SCALE] [-s SEED] OUT_DIR
 *   PATTERN: one letter per block, S (HCS), M (HCM), L (HCL), A (attention) [the 7B pattern, repeated] */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

enum { F32, BF16 };
enum { T_EMB, T_NORM, T_MAT, T_SHORT, T_HCS, T_HCM, T_D, T_LOGP, T_RES, T_BIAS, T_INVF };

typedef struct {
    char name[96];
    int dtype, kind;
    int ndim;
    int64_t shape[3];
    size_t n, fan_in;
} tdesc;

static uint64_t rng;
static uint64_t next64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double unif(void) { return ((next64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static double gauss(void) { return sqrt(-2.0 * log(unif())) * cos(6.283185307179586 * unif()); }

static uint16_t bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);   /* round to nearest even */
    return (uint16_t)(u >> 16);
}

/* element i of tensor t */
static double value(const tdesc *t, size_t i, int H, int HD)
{
    switch (t->kind) {
    case T_EMB: return 0.25 * gauss();
    case T_NORM: return 1.0 + 0.1 * gauss();
    case T_MAT: return (2 * unif() - 1) / sqrt((double)t->fan_in);
    case T_SHORT: return 0.5 * gauss();
    case T_HCS: return 0.4 * gauss();
    case T_HCM: return gauss() * (0.35 * exp(-(double)(i % 128) / 32.0) + 0.03);
    case T_D: return 0.5 * gauss();
    case T_LOGP: return -exp(log(5e-4) + unif() * (log(1.5) - log(5e-4)));
    case T_RES: return 0.2 * gauss();
    case T_BIAS: return 0.1 * gauss();
    case T_INVF: return 1.0 / pow(10000.0, 2.0 * (double)(i % (size_t)(HD / 2)) / HD);
    default: (void)H; return 0;
    }
}

static int add(tdesc **v, int *n, const char *name, int dtype, int kind, int ndim, int64_t a, int64_t b, int64_t c, size_t fan_in)
{
    tdesc *t = realloc(*v, (size_t)(*n + 1) * sizeof **v);
    if (!t) return -1;
    *v = t;
    t = &(*v)[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype, t->kind = kind, t->ndim = ndim;
    t->shape[0] = a, t->shape[1] = b, t->shape[2] = c;
    t->n = 1;
    for (int d = 0; d < ndim; d++) t->n *= (size_t)t->shape[d];
    t->fan_in = fan_in;
    return 0;
}

int main(int argc, char **argv)
{
    long H = 4096, NL = 32, NH = 32, I = 11264, G = 256, maxlen = 1048576, seed = 1;
    double rscale = 128;
    const char *pat7b = "SMLASMLSMLASMLSMLASMLSMLASMLSMLA", *pattern = NULL;
    int c;
    while ((c = getopt(argc, argv, "H:n:a:i:g:p:L:r:s:h")) >= 0) {
        switch (c) {
        case 'H': H = atol(optarg); break;
        case 'n': NL = atol(optarg); break;
        case 'a': NH = atol(optarg); break;
        case 'i': I = atol(optarg); break;
        case 'g': G = atol(optarg); break;
        case 'p': pattern = optarg; break;
        case 'L': maxlen = atol(optarg); break;
        case 'r': rscale = atof(optarg); break;
        case 's': seed = atol(optarg); break;
        default:
            fprintf(stderr, "usage: make_evo2 [-H HIDDEN] [-n LAYERS] [-a HEADS] [-i INNER] [-g GROUPS] [-p PATTERN] "
                            "[-L MAX_SEQLEN] [-r ROTARY_SCALE] [-s SEED] OUT_DIR\n");
            return c == 'h' ? 0 : 1;
        }
    }
    if (optind != argc - 1) { fprintf(stderr, "make_evo2: one OUT_DIR expected\n"); return 1; }
    const char *out = argv[optind];
    if (pattern) NL = (long)strlen(pattern);
    if (H < 2 || NL < 1 || NH < 1 || H % NH || (H / NH) % 2 || G < 1 || H % G || I < 1 || maxlen < 1) {
        fprintf(stderr, "make_evo2: bad shape (hidden a multiple of heads and of groups, even head size)\n");
        return 1;
    }
    char *pat = malloc((size_t)NL + 1);
    for (long k = 0; k < NL; k++) pat[k] = pattern ? pattern[k] : pat7b[k % 32];
    pat[NL] = 0;
    for (long k = 0; k < NL; k++)
        if (!strchr("SMLA", pat[k])) { fprintf(stderr, "make_evo2: pattern letter '%c' (expected S, M, L, A)\n", pat[k]); return 1; }
    int HD = (int)(H / NH);

    /* the tensors, in the released files' naming */
    tdesc *t = NULL;
    int nt = 0;
    char nm[96];
    add(&t, &nt, "embedding_layer.weight", BF16, T_EMB, 2, 512, H, 0, 0);
    add(&t, &nt, "norm.scale", BF16, T_NORM, 1, H, 0, 0, 0);
    for (long k = 0; k < NL; k++) {
#define A(suffix, dt, kind, nd, a, b, c2, fan) (snprintf(nm, sizeof nm, "blocks.%ld." suffix, k), add(&t, &nt, nm, dt, kind, nd, a, b, c2, fan))
        A("pre_norm.scale", BF16, T_NORM, 1, H, 0, 0, 0);
        A("post_norm.scale", BF16, T_NORM, 1, H, 0, 0, 0);
        A("mlp.l1.weight", BF16, T_MAT, 2, I, H, 0, (size_t)H);
        A("mlp.l2.weight", BF16, T_MAT, 2, I, H, 0, (size_t)H);
        A("mlp.l3.weight", BF16, T_MAT, 2, H, I, 0, (size_t)I);
        if (pat[k] == 'A') {
            A("inner_mha_cls.Wqkv.weight", BF16, T_MAT, 2, 3 * H, H, 0, (size_t)H);
            A("inner_mha_cls.out_proj.weight", BF16, T_MAT, 2, H, H, 0, (size_t)H);
            A("inner_mha_cls.out_proj.bias", BF16, T_BIAS, 1, H, 0, 0, 0);
            A("inner_mha_cls.rotary_emb.inv_freq", BF16, T_INVF, 1, HD / 2, 0, 0, 0);
            continue;
        }
        A("projections.weight", BF16, T_MAT, 2, 3 * H, H, 0, (size_t)H);
        A("filter.short_filter_weight", BF16, T_SHORT, 3, 3 * H, 1, 3, 0);
        A("out_filter_dense.weight", BF16, T_MAT, 2, H, H, 0, (size_t)H);
        A("out_filter_dense.bias", BF16, T_BIAS, 1, H, 0, 0, 0);
        if (pat[k] == 'S') A("filter.h", BF16, T_HCS, 3, G, 1, 7, 0);
        else if (pat[k] == 'M') { A("filter.h", BF16, T_HCM, 3, G, 1, 128, 0); A("filter.D", BF16, T_D, 1, H, 0, 0, 0); }
        else {
            A("filter.log_poles", F32, T_LOGP, 3, H, 16, 1, 0);
            A("filter.residues", F32, T_RES, 2, H, 16, 0, 0);
            A("filter.D", BF16, T_D, 1, H, 0, 0, 0);
        }
#undef A
    }
    /* safetensors: F32 first, so that every tensor stays aligned */
    json_t *hdr = json_object(), *meta = json_object();
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(meta, "generator", json_string("bench/make_evo2 (random weights)"));
    json_object_set_new(hdr, "__metadata__", meta);
    size_t off = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nt; i++) {
            if ((pass == 0) != (t[i].dtype == F32)) continue;
            json_t *e = json_object(), *sh = json_array(), *o = json_array();
            for (int d = 0; d < t[i].ndim; d++) json_array_append_new(sh, json_integer(t[i].shape[d]));
            size_t bytes = t[i].n * (t[i].dtype == F32 ? 4 : 2);
            json_array_append_new(o, json_integer((json_int_t)off));
            json_array_append_new(o, json_integer((json_int_t)(off + bytes)));
            json_object_set_new(e, "dtype", json_string(t[i].dtype == F32 ? "F32" : "BF16"));
            json_object_set_new(e, "shape", sh);
            json_object_set_new(e, "data_offsets", o);
            json_object_set_new(hdr, t[i].name, e);
            off += bytes;
        }
    char *hs = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t hl = strlen(hs), hpad = (hl + 7) & ~(size_t)7;
    if (mkdir(out, 0777) && errno != EEXIST) { fprintf(stderr, "make_evo2: cannot create %s: %s\n", out, strerror(errno)); return 1; }
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) { fprintf(stderr, "make_evo2: cannot write %s: %s\n", tmp, strerror(errno)); return 1; }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hpad >> (8 * i));
    fwrite(len8, 1, 8, fp);
    fwrite(hs, 1, hl, fp);
    for (size_t i = hl; i < hpad; i++) fputc(' ', fp);
    enum { BLK = 1 << 20 };
    void *buf = malloc(BLK * 4);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nt; i++) {
            if ((pass == 0) != (t[i].dtype == F32)) continue;
            rng = 0x9E3779B97F4A7C15ull * (uint64_t)(seed + 1) ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1));
            for (int w = 0; w < 8; w++) next64();
            for (size_t i0 = 0; i0 < t[i].n; i0 += BLK) {
                size_t m = t[i].n - i0 < BLK ? t[i].n - i0 : BLK;
                for (size_t j = 0; j < m; j++) {
                    float v = (float)value(&t[i], i0 + j, (int)H, HD);
                    if (t[i].dtype == F32) ((float *)buf)[j] = v;
                    else ((uint16_t *)buf)[j] = bf16(v);
                }
                if (fwrite(buf, t[i].dtype == F32 ? 4 : 2, m, fp) != m) { fprintf(stderr, "make_evo2: write error\n"); return 1; }
            }
        }
    if (fclose(fp) || rename(tmp, path)) { fprintf(stderr, "make_evo2: cannot write %s\n", path); return 1; }
    /* the vortex config */
    snprintf(path, sizeof path, "%s/config.yml", out);
    fp = fopen(path, "w");
    if (!fp) { fprintf(stderr, "make_evo2: cannot write %s\n", path); return 1; }
    fprintf(fp, "# random-weight Evo 2 model written by bench/make_evo2 (seed %ld)\nmodel_name: make-evo2-random\n", seed);
    fprintf(fp, "vocab_size: 512\nhidden_size: %ld\nnum_filters: %ld\nnum_layers: %ld\nnum_attention_heads: %ld\n", H, H, NL, NH);
    fprintf(fp, "inner_mlp_size: %ld\nstate_size: 16\nshort_filter_length: 3\nshort_filter_bias: false\n", I);
    fprintf(fp, "hcs_filter_length: 7\nhcs_filter_groups: %ld\nhcm_filter_length: 128\nhcm_filter_groups: %ld\nhcl_filter_groups: %ld\n", G, G, H);
    const char *keys[] = {"hcs_layer_idxs", "hcm_layer_idxs", "hcl_layer_idxs", "attn_layer_idxs"};
    for (int j = 0; j < 4; j++) {
        fprintf(fp, "%s: [", keys[j]);
        int first = 1;
        for (long k = 0; k < NL; k++)
            if (pat[k] == "SMLA"[j]) { fprintf(fp, "%s%ld", first ? "" : ", ", k); first = 0; }
        fprintf(fp, "]\n");
    }
    fprintf(fp, "interleave: true\ncolumn_split: true\ncolumn_split_hyena: false\nhyena_flip_x1x2: false\n"
                "qkv_proj_bias: false\nmha_out_proj_bias: true\nhyena_out_proj_bias: true\nproj_groups: 1\n"
                "rotary_emb_base: 10000\nuse_interpolated_rotary_pos_emb: %s\nrotary_emb_scaling_factor: %g\n"
                "mlp_activation: gelu\nevo2_style_activations: true\neps: 0.000001\nfinal_norm: true\ntie_embeddings: true\n"
                "max_seqlen: %ld\nprefill_style: fft\nuse_fp8_input_projections: false\n",
            rscale != 1 ? "true" : "false", rscale, maxlen);
    if (fclose(fp)) { fprintf(stderr, "make_evo2: cannot write %s\n", path); return 1; }
    printf("%s: %d tensors, %.2f GB, pattern %s\n", out, nt, (double)(off + 8 + hpad) / 1e9, pat);
    free(buf); free(hs); free(t); free(pat);
    json_decref(hdr);
    return 0;
}
