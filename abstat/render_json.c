/*
 * JSON through cJSON. Numbers are written by us in the shortest form
 * that reads back exactly (cJSON's own printer rounds to 15 digits),
 * and anything not finite becomes null, since NaN and Infinity are not
 * JSON.
 */

#include "render.h"

#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "render_audit.h"
#include "repfmt.h"
#include "roles.h"
#include "timefmt.h"


static cJSON *
num(double v)
{
    char  buf[32];

    if (!isfinite(v)) {
        return cJSON_CreateNull();
    }

    ab_fmt_double(buf, sizeof(buf), v);

    return cJSON_CreateRaw(buf);
}


static void
add_num(cJSON *o, const char *key, double v)
{
    cJSON_AddItemToObject(o, key, num(v));
}


static void
add_count(cJSON *o, const char *key, uint64_t v)
{
    cJSON_AddItemToObject(o, key, cJSON_CreateNumber((double) v));
}


static cJSON *
pair(double lo, double hi)
{
    cJSON  *a = cJSON_CreateArray();

    cJSON_AddItemToArray(a, num(lo));
    cJSON_AddItemToArray(a, num(hi));

    return a;
}


/* A time of the report, null when unknown. */
static void
add_time(cJSON *o, const char *key, int64_t us)
{
    char  buf[32];

    if (us == AB_TIME_UNKNOWN) {
        cJSON_AddNullToObject(o, key);
    } else {
        ab_time_format(us, buf, sizeof(buf));
        cJSON_AddStringToObject(o, key, buf);
    }
}


static cJSON *
input_json(const ab_report_t *rep)
{
    const ab_state_t  *st = rep->st;
    cJSON             *in = cJSON_CreateObject(), *samples, *s;
    size_t             i;

    add_count(in, "files", st->files);
    add_time(in, "first_time", rep->first_time);
    add_time(in, "last_time", rep->last_time);
    add_count(in, "lines", st->lines);
    add_count(in, "bad_lines", st->bad_lines);

    samples = cJSON_AddArrayToObject(in, "bad_samples");
    for (i = 0; i < st->nbad; i++) {
        s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "file", st->bad[i].file);
        add_count(s, "line", st->bad[i].line);
        cJSON_AddStringToObject(s, "reason", st->bad[i].reason);
        cJSON_AddItemToArray(samples, s);
    }

    /* a visitor forgotten (--retain) and seen again counts twice */
    add_count(in, "visitors", st->nvis + st->forgotten);
    add_count(in, "visitors_forgotten", st->forgotten);
    add_count(in, "events_before_exposure", rep->events_before_exposure);
    add_count(in, "duplicate_orders", st->duplicate_orders);
    add_count(in, "orphan_refunds", rep->orphan_refunds);
    add_count(in, "refunds_over_order", rep->refunds_over_order);
    add_count(in, "client_order_events_ignored", st->client_order_events);
    add_count(in, "orders_without_order_id", st->orders_no_id);

    return in;
}


/* null when the row was not adjusted (no history, or --no-cuped) */
static cJSON *
cuped_json(const ab_rmetric_t *m)
{
    const ab_effect_t  *e = &m->cuped.e;
    cJSON              *o;

    if (!m->has_cuped) {
        return cJSON_CreateNull();
    }

    o = cJSON_CreateObject();
    add_num(o, "value", e->abs_effect);
    cJSON_AddItemToObject(o, "ci", pair(e->abs_lo, e->abs_hi));
    add_num(o, "rel_effect", e->rel_effect);
    cJSON_AddItemToObject(o, "rel_ci", pair(e->rel_lo, e->rel_hi));
    add_num(o, "p_value", e->p_value);
    add_num(o, "rel_p_value", e->rel_p_value);
    add_num(o, "df", e->df);
    add_num(o, "theta", m->cuped.theta);
    add_num(o, "variance_reduction", m->cuped.variance_reduction);

    return o;
}


static cJSON *
power_json(const ab_power_t *pw)
{
    cJSON  *o = cJSON_CreateObject();

    add_num(o, "alpha", pw->alpha);
    add_num(o, "power", pw->power);
    add_num(o, "mde", pw->mde);
    add_num(o, "mde_abs", pw->mde_abs);
    add_num(o, "visitors_needed", pw->visitors_needed);
    add_num(o, "days_needed", pw->days_needed);

    return o;
}


