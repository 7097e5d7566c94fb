/*
 * One experiment's report from the per-membership totals: variant order
 * and baseline, SRM, revenue cap, per-variant moments of every metric,
 * the comparisons with the baseline and Holm's adjustment.
 */

#include "analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "confhist.h"
#include "audit.h"
#include "roles.h"
#include "exact.h"
#include "guardrail.h"
#include "sanity.h"
#include "capped.h"
#include "cuped.h"
#include "msums.h"
#include "stats.h"
#include "trend.h"

/* What a metric takes of a visitor's values (msums.h): the mean of x,
 * or sum(x) / sum(y) for ratios, and how many of x's units make one. */
typedef struct {
    const char  *name;
    int          ratio;
    int          guardrail;
    int          capped;        /* only with --cap-revenue (capped.h) */
    int          x;
    int          y;             /* AB_MV_ONE for a mean */
    double       scale;
} metric_def_t;

/* Report order; funnel events go between the business metrics and the
 * guardrails (at FUNNEL_AT). */
static const metric_def_t  defs[] = {
    { "conversion_rate",            0, 0, 0, AB_MV_CONVERTED, AB_MV_ONE, 1 },
    { "orders_per_visitor",         0, 0, 0, AB_MV_ORDERS, AB_MV_ONE, 1 },
    { "revenue_per_visitor",        0, 0, 0, AB_MV_REVENUE, AB_MV_ONE, 1e6 },
    { "repeat_purchase_rate",       0, 0, 0, AB_MV_REPEAT, AB_MV_ONE, 1 },
    { "average_order_value",        1, 0, 0, AB_MV_REVENUE, AB_MV_ORDERS,
      1e6 },
    { "revenue_per_visitor_capped", 0, 0, 1, AB_MV_REVENUE, AB_MV_ONE, 1e6 },
    { "average_order_value_capped", 1, 0, 1, AB_MV_REVENUE, AB_MV_ORDERS,
      1e6 },
    { "error_rate",                 1, 1, 0, AB_MV_ERRORS, AB_MV_REQUESTS, 1 },
    { "mean_latency",               1, 1, 0, AB_MV_LATENCY, AB_MV_REQUESTS,
      1e6 },
};

#define NDEFS      (sizeof(defs) / sizeof(defs[0]))
#define FUNNEL_AT  7


/* Value i's counterpart in the visitor's history. */
static int
pre_of(int i)
{
    return i == AB_MV_ONE ? AB_MV_ONE : i + AB_MV_POST;
}


int
ab_metric_kind(const char *name)
{
    size_t  k;

    for (k = 0; k < NDEFS; k++) {
        if (strcmp(defs[k].name, name) == 0) {
            return defs[k].guardrail ? AB_METRIC_GUARDRAIL
                   : defs[k].capped ? AB_METRIC_CAPPED : AB_METRIC_BUSINESS;
        }
    }

    return AB_METRIC_NONE;
}


static const ab_expdef_t *
find_def(const ab_expdef_t *d, size_t n, const char *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(d[i].name, name) == 0) {
            return &d[i];
        }
    }

    return NULL;
}


/* Ids by their names (ctx: the names); qsort_r, because experiments are
 * reported in parallel threads. */
static int
cmp_var(const void *a, const void *b, void *ctx)
{
    const char *const  *names = ctx;

    return strcmp(names[*(const int *) a], names[*(const int *) b]);
}


/* Variant ids in report order, baseline first: configured ones in their
 * order, then the others by name. Returns the baseline's source. */
