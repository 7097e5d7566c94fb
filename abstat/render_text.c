/*
 * Aligned plain-text tables for a terminal: a summary of the input, then
 * per experiment the SRM check, the variants and the comparisons, within
 * --width columns (80 by default): prose is wrapped, a wide table split
 * into panels, and the comparisons, when their full table is too wide,
 * grouped by metric with the relative effect and its CI only.
 */

#include "render.h"
#include "roles.h"
#include "exact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render_audit.h"
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


/* Without a cap, a variant that one visitor's revenue carries. */
static void
concentration(FILE *out, const ab_rexp_t *x, double limit, size_t width)
{
    char    buf[512];
    size_t  i;

    for (i = 0; i < x->nvariants; i++) {
        if (x->variants[i].concentrated) {
            snprintf(buf, sizeof(buf), "WARNING: one visitor has %.1f%% of "
                     "%s's revenue (over %g%%); consider --cap-revenue",
                     100 * x->variants[i].top_share, x->variants[i].name,
                     100 * limit);
            ab_ttab_wrap(out, width, buf);
        }
    }
}


/* Every comparison of one role on one row: what a wide terminal (or
 * --width 0) shows. The star is the verdict (roles.h): a primary row that
 * moved, a guardrail that regressed. */
static void
metrics_wide(ab_ttab_t *t, const ab_rexp_t *x, double alpha, int role)
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
        int                  sig = ab_metric_moved(m, alpha)
                                   || ab_metric_regressed(m, alpha);

        if (m->role != role) {
            continue;
        }
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
        fmt_p(ab_ttab_cell(t, r, 8), m->p_test);
        fmt_p(ab_ttab_cell(t, r, 9), m->p_adjusted);
        snprintf(ab_ttab_cell(t, r, 10), CELL_MAX, "%s%s", sig ? "*" : "",
                 m->small_counts ? " exact" : "");
    }
}


/* Grouped by metric: a heading, the baseline's value, then a row per
 * other variant with its relative effect, the CI and the p that the star
 * judges (adjusted for primary rows); the absolute effect is the
 * difference of the values. */
static void
metrics_narrow(ab_ttab_t *t, const ab_rexp_t *x, double alpha, int role)
{
    static const char *const  head[] = { "variant", "value", "rel effect",
        "rel CI", "p", "" };
    const ab_rmetric_t  *prev = NULL;
    size_t               i, r;

    ab_ttab_init(t, 6, 1);
    t->left[0] = t->left[5] = 1;
    header(t, head);

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        /* the p the star judges: of the verdict where there is one */
        double               p = m->role == AB_ROLE_SECONDARY ? m->p_test
                                 : ab_verdict_p(m);
        int                  sig = ab_metric_moved(m, alpha)
                                   || ab_metric_regressed(m, alpha);

        if (m->role != role) {
            continue;
        }
        if (prev == NULL || strcmp(m->metric, prev->metric) != 0) {
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
        prev = m;
        if ((r = ab_ttab_row(t)) == (size_t) -1) {
            return;
        }
        snprintf(ab_ttab_cell(t, r, 0), CELL_MAX, "  %s",
                 x->variants[m->variant].name);
        fmt_num(ab_ttab_cell(t, r, 1), m->e.value);
        fmt_pct(ab_ttab_cell(t, r, 2), m->e.rel_effect);
        fmt_ci(ab_ttab_cell(t, r, 3), m->e.rel_lo, m->e.rel_hi, 1);
        fmt_p(ab_ttab_cell(t, r, 4), p);
        snprintf(ab_ttab_cell(t, r, 5), CELL_MAX, "%s%s", sig ? "*" : "",
                 m->small_counts ? " exact" : "");
    }
}


/* The rows of one role, wide when they fit, else grouped; *narrow says
 * which was printed. */
static int
metrics_table(FILE *out, const ab_rexp_t *x, double alpha, int role,
    size_t width, int *narrow)
{
    ab_ttab_t  t;

    metrics_wide(&t, x, alpha, role);
    if (width == 0 || ab_ttab_width(&t) <= width) {
        return ab_ttab_print(out, &t, width);
    }
    ab_ttab_free(&t);
    *narrow = 1;
    metrics_narrow(&t, x, alpha, role);

    return ab_ttab_print(out, &t, width);
}


