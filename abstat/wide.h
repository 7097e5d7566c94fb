/*
 * Exact integer sums for the statistics: a visitor's values are integers
 * (counts, micro-units, microseconds), so sums, sums of squares and of
 * cross products are integers too. Kept exactly they do not depend on the
 * order of the additions: a report made in one pass, in threads, or from
 * the partial sums of many shards adds up to the same bits (issue 18),
 * and variances are taken from them without cancellation.
 *
 *   ab_w256_t  an accumulator, 256-bit two's complement. A visitor's value
 *              is below 2^92 in magnitude (2^32 events of at most 2^60
 *              micro-units), a product below 2^184, and a sum of 2^64
 *              such products stays below 2^248.
 *   ab_wide_t  768 bits, for the few products of sums a variance needs
 *              (n * sum(x^2) - sum(x)^2 and the ratio residuals, of three
 *              sums: below 2^700).
 *
 * Conversions to long double happen once, at the end.
 */

#ifndef ABSTAT_WIDE_H
#define ABSTAT_WIDE_H

#include <stdint.h>

#define AB_WIDE_LIMBS  12

typedef struct {
    uint64_t  w[4];
} ab_w256_t;

typedef struct {
    uint64_t  w[AB_WIDE_LIMBS];
} ab_wide_t;

__extension__ typedef __int128           ab_i128_t;
__extension__ typedef unsigned __int128  ab_u128_t;


/* a += v */
static inline void
ab_w256_add_i128(ab_w256_t *a, ab_i128_t v)
{
    uint64_t   ext = v < 0 ? UINT64_MAX : 0;
    ab_u128_t  lo = (ab_u128_t) a->w[0] + (uint64_t) v;
    ab_u128_t  hi;

    a->w[0] = (uint64_t) lo;
    hi = (ab_u128_t) a->w[1] + (uint64_t) ((ab_u128_t) v >> 64) + (lo >> 64);
    a->w[1] = (uint64_t) hi;
    lo = (ab_u128_t) a->w[2] + ext + (hi >> 64);
    a->w[2] = (uint64_t) lo;
    a->w[3] += ext + (uint64_t) (lo >> 64);
}


/* a += x * y, for |x|, |y| below 2^126 */
void ab_w256_add_prod_slow(ab_w256_t *a, ab_i128_t x, ab_i128_t y);

static inline void
ab_w256_add_prod(ab_w256_t *a, ab_i128_t x, ab_i128_t y)
{
    /* the common case: both fit 64 bits, so the product fits 128 */
    if (x == (int64_t) x && y == (int64_t) y) {
        ab_w256_add_i128(a, x * y);
        return;
    }
    ab_w256_add_prod_slow(a, x, y);
}

/* a += b */
void ab_w256_add(ab_w256_t *a, const ab_w256_t *b);

long double ab_w256_ld(const ab_w256_t *a);

/* Whether a is 0. */
int ab_w256_zero(const ab_w256_t *a);

ab_wide_t ab_wide_of(const ab_w256_t *a);
ab_wide_t ab_wide_of_i64(int64_t v);

/* a * b, a + b, a - b (modulo 2^768: the callers stay far below) */
ab_wide_t ab_wide_mul(const ab_wide_t *a, const ab_wide_t *b);
ab_wide_t ab_wide_add(const ab_wide_t *a, const ab_wide_t *b);
ab_wide_t ab_wide_sub(const ab_wide_t *a, const ab_wide_t *b);

int ab_wide_sign(const ab_wide_t *a);  /* -1, 0, 1 */
long double ab_wide_ld(const ab_wide_t *a);

/* Renders a in decimal into buf (at least 232 bytes): for the partial
 * files and the tests. */
char *ab_wide_str(const ab_wide_t *a, char *buf);

#endif /* ABSTAT_WIDE_H */
