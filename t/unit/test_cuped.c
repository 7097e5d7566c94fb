/*
 * CUPED (cuped.c) against GrowthBook's published regression-adjusted
 * vectors (gbstats tests/frequentist/test_tests.py), each to every
 * decimal printed there, and against the unadjusted tests of stats.c
 * when there is no history.
 */

#include "tap.h"

#include "ab_dist.h"
#include "cuped.h"

#define NV  AB_CU_NVARS

/* Equal to a published number rounded to 5 decimals, as gbstats' tests
 * compare. */
static void
printed(double got, double want, const char *what)
{
    double  r = round(got * 1e5) / 1e5;
    int     pass = fabs(r - want) < 1e-12;

    tap_ok(pass, "%s: %.5f", what, want);
    if (!pass) {
        tap_diag("got %.17g (rounded %.5f)", got, r);
    }
}


/* A mean metric's moments from gbstats' sums: d = d_pre = 1. */
static ab_cuped_moments_t
mean_sums(double n, double sy, double syy, double sx, double sxx, double sxy)
{
    double  s[NV] = { sy, n, sx, n };
    double  sp[NV][NV] = {
        { syy, sy, sxy, sy },
        { 0, n, sx, n },
        { 0, 0, sxx, sx },
        { 0, 0, 0, n },
    };

    return ab_cuped_from_sums(n, s, sp);
}


/* The standard error behind a CI, as gbstats prints it (uplift stddev). */
static double
se_of(const ab_effect_t *e, double alpha)
{
    return (e->rel_hi - e->rel_lo) / (2 * ab_t_quantile(1 - alpha / 2, e->df));
}


/* test_two_sided_ttest_test_runs_ratio_ra: relative, fixed horizon. */
static void
test_ratio_vector(void)
{
    /* baseline, treatment: sums of m_post, d_post, m_pre, d_pre, and
     * their products, in the order gbstats' arguments name them */
    double  s[2][NV] = {
        { 485.112236689623, 679.9093275844917, 192.59138069991536,
          290.1398399750233 },
        { 514.7757826608777, 705.4090874383759, 206.94157227402536,
          302.54389139107326 },
    };
    double  p[2][NV][NV] = {
        { { 2715.484666118136, 3602.146836776702, 1113.6215759318352,
            1559.2878434944676 },
          { 0, 4939.424001640236, 1460.3181079276983, 2130.9404074446747 },
          { 0, 0, 460.076026390857, 634.239482353647 },
          { 0, 0, 0, 920.9461385038898 } },
        { { 2994.897482705013, 3918.1561431600717, 1237.0953021125997,
            1701.0287270040265 },
          { 0, 5291.36604146392, 1604.0759503266522, 2292.081739775257 },
          { 0, 0, 514.2903702246757, 698.4173425817908 },
          { 0, 0, 0, 994.4506208125663 } },
    };
    ab_cuped_moments_t  a = ab_cuped_from_sums(100, s[0], p[0]);
    ab_cuped_moments_t  b = ab_cuped_from_sums(100, s[1], p[1]);
    double              th = ab_cuped_theta(&b, &a, 1);
    ab_cuped_t          r = ab_cuped_compare(&b, &a, th, 1, 0.05);

    tap_ok(r.adjusted && th > 0, "ratio vector: theta estimated (%.6g)", th);
    printed(r.e.rel_effect, -0.0007, "ratio vector: expected");
    printed(r.e.rel_lo, -0.00841, "ratio vector: CI low");
    printed(r.e.rel_hi, 0.00700, "ratio vector: CI high");
    printed(se_of(&r.e, 0.05), 0.00391, "ratio vector: uplift stddev");
    printed(r.e.rel_p_value, 0.85771, "ratio vector: p");
    tap_ok(r.variance_reduction > 0 && r.variance_reduction < 1,
           "ratio vector: the variance goes down (%.4f)",
           r.variance_reduction);
}


/*
 * test_sequential_test_runs_ra: theta pooled from the pair. Its CI and p
 * are of the sequential test; the estimate and its standard error (the
 * uplift) are the fixed-horizon CUPED ones checked here.
 */
