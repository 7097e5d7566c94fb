/*
 * Continued fractions evaluated with the modified Lentz method; see
 * dist.h for what each function computes.
 */

#include "ab_dist.h"

#include <float.h>
#include <math.h>

#define DIST_EPS      1e-16
#define DIST_TINY     1e-300
#define DIST_MAXIT    2000000


/* lgamma() sets the global signgam: abstat reports experiments in
 * parallel threads, so the reentrant form where there is one. The sign
 * is not needed: every argument here is positive. */
static double
log_gamma(double x)
{
#if defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__)
    int  sign;

    return lgamma_r(x, &sign);
#else
    return lgamma(x);
#endif
}

/*
 * lgamma(z) - lgamma(z + s) for large z. lgamma itself is only accurate
 * to a few ulps of its (large) result, and with df in the millions that
 * absolute error would show in the p-values; the Stirling series written
 * as a difference never forms the large terms.
 */
static double
lgamma_diff(double z, double s)
{
    double  w = z + s;
    double  corr_z, corr_w;

    corr_z = 1.0 / (12 * z) - 1.0 / (360 * z * z * z)
             + 1.0 / (1260 * pow(z, 5)) - 1.0 / (1680 * pow(z, 7));
    corr_w = 1.0 / (12 * w) - 1.0 / (360 * w * w * w)
             + 1.0 / (1260 * pow(w, 5)) - 1.0 / (1680 * pow(w, 7));

    return -s * log(z) - (w - 0.5) * log1p(s / z) + s + corr_z - corr_w;
}


static double
lbeta(double a, double b)
{
    double  big = a > b ? a : b;
    double  small = a > b ? b : a;

    if (big >= 30) {
        return log_gamma(small) + lgamma_diff(big, small);
    }

    return log_gamma(a) + log_gamma(b) - log_gamma(a + b);
}


/* One step of the modified Lentz method for b0 + a1/(b1 + a2/(b2 + ...)):
 * takes a_n and b_n, updates c and d, returns the factor for h. */
static double
lentz_step(double an, double bn, double *c, double *d)
{
    *d = bn + an * *d;
    *d = fabs(*d) < DIST_TINY ? DIST_TINY : *d;
    *c = bn + an / *c;
    *c = fabs(*c) < DIST_TINY ? DIST_TINY : *c;
    *d = 1 / *d;

    return *c * *d;
}


/* The continued fraction of I_x(a, b), which converges fast for
 * x < (a + 1) / (a + b + 2). */
static double
ibeta_cf(double a, double b, double x)
{
    double  c = 1, d, h, num, delta;

    int     m;

    d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < DIST_TINY) {
        d = DIST_TINY;
    }
    d = 1 / d;
    h = d;

    for (m = 1; m < DIST_MAXIT; m++) {
        /* Even step. */
        num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        h *= lentz_step(num, 1, &c, &d);

        /* Odd step. */
        num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
        delta = lentz_step(num, 1, &c, &d);
        h *= delta;

        if (fabs(delta - 1) < DIST_EPS) {
            break;
        }
    }

    return h;
}


double
ab_ibeta(double a, double b, double x, double y, double lnx, double lny)
{
    double  front;

    if (x <= 0) {
        return 0;
    }

    if (y <= 0) {
        return 1;
    }

    if (x < (a + 1) / (a + b + 2)) {
        front = exp(a * lnx + b * lny - lbeta(a, b)) / a;
        return front * ibeta_cf(a, b, x);
    }

    front = exp(a * lnx + b * lny - lbeta(a, b)) / b;

    return 1 - front * ibeta_cf(b, a, y);
}


double
ab_t_sf2(double t, double df)
{
    double  t2 = t * t, x, y, lnx, lny;

    if (isnan(t) || isnan(df) || df <= 0) {
        return NAN;
    }

    if (isinf(t)) {
        return 0;
    }

    if (t == 0) {
        return 1;
    }

    /* x = df / (df + t^2) and y = t^2 / (df + t^2), each formed without
     * subtracting from 1. */
    x = df / (df + t2);
    y = t2 / (df + t2);
    lnx = -log1p(t2 / df);
    lny = 2 * log(fabs(t)) - log(df + t2);

    if (isinf(t2)) {
        return 0;
    }

    return ab_ibeta(df / 2, 0.5, x, y, lnx, lny);
}


