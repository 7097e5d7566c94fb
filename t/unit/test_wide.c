/*
 * wide.h's exact sums, checked against Perl's Math::BigInt by
 * t/unit-wide.t: this prints cases, one per line,
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


int
main(int argc, char **argv)
{
    static const unsigned  widths[] = { 8, 40, 63, 64, 65, 92, 120, 126 };
    size_t     c, i, n;
    char       b1[240], b2[240], b3[240], b4[240];

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

    (void) argc;
    (void) argv;
    return 0;
}
