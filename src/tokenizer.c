/* tokenizer.c -- character tokenizer ([CLS]=0 ... A=7 C=8 G=9 T=10 N=11). */
#include "tokenizer.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int hd_special_parse(const char *s, hd_special *out)
{
    if (!strcmp(s, "none")) *out = HD_SPECIAL_NONE;
    else if (!strcmp(s, "cls-sep")) *out = HD_SPECIAL_CLS_SEP;
    else if (!strcmp(s, "sep")) *out = HD_SPECIAL_SEP;
    else return -1;
    return 0;
}

size_t hd_special_extra(hd_special sp) { return sp == HD_SPECIAL_CLS_SEP ? 2 : sp == HD_SPECIAL_SEP ? 1 : 0; }

int hd_base_id(int c)
{
    switch (toupper((unsigned char)c)) {
    case 'A': return HD_TOK_A;
    case 'C': return HD_TOK_C;
    case 'G': return HD_TOK_G;
    case 'T': return HD_TOK_T;
    case 'N': case 'R': case 'Y': case 'S': case 'W': case 'K': case 'M':
    case 'B': case 'D': case 'H': case 'V': return HD_TOK_N;
    default: return -1;
    }
}

size_t hd_bases_check(const char *seq, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hd_base_id((unsigned char)seq[i]) < 0) return i;
    return n;
}

void hd_set_bases_error(const char *file, const char *kind, const char *name, int ch, size_t pos)
{
    unsigned char c = (unsigned char)ch;
    char what[32];
    if (isprint(c) && c != '\'') snprintf(what, sizeof what, "character '%c'", c);
    else snprintf(what, sizeof what, "byte 0x%02x", c);
    hd_set_error(HD_EINPUT, "%s%sinvalid %s in %s '%s' at position %zu", file ? file : "", file ? ": " : "", what,
                 kind ? kind : "record", name ? name : "?", pos + 1);
}

long hd_tokenize(const char *seq, size_t n, hd_special sp, int32_t *ids, const char *record)
{
    size_t k = 0;
    if (sp == HD_SPECIAL_CLS_SEP) ids[k++] = HD_TOK_CLS;
    for (size_t i = 0; i < n; i++) {
        int id = hd_base_id(seq[i]);
        if (id < 0) {
            hd_set_bases_error(NULL, NULL, record, seq[i], i);
            return -1;
        }
        ids[k++] = id;
    }
    if (sp != HD_SPECIAL_NONE) ids[k++] = HD_TOK_SEP;
    return (long)k;
}

char hd_id_base(int id)
{
    static const char b[] = "ACGTN";
    return id >= HD_TOK_A && id <= HD_TOK_N ? b[id - HD_TOK_A] : '?';
}

int hd_id_complement(int id)
{
    switch (id) {
    case HD_TOK_A: return HD_TOK_T;
    case HD_TOK_T: return HD_TOK_A;
    case HD_TOK_C: return HD_TOK_G;
    case HD_TOK_G: return HD_TOK_C;
    default: break;
    }
    /* byte tokens (Evo 2, docs/models.md §6.3): the IUPAC complement, case kept */
    return id > 0 && id < 128 ? (unsigned char)hd_base_complement((char)id) : id;
}

char hd_base_complement(char c)
{
    static const char from[] = "ACGTRYKMBVDHacgtrykmbvdh", to[] = "TGCAYRMKVBHDtgcayrmkvbhd";
    const char *p = c ? strchr(from, c) : NULL;
    return p ? to[p - from] : c;
}

void hd_bases_revcomp(char *s, size_t n)
{
    /* i == j at the middle base of an odd length: complemented once */
    for (size_t i = 0, j = n; i < j--; i++) {
        char a = hd_base_complement(s[i]);
        s[i] = hd_base_complement(s[j]);
        s[j] = a;
    }
}

void hd_ids_revcomp(int32_t *ids, size_t n)
{
    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        int32_t a = ids[i];
        ids[i] = hd_id_complement(ids[j]);
        ids[j] = hd_id_complement(a);
    }
    if (n % 2) ids[n / 2] = hd_id_complement(ids[n / 2]);
}
