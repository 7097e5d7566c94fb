/*
 * One CSV row per comparison, in the shortest form that reads back
 * exactly, empty for undefined. Every name in a report is restricted to
 * [A-Za-z0-9_.:-], so no quoting is needed, but for segment values
 * (a field's, from the log), quoted as RFC 4180 says where they need it.
 * A table has no place for a header line, so each row ends with the
 * data's time range and when the report was made.
 */

#include "render.h"
#include "roles.h"

#include <math.h>
#include <string.h>

#include "repfmt.h"
#include "timefmt.h"


static void
put(FILE *out, double v)
{
    char  buf[32];

    if (isfinite(v)) {
        ab_fmt_double(buf, sizeof(buf), v);
        fprintf(out, ",%s", buf);
    } else {
        fputc(',', out);
    }
}


/* The columns every row ends with: first_time, last_time, generated. */
static void
put_times(FILE *out, const ab_report_t *rep)
{
    char  a[32], b[32], c[32];

    fprintf(out, ",%s,%s,%s\n",
            ab_fmt_time(rep->first_time, a, sizeof(a), ""),
            ab_fmt_time(rep->last_time, b, sizeof(b), ""),
            ab_fmt_time(rep->generated, c, sizeof(c), ""));
}


/* ",s", quoted when s holds a comma, a quote or a line break. */
static void
put_str(FILE *out, const char *s)
{
    const char  *p;

    if (strpbrk(s, ",\"\r\n") == NULL) {
        fprintf(out, ",%s", s);
        return;
    }
    fputs(",\"", out);
    for (p = s; *p; p++) {
        if (*p == '"') {
            fputc('"', out);
        }
        fputc(*p, out);
    }
    fputc('"', out);
}


/* value to rel_p_value: the columns of a comparison */
static void
put_effect(FILE *out, const ab_rmetric_t *m)
{
    put(out, m->e.value);
    put(out, m->e.baseline_value);
    put(out, m->e.abs_effect);
    put(out, m->e.abs_lo);
    put(out, m->e.abs_hi);
    put(out, m->e.rel_effect);
    put(out, m->e.rel_lo);
    put(out, m->e.rel_hi);
    put(out, m->e.p_value);
    put(out, m->e.rel_p_value);
}


/* cuped_rel_effect to unit */
static void
put_adjusted(FILE *out, const ab_rmetric_t *m)
{
    const char  *unit = ab_metric_unit(m->metric);

    put(out, m->has_cuped ? m->cuped.e.rel_effect : NAN);
    put(out, m->has_cuped ? m->cuped.e.rel_lo : NAN);
    put(out, m->has_cuped ? m->cuped.e.rel_hi : NAN);
    put(out, m->sequential ? m->seq.rel_lo : NAN);
    put(out, m->sequential ? m->seq.rel_hi : NAN);
    fprintf(out, ",%s", unit ? unit : "");
}


/* "moved" (primary), "regressed" (guardrail), "held" where a test
 * found nothing, empty for the exploratory rows that have no verdict. */
static const char *
verdict(const ab_rmetric_t *m, double alpha)
{
    if (m->role == AB_ROLE_SECONDARY) {
        return "";
    }
    if (ab_metric_moved(m, alpha)) {
        return "moved";
    }

    return ab_metric_regressed(m, alpha) ? "regressed" : "held";
}


int
ab_render_csv(FILE *out, const ab_report_t *rep)
{
    size_t       i, j;

    fputs("experiment,baseline,metric,variant,guardrail,value,baseline_value,"
          "abs_effect,abs_ci_low,abs_ci_high,rel_effect,rel_ci_low,"
          "rel_ci_high,p_value,rel_p_value,p_value_adjusted,df,srm_p_value,"
          "srm_alert,role,test,mde,visitors_needed,days_needed,"
          "verdict_p_value,verdict,cuped_rel_effect,cuped_rel_ci_low,"
          "cuped_rel_ci_high,sequential_rel_ci_low,sequential_rel_ci_high,"
          "unit,first_time,last_time,generated\n", out);

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        for (j = 0; j < x->nmetrics; j++) {
            const ab_rmetric_t  *m = &x->metrics[j];

            fprintf(out, "%s,%s,%s,%s,%d", x->name,
                    x->variants[x->baseline].name, m->metric,
                    x->variants[m->variant].name, m->guardrail);
            put_effect(out, m);
            put(out, m->p_adjusted);
            put(out, m->e.df);
            put(out, x->srm_p);
            fprintf(out, ",%d,%s,%s", x->srm_alert, ab_role_name(m->role),
                    m->rel_test ? "relative" : "absolute");
            put(out, m->power.defined ? m->power.mde : NAN);
            put(out, m->power.defined ? m->power.visitors_needed : NAN);
            put(out, m->power.defined ? m->power.days_needed : NAN);
            put(out, ab_verdict_p(m));
            fprintf(out, ",%s", verdict(m, rep->alpha));
            put_adjusted(out, m);
            put_times(out, rep);
        }
    }

    return ferror(out) ? -1 : 0;
}