static const char *
order_variants(const ab_pass_t *p, int e, const ab_expdef_t *def,
    const ab_expdef_t *conf, int *order)
{
    const ab_intern_t  *vars = &p->st->vars[e];
    const char         *want = NULL, *src = NULL, *b = p->cfg->baseline, *eq;
    const char         *expname = p->st->exps.names[e];
    size_t              n = vars->n, k = 0, i, j;
    int                 id, base = -1;
    char               *used = calloc(n + 1, 1);

    if (used == NULL) {
        return NULL;
    }

    for (i = 0; def && i < def->nvars; i++) {
        id = ab_intern_find(vars, def->vars[i], strlen(def->vars[i]));
        if (id >= 0 && !used[id]) {
            used[id] = 1;
            order[k++] = id;
        }
    }
    j = k;
    for (i = 0; i < n; i++) {
        if (!used[i]) {
            order[k++] = (int) i;
        }
    }
    qsort_r(order + j, k - j, sizeof(int), cmp_var, vars->names);
    free(used);

    /* --baseline VAR or --baseline EXP=VAR */
    if (b != NULL) {
        eq = strchr(b, '=');
        if (eq == NULL) {
            want = b;
        } else if ((size_t) (eq - b) == strlen(expname)
                   && memcmp(b, expname, (size_t) (eq - b)) == 0)
        {
            want = eq + 1;
        }
        if (want && (base = ab_intern_find(vars, want, strlen(want))) >= 0) {
            src = "option";
        }
    }
    if (base < 0 && conf && conf->nvars > 0
        && (base = ab_intern_find(vars, conf->vars[0],
                                  strlen(conf->vars[0]))) >= 0)
    {
        src = "nginx-conf";
    }
    if (base < 0 && (base = ab_intern_find(vars, "control", 7)) >= 0) {
        src = "control";
    }
    if (base < 0 && n > 0) {
        base = order[0];
        src = "first";
    }

    for (i = 0; i < n; i++) {
        if (order[i] == base) {
            memmove(order + 1, order, i * sizeof(int));
            order[0] = base;
            break;
        }
    }

    return src ? src : "none";
}


/* The estimate of metric d over one variant's sums. */
static ab_estimate_t
estimate(const ab_msums_t *s, const metric_def_t *d)
{
    double        n = (double) s->n, dn = s->n > 1 ? n - 1 : NAN;
    long double   ux, uy;
    ab_wide_t     w;
    ab_moments_t  m;

    if (!d->ratio) {
        m.n = n;
        m.mean = (double) (ab_msums_mean(s, d->x) / d->scale);
        m.var = (double) (ab_msums_cov(s, d->x, d->x) / d->scale / d->scale);
        return ab_mean_estimate(&m);
    }

    w = ab_msums_sum(s, d->x);
    ux = ab_wide_ld(&w);
    w = ab_msums_sum(s, d->y);
    uy = ab_wide_ld(&w);
    if (uy == 0) {
        /* no denominator: undefined */
        return ab_ratio_estimate_resid(n, NAN, 0, NAN);
    }

    return ab_ratio_estimate_resid(n, (double) (ux / uy / d->scale),
        (double) ab_msums_mean(s, d->y),
        (double) (ab_msums_ratio_resid(s, d->x, d->y) / (uy * d->scale)
                  / (uy * d->scale)) / dn);
}


/* CUPED's moments of metric d over one variant's sums. */
static ab_cuped_moments_t
cuped_moments(const ab_msums_t *s, const metric_def_t *d)
{
    int                 v[AB_CU_NVARS];
    double              sc[AB_CU_NVARS];
    int                 i, j;
    ab_cuped_moments_t  m;

    v[AB_CU_M] = d->x;
    v[AB_CU_D] = d->y;
    v[AB_CU_MPRE] = pre_of(d->x);
    v[AB_CU_DPRE] = pre_of(d->y);
    sc[AB_CU_M] = sc[AB_CU_MPRE] = d->scale;
    sc[AB_CU_D] = sc[AB_CU_DPRE] = 1;

    m.n = (double) s->n;
    for (i = 0; i < AB_CU_NVARS; i++) {
        m.mean[i] = (double) (ab_msums_mean(s, v[i]) / sc[i]);
        for (j = i; j < AB_CU_NVARS; j++) {
            m.cov[i][j] = m.cov[j][i] =
                (double) (ab_msums_cov(s, v[i], v[j]) / sc[i] / sc[j]);
        }
    }

    return m;
}


/* A share of visitors from its count: mean k/n, variance k(n-k)/(n(n-1)). */
static ab_estimate_t
share_estimate(double k, double n)
{
    ab_moments_t  m;

    m.n = n;
    m.mean = n > 0 ? k / n : NAN;
    m.var = n > 1 ? k * (n - k) / (n * (n - 1)) : NAN;

    return ab_mean_estimate(&m);
}


static ab_rmetric_t *
add_metric(ab_rexp_t *x, const char *name, size_t var, int guardrail,
    const ab_estimate_t *t, const ab_estimate_t *c, const ab_config_t *cfg)
{
    double         alpha = cfg->alpha;
    ab_rmetric_t  *m = &x->metrics[x->nmetrics++];

    snprintf(m->metric, sizeof(m->metric), "%s", name);
    m->variant = var;
    m->guardrail = guardrail;
    m->e = ab_compare(t, c, alpha);
    m->p_adjusted = NAN;
    m->t = *t;
    m->c = *c;
    m->p_harm = m->seq_p_harm = m->margin = NAN;
    m->seq = ab_sequential(t, c, &m->e, alpha, cfg->seq_tuning);

    return m;
}


