/*
 * wide.h's exact sums. Without arguments, TAP: the 64-bit fast path of a
 * product against the general one, sums that cancel exactly, 2^255 by
 * doubling in decimal, and products of sums against repeated addition.
 * With --vectors, cases for t/unit-wide.t to check against Perl's
 * Math::BigInt, one per line,
 *   x1,y1;x2,y2;... SUM_XY SUM_X SUM_X*SUM_XY SUM_X-SUM_XY LD(SUM_XY)
 * with values from splitmix64 at widths from 8 to 126 bits, signed, so
 * that both the 64-bit fast path and the slow one are taken, and sums
 * that carry across every limb.
 */

#include "tap.h"

#include "wide.h"

static uint64_t  seed = 0x5eed5eed5eedULL;

static uint64_t
next(void)
{
    return tap_splitmix64(&seed);
}


/* a value of at most bits bits of magnitude, either sign */
static ab_i128_t
value(unsigned bits)
{
    ab_u128_t  u = ((ab_u128_t) next() << 64) | next();

    u >>= 128 - bits;
    return (next() & 1) ? -(ab_i128_t) u : (ab_i128_t) u;
}


static void
put128(ab_i128_t v)
{
    ab_w256_t  w = { { 0, 0, 0, 0 } };
    ab_wide_t  x;
    char       buf[240];

    ab_w256_add_i128(&w, v);
    x = ab_wide_of(&w);
    fputs(ab_wide_str(&x, buf), stdout);
}


/* The self-checks of wide.h's arithmetic. */
static int
self_check(void)
{
    ab_w256_t  fast, slow, w;
    ab_wide_t  a, b, sum, prod;
    char       buf[240];
    size_t     i, k;
    int        same = 1, zero = 1, mul = 1;

    for (i = 0; i < 2000; i++) {
        ab_i128_t  x = value(63), y = value(63);

        memset(&fast, 0, sizeof(fast));
        memset(&slow, 0, sizeof(slow));
        ab_w256_add_prod(&fast, x, y);
        ab_w256_add_prod_slow(&slow, x, y);
        same &= memcmp(&fast, &slow, sizeof(fast)) == 0;

        /* x y + (-x) y cancels to exactly 0 */
        ab_w256_add_prod_slow(&slow, -x, y);
        zero &= ab_w256_zero(&slow);
    }
    tap_ok(same, "2000 products of 63-bit values: fast path = general one");
    tap_ok(zero, "x y + (-x) y is exactly 0, 2000 times");

    /* 2^255 - 1 would be the largest 256-bit value; 2^255 in 768 bits */
    memset(&w, 0, sizeof(w));
    ab_w256_add_i128(&w, 1);
    a = ab_wide_of(&w);
    for (i = 0; i < 255; i++) {
        a = ab_wide_add(&a, &a);
    }
    tap_ok(strcmp(ab_wide_str(&a, buf), "5789604461865809771178549250434395"
                  "3926634992332820282019728792003956564819968") == 0,
           "2^255 by doubling: %s", buf);
    b = ab_wide_sub(&a, &a);
    tap_ok(ab_wide_sign(&b) == 0 && ab_wide_sign(&a) == 1,
           "2^255 - 2^255 = 0, 2^255 > 0");

    for (i = 0; i < 50; i++) {
        ab_i128_t  x = value(120);

        memset(&w, 0, sizeof(w));
        ab_w256_add_i128(&w, x);
        a = ab_wide_of(&w);
        k = next() % 40;
        b = ab_wide_of_i64((int64_t) k);
        prod = ab_wide_mul(&a, &b);
        memset(&sum, 0, sizeof(sum));
        for (; k > 0; k--) {
            sum = ab_wide_add(&sum, &a);
        }
        mul &= memcmp(&sum, &prod, sizeof(sum)) == 0;
    }
    tap_ok(mul, "x k = x + ... + x for 50 signed 120-bit x, k below 40");

    return tap_done();
}


int
main(int argc, char **argv)
{
    static const unsigned  widths[] = { 8, 40, 63, 64, 65, 92, 120, 126 };
    size_t     c, i, n;
    char       b1[240], b2[240], b3[240], b4[240];

    if (argc < 2 || strcmp(argv[1], "--vectors") != 0) {
        return self_check();
    }

    for (c = 0; c < 64; c++) {
        ab_w256_t  sxy = { { 0, 0, 0, 0 } }, sx = { { 0, 0, 0, 0 } };
        ab_wide_t  wxy, wx, prod, diff;
        unsigned   bx = widths[c % 8], by = widths[(c / 8) % 8];

        n = 1 + next() % 200;
        for (i = 0; i < n; i++) {
            ab_i128_t  x = value(bx), y = value(by);

            printf("%s", i ? ";" : "");
            put128(x);
            putchar(',');
            put128(y);
            ab_w256_add_prod(&sxy, x, y);
            ab_w256_add_i128(&sx, x);
        }
        wxy = ab_wide_of(&sxy);
        wx = ab_wide_of(&sx);
        prod = ab_wide_mul(&wx, &wxy);
        diff = ab_wide_sub(&wx, &wxy);
        printf(" %s %s %s %s %.21Le %d\n", ab_wide_str(&wxy, b1),
               ab_wide_str(&wx, b2), ab_wide_str(&prod, b3),
               ab_wide_str(&diff, b4), ab_w256_ld(&sxy),
               ab_wide_sign(&wxy));
    }

    return 0;
}