static void
test_mean_vector(void)
{
    ab_cuped_moments_t  a = mean_sums(3000, 1396.87, 52377.9767, 16.87,
                                      527.9767, 1);
    ab_cuped_moments_t  b = mean_sums(3461, 2422.7, 134698.29, 22.7,
                                      1348.29, 1);
    double              th = ab_cuped_theta(&b, &a, 0);
    ab_cuped_t          r = ab_cuped_compare(&b, &a, th, 0, 0.05);

    tap_ok(r.adjusted, "mean vector: theta estimated (%.6g)", th);
    printed(r.e.rel_effect, 0.50338, "mean vector: expected");
    printed(se_of(&r.e, 0.05), 0.33341, "mean vector: uplift stddev");
}


/* Without history CUPED is the unadjusted Welch test of stats.c. */
static void
test_no_history(void)
{
    ab_cuped_moments_t  a = mean_sums(3407, 1396.87, 52377.9767, 0, 0, 0);
    ab_cuped_moments_t  b = mean_sums(3461, 2422.7, 134698.29, 0, 0, 0);
    ab_moments_t        ma = ab_moments_from_sums(3407, 1396.87, 52377.9767);
    ab_moments_t        mb = ab_moments_from_sums(3461, 2422.7, 134698.29);
    ab_estimate_t       ea = ab_mean_estimate(&ma), eb = ab_mean_estimate(&mb);
    ab_effect_t         u = ab_compare(&eb, &ea, 0.05);
    double              th = ab_cuped_theta(&b, &a, 0);
    ab_cuped_t          r = ab_cuped_compare(&b, &a, th, 0, 0.05);

    tap_ok(th == 0 && !r.adjusted, "no history: theta is 0, no adjustment");
    tap_close(r.e.abs_effect, u.abs_effect, 1e-12, "no history: same effect");
    tap_close(r.e.p_value, u.p_value, 1e-12, "no history: same p");
    tap_close(r.e.rel_lo, u.rel_lo, 1e-12, "no history: same relative CI");
    tap_close(r.e.rel_p_value, u.rel_p_value, 1e-12,
              "no history: same relative p");
    tap_ok(r.variance_reduction == 0, "no history: no variance reduction");
}


/* A covariate that explains most of y: theta near the slope, and the
 * accumulator (two passes) agrees with plain sums. */
static void
test_accumulator(void)
{
    ab_cuped_acc_t      acc[2];
    ab_cuped_moments_t  m[2], s[2];
    double              sum[2][NV], sp[2][NV][NV], v[NV];
    int                 g, i, k, l, pass;
    ab_cuped_t          r;

    memset(acc, 0, sizeof(acc));
    memset(sum, 0, sizeof(sum));
    memset(sp, 0, sizeof(sp));

    for (pass = 0; pass < 2; pass++) {
        for (g = 0; g < 2; g++) {
            for (i = 0; i < 200; i++) {
                v[AB_CU_MPRE] = (double) ((i * 37) % 23);
                v[AB_CU_M] = 2 * v[AB_CU_MPRE] + (double) ((i * 11) % 5) + g;
                v[AB_CU_D] = v[AB_CU_DPRE] = 1;
                ab_cuped_acc_add(&acc[g], pass, v, 1);
                for (k = 0; pass == 0 && k < NV; k++) {
                    sum[g][k] += v[k];
                    for (l = k; l < NV; l++) {
                        sp[g][k][l] += v[k] * v[l];
                    }
                }
            }
            if (pass == 0) {
                ab_cuped_acc_centre(&acc[g]);
            }
        }
    }

    for (g = 0; g < 2; g++) {
        m[g] = ab_cuped_acc_moments(&acc[g]);
        s[g] = ab_cuped_from_sums(200, sum[g], sp[g]);
    }
    tap_close(m[1].cov[AB_CU_M][AB_CU_MPRE], s[1].cov[AB_CU_M][AB_CU_MPRE],
              1e-12, "accumulator: covariance as from sums");

    r = ab_cuped_compare(&m[1], &m[0], ab_cuped_theta(&m[1], &m[0], 0), 0,
                         0.05);
    tap_close(r.theta, 2, 0.05, "strong covariate: theta near the slope");
    tap_ok(r.variance_reduction > 0.9, "strong covariate: variance cut %.3f",
           r.variance_reduction);
    tap_ok(r.e.abs_lo < 1 && 1 < r.e.abs_hi && r.e.p_value < 1e-6,
           "strong covariate: CI holds the true effect 1");
}


int
main(void)
{
    test_ratio_vector();
    test_mean_vector();
    test_no_history();
    test_accumulator();

    return tap_done();
}