static cJSON *
metric_json(const ab_rexp_t *x, const ab_rmetric_t *m)
{
    cJSON       *o = cJSON_CreateObject();
    const char  *unit = ab_metric_unit(m->metric);

    cJSON_AddStringToObject(o, "metric", m->metric);
    if (unit != NULL) {
        cJSON_AddStringToObject(o, "unit", unit);
    } else {
        cJSON_AddNullToObject(o, "unit");
    }
    cJSON_AddStringToObject(o, "variant", x->variants[m->variant].name);
    cJSON_AddBoolToObject(o, "guardrail", m->guardrail);
    add_num(o, "value", m->e.value);
    add_num(o, "baseline_value", m->e.baseline_value);
    add_num(o, "abs_effect", m->e.abs_effect);
    cJSON_AddItemToObject(o, "abs_ci", pair(m->e.abs_lo, m->e.abs_hi));
    add_num(o, "rel_effect", m->e.rel_effect);
    cJSON_AddItemToObject(o, "rel_ci", pair(m->e.rel_lo, m->e.rel_hi));
    add_num(o, "p_value", m->e.p_value);
    add_num(o, "rel_p_value", m->e.rel_p_value);
    add_num(o, "p_value_adjusted", m->p_adjusted);
    add_num(o, "df", m->e.df);
    cJSON_AddStringToObject(o, "role", ab_role_name(m->role));
    cJSON_AddStringToObject(o, "test", m->rel_test ? "relative" : "absolute");
    add_num(o, "p_value_test", m->p_test);
    if (m->role == AB_ROLE_PRIMARY && !m->exploratory) {
        cJSON_AddItemToObject(o, "ci_adjusted", pair(m->adj_lo, m->adj_hi));
        add_num(o, "ci_adjusted_level", m->adj_level);
        cJSON_AddItemToObject(o, "power", power_json(&m->power));
    } else {
        cJSON_AddNullToObject(o, "ci_adjusted");
        cJSON_AddNullToObject(o, "ci_adjusted_level");
        cJSON_AddNullToObject(o, "power");
    }
    cJSON_AddBoolToObject(o, "small_counts", m->small_counts);
    cJSON_AddBoolToObject(o, "rel_ci_clipped", m->rel_clipped);
    if (m->guardrail) {
        cJSON  *h = cJSON_AddObjectToObject(o, "harm");

        cJSON_AddStringToObject(h, "test", m->harm_test);
        add_num(h, "margin", m->margin);
        add_num(h, "p_value", m->p_harm);
        if (m->sequential) {
            add_num(h, "sequential_p_value", m->seq_p_harm);
        }
    }
    cJSON_AddItemToObject(o, "cuped", cuped_json(m));
    if (m->exploratory) {
        cJSON_AddBoolToObject(o, "flag", m->flag);
    }

    return o;
}


/* --sequential: the always-valid results beside the fixed-horizon ones. */
static void
add_sequential(cJSON *o, const ab_rmetric_t *m, double tuning)
{
    cJSON           *q = cJSON_AddObjectToObject(o, "sequential");
    const ab_seq_t  *s = &m->seq;

    cJSON_AddStringToObject(q, "estimate",
                            ab_metric_cuped(m) ? "cuped" : "unadjusted");

    cJSON_AddItemToObject(q, "ci", pair(s->lo, s->hi));
    cJSON_AddItemToObject(q, "rel_ci", pair(s->rel_lo, s->rel_hi));
    add_num(q, "p_value", s->p_value);
    add_num(q, "rel_p_value", s->rel_p_value);
    add_num(q, "p_value_adjusted", s->p_adjusted);
    add_num(q, "tuning", tuning);
}


static cJSON *
trend_json(const ab_rexp_t *x, const ab_rtrend_t *t, int seq)
{
    cJSON  *o = cJSON_CreateObject();
    char    when[32];

    ab_time_format(t->start, when, sizeof(when));
    cJSON_AddStringToObject(o, "time", when);
    cJSON_AddStringToObject(o, "variant", x->variants[t->variant].name);
    add_count(o, "new_visitors", t->new_visitors);
    add_count(o, "orders", t->orders);
    add_num(o, "revenue", t->revenue);
    add_count(o, "visitors", t->visitors);
    add_count(o, "cumulative_orders", t->cum_orders);
    add_count(o, "converters", t->converters);
    add_num(o, "cumulative_revenue", t->cum_revenue);
    add_num(o, "revenue_per_visitor", t->rpv);
    add_num(o, "conversion_rate", t->conversion);
    add_num(o, "revenue_per_visitor_lift", t->rpv_lift.rel_effect);
    cJSON_AddItemToObject(o, "revenue_per_visitor_lift_ci",
                          pair(t->rpv_lift.rel_lo, t->rpv_lift.rel_hi));
    add_num(o, "conversion_rate_lift", t->conv_lift.rel_effect);
    cJSON_AddItemToObject(o, "conversion_rate_lift_ci",
                          pair(t->conv_lift.rel_lo, t->conv_lift.rel_hi));
    if (seq) {
        cJSON_AddItemToObject(o, "revenue_per_visitor_lift_ci_sequential",
                              pair(t->rpv_seq.rel_lo, t->rpv_seq.rel_hi));
        cJSON_AddItemToObject(o, "conversion_rate_lift_ci_sequential",
                              pair(t->conv_seq.rel_lo, t->conv_seq.rel_hi));
    }

    return o;
}


