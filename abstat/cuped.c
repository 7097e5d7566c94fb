/*
 * The regression-adjusted comparisons of cuped.h. Each arm's estimate is
 * a function of the four means; its variance is grad' Cov grad / n (the
 * delta method), which for a mean metric is exactly
 * var(y) + theta^2 var(x) - 2 theta cov(y, x) over n.
 */

#include "cuped.h"

#include "report.h"

#include <math.h>
#include <string.h>

#define M   AB_CU_M
#define D   AB_CU_D
#define MP  AB_CU_MPRE
#define DP  AB_CU_DPRE
#define NV  AB_CU_NVARS

/* gbstats drops a ratio adjustment this small as no adjustment at all. */
#define RATIO_THETA_MIN  1e-8
/* A quadratic form that comes out below this share of the sum of its
 * terms' magnitudes has cancelled to rounding: exactly 0 (t/abstat-
 * segments-reference.t, where one visitor an arm has history) */
#define QUAD_CANCELLED   1e-12


void
ab_cuped_acc_add(ab_cuped_acc_t *a, int pass, const double v[NV], double w)
{
    double  dv[NV];
    int     i, j;

    if (pass == 0) {
        a->n += w;
        for (i = 0; i < NV; i++) {
            a->s[i] += (long double) w * v[i];
        }
        return;
    }

    for (i = 0; i < NV; i++) {
        dv[i] = v[i] - a->mean[i];
    }
    /* A zero deviation adds zero to its products, exactly: skipped. Most
     * metrics have a constant denominator (every deviation 0), and the
     * segments of --by run this once more per dimension. */
    for (i = 0; i < NV; i++) {
        if (dv[i] == 0) {
            continue;
        }
        for (j = i; j < NV; j++) {
            if (dv[j] != 0) {
                a->c[i][j] += (long double) w * dv[i] * dv[j];
            }
        }
    }
}


void
ab_cuped_acc_centre(ab_cuped_acc_t *a)
{
    int  i;

    for (i = 0; i < NV; i++) {
        a->mean[i] = a->n > 0 ? (double) (a->s[i] / a->n) : NAN;
    }
}


ab_cuped_moments_t
ab_cuped_acc_moments(const ab_cuped_acc_t *a)
{
    ab_cuped_moments_t  m;
    double              d = a->n > 1 ? a->n - 1 : NAN;
    int                 i, j;

    m.n = a->n;
    for (i = 0; i < NV; i++) {
        m.mean[i] = a->mean[i];
        for (j = i; j < NV; j++) {
            m.cov[i][j] = m.cov[j][i] = (double) a->c[i][j] / d;
        }
    }

    return m;
}


ab_cuped_moments_t
ab_cuped_from_sums(double n, const double s[NV], const double sp[NV][NV])
{
    ab_cuped_moments_t  m;
    double              d = n > 1 ? n - 1 : NAN;
    int                 i, j;

    m.n = n;
    for (i = 0; i < NV; i++) {
        m.mean[i] = n > 0 ? s[i] / n : NAN;
        for (j = i; j < NV; j++) {
            m.cov[i][j] = m.cov[j][i] = (sp[i][j] - s[i] * s[j] / n) / d;
        }
    }

    return m;
}


/* g' Cov h over the variables of g and h (zero elsewhere). */
static double
quad(const ab_cuped_moments_t *m, const double g[NV], const double h[NV])
{
    double  q = 0;
    int     i, j;

    for (i = 0; i < NV; i++) {
        for (j = 0; j < NV; j++) {
            if (g[i] != 0 && h[j] != 0) {
                q += g[i] * m->cov[i][j] * h[j];
            }
        }
    }

    return q;
}


/* The pooled centred sum of products of variables i and j over a pair:
 * within-variant sums plus the spread of the variant means. */
/* The sum of the magnitudes of g' cov g's terms: what its rounding is
 * relative to. */
static double
quad_terms(const ab_cuped_moments_t *m, const double g[NV])
{
    double  s = 0;
    int     i, j;

    for (i = 0; i < NV; i++) {
        for (j = 0; j < NV; j++) {
            s += fabs(g[i] * m->cov[i][j] * g[j]);
        }
    }

    return s;
}