/* The power of each primary row (roles.c, power.c). */
static int
power_table(FILE *out, const ab_rexp_t *x, size_t width)
{
    static const char *const  head[] = { "metric", "variant", "adjusted CI",
        "level", "MDE", "alpha", "visitors", "days" };
    ab_ttab_t  t;
    size_t     i, r;

    ab_ttab_init(&t, 8, 2);
    t.left[0] = t.left[1] = 1;
    header(&t, head);

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        const ab_power_t    *pw = &m->power;

        if (m->role != AB_ROLE_PRIMARY) {
            continue;
        }
        if ((r = ab_ttab_row(&t)) == (size_t) -1) {
            break;
        }
        snprintf(ab_ttab_cell(&t, r, 0), CELL_MAX, "%s", m->metric);
        snprintf(ab_ttab_cell(&t, r, 1), CELL_MAX, "%s",
                 x->variants[m->variant].name);
        fmt_ci(ab_ttab_cell(&t, r, 2), m->adj_lo, m->adj_hi, m->rel_test);
        fmt_num(ab_ttab_cell(&t, r, 3), m->adj_level);
        /* where the relative MDE is undefined (baseline 0), the absolute */
        if (isnan(pw->mde)) {
            fmt_num(ab_ttab_cell(&t, r, 4), pw->mde_abs);
        } else {
            fmt_pct(ab_ttab_cell(&t, r, 4), pw->mde);
        }
        fmt_num(ab_ttab_cell(&t, r, 5), pw->alpha);
        fmt_num(ab_ttab_cell(&t, r, 6), pw->visitors_needed);
        fmt_num(ab_ttab_cell(&t, r, 7), pw->days_needed);
        if (!isnan(pw->visitors_needed)) {
            snprintf(ab_ttab_cell(&t, r, 6), CELL_MAX, "%.0f",
                     pw->visitors_needed);
        }
        if (!isnan(pw->days_needed)) {
            snprintf(ab_ttab_cell(&t, r, 7), CELL_MAX, "%.1f",
                     pw->days_needed);
        }
    }

    return ab_ttab_print(out, &t, width);
}


/* --sequential: the confidence sequences of every row, valid at every
 * look; the verdicts (the stars of the tables above) read these. */
static int
sequential_table(FILE *out, const ab_rexp_t *x, double alpha, size_t width)
{
    static const char *const  head[] = { "metric", "variant",
        "always-valid abs CI", "always-valid rel CI", "av p", "av p verdict",
        "" };
    ab_ttab_t  t;
    size_t     i, r;

    ab_ttab_init(&t, 7, 2);
    t.left[0] = t.left[1] = t.left[6] = 1;
    header(&t, head);

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];

        if ((r = ab_ttab_row(&t)) == (size_t) -1) {
            break;
        }
        metric_label(ab_ttab_cell(&t, r, 0), m);
        snprintf(ab_ttab_cell(&t, r, 1), CELL_MAX, "%s",
                 x->variants[m->variant].name);
        fmt_ci(ab_ttab_cell(&t, r, 2), m->seq.lo, m->seq.hi, 0);
        fmt_ci(ab_ttab_cell(&t, r, 3), m->seq.rel_lo, m->seq.rel_hi, 1);
        fmt_p(ab_ttab_cell(&t, r, 4), ab_seq_test_p(m));
        fmt_p(ab_ttab_cell(&t, r, 5), ab_verdict_p(m));
        snprintf(ab_ttab_cell(&t, r, 6), CELL_MAX, "%s",
                 ab_metric_moved(m, alpha) || ab_metric_regressed(m, alpha)
                 ? "*" : "");
    }

    return ab_ttab_print(out, &t, width);
}


/* The metrics by role: the primary family with its power, the
 * exploratory rest, the guardrails. */
