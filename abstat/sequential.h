/*
 * Always-valid inference: asymptotic confidence sequences for the effects
 * of stats.h (Waudby-Smith et al., "Time-uniform central limit theory and
 * asymptotic confidence sequences", arXiv:2103.06476, eqs. 9 and 161), in
 * the two-sided form of GrowthBook's gbstats, and the always-valid p-value
 * that matches them (1 / the mixture e-value, eq. 155).
 *
 * A fixed-horizon CI holds at one look chosen in advance; these hold at
 * every look at once, so an hourly cron job may stop on any of them.
 * The one-sided sequence of a test of harm is the one-sided normal
 * mixture of Howard, Ramdas, McAuliffe and Sekhon ("Time-uniform,
 * nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49,
 * 2021), again as gbstats computes it. Undefined numbers are NaN, as in
 * stats.h.
 */

#ifndef ABSTAT_SEQUENTIAL_H
#define ABSTAT_SEQUENTIAL_H

#include "stats.h"

/* gbstats' default N*: the sample size (both sides) at which the
 * sequence is narrowest. */
#define AB_SEQ_TUNING_DEFAULT  5000.0

typedef struct {
    double  lo, hi;             /* absolute effect */
    double  p_value;
    double  rel_lo, rel_hi;     /* relative effect */
    double  rel_p_value;
    double  p_adjusted;         /* Holm over p_value; set by the caller */
} ab_seq_t;

/* The mixing parameter rho of N* at two-sided level alpha (eq. 161). */
double ab_seq_rho(double alpha, double tuning);

/* Half-width of the sequence of an effect whose estimate has variance
 * var after n observations in all (treatment and baseline). */
double ab_seq_halfwidth(double var, double n, double alpha, double tuning);

/* The always-valid p-value of effect against 0: below alpha exactly when
 * the sequence at level alpha excludes 0. */
double ab_seq_p(double effect, double var, double n, double alpha,
    double tuning);

/* Both effects of e (from ab_compare(t, c)) as sequences. */
ab_seq_t ab_sequential(const ab_estimate_t *t, const ab_estimate_t *c,
    const ab_effect_t *e, double alpha, double tuning);

/* Both effects of e as sequences, from the variances of their estimates
 * (var: absolute, rel_var: relative) after n observations in all: the
 * form for an estimate that is not a plain difference (CUPED's). */
ab_seq_t ab_sequential_of(const ab_effect_t *e, double var, double rel_var,
    double n, double alpha, double tuning);

/* The one-sided sequence "effect > lower bound" at level alpha: its
 * distance below the estimate, rho tuned at 2 alpha as gbstats does. */
double ab_seq_halfwidth_greater(double var, double n, double alpha,
    double tuning);

/* The always-valid p of "effect > 0" against "effect <= 0": the least
 * level at which the one-sided sequence, its rho tuned at alpha, lies
 * above 0; 1 where it never does. */
double ab_seq_p_greater(double effect, double var, double n, double alpha,
    double tuning);

#endif /* ABSTAT_SEQUENTIAL_H */
