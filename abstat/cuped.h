/*
 * CUPED: a comparison adjusted by each visitor's own pre-entry value of
 * the metric (the covariate), the regression-adjusted statistics of
 * GrowthBook's gbstats so that results can be checked against its
 * published vectors.
 *
 * A metric is four per-visitor variables: the numerator and denominator
 * after entry (m, d) and before it (m_pre, d_pre). A mean metric has
 * d = d_pre = 1; only m and m_pre matter then.
 *
 *   mean:  y - theta (x - mean x), theta = cov(y, x) / var(x) over both
 *          variants pooled (sums over the pair, not within-variant);
 *   ratio: R - theta R_pre linearised by the delta method, theta the
 *          pooled ratio of the pre/post covariance to the pre variance.
 *
 * theta is 0 (no adjustment) when the pooled covariate has no variance:
 * no visitor of the pair has any history. The relative effect and its
 * variance follow gbstats' relative CUPED formulas; degrees of freedom
 * are Welch's on the adjusted per-visitor variances.
 */

#ifndef ABSTAT_CUPED_H
#define ABSTAT_CUPED_H

#include <stdint.h>

#include "stats.h"

enum { AB_CU_M, AB_CU_D, AB_CU_MPRE, AB_CU_DPRE, AB_CU_NVARS };

/* One variant's means and sample covariances (n - 1) of the four. */
typedef struct {
    double  n;
    double  mean[AB_CU_NVARS];
    double  cov[AB_CU_NVARS][AB_CU_NVARS];
} ab_cuped_moments_t;

typedef struct {
    ab_effect_t  e;             /* the adjusted comparison */
    double       var, rel_var;  /* of its absolute and relative effects */
    double       theta;
    double       variance_reduction;    /* 1 - var adjusted / var raw, of
                                           the absolute effect */
    int          adjusted;      /* 0: theta fell back to 0 */
} ab_cuped_t;

/* Two-pass accumulator of the four over one variant's visitors, each
 * weighing w (a histogram's count): pass 0 sums, then
 * ab_cuped_acc_centre, pass 1 centred products (variances that keep
 * their digits; capped.c's). */
typedef struct {
    double       n;
    long double  s[AB_CU_NVARS];
    double       mean[AB_CU_NVARS];
    long double  c[AB_CU_NVARS][AB_CU_NVARS];
} ab_cuped_acc_t;

void ab_cuped_acc_add(ab_cuped_acc_t *a, int pass,
    const double v[AB_CU_NVARS], double w);
void ab_cuped_acc_centre(ab_cuped_acc_t *a);
ab_cuped_moments_t ab_cuped_acc_moments(const ab_cuped_acc_t *a);

/* Moments from plain sums s[i] and sums of products sp[i][j] (i <= j
 * read), the form of gbstats' statistics and of its test vectors. */
ab_cuped_moments_t ab_cuped_from_sums(double n, const double s[AB_CU_NVARS],
    const double sp[AB_CU_NVARS][AB_CU_NVARS]);

/* theta pooled over treatment t and baseline c. */
double ab_cuped_theta(const ab_cuped_moments_t *t, const ab_cuped_moments_t *c,
    int ratio);

/* t against c adjusted with theta, at two-sided level 1 - alpha. */
ab_cuped_t ab_cuped_compare(const ab_cuped_moments_t *t,
    const ab_cuped_moments_t *c, double theta, int ratio, double alpha);

/* The comparison of treatment t with baseline c from their moments,
 * theta pooled over the two: 1 when adjusted, 0 when there is no history
 * to adjust by (then *out is not to be reported). */
int ab_cuped_row(const ab_cuped_moments_t *t, const ab_cuped_moments_t *c,
    int ratio, double alpha, ab_cuped_t *out);

/* A share's counts (a funnel event): visitors, those with the event
 * after entry, before it (in the lookback), and both. */
typedef struct {
    double  n, k, k_pre, k_both;
} ab_cuped_share_t;

/* ab_cuped_row for a share of t against c, from their counts. */
int ab_cuped_share_row(const ab_cuped_share_t *t, const ab_cuped_share_t *c,
    double alpha, ab_cuped_t *out);

#endif /* ABSTAT_CUPED_H */
