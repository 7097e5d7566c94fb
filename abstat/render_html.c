/*
 * One self-contained HTML page for people: no external scripts, styles,
 * fonts or images, so that it can be mailed, served from anywhere or
 * opened offline. Charts are inline SVG scaled by their viewBox, tables
 * scroll sideways on a phone. The only script records the rendered size
 * of each chart in a data attribute (data-svg-sizes on <body>), which is
 * how the browser test checks that the charts were drawn.
 *
 * Verdicts follow the report's own tests: a business metric "moved" when
 * its Holm-adjusted p-value is below alpha, a guardrail "regressed" when
 * it is significantly higher (error rate and latency: higher is worse);
 * with --sequential both read the always-valid p-values, and the lift
 * chart's band is the confidence sequence.
 */

#include "render.h"
#include "roles.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render_audit.h"
#include "repfmt.h"
#include "guardrail.h"
#include "timefmt.h"

#define W        480            /* chart viewBox */
#define H        240
#define ML       64             /* margins: room for axis labels */
#define MR       16
#define MT       16
#define MB       36

static const char *const  palette[] = {
    "#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2",
    "#edc948", "#ff9da7", "#9c755f", "#bab0ac"
};

#define NCOLORS  (sizeof(palette) / sizeof(palette[0]))

static const char  style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0;padding:0 12px 24px;color:#222;background:#fafafa;"
    "line-height:1.4}"
    "main{max-width:1000px;margin:0 auto}"
    "h1{font-size:1.5em;margin:16px 0 4px}"
    "h2{font-size:1.25em;margin:28px 0 8px;border-bottom:2px solid #ddd}"
    "h3{font-size:1em;margin:16px 0 6px}"
    "section{background:#fff;border:1px solid #e3e3e3;border-radius:8px;"
    "padding:4px 14px 14px;margin:16px 0}"
    ".verdict{border-left:6px solid #59a14f;background:#f3f9f1;"
    "padding:8px 12px;margin:8px 0;border-radius:4px}"
    ".verdict.warn{border-color:#e15759;background:#fdf1f1}"
    ".verdict.neutral{border-color:#999;background:#f4f4f4}"
    ".verdict ul{margin:4px 0;padding-left:20px}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{border-collapse:collapse;font-size:.9em;min-width:100%}"
    "th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:right;"
    "white-space:nowrap}"
    "th:first-child,td:first-child,th.l,td.l{text-align:left}"
    "tr.sig td{background:#fff7e0}"
    ".up{color:#2a7a2a}.down{color:#b22}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(min(340px,100%),1fr));gap:16px}"
    "figure{margin:0}figcaption{font-size:.9em;font-weight:600;"
    "margin-bottom:4px}"
    "svg{width:100%;height:auto;display:block;background:#fff}"
    "svg text{font-size:12px;fill:#555}"
    ".legend span{display:inline-block;margin-right:12px;font-size:.85em}"
    ".legend i{display:inline-block;width:10px;height:10px;"
    "margin-right:4px;border-radius:2px}"
    "small,.muted{color:#666}";


/* Text for HTML: names are restricted, but file names and bad-line
 * reasons can hold anything. */
static void
esc(FILE *out, const char *s)
{
    for ( /* void */ ; *s; s++) {
        switch (*s) {
        case '&':  fputs("&amp;", out); break;
        case '<':  fputs("&lt;", out); break;
        case '>':  fputs("&gt;", out); break;
        case '"':  fputs("&quot;", out); break;
        default:   fputc(*s, out); break;
        }
    }
}


/* " (s)" after a metric that has a unit. */
static void
unit(FILE *out, const char *metric)
{
    const char  *u = ab_metric_unit(metric);

    if (u != NULL) {
        fprintf(out, " (%s)", u);
    }
}


static void
num(FILE *out, double v, const char *fmt)
{
    if (isfinite(v)) {
        fprintf(out, fmt, v);
    } else {
        fputs("&ndash;", out);
    }
}


static void
pct(FILE *out, double v)
{
    if (isfinite(v)) {
        fprintf(out, "%+.1f%%", v * 100);
    } else {
        fputs("&ndash;", out);
    }
}


static const char *
color(size_t i)
{
    return palette[i % NCOLORS];
}


/* ---- charts ---- */

typedef struct {
    size_t         n;           /* points */
    const double  *x;           /* seconds */
    double        *y, *lo, *hi; /* lo, hi: a band, or NULL */
    const char    *color;
} series_t;

