/*
 * abstat/exact.c against scipy's Fisher's exact test and statsmodels'
 * Wilson and Newcombe intervals, written by scripts/abstat-exact-reference
 * into t/data/abstat/exact-vectors.txt; and the rule that picks the
 * exact path.
 */

#include "tap.h"

#include "exact.h"

#define VECTORS  "t/data/abstat/exact-vectors.txt"


/* Relative to the value itself: tail p-values must be right in their
 * own digits; an interval end of 0 within 1e-15. */
static void
check(double got, double want, const char *what, const char *line)
{
    double  tol = 1e-9 * fabs(want) + 1e-15;
    int     pass = fabs(got - want) <= tol;

    tap_ok(pass, "%s: %s", what, line);
    if (!pass) {
        tap_diag("got %.17g, want %.17g", got, want);
    }
}


static int
vectors(void)
{
    FILE    *f = fopen(VECTORS, "r");
    char     line[256], kind[16];
    double   v[8], lo, hi;
    int      n, checked = 0;

    if (!tap_ok(f != NULL, "open %s (run from the repo root)", VECTORS)) {
        return 0;
    }

    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        n = sscanf(line, "%15s %lf %lf %lf %lf %lf %lf %lf", kind, &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
        if (line[0] == '#' || n < 2) {
            continue;
        }

        if (strcmp(kind, "fisher2") == 0 && n == 6) {
            check(ab_fisher_two_sided(v[0], v[1], v[2], v[3]), v[4], "p",
                  line);
        } else if (strcmp(kind, "fisher_gt") == 0 && n == 6) {
            check(ab_fisher_greater(v[0], v[1], v[2], v[3]), v[4], "p", line);
        } else if (strcmp(kind, "wilson") == 0 && n == 6) {
            ab_wilson(v[0], v[1], v[2], &lo, &hi);
            check(lo, v[3], "low", line);
            check(hi, v[4], "high", line);
        } else if (strcmp(kind, "newcomb") == 0 && n == 8) {
            ab_effect_t  e = ab_compare_exact(v[0], v[1], v[2], v[3], v[4]);

            check(e.abs_lo, v[5], "low", line);
            check(e.abs_hi, v[6], "high", line);
        } else {
            tap_ok(0, "unknown line: %s", line);
            continue;
        }
        checked++;
    }

    fclose(f);

    return checked;
}


int
main(void)
{
    ab_effect_t  e;

    tap_ok(vectors() >= 60, "checked the vectors");

    /* The audit's case: Welch gave p = 0.025 here. */
    e = ab_compare_exact(5, 200, 0, 200, 0.05);
    tap_close(e.p_value, 0.060939502408413969, 1e-9, "0/200 vs 5/200: p");
    tap_ok(isnan(e.rel_effect) && isnan(e.rel_p_value),
           "no relative effect against a baseline of 0");
    e = ab_compare_exact(0, 200, 5, 200, 0.05);
    tap_close(e.rel_effect, -1, 1e-15, "5/200 to 0/200 is -100%");
    tap_ok(e.rel_p_value == e.p_value && isnan(e.rel_lo) && isnan(e.rel_hi),
           "relative p is the exact p; no relative CI");
    tap_ok(isnan(e.df), "no df");

    tap_ok(ab_small_counts(4, 1000, 500, 1000), "4 successes are few");
    tap_ok(ab_small_counts(500, 1000, 996, 1000), "4 failures are few");
    tap_ok(!ab_small_counts(5, 1000, 995, 1000), "5 of each are enough");
    tap_ok(isnan(ab_fisher_two_sided(3, 2, 0, 5)), "more successes than n");
    tap_ok(isnan(ab_fisher_greater(0, 0, 0, 5)), "an empty side");

    return tap_done();
}
