/*
 * The capped metrics' histogram of capped.h and their statistics: the
 * same two-pass moments the uncapped metrics once had (sums, then sums
 * of centred products), over the histogram's entries weighed by their
 * counts and one entry of zeros for the visitors with nothing to cap.
 */

#include "capped.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Two-pass moments of x (or of x / y for ratios) over weighed points. */
typedef struct {
    double       n;
    long double  sx, sy;
    double       mx, my;
    long double  cxx, cyy, cxy;
    /* ratios: x in micro-units, and the sum of squared residuals
     * x * uy - y * ux, exactly 0 when every visitor has the same ratio */
    long double  ux, uy, crr;
} acc_t;

/* One visitor's capped values: x in money and in micro-units, y, and
 * the same of its history (CUPED's m, d, m_pre, d_pre). */
typedef struct {
    double       v[AB_CU_NVARS];
    long double  xu;
} point_t;


int
ab_capset_add(ab_capset_t *c, int var, const ab_vagg_t *post,
    const ab_vagg_t *pre)
{
    ab_capbuy_t  *b;

    if (post->revenue == 0 && post->orders == 0
        && (pre == NULL || (pre->revenue == 0 && pre->orders == 0)))
    {
        return 0;
    }
    if (ab_grow_array((void **) &c->b, &c->cap, c->n + 1, sizeof(*c->b))
        != 0)
    {
        return -1;
    }
    b = &c->b[c->n++];
    b->var = (uint32_t) var;
    b->rev = post->revenue;
    b->orders = post->orders;
    b->prev = pre ? pre->revenue : 0;
    b->porders = pre ? pre->orders : 0;
    b->count = 1;
    c->sorted = 0;

    return 0;
}


int
ab_capset_merge(ab_capset_t *a, const ab_capset_t *b)
{
    if (b->n == 0) {
        return 0;
    }
    if (ab_grow_array((void **) &a->b, &a->cap, a->n + b->n, sizeof(*a->b))
        != 0)
    {
        return -1;
    }
    memcpy(a->b + a->n, b->b, b->n * sizeof(*b->b));
    a->n += b->n;
    a->sorted = 0;

    return 0;
}


static int
cmp_buy(const void *pa, const void *pb)
{
    const ab_capbuy_t  *a = pa, *b = pb;

    if (a->var != b->var) {
        return a->var < b->var ? -1 : 1;
    }
    if (a->rev != b->rev) {
        return a->rev < b->rev ? -1 : 1;
    }
    if (a->orders != b->orders) {
        return a->orders < b->orders ? -1 : 1;
    }
    if (a->prev != b->prev) {
        return a->prev < b->prev ? -1 : 1;
    }
    return (a->porders > b->porders) - (a->porders < b->porders);
}


void
ab_capset_finish(ab_capset_t *c)
{
    size_t  i, k = 0;

    if (c->sorted || c->n == 0) {
        c->sorted = 1;
        return;
    }
    qsort(c->b, c->n, sizeof(*c->b), cmp_buy);
    for (i = 0; i < c->n; i++) {
        if (k > 0 && cmp_buy(&c->b[k - 1], &c->b[i]) == 0) {
            c->b[k - 1].count += c->b[i].count;
        } else {
            c->b[k++] = c->b[i];
        }
    }
    c->n = k;
    c->sorted = 1;
}


void
ab_capset_free(ab_capset_t *c)
{
    free(c->b);
    memset(c, 0, sizeof(*c));
}


/* A revenue of the histogram with how many visitors have it. */
typedef struct {
    ab_i128_t  rev;
    uint64_t   count;
} rcount_t;


static int
cmp_rev(const void *pa, const void *pb)
{
    ab_i128_t  a = ((const rcount_t *) pa)->rev;
    ab_i128_t  b = ((const rcount_t *) pb)->rev;

    return (a > b) - (a < b);
}


/* The k-th (from 0) of the revenues r[0..n) sorted, counts expanded. */
static double
order_stat(const rcount_t *r, size_t n, uint64_t k)
{
    uint64_t  seen = 0;
    size_t    i;

    for (i = 0; i + 1 < n && k >= seen + r[i].count; i++) {
        seen += r[i].count;
    }

    return (double) r[i].rev / 1e6;
}