typedef struct {
    double  x0, x1, y0, y1;
} range_t;


static double
px(const range_t *r, double x)
{
    return ML + (r->x1 > r->x0 ? (x - r->x0) / (r->x1 - r->x0) : 0.5)
                * (W - ML - MR);
}


static double
py(const range_t *r, double y)
{
    return MT + (r->y1 > r->y0 ? (r->y1 - y) / (r->y1 - r->y0) : 0.5)
                * (H - MT - MB);
}


static void
extend(range_t *r, double v, int isx)
{
    double  *lo = isx ? &r->x0 : &r->y0, *hi = isx ? &r->x1 : &r->y1;

    if (!isfinite(v)) {
        return;
    }
    if (v < *lo) {
        *lo = v;
    }
    if (v > *hi) {
        *hi = v;
    }
}


static void
axis_label(FILE *out, double v, int percent)
{
    if (percent) {
        fprintf(out, "%+.0f%%", v * 100);
    } else {
        fprintf(out, "%.3g", v);
    }
}


/* A line chart of series over time; with zero, the y range includes 0
 * and a line marks it. */
static void
line_chart(FILE *out, const char *label, const series_t *s, size_t ns,
    int percent, int zero, int hour)
{
    range_t   r = { INFINITY, -INFINITY, INFINITY, -INFINITY };
    size_t    i, k;
    double    pad;
    char      when[32];
    int       pen;

    for (k = 0; k < ns; k++) {
        for (i = 0; i < s[k].n; i++) {
            extend(&r, s[k].x[i], 1);
            extend(&r, s[k].y[i], 0);
            if (s[k].lo) {
                extend(&r, s[k].lo[i], 0);
                extend(&r, s[k].hi[i], 0);
            }
        }
    }
    if (zero) {
        extend(&r, 0, 0);
    }
    if (!isfinite(r.x0)) {
        r.x0 = r.x1 = 0;
    }
    if (!isfinite(r.y0)) {
        r.y0 = 0;
        r.y1 = 1;
    }
    pad = (r.y1 - r.y0) * 0.05;
    r.y0 -= pad;
    r.y1 += pad;

    fprintf(out, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W, H);
    esc(out, label);
    fputs("\">", out);

    /* Frame, y labels at the ends and the middle, x labels at the ends. */
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
            "fill=\"none\" stroke=\"#ccc\"/>", ML, MT, W - ML - MR,
            H - MT - MB);
    for (i = 0; i < 3; i++) {
        double  v = r.y0 + (r.y1 - r.y0) * (double) i / 2;

        fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">", ML, W - MR, py(&r, v), py(&r, v),
                ML - 6, py(&r, v) + 4);
        axis_label(out, v, percent);
        fputs("</text>", out);
    }
    /* Dates; with hourly buckets, the hour too. */
    ab_time_format((int64_t) (r.x0 * 1e6), when, sizeof(when));
    when[10] = ' ';
    fprintf(out, "<text x=\"%d\" y=\"%d\">%.*s</text>", ML, H - 12,
            hour ? 16 : 10, when);
    ab_time_format((int64_t) (r.x1 * 1e6), when, sizeof(when));
    when[10] = ' ';
    fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.*s</text>",
            W - MR, H - 12, hour ? 16 : 10, when);

    if (zero) {
        fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#888\" stroke-dasharray=\"4 3\"/>", ML, W - MR,
                py(&r, 0), py(&r, 0));
    }

    for (k = 0; k < ns; k++) {
        if (s[k].lo) {
            /* The band: upper bounds forward, lower bounds back. */
            fprintf(out, "<polygon fill=\"%s\" fill-opacity=\"0.18\" "
                    "stroke=\"none\" points=\"", s[k].color);
            for (i = 0; i < s[k].n; i++) {
                if (isfinite(s[k].hi[i]) && isfinite(s[k].lo[i])) {
                    fprintf(out, "%.1f,%.1f ", px(&r, s[k].x[i]),
                            py(&r, s[k].hi[i]));
                }
            }
            for (i = s[k].n; i-- > 0; ) {
                if (isfinite(s[k].hi[i]) && isfinite(s[k].lo[i])) {
                    fprintf(out, "%.1f,%.1f ", px(&r, s[k].x[i]),
                            py(&r, s[k].lo[i]));
                }
            }
            fputs("\"/>", out);
        }

        fprintf(out, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "d=\"", s[k].color);
        for (i = 0, pen = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].y[i])) {
                pen = 0;
                continue;
            }
            fprintf(out, "%c%.1f %.1f ", pen ? 'L' : 'M', px(&r, s[k].x[i]),
                    py(&r, s[k].y[i]));
            pen = 1;
        }
        fputs("\"/>", out);

        /* Points, so that a one-bucket series still shows. */
        for (i = 0; i < s[k].n; i++) {
            if (isfinite(s[k].y[i])) {
                fprintf(out, "<circle r=\"2.5\" fill=\"%s\" cx=\"%.1f\" "
                        "cy=\"%.1f\"/>", s[k].color, px(&r, s[k].x[i]),
                        py(&r, s[k].y[i]));
            }
        }
    }

    fputs("</svg>", out);
}


