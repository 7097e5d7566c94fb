/*
 * Small-count statistics for shares (k successes of n): Fisher's exact
 * test on the 2x2 table of two shares, Wilson's score interval, and the
 * interval built from Wilson's for a difference (Newcombe's hybrid
 * score).
 *
 * The normal approximation behind Welch's test fails when a side has few
 * successes or few failures (0 of 200 has no variance at all); these do
 * not. Undefined numbers are NaN.
 */

#ifndef ABSTAT_EXACT_H
#define ABSTAT_EXACT_H

#include "stats.h"

/* Below this many successes or failures on a side, a share is tested
 * exactly (the usual rule for the normal approximation). */
#define AB_SMALL_COUNT  5

/* Two-sided p of Fisher's exact test of kt/nt against kc/nc: the tables
 * with the same margins that are no likelier than the observed one, as
 * scipy.stats.fisher_exact sums them. */
double ab_fisher_two_sided(double kt, double nt, double kc, double nc);

/* One-sided p that kt/nt is the higher share (scipy's
 * alternative='greater'). */
double ab_fisher_greater(double kt, double nt, double kc, double nc);

/* Wilson's score interval of k/n at two-sided level 1 - alpha. */
void ab_wilson(double k, double n, double alpha, double *lo, double *hi);

/* Whether the shares kt/nt, kc/nc are small enough for the exact path. */
int ab_small_counts(double kt, double nt, double kc, double nc);

/*
 * The comparison of two shares by the exact path: Fisher's p for both the
 * absolute and the relative effect (their null is the same: equal
 * shares) and Newcombe's interval for the difference; no relative
 * interval (NaN). Values and effects are those of Welch's path; df is
 * NaN (there is none).
 */
ab_effect_t ab_compare_exact(double kt, double nt, double kc, double nc,
    double alpha);

#endif /* ABSTAT_EXACT_H */