double
ab_capset_percentile(const ab_capset_t *c, double pct)
{
    rcount_t  *r = malloc((c->n + 1) * sizeof(*r));
    uint64_t   n = 0, k;
    size_t     i, m = 0;
    double     pos, lo, cap = NAN;

    if (r == NULL) {
        return NAN;
    }
    for (i = 0; i < c->n; i++) {
        if (c->b[i].rev != 0) {
            r[m].rev = c->b[i].rev;
            r[m++].count = c->b[i].count;
            n += c->b[i].count;
        }
    }

    if (n > 0) {
        qsort(r, m, sizeof(*r), cmp_rev);
        pos = pct / 100 * (double) (n - 1);
        k = (uint64_t) pos;
        lo = order_stat(r, m, k);
        cap = k + 1 < n ? lo + (order_stat(r, m, k + 1) - lo)
                               * (pos - (double) k)
                        : lo;
    }
    free(r);

    return cap;
}


static void
capped_value(ab_i128_t rev, double cap, double *x, long double *xu)
{
    double  money = (double) rev / 1e6;

    *x = money > cap ? cap : money;
    if (xu != NULL) {
        *xu = money > cap ? (long double) cap * 1e6 : (long double) rev;
    }
}


static void
acc_add(acc_t *a, int pass, int ratio, const point_t *pt, double w)
{
    double       dx, dy, x = pt->v[AB_CU_M], y = pt->v[AB_CU_D];
    long double  r;

    if (pass == 0) {
        a->n += w;
        a->sx += (long double) w * x;
        a->sy += (long double) w * y;
        a->ux += (long double) w * pt->xu;
        a->uy += (long double) w * y;
        return;
    }

    dx = x - a->mx;
    a->cxx += (long double) w * dx * dx;
    if (ratio) {
        dy = y - a->my;
        a->cyy += (long double) w * dy * dy;
        a->cxy += (long double) w * dx * dy;
        r = pt->xu * a->uy - (long double) y * a->ux;
        a->crr += (long double) w * r * r;
    }
}


static ab_estimate_t
acc_estimate(const acc_t *a, int ratio)
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
        return ab_ratio_estimate_resid(a->n, (double) (a->ux / a->uy / 1e6),
            a->my, (double) (a->crr / (a->uy * 1e6) / (a->uy * 1e6)) / d);
    }

    r.n = a->n;
    r.mean_m = a->mx;
    r.mean_d = a->my;
    r.var_m = (double) a->cxx / d;
    r.var_d = (double) a->cyy / d;
    r.cov = (double) a->cxy / d;

    return ab_ratio_estimate(&r);
}


ab_estimate_t
ab_capset_estimate(const ab_capset_t *c, int var, uint64_t n, int ratio,
    double cap, ab_cuped_moments_t *cm)
{
    acc_t           a;
    ab_cuped_acc_t  ca;
    point_t         zero, pt;
    uint64_t        rest = n;
    size_t          i, first = c->n, last = c->n;
    int             pass;

    for (i = 0; i < c->n; i++) {
        if (c->b[i].var == (uint32_t) var) {
            first = first == c->n ? i : first;
            last = i + 1;
            rest -= c->b[i].count;
        }
    }

    /* the visitors with nothing to cap: all zero, but a mean's d */
    memset(&zero, 0, sizeof(zero));
    zero.v[AB_CU_D] = zero.v[AB_CU_DPRE] = ratio ? 0 : 1;

    memset(&a, 0, sizeof(a));
    memset(&ca, 0, sizeof(ca));
    for (pass = 0; pass < 2; pass++) {
        if (rest > 0) {
            acc_add(&a, pass, ratio, &zero, (double) rest);
            ab_cuped_acc_add(&ca, pass, zero.v, (double) rest);
        }
        for (i = first; i < last; i++) {
            const ab_capbuy_t  *b = &c->b[i];

            capped_value(b->rev, cap, &pt.v[AB_CU_M], &pt.xu);
            capped_value(b->prev, cap, &pt.v[AB_CU_MPRE], NULL);
            pt.v[AB_CU_D] = ratio ? b->orders : 1;
            pt.v[AB_CU_DPRE] = ratio ? b->porders : 1;
            acc_add(&a, pass, ratio, &pt, (double) b->count);
            ab_cuped_acc_add(&ca, pass, pt.v, (double) b->count);
        }
        if (pass == 0) {
            a.mx = a.n > 0 ? (double) (a.sx / a.n) : NAN;
            a.my = a.n > 0 ? (double) (a.sy / a.n) : NAN;
            ab_cuped_acc_centre(&ca);
        }
    }

    if (cm != NULL) {
        *cm = ab_cuped_acc_moments(&ca);
    }

    return acc_estimate(&a, ratio);
}
