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
#include "sequential.h"


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
    const ab_estimate_t *c, const ab_guard_counts_t *k, double margin,
    double alpha, double tuning)
{
    double  tv = t->value, cv = c->value, n = t->n + c->n, effect, var;

    m->margin = margin;
    m->p_harm = m->seq_p_harm = NAN;
    m->harm_test = "welch";

    if (isnan(tv) || isnan(cv)) {
        return;
    }

    /* the scale of the test: relative, where the margin is; at a
     * baseline of 0 the absolute difference, a margin of 0 moot */
    if (cv != 0) {
        effect = (tv - cv) / fabs(cv) - margin;
        var = ab_rel_var(t, c);
    } else {
        effect = tv - cv;
        var = t->var + c->var;
    }

    if (!isnan(k->nc) && k->kc == 0 && k->nc > 0 && k->nt > 0) {
        m->harm_test = "fisher-exact";
        m->p_harm = ab_fisher_greater(k->kt, k->nt, k->kc, k->nc);
        /* the always-valid test is asymptotic; with a baseline of no
         * errors it reads the counts as requests (binomial variance),
         * which have a spread where the visitors' shares may not */
        m->seq_p_harm = ab_seq_p_greater(k->kt / k->nt,
                                         k->kt * (k->nt - k->kt)
                                         / (k->nt * k->nt * k->nt),
                                         k->nt + k->nc, alpha, tuning);
        return;
    }

    m->seq_p_harm = ab_seq_p_greater(effect, var, n, alpha, tuning);

    if (var > 0) {
        m->p_harm = upper_tail(effect / sqrt(var), m->e.df);
    }
}


int
ab_guardrail_regressed(const ab_rmetric_t *m, double alpha)
{
    return m->guardrail && m->p_harm < alpha;
}