int
ab_render_csv_trend(FILE *out, const ab_report_t *rep)
{
    size_t  i, j;
    char    when[32];

    fputs("experiment,time,variant,new_visitors,orders,revenue,visitors,"
          "cumulative_orders,converters,cumulative_revenue,"
          "revenue_per_visitor,conversion_rate,revenue_per_visitor_lift,"
          "revenue_per_visitor_lift_ci_low,revenue_per_visitor_lift_ci_high,"
          "conversion_rate_lift,conversion_rate_lift_ci_low,"
          "conversion_rate_lift_ci_high,first_time,last_time,generated\n",
          out);

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        for (j = 0; j < x->ntrend; j++) {
            const ab_rtrend_t  *t = &x->trend[j];

            ab_time_format(t->start, when, sizeof(when));
            fprintf(out, "%s,%s,%s,%llu,%llu", x->name, when,
                    x->variants[t->variant].name,
                    (unsigned long long) t->new_visitors,
                    (unsigned long long) t->orders);
            put(out, t->revenue);
            fprintf(out, ",%llu,%llu,%llu", (unsigned long long) t->visitors,
                    (unsigned long long) t->cum_orders,
                    (unsigned long long) t->converters);
            put(out, t->cum_revenue);
            put(out, t->rpv);
            put(out, t->conversion);
            put(out, t->rpv_lift.rel_effect);
            put(out, t->rpv_lift.rel_lo);
            put(out, t->rpv_lift.rel_hi);
            put(out, t->conv_lift.rel_effect);
            put(out, t->conv_lift.rel_lo);
            put(out, t->conv_lift.rel_hi);
            put_times(out, rep);
        }
    }

    return ferror(out) ? -1 : 0;
}


int
ab_render_csv_segments(FILE *out, const ab_report_t *rep)
{
    size_t  i, j, k;

    fputs("experiment,baseline,dimension,segment,segment_visitors,metric,"
          "variant,guardrail,value,baseline_value,abs_effect,abs_ci_low,"
          "abs_ci_high,rel_effect,rel_ci_low,rel_ci_high,p_value,"
          "rel_p_value,df,srm_p_value,srm_alert,role,test,flag,"
          "cuped_rel_effect,cuped_rel_ci_low,cuped_rel_ci_high,"
          "sequential_rel_ci_low,sequential_rel_ci_high,unit,first_time,"
          "last_time,generated\n", out);

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        for (j = 0; j < x->nsegs; j++) {
            const ab_rseg_t  *g = &x->segs[j];

            for (k = 0; k < g->r.nmetrics; k++) {
                const ab_rmetric_t  *m = &g->r.metrics[k];

                fprintf(out, "%s,%s,%s", x->name,
                        x->variants[x->baseline].name, g->dimension);
                put_str(out, g->value);
                fprintf(out, ",%llu,%s,%s,%d", (unsigned long long)
                        g->visitors, m->metric, x->variants[m->variant].name,
                        m->guardrail);
                put_effect(out, m);
                put(out, m->e.df);
                put(out, g->r.srm_p);
                fprintf(out, ",%d,%s,%s,%d", g->r.srm_alert,
                        ab_role_name(m->role),
                        m->rel_test ? "relative" : "absolute", m->flag);
                put_adjusted(out, m);
                put_times(out, rep);
            }
        }
    }

    return ferror(out) ? -1 : 0;
}
