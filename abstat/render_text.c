/*
 * Aligned plain-text tables for a terminal: a summary of the input, then
 * per experiment the SRM check, the variants and the comparisons, within
 * --width columns (80 by default): prose is wrapped, a wide table split
 * into panels, and the comparisons, when their full table is too wide,
 * grouped by metric with the relative effect and its CI only.
 */

#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "repfmt.h"
#include "texttab.h"

#define CELL_MAX  AB_CELL_MAX


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


/* "mean_latency in s (guardrail)" */
static void
metric_label(char *buf, const ab_rmetric_t *m)
{
    const char  *unit = ab_metric_unit(m->metric);

    snprintf(buf, CELL_MAX, "%s%s%s%s", m->metric, unit ? " in " : "",
             unit ? unit : "", m->guardrail ? " (guardrail)" : "");
}


static void
header(ab_ttab_t *t, const char *const *head)
{
    size_t  r = ab_ttab_row(t), c;

    for (c = 0; r != (size_t) -1 && c < t->ncols; c++) {
        snprintf(ab_ttab_cell(t, r, c), CELL_MAX, "%s", head[c]);
    }
}


static int
variants_table(FILE *out, const ab_rexp_t *x, size_t width)
{
    static const char *const  head[] = { "variant", "visitors", "expected",
        "multi_variant", "converters", "orders", "revenue", "requests", "5xx" };
    ab_ttab_t  t;
    size_t     i, r;
    char      *e;

    ab_ttab_init(&t, 9, 1);
    t.left[0] = 1;
    header(&t, head);

    for (i = 0; i < x->nvariants; i++) {
        const ab_rvariant_t  *v = &x->variants[i];

        if ((r = ab_ttab_row(&t)) == (size_t) -1) {
            break;
        }
        snprintf(ab_ttab_cell(&t, r, 0), CELL_MAX, "%s%s", v->name,
                 i == x->baseline ? " (baseline)" : "");
        snprintf(ab_ttab_cell(&t, r, 1), CELL_MAX, "%llu",
                 (unsigned long long) v->visitors);
        e = ab_ttab_cell(&t, r, 2);
        fmt_pct(e, v->expected);
        /* An expected share is not a change: drop the sign. */
        if (e[0] == '+') {
            memmove(e, e + 1, CELL_MAX - 1);
        }
        snprintf(ab_ttab_cell(&t, r, 3), CELL_MAX, "%llu",
                 (unsigned long long) v->multi_variant);
        snprintf(ab_ttab_cell(&t, r, 4), CELL_MAX, "%llu",
                 (unsigned long long) v->converters);
        snprintf(ab_ttab_cell(&t, r, 5), CELL_MAX, "%llu",
                 (unsigned long long) v->orders);
        snprintf(ab_ttab_cell(&t, r, 6), CELL_MAX, "%.2f", v->revenue);
        snprintf(ab_ttab_cell(&t, r, 7), CELL_MAX, "%llu",
                 (unsigned long long) v->requests);
        snprintf(ab_ttab_cell(&t, r, 8), CELL_MAX, "%llu",
                 (unsigned long long) v->errors_5xx);
    }

    return ab_ttab_print(out, &t, width);
}


/* Every comparison on one row: what a wide terminal (or --width 0)
 * shows. */
static void
metrics_wide(ab_ttab_t *t, const ab_rexp_t *x, double alpha)
{
    static const char *const  head[] = { "metric", "variant", "baseline",
        "value", "abs effect", "abs CI", "rel effect", "rel CI", "p", "p adj",
        "" };
    size_t  i, r;

    ab_ttab_init(t, 11, 2);
    t->left[0] = t->left[1] = t->left[10] = 1;
    header(t, head);

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        double               p = m->guardrail ? m->e.p_value : m->p_adjusted;

        if ((r = ab_ttab_row(t)) == (size_t) -1) {
            return;
        }
        metric_label(ab_ttab_cell(t, r, 0), m);
        snprintf(ab_ttab_cell(t, r, 1), CELL_MAX, "%s",
                 x->variants[m->variant].name);
        fmt_num(ab_ttab_cell(t, r, 2), m->e.baseline_value);
        fmt_num(ab_ttab_cell(t, r, 3), m->e.value);
        fmt_num(ab_ttab_cell(t, r, 4), m->e.abs_effect);
        fmt_ci(ab_ttab_cell(t, r, 5), m->e.abs_lo, m->e.abs_hi, 0);
        fmt_pct(ab_ttab_cell(t, r, 6), m->e.rel_effect);
        fmt_ci(ab_ttab_cell(t, r, 7), m->e.rel_lo, m->e.rel_hi, 1);
        fmt_p(ab_ttab_cell(t, r, 8), m->e.p_value);
        fmt_p(ab_ttab_cell(t, r, 9), m->p_adjusted);
        snprintf(ab_ttab_cell(t, r, 10), CELL_MAX, "%s", p < alpha ? "*" : "");
    }
}


/* Grouped by metric: a heading, the baseline's value, then a row per
 * other variant with its relative effect, the CI and the p that the star
 * judges; the absolute effect is the difference of the values. */
