/* workers.c -- many independent forward passes side by side (see workers.h). */
#include "workers.h"
#include "backend.h"
#include "model.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct hd_workers {
    hd_backend *be;      /* long jobs and lone jobs run here, with all its threads */
    hd_backend **wbe;    /* nw private single-threaded backends (NULL when nw == 1) */
    int nw;
};

hd_workers *hd_workers_new(hd_model *m, hd_backend *be, int n)
{
    hd_workers *w = calloc(1, sizeof *w);
    if (!w) { hd_set_oom(NULL); return NULL; }
    w->be = be;
    w->nw = 1;
    if (m && be) {
        /* a GPU chosen by "auto" runs the families it lacks on a CPU backend: spawn from that one.  When
         * none fits, the forward pass says so itself (on be), as it would without workers. */
        hd_backend *run = hd_backend_for(be, m->ops->needs, hd_family_name(m->family));
        if (run) w->be = run;
        else hd_clear_error();
    }
    if (n <= 0) n = w->be ? w->be->nthreads : 1;
#ifdef _OPENMP
    if (n > 1 && w->be && w->be->spawn) {
        if (!(w->wbe = calloc((size_t)n, sizeof *w->wbe))) { free(w); hd_set_oom(NULL); return NULL; }
        for (int i = 0; i < n; i++)
            if (!(w->wbe[i] = w->be->spawn(w->be, 1))) {
                w->nw = i;
                hd_workers_free(w);
                return NULL;
            }
        w->nw = n;
    }
#endif
    return w;
}

void hd_workers_free(hd_workers *w)
{
    if (!w) return;
    if (w->wbe)
        for (int i = 0; i < w->nw; i++) hd_backend_free(w->wbe[i]);
    free(w->wbe);
    free(w);
}

int hd_workers_count(const hd_workers *w) { return w->nw; }

int hd_workers_run(hd_workers *w, size_t n, const size_t *len, hd_work_fn fn, void *ud, size_t *failed)
{
    size_t bad = SIZE_MAX, nshort = 0;   /* bad: the lowest-numbered failing job so far */
    char msg[1024] = "";
    int kind = HD_EMODEL;
    for (size_t i = 0; i < n; i++) nshort += !len || len[i] < HD_WORKERS_LONG;
    int par = w->nw > 1 && nshort > 1;
    /* on the caller's backend, in order: the long jobs, or every job when they do not run side by side */
    for (size_t i = 0; i < n; i++) {
        if (par && (!len || len[i] < HD_WORKERS_LONG)) continue;
        if (fn(ud, i, w->be, 0)) {
            bad = i;
            snprintf(msg, sizeof msg, "%s", hd_error());
            kind = hd_error_kind();
            break;
        }
    }
#ifdef _OPENMP
    if (par) {
        size_t next = 0;
        int nt = nshort < (size_t)w->nw ? (int)nshort : w->nw;
        #pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num();
            omp_set_num_threads(1);   /* the ops of this worker's forward passes run on this thread alone */
            for (;;) {
                size_t i, b;
                #pragma omp atomic capture
                i = next++;
                #pragma omp atomic read
                b = bad;
                if (i >= n || i > b) break;   /* every later job is past the first failure */
                if (len && len[i] >= HD_WORKERS_LONG) continue;
                if (fn(ud, i, w->wbe[t], t)) {
                    #pragma omp critical(hd_workers_err)
                    if (i < bad) {
                        snprintf(msg, sizeof msg, "%s", hd_error());
                        kind = hd_error_kind();
                        #pragma omp atomic write
                        bad = i;
                    }
                }
            }
        }
    }
#endif
    if (bad == SIZE_MAX) return 0;
    hd_set_error(kind, "%s", msg);
    if (failed) *failed = bad;
    return -1;
}
