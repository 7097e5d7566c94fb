/*
 * --experiment and --baseline against the names that exist. Only on the
 * error path are the names listed, so the lists are built by plain
 * scans.
 */

#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expdef.h"

/* A list of names to print: up to three arrays, duplicates once. */
typedef struct {
    char *const  *v[3];
    size_t        n[3];
} names_t;


static int
in_config(const ab_config_t *cfg, const char *name, size_t len)
{
    return ab_expdef_find_len(cfg->conf, cfg->nconf, name, len) != NULL
           || ab_expdef_find_len(cfg->weights, cfg->nweights, name, len) != NULL;
}


static int
seen_before(const names_t *l, size_t a, size_t i)
{
    size_t  b, j;

    for (b = 0; b <= a; b++) {
        for (j = 0; j < (b == a ? i : l->n[b]); j++) {
            if (strcmp(l->v[b][j], l->v[a][i]) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


/* "a, b, c", or "none" */
static void
say_names(const names_t *l)
{
    size_t  a, i;
    int     any = 0;

    for (a = 0; a < 3; a++) {
        for (i = 0; i < l->n[a]; i++) {
            if (!seen_before(l, a, i)) {
                fprintf(stderr, "%s%s", any ? ", " : "", l->v[a][i]);
                any = 1;
            }
        }
    }
    if (!any) {
        fputs("none", stderr);
    }
}


/* The variants of experiment name as the input and the configuration
 * know them. */
static void
say_variants(const ab_state_t *st, const ab_config_t *cfg, const char *name)
{
    const ab_expdef_t  *c = ab_expdef_find_len(cfg->conf, cfg->nconf, name,
                                     strlen(name));
    const ab_expdef_t  *w = ab_expdef_find_len(cfg->weights, cfg->nweights, name,
                                     strlen(name));
    int                 e = ab_intern_find(&st->exps, name, strlen(name));
    names_t             l;

    memset(&l, 0, sizeof(l));
    if (e >= 0) {
        l.v[0] = st->vars[e].names;
        l.n[0] = st->vars[e].n;
    }
    if (c != NULL) {
        l.v[1] = c->vars;
        l.n[1] = c->nvars;
    }
    if (w != NULL) {
        l.v[2] = w->vars;
        l.n[2] = w->nvars;
    }
    say_names(&l);
}


static int
has_variant(const ab_state_t *st, const ab_config_t *cfg, const char *exp,
    const char *var)
{
    const ab_expdef_t  *d[2];
    size_t              i, k;
    int                 e = ab_intern_find(&st->exps, exp, strlen(exp));

    if (e >= 0 && ab_intern_find(&st->vars[e], var, strlen(var)) >= 0) {
        return 1;
    }
    d[0] = ab_expdef_find_len(cfg->conf, cfg->nconf, exp, strlen(exp));
    d[1] = ab_expdef_find_len(cfg->weights, cfg->nweights, exp, strlen(exp));
    for (k = 0; k < 2; k++) {
        for (i = 0; d[k] != NULL && i < d[k]->nvars; i++) {
            if (strcmp(d[k]->vars[i], var) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


/* Every experiment of st (NULL: none) and the configuration, in turn;
 * NULL past the last. */
static const char *
nth_experiment(const ab_state_t *st, const ab_config_t *cfg, size_t i)
{
    size_t  n = st ? st->exps.n : 0;

    if (i < n) {
        return st->exps.names[i];
    }
    i -= n;
    if (i < cfg->nconf) {
        return cfg->conf[i].name;
    }
    i -= cfg->nconf;

    return i < cfg->nweights ? cfg->weights[i].name : NULL;
}


/* Whether the i-th experiment is named before i already. */
static int
repeated(const ab_state_t *st, const ab_config_t *cfg, size_t i)
{
    const char  *name = nth_experiment(st, cfg, i);
    size_t       j;

    for (j = 0; j < i; j++) {
        if (strcmp(nth_experiment(st, cfg, j), name) == 0) {
            return 1;
        }
    }

    return 0;
}


const char *
ab_names_missing_experiment(const ab_state_t *st, const ab_config_t *cfg)
{
    size_t  i, len;

    for (i = 0; i < cfg->input->nonly; i++) {
        len = strlen(cfg->input->only[i]);
        if (ab_intern_find(&st->exps, cfg->input->only[i], len) < 0
            && !in_config(cfg, cfg->input->only[i], len))
        {
            return cfg->input->only[i];
        }
    }

    return NULL;
}


void
ab_names_say_experiments(const char *name, const ab_state_t *all,
    const ab_config_t *cfg)
{
    const char  *exp;
    size_t       i;
    int          any = 0;

    fprintf(stderr, "abstat: --experiment '%s' is in neither the input nor "
            "the configuration (", name);
    for (i = 0; (exp = nth_experiment(all, cfg, i)) != NULL; i++) {
        if (!repeated(all, cfg, i)) {
            fprintf(stderr, "%s%s", any++ ? ", " : "experiments: ", exp);
        }
    }
    if (all == NULL) {
        fprintf(stderr, "%sstandard input cannot be read again to list its "
                "experiments", any ? "; " : "");
    } else if (!any) {
        fputs("no experiments at all", stderr);
    }
    fputs(")\n", stderr);
}


int
ab_names_check_baseline(const ab_state_t *st, const ab_config_t *cfg)
{
    const char  *b = cfg->baseline, *eq, *exp;
    char        *name;
    size_t       i;
    int          any = 0, rc = -1;

    if (b == NULL) {
        return 0;
    }

    if ((eq = strchr(b, '=')) != NULL) {
        if ((name = strndup(b, (size_t) (eq - b))) == NULL) {
            fprintf(stderr, "abstat: out of memory\n");
            return -1;
        }
        if (ab_intern_find(&st->exps, name, strlen(name)) < 0
            && !in_config(cfg, name, strlen(name)))
        {
            fprintf(stderr, "abstat: --baseline '%s': no experiment '%s' "
                    "in the input or the configuration\n", b, name);
        } else if (has_variant(st, cfg, name, eq + 1)) {
            rc = 0;
        } else {
            fprintf(stderr, "abstat: --baseline '%s': %s has no variant "
                    "'%s' (variants: ", b, name, eq + 1);
            say_variants(st, cfg, name);
            fputs(")\n", stderr);
        }
        free(name);
        return rc;
    }

    for (i = 0; (exp = nth_experiment(st, cfg, i)) != NULL; i++) {
        if (has_variant(st, cfg, exp, b)) {
            return 0;
        }
    }

    fprintf(stderr, "abstat: --baseline '%s': no experiment has a variant "
            "'%s' (", b, b);
    for (i = 0; (exp = nth_experiment(st, cfg, i)) != NULL; i++) {
        if (!repeated(st, cfg, i)) {
            fprintf(stderr, "%s%s: ", any++ ? "; " : "", exp);
            say_variants(st, cfg, exp);
        }
    }
    fprintf(stderr, "%s)\n", any ? "" : "no experiments");

    return -1;
}
