/*
 * One experiment's sufficient statistics: per cell and variant the sums
 * of msums.h, and per cell the capped metrics' histogram (capped.h).
 * Cell 0 holds all the experiment's visitors; with --by, every segment
 * of every dimension has a cell after it. One pass over the memberships
 * fills them all, each visitor's values taken once: a dimension's
 * segments cost what its sums cost, not another pass of the statistics.
 * The sums of disjoint sets of visitors add (issue 18's partials).
 */

#ifndef ABSTAT_ESUMS_H
#define ABSTAT_ESUMS_H

#include <stddef.h>
#include <stdint.h>

#include "capped.h"
#include "msums.h"
#include "segment.h"

/* Where a membership's segments are: per dimension, the segment of each
 * of its value ids (AB_CELL_NONE: in none) and the cell of segment 0. */
#define AB_CELL_NONE  UINT16_MAX

typedef struct {
    size_t           ndims;
    const uint16_t  *map[AB_BY_MAX];
    size_t           base[AB_BY_MAX];
    size_t           map_n[AB_BY_MAX];  /* segments of each dimension */
    size_t           ncells;
} ab_cellmap_t;

typedef struct {
    size_t        nvars;
    size_t        ncells;
    ab_msums_t   *sums;         /* [cell * nvars + var] */
    ab_capset_t  *caps;         /* [cell]; NULL without --cap-revenue */
} ab_esums_t;

struct ab_pass_s;

/* The sums of experiment e's memberships into es, in the cells cm says
 * (NULL: cell 0 only), with the capped histograms when caps. -1 out of
 * memory. */
int ab_esums_build(const struct ab_pass_s *p, int e, const ab_cellmap_t *cm,
    int caps, ab_esums_t *es);

/* The sums of cm's cells made from sums of finer ones (abstat merge):
 * cell 0 a copy of all's, segment s of dimension d the sum of the cells
 * of values[d] (one per value id) that cm->map[d] maps to s. Capped
 * histograms when all has them. -1 out of memory. */
int ab_esums_pool(const ab_esums_t *all, const ab_esums_t *const *values,
    const ab_cellmap_t *cm, ab_esums_t *es);

void ab_esums_free(ab_esums_t *es);

#endif /* ABSTAT_ESUMS_H */