static double
pooled_ss(const ab_cuped_moments_t *t, const ab_cuped_moments_t *c, int i,
    int j)
{
    double  n = t->n + c->n;
    double  mi = (t->n * t->mean[i] + c->n * c->mean[i]) / n;
    double  mj = (t->n * t->mean[j] + c->n * c->mean[j]) / n;

    return (t->n - 1) * t->cov[i][j] + (c->n - 1) * c->cov[i][j]
           + t->n * (t->mean[i] - mi) * (t->mean[j] - mj)
           + c->n * (c->mean[i] - mi) * (c->mean[j] - mj);
}


/* The gradient of an arm's ratio (post, then pre) at its means. */
static void
ratio_grads(const ab_cuped_moments_t *m, double post[NV], double pre[NV])
{
    memset(post, 0, NV * sizeof(double));
    memset(pre, 0, NV * sizeof(double));
    post[M] = 1 / m->mean[D];
    post[D] = -m->mean[M] / (m->mean[D] * m->mean[D]);
    pre[MP] = 1 / m->mean[DP];
    pre[DP] = -m->mean[MP] / (m->mean[DP] * m->mean[DP]);
}


double
ab_cuped_theta(const ab_cuped_moments_t *t, const ab_cuped_moments_t *c,
    int ratio)
{
    const ab_cuped_moments_t  *arm[2] = { t, c };
    double                     post[NV], pre[NV], num = 0, den = 0, th;
    double                     scale = 0;
    int                        k;

    if (!(t->n > 1) || !(c->n > 1)) {
        return 0;
    }

    if (!ratio) {
        den = pooled_ss(t, c, MP, MP);
        if (!(den > 0) || !(pooled_ss(t, c, M, M) > 0)) {
            return 0;
        }
        return pooled_ss(t, c, M, MP) / den;
    }

    for (k = 0; k < 2; k++) {
        if (arm[k]->mean[D] == 0 || arm[k]->mean[DP] == 0) {
            return 0;
        }
        ratio_grads(arm[k], post, pre);
        num += quad(arm[k], pre, post);
        den += quad(arm[k], pre, pre);
        scale += quad_terms(arm[k], pre);
    }

    /* no visitor's pre-entry ratio varies: the linearised history is 0
     * and so is den, whatever rounding leaves of it, and theta would be
     * noise over noise */
    if (!(den > QUAD_CANCELLED * scale)) {
        return 0;
    }
    th = num / den;

    return fabs(th) < RATIO_THETA_MIN ? 0 : th;
}


typedef struct {
    double  raw;                /* the unadjusted value */
    double  value;              /* adjusted */
    double  grad[NV];           /* of value */
    double  var;                /* per visitor: grad' Cov grad */
} arm_t;


static int
arm(const ab_cuped_moments_t *m, double theta, int ratio, arm_t *a)
{
    double  post[NV], pre[NV];
    int     i;

    memset(a, 0, sizeof(*a));

    if (!ratio) {
        a->raw = m->mean[M];
        a->value = m->mean[M] - theta * m->mean[MP];
        a->grad[M] = 1;
        a->grad[MP] = -theta;
    } else {
        if (m->mean[D] == 0 || isnan(m->mean[D])) {
            return -1;
        }
        ratio_grads(m, post, pre);
        a->raw = m->mean[M] / m->mean[D];
        a->value = a->raw;
        for (i = 0; i < NV; i++) {
            a->grad[i] = post[i];
        }
        if (theta != 0) {
            a->value -= theta * m->mean[MP] / m->mean[DP];
            for (i = 0; i < NV; i++) {
                a->grad[i] -= theta * pre[i];
            }
        }
    }

    a->var = quad(m, a->grad, a->grad);

    return 0;
}


static void
undefined(ab_cuped_t *r)
{
    ab_effect_t  *e = &r->e;

    e->value = e->baseline_value = e->abs_effect = NAN;
    e->abs_lo = e->abs_hi = e->p_value = NAN;
    e->rel_effect = e->rel_lo = e->rel_hi = e->rel_p_value = e->df = NAN;
    r->variance_reduction = r->var = r->rel_var = NAN;
}


/*
 * The relative effect's variance, as gbstats computes it: the treatment's
 * gradient scaled by the baseline, the baseline's by the quotient rule.
 * For a mean metric gbstats takes the treatment's unadjusted mean in the
 * baseline's post term; for a ratio the adjusted difference.
 */