/* Where CUPED decides the row, its sequence is of the adjusted estimate
 * ("sequential and CUPED combine"). */
static void
cuped_sequence(ab_rmetric_t *m, const ab_config_t *cfg)
{
    if (ab_metric_cuped(m)) {
        m->seq = ab_sequential_of(&m->cuped.e, m->cuped.var, m->cuped.rel_var,
                                  m->t.n + m->c.n, cfg->alpha,
                                  cfg->seq_tuning);
    }
}


/* CUPED of funnel event ev between variants tv and cv of experiment e:
 * the covariate is whether the visitor had the event in its history. */
static void
event_cuped(const ab_pass_t *p, const ab_msel_t *sel, int tv, int cv,
    size_t ev, ab_rmetric_t *m, const ab_config_t *cfg)
{
    size_t            nev = p->st->events.n;
    size_t            at = (size_t) tv * nev + ev, ac = (size_t) cv * nev + ev;
    ab_cuped_share_t  t, c;

    t.n = m->t.n;
    t.k = (double) sel->event_count[at];
    t.k_pre = (double) sel->event_pre[at];
    t.k_both = (double) sel->event_both[at];
    c.n = m->c.n;
    c.k = (double) sel->event_count[ac];
    c.k_pre = (double) sel->event_pre[ac];
    c.k_both = (double) sel->event_both[ac];

    m->has_cuped = ab_cuped_share_row(&t, &c, cfg->alpha, &m->cuped);
    cuped_sequence(m, cfg);
}


/* A share of kt of nt visitors against kc of nc: Welch's comparison
 * stays unless a side has too few successes or failures for it. */
static void
share_test(ab_rmetric_t *m, double kt, double nt, double kc, double nc,
    double alpha)
{
    if (nt > 0 && nc > 0 && ab_small_counts(kt, nt, kc, nc)) {
        m->e = ab_compare_exact(kt, nt, kc, nc, alpha);
        m->small_counts = 1;
    }
}


/*
 * The expected split of --config-history: the weights each visitor
 * entered under. When weights change, sticky visitors (and visitors who
 * never come back) keep the variant of their entry, so the pooled split
 * is that mixture, not the newest weights. 0, or -1 when not testable.
 */
static int
srm_history(const ab_pass_t *p, int e, const ab_msel_t *sel, ab_rexp_t *x,
    double *w)
{
    const char      **names = calloc(x->nvariants + 1, sizeof(char *));
    const uint64_t   *entered;
    uint64_t         *counted = NULL;
    size_t            i;
    int               rc;

    if (names == NULL) {
        return -1;
    }
    for (i = 0; i < x->nvariants; i++) {
        names[i] = x->variants[i].name;
    }

    x->weights_source = "config-history";
    x->weight_changes = (long) ab_confhist_changes(p->cfg->history, x->name);
    entered = sel->entered;
    if (entered == NULL) {
        counted = malloc((p->cfg->history->n + 1) * sizeof(*counted));
        if (counted == NULL) {
            free(names);
            return -1;
        }
        ab_confhist_entered(p->cfg->history, p->st, e, sel->list, sel->nlist,
                            counted);
        entered = counted;
    }
    rc = ab_confhist_expected(p->cfg->history, x->name, entered, names,
                              x->nvariants, w, x->srm_warning,
                              sizeof(x->srm_warning));
    free(counted);
    free(names);

    return rc == 0 ? 0 : -1;
}


