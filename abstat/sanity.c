/*
 * The relative-CI bound of sanity.h. The delta method's interval is
 * symmetric, so with a wide one it crosses -100%, a value no
 * non-negative metric can take; the high end is left as it is.
 */

#include "sanity.h"


int
ab_clip_rel(ab_effect_t *e)
{
    if (e->rel_lo < -1) {
        e->rel_lo = -1;
        return 1;
    }

    return 0;
}
