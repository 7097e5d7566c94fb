/*
 * Distribution functions for the tests that abstat and the module's status
 * page report: Student's t through the regularized incomplete beta,
 * chi-square through the regularized incomplete gamma. Accurate to ~1e-13 relative for the df met in practice,
 * which is what comparing with scipy at 1e-9 needs.
 */

#ifndef AB_DIST_H
#define AB_DIST_H

#include <stddef.h>

/* I_x(a, b); y must be 1 - x and lnx, lny their logs (given separately so
 * that callers can keep precision when x is close to 1). */
double ab_ibeta(double a, double b, double x, double y, double lnx,
    double lny);

/* P(|T| > |t|) for Student's t with df degrees of freedom (df may be
 * fractional, as Welch-Satterthwaite gives). */
double ab_t_sf2(double t, double df);

/* P(T <= t). */
double ab_t_cdf(double t, double df);

/* The t with P(T <= t) = q, 0 < q < 1. */
double ab_t_quantile(double q, double df);

/* Q(a, x) = Gamma(a, x) / Gamma(a), the upper regularized gamma. */
double ab_gamma_q(double a, double x);

/* P(X > x) for chi-square with k degrees of freedom. */
double ab_chi2_sf(double x, double k);

/*
 * The sample ratio mismatch test, as abstat and the module's status page
 * report it: chi-square goodness of fit of k observed counts to weights
 * (any positive scale). Sets *chi2 and *df (when not NULL; 0 when the test
 * is undefined) and returns the p-value, NaN when undefined (no
 * observations, fewer than two cells). A variant of weight zero is no
 * cell; one with observations all the same makes chi2 infinite and p 0.
 */
double ab_srm_test(const double *observed, const double *weights, size_t k,
    double *chi2, size_t *df);

#endif /* AB_DIST_H */
