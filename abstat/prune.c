/*
 * See prune.h. Memberships are dense indices (the lists of state.h, the
 * folded totals and the pair tables use them) and every list points
 * backwards, which load checks: the kept ones are compacted in order,
 * which keeps both true.
 */

#include "prune.h"

#include <stdlib.h>
#include <string.h>


/* A set of (membership, x) pairs with the memberships renumbered. */
static int
remap_pairs(ab_tab_t *t, const uint32_t *map)
{
    ab_tab_t   out;
    uint32_t  *slot;
    size_t     i;
    int        created;

    memset(&out, 0, sizeof(out));
    if (ab_tab_reserve(&out, t->n) != 0) {
        return -1;
    }
    for (i = 0; i < t->cap; i++) {
        if (t->vals[i] == AB_TAB_EMPTY || map[t->keys[i].lo] == AB_NONE) {
            continue;
        }
        slot = ab_tab_put(&out, ab_key_pair(map[t->keys[i].lo], t->keys[i].hi),
                          &created);
        if (slot == NULL) {
            ab_tab_free(&out);
            return -1;
        }
        *slot = 1;
    }
    ab_tab_free(t);
    *t = out;

    return 0;
}


/* The names without exp, in order, and the variant tables moved down. */
static int
drop_name(ab_state_t *st, int exp)
{
    ab_intern_t  names;
    size_t       i;

    ab_intern_init(&names, AB_MAX_EXPERIMENTS);
    for (i = 0; i < st->exps.n; i++) {
        if ((int) i != exp
            && ab_intern(&names, st->exps.names[i], st->exps.lens[i]) < 0)
        {
            ab_intern_free(&names);
            return -1;
        }
    }
    ab_intern_free(&st->exps);
    st->exps = names;

    ab_intern_free(&st->vars[exp]);
    memmove(&st->vars[exp], &st->vars[exp + 1],
            (st->vars_cap - (size_t) exp - 1) * sizeof(*st->vars));
    ab_intern_init(&st->vars[st->vars_cap - 1], AB_MAX_EXP_VARIANTS);

    return 0;
}


/* The first membership from m on (along the list) that stays. */
static uint32_t
next_kept(const ab_state_t *st, const uint32_t *map, uint32_t m)
{
    while (m != AB_NONE && map[m] == AB_NONE) {
        m = st->membs[m].next;
    }

    return m;
}


long
ab_state_prune(ab_state_t *st, int exp)
{
    uint32_t  *map;
    size_t     m, v, keep, fold_keep;

    map = malloc((st->nmemb + 1) * sizeof(*map));
    if (map == NULL) {
        return -1;
    }
    for (m = 0, keep = 0, fold_keep = 0; m < st->nmemb; m++) {
        map[m] = st->membs[m].exp == exp ? AB_NONE : (uint32_t) keep++;
        fold_keep += m < st->nfold_memb && map[m] != AB_NONE;
    }

    if (remap_pairs(&st->multi, map) != 0
        || remap_pairs(&st->fold_seen, map) != 0
        || remap_pairs(&st->fold_seen_pre, map) != 0
        || drop_name(st, exp) != 0)
    {
        free(map);
        st->oom = 1;
        return -1;
    }

    /* Unlink first, through the removed ones, then compact. */
    for (v = 0; v < st->nvis; v++) {
        st->heads[v] = next_kept(st, map, st->heads[v]);
    }
    for (m = 0; m < st->nmemb; m++) {
        if (map[m] != AB_NONE) {
            st->membs[m].next = next_kept(st, map, st->membs[m].next);
        }
    }
    for (v = 0; v < st->nvis; v++) {
        if (st->heads[v] != AB_NONE) {
            st->heads[v] = map[st->heads[v]];
        }
    }
    for (m = 0; m < st->nmemb; m++) {
        ab_memb_t  mb = st->membs[m];

        if (map[m] == AB_NONE) {
            continue;
        }
        if (mb.next != AB_NONE) {
            mb.next = map[mb.next];
        }
        if (mb.exp > exp) {
            mb.exp--;
        }
        st->membs[map[m]] = mb;
        if (st->nseg > 0) {
            /* map[m] <= m: the ids move down, as the memberships do */
            memmove(st->segs + map[m] * st->nseg, st->segs + m * st->nseg,
                    st->nseg * sizeof(*st->segs));
        }
        if (st->memb_node != NULL) {
            st->memb_node[map[m]] = st->memb_node[m];
        }
        if (m < st->nfold_memb) {
            st->fold_agg[map[m]] = st->fold_agg[m];
            st->fold_ebe[map[m]] = st->fold_ebe[m];
            if (st->fold_pre != NULL) {
                st->fold_pre[map[m]] = st->fold_pre[m];
            }
        }
    }

    free(map);
    m = st->nmemb - keep;
    st->nmemb = keep;
    st->nfold_memb = fold_keep;

    return (long) m;
}
