/*
 * The trend series (--bucket) in two halves, so that it can be made from
 * shards (issue 18):
 *
 *   ab_trend_sums()       what one set of visitors adds to each (bucket,
 *                         variant): entries, counted orders, first orders,
 *                         revenue and the change of the sum of squares of
 *                         each visitor's cumulative revenue, all integers;
 *   ab_trend_sums_add()   the sums of two disjoint sets of visitors, which
 *                         are those of their union, whatever the grouping;
 *   ab_trend_from_sums()  the series from the sums: prefix sums in time,
 *                         then the estimates, lifts and sequences, the
 *                         only floating point.
 *
 * A visitor's lines must all be in one set (a shard holds all of its
 * visitors' lines): its revenue before a bucket is what makes that
 * bucket's change of the sum of squares.
 */

#ifndef ABSTAT_TREND_H
#define ABSTAT_TREND_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "wide.h"

/*
 * One (bucket, variant) with at least one entry or counted order. Every
 * field is 64-bit words, no padding (AB_TREND_CELL_WORDS in all), so
 * that the cells are written and read as an array of integers.
 */
typedef struct {
    int64_t     start;          /* bucket start, us (ab_time_bucket) */
    uint64_t    variant;        /* the state's variant id in the
                                   experiment (st->vars[e]), not the
                                   report's position */
    uint64_t    new_visitors;   /* entries in the bucket */
    uint64_t    orders;         /* counted orders (refunds netted) */
    uint64_t    converters;     /* visitors whose first counted order
                                   is in the bucket */
    ab_money_t  revenue;        /* micro-units, net */
    ab_w256_t   sumsq;          /* sum over visitors of R1^2 - R0^2, R0 and
                                   R1 the visitor's net revenue before
                                   and after the bucket, micro-units */
} ab_trend_cell_t;

#define AB_TREND_CELL_WORDS  11

/* The cells of one experiment, sorted by (start, variant), no key twice:
 * the canonical form, whatever the sets were and however added. */
typedef struct ab_trend_sums_s {
    ab_trend_cell_t  *cells;
    size_t            ncells;
} ab_trend_sums_t;

/* The sums of experiment e's memberships that sel selects (NULL or a NULL
 * list: all of them; a list names each at most once), from p->buys, in
 * buckets of bucket (AB_BUCKET_DAY or AB_BUCKET_HOUR: a partial holds
 * both, whatever cfg->bucket is). Multi-variant memberships and those of
 * other experiments are skipped. -1 when out of memory. */
int ab_trend_sums(const ab_pass_t *p, int e, int bucket, const ab_msel_t *sel,
    ab_trend_sums_t *out);

/* a += b: the sums of two disjoint sets of visitors of one experiment,
 * with the same variant ids. -1 when out of memory (a unchanged). */
int ab_trend_sums_add(ab_trend_sums_t *a, const ab_trend_sums_t *b);

/* Puts s's cells in the order ab_trend_sums_add() reads, (start,
 * variant): after the variants were renumbered (merge). */
void ab_trend_sums_sort(ab_trend_sums_t *s);

/* Whether s is canonical with variant ids below nvars: what
 * ab_trend_from_sums() needs, to check sums read from a file. */
int ab_trend_sums_valid(const ab_trend_sums_t *s, size_t nvars);

void ab_trend_sums_free(ab_trend_sums_t *s);

/* The series into x->trend (x->nvariants variants, report position i
 * being variant id order[i]), as ab_trend() makes it. -1 when out of
 * memory or when s is not valid for x->nvariants. */
int ab_trend_from_sums(const ab_trend_sums_t *s, const int *order,
    const ab_config_t *cfg, ab_rexp_t *x);

#endif /* ABSTAT_TREND_H */
