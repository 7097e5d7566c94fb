/*
 * Experiment definitions (variants and weights) as --weights and the
 * nginx configuration give them, with the module's own weight rules:
 * all percents summing to 100%, or all relative integers.
 */

#ifndef ABSTAT_EXPDEF_H
#define ABSTAT_EXPDEF_H

#include <stddef.h>

#include "report.h"

/* Adds a definition named name (len bytes); NULL when out of memory. */
ab_expdef_t *ab_expdef_new(ab_expdef_t **list, size_t *n, const char *name,
    size_t len);

/* Adds variant var with weight text w. Returns NULL or an error. */
const char *ab_expdef_variant(ab_expdef_t *d, const char *var, size_t vlen,
    const char *w, size_t wlen);

/* Checks the weights as a whole. Returns NULL or an error. */
const char *ab_expdef_check(const ab_expdef_t *d);

/*
 * Parses --weights EXP=VAR:W,VAR:W into the list. Returns NULL or an
 * error message.
 */
const char *ab_expdef_parse_weights(ab_expdef_t **list, size_t *n,
    const char *spec);

ab_expdef_t *ab_expdef_find(ab_expdef_t *list, size_t n, const char *name);

/* The same for a name that is not NUL-terminated (a log's, len bytes). */
const ab_expdef_t *ab_expdef_find_len(const ab_expdef_t *list, size_t n,
    const char *name, size_t len);

void ab_expdef_free(ab_expdef_t *list, size_t n);

#endif /* ABSTAT_EXPDEF_H */
