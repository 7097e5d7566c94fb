/*
 * What keeps a report from claiming the impossible or hiding the
 * fragile: every metric is a non-negative quantity, so no relative
 * effect is below -100%; and a variant whose revenue is mostly one
 * visitor's moves with that visitor alone.
 */

#ifndef ABSTAT_SANITY_H
#define ABSTAT_SANITY_H

#include "stats.h"

/* Default of --max-visitor-share: above it, one visitor's share of a
 * variant's revenue is reported as a concentration (without
 * --cap-revenue). A quarter: past it, removing one visitor moves the
 * variant's revenue per visitor by a third or more. */
#define AB_MAX_VISITOR_SHARE  0.25

/* Raises a relative CI's low end below -1 to -1; 1 if it did. */
int ab_clip_rel(ab_effect_t *e);

#endif /* ABSTAT_SANITY_H */
