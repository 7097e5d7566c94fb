/*
 * Cochran's Q (abstat/hetero.c) against statsmodels: the cases of
 * scripts/hetero-reference, read from the file given
 * (t/data/hetero-vectors.tsv), to 1e-12 relative; and the cases it must
 * refuse.
 */

#include "tap.h"

#include "hetero.h"

#define MAXK  16


static size_t
numbers(char *s, double *out)
{
    size_t  n = 0;
    char   *tok;

    for (tok = strtok(s, ","); tok != NULL && n < MAXK; tok = strtok(NULL, ","))
    {
        out[n++] = strtod(tok, NULL);
    }

    return n;
}


int
main(int argc, char **argv)
{
    FILE    *f = argc > 1 ? fopen(argv[1], "r") : NULL;
    char     line[4096], *effs, *vars, *qs, *ps;
    double   e[MAXK], v[MAXK], q, p;
    size_t   n, k, cases = 0;

    if (f == NULL) {
        tap_ok(0, "vectors file given and readable");
        return tap_done();
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        effs = strtok(line, "\t");
        vars = strtok(NULL, "\t");
        qs = strtok(NULL, "\t");
        ps = strtok(NULL, "\t\n");
        if (effs == NULL || vars == NULL || qs == NULL || ps == NULL) {
            continue;
        }
        {
            double  want_q = strtod(qs, NULL), want_p = strtod(ps, NULL);

            n = numbers(effs, e);
            numbers(vars, v);
            p = ab_cochran_q(e, v, n, &q, &k);
            tap_close(q, want_q, 1e-12, "Q as statsmodels'");
            tap_close(p, want_p, 1e-12, "p as statsmodels'");
            tap_ok(k == n, "all %zu segments used", n);
            cases++;
        }
    }
    fclose(f);
    tap_ok(cases >= 4, "%zu reference cases", cases);

    e[0] = 0.1;
    v[0] = 0.01;
    e[1] = NAN;
    v[1] = 0.01;
    e[2] = 0.2;
    v[2] = 0;
    p = ab_cochran_q(e, v, 3, &q, &k);
    tap_ok(isnan(p) && isnan(q) && k == 1,
           "one usable segment (the others undefined, no variance): no test");

    return tap_done();
}
