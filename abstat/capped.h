/*
 * The revenue-capped metrics (--cap-revenue): a visitor's revenue counts
 * up to the cap, a percentile of the experiment's visitor revenues that
 * is known only once every visitor is, so these metrics cannot be summed
 * as a visitor is added (msums.h). What they need is kept instead: the
 * visitors with any order, revenue or history of either, as a histogram
 * of (variant, revenue, orders, and the same before entry) with counts,
 * exact and additive like the sums; every other visitor's capped values
 * are 0 (and 1 for a mean metric's denominator). The statistics are then
 * taken over the histogram in its sorted order, so they do not depend on
 * the order visitors came in either.
 */

#ifndef ABSTAT_CAPPED_H
#define ABSTAT_CAPPED_H

#include <stdint.h>

#include "cuped.h"
#include "state.h"
#include "stats.h"
#include "wide.h"

typedef struct {
    ab_i128_t  rev, prev;       /* micro-units */
    uint32_t   orders, porders;
    uint32_t   var;
    uint64_t   count;
} ab_capbuy_t;

typedef struct {
    ab_capbuy_t  *b;
    size_t        n, cap;
    int           sorted;
} ab_capset_t;

/* Adds a visitor of variant var (pre: its history, or NULL) when it has
 * anything to cap; -1 out of memory. */
int ab_capset_add(ab_capset_t *c, int var, const ab_vagg_t *post,
    const ab_vagg_t *pre);

/* Adds b's entries to a's; -1 out of memory. */
int ab_capset_merge(ab_capset_t *a, const ab_capset_t *b);

/* Sorts and counts equal entries once: before any of the below. */
void ab_capset_finish(ab_capset_t *c);

void ab_capset_free(ab_capset_t *c);

/* The cap: the pct-th percentile (linear interpolation between order
 * statistics, numpy's default) of the non-zero visitor revenues, in
 * money units; NAN when none. */
double ab_capset_percentile(const ab_capset_t *c, double pct);

/* The capped metric (revenue per visitor, or per order for ratio) of
 * variant var's n visitors, with cap cap; its CUPED moments in *cm when
 * cm is not NULL. */
ab_estimate_t ab_capset_estimate(const ab_capset_t *c, int var, uint64_t n,
    int ratio, double cap, ab_cuped_moments_t *cm);

#endif /* ABSTAT_CAPPED_H */
