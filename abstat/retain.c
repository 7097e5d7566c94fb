/*
 * See retain.h. Visitor indices are dense (records, orders and the
 * tables of state.h use them), so forgetting renumbers the rest.
 */

#include "retain.h"

#include <stdlib.h>
#include <string.h>


typedef struct {
    const uint32_t  *map;       /* old visitor index -> new, or AB_NONE */
} renum_t;


/* Only records of forgotten visitors can map to AB_NONE: purchases
 * without order id, which fold.c keeps; the rest is folded already. */
static int
renumber_record(void *ctx, ab_rec_t *rec)
{
    const renum_t  *r = ctx;

    rec->vis = r->map[rec->vis];

    return rec->vis != AB_NONE;
}


int64_t
ab_forget(ab_state_t *st, int64_t before)
{
    uint32_t  *map;
    size_t     v, keep, i;
    renum_t    r;

    if (st->nfold_vis != st->nvis || st->vis_last == NULL) {
        /* not folded right before: nothing is known to be idle */
        return 0;
    }

    for (i = 0; i < st->norders; i++) {
        ab_order_t  *o = &st->orders[i];

        if (o->purchased && o->vis != AB_NONE && o->time > st->vis_last[o->vis])
        {
            st->vis_last[o->vis] = o->time;
        }
    }

    map = malloc((st->nvis + 1) * sizeof(*map));
    if (map == NULL) {
        return -1;
    }
    for (v = 0, keep = 0; v < st->nvis; v++) {
        map[v] = st->heads[v] == AB_NONE && st->vis_last[v] < before
                 ? AB_NONE : (uint32_t) keep++;
    }
    if (keep == st->nvis) {
        free(map);
        return 0;
    }

    r.map = map;
    if (ab_state_filter_records(st, renumber_record, &r) != 0) {
        /* a half-renumbered state must not be saved: the caller fails */
        free(map);
        st->oom = 1;
        return -1;
    }
    ab_tab_renumber(&st->visitors, map);
    /* made again from the table if a tie asks (state.c) */
    free(st->tie_keys);
    st->tie_keys = NULL;
    st->captie = 0;

    for (v = 0; v < st->nvis; v++) {
        if (map[v] != AB_NONE) {
            st->heads[map[v]] = st->heads[v];
            st->vis_fold_events[map[v]] = st->vis_fold_events[v];
            st->vis_last[map[v]] = st->vis_last[v];
        }
    }
    for (i = 0; i < st->norders; i++) {
        if (st->orders[i].purchased && st->orders[i].vis != AB_NONE) {
            st->orders[i].vis = map[st->orders[i].vis];
        }
    }

    free(map);
    v = st->nvis - keep;
    st->nvis = st->nfold_vis = keep;
    st->forgotten += v;

    return (int64_t) v;
}
