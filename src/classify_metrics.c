/* classify_metrics.c -- classification metrics: confusion matrix, accuracy, multiclass MCC,
 * per-class precision/recall/F1, and their JSON form (see classify.h). */
#include "classify.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ================================================================== metrics */

double hd_mcc_multiclass(const long *cm, int C)
{
    /* Gorodkin (2004): (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)) */
    double s = 0, c = 0, pt = 0, pp = 0, tt = 0;
    for (int k = 0; k < C; k++) {
        double p = 0, t = 0;
        for (int j = 0; j < C; j++) {
            t += cm[k * C + j];
            p += cm[j * C + k];
        }
        c += cm[k * C + k];
        s += t;
        pt += p * t;
        pp += p * p;
        tt += t * t;
    }
    double den = (s * s - pp) * (s * s - tt);
    return den > 0 ? (c * s - pt) / sqrt(den) : 0.0;
}

int hd_metrics_compute(const int *truth, const int *pred, size_t n, int C, hd_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->C = C;
    out->cm = calloc((size_t)C * C, sizeof *out->cm);
    out->precision = malloc((size_t)C * sizeof(double));
    out->recall = malloc((size_t)C * sizeof(double));
    out->f1 = malloc((size_t)C * sizeof(double));
    if (!out->cm || !out->precision || !out->recall || !out->f1) {
        hd_metrics_free(out);
        hd_set_oom(NULL);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (truth[i] >= 0 && truth[i] < C && pred[i] == HD_CLF_UNSCORED) out->unscored++;
        if (truth[i] < 0 || truth[i] >= C || pred[i] < 0 || pred[i] >= C) continue;
        out->cm[truth[i] * C + pred[i]]++;
        out->n++;
        out->correct += truth[i] == pred[i];
    }
    out->accuracy = out->n ? (double)out->correct / (double)out->n : NAN;
    out->mcc = hd_mcc_multiclass(out->cm, C);
    for (int k = 0; k < C; k++) {
        long tp = out->cm[k * C + k], p = 0, t = 0;
        for (int j = 0; j < C; j++) {
            t += out->cm[k * C + j];
            p += out->cm[j * C + k];
        }
        out->precision[k] = p ? (double)tp / (double)p : NAN;
        out->recall[k] = t ? (double)tp / (double)t : NAN;
        /* F1 = 2TP / (2TP + FP + FN), the harmonic mean of precision and recall where both are defined; it is
         * defined (0) also for a class never predicted or with no members, undefined only when neither */
        out->f1[k] = p + t ? 2.0 * (double)tp / (double)(p + t) : NAN;
    }
    return 0;
}

void hd_metrics_free(hd_metrics *m)
{
    free(m->cm);
    free(m->precision);
    free(m->recall);
    free(m->f1);
    memset(m, 0, sizeof *m);
}

static json_t *num_or_null(double v) { return isnan(v) ? json_null() : json_real(v); }

char *hd_metrics_json(const hd_metrics *m, char *const *classes, const char *method)
{
    json_t *o = json_object(), *pc = json_object(), *cm = json_array(), *cl = json_array();
    if (method) json_object_set_new(o, "method", json_string(method));
    json_object_set_new(o, "n", json_integer(m->n));
    json_object_set_new(o, "correct", json_integer(m->correct));
    json_object_set_new(o, "unscored", json_integer(m->unscored));
    json_object_set_new(o, "accuracy", num_or_null(m->accuracy));
    json_object_set_new(o, "mcc", json_real(m->mcc));
    for (int k = 0; k < m->C; k++) {
        json_array_append_new(cl, json_string(classes[k]));
        long t = 0;
        json_t *row = json_array();
        for (int j = 0; j < m->C; j++) {
            t += m->cm[k * m->C + j];
            json_array_append_new(row, json_integer(m->cm[k * m->C + j]));
        }
        json_array_append_new(cm, row);
        json_t *e = json_object();
        json_object_set_new(e, "precision", num_or_null(m->precision[k]));
        json_object_set_new(e, "recall", num_or_null(m->recall[k]));
        json_object_set_new(e, "f1", num_or_null(m->f1[k]));
        json_object_set_new(e, "support", json_integer(t));
        json_object_set_new(pc, classes[k], e);
    }
    json_object_set_new(o, "classes", cl);
    json_object_set_new(o, "per_class", pc);
    json_t *c = json_object();
    json_object_set_new(c, "rows", json_string("true"));
    json_object_set_new(c, "columns", json_string("predicted"));
    json_object_set_new(c, "matrix", cm);
    json_object_set_new(o, "confusion_matrix", c);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s;
}
