/*
 * The exact sums of wide.h: two's complement limb arrays, least
 * significant limb first.
 */

#include "wide.h"

#include <string.h>


static void
limbs_neg(uint64_t *w, size_t n)
{
    size_t  i;
    int     carry = 1;

    for (i = 0; i < n; i++) {
        w[i] = ~w[i] + (uint64_t) carry;
        carry = carry && w[i] == 0;
    }
}


static int
limbs_negative(const uint64_t *w, size_t n)
{
    return (w[n - 1] >> 63) != 0;
}


static long double
limbs_ld(const uint64_t *src, size_t n)
{
    uint64_t     w[AB_WIDE_LIMBS];
    long double  v = 0;
    size_t       i;
    int          neg = limbs_negative(src, n);

    memcpy(w, src, n * sizeof(uint64_t));
    if (neg) {
        limbs_neg(w, n);
    }
    /* from the top: each limb is exact in a 64-bit mantissa, and the
     * sum rounds once per limb that still matters */
    for (i = n; i-- > 0; ) {
        v = v * 18446744073709551616.0L + (long double) w[i];
    }

    return neg ? -v : v;
}


void
ab_w256_add(ab_w256_t *a, const ab_w256_t *b)
{
    ab_u128_t  s = 0;
    size_t     i;

    for (i = 0; i < 4; i++) {
        s = (ab_u128_t) a->w[i] + b->w[i] + (s >> 64);
        a->w[i] = (uint64_t) s;
    }
}


void
ab_w256_add_prod_slow(ab_w256_t *a, ab_i128_t x, ab_i128_t y)
{
    ab_u128_t  ux = x < 0 ? -(ab_u128_t) x : (ab_u128_t) x;
    ab_u128_t  uy = y < 0 ? -(ab_u128_t) y : (ab_u128_t) y;
    uint64_t   x0 = (uint64_t) ux, x1 = (uint64_t) (ux >> 64);
    uint64_t   y0 = (uint64_t) uy, y1 = (uint64_t) (uy >> 64);
    ab_u128_t  p00 = (ab_u128_t) x0 * y0, p01 = (ab_u128_t) x0 * y1;
    ab_u128_t  p10 = (ab_u128_t) x1 * y0, p11 = (ab_u128_t) x1 * y1;
    ab_u128_t  mid, t;
    ab_w256_t  p;

    /* (x1 2^64 + x0)(y1 2^64 + y0), column by column */
    p.w[0] = (uint64_t) p00;
    mid = (p00 >> 64) + (uint64_t) p01 + (uint64_t) p10;
    p.w[1] = (uint64_t) mid;
    t = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + (uint64_t) p11;
    p.w[2] = (uint64_t) t;
    p.w[3] = (uint64_t) (t >> 64) + (uint64_t) (p11 >> 64);

    if ((x < 0) != (y < 0)) {
        limbs_neg(p.w, 4);
    }
    ab_w256_add(a, &p);
}


long double
ab_w256_ld(const ab_w256_t *a)
{
    return limbs_ld(a->w, 4);
}


int
ab_w256_zero(const ab_w256_t *a)
{
    return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}


ab_wide_t
ab_wide_of(const ab_w256_t *a)
{
    ab_wide_t  r;
    uint64_t   ext = limbs_negative(a->w, 4) ? UINT64_MAX : 0;
    size_t     i;

    for (i = 0; i < AB_WIDE_LIMBS; i++) {
        r.w[i] = i < 4 ? a->w[i] : ext;
    }

    return r;
}


ab_wide_t
ab_wide_of_i64(int64_t v)
{
    ab_wide_t  r;
    size_t     i;

    r.w[0] = (uint64_t) v;
    for (i = 1; i < AB_WIDE_LIMBS; i++) {
        r.w[i] = v < 0 ? UINT64_MAX : 0;
    }

    return r;
}


ab_wide_t
ab_wide_mul(const ab_wide_t *a, const ab_wide_t *b)
{
    ab_wide_t  ua = *a, ub = *b, r;
    ab_u128_t  t;
    uint64_t   carry;
    size_t     i, j;
    int        neg = limbs_negative(a->w, AB_WIDE_LIMBS)
                     != limbs_negative(b->w, AB_WIDE_LIMBS);

    if (limbs_negative(ua.w, AB_WIDE_LIMBS)) {
        limbs_neg(ua.w, AB_WIDE_LIMBS);
    }
    if (limbs_negative(ub.w, AB_WIDE_LIMBS)) {
        limbs_neg(ub.w, AB_WIDE_LIMBS);
    }
    memset(&r, 0, sizeof(r));

    for (i = 0; i < AB_WIDE_LIMBS; i++) {
        if (ua.w[i] == 0) {
            continue;
        }
        carry = 0;
        for (j = 0; i + j < AB_WIDE_LIMBS; j++) {
            t = (ab_u128_t) ua.w[i] * ub.w[j] + r.w[i + j] + carry;
            r.w[i + j] = (uint64_t) t;
            carry = (uint64_t) (t >> 64);
        }
    }

    if (neg) {
        limbs_neg(r.w, AB_WIDE_LIMBS);
    }

    return r;
}


ab_wide_t
ab_wide_add(const ab_wide_t *a, const ab_wide_t *b)
{
    ab_wide_t  r;
    ab_u128_t  s = 0;
    size_t     i;

    for (i = 0; i < AB_WIDE_LIMBS; i++) {
        s = (ab_u128_t) a->w[i] + b->w[i] + (s >> 64);
        r.w[i] = (uint64_t) s;
    }

    return r;
}


ab_wide_t
ab_wide_sub(const ab_wide_t *a, const ab_wide_t *b)
{
    ab_wide_t  nb = *b;

    limbs_neg(nb.w, AB_WIDE_LIMBS);

    return ab_wide_add(a, &nb);
}


int
ab_wide_sign(const ab_wide_t *a)
{
    size_t  i;

    if (limbs_negative(a->w, AB_WIDE_LIMBS)) {
        return -1;
    }
    for (i = 0; i < AB_WIDE_LIMBS; i++) {
        if (a->w[i] != 0) {
            return 1;
        }
    }

    return 0;
}


long double
ab_wide_ld(const ab_wide_t *a)
{
    return limbs_ld(a->w, AB_WIDE_LIMBS);
}


char *
ab_wide_str(const ab_wide_t *a, char *buf)
{
    ab_wide_t  u = *a;
    char       tmp[240];
    size_t     n = 0, i, k;
    ab_u128_t  rem;
    int        neg = limbs_negative(u.w, AB_WIDE_LIMBS), any;

    if (neg) {
        limbs_neg(u.w, AB_WIDE_LIMBS);
    }

    /* divide by 10^19 limb by limb: 19 digits at a time */
    do {
        rem = 0;
        any = 0;
        for (i = AB_WIDE_LIMBS; i-- > 0; ) {
            ab_u128_t  cur = (rem << 64) | u.w[i];

            u.w[i] = (uint64_t) (cur / UINT64_C(10000000000000000000));
            rem = cur % UINT64_C(10000000000000000000);
            any |= u.w[i] != 0;
        }
        for (k = 0; k < 19 && (any || rem != 0 || k == 0); k++) {
            tmp[n++] = (char) ('0' + (int) (rem % 10));
            rem /= 10;
        }
    } while (any);

    k = 0;
    if (neg) {
        buf[k++] = '-';
    }
    while (n > 0) {
        buf[k++] = tmp[--n];
    }
    buf[k] = '\0';

    return buf;
}
