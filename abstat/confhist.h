/*
 * --config-history FILE: the nginx configurations that were in effect
 * one after another, for an SRM test against the weights each visitor
 * entered under. Each line is TIME<TAB>PATH: the configuration at PATH
 * (read as --nginx-conf reads it) was in effect from TIME on.
 */

#ifndef ABSTAT_CONFHIST_H
#define ABSTAT_CONFHIST_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

typedef struct {
    int64_t        from;        /* us */
    ab_expdef_t   *defs;
    size_t         ndefs;
} ab_confsnap_t;

struct ab_confhist_s {
    ab_confsnap_t  *snaps;      /* by time, strictly increasing */
    size_t          n;
};

/*
 * Reads the history; relative PATHs resolve against the directory of the
 * history file. Returns 0, or -1 with "file:line: what" in err.
 */
int ab_confhist_read(const char *path, ab_confhist_t *h, char *err,
    size_t errlen);

/* The snapshot in effect at t: the last one from at or before t, the
 * first one for earlier times. */
const ab_confsnap_t *ab_confhist_at(const ab_confhist_t *h, int64_t t);

/* Whether any snapshot has experiment name. */
int ab_confhist_has(const ab_confhist_t *h, const char *name);

/* How often the split of experiment name changes from one snapshot to
 * the next (an experiment added or removed is no change). */
size_t ab_confhist_changes(const ab_confhist_t *h, const char *name);

/* The visitors of experiment e of st who entered under each snapshot
 * (entered[h->n]), among the memberships of list (nlist of them; NULL:
 * all, else one segment's), multi-variant ones left out as in the
 * counts. What a partial keeps of the history. */
void ab_confhist_entered(const ab_confhist_t *h, const ab_state_t *st,
    int e, const uint32_t *list, size_t nlist, uint64_t *entered);

/*
 * The expected visitors of each of the nv variants (names, in report
 * order) of experiment name: each visitor who entered under a snapshot
 * (entered, of ab_confhist_entered()) adds that snapshot's shares.
 * Returns -1, saying why in warn, when a visitor entered under a
 * snapshot without the experiment; -2 when out of memory.
 */
int ab_confhist_expected(const ab_confhist_t *h, const char *name,
    const uint64_t *entered, const char *const *names, size_t nv,
    double *expected, char *warn, size_t warnlen);

void ab_confhist_free(ab_confhist_t *h);

#endif /* ABSTAT_CONFHIST_H */
