/*
 * Prometheus text exposition format, for node_exporter's textfile
 * collector: each family's HELP and TYPE once, then all its samples, as
 * the format requires. Everything is a gauge: a report describes the
 * experiment as of now, and counts may shrink (refunds, multi-variant
 * exclusions). Undefined numbers are NaN, which the format allows.
 */

#include "render.h"
#include "roles.h"

#include <math.h>
#include <string.h>

#include "repfmt.h"

typedef enum {
    F_VISITORS, F_ORDERS, F_REVENUE, F_CONVERTERS, F_MULTI,
    F_VALUE, F_ABS, F_ABS_LO, F_ABS_HI, F_REL, F_REL_LO, F_REL_HI, F_P,
    F_P_ADJ, F_VERDICT_P, F_MOVED, F_REGRESSED, F_SRM_P, F_SRM_ALERT, F_N
} family_t;

static const struct {
    const char  *name;
    const char  *help;
} families[F_N] = {
    { "abstat_visitors", "Visitors in the analysis of the variant." },
    { "abstat_orders", "Counted orders of the variant's visitors." },
    { "abstat_revenue", "Revenue of the variant's visitors, refunds "
                        "subtracted, in the log's units." },
    { "abstat_converters", "Visitors of the variant with at least one "
                           "order." },
    { "abstat_multi_variant", "Visitors excluded for seeing this and "
                              "another variant." },
    { "abstat_metric_value", "The variant's estimate of the metric "
                             "(mean_latency in seconds)." },
    { "abstat_metric_effect", "Absolute effect against the baseline." },
    { "abstat_metric_effect_ci_low", "Lower CI bound of the absolute "
                                     "effect." },
    { "abstat_metric_effect_ci_high", "Upper CI bound of the absolute "
                                      "effect." },
    { "abstat_metric_relative_effect", "Relative effect against the "
                                       "baseline." },
    { "abstat_metric_relative_effect_ci_low", "Lower CI bound of the "
                                              "relative effect." },
    { "abstat_metric_relative_effect_ci_high", "Upper CI bound of the "
                                               "relative effect." },
    { "abstat_metric_p_value", "Two-sided p-value of the absolute "
                               "effect (Welch)." },
    { "abstat_metric_p_value_adjusted", "Holm-adjusted p-value of the "
                                        "verdict's test (primary metrics)." },
    { "abstat_metric_verdict_p_value", "The p-value the verdict judges: "
                                       "Holm's for primary metrics, the "
                                       "one-sided p of harm for guardrails; "
                                       "always-valid with --sequential." },
    { "abstat_metric_moved", "1 when a primary metric moved: its verdict "
                             "p-value is below alpha." },
    { "abstat_guardrail_regressed", "1 when a guardrail regressed, the "
                                    "rule of --fail-on guardrail." },
    { "abstat_srm_p_value", "p-value of the sample ratio mismatch "
                            "chi-square test." },
    { "abstat_srm_alert", "1 when the SRM p-value is below 0.001." },
};


/* A label value: the format escapes backslash, quote and newline. */
static void
label(FILE *out, const char *key, const char *v, int first)
{
    fprintf(out, "%s%s=\"", first ? "" : ",", key);
    for ( /* void */ ; *v; v++) {
        if (*v == '\\' || *v == '"') {
            fputc('\\', out);
            fputc(*v, out);
        } else if (*v == '\n') {
            fputs("\\n", out);
        } else {
            fputc(*v, out);
        }
    }
    fputc('"', out);
}


static void
value(FILE *out, double v)
{
    char  buf[32];

    if (isnan(v)) {
        fputs(" NaN\n", out);
    } else if (isinf(v)) {
        fputs(v > 0 ? " +Inf\n" : " -Inf\n", out);
    } else {
        ab_fmt_double(buf, sizeof(buf), v);
        fprintf(out, " %s\n", buf);
    }
}


static void
variant_sample(FILE *out, family_t f, const ab_rexp_t *x,
    const ab_rvariant_t *v)
{
    double  d = 0;

    switch (f) {
    case F_VISITORS:   d = (double) v->visitors; break;
    case F_ORDERS:     d = (double) v->orders; break;
    case F_REVENUE:    d = v->revenue; break;
    case F_CONVERTERS: d = (double) v->converters; break;
    default:           d = (double) v->multi_variant; break;
    }

    fprintf(out, "%s{", families[f].name);
    label(out, "experiment", x->name, 1);
    label(out, "variant", v->name, 0);
    fputc('}', out);
    value(out, d);
}


static void
metric_sample(FILE *out, family_t f, const ab_rexp_t *x, const char *var,
    const char *metric, double d)
{
    fprintf(out, "%s{", families[f].name);
    label(out, "experiment", x->name, 1);
    label(out, "variant", var, 0);
    label(out, "metric", metric, 0);
    fputc('}', out);
    value(out, d);
}


static double
effect_field(family_t f, const ab_rmetric_t *m)
{
    switch (f) {
    case F_ABS:    return m->e.abs_effect;
    case F_ABS_LO: return m->e.abs_lo;
    case F_ABS_HI: return m->e.abs_hi;
    case F_REL:    return m->e.rel_effect;
    case F_REL_LO: return m->e.rel_lo;
    case F_REL_HI: return m->e.rel_hi;
    case F_P:      return m->e.p_value;
    case F_P_ADJ:  return m->p_adjusted;
    default:       return ab_verdict_p(m);
    }
}


