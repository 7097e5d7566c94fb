/*
 * abstat's t and chi-square functions against scipy's values, written by
 * scripts/abstat-dist-reference into t/data/abstat/dist-vectors.txt.
 */

#include "tap.h"

#include "ab_dist.h"

#define VECTORS  "t/data/abstat/dist-vectors.txt"

int
main(void)
{
    FILE    *f = fopen(VECTORS, "r");
    char     line[256], kind[16];
    double   a, b, want, got;
    int      checked = 0;

    if (!tap_ok(f != NULL, "open %s (run from the repo root)", VECTORS)) {
        return tap_done();
    }

    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#'
            || sscanf(line, "%15s %lf %lf %lf", kind, &a, &b, &want) != 4)
        {
            continue;
        }

        if (strcmp(kind, "t_sf2") == 0) {
            got = ab_t_sf2(a, b);
        } else if (strcmp(kind, "t_cdf") == 0) {
            got = ab_t_cdf(a, b);
        } else if (strcmp(kind, "t_ppf") == 0) {
            got = ab_t_quantile(a, b);
        } else if (strcmp(kind, "chi2_sf") == 0) {
            got = ab_chi2_sf(a, b);
        } else {
            tap_ok(0, "unknown kind %s", kind);
            continue;
        }

        /* Relative to the value itself, however small: p-values of 1e-200
         * must be right in their own digits. */
        {
            double  tol = 1e-10 * fabs(want);
            int     pass = fabs(got - want) <= tol;

            tap_ok(pass, "%s(%g, %g) = %.12g", kind, a, b, want);
            if (!pass) {
                tap_diag("got %.17g, want %.17g, rel err %.3g", got, want,
                         (got - want) / want);
            }
        }
        checked++;
    }

    fclose(f);
    tap_ok(checked > 200, "checked %d vectors", checked);

    tap_ok(ab_t_sf2(0, 10) == 1, "t = 0 has p 1");
    tap_ok(isnan(ab_t_sf2(1, 0)), "df 0 is undefined");
    tap_ok(isnan(ab_t_quantile(1, 10)), "quantile of 1 is undefined");
    tap_ok(ab_chi2_sf(0, 3) == 1, "chi2 0 has p 1");

    return tap_done();
}
