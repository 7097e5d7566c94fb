/*
 * Aligned plain-text tables for a terminal: a summary of the input, then
 * per experiment the SRM check, the variants and the comparisons.
 */

#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CELL_MAX  64
#define COLS_MAX  12

typedef struct {
    char    (*cells)[CELL_MAX];
    size_t    ncols;
    size_t    nrows;
    size_t    cap;
    int       left[COLS_MAX];   /* left-aligned columns */
} table_t;


static char *
cell(table_t *t, size_t row, size_t col)
{
    return t->cells[row * t->ncols + col];
}


/* A new row; its cells are empty strings. NULL when out of memory. */
static size_t
add_row(table_t *t)
{
    void  *p;

    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        p = realloc(t->cells, t->cap * t->ncols * CELL_MAX);
        if (p == NULL) {
            return (size_t) -1;
        }
        t->cells = p;
    }
    memset(t->cells[t->nrows * t->ncols], 0, t->ncols * CELL_MAX);

    return t->nrows++;
}


static int
print_table(FILE *out, table_t *t)
{
    size_t  w[COLS_MAX] = { 0 }, r, c, len;

    for (r = 0; r < t->nrows; r++) {
        for (c = 0; c < t->ncols; c++) {
            len = strlen(cell(t, r, c));
            w[c] = len > w[c] ? len : w[c];
        }
    }

    for (r = 0; r < t->nrows; r++) {
        for (c = 0; c < t->ncols; c++) {
            fprintf(out, t->left[c] ? "%s%-*s" : "%s%*s", c ? "  " : "  ",
                    (int) w[c], cell(t, r, c));
        }
        fputc('\n', out);
    }

    free(t->cells);
    t->cells = NULL;

    return ferror(out) ? -1 : 0;
}


static void
fmt_num(char *buf, double v)
{
    if (isnan(v)) {
        snprintf(buf, CELL_MAX, "-");
    } else {
        snprintf(buf, CELL_MAX, "%.4g", v);
    }
}


static void
fmt_pct(char *buf, double v)
{
    if (isnan(v)) {
        snprintf(buf, CELL_MAX, "-");
    } else {
        snprintf(buf, CELL_MAX, "%+.2f%%", v * 100);
    }
}


static void
fmt_ci(char *buf, double lo, double hi, int pct)
{
    if (isnan(lo) || isnan(hi)) {
        snprintf(buf, CELL_MAX, "-");
    } else if (pct) {
        snprintf(buf, CELL_MAX, "[%+.2f%%, %+.2f%%]", lo * 100, hi * 100);
    } else {
        snprintf(buf, CELL_MAX, "[%.4g, %.4g]", lo, hi);
    }
}


static void
fmt_p(char *buf, double p)
{
    if (isnan(p)) {
        snprintf(buf, CELL_MAX, "-");
    } else if (p < 0.0001) {
        snprintf(buf, CELL_MAX, "<0.0001");
    } else {
        snprintf(buf, CELL_MAX, "%.4f", p);
    }
}


static int
variants_table(FILE *out, const ab_rexp_t *x)
{
    static const char *const  head[] = { "variant", "visitors", "expected",
        "multi_variant", "converters", "orders", "revenue", "requests", "5xx" };
    table_t  t = { NULL, 9, 0, 0, { 1 } };
    size_t   i, c, r;

    if ((r = add_row(&t)) == (size_t) -1) {
        return -1;
    }
    for (c = 0; c < t.ncols; c++) {
        snprintf(cell(&t, r, c), CELL_MAX, "%s", head[c]);
    }

    for (i = 0; i < x->nvariants; i++) {
        const ab_rvariant_t  *v = &x->variants[i];

        if ((r = add_row(&t)) == (size_t) -1) {
            return -1;
        }
        snprintf(cell(&t, r, 0), CELL_MAX, "%s%s", v->name,
                 i == x->baseline ? " (baseline)" : "");
        snprintf(cell(&t, r, 1), CELL_MAX, "%llu",
                 (unsigned long long) v->visitors);
        fmt_pct(cell(&t, r, 2), v->expected);
        /* An expected share is not a change: drop the sign. */
        if (cell(&t, r, 2)[0] == '+') {
            memmove(cell(&t, r, 2), cell(&t, r, 2) + 1, CELL_MAX - 1);
        }
        snprintf(cell(&t, r, 3), CELL_MAX, "%llu",
                 (unsigned long long) v->multi_variant);
        snprintf(cell(&t, r, 4), CELL_MAX, "%llu",
                 (unsigned long long) v->converters);
        snprintf(cell(&t, r, 5), CELL_MAX, "%llu",
                 (unsigned long long) v->orders);
        snprintf(cell(&t, r, 6), CELL_MAX, "%.2f", v->revenue);
        snprintf(cell(&t, r, 7), CELL_MAX, "%llu",
                 (unsigned long long) v->requests);
        snprintf(cell(&t, r, 8), CELL_MAX, "%llu",
                 (unsigned long long) v->errors_5xx);
    }

    return print_table(out, &t);
}