/* Horizontal bars of visitors per variant, with the expected share as a
 * tick. */
static void
visitors_chart(FILE *out, const ab_rexp_t *x)
{
    size_t    i;
    double    total = 0, max = 1, bw, y, exp_x;
    int       h = 40 + 28 * (int) x->nvariants;

    for (i = 0; i < x->nvariants; i++) {
        total += (double) x->variants[i].visitors;
        if ((double) x->variants[i].visitors > max) {
            max = (double) x->variants[i].visitors;
        }
    }
    for (i = 0; i < x->nvariants; i++) {
        if (isfinite(x->variants[i].expected)
            && x->variants[i].expected * total > max)
        {
            max = x->variants[i].expected * total;
        }
    }

    fprintf(out, "<svg viewBox=\"0 0 %d %d\" role=\"img\" "
            "aria-label=\"visitors per variant\">", W, h);
    for (i = 0; i < x->nvariants; i++) {
        const ab_rvariant_t  *v = &x->variants[i];

        y = 12 + 28 * (double) i;
        bw = (W - 180) * (double) v->visitors / max;
        fprintf(out, "<text x=\"110\" y=\"%.0f\" text-anchor=\"end\">",
                y + 15);
        esc(out, v->name);
        fprintf(out, "</text><rect x=\"120\" y=\"%.0f\" width=\"%.1f\" "
                "height=\"20\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.0f\">"
                "%llu</text>", y, bw, color(i), 126 + bw, y + 15,
                (unsigned long long) v->visitors);
        if (isfinite(v->expected) && total > 0) {
            exp_x = 120 + (W - 180) * v->expected * total / max;
            fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" "
                    "y2=\"%.0f\" stroke=\"#222\" stroke-width=\"2\"/>",
                    exp_x, exp_x, y - 3, y + 23);
        }
    }
    fprintf(out, "<text x=\"120\" y=\"%d\">| expected from the weights"
            "</text></svg>", h - 8);
}


/* The interval a segment row is flagged by (ab_roles_exploratory()):
 * its test's relative one, the sequence's with --sequential. */
static void
row_rel_ci(const ab_rmetric_t *m, double *v, double *lo, double *hi)
{
    const ab_effect_t  *e = ab_metric_test(m);

    *v = e->rel_effect;
    *lo = m->sequential ? m->seq.rel_lo : e->rel_lo;
    *hi = m->sequential ? m->seq.rel_hi : e->rel_hi;
}


/* One forest plot: the primary metric's relative effect with its
 * interval per segment of dimension dim (segs[0..n)) and treatment
 * variant, the pooled effect as a dashed line. A row per (segment,
 * variant), its marker a circle carrying data-segment. */
