/*
 * See fold.h for why folding records at a watermark is exact.
 */

#include "fold.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"


typedef struct {
    ab_state_t  *st;
    int64_t      wm;
    int          failed;
} fold_t;


static int
is_event(const ab_rec_t *rec)
{
    return rec->kind == AB_REC_EVENT || rec->kind == AB_REC_EVENT_HISTORY;
}


static void
fold_record(fold_t *f, const ab_rec_t *rec)
{
    ab_state_t       *st = f->st;
    const ab_memb_t  *mb;
    ab_vagg_t        *a;
    uint32_t          m, *slot;
    int               created;

    if (rec->kind == AB_REC_EVENT) {
        st->vis_fold_events[rec->vis]++;
    }

    for (m = st->heads[rec->vis]; m != AB_NONE; m = mb->next) {
        mb = &st->membs[m];

        /* A visitor excluded as multi-variant stays excluded. */
        if (mb->var == AB_VAR_MULTI) {
            continue;
        }

        if (rec->time < mb->entry) {
            if (rec->kind == AB_REC_EVENT) {
                st->fold_ebe[m]++;
            }
            continue;
        }

        a = &st->fold_agg[m];

        if (rec->kind == AB_REC_REQUEST) {
            a->requests++;
            a->errors += rec->arg;
            a->request_time += rec->value;
        } else {
            slot = ab_tab_put(&st->fold_seen, ab_key_pair(m, rec->arg),
                              &created);
            if (slot == NULL) {
                f->failed = 1;
                return;
            }
            *slot = 1;
        }
    }
}


/*
 * A request or event dropped: the history of the memberships it is
 * history of (a request's totals, an event's pair). A membership made
 * later enters at or after the watermark (fold.h), so a record older
 * than the watermark by the lookback is history of none of them; a
 * younger one is kept as AB_REC_HISTORY or AB_REC_EVENT_HISTORY until
 * it is that old.
 */
static void
fold_history(fold_t *f, const ab_rec_t *rec)
{
    ab_state_t       *st = f->st;
    const ab_memb_t  *mb;
    uint32_t          m, *slot;
    int               created, event = is_event(rec);

    for (m = st->heads[rec->vis]; m != AB_NONE; m = mb->next) {
        mb = &st->membs[m];
        if (mb->var == AB_VAR_MULTI
            || !ab_history_in(mb->entry, st->hist_lookback, rec->time))
        {
            continue;
        }
        if (!event) {
            ab_vagg_add(&st->fold_pre[m], rec);
            continue;
        }
        slot = ab_tab_put(&st->fold_seen_pre, ab_key_pair(m, rec->arg),
                          &created);
        if (slot == NULL) {
            f->failed = 1;
            return;
        }
        *slot = 1;
    }
}


/* Keeps a record when it is too recent to fold. */
static int
keep_or_fold(void *ctx, ab_rec_t *rec)
{
    fold_t   *f = ctx;
    int64_t   hist = f->wm - f->st->hist_lookback;
    int       history = rec->kind == AB_REC_HISTORY
                        || rec->kind == AB_REC_EVENT_HISTORY;

    if (rec->time > f->st->vis_last[rec->vis]) {
        f->st->vis_last[rec->vis] = rec->time;
    }

    if (rec->time >= f->wm || rec->kind == AB_REC_PURCHASE) {
        return 1;
    }

    if (!history) {
        fold_record(f, rec);
    }

    if (f->st->hist_lookback > 0) {
        if (rec->time >= hist) {
            rec->kind = is_event(rec) ? AB_REC_EVENT_HISTORY : AB_REC_HISTORY;
            return 1;
        }
        fold_history(f, rec);
    }

    return 0;
}


int
ab_fold(ab_state_t *st, int64_t wm)
{
    fold_t    f;
    size_t    v;
    uint32_t  m;

    /* Totals of memberships and visitors new since the last fold start
     * at zero, except the folded events of a visitor's older records:
     * all before a membership made since (see fold.h). */
    if (ab_resize_zero((void **) &st->fold_agg, st->nfold_memb, st->nmemb,
                       sizeof(*st->fold_agg)) != 0
        || ab_resize_zero((void **) &st->fold_ebe, st->nfold_memb, st->nmemb,
                          sizeof(*st->fold_ebe)) != 0
        || (st->hist_lookback > 0
            && ab_resize_zero((void **) &st->fold_pre, st->nfold_memb,
                              st->nmemb, sizeof(*st->fold_pre)) != 0))
    {
        return -1;
    }

    for (v = 0; v < st->nfold_vis; v++) {
        for (m = st->heads[v]; m != AB_NONE; m = st->membs[m].next) {
            if (m >= st->nfold_memb) {
                st->fold_ebe[m] = st->vis_fold_events[v];
            }
        }
    }

    if (ab_resize_zero((void **) &st->vis_fold_events, st->nfold_vis,
                       st->nvis, sizeof(*st->vis_fold_events)) != 0
        || ab_resize_zero((void **) &st->vis_last, st->nfold_vis, st->nvis,
                          sizeof(*st->vis_last)) != 0)
    {
        return -1;
    }

    st->nfold_memb = st->nmemb;
    st->nfold_vis = st->nvis;

    if (st->folded && wm < st->fold_wm) {
        wm = st->fold_wm;
    }

    f.st = st;
    f.wm = wm;
    f.failed = 0;

    if (ab_state_filter_records(st, keep_or_fold, &f) != 0 || f.failed) {
        return -1;
    }

    st->fold_wm = wm;
    st->folded = 1;

    return 0;
}
