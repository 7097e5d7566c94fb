/*
 * Power and duration of a comparison: the smallest effect the verdict's
 * test detects at the current sample, and with a target effect (--mde)
 * how many more visitors and days it needs. docs/abstat.md gives the
 * formulas.
 */

#ifndef ABSTAT_POWER_H
#define ABSTAT_POWER_H

#include <stdint.h>

#include "stats.h"

#define AB_POWER_TARGET  0.8

typedef struct {
    int     defined;            /* 0: not computed (not a primary row) */
    double  alpha;              /* two-sided level the power is at */
    double  power;              /* AB_POWER_TARGET */
    double  mde;                /* relative, a fraction of the baseline */
    double  mde_abs;
    double  visitors_needed;    /* more visitors in the two arms (--mde) */
    double  days_needed;        /* at the observed enrollment rate */
} ab_power_t;

/* Upper tail of the standard normal, and its inverse (0 < q < 1). */
double ab_norm_sf(double x);
double ab_norm_isf(double q);

/* Probability that the two-sided z-test at level alpha rejects when the
 * effect is lambda standard errors (both tails counted). */
double ab_power_of(double lambda, double alpha);

/* The lambda at which ab_power_of(lambda, alpha) is power. */
double ab_power_lambda(double alpha, double power);

/*
 * The power of comparing treatment t with baseline c, a two-sided test at
 * level alpha: MDE (relative to |c| when rel, else NaN), and with
 * target > 0 (a relative effect) the visitors still needed and, with
 * per_day > 0 visitors entering the two arms a day, the days.
 */
ab_power_t ab_power(const ab_estimate_t *t, const ab_estimate_t *c, int rel,
    double alpha, double target, double per_day);

#endif /* ABSTAT_POWER_H */
