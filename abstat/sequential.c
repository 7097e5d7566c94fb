/*
 * The confidence sequences of sequential.h. With r = n·rho² + 1 the
 * half-width is sqrt(V·n) · sqrt(2r / (n²rho²) · ln(sqrt(r)/alpha)) and
 * the e-value exp(rho²·n·z² / (2r)) / sqrt(r), z = effect / sqrt(V); its
 * inverse is the p-value, computed in logs so that a large z gives a
 * small p rather than an overflow.
 *
 * One-sided, with rho tuned at 2·alpha, the half-width is
 * sqrt(V·n) · sqrt(2r / (n²rho²) · ln(1 + sqrt(r)/(2·alpha))). rho stays
 * fixed when the level varies, so the p-value, the level at which the
 * bound reaches 0, solves ln(1 + sqrt(r)/(2p)) = K, K = rho²·n·z²/(2r):
 * p = sqrt(r) / (2·expm1(K)), again in logs.
 */

#include "sequential.h"

#include <math.h>

#include "report.h"


double
ab_seq_rho(double alpha, double tuning)
{
    double  l = -2 * log(alpha);

    if (!(alpha > 0 && alpha < 1) || !(tuning > 0)) {
        return NAN;
    }

    return sqrt((l + log(l + 1)) / tuning);
}


/* r = n·rho² + 1, or NaN when the sequence is undefined. */
static double
mix(double var, double n, double alpha, double tuning, double *rho2)
{
    double  rho = ab_seq_rho(alpha, tuning);

    *rho2 = rho * rho;
    if (!(var > 0) || isinf(var) || !(n > 0) || isnan(rho)) {
        return NAN;
    }

    return n * *rho2 + 1;
}


static double
mix_greater(double var, double n, double alpha, double tuning, double *rho2)
{
    return alpha < 0.5 ? mix(var, n, 2 * alpha, tuning, rho2) : NAN;
}


/* sqrt(V·n) · sqrt(2r / (n²rho²) · bound): both sequences' width, the
 * bound the log term of the one or the other. */
static double
width(double var, double n, double rho2, double r, double bound)
{
    return sqrt(var * n) * sqrt(2 * r / (n * n * rho2) * bound);
}


double
ab_seq_halfwidth(double var, double n, double alpha, double tuning)
{
    double  rho2, r = mix(var, n, alpha, tuning, &rho2);

    return isnan(r) ? NAN : width(var, n, rho2, r, log(sqrt(r) / alpha));
}


double
ab_seq_p(double effect, double var, double n, double alpha, double tuning)
{
    double  rho2, r = mix(var, n, alpha, tuning, &rho2), log_e;

    if (isnan(r) || isnan(effect)) {
        return NAN;
    }

    log_e = rho2 * n * (effect * effect / var) / (2 * r) - 0.5 * log(r);

    return log_e > 0 ? exp(-log_e) : 1;
}


double
ab_seq_halfwidth_greater(double var, double n, double alpha, double tuning)
{
    double  rho2, r = mix_greater(var, n, alpha, tuning, &rho2);

    return isnan(r) ? NAN
                    : width(var, n, rho2, r, log1p(sqrt(r) / (2 * alpha)));
}


double
ab_seq_p_greater(double effect, double var, double n, double alpha,
    double tuning)
{
    double  rho2, r = mix_greater(var, n, alpha, tuning, &rho2), k, log_p;

    if (isnan(r) || isnan(effect)) {
        return NAN;
    }
    if (effect <= 0) {
        return 1;
    }

    k = rho2 * n * (effect * effect / var) / (2 * r);
    /* ln expm1(k) = k + ln(1 - e^-k), exact for the large k of tiny p */
    log_p = 0.5 * log(r) - log(2) - (k > 1 ? k + log1p(-exp(-k))
                                           : log(expm1(k)));

    return log_p < 0 ? exp(log_p) : 1;
}


ab_seq_t
ab_sequential_of(const ab_effect_t *e, double var, double rel_var, double n,
    double alpha, double tuning)
{
    ab_seq_t  s;
    double    hw;

    hw = ab_seq_halfwidth(var, n, alpha, tuning);
    s.lo = e->abs_effect - hw;
    s.hi = e->abs_effect + hw;
    s.p_value = ab_seq_p(e->abs_effect, var, n, alpha, tuning);
    s.p_adjusted = NAN;

    hw = ab_seq_halfwidth(rel_var, n, alpha, tuning);
    s.rel_lo = e->rel_effect - hw;
    s.rel_hi = e->rel_effect + hw;
    s.rel_p_value = ab_seq_p(e->rel_effect, rel_var, n, alpha, tuning);

    return s;
}


ab_seq_t
ab_sequential(const ab_estimate_t *t, const ab_estimate_t *c,
    const ab_effect_t *e, double alpha, double tuning)
{
    return ab_sequential_of(e, t->var + c->var, ab_rel_var(t, c),
                            t->n + c->n, alpha, tuning);
}