static void
forest_chart(FILE *out, const ab_rexp_t *x, const ab_rseg_t *segs,
    size_t n, const char *primary)
{
    const ab_rmetric_t  *m;
    range_t              r = { INFINITY, -INFINITY, 0, 1 };
    size_t               i, v, row = 0, rows = 0;
    double               val, lo, hi, y, pv = NAN, plo, phi;
    int                  h, left = 150;

    for (i = 0; i < n; i++) {
        for (v = 1; v < segs[i].r.nvariants; v++, rows++) {
            for (m = segs[i].r.metrics;
                 m < segs[i].r.metrics + segs[i].r.nmetrics; m++)
            {
                if (m->variant == v && strcmp(m->metric, primary) == 0) {
                    row_rel_ci(m, &val, &lo, &hi);
                    extend(&r, val, 1);
                    extend(&r, lo, 1);
                    extend(&r, hi, 1);
                }
            }
        }
    }
    for (m = x->metrics; m < x->metrics + x->nmetrics; m++) {
        if (m->variant == 1 && strcmp(m->metric, primary) == 0) {
            row_rel_ci(m, &pv, &plo, &phi);
            extend(&r, pv, 1);
        }
    }
    extend(&r, 0, 1);
    if (!(r.x1 > r.x0)) {
        r.x0 = -0.1;
        r.x1 = 0.1;
    }
    h = 44 + 20 * (int) rows;

    fprintf(out, "<svg class=\"forest\" data-dimension=\"");
    esc(out, segs[0].dimension);
    fprintf(out, "\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\""
            "relative effect per segment\">", W, h);

#define FX(t)  (left + ((t) - r.x0) / (r.x1 - r.x0) * (W - left - MR))
    fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"6\" y2=\"%d\" "
            "stroke=\"#888\"/>", FX(0.0), FX(0.0), h - 26);
    if (isfinite(pv)) {
        fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"6\" y2=\"%d\" "
                "stroke=\"%s\" stroke-dasharray=\"4 3\"/>", FX(pv), FX(pv),
                h - 26, color(1));
    }
    for (i = 0; i < n; i++) {
        for (v = 1; v < segs[i].r.nvariants; v++, row++) {
            y = 16 + 20 * (double) row;
            fprintf(out, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">",
                    left - 8, y + 4);
            esc(out, segs[i].value);
            if (segs[i].r.nvariants > 2) {
                fputc(' ', out);
                esc(out, segs[i].r.variants[v].name);
            }
            fputs("</text>", out);
            for (m = segs[i].r.metrics;
                 m < segs[i].r.metrics + segs[i].r.nmetrics; m++)
            {
                if (m->variant != v || strcmp(m->metric, primary) != 0) {
                    continue;
                }
                row_rel_ci(m, &val, &lo, &hi);
                if (isfinite(lo) && isfinite(hi)) {
                    fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" "
                            "y1=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" "
                            "stroke-width=\"2\"/>", FX(lo), FX(hi), y, y,
                            color(v));
                }
                if (isfinite(val)) {
                    fprintf(out, "<circle r=\"%s\" fill=\"%s\" "
                            "stroke=\"#222\" stroke-width=\"%s\" "
                            "cx=\"%.1f\" cy=\"%.0f\" data-segment=\"",
                            m->flag ? "5" : "4", color(v),
                            m->flag ? "2" : "0", FX(val), y);
                    esc(out, segs[i].value);
                    fputs("\"/>", out);
                }
            }
        }
    }
    fprintf(out, "<text x=\"%d\" y=\"%d\">", left, h - 8);
    axis_label(out, r.x0, 1);
    fprintf(out, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
            W - MR, h - 8);
    axis_label(out, r.x1, 1);
    fputs("</text></svg>", out);
#undef FX
}


/* --by: a forest plot per dimension, the heterogeneity of the primary
 * metric and the multiplicity note. */
static void
segments_section(FILE *out, const ab_rexp_t *x, const ab_report_t *rep)
{
    const ab_config_t  *cfg = rep->cfg;
    const char         *primary = cfg->nprimary ? cfg->primary[0]
                                                : AB_PRIMARY_DEFAULT;
    size_t              i, j;

    fputs("<h3>Segments</h3><p class=\"muted\">Relative effect on ", out);
    esc(out, primary);
    fputs(" per segment (by each visitor's entry line), with its interval; "
          "dashed: all visitors; outlined: the interval excludes 0.</p>"
          "<div class=\"charts\">", out);
    for (i = 0; i < x->nsegs; i = j) {
        for (j = i; j < x->nsegs
                    && strcmp(x->segs[j].dimension, x->segs[i].dimension) == 0;
             j++)
        {
            /* the segments of one dimension are consecutive */
        }
        fputs("<figure><figcaption>", out);
        esc(out, x->segs[i].dimension);
        fputs("</figcaption>", out);
        forest_chart(out, x, x->segs + i, j - i, primary);
        fputs("</figure>", out);
    }
    fputs("</div><ul class=\"muted\">", out);
    for (i = 0; i < x->nhet; i++) {
        if (strcmp(x->het[i].metric, primary) != 0) {
            continue;
        }
        fputs("<li>Heterogeneity by ", out);
        esc(out, x->het[i].dimension);
        fputs(", ", out);
        esc(out, x->variants[x->het[i].variant].name);
        fprintf(out, ": Cochran's Q = %.4g over %zu segments, p = ",
                x->het[i].q, x->het[i].segments);
        num(out, x->het[i].p_value, "%.4g");
        fputs("</li>", out);
    }
    fprintf(out, "</ul><p class=\"muted\">Segment results are exploratory, "
            "in no Holm family: %zu segments, %zu metric rows, %zu flagged; "
            "about %.1f (alpha x rows) are expected by chance alone.</p>",
            x->nsegs, x->seg_tests, x->seg_flags,
            rep->alpha * (double) x->seg_tests);
}


