/*
 * Variant lists grow one at a time; experiments have at most
 * AB_MAX_VARIANTS variants, so linear searches are fine.
 */

#include "expdef.h"

#include <stdlib.h>
#include <string.h>

#include "ab_core.h"
#include "assigndef.h"


static char *
dup_n(const char *s, size_t len)
{
    char  *p = malloc(len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }

    return p;
}


ab_expdef_t *
ab_expdef_find(ab_expdef_t *list, size_t n, const char *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(list[i].name, name) == 0) {
            return &list[i];
        }
    }

    return NULL;
}


const ab_expdef_t *
ab_expdef_find_len(const ab_expdef_t *list, size_t n, const char *name,
    size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strlen(list[i].name) == len && memcmp(list[i].name, name, len) == 0)
        {
            return &list[i];
        }
    }

    return NULL;
}


ab_expdef_t *
ab_expdef_new(ab_expdef_t **list, size_t *n, const char *name, size_t len)
{
    ab_expdef_t  *l = realloc(*list, (*n + 1) * sizeof(**list));

    if (l == NULL) {
        return NULL;
    }
    *list = l;

    memset(&l[*n], 0, sizeof(l[*n]));
    if ((l[*n].name = dup_n(name, len)) == NULL) {
        return NULL;
    }

    return &l[(*n)++];
}


const char *
ab_expdef_variant(ab_expdef_t *d, const char *var, size_t vlen,
    const char *w, size_t wlen)
{
    ab_weight_kind_t  kind;
    int64_t           v;
    size_t            i;
    char            **vars;
    double           *ws;

    if (!ab_valid_variant_name(var, vlen)) {
        return "bad variant name";
    }

    for (i = 0; i < d->nvars; i++) {
        if (strlen(d->vars[i]) == vlen && memcmp(d->vars[i], var, vlen) == 0) {
            return "variant listed twice";
        }
    }

    if (d->nvars >= AB_MAX_VARIANTS) {
        return "too many variants";
    }

    v = ab_parse_weight(w, wlen, &kind);
    if (v < 0) {
        return "bad weight (a percent like 50% or an integer)";
    }
    if (d->kind != 0 && (int) kind != d->kind) {
        return "weights mix percents and relative integers";
    }
    d->kind = (int) kind;

    vars = realloc(d->vars, (d->nvars + 1) * sizeof(*vars));
    if (vars == NULL) {
        return "out of memory";
    }
    d->vars = vars;
    ws = realloc(d->weights, (d->nvars + 1) * sizeof(*ws));
    if (ws == NULL) {
        return "out of memory";
    }
    d->weights = ws;

    if ((d->vars[d->nvars] = dup_n(var, vlen)) == NULL) {
        return "out of memory";
    }
    d->weights[d->nvars++] = (double) v;

    return NULL;
}


const char *
ab_expdef_check(const ab_expdef_t *d)
{
    double  total = 0;
    size_t  i;

    for (i = 0; i < d->nvars; i++) {
        total += d->weights[i];
    }

    if (d->nvars == 0) {
        return "no variants";
    }
    if (d->kind == AB_WEIGHT_PERCENT && total != 10000) {
        return "percent weights do not sum to 100%";
    }
    if (total <= 0) {
        return "weights sum to zero";
    }

    return NULL;
}


const char *
ab_expdef_parse_weights(ab_expdef_t **list, size_t *n, const char *spec)
{
    const char   *eq = strchr(spec, '='), *p, *end, *comma, *colon, *err;
    ab_expdef_t  *d;

    if (eq == NULL || !ab_valid_experiment_name(spec, (size_t) (eq - spec))) {
        return "expected EXP=VAR:W,VAR:W";
    }

    d = ab_expdef_new(list, n, spec, (size_t) (eq - spec));
    if (d == NULL) {
        return "out of memory";
    }

    /* A later --weights for the same experiment replaces an earlier one. */
    {
        ab_expdef_t  *old = ab_expdef_find(*list, *n - 1, d->name);

        if (old != NULL) {
            ab_expdef_t  tmp = *old;

            *old = *d;
            *d = tmp;
            ab_expdef_free(d, 1);
            (*n)--;
            d = old;
        }
    }

    end = spec + strlen(spec);
    for (p = eq + 1; p <= end; p = comma + 1) {
        comma = memchr(p, ',', (size_t) (end - p));
        comma = comma ? comma : end;
        colon = memchr(p, ':', (size_t) (comma - p));
        if (colon == NULL) {
            return "expected VAR:WEIGHT";
        }
        err = ab_expdef_variant(d, p, (size_t) (colon - p), colon + 1,
                                (size_t) (comma - colon - 1));
        if (err != NULL) {
            return err;
        }
    }

    return ab_expdef_check(d);
}


void
ab_expdef_free(ab_expdef_t *list, size_t n)
{
    size_t  i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < list[i].nvars; j++) {
            free(list[i].vars[j]);
        }
        free(list[i].vars);
        free(list[i].weights);
        free(list[i].name);
        ab_assigndef_free(list[i].assign);
        list[i].assign = NULL;
        list[i].vars = NULL;
        list[i].weights = NULL;
        list[i].name = NULL;
    }
}