static double
rel_var(const ab_cuped_moments_t *t, const ab_cuped_moments_t *c,
    const arm_t *at, const arm_t *ac, int ratio)
{
    double  den = fabs(ac->raw), g = at->value - ac->value;
    double  gt[NV], gc[NV];
    int     i;

    for (i = 0; i < NV; i++) {
        gt[i] = at->grad[i] / den;
        gc[i] = -ac->grad[i] / den;
    }

    if (!ratio) {
        gc[M] = -t->mean[M] / (ac->raw * ac->raw);
    } else {
        gc[M] = -(den + g) / (c->mean[D] * den * den);
        gc[D] = c->mean[M] * (den + g)
                / (c->mean[D] * c->mean[D] * den * den);
    }

    return quad(t, gt, gt) / t->n + quad(c, gc, gc) / c->n;
}


ab_cuped_t
ab_cuped_compare(const ab_cuped_moments_t *t, const ab_cuped_moments_t *c,
    double theta, int ratio, double alpha)
{
    ab_cuped_t     r;
    ab_effect_t   *e = &r.e;
    arm_t          at, ac, rt, rc;
    ab_estimate_t  et, ec;
    double         var, raw;

    memset(&r, 0, sizeof(r));
    r.theta = theta;
    r.adjusted = theta != 0;

    if (!(t->n > 1) || !(c->n > 1)
        || arm(t, theta, ratio, &at) != 0 || arm(c, theta, ratio, &ac) != 0
        || arm(t, 0, ratio, &rt) != 0 || arm(c, 0, ratio, &rc) != 0)
    {
        undefined(&r);
        return r;
    }

    e->value = at.value;
    e->baseline_value = ac.value;
    e->abs_effect = at.value - ac.value;

    et.n = t->n;
    et.value = at.value;
    et.var = at.var / t->n;
    ec.n = c->n;
    ec.value = ac.value;
    ec.var = ac.var / c->n;
    e->df = ab_welch_df(&et, &ec);

    var = et.var + ec.var;
    r.var = var;
    r.rel_var = NAN;
    raw = rt.var / t->n + rc.var / c->n;
    r.variance_reduction = raw > 0 ? 1 - var / raw : NAN;

    ab_t_interval(e->abs_effect, var > 0 ? sqrt(var) : NAN, e->df, alpha,
                  &e->abs_lo, &e->abs_hi, &e->p_value);

    if (ac.raw == 0 || isnan(ac.raw)) {
        e->rel_effect = e->rel_lo = e->rel_hi = e->rel_p_value = NAN;
        return r;
    }

    e->rel_effect = e->abs_effect / fabs(ac.raw);
    var = rel_var(t, c, &at, &ac, ratio);
    r.rel_var = var;
    ab_t_interval(e->rel_effect, var > 0 ? sqrt(var) : NAN, e->df, alpha,
                  &e->rel_lo, &e->rel_hi, &e->rel_p_value);

    return r;
}


int
ab_cuped_row(const ab_cuped_moments_t *t, const ab_cuped_moments_t *c,
    int ratio, double alpha, ab_cuped_t *out)
{
    *out = ab_cuped_compare(t, c, ab_cuped_theta(t, c, ratio), ratio, alpha);

    return out->adjusted;
}


/* A share's four variables are 0/1 (d = d_pre = 1), so their sums of
 * products are counts. */
static ab_cuped_moments_t
share_moments(const ab_cuped_share_t *k)
{
    double  s[NV], sp[NV][NV];

    s[M] = sp[M][M] = sp[M][D] = sp[M][DP] = k->k;
    s[MP] = sp[MP][MP] = sp[D][MP] = sp[MP][DP] = k->k_pre;
    s[D] = s[DP] = sp[D][D] = sp[D][DP] = sp[DP][DP] = k->n;
    sp[M][MP] = k->k_both;

    return ab_cuped_from_sums(k->n, s, sp);
}


int
ab_cuped_share_row(const ab_cuped_share_t *t, const ab_cuped_share_t *c,
    double alpha, ab_cuped_t *out)
{
    ab_cuped_moments_t  mt = share_moments(t);
    ab_cuped_moments_t  mc = share_moments(c);

    return ab_cuped_row(&mt, &mc, 0, alpha, out);
}


int
ab_metric_cuped(const ab_rmetric_t *m)
{
    /* an exact test of small counts stays (exact.h) */
    return m->has_cuped && !m->small_counts;
}


const ab_effect_t *
ab_metric_test(const ab_rmetric_t *m)
{
    return ab_metric_cuped(m) ? &m->cuped.e : &m->e;
}
