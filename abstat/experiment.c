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
#include "cuped.h"
#include "stats.h"

/* What a metric takes of a visitor's totals: x, or x / y for ratios. */
typedef enum {
    X_CONVERTED, X_ORDERS, X_REVENUE, X_REPEAT, X_REVENUE_CAPPED, X_ERRORS,
    X_LATENCY
} x_kind_t;

typedef enum { Y_ONE, Y_ORDERS, Y_REQUESTS } y_kind_t;

typedef struct {
    const char  *name;
    int          ratio;         /* sum(x) / sum(y); else the mean of x */
    int          guardrail;
    int          capped;        /* only with --cap-revenue */
    x_kind_t     x;
    y_kind_t     y;
} metric_def_t;

/* Two-pass moments: sums first, then sums of centred products, so that
 * variances do not lose digits to cancellation. */
typedef struct {
    double       n;
    long double  sx, sy;
    double       mx, my;
    long double  cxx, cyy, cxy;
    /* Ratios: sums in the metric's integer units (micro-units, counts),
     * exact, and the sum of squared residuals x * uy - y * ux, which is
     * exactly 0 when every visitor has the same ratio: equal products of
     * exact integers round alike. */
    long double  ux, uy, crr;
    double       uscale;        /* units per x */
} acc_t;


static double
rev(const ab_vagg_t *a)
{
    return (double) a->revenue / 1e6;
}

static void
metric_xy(const metric_def_t *d, const ab_vagg_t *a, double cap, double *x,
    double *y)
{
    *x = *y = 0;

    switch (d->x) {
    case X_CONVERTED:      *x = a->orders >= 1; break;
    case X_ORDERS:         *x = a->orders; break;
    case X_REVENUE:        *x = rev(a); break;
    case X_REPEAT:         *x = a->orders >= 2; break;
    case X_REVENUE_CAPPED: *x = rev(a) > cap ? cap : rev(a); break;
    case X_ERRORS:         *x = a->errors; break;
    case X_LATENCY:        *x = (double) a->request_time / 1e6; break;
    }

    switch (d->y) {
    case Y_ONE:      *y = 1; break;
    case Y_ORDERS:   *y = a->orders; break;
    case Y_REQUESTS: *y = a->requests; break;
    }
}


/* x of a ratio metric in its integer units (what is summed exactly),
 * and how many of them make one x. */
static long double
metric_units(const metric_def_t *d, const ab_vagg_t *a, double cap,
    double *scale)
{
    *scale = 1e6;

    /* long double: int64 micro-units past 2^53 stay exact */
    switch (d->x) {
    case X_REVENUE:        return (long double) a->revenue;
    case X_REVENUE_CAPPED: return rev(a) > cap ? (long double) cap * 1e6
                                               : (long double) a->revenue;
    case X_LATENCY:        return (long double) a->request_time;
    case X_ERRORS:         *scale = 1; return (long double) a->errors;
    default:               *scale = 1; return 0;
    }
}


/* Report order; funnel events go between the business metrics and the
 * guardrails (at FUNNEL_AT). */
static const metric_def_t  defs[] = {
    { "conversion_rate",            0, 0, 0, X_CONVERTED, Y_ONE },
    { "orders_per_visitor",         0, 0, 0, X_ORDERS, Y_ONE },
    { "revenue_per_visitor",        0, 0, 0, X_REVENUE, Y_ONE },
    { "repeat_purchase_rate",       0, 0, 0, X_REPEAT, Y_ONE },
    { "average_order_value",        1, 0, 0, X_REVENUE, Y_ORDERS },
    { "revenue_per_visitor_capped", 0, 0, 1, X_REVENUE_CAPPED, Y_ONE },
    { "average_order_value_capped", 1, 0, 1, X_REVENUE_CAPPED, Y_ORDERS },
    { "error_rate",                 1, 1, 0, X_ERRORS, Y_REQUESTS },
    { "mean_latency",               1, 1, 0, X_LATENCY, Y_REQUESTS },
};

