/*
 * See hetero.h. Two passes: the pooled effect, then the weighted squares
 * about it (one pass of sums of w e^2 - theta^2 sum w cancels when the
 * effects agree, which is the case the test is about).
 */

#include "hetero.h"

#include <math.h>

#include "ab_dist.h"


static int
usable(double e, double v)
{
    return !isnan(e) && v > 0 && !isinf(v);
}


double
ab_cochran_q(const double *effect, const double *var, size_t n, double *q,
    size_t *k)
{
    double  sw = 0, swe = 0, theta, d, sq = 0;
    size_t  i, used = 0;

    for (i = 0; i < n; i++) {
        if (usable(effect[i], var[i])) {
            sw += 1 / var[i];
            swe += effect[i] / var[i];
            used++;
        }
    }

    *k = used;
    *q = NAN;
    if (used < 2) {
        return NAN;
    }

    theta = swe / sw;
    for (i = 0; i < n; i++) {
        if (usable(effect[i], var[i])) {
            d = effect[i] - theta;
            sq += d * d / var[i];
        }
    }
    *q = sq;

    return ab_chi2_sf(sq, (double) (used - 1));
}