static void
srm(const ab_pass_t *p, int e, const ab_msel_t *sel, ab_rexp_t *x,
    const ab_expdef_t *def, const char *source, const ab_expdef_t *conf)
{
    double  *obs = calloc(x->nvariants + 1, sizeof(double));
    double  *w = calloc(x->nvariants + 1, sizeof(double));
    double   total = 0;
    size_t   i, j;
    int      history = strcmp(source, "weights") != 0
                       && p->cfg->history != NULL
                       && ab_confhist_has(p->cfg->history, x->name);

    x->weight_changes = -1;
    x->srm_warning[0] = '\0';

    if (obs == NULL || w == NULL
        || (history && srm_history(p, e, sel, x, w) != 0))
    {
        free(obs);
        free(w);
        x->chi2 = x->srm_p = NAN;
        for (i = 0; i < x->nvariants; i++) {
            x->variants[i].expected = NAN;
        }
        return;
    }

    if (!history) {
        x->weights_source = def ? source : "equal";
    }
    if (!history && conf != NULL && conf->sticky) {
        snprintf(x->srm_warning, sizeof(x->srm_warning), "%s is sticky: "
                 "the SRM test assumes its weights never changed; if they "
                 "did, give --config-history", x->name);
    }

    for (i = 0; i < x->nvariants; i++) {
        obs[i] = (double) x->variants[i].visitors;
        if (!history) {
            w[i] = def ? 0 : 1;
        }
        for (j = 0; !history && def && j < def->nvars; j++) {
            if (strcmp(def->vars[j], x->variants[i].name) == 0) {
                w[i] = def->weights[j];
            }
        }
        total += w[i];
    }

    for (i = 0; i < x->nvariants; i++) {
        x->variants[i].expected = total > 0 ? w[i] / total : NAN;
    }

    x->srm_p = ab_srm(obs, w, x->nvariants, &x->chi2);
    x->srm_alert = x->srm_p < 0.001;

    free(obs);
    free(w);
}


static void
fill_variants(const ab_pass_t *p, int e, const ab_msel_t *sel,
    const int *order, const ab_msums_t *sums, ab_rexp_t *x)
{
    const ab_state_t  *st = p->st;
    const ab_msums_t  *s;
    ab_rvariant_t     *v;
    ab_wide_t          rev;
    size_t             i;

    for (i = 0; i < x->nvariants; i++) {
        v = &x->variants[i];
        s = &sums[order[i]];
        v->name = st->vars[e].names[order[i]];
        v->multi_variant = sel->multi[order[i]];
        v->visitors = s->n;
        v->orders = ab_msums_count(s, AB_MV_ORDERS);
        v->converters = ab_msums_count(s, AB_MV_CONVERTED);
        v->requests = ab_msums_count(s, AB_MV_REQUESTS);
        v->errors_5xx = ab_msums_count(s, AB_MV_ERRORS);
        rev = ab_msums_sum(s, AB_MV_REVENUE);
        v->revenue = (double) (ab_wide_ld(&rev) / 1e6);
        v->top_share = v->revenue > 0 ? (double) s->top / 1e6 / v->revenue
                                      : NAN;
        v->concentrated = p->cfg->cap_pct == 0
                          && v->top_share > p->cfg->max_visitor_share;
    }
}


/* What the configuration says of experiment name: its weights (the
 * --weights over the nginx conf) and the nginx conf's own. */
static const ab_expdef_t *
def_of(const ab_config_t *cfg, const char *name, const ab_expdef_t **conf,
    int *from_weights)
{
    const ab_expdef_t  *wdef = find_def(cfg->weights, cfg->nweights, name);

    *conf = find_def(cfg->conf, cfg->nconf, name);
    *from_weights = wdef != NULL;

    return wdef ? wdef : *conf;
}


/* Metric d of variant var: its estimate, and CUPED's moments in *cm
 * when cm is not NULL. */
static ab_estimate_t
metric_of(const metric_def_t *d, const ab_msums_t *sums,
    const ab_capset_t *caps, int var, double cap, ab_cuped_moments_t *cm)
{
    if (d->capped) {
        return ab_capset_estimate(caps, var, sums[var].n, d->ratio, cap, cm);
    }
    if (cm != NULL) {
        *cm = cuped_moments(&sums[var], d);
    }

    return estimate(&sums[var], d);
}


