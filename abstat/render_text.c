/*
 * Aligned plain-text tables for a terminal: a summary of the input, then
 * per experiment the SRM check, the variants and the comparisons.
 */

#include "render.h"
#include "roles.h"

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


/* The rows of one role. */
static int
metrics_table(FILE *out, const ab_rexp_t *x, double alpha, int role)
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
        int                  sig = ab_metric_moved(m, alpha)
                                   || ab_metric_regressed(m, alpha);

        if (m->role != role) {
            continue;
        }
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
        fmt_p(cell(&t, r, 8), m->p_test);
        fmt_p(cell(&t, r, 9), m->p_adjusted);
        snprintf(cell(&t, r, 10), CELL_MAX, "%s", sig ? "*" : "");
    }

    return print_table(out, &t);
}


/* The power of each primary row (roles.c, power.c). */
static int
power_table(FILE *out, const ab_rexp_t *x)
{
    static const char *const  head[] = { "metric", "variant", "adjusted CI",
        "level", "MDE", "alpha", "visitors", "days" };
    table_t  t = { NULL, 8, 0, 0, { 1, 1 } };
    size_t   i, c, r;

    if ((r = add_row(&t)) == (size_t) -1) {
        return -1;
    }
    for (c = 0; c < t.ncols; c++) {
        snprintf(cell(&t, r, c), CELL_MAX, "%s", head[c]);
    }

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        const ab_power_t    *pw = &m->power;

        if (m->role != AB_ROLE_PRIMARY) {
            continue;
        }
        if ((r = add_row(&t)) == (size_t) -1) {
            return -1;
        }
        snprintf(cell(&t, r, 0), CELL_MAX, "%s", m->metric);
        snprintf(cell(&t, r, 1), CELL_MAX, "%s", x->variants[m->variant].name);
        fmt_ci(cell(&t, r, 2), m->adj_lo, m->adj_hi, m->rel_test);
        fmt_num(cell(&t, r, 3), m->adj_level);
        /* where the relative MDE is undefined (baseline 0), the absolute */
        if (isnan(pw->mde)) {
            fmt_num(cell(&t, r, 4), pw->mde_abs);
        } else {
            fmt_pct(cell(&t, r, 4), pw->mde);
        }
        fmt_num(cell(&t, r, 5), pw->alpha);
        fmt_num(cell(&t, r, 6), pw->visitors_needed);
        fmt_num(cell(&t, r, 7), pw->days_needed);
        if (!isnan(pw->visitors_needed)) {
            snprintf(cell(&t, r, 6), CELL_MAX, "%.0f", pw->visitors_needed);
        }
        if (!isnan(pw->days_needed)) {
            snprintf(cell(&t, r, 7), CELL_MAX, "%.1f", pw->days_needed);
        }
    }

    return print_table(out, &t);
}


/* The metrics by role: the primary family with its power, the
 * exploratory rest, the guardrails. */
static int
roles_tables(FILE *out, const ab_rexp_t *x, const ab_report_t *rep)
{
    static const int          order[] = { AB_ROLE_PRIMARY, AB_ROLE_SECONDARY,
                                          AB_ROLE_GUARDRAIL };
    static const char *const  title[] = {
        "Primary metrics (the verdict)", "Secondary metrics (exploratory: "
        "p not adjusted, no verdict)", "Guardrails" };
    size_t                    k, i, n;
    double                    a = rep->alpha;

    for (k = 0; k < 3; k++) {
        for (i = 0, n = 0; i < x->nmetrics; i++) {
            n += x->metrics[i].role == order[k];
        }
        if (n == 0) {
            continue;
        }
        fprintf(out, "\n%s\n", title[k]);
        if (metrics_table(out, x, a, order[k]) != 0) {
            return -1;
        }
        if (order[k] == AB_ROLE_PRIMARY) {
            fputc('\n', out);
            if (power_table(out, x) != 0) {
                return -1;
            }
        }
    }

    fprintf(out, "\n  CIs at %g%%. p: of the relative effect (of the absolute "
            "one where the\n  baseline is 0). p adj: Holm over the %zu "
            "primary test(s); adjusted CI at the\n  level of its Holm step. "
            "MDE: 80%% power, two-sided z-test at alpha (alpha\n  over the "
            "primary tests). ", 100 * (1 - a), x->nprimary_tests);
    if (rep->cfg != NULL && rep->cfg->mde > 0) {
        fprintf(out, "visitors, days: still needed for --mde %g%%.\n  ",
                rep->cfg->mde * 100);
    } else {
        fputs("visitors, days: still needed, with --mde PCT.\n  ", out);
    }
    fprintf(out, "* primary: p adj < %g; guardrail: p < %g and higher.\n", a,
            a);

    return 0;
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

        if (x->nmetrics > 0 && roles_tables(out, x, rep) != 0) {
            return -1;
        }
    }

    return ferror(out) ? -1 : 0;
}