static void
legend(FILE *out, const ab_rexp_t *x, size_t from)
{
    size_t  i;

    fputs("<div class=\"legend\">", out);
    for (i = from; i < x->nvariants; i++) {
        fprintf(out, "<span><i style=\"background:%s\"></i>", color(i));
        esc(out, x->variants[i].name);
        fputs("</span>", out);
    }
    fputs("</div>", out);
}


/* The trend points of variant v, as chart series. */
static int
trend_series(const ab_rexp_t *x, size_t v, int lift, int seq, double *xs,
    series_t *s)
{
    size_t  i, n = 0;

    s->y = malloc((x->ntrend + 1) * sizeof(double));
    s->lo = lift ? malloc((x->ntrend + 1) * sizeof(double)) : NULL;
    s->hi = lift ? malloc((x->ntrend + 1) * sizeof(double)) : NULL;
    if (s->y == NULL || (lift && (s->lo == NULL || s->hi == NULL))) {
        return -1;
    }

    for (i = 0; i < x->ntrend; i++) {
        const ab_rtrend_t  *t = &x->trend[i];

        if (t->variant != v) {
            continue;
        }
        xs[n] = (double) t->start / 1e6;
        if (lift) {
            s->y[n] = t->rpv_lift.rel_effect;
            s->lo[n] = seq ? t->rpv_seq.rel_lo : t->rpv_lift.rel_lo;
            s->hi[n] = seq ? t->rpv_seq.rel_hi : t->rpv_lift.rel_hi;
        } else {
            s->y[n] = t->rpv;
        }
        n++;
    }

    s->n = n;
    s->x = xs;
    s->color = color(v);

    return 0;
}


static int
charts(FILE *out, const ab_rexp_t *x, int hour, int seq)
{
    size_t     nv = x->nvariants, v, nb = nv ? x->ntrend / nv : 0;
    series_t  *s = calloc(nv + 1, sizeof(*s));
    double    *xs = malloc((nb + 1) * sizeof(double));
    int        rc = -1;

    if (s == NULL || xs == NULL) {
        goto done;
    }

    fputs("<div class=\"charts\">", out);

    if (x->ntrend > 0) {
        for (v = 0; v < nv; v++) {
            if (trend_series(x, v, 0, seq, xs, &s[v]) != 0) {
                goto done;
            }
        }
        fputs("<figure><figcaption>Cumulative revenue per visitor"
              "</figcaption>", out);
        line_chart(out, "cumulative revenue per visitor", s, nv, 0, 0, hour);
        legend(out, x, 0);
        fputs("</figure>", out);

        for (v = 0; v < nv; v++) {
            free(s[v].y);
            s[v].y = NULL;
            if (v > 0 && trend_series(x, v, 1, seq, xs, &s[v]) != 0) {
                goto done;
            }
        }
        if (nv > 1) {
            fputs("<figure><figcaption>Lift in revenue per visitor vs. ",
                  out);
            esc(out, x->variants[x->baseline].name);
            fputs(seq ? " (band: always-valid confidence sequence)"
                  "</figcaption>" : " (band: CI)</figcaption>", out);
            line_chart(out, "relative lift with confidence band", s + 1,
                       nv - 1, 1, 1, hour);
            legend(out, x, 1);
            fputs("</figure>", out);
        }
    }

    fputs("<figure><figcaption>Visitors per variant</figcaption>", out);
    visitors_chart(out, x);
    fputs("</figure></div>", out);
    rc = 0;

done:
    for (v = 0; s && v < nv; v++) {
        free(s[v].y);
        free(s[v].lo);
        free(s[v].hi);
    }
    free(s);
    free(xs);

    return rc;
}


/* ---- text ---- */

