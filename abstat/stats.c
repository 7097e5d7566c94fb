/*
 * The statistics of stats.h, following scipy's ttest_ind(equal_var=False)
 * for means and GrowthBook's frequentist engine for ratios and relative
 * effects, so that numbers can be checked against either.
 */

#include "stats.h"

#include "ab_dist.h"

#include <math.h>
#include <stdlib.h>


ab_moments_t
ab_moments_from_sums(double n, double sum, double sumsq)
{
    ab_moments_t  m;

    m.n = n;
    m.mean = n > 0 ? sum / n : NAN;
    /* Not clamped at 0: published vectors (GrowthBook's ratio test) use
     * sums no real sample has, and must come out as they do there. The
     * report itself never goes through here (see aggregate.c). */
    m.var = n > 1 ? (sumsq - sum * sum / n) / (n - 1) : NAN;

    return m;
}


ab_ratio_moments_t
ab_ratio_from_sums(double n, double sum_m, double sumsq_m, double sum_d,
    double sumsq_d, double sum_md)
{
    ab_ratio_moments_t  r;
    ab_moments_t        m = ab_moments_from_sums(n, sum_m, sumsq_m);
    ab_moments_t        d = ab_moments_from_sums(n, sum_d, sumsq_d);

    r.n = n;
    r.mean_m = m.mean;
    r.mean_d = d.mean;
    r.var_m = m.var;
    r.var_d = d.var;
    r.cov = n > 1 ? (sum_md - sum_m * sum_d / n) / (n - 1) : NAN;

    return r;
}


ab_estimate_t
ab_mean_estimate(const ab_moments_t *m)
{
    ab_estimate_t  e;

    e.n = m->n;
    e.value = m->mean;
    e.var = m->n > 1 ? m->var / m->n : NAN;

    return e;
}


ab_estimate_t
ab_ratio_estimate(const ab_ratio_moments_t *r)
{
    ab_estimate_t  e;
    double         mm = r->mean_m, md = r->mean_d, v;

    e.n = r->n;

    if (!(r->n > 0) || md == 0) {
        e.value = NAN;
        e.var = NAN;
        return e;
    }

    e.value = mm / md;

    v = r->var_m / (md * md)
        - 2 * r->cov * mm / (md * md * md)
        + mm * mm * r->var_d / (md * md * md * md);

    e.var = r->n > 1 ? v / r->n : NAN;

    return e;
}


ab_estimate_t
ab_ratio_estimate_resid(double n, double ratio, double mean_d,
    double var_resid)
{
    ab_estimate_t  e;

    e.n = n;
    if (!(n > 0) || mean_d == 0) {
        e.value = e.var = NAN;
        return e;
    }
    e.value = ratio;
    e.var = n > 1 ? var_resid / (mean_d * mean_d) / n : NAN;

    return e;
}


double
ab_welch_df(const ab_estimate_t *t, const ab_estimate_t *c)
{
    double  den;

    den = t->var * t->var / (t->n - 1) + c->var * c->var / (c->n - 1);

    if (!(den > 0) || t->n < 2 || c->n < 2) {
        return NAN;
    }

    return (t->var + c->var) * (t->var + c->var) / den;
}


/* Effect, CI and two-sided p of a statistic with standard error se. */
static void
t_interval(double effect, double se, double df, double alpha, double *lo,
    double *hi, double *p)
{
    double  q;

    if (!(se > 0) || isnan(df) || isnan(effect) || isinf(se)) {
        *lo = *hi = *p = NAN;
        return;
    }

    q = ab_t_quantile(1 - alpha / 2, df);
    *lo = effect - q * se;
    *hi = effect + q * se;
    *p = ab_t_sf2(effect / se, df);
}


double
ab_rel_var(const ab_estimate_t *t, const ab_estimate_t *c)
{
    double  tv = t->value, cv = c->value;

    if (cv == 0 || isnan(cv) || isnan(tv)) {
        return NAN;
    }

    return t->var / (cv * cv) + c->var * tv * tv / (cv * cv * cv * cv);
}


ab_effect_t
ab_compare(const ab_estimate_t *t, const ab_estimate_t *c, double alpha)
{
    ab_effect_t  e;
    double       tv = t->value, cv = c->value;

    e.value = tv;
    e.baseline_value = cv;
    e.abs_effect = tv - cv;
    e.df = ab_welch_df(t, c);

    t_interval(e.abs_effect, sqrt(t->var + c->var), e.df, alpha, &e.abs_lo,
               &e.abs_hi, &e.p_value);

    if (cv == 0 || isnan(cv) || isnan(tv)) {
        e.rel_effect = e.rel_lo = e.rel_hi = e.rel_p_value = NAN;
        return e;
    }

    e.rel_effect = (tv - cv) / fabs(cv);
    t_interval(e.rel_effect, sqrt(ab_rel_var(t, c)), e.df, alpha, &e.rel_lo, &e.rel_hi,
               &e.rel_p_value);

    return e;
}


void
ab_t_interval(double effect, double se, double df, double alpha, double *lo,
    double *hi, double *p)
{
    t_interval(effect, se, df, alpha, lo, hi, p);
}


typedef struct {
    double  p;
    size_t  i;
} holm_item_t;


static int
holm_cmp(const void *a, const void *b)
{
    const holm_item_t  *x = a, *y = b;

    if (x->p != y->p) {
        return x->p < y->p ? -1 : 1;
    }

    /* Ties keep input order so the result does not depend on qsort. */
    return x->i < y->i ? -1 : (x->i > y->i);
}


void
ab_holm(const double *p, double *adjusted, size_t n)
{
    holm_item_t  *items;
    size_t        i, m = 0;
    double        running = 0, v;

    for (i = 0; i < n; i++) {
        adjusted[i] = NAN;
    }

    items = malloc((n ? n : 1) * sizeof(*items));
    if (items == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        if (!isnan(p[i])) {
            items[m].p = p[i];
            items[m].i = i;
            m++;
        }
    }

    qsort(items, m, sizeof(*items), holm_cmp);

    for (i = 0; i < m; i++) {
        v = (double) (m - i) * items[i].p;
        v = v > 1 ? 1 : v;
        /* Step-down: an adjusted p is never below an earlier one. */
        running = v > running ? v : running;
        adjusted[items[i].i] = running;
    }

    free(items);
}