/* Whether family f has a sample for row m: the verdicts' families only
 * for the rows that have a verdict. */
static int
has_sample(family_t f, const ab_rmetric_t *m)
{
    switch (f) {
    case F_P_ADJ:
    case F_MOVED:     return m->role == AB_ROLE_PRIMARY;
    case F_REGRESSED: return m->role == AB_ROLE_GUARDRAIL;
    case F_VERDICT_P: return m->role != AB_ROLE_SECONDARY;
    default:          return 1;
    }
}


static void
family(FILE *out, family_t f, const ab_report_t *rep)
{
    size_t  i, j;

    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", families[f].name,
            families[f].help, families[f].name);

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        if (f <= F_MULTI) {
            for (j = 0; j < x->nvariants; j++) {
                variant_sample(out, f, x, &x->variants[j]);
            }
        } else if (f == F_SRM_P || f == F_SRM_ALERT) {
            fprintf(out, "%s{", families[f].name);
            label(out, "experiment", x->name, 1);
            fputc('}', out);
            value(out, f == F_SRM_P ? x->srm_p : x->srm_alert);
        } else {
            for (j = 0; j < x->nmetrics; j++) {
                const ab_rmetric_t  *m = &x->metrics[j];

                if (f == F_MOVED || f == F_REGRESSED) {
                    if (has_sample(f, m)) {
                        metric_sample(out, f, x, x->variants[m->variant].name,
                                      m->metric, f == F_MOVED
                                      ? ab_metric_moved(m, rep->alpha)
                                      : ab_metric_regressed(m, rep->alpha));
                    }
                    continue;
                }
                if (f != F_VALUE) {
                    if (has_sample(f, m)) {
                        metric_sample(out, f, x, x->variants[m->variant].name,
                                      m->metric, effect_field(f, m));
                    }
                    continue;
                }
                /* The baseline's value once per metric, beside the rows
                 * of the other variants. */
                if (j == 0 || strcmp(x->metrics[j - 1].metric, m->metric)) {
                    metric_sample(out, f, x, x->variants[x->baseline].name,
                                  m->metric, m->e.baseline_value);
                }
                metric_sample(out, f, x, x->variants[m->variant].name,
                              m->metric, m->e.value);
            }
        }
    }
}


/* --by: the SRM p of each segment only (the rest is exploratory, not a
 * series to alert on; a split broken in one segment is). */
static void
segment_srm(FILE *out, const ab_report_t *rep)
{
    size_t  i, j;

    fputs("# HELP abstat_segment_srm_p_value p-value of the sample ratio "
          "mismatch chi-square test among a segment's visitors (--by).\n"
          "# TYPE abstat_segment_srm_p_value gauge\n", out);
    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        for (j = 0; j < x->nsegs; j++) {
            fputs("abstat_segment_srm_p_value{", out);
            label(out, "experiment", x->name, 1);
            label(out, "dimension", x->segs[j].dimension, 0);
            label(out, "segment", x->segs[j].value, 0);
            fputc('}', out);
            value(out, x->segs[j].r.srm_p);
        }
    }
}


static void
input_gauge(FILE *out, const char *name, const char *help, uint64_t v)
{
    fprintf(out, "# HELP abstat_input_%s %s\n# TYPE abstat_input_%s gauge\n"
            "abstat_input_%s %llu\n", name, help, name, name,
            (unsigned long long) v);
}


/* A time of the report as a Unix timestamp, NaN when unknown. */
static void
time_gauge(FILE *out, const char *name, const char *help, int64_t us)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n%s", name, help, name,
            name);
    value(out, us == AB_TIME_UNKNOWN ? NAN : (double) us / 1e6);
}


int
ab_render_prom(FILE *out, const ab_report_t *rep)
{
    int  f;

    time_gauge(out, "abstat_report_generated_timestamp_seconds",
               "When the report was made.", rep->generated);
    time_gauge(out, "abstat_input_first_line_timestamp_seconds",
               "Time of the earliest log line read.", rep->first_time);
    time_gauge(out, "abstat_input_last_line_timestamp_seconds",
               "Time of the latest log line read.", rep->last_time);

    fputs("# HELP abstat_input_lines Lines read, all files.\n"
          "# TYPE abstat_input_lines gauge\n", out);
    fprintf(out, "abstat_input_lines %llu\n",
            (unsigned long long) rep->st->lines);
    fputs("# HELP abstat_input_bad_lines Lines skipped as bad.\n"
          "# TYPE abstat_input_bad_lines gauge\n", out);
    fprintf(out, "abstat_input_bad_lines %llu\n",
            (unsigned long long) rep->st->bad_lines);
    input_gauge(out, "client_order_events_ignored", "Purchases and refunds "
                "sent by visitors (src=client), never counted.",
                rep->st->client_order_events);
    input_gauge(out, "orders_without_order_id", "Purchases without an "
                "order id (cannot be deduplicated).", rep->st->orders_no_id);
    input_gauge(out, "refunds_over_order", "Orders whose refunds exceeded "
                "their revenue (capped at it).", rep->refunds_over_order);

    for (f = 0; f < F_N; f++) {
        family(out, (family_t) f, rep);
    }
    if (rep->cfg != NULL && rep->cfg->by != NULL) {
        segment_srm(out, rep);
    }

    return ferror(out) ? -1 : 0;
}