#define NDEFS      (sizeof(defs) / sizeof(defs[0]))
#define FUNNEL_AT  7


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


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/* The cap: the pct-th percentile (linear interpolation between order
 * statistics, numpy's default) of the non-zero visitor revenues. */
static double
revenue_cap(const ab_pass_t *p, int e, double pct)
{
    const ab_state_t  *st = p->st;
    double            *v, pos, cap = NAN;
    size_t             i, n = 0, lo;

    v = malloc((st->nmemb ? st->nmemb : 1) * sizeof(*v));
    if (v == NULL) {
        return NAN;
    }

    for (i = 0; i < st->nmemb; i++) {
        if (st->membs[i].exp == e && st->membs[i].var != AB_VAR_MULTI
            && p->agg[i].revenue != 0)
        {
            v[n++] = rev(&p->agg[i]);
        }
    }

    if (n > 0) {
        qsort(v, n, sizeof(*v), cmp_double);
        pos = pct / 100 * (double) (n - 1);
        lo = (size_t) pos;
        cap = lo + 1 < n ? v[lo] + (v[lo + 1] - v[lo]) * (pos - (double) lo)
                         : v[lo];
    }

    free(v);

    return cap;
}


/* Metrics that are reported: the capped ones only with a cap. */
static size_t
reported_defs(double cap, size_t *use)
{
    size_t  k, n = 0;

    for (k = 0; k < NDEFS; k++) {
        if (!(defs[k].capped && isnan(cap))) {
            use[n++] = k;
        }
    }

    return n;
}


/* The moments of the reported metrics; of y only for ratios (the others'
 * y is 1), since estimate() reads nothing else. */
static void
accumulate(const ab_pass_t *p, int e, const ab_msel_t *sel, double cap,
    acc_t *acc, ab_cuped_acc_t *cacc, int pass)
{
    const ab_state_t  *st = p->st;
    acc_t             *a;
    double             x, y, dx, dy, v[AB_CU_NVARS];
    long double        r, xu;
    size_t             i, j, k, use[NDEFS], nuse = reported_defs(cap, use), at;

    for (at = 0; at < ab_msel_n(st, sel); at++) {
        const ab_memb_t  *mb = &st->membs[i = ab_msel_at(sel, at)];

        if (mb->exp != e || mb->var == AB_VAR_MULTI) {
            continue;
        }

        for (j = 0; j < nuse; j++) {
            k = use[j];
            a = &acc[(size_t) mb->var * NDEFS + k];
            metric_xy(&defs[k], &p->agg[i], cap, &x, &y);
            xu = defs[k].ratio ? metric_units(&defs[k], &p->agg[i], cap,
                                              &a->uscale) : 0;
            if (cacc != NULL) {
                v[AB_CU_M] = x;
                v[AB_CU_D] = y;
                metric_xy(&defs[k], &p->pre[i], cap, &v[AB_CU_MPRE],
                          &v[AB_CU_DPRE]);
                ab_cuped_acc_add(&cacc[(size_t) mb->var * NDEFS + k], pass, v);
            }
            if (pass == 0) {
                a->n++;
                a->sx += x;
                a->sy += y;
                a->ux += xu;
                a->uy += y;
            } else {
                dx = x - a->mx;
                a->cxx += (long double) dx * dx;
                if (defs[k].ratio) {
                    dy = y - a->my;
                    a->cyy += (long double) dy * dy;
                    a->cxy += (long double) dx * dy;
                    r = xu * a->uy - (long double) y * a->ux;
                    a->crr += r * r;
                }
            }
        }
    }

    if (pass == 0) {
        for (i = 0; i < st->vars[e].n * NDEFS; i++) {
            acc[i].mx = acc[i].n > 0 ? (double) (acc[i].sx / acc[i].n) : NAN;
            acc[i].my = acc[i].n > 0 ? (double) (acc[i].sy / acc[i].n) : NAN;
            if (cacc != NULL) {
                ab_cuped_acc_centre(&cacc[i]);
            }
        }
    }
}


