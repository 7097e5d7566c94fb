/*
 * See history.h.
 */

#include "history.h"

#include <stdlib.h>

#include "bigmem.h"


int
ab_history_in(int64_t entry, int64_t lookback, int64_t t)
{
    return t < entry && t >= entry - lookback;
}


int
ab_pass_totals(const ab_state_t *st, ab_vagg_t **folded, ab_vagg_t **out)
{
    if (*folded != NULL) {
        if (ab_resize_zero((void **) folded, st->nfold_memb, st->nmemb + 1,
                           sizeof(**folded)) != 0)
        {
            return -1;
        }
        *out = *folded;
        *folded = NULL;
        return 0;
    }

    *out = calloc(st->nmemb + 1, sizeof(**out));
    if (*out == NULL) {
        return -1;
    }
    ab_huge_pages(*out, (st->nmemb + 1) * sizeof(**out));

    return 0;
}


int
ab_history_init(ab_pass_t *p)
{
    if (!p->cfg->cuped) {
        return 0;
    }

    return ab_pass_totals(p->st, &p->st->fold_pre, &p->pre);
}


static ab_vagg_t *
window(ab_pass_t *p, uint32_t m, int64_t t)
{
    if (p->pre == NULL
        || !ab_history_in(p->st->membs[m].entry, p->cfg->cuped_lookback, t))
    {
        return NULL;
    }

    return &p->pre[m];
}


void
ab_history_record(ab_pass_t *p, uint32_t m, const ab_rec_t *rec)
{
    ab_vagg_t  *a = window(p, m, rec->time);
    uint32_t   *slot;
    int         created;

    if (a == NULL) {
        return;
    }
    if (rec->kind != AB_REC_EVENT && rec->kind != AB_REC_EVENT_HISTORY) {
        ab_vagg_add(a, rec);
        return;
    }
    /* a funnel event's covariate: whether the visitor had it before */
    slot = ab_tab_put(p->seen_pre, ab_key_pair(m, rec->arg), &created);
    if (slot == NULL) {
        p->failed = 1;
        return;
    }
    *slot = 1;
}


void
ab_vagg_add(ab_vagg_t *a, const ab_rec_t *rec)
{
    switch (rec->kind) {
    case AB_REC_REQUEST:
    case AB_REC_HISTORY:
        a->requests++;
        a->errors += rec->arg;
        a->request_time += rec->value;
        break;
    case AB_REC_PURCHASE:
        a->orders++;
        a->revenue += rec->value;
        break;
    default:
        /* funnel events: pairs, not totals (ab_history_record) */
        break;
    }
}


void
ab_history_order(ab_pass_t *p, uint32_t m, int64_t t, int64_t net)
{
    ab_vagg_t  *a = window(p, m, t);

    if (a != NULL) {
        a->orders++;
        a->revenue += net;
    }
}
