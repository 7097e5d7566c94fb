/*
 * Roles, the verdict's test, Holm over the primary family and the
 * family's confidence intervals.
 *
 * The intervals follow Holm's steps (Holm 1979), so that each excludes 0
 * exactly when Holm rejects its hypothesis: with m tests ranked by p and
 * r rejected, the hypothesis of rank k <= r gets the interval at level
 * 1 - alpha/(m - k + 1), the level at which Holm rejected it, and every
 * hypothesis not rejected the interval at 1 - alpha/(m - r), the level of
 * the step where Holm stopped. The latter are the intervals Strassburger
 * and Bretz (2008, Statistics in Medicine 27:4914) prove compatible with
 * Holm; for rejected hypotheses they give only the sign of the effect,
 * which says nothing of its size, hence the step levels. docs/abstat.md
 * says what this covers and what it does not.
 */

#include "roles.h"

#include "guardrail.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ab_event.h"
#include "analyze.h"
#include "stats.h"

static const char *const  default_primary[] = { AB_PRIMARY_DEFAULT };


const char *
ab_role_name(int role)
{
    return role == AB_ROLE_PRIMARY ? "primary"
           : role == AB_ROLE_GUARDRAIL ? "guardrail" : "secondary";
}


const char *
ab_primary_check(const char *name, int cap)
{
    const char  *ev;

    if (strncmp(name, "event:", 6) == 0) {
        ev = name + 6;
        if (!ab_event_valid_name(ev, strlen(ev))) {
            return "not an event name ([a-z0-9_]{1,32} after 'event:')";
        }
        if (ab_event_is_order(ev, strlen(ev))) {
            return "an order event, counted in the order metrics, not as "
                   "a funnel event";
        }
        return NULL;
    }

    switch (ab_metric_kind(name)) {
    case AB_METRIC_BUSINESS:
        return NULL;
    case AB_METRIC_CAPPED:
        return cap ? NULL : "reported only with --cap-revenue";
    case AB_METRIC_GUARDRAIL:
        return "a guardrail, tested on its own";
    default:
        return "no such metric (see the Metrics table of abstat(1))";
    }
}


const char *
ab_primary_add(char ***list, size_t *n, const char *arg)
{
    const char  *p = arg, *comma;
    size_t       len, i;
    char       **grown, *name;

    for ( ;; ) {
        comma = strchr(p, ',');
        len = comma ? (size_t) (comma - p) : strlen(p);
        if (len == 0) {
            return "an empty metric name";
        }
        for (i = 0; i < *n; i++) {
            if (strlen((*list)[i]) == len && memcmp((*list)[i], p, len) == 0)
            {
                break;
            }
        }
        if (i == *n) {
            grown = realloc(*list, (*n + 1) * sizeof(char *));
            if (grown == NULL || (name = strndup(p, len)) == NULL) {
                if (grown != NULL) {
                    *list = grown;
                }
                return "out of memory";
            }
            *list = grown;
            (*list)[(*n)++] = name;
        }
        if (comma == NULL) {
            return NULL;
        }
        p = comma + 1;
    }
}


static int
role_of(const ab_config_t *cfg, const ab_rmetric_t *m)
{
    const char *const  *list = cfg->nprimary ? cfg->primary : default_primary;
    size_t              n = cfg->nprimary ? cfg->nprimary : 1, i;

    if (m->guardrail) {
        return AB_ROLE_GUARDRAIL;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(list[i], m->metric) == 0) {
            return AB_ROLE_PRIMARY;
        }
    }

    return AB_ROLE_SECONDARY;
}


/* Holm's rank of p[i] among the defined p (1 = smallest), ties in input
 * order as ab_holm breaks them. */
static size_t
rank_of(const double *p, size_t n, size_t i)
{
    size_t  j, k = 1;

    for (j = 0; j < n; j++) {
        if (j != i && !isnan(p[j])
            && (p[j] < p[i] || (p[j] == p[i] && j < i)))
        {
            k++;
        }
    }

    return k;
}


/* The interval of m's own test at level 1 - gamma. */
static void
adjusted_ci(ab_rmetric_t *m, double gamma)
{
    ab_effect_t  e = ab_compare(&m->t, &m->c, gamma);

    m->adj_level = 1 - gamma;
    m->adj_lo = m->rel_test ? e.rel_lo : e.abs_lo;
    m->adj_hi = m->rel_test ? e.rel_hi : e.abs_hi;
}