static int
metrics_table(FILE *out, const ab_rexp_t *x, double alpha)
{
    static const char *const  head[] = { "metric", "variant", "baseline",
        "value", "abs effect", "abs CI", "rel effect", "rel CI", "p", "p adj",
        "" };
    table_t  t = { NULL, 11, 0, 0, { 1, 1 } };
    size_t   i, c, r;

    if ((r = add_row(&t)) == (size_t) -1) {
        return -1;
    }
    for (c = 0; c < t.ncols; c++) {
        snprintf(cell(&t, r, c), CELL_MAX, "%s", head[c]);
    }
    t.left[10] = 1;

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        double               p = m->guardrail ? ab_metric_test(m)->p_value
                                              : m->p_adjusted;

        if ((r = add_row(&t)) == (size_t) -1) {
            return -1;
        }
        snprintf(cell(&t, r, 0), CELL_MAX, "%s%s", m->metric,
                 m->guardrail ? " (guardrail)" : "");
        snprintf(cell(&t, r, 1), CELL_MAX, "%s", x->variants[m->variant].name);
        fmt_num(cell(&t, r, 2), m->e.baseline_value);
        fmt_num(cell(&t, r, 3), m->e.value);
        fmt_num(cell(&t, r, 4), m->e.abs_effect);
        fmt_ci(cell(&t, r, 5), m->e.abs_lo, m->e.abs_hi, 0);
        fmt_pct(cell(&t, r, 6), m->e.rel_effect);
        fmt_ci(cell(&t, r, 7), m->e.rel_lo, m->e.rel_hi, 1);
        fmt_p(cell(&t, r, 8), m->e.p_value);
        fmt_p(cell(&t, r, 9), m->p_adjusted);
        snprintf(cell(&t, r, 10), CELL_MAX, "%s", p < alpha ? "*" : "");
    }

    return print_table(out, &t);
}


int
ab_render_text(FILE *out, const ab_report_t *rep)
{
    const ab_state_t  *st = rep->st;
    size_t             i;

    fprintf(out, "Input: %llu file(s), %llu line(s), %llu bad, "
            "%llu visitor(s); %llu event(s) before exposure ignored, "
            "%llu duplicate order(s), %llu orphan refund(s)\n",
            (unsigned long long) st->files, (unsigned long long) st->lines,
            (unsigned long long) st->bad_lines,
            (unsigned long long) (st->nvis + st->forgotten),
            (unsigned long long) rep->events_before_exposure,
            (unsigned long long) st->duplicate_orders,
            (unsigned long long) rep->orphan_refunds);
    fprintf(out, "  %llu refund(s) over their order capped, %llu client "
            "order event(s) ignored, %llu order(s) without order id\n",
            (unsigned long long) rep->refunds_over_order,
            (unsigned long long) st->client_order_events,
            (unsigned long long) st->orders_no_id);

    for (i = 0; i < st->nbad; i++) {
        fprintf(out, "  bad line %s:%llu: %s\n", st->bad[i].file,
                (unsigned long long) st->bad[i].line, st->bad[i].reason);
    }

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        fprintf(out, "\nExperiment %s: baseline %s (%s)\n", x->name,
                x->nvariants ? x->variants[x->baseline].name : "-",
                x->baseline_source);

        fprintf(out, "SRM: expected split from %s%s; ", x->weights_source,
                strcmp(x->weights_source, "equal") == 0
                ? " (no --weights or --nginx-conf for it)" : "");
        if (isnan(x->srm_p)) {
            fprintf(out, "not testable\n");
        } else {
            fprintf(out, "chi2 = %.4f, p = %.6g%s\n", x->chi2, x->srm_p,
                    x->srm_alert ? "  ALERT: sample ratio mismatch, "
                    "results are not trustworthy" : "");
        }
        if (!isnan(x->revenue_cap)) {
            fprintf(out, "Revenue cap (%gth percentile of non-zero visitor revenue): %.2f\n",
                    rep->cap_pct, x->revenue_cap);
        }

        fputc('\n', out);
        if (variants_table(out, x) != 0) {
            return -1;
        }

        if (x->nmetrics > 0) {
            fputc('\n', out);
            if (metrics_table(out, x, rep->alpha) != 0) {
                return -1;
            }
            fprintf(out, "\n  CIs at %g%%; p adj: Holm over the non-guardrail "
                    "metrics; * p adj (guardrails: p) < %g\n",
                    100 * (1 - rep->alpha), rep->alpha);
        }
    }

    return ferror(out) ? -1 : 0;
}
