/*
 * The --state file of abstat map: the read positions of persist.h's
 * ab_incr_t (which file, how far, recognised by its first bytes) and
 * map's own totals, never visitors: those are in the shards. Written to
 * a temporary file beside it, synced and renamed; checksummed.
 *
 *   "ABMAPST\0"  magic, then little-endian 64-bit words:
 *   version (AB_MAPSTATE_VERSION), sizeof(ab_fentry_t), run,
 *   files, lines, bad lines (totals over the runs), the number of file
 *   entries, the entries as this build lays out ab_fentry_t, and the
 *   XXH3_64 of everything before.
 */

#ifndef ABSTAT_MAPSTATE_H
#define ABSTAT_MAPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "persist.h"

#define AB_MAPSTATE_VERSION  1

typedef struct {
    uint64_t  files;
    uint64_t  lines;
    uint64_t  bad_lines;
} ab_map_totals_t;

/* Loads path (missing: a first run, inc->run 0). 0, or -1 with a
 * message in err. */
int ab_mapstate_load(const char *path, ab_incr_t *inc, ab_map_totals_t *t,
    char *err, size_t errlen);

int ab_mapstate_save(const char *path, const ab_incr_t *inc,
    const ab_map_totals_t *t, char *err, size_t errlen);

#endif /* ABSTAT_MAPSTATE_H */