static void
verdict(FILE *out, const ab_rexp_t *x, double alpha, int seq)
{
    size_t  i, nmoved = 0, nreg = 0;
    int     warn;

    for (i = 0; i < x->nmetrics; i++) {
        nmoved += ab_metric_moved(&x->metrics[i], alpha);
        nreg += ab_metric_regressed(&x->metrics[i], alpha);
    }
    warn = x->srm_alert || nreg > 0 || x->srm_warning[0] != '\0';

    fprintf(out, "<div class=\"verdict%s\"><ul>",
            warn ? " warn" : nmoved ? "" : " neutral");

    if (x->srm_alert) {
        fputs("<li><strong>Sample ratio mismatch</strong>: visitors do not "
              "split as the weights say (p = ", out);
        num(out, x->srm_p, "%.2g");
        fputs("). Fix the assignment before trusting any result.</li>", out);
    } else if (isfinite(x->srm_p)) {
        fputs("<li>Split as expected (SRM p = ", out);
        num(out, x->srm_p, "%.2g");
        fputs(").</li>", out);
    }
    if (x->srm_warning[0] != '\0') {
        fputs("<li><strong>SRM</strong>: ", out);
        esc(out, x->srm_warning);
        fputs(".</li>", out);
    }

    for (i = 0; i < x->nvariants; i++) {
        if (x->variants[i].concentrated) {
            fputs("<li><strong>Revenue concentrated</strong>: one visitor "
                  "has ", out);
            num(out, 100 * x->variants[i].top_share, "%.1f%%");
            fputs(" of ", out);
            esc(out, x->variants[i].name);
            fputs("'s revenue; its revenue metrics move with that visitor "
                  "(--cap-revenue).</li>", out);
        }
    }

    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];

        if (!ab_metric_moved(m, alpha) && !ab_metric_regressed(m, alpha)) {
            continue;
        }
        fputs(ab_metric_regressed(m, alpha) ? "<li><strong>Guardrail regressed"
              "</strong>: " : "<li>Moved: ", out);
        esc(out, m->metric);
        unit(out, m->metric);
        fputs(" ", out);
        esc(out, x->variants[m->variant].name);
        /* Green is good: for a guardrail, higher is worse. */
        fprintf(out, " <span class=\"%s\">",
                (m->e.abs_effect > 0) != m->guardrail ? "up" : "down");
        if (isfinite(m->e.rel_effect)) {
            pct(out, m->e.rel_effect);
        } else {
            num(out, m->e.abs_effect, "%+.4g");
        }
        fputs(seq ? "</span> (always-valid p = " : "</span> (p = ", out);
        num(out, ab_verdict_p(m), "%.2g");
        fputs(")</li>", out);
    }

    if (nmoved == 0 && nreg == 0) {
        fputs("<li>No primary metric moved significantly (yet).</li>", out);
    }
    fputs("</ul></div>", out);
}


static void
variants_table(FILE *out, const ab_rexp_t *x)
{
    size_t  i;

    fputs("<div class=\"scroll\"><table><tr><th>variant</th><th>visitors"
          "</th><th>expected</th><th>excluded</th><th>orders</th>"
          "<th>converters</th><th>revenue</th></tr>", out);
    for (i = 0; i < x->nvariants; i++) {
        const ab_rvariant_t  *v = &x->variants[i];

        fprintf(out, "<tr><td><i style=\"display:inline-block;width:10px;"
                "height:10px;background:%s\"></i> ", color(i));
        esc(out, v->name);
        fprintf(out, "%s</td><td>%llu</td><td>", i == x->baseline
                ? " <small>(baseline)</small>" : "",
                (unsigned long long) v->visitors);
        num(out, v->expected * 100, "%.1f%%");
        fprintf(out, "</td><td>%llu</td><td>%llu</td><td>%llu</td><td>",
                (unsigned long long) v->multi_variant,
                (unsigned long long) v->orders,
                (unsigned long long) v->converters);
        num(out, v->revenue, "%.2f");
        fputs("</td></tr>", out);
    }
    fputs("</table></div>", out);
}


/* A relative CI and a p-value, each in a cell after the open one. */
static void
ci_p_cells(FILE *out, double lo, double hi, double p)
{
    fputs("</td><td>", out);
    pct(out, lo);
    fputs(" &hellip; ", out);
    pct(out, hi);
    fputs("</td><td>", out);
    num(out, p, "%.3g");
}