static void
metrics_narrow(ab_ttab_t *t, const ab_rexp_t *x, double alpha)
{
    static const char *const  head[] = { "variant", "value", "rel effect",
        "rel CI", "p", "" };
    size_t  i, r;

    ab_ttab_init(t, 6, 1);
    t->left[0] = t->left[5] = 1;
    header(t, head);

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        double               p = m->guardrail ? m->e.p_value : m->p_adjusted;

        if (i == 0 || strcmp(m->metric, x->metrics[i - 1].metric) != 0) {
            if ((r = ab_ttab_span(t)) == (size_t) -1
                || (metric_label(ab_ttab_cell(t, r, 0), m),
                    (r = ab_ttab_row(t)) == (size_t) -1))
            {
                return;
            }
            snprintf(ab_ttab_cell(t, r, 0), CELL_MAX, "  %s",
                     x->variants[x->baseline].name);
            fmt_num(ab_ttab_cell(t, r, 1), m->e.baseline_value);
        }
        if ((r = ab_ttab_row(t)) == (size_t) -1) {
            return;
        }
        snprintf(ab_ttab_cell(t, r, 0), CELL_MAX, "  %s",
                 x->variants[m->variant].name);
        fmt_num(ab_ttab_cell(t, r, 1), m->e.value);
        fmt_pct(ab_ttab_cell(t, r, 2), m->e.rel_effect);
        fmt_ci(ab_ttab_cell(t, r, 3), m->e.rel_lo, m->e.rel_hi, 1);
        fmt_p(ab_ttab_cell(t, r, 4), p);
        snprintf(ab_ttab_cell(t, r, 5), CELL_MAX, "%s", p < alpha ? "*" : "");
    }
}


static int
metrics_table(FILE *out, const ab_rexp_t *x, double alpha, size_t width)
{
    ab_ttab_t  t;
    char       note[512];
    int        rc;

    metrics_wide(&t, x, alpha);
    if (width == 0 || ab_ttab_width(&t) <= width) {
        rc = ab_ttab_print(out, &t, width);
        snprintf(note, sizeof(note), "  CIs at %g%%; p adj: Holm over the "
                 "non-guardrail metrics; * p adj (guardrails: p) < %g",
                 100 * (1 - alpha), alpha);
    } else {
        ab_ttab_free(&t);
        metrics_narrow(&t, x, alpha);
        rc = ab_ttab_print(out, &t, width);
        snprintf(note, sizeof(note), "  rel CI at %g%%; p: Holm-adjusted "
                 "over the non-guardrail metrics, unadjusted for "
                 "guardrails; * p < %g. Absolute effects, their CIs and "
                 "every p: --width 0, --format json or csv.",
                 100 * (1 - alpha), alpha);
    }
    fputc('\n', out);
    ab_ttab_wrap(out, width, note);

    return rc;
}


int
ab_render_text(FILE *out, const ab_report_t *rep, size_t width)
{
    const ab_state_t  *st = rep->st;
    char               buf[1024], t1[32], t2[32], t3[32];
    size_t             i, len;
    const struct {
        uint64_t     n;
        const char  *what;
    } in[] = {
        { st->files, "file(s)," }, { st->lines, "line(s)," },
        { st->bad_lines, "bad," }, { st->nvis + st->forgotten, "visitor(s);" },
        { rep->events_before_exposure, "event(s) before exposure ignored," },
        { st->duplicate_orders, "duplicate order(s)," },
        { rep->orphan_refunds, "orphan refund(s)," },
        { rep->refunds_over_order, "refund(s) over their order capped," },
        { st->client_order_events, "client order event(s) ignored," },
        { st->orders_no_id, "order(s) without order id" },
    };

    len = (size_t) snprintf(buf, sizeof(buf), "Input:");
    for (i = 0; i < sizeof(in) / sizeof(in[0]) && len < sizeof(buf); i++) {
        len += (size_t) snprintf(buf + len, sizeof(buf) - len, " %llu %s",
                                 (unsigned long long) in[i].n, in[i].what);
    }
    ab_ttab_wrap(out, width, buf);
    snprintf(buf, sizeof(buf), "Data: log lines from %s to %s; report "
             "generated %s",
             ab_fmt_time(rep->first_time, t1, sizeof(t1), "(unknown)"),
             ab_fmt_time(rep->last_time, t2, sizeof(t2), "(none)"),
             ab_fmt_time(rep->generated, t3, sizeof(t3), "(unknown)"));
    ab_ttab_wrap(out, width, buf);

    for (i = 0; i < st->nbad; i++) {
        snprintf(buf, sizeof(buf), "  bad line %s:%llu: %s", st->bad[i].file,
                 (unsigned long long) st->bad[i].line, st->bad[i].reason);
        ab_ttab_wrap(out, width, buf);
    }

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];
        int               n;

        snprintf(buf, sizeof(buf), "Experiment %s: baseline %s (%s)", x->name,
                 x->nvariants ? x->variants[x->baseline].name : "-",
                 x->baseline_source);
        fputc('\n', out);
        ab_ttab_wrap(out, width, buf);

        n = snprintf(buf, sizeof(buf), "SRM: expected split from %s%s; ",
                     x->weights_source,
                     strcmp(x->weights_source, "equal") == 0
                     ? " (no --weights or --nginx-conf for it)" : "");
        if (isnan(x->srm_p)) {
            snprintf(buf + n, sizeof(buf) - n, "not testable");
        } else {
            snprintf(buf + n, sizeof(buf) - n, "chi2 = %.4f, p = %.6g%s",
                     x->chi2, x->srm_p, x->srm_alert ? "; ALERT: sample "
                     "ratio mismatch, results are not trustworthy" : "");
        }
        ab_ttab_wrap(out, width, buf);
        if (!isnan(x->revenue_cap)) {
            snprintf(buf, sizeof(buf), "Revenue cap (%gth percentile of "
                     "non-zero visitor revenue): %.2f", rep->cap_pct,
                     x->revenue_cap);
            ab_ttab_wrap(out, width, buf);
        }

        fputc('\n', out);
        if (variants_table(out, x, width) != 0) {
            return -1;
        }

        if (x->nmetrics > 0) {
            fputc('\n', out);
            if (metrics_table(out, x, rep->alpha, width) != 0) {
                return -1;
            }
        }
    }

    return ferror(out) ? -1 : 0;
}
