/*
 * The confidence sequences of sequential.h. With r = n·rho² + 1 the
 * half-width is sqrt(V·n) · sqrt(2r / (n²rho²) · ln(sqrt(r)/alpha)) and
 * the e-value exp(rho²·n·z² / (2r)) / sqrt(r), z = effect / sqrt(V); its
 * inverse is the p-value, computed in logs so that a large z gives a
 * small p rather than an overflow.
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


double
ab_seq_halfwidth(double var, double n, double alpha, double tuning)
{
    double  rho2, r = mix(var, n, alpha, tuning, &rho2);

    if (isnan(r)) {
        return NAN;
    }

    return sqrt(var * n) * sqrt(2 * r / (n * n * rho2)
                                * log(sqrt(r) / alpha));
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


ab_seq_t
ab_sequential(const ab_estimate_t *t, const ab_estimate_t *c,
    const ab_effect_t *e, double alpha, double tuning)
{
    ab_seq_t  s;
    double    n = t->n + c->n, v, hw, cv = c->value, tv = t->value;

    v = t->var + c->var;
    hw = ab_seq_halfwidth(v, n, alpha, tuning);
    s.lo = e->abs_effect - hw;
    s.hi = e->abs_effect + hw;
    s.p_value = ab_seq_p(e->abs_effect, v, n, alpha, tuning);
    s.p_adjusted = NAN;

    /* the delta-method variance of the relative effect, as ab_compare's */
    v = cv == 0 ? NAN
        : t->var / (cv * cv) + c->var * tv * tv / (cv * cv * cv * cv);
    hw = ab_seq_halfwidth(v, n, alpha, tuning);
    s.rel_lo = e->rel_effect - hw;
    s.rel_hi = e->rel_effect + hw;
    s.rel_p_value = ab_seq_p(e->rel_effect, v, n, alpha, tuning);

    return s;
}