static int
roles_tables(FILE *out, const ab_rexp_t *x, const ab_report_t *rep,
    size_t width)
{
    static const int          order[] = { AB_ROLE_PRIMARY, AB_ROLE_SECONDARY,
                                          AB_ROLE_GUARDRAIL };
    static const char *const  title[] = {
        "Primary metrics (the verdict)", "Secondary metrics (exploratory: "
        "p not adjusted, no verdict)", "Guardrails" };
    char                      note[1024];
    size_t                    k, i, n, len;
    double                    a = rep->alpha;
    int                       narrow = 0;

    for (k = 0; k < 3; k++) {
        for (i = 0, n = 0; i < x->nmetrics; i++) {
            n += x->metrics[i].role == order[k];
        }
        if (n == 0) {
            continue;
        }
        fputc('\n', out);
        ab_ttab_wrap(out, width, title[k]);
        if (metrics_table(out, x, a, order[k], width, &narrow) != 0) {
            return -1;
        }
        if (order[k] == AB_ROLE_PRIMARY) {
            fputc('\n', out);
            if (power_table(out, x, width) != 0) {
                return -1;
            }
        }
    }

    len = (size_t) snprintf(note, sizeof(note), "  CIs at %g%%. p: of the "
             "relative effect (of the absolute one where the baseline is "
             "0). p adj: Holm over the %zu primary test(s); adjusted CI at "
             "the level of its Holm step. MDE: 80%% power, two-sided z-test "
             "at alpha (alpha over the primary tests). ", 100 * (1 - a),
             x->nprimary_tests);
    if (rep->cfg != NULL && rep->cfg->mde > 0) {
        len += (size_t) snprintf(note + len, sizeof(note) - len, "visitors, "
                                 "days: still needed for --mde %g%%. ",
                                 rep->cfg->mde * 100);
    } else {
        len += (size_t) snprintf(note + len, sizeof(note) - len, "visitors, "
                                 "days: still needed, with --mde PCT. ");
    }
    len += (size_t) snprintf(note + len, sizeof(note) - len, "* primary: p "
                             "adj < %g; guardrail: one-sided p of harm beyond "
                             "%g%% < %g. exact: under %d successes or failures "
                             "on a side, Fisher's exact p and Newcombe's CI, "
                             "no rel CI.", a, 100 * rep->guardrail_margin, a,
                             AB_SMALL_COUNT);
    if (narrow && len < sizeof(note)) {
        snprintf(note + len, sizeof(note) - len, " Grouped tables show the "
                 "p the star judges; absolute effects, their CIs and every "
                 "p: --width 0, --format json or csv.");
    }
    fputc('\n', out);
    ab_ttab_wrap(out, width, note);

    return 0;
}


/* The row of metric name for variant v of x, or NULL. */
static const ab_rmetric_t *
row_of(const ab_rexp_t *x, const char *name, size_t v)
{
    size_t  i;

    for (i = 0; i < x->nmetrics; i++) {
        if (x->metrics[i].variant == v && strcmp(x->metrics[i].metric, name)
                                          == 0)
        {
            return &x->metrics[i];
        }
    }

    return NULL;
}


/* A metric's value for variant v: its row's, or for the baseline any
 * row's baseline value. */
static double
value_of(const ab_rexp_t *x, const char *name, size_t v)
{
    const ab_rmetric_t  *m;
    size_t               i;

    if (v != x->baseline) {
        return (m = row_of(x, name, v)) ? m->e.value : NAN;
    }
    for (i = 0; i < x->nvariants; i++) {
        if ((m = row_of(x, name, i)) != NULL) {
            return m->e.baseline_value;
        }
    }

    return NAN;
}


/* One row per segment and variant: visitors, the primary metric and
 * its relative effect (the row's test), conversion, the segment's SRM. */
static int
segments_table(FILE *out, const ab_rexp_t *x, const char *primary,
    size_t width)
{
    const char *const  head[] = { "segment", "variant", "visitors", primary,
        "rel effect", "CI", "conversion", "SRM p" };
    const ab_rmetric_t  *m;
    const ab_effect_t   *e;
    ab_ttab_t            t;
    size_t               i, v, r;

    ab_ttab_init(&t, 8, 2);
    t.left[0] = t.left[1] = 1;
    header(&t, head);

    for (i = 0; i < x->nsegs; i++) {
        const ab_rexp_t  *g = &x->segs[i].r;

        for (v = 0; v < g->nvariants; v++) {
            if ((r = ab_ttab_row(&t)) == (size_t) -1) {
                break;
            }
            snprintf(ab_ttab_cell(&t, r, 0), CELL_MAX, "%s=%s",
                     x->segs[i].dimension, x->segs[i].value);
            snprintf(ab_ttab_cell(&t, r, 1), CELL_MAX, "%s",
                     g->variants[v].name);
            snprintf(ab_ttab_cell(&t, r, 2), CELL_MAX, "%llu",
                     (unsigned long long) g->variants[v].visitors);
            fmt_num(ab_ttab_cell(&t, r, 3), value_of(g, primary, v));
            m = v == g->baseline ? NULL : row_of(g, primary, v);
            e = m ? ab_metric_test(m) : NULL;
            fmt_pct(ab_ttab_cell(&t, r, 4), e ? e->rel_effect : NAN);
            fmt_ci(ab_ttab_cell(&t, r, 5), e ? e->rel_lo : NAN,
                   e ? e->rel_hi : NAN, 1);
            if (m && m->flag) {
                strcat(ab_ttab_cell(&t, r, 5), " *");
            }
            fmt_pct(ab_ttab_cell(&t, r, 6),
                    value_of(g, "conversion_rate", v));
            /* a share, not a change */
            memmove(ab_ttab_cell(&t, r, 6), ab_ttab_cell(&t, r, 6) + 1,
                    CELL_MAX - 1);
            fmt_p(ab_ttab_cell(&t, r, 7), v == 0 ? g->srm_p : NAN);
            if (v == 0 && g->srm_alert) {
                strcat(ab_ttab_cell(&t, r, 7), " ALERT");
            }
        }
    }

    return ab_ttab_print(out, &t, width);
}