static ab_estimate_t
estimate(const acc_t *a, int ratio)
{
    double              d = a->n > 1 ? a->n - 1 : NAN;
    ab_moments_t        m;
    ab_ratio_moments_t  r;

    if (!ratio) {
        m.n = a->n;
        m.mean = a->mx;
        m.var = (double) a->cxx / d;
        return ab_mean_estimate(&m);
    }

    if (a->uy != 0) {
        return ab_ratio_estimate_resid(a->n,
            (double) (a->ux / a->uy / a->uscale), a->my,
            (double) (a->crr / (a->uy * a->uscale) / (a->uy * a->uscale)) / d);
    }

    r.n = a->n;
    r.mean_m = a->mx;
    r.mean_d = a->my;
    r.var_m = (double) a->cxx / d;
    r.var_d = (double) a->cyy / d;
    r.cov = (double) a->cxy / d;

    return ab_ratio_estimate(&r);
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
    const char  **names = calloc(x->nvariants + 1, sizeof(char *));
    size_t        i;
    int           rc;

    if (names == NULL) {
        return -1;
    }
    for (i = 0; i < x->nvariants; i++) {
        names[i] = x->variants[i].name;
    }

    x->weights_source = "config-history";
    x->weight_changes = (long) ab_confhist_changes(p->cfg->history, x->name);
    rc = ab_confhist_expected(p->cfg->history, p->st, e, sel->list,
                              sel->nlist, names, x->nvariants, w,
                              x->srm_warning, sizeof(x->srm_warning));
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
    const int *order, ab_rexp_t *x)
{
    const ab_state_t  *st = p->st;
    size_t             i, at, *pos = calloc(st->vars[e].n + 1, sizeof(size_t));
    ab_rvariant_t     *v;

    for (i = 0; pos && i < x->nvariants; i++) {
        pos[order[i]] = i;
        x->variants[i].name = st->vars[e].names[order[i]];
        x->variants[i].multi_variant = sel->multi[order[i]];
    }

    for (at = 0; pos && at < ab_msel_n(st, sel); at++) {
        const ab_memb_t  *mb = &st->membs[i = ab_msel_at(sel, at)];
        const ab_vagg_t  *a = &p->agg[i];

        if (mb->exp != e || mb->var == AB_VAR_MULTI) {
            continue;
        }
        v = &x->variants[pos[mb->var]];
        v->visitors++;
        v->orders += a->orders;
        v->converters += a->orders > 0;
        v->requests += a->requests;
        v->errors_5xx += a->errors;
        v->revenue += rev(a);
        if (rev(a) > v->top_share) {
            v->top_share = rev(a);      /* the top revenue, for now */
        }
    }

    for (i = 0; i < x->nvariants; i++) {
        v = &x->variants[i];
        v->top_share = v->revenue > 0 ? v->top_share / v->revenue : NAN;
        v->concentrated = p->cfg->cap_pct == 0
                          && v->top_share > p->cfg->max_visitor_share;
    }

    free(pos);
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
    acc_t              *acc;
    ab_cuped_acc_t     *cacc = NULL;
    const uint64_t     *ec = sel->event_count;

    memset(x, 0, sizeof(*x));
    x->name = name;
    x->revenue_cap = cap;
    def = def_of(cfg, name, &conf, &from_weights);

    maxm = (NDEFS + nev) * (nv ? nv : 1);
    evorder = calloc(nev + 1, sizeof(int));
    acc = calloc(nv * NDEFS + 1, sizeof(acc_t));
    if (p->pre != NULL) {
        cacc = calloc(nv * NDEFS + 1, sizeof(*cacc));
    }
    x->variants = calloc(nv + 1, sizeof(ab_rvariant_t));
    x->metrics = calloc(maxm, sizeof(ab_rmetric_t));

    if (!evorder || !acc || !x->variants || !x->metrics || (p->pre && !cacc))
    {
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
    fill_variants(p, e, sel, order, x);
    srm(p, e, sel, x, def, from_weights ? "weights" : "nginx-conf", conf);
    if (sel->list == NULL && ab_audit_report(st, cfg, x) != 0) {
        goto fail;
    }

    accumulate(p, e, sel, cap, acc, cacc, 0);
    accumulate(p, e, sel, cap, acc, cacc, 1);
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
            ab_estimate_t  t = estimate(&acc[(size_t) order[v] * NDEFS + k],
                                        defs[k].ratio);
            ab_estimate_t  c = estimate(&acc[(size_t) order[0] * NDEFS + k],
                                        defs[k].ratio);

            const acc_t   *at = &acc[(size_t) order[v] * NDEFS + k];
            const acc_t   *ac = &acc[(size_t) order[0] * NDEFS + k];
            ab_rmetric_t  *m = add_metric(x, defs[k].name, v,
                                          defs[k].guardrail, &t, &c, cfg);

            if (defs[k].x == X_CONVERTED || defs[k].x == X_REPEAT) {
                share_test(m, (double) at->sx, at->n, (double) ac->sx, ac->n,
                           cfg->alpha);
            }
            if (defs[k].guardrail) {
                ab_guard_counts_t  gc = { NAN, NAN, NAN, NAN };

                if (defs[k].x == X_ERRORS) {
                    gc.kt = (double) at->ux;
                    gc.nt = (double) at->uy;
                    gc.kc = (double) ac->ux;
                    gc.nc = (double) ac->uy;
                }
                ab_guardrail_test(m, &t, &c, &gc, cfg->guardrail_margin,
                                  cfg->alpha, cfg->seq_tuning);
            }
            if (cacc != NULL) {
                m->has_cuped = ab_cuped_row(
                    &cacc[(size_t) order[v] * NDEFS + k],
                    &cacc[(size_t) order[0] * NDEFS + k], defs[k].ratio,
                    cfg->alpha, &m->cuped);
                cuped_sequence(m, cfg);
            }
        }
    }

    for (i = 0; i < x->nmetrics; i++) {
        x->metrics[i].rel_clipped = ab_clip_rel(&x->metrics[i].e);
    }

    free(evorder);
    free(acc);
    free(cacc);

    return 0;

