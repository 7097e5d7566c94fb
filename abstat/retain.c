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


static int
rebuild_visitors(ab_state_t *st, const uint32_t *map, size_t keep)
{
    ab_tab_t   t;
    uint32_t  *slot;
    size_t     i;
    int        created;

    memset(&t, 0, sizeof(t));
    if (ab_tab_reserve(&t, keep) != 0) {
        return -1;
    }
    for (i = 0; i < st->visitors.cap; i++) {
        uint32_t  v = st->visitors.vals[i];

        if (v == AB_TAB_EMPTY || map[v] == AB_NONE) {
            continue;
        }
        if ((slot = ab_tab_put(&t, st->visitors.keys[i], &created)) == NULL) {
            ab_tab_free(&t);
            return -1;
        }
        *slot = map[v];
    }
    ab_tab_free(&st->visitors);
    st->visitors = t;

    return 0;
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
    if (rebuild_visitors(st, map, keep) != 0
        || ab_state_filter_records(st, renumber_record, &r) != 0)
    {
        /* a half-renumbered state must not be saved: the caller fails */
        free(map);
        st->oom = 1;
        return -1;
    }

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
