/* tokenizer.h -- the character tokenizer shared by HyenaDNA, Caduceus and DNA-xLSTM (docs/models.md §2). */
#ifndef HD_TOKENIZER_H
#define HD_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

enum {
    HD_TOK_CLS = 0, HD_TOK_SEP = 1, HD_TOK_BOS = 2, HD_TOK_MASK = 3, HD_TOK_PAD = 4,
    HD_TOK_RESERVED = 5, HD_TOK_UNK = 6, HD_TOK_A = 7, HD_TOK_C = 8, HD_TOK_G = 9,
    HD_TOK_T = 10, HD_TOK_N = 11, HD_TOK_VOCAB = 12
};

/* Special tokens wrapped around the bases. */
typedef enum { HD_SPECIAL_NONE = 0, HD_SPECIAL_CLS_SEP, HD_SPECIAL_SEP } hd_special;

int hd_special_parse(const char *s, hd_special *out);      /* "none", "cls-sep", "sep" */
size_t hd_special_extra(hd_special sp);                    /* tokens added */

/* Token id of one base character: upper-cases soft-masked bases, maps the IUPAC ambiguity codes
 * (R Y S W K M B D H V, and N) to N; -1 for any other character. */
int hd_base_id(int c);

/* Tokenize n bases into ids (room for n + hd_special_extra(sp)).  On a character outside the
 * alphabet: -1 and the error of hd_set_bases_error (without a file).  Returns the id count. */
long hd_tokenize(const char *seq, size_t n, hd_special sp, int32_t *ids, const char *record);

/* The index of the first character of seq[0, n) outside the alphabet of hd_base_id; n when there is none. */
size_t hd_bases_check(const char *seq, size_t n);
/* The error for a character c outside the alphabet at 0-based position pos of a sequence, the same in every
 * command:
 *     FILE: invalid character 'C' in record 'NAME' at position P
 * (P = pos + 1; "invalid byte 0xNN" for a byte that does not print; no "FILE: " when file is NULL; kind
 * replaces "record" when not NULL, e.g. "read" or "region"). */
void hd_set_bases_error(const char *file, const char *kind, const char *name, int c, size_t pos);

/* The base character of an id ('A', 'C', 'G', 'T', 'N'; '?' otherwise). */
char hd_id_base(int id);
/* The complement of an id (A<->T, C<->G, everything else itself); byte tokens ('A', 'c', 'R', ...) get their
 * IUPAC complement with the case kept. */
int hd_id_complement(int id);
/* The IUPAC complement of a base letter, case kept (N, S, W and any other character as themselves). */
char hd_base_complement(char c);
/* Reverse complement of a string of bases in place (hd_base_complement of each, in reverse order): the
 * reverse-strand reads of bamseq.c and the '-' intervals of BED files (regions.h: hd_faidx_fetch_strand). */
void hd_bases_revcomp(char *s, size_t n);
/* Reverse complement of a token array in place. */
void hd_ids_revcomp(int32_t *ids, size_t n);

#endif
