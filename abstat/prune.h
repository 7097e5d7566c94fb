/*
 * abstat state prune --experiment NAME: an experiment no longer in the
 * configuration leaves the state file, so that its memberships are not
 * carried (and loaded) by every later run. Its visitors stay; those in no
 * other experiment are then never exposed, and --retain forgets them.
 */

#ifndef ABSTAT_PRUNE_H
#define ABSTAT_PRUNE_H

#include "state.h"

/* Removes experiment exp (an id of st->exps) and its memberships; later
 * experiment ids move down by one. Returns the number of memberships
 * removed, or -1 when out of memory (the state must not be saved). */
long ab_state_prune(ab_state_t *st, int exp);

#endif /* ABSTAT_PRUNE_H */
