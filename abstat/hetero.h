/*
 * Whether segments differ at all (issue 17's heterogeneity test):
 * Cochran's Q over the per-segment effects, each weighted by the inverse
 * of its variance, as a meta-analysis tests homogeneity (statsmodels'
 * combine_effects(...).test_homogeneity()).
 *
 *     theta = sum(w_i e_i) / sum(w_i),  w_i = 1 / v_i
 *     Q     = sum(w_i (e_i - theta)^2),  p = P(chi2(k - 1) > Q)
 *
 * over the k segments whose effect and variance are defined (v_i > 0).
 */

#ifndef ABSTAT_HETERO_H
#define ABSTAT_HETERO_H

#include <stddef.h>

/* The p-value of Cochran's Q (and Q in *q, the segments used in *k);
 * NaN with fewer than two usable segments. */
double ab_cochran_q(const double *effect, const double *var, size_t n,
    double *q, size_t *k);

#endif /* ABSTAT_HETERO_H */