static cJSON *
srm_json(const ab_rexp_t *x)
{
    cJSON   *srm = cJSON_CreateObject(), *exp;
    size_t   i;

    exp = cJSON_AddObjectToObject(srm, "expected");
    for (i = 0; i < x->nvariants; i++) {
        add_num(exp, x->variants[i].name, x->variants[i].expected);
    }
    cJSON_AddStringToObject(srm, "weights_source", x->weights_source);
    if (x->weight_changes >= 0) {
        add_count(srm, "weight_changes", (uint64_t) x->weight_changes);
    }
    if (x->srm_warning[0] != '\0') {
        cJSON_AddStringToObject(srm, "warning", x->srm_warning);
    }
    add_num(srm, "chi2", x->chi2);
    add_num(srm, "p_value", x->srm_p);
    cJSON_AddBoolToObject(srm, "alert", x->srm_alert);

    return srm;
}


static cJSON *
variants_json(const ab_rexp_t *x)
{
    cJSON   *vars = cJSON_CreateArray(), *v;
    size_t   i;

    for (i = 0; i < x->nvariants; i++) {
        const ab_rvariant_t  *rv = &x->variants[i];

        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", rv->name);
        add_count(v, "visitors", rv->visitors);
        add_count(v, "multi_variant", rv->multi_variant);
        add_count(v, "orders", rv->orders);
        add_num(v, "revenue", rv->revenue);
        add_count(v, "converters", rv->converters);
        add_count(v, "requests", rv->requests);
        add_count(v, "errors_5xx", rv->errors_5xx);
        add_num(v, "top_visitor_revenue_share", rv->top_share);
        cJSON_AddBoolToObject(v, "revenue_concentrated", rv->concentrated);
        cJSON_AddItemToArray(vars, v);
    }

    return vars;
}


static cJSON *
metrics_json(const ab_rexp_t *x, const ab_report_t *rep)
{
    cJSON   *ms = cJSON_CreateArray(), *v;
    size_t   i;

    for (i = 0; i < x->nmetrics; i++) {
        v = metric_json(x, &x->metrics[i]);
        if (rep->sequential) {
            add_sequential(v, &x->metrics[i], rep->seq_tuning);
        }
        cJSON_AddItemToArray(ms, v);
    }

    return ms;
}


/* --by: the segments, their heterogeneity and the multiplicity note. */
static void
segments_json(cJSON *o, const ab_rexp_t *x, const ab_report_t *rep)
{
    cJSON   *a, *s;
    size_t   i;

    a = cJSON_AddArrayToObject(o, "segments");
    for (i = 0; i < x->nsegs; i++) {
        const ab_rseg_t  *g = &x->segs[i];

        s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "dimension", g->dimension);
        cJSON_AddStringToObject(s, "value", g->value);
        add_count(s, "visitors", g->visitors);
        cJSON_AddItemToObject(s, "variants", variants_json(&g->r));
        cJSON_AddItemToObject(s, "metrics", metrics_json(&g->r, rep));
        cJSON_AddItemToObject(s, "srm", srm_json(&g->r));
        cJSON_AddItemToArray(a, s);
    }

    a = cJSON_AddArrayToObject(o, "heterogeneity");
    for (i = 0; i < x->nhet; i++) {
        const ab_rhet_t  *h = &x->het[i];

        s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "dimension", h->dimension);
        cJSON_AddStringToObject(s, "metric", h->metric);
        cJSON_AddStringToObject(s, "variant", x->variants[h->variant].name);
        add_num(s, "q", h->q);
        add_num(s, "df", h->segments >= 2 ? (double) h->segments - 1 : NAN);
        add_count(s, "segments", h->segments);
        add_num(s, "p_value", h->p_value);
        cJSON_AddItemToArray(a, s);
    }

    s = cJSON_AddObjectToObject(o, "segment_multiplicity");
    add_count(s, "segments", x->nsegs);
    add_count(s, "tests", x->seg_tests);
    add_count(s, "flags", x->seg_flags);
    add_num(s, "expected_flags", rep->alpha * (double) x->seg_tests);
}


