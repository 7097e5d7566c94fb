/*
 * The settings are checked as the module checks them (ngx_http_ab_
 * experiment.c), so that a configuration nginx refuses is refused here
 * too rather than audited against settings no node can run.
 */

#include "assigndef.h"

#include <stdlib.h>
#include <string.h>

#include "ab_core.h"


static ab_assigndef_t *
assign_of(ab_expdef_t *d)
{
    if (d->assign == NULL && (d->assign = calloc(1, sizeof(*d->assign)))) {
        d->assign->traffic = -1;
        d->assign->version = -1;
    }

    return d->assign;
}


static char *
dup_word(const char *s)
{
    size_t  len = strlen(s);
    char   *p = malloc(len + 1);

    if (p != NULL) {
        memcpy(p, s, len + 1);
    }

    return p;
}


const char *
ab_assigndef_directive(ab_expdef_t *d, char *const *w, size_t nw)
{
    ab_assigndef_t  *a = assign_of(d);
    int64_t          v;
    size_t           len;

    if (a == NULL) {
        return "out of memory";
    }

    len = nw > 1 ? strlen(w[1]) : 0;

    if (strcmp(w[0], "salt") == 0) {
        if (nw != 2 || a->salt != NULL) {
            return "salt takes one value, once";
        }
        if (len == 0 || len > AB_SALT_MAX_LEN) {
            return "salt must be 1 to 256 bytes";
        }
        return (a->salt = dup_word(w[1])) ? NULL : "out of memory";
    }

    if (strcmp(w[0], "traffic") == 0) {
        if (nw != 2 || a->traffic != -1) {
            return "traffic takes one percent, once";
        }
        a->traffic = ab_parse_percent(w[1], len);
        return a->traffic < 0 ? "bad traffic percent" : NULL;
    }

    if (strcmp(w[0], "layer") == 0) {
        if (nw != 3 || a->layer != NULL) {
            return "layer takes a name and a range, once";
        }
        if (!ab_valid_experiment_name(w[1], len)
            || ab_parse_range(w[2], strlen(w[2]), &a->layer_from,
                              &a->layer_to) != 0)
        {
            return "bad layer name or range";
        }
        return (a->layer = dup_word(w[1])) ? NULL : "out of memory";
    }

    if (strcmp(w[0], "sticky") == 0) {
        if (nw != 2 || (strcmp(w[1], "on") != 0 && strcmp(w[1], "off") != 0))
        {
            return "sticky takes on or off";
        }
        a->sticky = strcmp(w[1], "on") == 0;
        return NULL;
    }

    if (strcmp(w[0], "version") == 0) {
        if (nw != 2 || ab_parse_decimal(w[1], len, 9, 0, 0, &v) != 0) {
            return "version takes a whole number";
        }
        a->version = v;
        return NULL;
    }

    return NULL;
}


const char *
ab_assigndef_finish(ab_expdef_t *d)
{
    ab_assigndef_t  *a = assign_of(d);
    uint32_t        *weights;
    size_t           i;

    if (a == NULL || (a->salt == NULL && (a->salt = dup_word(d->name)) == NULL)
        || (a->bounds = calloc(d->nvars + 1, sizeof(uint32_t))) == NULL
        || (weights = calloc(d->nvars + 1, sizeof(uint32_t))) == NULL)
    {
        return "out of memory";
    }

    if (a->traffic == -1) {
        a->traffic = AB_BUCKETS;
    }

    /* the weights as the module keeps them: whole 0.01% units or
     * relative integers, which expdef.c stores exactly */
    for (i = 0; i < d->nvars; i++) {
        weights[i] = (uint32_t) d->weights[i];
    }
    i = (size_t) ab_weights_to_bounds(weights, d->nvars, a->bounds);
    free(weights);

    return i != 0 ? "variant weights sum to zero" : NULL;
}


void
ab_assigndef_holdout(ab_expdef_t *list, size_t n, int32_t holdout)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (list[i].assign != NULL) {
            list[i].assign->holdout = holdout;
        }
    }
}


int
ab_assigndef_expect(const ab_expdef_t *d, const char *uid, size_t len)
{
    const ab_assigndef_t  *a = d->assign;
    uint32_t               b;
    int                    k;

    /* 4. the global holdout */
    if (a->holdout > 0 && ab_holdout_bucket(uid, len) < (uint32_t) a->holdout)
    {
        return AB_EXPECT_HOLDOUT;
    }

    /* 5. the experiment's range of its layer */
    if (a->layer != NULL) {
        b = ab_layer_bucket(a->layer, strlen(a->layer), uid, len);
        if (b < (uint32_t) a->layer_from || b >= (uint32_t) a->layer_to) {
            return AB_EXPECT_LAYER;
        }
    }

    /* 6. traffic, 7. the variant: the module's own ab_assign() */
    k = ab_assign(a->salt, strlen(a->salt), (uint32_t) a->traffic, a->bounds,
                  d->nvars, uid, len);

    return k < 0 ? AB_EXPECT_TRAFFIC : k;
}


void
ab_assigndef_free(ab_assigndef_t *a)
{
    if (a != NULL) {
        free(a->salt);
        free(a->layer);
        free(a->bounds);
        free(a);
    }
}
