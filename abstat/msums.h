/*
 * The sufficient statistics of one variant's visitors: how many, and the
 * exact sums of each visitor's integer values and of every product of
 * two of them. Every metric's mean, variance and covariance (CUPED's
 * included) is a function of these, so the statistics do not depend on
 * the order visitors are added in: a report is the same in one pass, in
 * threads, or added up from the sums of disjoint sets of visitors
 * (shards, issue 18).
 *
 * A visitor's values, in their integer units, after entry and in its
 * history before entry (history.h; zero without CUPED):
 */

#ifndef ABSTAT_MSUMS_H
#define ABSTAT_MSUMS_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "wide.h"

typedef enum {
    AB_MV_CONVERTED,            /* 1 when it ordered at all */
    AB_MV_ORDERS,
    AB_MV_REVENUE,              /* micro-units, refunds subtracted */
    AB_MV_REPEAT,               /* 1 when it ordered twice or more */
    AB_MV_ERRORS,               /* 5xx responses */
    AB_MV_REQUESTS,
    AB_MV_LATENCY,              /* request time, microseconds */
    AB_MV_POST,                 /* the same of its history: + AB_MV_POST */
    AB_MV_N = 2 * AB_MV_POST,
    AB_MV_ONE = AB_MV_N         /* the constant 1: sums are then n */
} ab_mv_t;

/* products i <= j of the AB_MV_N values */
#define AB_MP_N  (AB_MV_N * (AB_MV_N + 1) / 2)

/* A sum: a 128-bit part that takes the additions (one add with carry
 * in the common case) and spills into the 256-bit part only when it
 * would overflow; the sum is the two added. */
typedef struct {
    ab_i128_t   fast;
    ab_w256_t   spill;
} ab_msum_t;

typedef struct {
    uint64_t    n;
    ab_i128_t   top;            /* the largest revenue, micro-units */
    ab_msum_t   s[AB_MV_N];
    ab_msum_t   p[AB_MP_N];
} ab_msums_t;

/* Adds a visitor's totals after entry (post) and before it (pre, or
 * NULL: none) to each of to[0..nto): the sums of every group it is in
 * (its variant's pooled, and one segment per --by dimension). */
void ab_msums_add(ab_msums_t *const *to, size_t nto, const ab_vagg_t *post,
    const ab_vagg_t *pre);

/* a += b */
void ab_msums_merge(ab_msums_t *a, const ab_msums_t *b);

/* The exact sum of value i when it is a count (below 2^64). */
uint64_t ab_msums_count(const ab_msums_t *s, int i);

/* The exact sum of value i, or of i * j; AB_MV_ONE stands for 1. */
ab_wide_t ab_msums_sum(const ab_msums_t *s, int i);
ab_wide_t ab_msums_prod(const ab_msums_t *s, int i, int j);

/* Mean of value i and sample covariance (n - 1) of i and j, from the
 * exact sums; NAN when n is too small. */
long double ab_msums_mean(const ab_msums_t *s, int i);
long double ab_msums_cov(const ab_msums_t *s, int i, int j);

/* The sum of squared residuals of a ratio x / y about the pooled ratio,
 * times sum(y)^2: sum (x sum(y) - y sum(x))^2, exact before the one
 * conversion (0 exactly when every visitor has the same ratio). */
long double ab_msums_ratio_resid(const ab_msums_t *s, int x, int y);

#endif /* ABSTAT_MSUMS_H */