static void
metrics_table(FILE *out, const ab_rexp_t *x, double alpha, int seq)
{
    size_t  i;

    fputs("<div class=\"scroll\"><table><tr><th>metric</th><th class=\"l\">"
          "variant</th><th>value</th><th>baseline</th><th>effect</th>"
          "<th>relative</th><th>relative CI</th><th>p</th><th>p adj.</th>",
          out);
    fputs(seq ? "<th>always-valid relative CI</th><th>always-valid p adj."
          "</th></tr>" : "</tr>", out);
    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        int                  sig = ab_metric_moved(m, alpha)
                                   || ab_metric_regressed(m, alpha);

        fprintf(out, "<tr%s><td>", sig ? " class=\"sig\"" : "");
        esc(out, m->metric);
        unit(out, m->metric);
        fprintf(out, " <small>(%s)</small>", m->role == AB_ROLE_SECONDARY
                ? "exploratory" : ab_role_name(m->role));
        fputs("</td><td class=\"l\">", out);
        esc(out, x->variants[m->variant].name);
        fputs("</td><td>", out);
        num(out, m->e.value, "%.4g");
        fputs("</td><td>", out);
        num(out, m->e.baseline_value, "%.4g");
        fputs("</td><td>", out);
        num(out, m->e.abs_effect, "%+.4g");
        fputs("</td><td>", out);
        pct(out, m->e.rel_effect);
        ci_p_cells(out, m->e.rel_lo, m->e.rel_hi, m->p_test);
        fputs("</td><td>", out);
        num(out, m->p_adjusted, "%.3g");
        if (seq) {
            ci_p_cells(out, m->seq.rel_lo, m->seq.rel_hi, m->seq.p_adjusted);
        }
        fprintf(out, "%s</td></tr>", sig ? " &#9733;" : "");
    }
    fputs("</table></div>", out);
}


/* The primary rows: adjusted CIs and power (roles.c, power.c). */
static void
power_table(FILE *out, const ab_rexp_t *x, double mde)
{
    size_t  i;

    fputs("<div class=\"scroll\"><table><tr><th>primary metric</th>"
          "<th class=\"l\">variant</th><th>adjusted CI</th><th>level</th>"
          "<th>detectable effect (80% power)</th><th>at alpha</th>"
          "<th>visitors still needed</th><th>days</th></tr>", out);
    for (i = 0; i < x->nmetrics; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];
        const ab_power_t    *pw = &m->power;

        if (m->role != AB_ROLE_PRIMARY) {
            continue;
        }
        fputs("<tr><td>", out);
        esc(out, m->metric);
        fputs("</td><td class=\"l\">", out);
        esc(out, x->variants[m->variant].name);
        fputs("</td><td>", out);
        if (m->rel_test) {
            pct(out, m->adj_lo);
            fputs(" &hellip; ", out);
            pct(out, m->adj_hi);
        } else {
            num(out, m->adj_lo, "%+.4g");
            fputs(" &hellip; ", out);
            num(out, m->adj_hi, "%+.4g");
        }
        fputs("</td><td>", out);
        num(out, m->adj_level * 100, "%.4g%%");
        fputs("</td><td>", out);
        if (isfinite(pw->mde)) {
            num(out, pw->mde * 100, "&plusmn;%.1f%%");
        } else {
            num(out, pw->mde_abs, "&plusmn;%.4g");
        }
        fputs("</td><td>", out);
        num(out, pw->alpha, "%.3g");
        fputs("</td><td>", out);
        num(out, pw->visitors_needed, "%.0f");
        fputs("</td><td>", out);
        num(out, pw->days_needed, "%.1f");
        fputs("</td></tr>", out);
    }
    fputs("</table></div>", out);
    if (mde > 0) {
        fprintf(out, "<p class=\"muted\">Visitors and days: still needed "
                "in the variant and the baseline together for an effect of "
                "%g%% to have 80%% power, at the enrollment rate so far.</p>",
                mde * 100);
    } else {
        fputs("<p class=\"muted\">Give <code>--mde PCT</code> for the "
              "visitors and days an effect of PCT percent still needs.</p>",
              out);
    }
}


