/*
 * Snapshots are few (one per deploy that touched the experiments), so
 * lookups are linear.
 */

#include "confhist.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expdef.h"
#include "nginx_conf.h"
#include "timefmt.h"


static int
fail(char *err, size_t errlen, const char *path, unsigned line,
    const char *what)
{
    snprintf(err, errlen, "%s:%u: %s", path, line, what);

    return -1;
}


/* One "TIME<TAB>PATH" line, cut in place. */
static int
read_line(ab_confhist_t *h, char *text, const char *dir, const char *path,
    unsigned line, char *err, size_t errlen)
{
    char            *tab, file[4096], sub[512];
    int64_t          from;
    ab_confsnap_t   *s;

    tab = strchr(text, '\t');
    if (tab == NULL || tab[1] == '\0') {
        return fail(err, errlen, path, line, "expected TIME<TAB>PATH");
    }
    *tab = '\0';

    if (ab_time_parse(text, &from) != 0) {
        return fail(err, errlen, path, line,
                    "bad TIME (ISO 8601 or epoch seconds)");
    }
    if (h->n > 0 && from <= h->snaps[h->n - 1].from) {
        return fail(err, errlen, path, line,
                    "times must increase from line to line");
    }

    snprintf(file, sizeof(file), "%s%s", tab[1] == '/' ? "" : dir, tab + 1);

    s = realloc(h->snaps, (h->n + 1) * sizeof(*s));
    if (s == NULL) {
        return fail(err, errlen, path, line, "out of memory");
    }
    h->snaps = s;
    s = &h->snaps[h->n++];
    memset(s, 0, sizeof(*s));
    s->from = from;

    if (ab_nginx_conf_read(file, &s->defs, &s->ndefs, sub, sizeof(sub)) != 0)
    {
        return fail(err, errlen, path, line, sub);
    }

    return 0;
}


int
ab_confhist_read(const char *path, ab_confhist_t *h, char *err,
    size_t errlen)
{
    FILE        *f;
    char        *text = NULL, dir[4096] = "";
    const char  *slash = strrchr(path, '/');
    size_t       cap = 0;
    ssize_t      len;
    unsigned     line = 0;
    int          rc = 0;

    memset(h, 0, sizeof(*h));

    if (slash != NULL) {
        snprintf(dir, sizeof(dir), "%.*s/", (int) (slash - path), path);
    }

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }

    while (rc == 0 && (len = getline(&text, &cap, f)) >= 0) {
        line++;
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
            text[--len] = '\0';
        }
        if (len == 0 || text[0] == '#') {
            continue;
        }
        rc = read_line(h, text, dir, path, line, err, errlen);
    }

    free(text);
    fclose(f);

    if (rc == 0 && h->n == 0) {
        rc = fail(err, errlen, path, line, "no TIME<TAB>PATH line");
    }
    if (rc != 0) {
        ab_confhist_free(h);
    }

    return rc;
}


const ab_confsnap_t *
ab_confhist_at(const ab_confhist_t *h, int64_t t)
{
    size_t  i = 0;

    while (i + 1 < h->n && h->snaps[i + 1].from <= t) {
        i++;
    }

    return &h->snaps[i];
}


int
ab_confhist_has(const ab_confhist_t *h, const char *name)
{
    size_t  i;

    for (i = 0; i < h->n; i++) {
        if (ab_expdef_find(h->snaps[i].defs, h->snaps[i].ndefs, name)) {
            return 1;
        }
    }

    return 0;
}


/* The share of variant var in d: 0 when d does not list it. */
static double
share(const ab_expdef_t *d, const char *var)
{
    double  total = 0, w = 0;
    size_t  i;

    for (i = 0; i < d->nvars; i++) {
        total += d->weights[i];
        if (strcmp(d->vars[i], var) == 0) {
            w = d->weights[i];
        }
    }

    return total > 0 ? w / total : 0;
}


static int
same_split(const ab_expdef_t *a, const ab_expdef_t *b)
{
    size_t  i;

    for (i = 0; i < a->nvars; i++) {
        if (fabs(share(a, a->vars[i]) - share(b, a->vars[i])) > 1e-12) {
            return 0;
        }
    }
    for (i = 0; i < b->nvars; i++) {
        if (share(a, b->vars[i]) == 0 && share(b, b->vars[i]) != 0) {
            return 0;
        }
    }

    return 1;
}


size_t
ab_confhist_changes(const ab_confhist_t *h, const char *name)
{
    const ab_expdef_t  *prev = NULL, *d;
    size_t              i, n = 0;

    for (i = 0; i < h->n; i++) {
        d = ab_expdef_find(h->snaps[i].defs, h->snaps[i].ndefs, name);
        if (d == NULL) {
            continue;
        }
        n += prev != NULL && !same_split(prev, d);
        prev = d;
    }

    return n;
}


void
ab_confhist_entered(const ab_confhist_t *h, const ab_state_t *st, int e,
    const uint32_t *list, size_t nlist, uint64_t *entered)
{
    const ab_memb_t  *mb;
    size_t            at, n, i;

    memset(entered, 0, h->n * sizeof(*entered));
    n = list ? nlist : st->nmemb;
    for (at = 0; at < n; at++) {
        i = list ? list[at] : at;
        mb = &st->membs[i];
        if (mb->exp == e && mb->var != AB_VAR_MULTI) {
            entered[ab_confhist_at(h, mb->entry) - h->snaps]++;
        }
    }
}


int
ab_confhist_expected(const ab_confhist_t *h, const char *name,
    const uint64_t *entered, const char *const *names, size_t nv,
    double *expected, char *warn, size_t warnlen)
{
    const ab_expdef_t  *d;
    double             *shares;     /* [snapshot][variant]; -1: no exp */
    size_t              i, k, s;
    char                when[40];

    shares = calloc(h->n * nv + 1, sizeof(double));
    if (shares == NULL) {
        return -2;
    }

    for (s = 0; s < h->n; s++) {
        d = ab_expdef_find(h->snaps[s].defs, h->snaps[s].ndefs, name);
        for (i = 0; i < nv; i++) {
            shares[s * nv + i] = d ? share(d, names[i]) : -1;
        }
    }

    /* counts first, then one product per snapshot: the expected split
     * does not depend on the order of the visitors (nor of shards) */
    for (k = 0; k < nv; k++) {
        expected[k] = 0;
    }
    for (s = 0; s < h->n; s++) {
        if (entered[s] == 0) {
            continue;
        }
        if (nv > 0 && shares[s * nv] < 0) {
            ab_time_format(h->snaps[s].from, when, sizeof(when));
            snprintf(warn, warnlen, "the configuration in effect from %s "
                     "(--config-history) has no ab_experiment %s, but "
                     "visitors entered then: SRM not testable", when, name);
            free(shares);
            return -1;
        }
        for (k = 0; k < nv; k++) {
            expected[k] += (double) entered[s] * shares[s * nv + k];
        }
    }

    free(shares);

    return 0;
}


void
ab_confhist_free(ab_confhist_t *h)
{
    size_t  i;

    for (i = 0; i < h->n; i++) {
        ab_expdef_free(h->snaps[i].defs, h->snaps[i].ndefs);
        free(h->snaps[i].defs);
    }
    free(h->snaps);
    memset(h, 0, sizeof(*h));
}
