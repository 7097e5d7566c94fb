/*
 * The one-sided harm test of guardrail.h. On the relative scale where
 * the baseline is not 0 (the margin is relative, and the headline
 * interval is the relative one), on the absolute scale where it is 0
 * and no counts allow the exact test.
 */

#include "guardrail.h"

#include <math.h>

#include "ab_dist.h"
#include "exact.h"


/* P(T > z) for Welch's df, or NaN when there is no spread to test. */
static double
upper_tail(double z, double df)
{
    if (isnan(z) || isnan(df) || isinf(z)) {
        return NAN;
    }

    return ab_t_cdf(-z, df);
}


void
ab_guardrail_test(ab_rmetric_t *m, const ab_estimate_t *t,
    const ab_estimate_t *c, const ab_guard_counts_t *k, double margin)
{
    double  tv = t->value, cv = c->value, se;

    m->margin = margin;
    m->p_harm = NAN;
    m->harm_test = "welch";

    if (!isnan(k->nc) && k->kc == 0 && k->nc > 0 && k->nt > 0) {
        m->harm_test = "fisher-exact";
        m->p_harm = ab_fisher_greater(k->kt, k->nt, k->kc, k->nc);
        return;
    }

    if (isnan(tv) || isnan(cv)) {
        return;
    }

    if (cv != 0) {
        se = sqrt(t->var / (cv * cv) + c->var * tv * tv / (cv * cv * cv * cv));
        if (se > 0) {
            m->p_harm = upper_tail(((tv - cv) / fabs(cv) - margin) / se,
                                   m->e.df);
        }
        return;
    }

    se = sqrt(t->var + c->var);
    if (se > 0) {
        m->p_harm = upper_tail((tv - cv) / se, m->e.df);
    }
}


int
ab_guardrail_regressed(const ab_rmetric_t *m, double alpha)
{
    return m->guardrail && m->p_harm < alpha;
}
