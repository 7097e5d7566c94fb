/*
 * Retention (--state --retain): a visitor never exposed to any experiment
 * matters to a report only through what it did before a later exposure
 * (events_before_exposure, the one input counter that reads pre-entry
 * history; no metric does). Such a visitor idle for longer than the
 * retention is forgotten: its id, its folded totals and its records go,
 * its orders stay (deduplication and refunds need them) without it. If
 * it comes back it is a new visitor, with no history before its entry.
 */

#ifndef ABSTAT_RETAIN_H
#define ABSTAT_RETAIN_H

#include <stdint.h>

#include "state.h"

#define AB_RETAIN_DEFAULT  (28 * 86400.0)      /* seconds: four weeks */

/* Forgets the visitors never exposed whose latest record or order is
 * before `before` (us). Call it right after ab_fold(). Returns the
 * number forgotten, or -1 when out of memory (then the state is half
 * renumbered and must not be saved). */
int64_t ab_forget(ab_state_t *st, int64_t before);

#endif /* ABSTAT_RETAIN_H */