/* A row's role and the test its verdict reads, nothing adjusted yet. */
static void
row_test(ab_rmetric_t *m, const ab_config_t *cfg)
{
    m->role = role_of(cfg, m);
    /* the relative effect is the headline wherever it is defined */
    m->rel_test = !isnan(m->e.rel_effect);
    /* CUPED's comparison where it adjusted the row (cuped.h) */
    m->p_test = m->rel_test ? ab_metric_test(m)->rel_p_value
                            : ab_metric_test(m)->p_value;
    m->adj_lo = m->adj_hi = m->adj_level = NAN;
    memset(&m->power, 0, sizeof(m->power));
}


void
ab_roles_exploratory(ab_rexp_t *x, const ab_config_t *cfg)
{
    const ab_effect_t  *e;
    size_t              i;
    double              lo, hi;

    for (i = 0; i < x->nmetrics; i++) {
        ab_rmetric_t  *m = &x->metrics[i];

        row_test(m, cfg);
        m->exploratory = 1;
        m->p_adjusted = NAN;
        m->sequential = cfg->sequential > 0;
        m->seq.p_adjusted = NAN;

        /* the interval of the row's test: the sequence's with
         * --sequential, else the fixed-horizon one (CUPED's where it
         * adjusted the row) */
        e = ab_metric_test(m);
        if (m->sequential) {
            lo = m->rel_test ? m->seq.rel_lo : m->seq.lo;
            hi = m->rel_test ? m->seq.rel_hi : m->seq.hi;
        } else {
            lo = m->rel_test ? e->rel_lo : e->abs_lo;
            hi = m->rel_test ? e->rel_hi : e->abs_hi;
        }
        m->flag = lo > 0 || hi < 0;
    }
    x->nprimary_tests = 0;
}


int
ab_roles_apply(ab_rexp_t *x, const ab_config_t *cfg, double span_days)
{
    size_t   n = x->nmetrics, i, tests = 0, rejected = 0;
    double  *p = calloc(n + 1, sizeof(double));
    double  *adj = calloc(n + 1, sizeof(double));
    double   a = cfg->alpha, per_day;

    if (p == NULL || adj == NULL) {
        free(p);
        free(adj);
        return -1;
    }

    for (i = 0; i < n; i++) {
        ab_rmetric_t  *m = &x->metrics[i];

        row_test(m, cfg);
        p[i] = m->role == AB_ROLE_PRIMARY ? m->p_test : NAN;
        tests += !isnan(p[i]);
    }

    ab_holm(p, adj, n);
    for (i = 0; i < n; i++) {
        x->metrics[i].p_adjusted = adj[i];
        rejected += adj[i] < a;
    }
    x->nprimary_tests = tests;

    for (i = 0; i < n; i++) {
        ab_rmetric_t  *m = &x->metrics[i];

        if (m->role != AB_ROLE_PRIMARY) {
            continue;
        }
        if (!isnan(p[i])) {
            adjusted_ci(m, adj[i] < a
                           ? a / (double) (tests - rank_of(p, n, i) + 1)
                           : a / (double) (tests - rejected));
        }
        /* Bonferroni's level for power: what each test of the family
         * gets at least, whatever the others show */
        per_day = span_days > 0 ? (m->t.n + m->c.n) / span_days : NAN;
        m->power = ab_power(&m->t, &m->c, m->rel_test,
                            tests > 1 ? a / (double) tests : a, cfg->mde,
                            per_day);
    }

    /* the same family for the always-valid p-values of the same test:
     * Holm needs only valid p-values, and at every look these are */
    for (i = 0; i < n; i++) {
        const ab_rmetric_t  *m = &x->metrics[i];

        p[i] = m->role == AB_ROLE_PRIMARY ? ab_seq_test_p(m) : NAN;
    }
    ab_holm(p, adj, n);
    for (i = 0; i < n; i++) {
        x->metrics[i].sequential = cfg->sequential > 0;
        x->metrics[i].seq.p_adjusted = adj[i];
    }

    free(p);
    free(adj);

    return 0;
}


int
ab_metric_moved(const ab_rmetric_t *m, double alpha)
{
    return m->role == AB_ROLE_PRIMARY
           && (m->sequential ? m->seq.p_adjusted : m->p_adjusted) < alpha;
}


double
ab_verdict_p(const ab_rmetric_t *m)
{
    if (m->sequential) {
        return m->guardrail ? m->seq_p_harm : m->seq.p_adjusted;
    }

    return m->guardrail ? m->p_harm : m->p_adjusted;
}


double
ab_seq_test_p(const ab_rmetric_t *m)
{
    return m->rel_test ? m->seq.rel_p_value : m->seq.p_value;
}


int
ab_metric_regressed(const ab_rmetric_t *m, double alpha)
{
    if (m->role != AB_ROLE_GUARDRAIL) {
        return 0;
    }
    /* the one-sided test of harm, with its margin (guardrail.h) */
    return m->sequential ? m->seq_p_harm < alpha
                         : ab_guardrail_regressed(m, alpha);
}