static void
input_summary(FILE *out, const ab_report_t *rep)
{
    const ab_state_t  *st = rep->st;
    size_t             i;

    fprintf(out, "<section><h2>Input</h2><div class=\"scroll\"><table>"
            "<tr><td>files</td><td>%llu</td></tr>"
            "<tr><td>lines</td><td>%llu</td></tr>"
            "<tr><td>bad lines (skipped)</td><td>%llu</td></tr>"
            "<tr><td>visitors</td><td>%llu</td></tr>"
            "<tr><td>duplicate orders (ignored)</td><td>%llu</td></tr>"
            "<tr><td>orphan refunds</td><td>%llu</td></tr>"
            "<tr><td>events before exposure (ignored)</td><td>%llu</td></tr>"
            "<tr><td>orders with refunds over their revenue (capped)</td>"
            "<td>%llu</td></tr>"
            "<tr><td>client order events (ignored)</td><td>%llu</td></tr>"
            "<tr><td>orders without order id</td><td>%llu</td></tr>"
            "</table></div>",
            (unsigned long long) st->files, (unsigned long long) st->lines,
            (unsigned long long) st->bad_lines, (unsigned long long) (st->nvis + st->forgotten),
            (unsigned long long) st->duplicate_orders,
            (unsigned long long) rep->orphan_refunds,
            (unsigned long long) rep->events_before_exposure,
            (unsigned long long) rep->refunds_over_order,
            (unsigned long long) st->client_order_events,
            (unsigned long long) st->orders_no_id);

    if (st->nbad > 0) {
        fputs("<h3>First bad lines</h3><div class=\"scroll\"><table>", out);
        for (i = 0; i < st->nbad; i++) {
            fputs("<tr><td class=\"l\">", out);
            esc(out, st->bad[i].file);
            fprintf(out, ":%llu</td><td class=\"l\">",
                    (unsigned long long) st->bad[i].line);
            esc(out, st->bad[i].reason);
            fputs("</td></tr>", out);
        }
        fputs("</table></div>", out);
    }
    fputs("</section>", out);
}


int
ab_render_html(FILE *out, const ab_report_t *rep)
{
    char    t1[32], t2[32], t3[32];
    size_t  i;

    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
            "<meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,"
            "initial-scale=1\"><title>A/B test report</title><style>%s"
            "</style></head><body><main><h1>A/B test report</h1>"
            "<p class=\"muted\">%zu experiment(s); confidence %.0f%%; "
            "stars mark significant rows%s.</p>", style, rep->nexps,
            (1 - rep->alpha) * 100, rep->sequential ? " by the always-valid "
            "(sequential) results, right at every look" : "");
    fprintf(out, "<p class=\"muted\" id=\"range\">Log lines from %s to %s; "
            "generated %s.</p>",
            ab_fmt_time(rep->first_time, t1, sizeof(t1), "(unknown)"),
            ab_fmt_time(rep->last_time, t2, sizeof(t2), "(none)"),
            ab_fmt_time(rep->generated, t3, sizeof(t3), "(unknown)"));

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        fputs("<section><h2>", out);
        esc(out, x->name);
        fputs("</h2>", out);
        if (x->nvariants == 0) {
            fputs("<p>No visitors.</p></section>", out);
            continue;
        }
        verdict(out, x, rep->alpha, rep->sequential);
        if (charts(out, x, rep->bucket == AB_BUCKET_HOUR,
                   rep->sequential) != 0)
        {
            return -1;
        }
        fputs("<h3>Variants</h3>", out);
        variants_table(out, x);
        ab_audit_html(out, x, esc);
        fputs("<h3>Metrics</h3>", out);
        metrics_table(out, x, rep->alpha, rep->sequential);
        if (x->nmetrics > 0) {
            fputs("<h3>Power of the primary metrics</h3>", out);
            power_table(out, x, rep->cfg ? rep->cfg->mde : 0);
        }
        if (rep->cfg && rep->cfg->by && x->nsegs > 0) {
            segments_section(out, x, rep);
        }
        fputs("</section>", out);
    }

    input_summary(out, rep);

    /* For the browser test: the rendered size of every chart. */
    fputs("<script>document.addEventListener('DOMContentLoaded',function()"
          "{var s=[];document.querySelectorAll('svg').forEach(function(e)"
          "{var r=e.getBoundingClientRect();s.push(Math.round(r.width)+'x'+"
          "Math.round(r.height));});document.body.setAttribute("
          "'data-svg-sizes',s.join(' '));var f=[];document.querySelectorAll("
          "'svg.forest').forEach(function(e){var k=0;e.querySelectorAll("
          "'circle[data-segment]').forEach(function(c){var r=c."
          "getBoundingClientRect();if(r.width>0&&r.height>0)k++;});f.push("
          "e.getAttribute('data-dimension')+'='+k);});document.body."
          "setAttribute('data-forest-markers',f.join(' '));});</script>"
          "</main></body></html>\n", out);

    return ferror(out) ? -1 : 0;
}