static cJSON *
experiment_json(const ab_rexp_t *x, const ab_report_t *rep)
{
    cJSON   *o = cJSON_CreateObject(), *ms;
    size_t   i;

    cJSON_AddStringToObject(o, "name", x->name);
    if (x->nvariants > 0) {
        cJSON_AddStringToObject(o, "baseline", x->variants[x->baseline].name);
    } else {
        cJSON_AddNullToObject(o, "baseline");
    }
    cJSON_AddStringToObject(o, "baseline_source", x->baseline_source);

    cJSON_AddItemToObject(o, "srm", srm_json(x));
    add_count(o, "primary_tests", x->nprimary_tests);
    cJSON_AddItemToObject(o, "variants", variants_json(x));
    add_num(o, "revenue_cap", x->revenue_cap);
    ab_audit_json(o, x, num);
    cJSON_AddItemToObject(o, "metrics", metrics_json(x, rep));

    if (rep->bucket) {
        ms = cJSON_AddArrayToObject(o, "trend");
        for (i = 0; i < x->ntrend; i++) {
            cJSON_AddItemToArray(ms, trend_json(x, &x->trend[i],
                                                rep->sequential));
        }
    }
    if (rep->cfg != NULL && rep->cfg->by != NULL) {
        segments_json(o, x, rep);
    }

    return o;
}


/* --by: the dimensions, --by-top and the note every reader of segment
 * results needs. */
static void
by_json(cJSON *root, const ab_by_t *by)
{
    cJSON   *o = cJSON_AddObjectToObject(root, "segmentation"), *a;
    size_t   i;

    a = cJSON_AddArrayToObject(o, "dimensions");
    for (i = 0; i < by->n; i++) {
        cJSON_AddItemToArray(a, cJSON_CreateString(by->dims[i].name));
    }
    add_count(o, "top", by->top);
    cJSON_AddStringToObject(o, "note", AB_SEGMENT_NOTE);
}


/* The primary metrics as asked for, and --mde. */
static void
primary_json(cJSON *root, const ab_config_t *cfg)
{
    cJSON   *a = cJSON_AddArrayToObject(root, "primary");
    size_t   i;

    if (cfg == NULL || cfg->nprimary == 0) {
        cJSON_AddItemToArray(a, cJSON_CreateString(AB_PRIMARY_DEFAULT));
    }
    for (i = 0; cfg != NULL && i < cfg->nprimary; i++) {
        cJSON_AddItemToArray(a, cJSON_CreateString(cfg->primary[i]));
    }
    if (cfg != NULL && cfg->mde > 0) {
        add_num(root, "mde", cfg->mde);
    } else {
        cJSON_AddNullToObject(root, "mde");
    }
}


int
ab_render_json(FILE *out, const ab_report_t *rep)
{
    cJSON   *root = cJSON_CreateObject(), *exps;
    char    *text;
    size_t   i;
    int      rc;

    if (root == NULL) {
        return -1;
    }

    add_time(root, "generated", rep->generated);
    cJSON_AddItemToObject(root, "input", input_json(rep));
    add_num(root, "alpha", rep->alpha);
    primary_json(root, rep->cfg);
    if (rep->cap_pct > 0) {
        add_num(root, "cap_revenue_percentile", rep->cap_pct);
    }
    add_num(root, "guardrail_margin", rep->guardrail_margin);
    add_num(root, "max_visitor_share", rep->max_visitor_share);
    if (rep->cuped) {
        add_num(root, "cuped_lookback_seconds",
                (double) rep->cuped_lookback / 1e6);
    }
    if (rep->bucket) {
        cJSON_AddStringToObject(root, "bucket",
                                rep->bucket == AB_BUCKET_HOUR ? "hour" : "day");
    }
    if (rep->cfg != NULL && rep->cfg->by != NULL) {
        by_json(root, rep->cfg->by);
    }

    exps = cJSON_AddArrayToObject(root, "experiments");
    for (i = 0; i < rep->nexps; i++) {
        cJSON_AddItemToArray(exps, experiment_json(&rep->exps[i], rep));
    }

    text = cJSON_Print(root);
    cJSON_Delete(root);

    if (text == NULL) {
        return -1;
    }

    rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
    free(text);

    return rc;
}
