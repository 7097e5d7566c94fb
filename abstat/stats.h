/*
 * The tests behind every comparison in a report: Welch's t-test for means
 * and shares, the delta method for ratio metrics, relative effects by the
 * delta method, Holm's adjustment and the SRM chi-square test.
 *
 * Undefined numbers (zero variance, one visitor, a zero denominator) are
 * NaN here; renderers print them as null.
 */

#ifndef ABSTAT_STATS_H
#define ABSTAT_STATS_H

#include <stddef.h>

#include "ab_dist.h"

/* A per-visitor variable: n, mean and sample variance (n - 1). */
typedef struct {
    double  n;
    double  mean;
    double  var;
} ab_moments_t;

/* A ratio metric sum(m) / sum(d): means, sample variances, covariance. */
typedef struct {
    double  n;
    double  mean_m;
    double  mean_d;
    double  var_m;
    double  var_d;
    double  cov;
} ab_ratio_moments_t;

/* An estimate and the variance of that estimate (not of the variable). */
typedef struct {
    double  n;
    double  value;
    double  var;
} ab_estimate_t;

typedef struct {
    double  value;              /* treatment estimate */
    double  baseline_value;
    double  abs_effect;
    double  abs_lo, abs_hi;
    double  p_value;            /* of the absolute difference */
    double  rel_effect;
    double  rel_lo, rel_hi;
    double  rel_p_value;        /* of the relative effect */
    double  df;
} ab_effect_t;

ab_moments_t ab_moments_from_sums(double n, double sum, double sumsq);

ab_ratio_moments_t ab_ratio_from_sums(double n, double sum_m,
    double sumsq_m, double sum_d, double sumsq_d, double sum_md);

ab_estimate_t ab_mean_estimate(const ab_moments_t *m);

/* The delta-method variance of mean_m / mean_d (Deng et al.). */
ab_estimate_t ab_ratio_estimate(const ab_ratio_moments_t *r);

/*
 * The same from the ratio R and the variance of the residuals m - R d,
 * which is what the delta-method variance is: a sample whose every ratio
 * is the same has residuals of exactly 0, hence a variance of exactly 0
 * here, where the expanded form leaves rounding noise.
 */
ab_estimate_t ab_ratio_estimate_resid(double n, double ratio, double mean_d,
    double var_resid);

/* Welch-Satterthwaite degrees of freedom of two estimates. */
double ab_welch_df(const ab_estimate_t *t, const ab_estimate_t *c);

/* Treatment t against baseline c at two-sided level 1 - alpha. */
/* The delta-method variance of the relative effect (t - c) / |c| of
 * two independent estimates; NaN where c's value is 0 or undefined. */
double ab_rel_var(const ab_estimate_t *t, const ab_estimate_t *c);

ab_effect_t ab_compare(const ab_estimate_t *t, const ab_estimate_t *c,
    double alpha);

/* The CI [*lo, *hi] and two-sided p of an effect with standard error se
 * and df degrees of freedom (Student's t); NaN when se is not positive. */
void ab_t_interval(double effect, double se, double df, double alpha,
    double *lo, double *hi, double *p);

/* Holm's step-down adjustment; NaN entries are left out and stay NaN. */
void ab_holm(const double *p, double *adjusted, size_t n);

/* The SRM test, shared with the module's status page: ab_srm_test(). */
static inline double
ab_srm(const double *observed, const double *weights, size_t k, double *chi2)
{
    return ab_srm_test(observed, weights, k, chi2, NULL);
}

#endif /* ABSTAT_STATS_H */
