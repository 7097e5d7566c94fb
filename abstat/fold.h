/*
 * Folding (--state): records older than a watermark are credited to the
 * memberships they fall in and dropped, so that the state file keeps per
 * visitor totals instead of one record per line.
 *
 * Why this is exact: an exposure read later is assumed to be at or after
 * the watermark (logs grow in time order, give or take --late seconds).
 * Then the entry of every membership an old record could count for is
 * already known when it is folded, and a membership made later starts
 * after every folded record, which are all "before exposure" for it.
 * Exposures that break the assumption are counted (late_exposures) and
 * reported as a warning.
 */

#ifndef ABSTAT_FOLD_H
#define ABSTAT_FOLD_H

#include <stdint.h>

#include "state.h"

/* Folds the records older than wm (purchases without an order id are
 * kept: the trend needs their times). 0, or -1 when out of memory. */
int ab_fold(ab_state_t *st, int64_t wm);

#endif /* ABSTAT_FOLD_H */
