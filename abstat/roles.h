/*
 * Metric roles. The primary metrics (--primary) are the experiment's
 * decision: one family of tests, primary metrics x variants, adjusted by
 * Holm, with confidence intervals at the family's levels. Secondary
 * metrics (every other business metric, the funnel events) are shown
 * unadjusted as exploratory; guardrails are tested on their own. Every
 * row is decided on one test, the one behind its headline interval: the
 * relative effect, or the absolute one where the baseline is zero.
 */

#ifndef ABSTAT_ROLES_H
#define ABSTAT_ROLES_H

#include "report.h"

enum { AB_ROLE_SECONDARY, AB_ROLE_PRIMARY, AB_ROLE_GUARDRAIL };

#define AB_PRIMARY_DEFAULT  "revenue_per_visitor"

/* "primary", "secondary" or "guardrail". */
const char *ab_role_name(int role);

/* Adds the comma-separated names of one --primary to *list (each once;
 * the strings are the caller's to free). NULL, or what is wrong. */
const char *ab_primary_add(char ***list, size_t *n, const char *arg);

/* NULL when name can be a --primary metric (cap: --cap-revenue given),
 * else why not. */
const char *ab_primary_check(const char *name, int cap);

/*
 * Roles, the verdict's test and its p of every row of x; Holm over the
 * primary rows, their adjusted CIs and their power (span_days: from the
 * first to the last entry into the experiment, for the enrollment rate;
 * 0 or NaN if unknown). -1 when out of memory.
 */
int ab_roles_apply(ab_rexp_t *x, const ab_config_t *cfg, double span_days);

/*
 * The same for a segment's rows (exploratory: no family, no Holm, no
 * adjusted CI, no power), with each row's flag: the interval of its test
 * (the always-valid one with --sequential) excludes 0.
 */
void ab_roles_exploratory(ab_rexp_t *x, const ab_config_t *cfg);

/* A primary row whose Holm-adjusted p is below alpha (the always-valid
 * one with --sequential). */
int ab_metric_moved(const ab_rmetric_t *m, double alpha);

/* A guardrail that is significantly higher (error rate, latency: worse):
 * its one-sided test of harm beyond --guardrail-margin, or with
 * --sequential the always-valid p of its test. */
int ab_metric_regressed(const ab_rmetric_t *m, double alpha);

/* The p that ab_metric_moved() or ab_metric_regressed() judges: the
 * primary family's Holm p, a guardrail's one-sided p of harm; with
 * --sequential their always-valid counterparts. */
double ab_verdict_p(const ab_rmetric_t *m);

/* The always-valid p of the row's test (rel_test: relative, else
 * absolute). */
double ab_seq_test_p(const ab_rmetric_t *m);

#endif /* ABSTAT_ROLES_H */
