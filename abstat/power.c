/*
 * Power of the two-sided z-test, as statsmodels' NormalIndPower defines
 * it (both rejection regions counted), with the standard error the
 * report's own test uses: sqrt(Vt + Vc), the variances of the two
 * estimates. The normal and not the t distribution: at the sample sizes
 * where power is a question the two agree to a few parts in a thousand,
 * and the z form has no df to guess for a sample not yet drawn.
 */

#include "power.h"

#include <math.h>

#include "analyze.h"

#define MAX_ITER  200


double
ab_norm_sf(double x)
{
    return 0.5 * erfc(x / sqrt(2.0));
}


static double
norm_pdf(double x)
{
    return exp(-0.5 * x * x) / sqrt(2 * M_PI);
}


/*
 * Newton's method on sf(x) = q from x = 0: on x > 0 the upper tail is
 * convex, so every step stays on the near side of the root and the
 * iterates rise to it without overshooting. Solving in the upper tail
 * keeps the digits of small q, which 1 - q would lose.
 */
double
ab_norm_isf(double q)
{
    double  x = 0, step;
    int     i;

    if (!(q > 0 && q < 1)) {
        return q == 0 ? INFINITY : q == 1 ? -INFINITY : NAN;
    }
    if (q > 0.5) {
        return -ab_norm_isf(1 - q);
    }

    for (i = 0; i < MAX_ITER; i++) {
        step = (ab_norm_sf(x) - q) / norm_pdf(x);
        x += step;
        if (fabs(step) <= 1e-16 * (x > 1 ? x : 1)) {
            break;
        }
    }

    return x;
}


double
ab_power_of(double lambda, double alpha)
{
    double  z = ab_norm_isf(alpha / 2);

    return ab_norm_sf(z - lambda) + ab_norm_sf(z + lambda);
}


/*
 * The power rises with lambda from alpha (at 0); one rejection region
 * alone reaches the power at z(alpha/2) + z(1 - power), the upper end of
 * the bracket. Newton steps, bisection when one leaves the bracket.
 */
double
ab_power_lambda(double alpha, double power)
{
    double  z = ab_norm_isf(alpha / 2), lo = 0, hi, x, f, d, next;
    int     i;

    if (!(alpha > 0 && alpha < 1 && power > 0 && power < 1)) {
        return NAN;
    }
    if (power <= alpha) {
        /* even no effect is rejected that often */
        return 0;
    }

    hi = z + ab_norm_isf(1 - power);
    x = hi;

    for (i = 0; i < MAX_ITER; i++) {
        f = ab_power_of(x, alpha) - power;
        if (f > 0) {
            hi = x;
        } else {
            lo = x;
        }
        d = norm_pdf(x - z) - norm_pdf(x + z);
        next = d > 0 ? x - f / d : NAN;
        if (!(next > lo && next < hi)) {
            next = (lo + hi) / 2;
        }
        if (fabs(next - x) <= 1e-16 * x) {
            return next;
        }
        x = next;
    }

    return x;
}


ab_power_t
ab_power(const ab_estimate_t *t, const ab_estimate_t *c, int rel,
    double alpha, double target, double per_day)
{
    ab_power_t  pw;
    double      se = sqrt(t->var + c->var), n = t->n + c->n, lambda, need;

    pw.defined = 1;
    pw.alpha = alpha;
    pw.power = AB_POWER_TARGET;
    pw.mde = pw.mde_abs = pw.visitors_needed = pw.days_needed = NAN;

    if (!(se > 0) || isinf(se)) {
        return pw;
    }

    lambda = ab_power_lambda(alpha, AB_POWER_TARGET);
    pw.mde_abs = lambda * se;
    if (rel && c->value != 0 && isfinite(c->value)) {
        pw.mde = pw.mde_abs / fabs(c->value);
    }

    if (target > 0 && isfinite(pw.mde)) {
        /* se shrinks as 1/sqrt(n) with the split kept: at n' visitors
         * the MDE is mde * sqrt(n / n') */
        need = n * (pw.mde / target) * (pw.mde / target) - n;
        pw.visitors_needed = need > 0 ? ceil(need) : 0;
        if (per_day > 0) {
            pw.days_needed = pw.visitors_needed / per_day;
        }
    }

    return pw;
}


void
ab_entry_range(const ab_pass_t *p, int e, int64_t *first, int64_t *last)
{
    const ab_state_t  *st = p->st;
    size_t             i;

    *first = p->given_span != NULL ? p->given_span[2 * e] : INT64_MAX;
    *last = p->given_span != NULL ? p->given_span[2 * e + 1] : INT64_MIN;
    for (i = 0; i < st->nmemb; i++) {
        const ab_memb_t  *mb = &st->membs[i];

        if (mb->exp == e && mb->var != AB_VAR_MULTI) {
            *first = mb->entry < *first ? mb->entry : *first;
            *last = mb->entry > *last ? mb->entry : *last;
        }
    }
}


double
ab_entry_span_days(const ab_pass_t *p, int e)
{
    int64_t  first, last;

    ab_entry_range(p, e, &first, &last);

    return last > first ? (double) (last - first) / 86400e6 : NAN;
}