fail:
    free(evorder);
    free(acc);
    free(cacc);
    ab_experiment_free(x);

    return -1;
}


int
ab_experiment_report(const ab_pass_t *p, int e, ab_rexp_t *x)
{
    const ab_config_t  *cfg = p->cfg;
    const ab_expdef_t  *conf, *def;
    const char         *src;
    size_t              nv = p->st->vars[e].n;
    double              cap = NAN;
    int                *order, from_weights;
    ab_msel_t           all;

    memset(x, 0, sizeof(*x));
    def = def_of(cfg, p->st->exps.names[e], &conf, &from_weights);

    order = calloc(nv + 1, sizeof(int));
    if (order == NULL) {
        return -1;
    }
    src = order_variants(p, e, def, conf, order);
    if (src == NULL) {
        free(order);
        return -1;
    }
    if (cfg->cap_pct > 0) {
        cap = revenue_cap(p, e, cfg->cap_pct);
    }

    memset(&all, 0, sizeof(all));
    all.event_count = p->event_count[e];
    all.event_pre = p->event_pre ? p->event_pre[e] : NULL;
    all.event_both = p->event_both ? p->event_both[e] : NULL;
    all.multi = p->multi[e];

    if (ab_experiment_rows(p, e, &all, order, src, cap, x) != 0
        /* roles, Holm over the primary family, power (roles.c) */
        || ab_roles_apply(x, cfg, ab_entry_span_days(p, e)) != 0
        || (cfg->bucket && ab_trend(p, e, order, x) != 0)
        /* the segments read the pooled rows (their heterogeneity) */
        || (cfg->by && ab_segments(p, e, order, cap, x) != 0))
    {
        free(order);
        ab_experiment_free(x);
        return -1;
    }

    free(order);

    return 0;
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
