/*
 * The confidence sequences against GrowthBook's published sequential
 * test vectors (gbstats tests/frequentist/test_tests.py, class
 * TestSequentialTTest, printed to 5 decimals; TestSequentialOneSided-
 * GreaterTTest, printed in full) and the duality of the interval and the
 * always-valid p-value.
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


typedef double (*width_fn)(double var, double n, double alpha, double tuning);
typedef double (*p_fn)(double effect, double var, double n, double alpha,
    double tuning);


/* At the sequence's edge the p-value is alpha, inside it above, and
 * outside below (beyond, on the side it tests: far, the side of the
 * one-sided bound): the verdict is the same whichever is read. */
static void
duality(const char *what, width_fn hwf, p_fn pf, double far, double amax)
{
    double  var = 0.0123, n = 4321, a, hw, p;
    int     ok = 1;

    for (a = 0.01; a < amax; a += 0.04) {
        hw = hwf(var, n, a, 5000);
        p = pf(hw, var, n, a, 5000);
        ok &= fabs(p - a) < 1e-12 * a;
        ok &= pf(hw * 0.999, var, n, a, 5000) > a;
        ok &= pf(far * hw * 1.001, var, n, a, 5000) < a;
    }
    tap_ok(ok, "%s duality: p = alpha exactly at the edge", what);

    p = pf(1e3, 1e-6, 1e6, 0.05, 5000);
    tap_ok(p == 0 || (p > 0 && p < 1e-300), "%s huge z: p is 0, not NaN",
           what);
}


static void
test_duality(void)
{
    duality("two-sided", ab_seq_halfwidth, ab_seq_p, -1, 0.3);
    duality("one-sided", ab_seq_halfwidth_greater, ab_seq_p_greater, 1, 0.45);
}


static double lower_at(double v, double n, double alpha, double a);
static double gbstats_bisect(double effect, double v, double n);


/*
 * gbstats' one-sided sequential test ("treatment greater") of the same
 * pair at its defaults (alpha 0.05, N* 5000). gbstats finds the p-value
 * by bisection on the level until the bound is within 1e-6 of 0, and
 * reports 0.4999 where no level below it rejects; abstat solves for the
 * level (sequential.c), so its p must put the bound at 0, and bisection
 * as gbstats does it on the same bound reproduces gbstats' p to the last digit.
 */
static void
test_one_sided_vector(void)
{
    ab_estimate_t  t, c;
    ab_effect_t    e;
    double         n = 3000 + 3461, v, rv, hw, p;

    mean_pair(&t, &c);
    e = ab_compare(&t, &c, 0.05);
    v = t.var + c.var;
    rv = ab_rel_var(&t, &c);

    tap_close(sqrt(v), 0.12983081254184736, 1e-15, "one-sided: abs stddev");
    tap_close(sqrt(rv), 0.3334122146400735, 1e-15, "one-sided: rel stddev");

    hw = ab_seq_halfwidth_greater(v, n, 0.05, 5000);
    tap_close(e.abs_effect - hw, -0.12656844172804982, 1e-15,
              "one-sided: absolute lower bound");
    hw = ab_seq_halfwidth_greater(rv, n, 0.05, 5000);
    tap_close(e.rel_effect - hw, -0.42356454602790883, 1e-15,
              "one-sided: relative lower bound");

    /* the level at which the bound reaches 0, rho held at 2 alpha */
    p = ab_seq_p_greater(e.abs_effect, v, n, 0.05, 5000);
    tap_close(p, 0.46316491943359384, 2e-4, "one-sided: absolute p");
    tap_ok(fabs(e.abs_effect - lower_at(v, n, 0.05, p)) < 1e-12,
           "one-sided: the bound is 0 at abstat's p");
    tap_ok(gbstats_bisect(e.abs_effect, v, n) == 0.46316491943359384,
           "one-sided: gbstats' bisection on this bound gives its p");
    tap_close(lower_at(v, n, 0.05, 0.05),
              ab_seq_halfwidth_greater(v, n, 0.05, 5000), 1e-15,
              "one-sided: the test's bound is abstat's at alpha");

    p = ab_seq_p_greater(e.rel_effect, rv, n, 0.05, 5000);
    tap_ok(p >= 0.4999, "one-sided: relative p not below gbstats' 0.4999");

    tap_ok(ab_seq_p_greater(-0.1, v, n, 0.05, 5000) == 1
           && ab_seq_p_greater(0, v, n, 0.05, 5000) == 1,
           "one-sided: an effect <= 0 has p 1");
    tap_ok(isnan(ab_seq_p_greater(0.1, v, n, 0.5, 5000))
           && isnan(ab_seq_halfwidth_greater(v, n, 0.6, 5000)),
           "one-sided: undefined at alpha >= 0.5");
}


/* The distance below the estimate of the one-sided bound at level a,
 * rho tuned at 2 alpha: the formula of sequential.c written anew. */
static double
lower_at(double v, double n, double alpha, double a)
{
    double  l = -2 * log(2 * alpha);
    double  rho2 = (l + log(l + 1)) / 5000, r = n * rho2 + 1;

    return sqrt(v * n * 2 * r / (n * n * rho2) * log(1 + sqrt(r) / (2 * a)));
}


/* gbstats' search: levels 1e-5 to 0.4999 halved until the bound is
 * within 1e-6 of 0; it returns the midpoint that follows that step. */
static double
gbstats_bisect(double effect, double v, double n)
{
    double  lo = 1e-5, hi = 0.4999, a = 0.5 * (lo + hi), d;
    int     i;

    for (i = 0; i < 100; i++) {
        d = effect - lower_at(v, n, 0.05, a);
        if (d < 0) {
            lo = a;
        } else {
            hi = a;
        }
        a = 0.5 * (lo + hi);
        if (fabs(d) < 1e-6) {
            break;
        }
    }

    return a;
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
    test_one_sided_vector();
    test_undefined();

    return tap_done();
}
