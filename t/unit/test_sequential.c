/*
 * The confidence sequences against GrowthBook's published sequential
 * test vectors (gbstats tests/frequentist/test_tests.py, class
 * TestSequentialTTest, printed to 5 decimals) and the duality of the
 * interval and the always-valid p-value.
 */

#include "tap.h"

#include "sequential.h"
#include "stats.h"

/* gbstats' test pair: control 3000 visitors, treatment 3461. */
static void
mean_pair(ab_estimate_t *t, ab_estimate_t *c)
{
    ab_moments_t  mc = ab_moments_from_sums(3000, 1396.87, 52377.9767);
    ab_moments_t  mt = ab_moments_from_sums(3461, 2422.7, 134698.29);

    *c = ab_mean_estimate(&mc);
    *t = ab_mean_estimate(&mt);
}


static void
test_mean_vector(void)
{
    ab_estimate_t  t, c;
    ab_effect_t    e;
    ab_seq_t       s;

    mean_pair(&t, &c);
    e = ab_compare(&t, &c, 0.05);
    s = ab_sequential(&t, &c, &e, 0.05, 1000);

    /* test_sequential_test_runs: N* = 1000 */
    tap_close(e.rel_effect, 0.50336, 5e-6, "mean: relative effect");
    tap_close(s.rel_lo, -0.55844, 5e-6, "mean: sequential relative CI low");
    tap_close(s.rel_hi, 1.56516, 5e-6, "mean: sequential relative CI high");
    tap_ok(s.rel_p_value == 1, "mean: always-valid relative p is 1");
    tap_ok(s.lo < e.abs_lo && s.hi > e.abs_hi,
           "mean: the sequence is wider than the fixed-horizon CI");
}


/* gbstats' ProportionStatistic: variance p(1 - p), without n - 1. */
static ab_estimate_t
proportion(double k, double n)
{
    ab_estimate_t  e;

    e.n = n;
    e.value = k / n;
    e.var = e.value * (1 - e.value) / n;

    return e;
}


static void
test_proportion_vector(void)
{
    ab_estimate_t  c = proportion(1396, 3000), t = proportion(2422, 3461);
    ab_effect_t    e = ab_compare(&t, &c, 0.05);
    ab_seq_t       s = ab_sequential(&t, &c, &e, 0.05,
                                     AB_SEQ_TUNING_DEFAULT);

    /* test_sequential_test_runs_prop: default N* = 5000 */
    tap_close(e.rel_effect, 0.50386, 5e-6, "prop: relative effect");
    tap_close(s.rel_lo, 0.40098, 5e-6, "prop: sequential relative CI low");
    tap_close(s.rel_hi, 0.60675, 5e-6, "prop: sequential relative CI high");
    tap_ok(s.rel_p_value < 5e-6, "prop: always-valid relative p rounds to 0");
    tap_ok(s.p_value < 5e-6, "prop: always-valid absolute p rounds to 0");
}


static void
test_tuning(void)
{
    ab_estimate_t  t, c;
    ab_effect_t    e;
    ab_seq_t       below, near, above;

    /* test_sequential_test_tuning_as_expected: narrowest near N* = n */
    mean_pair(&t, &c);
    e = ab_compare(&t, &c, 0.05);
    below = ab_sequential(&t, &c, &e, 0.05, 10);
    near = ab_sequential(&t, &c, &e, 0.05, 6461);
    above = ab_sequential(&t, &c, &e, 0.05, 10000);

    tap_ok(below.rel_lo < above.rel_lo && below.rel_hi > above.rel_hi,
           "tuning: N* far below n is wider than far above");
    tap_ok(below.rel_lo < near.rel_lo && below.rel_hi > near.rel_hi
           && above.rel_lo < near.rel_lo && above.rel_hi > near.rel_hi,
           "tuning: N* near n is the narrowest");
}


static void
test_duality(void)
{
    double  var = 0.0123, n = 4321, a, hw, p;
    int     ok = 1;

    /* At the sequence's edge the p-value is alpha, inside it above, and
     * outside below: the verdict is the same whichever is read. */
    for (a = 0.01; a < 0.3; a += 0.04) {
        hw = ab_seq_halfwidth(var, n, a, 5000);
        p = ab_seq_p(hw, var, n, a, 5000);
        ok &= fabs(p - a) < 1e-12 * a;
        ok &= ab_seq_p(hw * 0.999, var, n, a, 5000) > a;
        ok &= ab_seq_p(-hw * 1.001, var, n, a, 5000) < a;
    }
    tap_ok(ok, "duality: p = alpha exactly at the half-width");

    p = ab_seq_p(1e3, 1e-6, 1e6, 0.05, 5000);
    tap_ok(p == 0 || (p > 0 && p < 1e-300), "huge z: p is 0, not NaN");
}


static void
test_undefined(void)
{
    ab_estimate_t  t = { 10, 1, 0 }, c = { 10, 1, 0 };
    ab_effect_t    e = ab_compare(&t, &c, 0.05);
    ab_seq_t       s = ab_sequential(&t, &c, &e, 0.05, 5000);

    tap_ok(isnan(s.lo) && isnan(s.hi) && isnan(s.p_value)
           && isnan(s.rel_p_value), "zero variance: undefined");
    tap_ok(isnan(ab_seq_rho(0, 5000)) && isnan(ab_seq_rho(0.05, 0)),
           "alpha 0 or N* 0: no rho");

    c.value = 0;
    c.var = 0.1;
    t.var = 0.1;
    e = ab_compare(&t, &c, 0.05);
    s = ab_sequential(&t, &c, &e, 0.05, 5000);
    tap_ok(!isnan(s.p_value) && isnan(s.rel_lo) && isnan(s.rel_p_value),
           "zero baseline: absolute defined, relative undefined");
}


int
main(void)
{
    test_mean_vector();
    test_proportion_vector();
    test_tuning();
    test_duality();
    test_undefined();

    return tap_done();
}