int
ab_experiment_rows(const ab_pass_t *p, int e, const ab_msel_t *sel,
    const int *order, const char *baseline_source, double cap, ab_rexp_t *x)
{
    const ab_state_t   *st = p->st;
    const ab_config_t  *cfg = p->cfg;
    const char         *name = st->exps.names[e];
    const ab_expdef_t  *conf, *def;
    size_t              nv = st->vars[e].n, nev = st->events.n, k, v, i, j;
    size_t              maxm;
    int                *evorder, from_weights;
    const ab_msums_t   *sums = sel->sums;
    const uint64_t     *ec = sel->event_count;

    memset(x, 0, sizeof(*x));
    x->name = name;
    x->revenue_cap = cap;
    def = def_of(cfg, name, &conf, &from_weights);

    maxm = (NDEFS + nev) * (nv ? nv : 1);
    evorder = calloc(nev + 1, sizeof(int));
    x->variants = calloc(nv + 1, sizeof(ab_rvariant_t));
    x->metrics = calloc(maxm, sizeof(ab_rmetric_t));

    if (!evorder || !x->variants || !x->metrics) {
        goto fail;
    }

    /* Funnel metrics by event name: ids are in first-seen order, which
     * depends on the order of the files. */
    for (i = 0; i < nev; i++) {
        evorder[i] = (int) i;
    }
    qsort_r(evorder, nev, sizeof(int), cmp_var, st->events.names);

    x->baseline_source = baseline_source;
    x->nvariants = nv;
    x->baseline = 0;
    fill_variants(p, e, sel, order, sums, x);
    srm(p, e, sel, x, def, from_weights ? "weights" : "nginx-conf", conf);
    if (sel->list == NULL && ab_audit_report(st, cfg, x) != 0) {
        goto fail;
    }

    for (k = 0; k <= NDEFS; k++) {
        if (k == FUNNEL_AT) {
            for (j = 0; j < nev; j++) {
                uint64_t  total = 0;

                i = (size_t) evorder[j];
                char      mname[AB_METRIC_NAME_MAX];

                for (v = 0; v < nv; v++) {
                    total += ec[v * nev + i];
                }
                if (total == 0) {
                    continue;
                }
                snprintf(mname, sizeof(mname), "event:%s", st->events.names[i]);
                for (v = 1; v < nv; v++) {
                    ab_estimate_t  t, c;
                    ab_rmetric_t  *m;

                    double  kt = (double) ec[(size_t) order[v] * nev + i];
                    double  kc = (double) ec[(size_t) order[0] * nev + i];
                    double  nt = (double) x->variants[v].visitors;
                    double  nc = (double) x->variants[0].visitors;

                    t = share_estimate(kt, nt);
                    c = share_estimate(kc, nc);
                    m = add_metric(x, mname, v, 0, &t, &c, cfg);
                    share_test(m, kt, nt, kc, nc, cfg->alpha);
                    if (p->event_pre != NULL) {
                        event_cuped(p, sel, order[v], order[0], i, m, cfg);
                    }
                }
            }
        }

        if (k == NDEFS || (defs[k].capped && isnan(cap))) {
            continue;
        }

        for (v = 1; v < nv; v++) {
            const metric_def_t  *d = &defs[k];
            const ab_msums_t    *at = &sums[order[v]], *ac = &sums[order[0]];
            ab_cuped_moments_t   mt, mc;
            ab_estimate_t        t, c;
            ab_rmetric_t        *m;
            /* merge has no per-visitor history, but its sums' */
            int                  cuped = p->pre != NULL
                                         || (p->given_sums != NULL
                                             && p->event_pre != NULL);

            t = metric_of(d, sums, sel->caps, order[v], cap,
                          cuped ? &mt : NULL);
            c = metric_of(d, sums, sel->caps, order[0], cap,
                          cuped ? &mc : NULL);
            m = add_metric(x, d->name, v, d->guardrail, &t, &c, cfg);

            if (d->x == AB_MV_CONVERTED || d->x == AB_MV_REPEAT) {
                share_test(m, (double) ab_msums_count(at, d->x), (double) at->n,
                           (double) ab_msums_count(ac, d->x), (double) ac->n,
                           cfg->alpha);
            }
            if (d->guardrail) {
                ab_guard_counts_t  gc = { NAN, NAN, NAN, NAN };

                if (d->x == AB_MV_ERRORS) {
                    gc.kt = (double) ab_msums_count(at, AB_MV_ERRORS);
                    gc.nt = (double) ab_msums_count(at, AB_MV_REQUESTS);
                    gc.kc = (double) ab_msums_count(ac, AB_MV_ERRORS);
                    gc.nc = (double) ab_msums_count(ac, AB_MV_REQUESTS);
                }
                ab_guardrail_test(m, &t, &c, &gc, cfg->guardrail_margin,
                                  cfg->alpha, cfg->seq_tuning);
            }
            if (cuped) {
                m->has_cuped = ab_cuped_row(&mt, &mc, d->ratio, cfg->alpha,
                                            &m->cuped);
                cuped_sequence(m, cfg);
            }
        }
    }

    for (i = 0; i < x->nmetrics; i++) {
        x->metrics[i].rel_clipped = ab_clip_rel(&x->metrics[i].e);
    }

    free(evorder);

    return 0;

fail:
    free(evorder);
    ab_experiment_free(x);

    return -1;
}


