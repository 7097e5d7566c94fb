/*
 * Guardrails (error rate, latency: higher is worse) are tested for harm
 * only: one-sided, against a non-inferiority margin (--guardrail-margin).
 * A regression is a guardrail significantly higher than the baseline by
 * more than the margin; alerts (--fail-on guardrail) and the verdicts of
 * every renderer ask ab_guardrail_regressed, so they agree.
 */

#ifndef ABSTAT_GUARDRAIL_H
#define ABSTAT_GUARDRAIL_H

#include "report.h"

/* Counts behind a share-like guardrail (errors of requests); NaN sizes
 * for one that is not (latency). */
typedef struct {
    double  kt, nt;             /* treatment: errors, requests */
    double  kc, nc;             /* baseline */
} ab_guard_counts_t;

/*
 * Sets m->p_harm, m->harm_test and m->margin from the estimates behind
 * m->e. margin is relative (0.02: 2% worse is still acceptable). With a
 * margin, H0 is "treatment <= baseline * (1 + margin)". A share whose
 * baseline is 0 (no errors: no variance, so Welch's test has nothing to
 * stand on) is tested exactly: Fisher's one-sided test on the counts,
 * where the margin is moot (a share of 0, widened, is 0).
 *
 * Beside it m->seq_p_harm, the always-valid p of the same hypothesis:
 * the one-sided confidence sequence of sequential.h at level alpha,
 * tuned at N* = tuning, on the scale of the test.
 */
void ab_guardrail_test(ab_rmetric_t *m, const ab_estimate_t *t,
    const ab_estimate_t *c, const ab_guard_counts_t *k, double margin,
    double alpha, double tuning);

int ab_guardrail_regressed(const ab_rmetric_t *m, double alpha);

#endif /* ABSTAT_GUARDRAIL_H */
