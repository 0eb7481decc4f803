/* workers.h -- many independent forward passes side by side (reads, windows, classify queries).
 *
 * A short sequence is too small to split across threads inside its forward (150 positions are less than
 * one GEMM block), so a batch of them runs one sequence per worker: each worker has a private
 * single-threaded backend (hd_backend.spawn) and runs whole forward passes on it.  Every backend op
 * computes each output the same way whatever its thread count (backend.h), so a sequence's result is
 * bit-identical whichever worker runs it — or the caller's own multi-threaded backend — for any number of
 * workers and any batch size.  (Packing several sequences into the rows of one GEMM would not be: OpenBLAS
 * rounds a row differently with the number of rows of the call.)
 *
 * Jobs of at least HD_WORKERS_LONG tokens, and a batch holding a single job, run one at a time on the
 * caller's backend with all of its threads: a long forward splits well, and one per worker would multiply
 * its memory.  A backend that cannot spawn (a GPU) gets one worker, the backend itself. */
#ifndef HD_WORKERS_H
#define HD_WORKERS_H

#include <stddef.h>

struct hd_model;
struct hd_backend;

#define HD_WORKERS_LONG 8192

typedef struct hd_workers hd_workers;

/* Up to n workers (n ≤ 0: one per thread of be) for model m (may be NULL) on be: private single-threaded
 * backends spawned from be — or from the CPU backend hd_backend_for picks for m when be cannot run m —
 * when there are two or more, else one that uses be itself.  NULL + hd_error on failure. */
hd_workers *hd_workers_new(struct hd_model *m, struct hd_backend *be, int n);
void hd_workers_free(hd_workers *w);
/* How many workers (slots 0..count−1) a job may run on. */
int hd_workers_count(const hd_workers *w);

/* One job: run job i on backend be; slot (0 ≤ slot < hd_workers_count) names the worker, for scratch
 * buffers of its own (no two jobs run on one slot at the same time).  0, or −1 with hd_error. */
typedef int (*hd_work_fn)(void *ud, size_t i, struct hd_backend *be, int slot);

/* Run jobs 0..n−1 (len[i]: the tokens of job i, which decide the long ones; len NULL: all short) and return
 * 0 when every job succeeded; else −1 with the error of the lowest-numbered failing job, the job a run in
 * order would have stopped at (later jobs may or may not have run; *failed, when not NULL, gets its index). */
int hd_workers_run(hd_workers *w, size_t n, const size_t *len, hd_work_fn fn, void *ud, size_t *failed);

#endif