/* --by: the segments table, the heterogeneity of the primary metric and
 * conversion, and the multiplicity note. */
static int
segments_text(FILE *out, const ab_rexp_t *x, const ab_report_t *rep,
    size_t width)
{
    const ab_config_t  *cfg = rep->cfg;
    const char         *primary = cfg->nprimary ? cfg->primary[0]
                                                : AB_PRIMARY_DEFAULT;
    char                buf[768], p[CELL_MAX];
    size_t              i;

    fputc('\n', out);
    ab_ttab_wrap(out, width, "Segments (by the entry line; * the interval "
                 "excludes 0; exploratory):");
    if (segments_table(out, x, primary, width) != 0) {
        return -1;
    }

    for (i = 0; i < x->nhet; i++) {
        const ab_rhet_t  *h = &x->het[i];

        if (strcmp(h->metric, primary) != 0
            && strcmp(h->metric, "conversion_rate") != 0)
        {
            continue;
        }
        fmt_p(p, h->p_value);
        snprintf(buf, sizeof(buf), "Heterogeneity by %s, %s %s: Cochran's "
                 "Q = %.4g over %zu segments, p = %s", h->dimension,
                 h->metric, x->variants[h->variant].name, h->q, h->segments,
                 p);
        ab_ttab_wrap(out, width, buf);
    }

    snprintf(buf, sizeof(buf), "Note: segment results are exploratory, in "
             "no Holm family: %zu segments, %zu metric rows, %zu flagged "
             "(*); about %.1f (alpha x rows) are expected by chance alone. "
             "The JSON report has every metric and its heterogeneity.",
             x->nsegs, x->seg_tests, x->seg_flags,
             rep->alpha * (double) x->seg_tests);
    ab_ttab_wrap(out, width, buf);

    return 0;
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
                     ? " (no --weights or --nginx-conf for it)"
                     : x->weight_changes > 0
                     ? " (the weights at each visitor's entry)" : "");
        if (isnan(x->srm_p)) {
            snprintf(buf + n, sizeof(buf) - n, "not testable");
        } else {
            snprintf(buf + n, sizeof(buf) - n, "chi2 = %.4f, p = %.6g%s",
                     x->chi2, x->srm_p, x->srm_alert ? "; ALERT: sample "
                     "ratio mismatch, results are not trustworthy" : "");
        }
        ab_ttab_wrap(out, width, buf);
        if (x->srm_warning[0] != '\0') {
            snprintf(buf, sizeof(buf), "WARNING: %s", x->srm_warning);
            ab_ttab_wrap(out, width, buf);
        }
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
        concentration(out, x, rep->max_visitor_share, width);
        if (ab_audit_text(out, x, width) != 0) {
            return -1;
        }

        if (x->nmetrics > 0 && roles_tables(out, x, rep, width) != 0) {
            return -1;
        }
        if (x->nmetrics > 0 && rep->sequential) {
            char  note[768];

            snprintf(note, sizeof(note), "Always-valid (sequential) results, "
                     "N* = %g: confidence sequences at %g%%, valid at every "
                     "look, of CUPED's estimate where CUPED adjusts the row; "
                     "the verdicts (*) and --fail-on use these, not the "
                     "fixed-horizon CIs and p above. av p verdict: primary: "
                     "Holm over the primary tests; guardrail: one-sided p of "
                     "harm beyond %g%%.", rep->seq_tuning,
                     100 * (1 - rep->alpha), 100 * rep->guardrail_margin);
            fputc('\n', out);
            ab_ttab_wrap(out, width, note);
            if (sequential_table(out, x, rep->alpha, width) != 0) {
                return -1;
            }
        }
        if (rep->cfg && rep->cfg->by && segments_text(out, x, rep, width)) {
            return -1;
        }
    }

    return ferror(out) ? -1 : 0;
}