double
ab_t_cdf(double t, double df)
{
    double  p = ab_t_sf2(t, df) / 2;

    return t < 0 ? p : 1 - p;
}


double
ab_t_quantile(double q, double df)
{
    double  target, lo = 0, hi = 1, mid;
    int     i;

    if (isnan(q) || isnan(df) || df <= 0 || q <= 0 || q >= 1) {
        return NAN;
    }

    if (q == 0.5) {
        return 0;
    }

    if (q < 0.5) {
        return -ab_t_quantile(1 - q, df);
    }

    /* Solve on the two-sided tail, which has no cancellation near q = 1. */
    target = 2 * (1 - q);

    while (ab_t_sf2(hi, df) > target) {
        lo = hi;
        hi *= 2;
        if (hi > 1e300) {
            return INFINITY;
        }
    }

    for (i = 0; i < 200 && hi - lo > 4 * DBL_EPSILON * hi; i++) {
        mid = lo + (hi - lo) / 2;
        if (ab_t_sf2(mid, df) > target) {
            lo = mid;
        } else {
            hi = mid;
        }
    }

    return lo + (hi - lo) / 2;
}


/* P(a, x) by its series, for x < a + 1. */
static double
gamma_p_series(double a, double x)
{
    double  ap = a, sum = 1 / a, del = sum;
    int     n;

    for (n = 0; n < DIST_MAXIT; n++) {
        ap += 1;
        del *= x / ap;
        sum += del;
        if (fabs(del) < fabs(sum) * DIST_EPS) {
            break;
        }
    }

    return sum * exp(-x + a * log(x) - log_gamma(a));
}


/* Q(a, x) by its continued fraction, for x >= a + 1. */
static double
gamma_q_cf(double a, double x)
{
    double  b = x + 1 - a, c = 1 / DIST_TINY, d = 1 / b, h = d, an, delta;
    int     i;

    for (i = 1; i < DIST_MAXIT; i++) {
        an = -i * (i - a);
        b += 2;
        delta = lentz_step(an, b, &c, &d);
        h *= delta;
        if (fabs(delta - 1) < DIST_EPS) {
            break;
        }
    }

    return exp(-x + a * log(x) - log_gamma(a)) * h;
}


double
ab_gamma_q(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0) {
        return NAN;
    }

    if (x <= 0) {
        return 1;
    }

    if (isinf(x)) {
        return 0;
    }

    if (x < a + 1) {
        return 1 - gamma_p_series(a, x);
    }

    return gamma_q_cf(a, x);
}


double
ab_chi2_sf(double x, double k)
{
    return ab_gamma_q(k / 2, x / 2);
}


double
ab_srm_test(const double *observed, const double *weights, size_t k,
    double *chi2, size_t *df)
{
    int     impossible = 0;
    double  total = 0, wsum = 0, x = 0, e;
    size_t  i, cells = 0;

    if (df) {
        *df = 0;
    }

    for (i = 0; i < k; i++) {
        total += observed[i];
        wsum += weights[i];
    }

    if (!(total > 0) || !(wsum > 0) || k < 2) {
        *chi2 = NAN;
        return NAN;
    }

    for (i = 0; i < k; i++) {
        e = total * weights[i] / wsum;

        if (e == 0) {
            /* a variant meant to get nobody is no cell of the test; one
             * that got visitors all the same is a mismatch for sure */
            impossible |= observed[i] > 0;
            continue;
        }

        x += (observed[i] - e) * (observed[i] - e) / e;
        cells++;
    }

    if (df && cells >= 2) {
        *df = cells - 1;
    }

    if (impossible) {
        *chi2 = INFINITY;
        return 0;
    }

    *chi2 = x;

    if (cells < 2) {
        return NAN;
    }

    return ab_chi2_sf(x, (double) (cells - 1));
}
