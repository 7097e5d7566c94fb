/*
 * The statistics against GrowthBook's published test vectors (issue 4)
 * and the hand-checkable Holm and SRM examples.
 */

#include "tap.h"

#include "stats.h"

static void
test_welch_mean(void)
{
    ab_moments_t   a = ab_moments_from_sums(3407, 1396.87, 52377.9767);
    ab_moments_t   b = ab_moments_from_sums(3461, 2422.7, 134698.29);
    ab_estimate_t  ea = ab_mean_estimate(&a), eb = ab_mean_estimate(&b);
    ab_effect_t    e = ab_compare(&eb, &ea, 0.05);

    tap_close(e.abs_effect, 0.29, 1e-9, "welch: absolute effect");
    tap_close(e.abs_lo, 0.04538, 1e-4, "welch: absolute CI low");
    tap_close(e.abs_hi, 0.53462, 1e-5, "welch: absolute CI high");
    tap_close(e.p_value, 0.02016, 1e-3, "welch: p");
    tap_close(e.df, 5841.74, 1e-6, "welch: df");
    tap_close(e.rel_effect, 0.70732, 1e-5, "welch: relative effect");
    tap_close(e.rel_lo, -0.03526, 1e-4, "welch: relative CI low");
    tap_close(e.rel_hi, 1.44989, 1e-5, "welch: relative CI high");
    tap_close(e.rel_p_value, 0.06191, 1e-3, "welch: relative p");
}


static void
test_ratio(void)
{
    ab_ratio_moments_t  a = ab_ratio_from_sums(100, 270, 848.79, 510, 810,
                                               -900);
    ab_ratio_moments_t  b = ab_ratio_from_sums(120, 300, 869, 500, 800, -905);
    ab_estimate_t       ea = ab_ratio_estimate(&a), eb = ab_ratio_estimate(&b);
    ab_effect_t         e = ab_compare(&eb, &ea, 0.05);

    tap_close(ea.value, 0.529411765, 1e-9, "ratio: baseline value");
    tap_close(eb.value, 0.6, 1e-12, "ratio: treatment value");
    tap_close(e.df, 217.887, 1e-6, "ratio: df");
    tap_close(e.abs_effect, 0.0705882, 1e-6, "ratio: absolute effect");
    tap_close(e.p_value, 0.587982, 1e-6, "ratio: absolute p");
    tap_close(e.rel_effect, 0.133333333, 1e-9, "ratio: relative effect");
    tap_close(e.rel_p_value, 0.610663339, 1e-9, "ratio: relative p");
    tap_ok(e.abs_lo < e.abs_effect && e.abs_effect < e.abs_hi,
           "ratio: CI brackets the effect");
}


static void
test_undefined(void)
{
    ab_moments_t   a = ab_moments_from_sums(5, 5, 5);
    ab_moments_t   b = ab_moments_from_sums(5, 5, 5);
    ab_moments_t   one = ab_moments_from_sums(1, 3, 9);
    ab_estimate_t  ea = ab_mean_estimate(&a), eb = ab_mean_estimate(&b);
    ab_estimate_t  e1 = ab_mean_estimate(&one);
    ab_effect_t    e = ab_compare(&eb, &ea, 0.05);

    tap_ok(e.abs_effect == 0, "constant: effect is 0");
    tap_ok(isnan(e.p_value) && isnan(e.abs_lo) && isnan(e.df),
           "constant: zero variance leaves p, CI and df undefined");

    e = ab_compare(&e1, &ea, 0.05);
    tap_ok(isnan(e.p_value) && isnan(e.df), "one visitor: p undefined");

    a = ab_moments_from_sums(10, 0, 0);
    ea = ab_mean_estimate(&a);
    e = ab_compare(&eb, &ea, 0.05);
    tap_ok(isnan(e.rel_effect) && isnan(e.rel_p_value),
           "zero baseline: relative effect undefined");
}


static void
test_holm(void)
{
    double  p[] = { .01, .04, .03, .005, .55, .6 };
    double  want[] = { .05, .12, .12, .03, 1, 1 };
    double  adj[6], q[] = { .02, NAN, .01 }, qa[3];
    size_t  i;
    char    what[64];

    ab_holm(p, adj, 6);
    for (i = 0; i < 6; i++) {
        snprintf(what, sizeof(what), "holm[%zu]", i);
        tap_close(adj[i], want[i], 1e-12, what);
    }

    ab_holm(q, qa, 3);
    tap_close(qa[0], .02, 1e-12, "holm: NaN left out of the count");
    tap_ok(isnan(qa[1]), "holm: NaN stays NaN");
    tap_close(qa[2], .02, 1e-12, "holm: smallest times 2");
}


static void
test_srm(void)
{
    double  obs[] = { 5000, 5200 }, w[] = { 50, 50 }, chi2, p;
    double  obs0[] = { 10, 10, 1 }, w0[] = { 1, 1, 0 }, none[] = { 0, 0 };
    size_t  df;

    p = ab_srm(obs, w, 2, &chi2);
    tap_close(chi2, 3.92157, 1e-6, "srm: chi2");
    tap_close(p, 0.047670, 1e-5, "srm: p");

    p = ab_srm(obs0, w0, 3, &chi2);
    tap_ok(p == 0 && isinf(chi2), "srm: visitors in a zero-weight variant");

    /* the module's status page needs the degrees of freedom too */
    p = ab_srm_test(obs, w, 2, &chi2, &df);
    tap_ok(df == 1 && p > 0.04 && p < 0.05, "srm: df of two cells");
    p = ab_srm_test(obs0, w0, 3, &chi2, &df);
    tap_ok(df == 1 && p == 0, "srm: a zero-weight variant is no cell");
    p = ab_srm_test(none, w, 2, &chi2, &df);
    tap_ok(df == 0 && isnan(p) && isnan(chi2), "srm: undefined before data");
    p = ab_srm_test(obs, w, 1, &chi2, &df);
    tap_ok(df == 0 && isnan(p), "srm: undefined for one variant");
}


int
main(void)
{
    test_welch_mean();
    test_ratio();
    test_undefined();
    test_holm();
    test_srm();

    return tap_done();
}