/* abstat merge with --by: the segments' sums, pooled from the values
 * the partials gave as plans pool them. */
static int
given_segments(const ab_pass_t *p, int e, const ab_segplans_t *plans,
    ab_esums_t *es)
{
    const ab_esums_t  *values[AB_BY_MAX];
    size_t             d;

    for (d = 0; d < p->st->nseg; d++) {
        values[d] = &p->given_dims[(size_t) e * AB_BY_MAX + d].cells;
    }

    return ab_esums_pool(&p->given_sums[e], values, ab_segplans_cells(plans),
                         es);
}


int
ab_experiment_report(const ab_pass_t *p, int e, ab_rexp_t *x)
{
    const ab_config_t  *cfg = p->cfg;
    const ab_expdef_t  *conf, *def;
    const char         *src;
    size_t              nv = p->st->vars[e].n;
    double              cap = NAN;
    int                *order, from_weights, rc = -1;
    ab_msel_t           all;
    ab_segplans_t      *plans = NULL;
    ab_esums_t          es;

    memset(x, 0, sizeof(*x));
    memset(&es, 0, sizeof(es));
    def = def_of(cfg, p->st->exps.names[e], &conf, &from_weights);

    order = calloc(nv + 1, sizeof(int));
    if (order == NULL) {
        return -1;
    }
    src = order_variants(p, e, def, conf, order);
    if (src == NULL
        /* the segments first: the one pass of the sums fills their cells
         * beside the experiment's own */
        || (cfg->by && (plans = ab_segplans_make(p, e)) == NULL)
        || (p->given_sums == NULL
            && ab_esums_build(p, e, plans ? ab_segplans_cells(plans) : NULL,
                              cfg->cap_pct > 0, &es) != 0))
    {
        goto done;
    }
    if (p->given_sums != NULL && plans == NULL) {
        /* abstat merge: the partials' sums, freed with the pass */
        es = p->given_sums[e];
    }
    if (p->given_sums != NULL && plans != NULL
        && given_segments(p, e, plans, &es) != 0)
    {
        goto done;
    }
    if (cfg->cap_pct > 0) {
        cap = ab_capset_percentile(&es.caps[0], cfg->cap_pct);
    }

    memset(&all, 0, sizeof(all));
    all.sums = es.sums;
    all.caps = es.caps;
    all.event_count = p->event_count[e];
    all.event_pre = p->event_pre ? p->event_pre[e] : NULL;
    all.event_both = p->event_both ? p->event_both[e] : NULL;
    all.multi = p->multi[e];
    all.entered = p->given_entered ? p->given_entered[e] : NULL;

    if (ab_experiment_rows(p, e, &all, order, src, cap, x) != 0
        /* roles, Holm over the primary family, power (roles.c) */
        || ab_roles_apply(x, cfg, ab_entry_span_days(p, e)) != 0
        || (cfg->bucket && p->given_trend == NULL
            && ab_trend(p, e, order, x) != 0)
        || (cfg->bucket && p->given_trend != NULL
            && ab_trend_from_sums(&p->given_trend[e], order, cfg, x) != 0)
        /* the segments read the pooled rows (their heterogeneity) */
        || (plans && ab_segments(p, e, plans, &es, order, cap, x) != 0))
    {
        goto done;
    }
    rc = 0;

done:
    if (rc != 0) {
        ab_experiment_free(x);
    }
    if (p->given_sums == NULL || plans != NULL) {
        ab_esums_free(&es);
    }
    ab_segplans_free(plans);
    free(order);

    return rc;
}


void
ab_experiment_free(ab_rexp_t *x)
{
    size_t  i;

    for (i = 0; i < x->nsegs; i++) {
        ab_experiment_free(&x->segs[i].r);
    }
    free(x->segs);
    free(x->het);
    free(x->variants);
    free(x->metrics);
    free(x->trend);
    x->segs = NULL;
    x->nsegs = 0;
    x->het = NULL;
    x->nhet = 0;
    ab_raudit_free(x->audit);
    x->audit = NULL;
    x->variants = NULL;
    x->metrics = NULL;
    x->trend = NULL;
}
