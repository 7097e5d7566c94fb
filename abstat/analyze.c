/*
 * The second pass: with every entry time final, each spooled request and
 * event and each order is credited to the memberships it falls in.
 */

#include "analyze.h"
#include "confhist.h"

#include "bigmem.h"
#include "history.h"

#include <pthread.h>

#include <stdlib.h>
#include <string.h>


/* A counted purchase, kept for the trend series. */
static void
add_buy(ab_pass_t *p, int64_t t, int64_t revenue, uint32_t m)
{
    if (!p->cfg->bucket) {
        return;
    }
    if (ab_grow_array((void **) &p->buys, &p->capbuys, p->nbuys + 1,
                      sizeof(*p->buys)) != 0)
    {
        p->failed = 1;
        return;
    }
    p->buys[p->nbuys].time = t;
    p->buys[p->nbuys].revenue = revenue;
    p->buys[p->nbuys].memb = m;
    p->nbuys++;
}


static void
credit_record(void *ctx, const ab_rec_t *rec)
{
    ab_pass_t        *p = ctx;
    ab_state_t       *st = p->st;
    const ab_memb_t  *mb;
    ab_vagg_t        *a;
    uint32_t          m, *slot;
    int               created;

    for (m = st->heads[rec->vis]; m != AB_NONE; m = mb->next) {
        mb = &st->membs[m];

        if (mb->var == AB_VAR_MULTI) {
            continue;
        }

        if (rec->kind == AB_REC_HISTORY || rec->kind == AB_REC_EVENT_HISTORY) {
            /* counted when folded: history of later entries only */
            ab_history_record(p, m, rec);
            continue;
        }

        if (rec->time < mb->entry) {
            if (rec->kind != AB_REC_REQUEST) {
                p->events_before_exposure++;
            }
            ab_history_record(p, m, rec);
            continue;
        }

        a = &p->agg[m];

        switch (rec->kind) {
        case AB_REC_PURCHASE:
            add_buy(p, rec->time, rec->value, m);
            /* fall through */
        case AB_REC_REQUEST:
            ab_vagg_add(a, rec);
            break;

        case AB_REC_EVENT:
            /* Counted per pair once all are known (count_seen). */
            slot = ab_tab_put(p->seen, ab_key_pair(m, rec->arg), &created);
            if (slot == NULL) {
                p->failed = 1;
                return;
            }
            *slot = 1;
            break;
        }
    }
}


/* An order cannot give back more than it took: refunds beyond its
 * revenue are a sender's error, counted, and the net stays at 0. */
static int64_t
refund_capped(ab_pass_t *p, const ab_order_t *o)
{
    int64_t  cap = o->revenue > 0 ? o->revenue : 0;

    if (o->refund > cap) {
        p->refunds_over_order++;
        return cap;
    }

    return o->refund;
}


/* Orders with an id: each counts once, at its earliest occurrence, with
 * its refunds; refunds of an order never purchased are orphans. */
static uint64_t
credit_orders(ab_pass_t *p)
{
    ab_state_t        *st = p->st;
    const ab_order_t  *o;
    const ab_memb_t   *mb;
    uint64_t           orphans = 0;
    uint32_t           m;
    size_t             i;
    int64_t            net;

    for (i = 0; i < st->norders; i++) {
        o = &st->orders[i];

        if (!o->purchased) {
            orphans += o->refunds;
            continue;
        }
        if (o->vis == AB_NONE) {
            /* its visitor was forgotten (retain.h): never exposed */
            continue;
        }

        net = o->revenue - refund_capped(p, o);

        for (m = st->heads[o->vis]; m != AB_NONE; m = mb->next) {
            mb = &st->membs[m];

            if (mb->var == AB_VAR_MULTI) {
                continue;
            }
            if (o->time < mb->entry) {
                p->events_before_exposure++;
                ab_history_order(p, m, o->time, net);
                continue;
            }
            p->agg[m].orders++;
            p->agg[m].revenue += net;
            add_buy(p, o->time, net, m);
        }
    }

    return orphans;
}


/* Funnel counts from the (membership, event) pairs, folded ones
 * included: after entry; with --cuped also before it, and both. */
static void
count_seen(ab_pass_t *p)
{
    ab_state_t       *st = p->st;
    const ab_tab_t   *t = p->seen_pre;
    const ab_memb_t  *mb;
    size_t            i, at;

    for (i = 0; i < p->seen->cap; i++) {
        if (p->seen->vals[i] == AB_TAB_EMPTY) {
            continue;
        }
        mb = &st->membs[p->seen->keys[i].lo];
        if (mb->var != AB_VAR_MULTI) {
            p->event_count[mb->exp][(size_t) mb->var * st->events.n
                                    + p->seen->keys[i].hi]++;
        }
    }

    for (i = 0; p->event_pre != NULL && i < t->cap; i++) {
        if (t->vals[i] == AB_TAB_EMPTY) {
            continue;
        }
        mb = &st->membs[t->keys[i].lo];
        if (mb->var == AB_VAR_MULTI) {
            continue;
        }
        at = (size_t) mb->var * st->events.n + t->keys[i].hi;
        p->event_pre[mb->exp][at]++;
        if (ab_tab_get(p->seen, t->keys[i]) != AB_TAB_EMPTY) {
            p->event_both[mb->exp][at]++;
        }
    }
}


/*
 * What folded records (fold.c) gave each membership, as if read now. The
 * folded totals become the pass's totals (taken over, not copied: the
 * state file is written already, and a second array per membership would
 * cost 40 bytes a visitor). Multi-variant memberships are skipped by every
 * reader of the totals.
 */
static int
credit_folded(ab_pass_t *p)
{
    ab_state_t  *st = p->st;
    size_t       m;

    if (ab_pass_totals(st, &st->fold_agg, &p->agg) != 0) {
        return -1;
    }

    for (m = 0; m < st->nfold_memb; m++) {
        if (st->membs[m].var != AB_VAR_MULTI) {
            p->events_before_exposure += st->fold_ebe[m];
        }
    }

    return 0;
}


static int
count_multi(ab_pass_t *p)
{
    ab_state_t  *st = p->st;
    size_t       i;

    for (i = 0; i < st->multi.cap; i++) {
        if (st->multi.vals[i] == AB_TAB_EMPTY) {
            continue;
        }
        p->multi[st->membs[st->multi.keys[i].lo].exp][st->multi.keys[i].hi]++;
    }

    return 0;
}


static int
cmp_exp(const void *a, const void *b)
{
    return strcmp(((const ab_rexp_t *) a)->name, ((const ab_rexp_t *) b)->name);
}


void
ab_pass_free(ab_pass_t *p)
{
    size_t  e;

    for (e = 0; e < p->st->exps.n; e++) {
        if (p->event_count) {
            free(p->event_count[e]);
        }
        if (p->event_pre) {
            free(p->event_pre[e]);
            free(p->event_both[e]);
        }
        if (p->multi) {
            free(p->multi[e]);
        }
    }
    free(p->event_count);
    free(p->event_pre);
    free(p->event_both);
    free(p->multi);
    free(p->agg);
    free(p->pre);
    free(p->buys);
}


/* The configured variants of the experiments the input has. */
static int
intern_defs(ab_state_t *st, const ab_expdef_t *defs, size_t ndefs)
{
    size_t  i, j;
    int     e;

    for (i = 0; i < ndefs; i++) {
        const ab_expdef_t  *d = &defs[i];

        e = ab_intern_find(&st->exps, d->name, strlen(d->name));
        if (e < 0) {
            /* Configured but unseen experiments stay out unless named
             * by --experiment. */
            continue;
        }
        for (j = 0; j < d->nvars; j++) {
            if (ab_intern(&st->vars[e], d->vars[j], strlen(d->vars[j])) < 0) {
                return -1;
            }
        }
    }

    return 0;
}


/* Experiments named by --experiment or the configuration get an id
 * (and their configured variants one) even when the log never shows
 * them, so that they are reported, with zero visitors. */
static int
intern_named(ab_state_t *st, const ab_config_t *cfg)
{
    size_t  i;

    for (i = 0; i < cfg->input->nonly; i++) {
        if (ab_state_exp(st, cfg->input->only[i],
                         strlen(cfg->input->only[i])) < 0)
        {
            return -1;
        }
    }

    /* every snapshot of --config-history: a variant configured once may
     * have had visitors then */
    if (intern_defs(st, cfg->conf, cfg->nconf) != 0
        || intern_defs(st, cfg->weights, cfg->nweights) != 0)
    {
        return -1;
    }
    for (i = 0; cfg->history != NULL && i < cfg->history->n; i++) {
        if (intern_defs(st, cfg->history->snaps[i].defs,
                        cfg->history->snaps[i].ndefs) != 0)
        {
            return -1;
        }
    }

    return 0;
}


typedef struct {
    ab_pass_t       *p;
    ab_report_t     *rep;
    size_t           first;     /* this thread's experiments: first, */
    size_t           step;      /* first + step, ... */
    int              failed;
} reporter_t;


static void *
report_some(void *arg)
{
    reporter_t  *r = arg;
    size_t       e;

    for (e = r->first; e < r->p->st->exps.n; e += r->step) {
        if (ab_experiment_report(r->p, (int) e, &r->rep->exps[e]) != 0) {
            r->failed = 1;
        }
    }

    return NULL;
}


/* Each experiment's report reads the pass and writes only its own
 * ab_rexp_t: with several experiments they are made side by side. */
static int
report_all(ab_pass_t *p, ab_report_t *rep)
{
    reporter_t  r[AB_MAX_THREADS + 1];
    pthread_t   tid[AB_MAX_THREADS + 1];
    size_t      n = (size_t) (p->cfg->threads > 0 ? p->cfg->threads : 1);
    size_t      i, started = 1;
    int         failed = 0;

    if (n > p->st->exps.n) {
        n = p->st->exps.n ? p->st->exps.n : 1;
    }
    if (n > AB_MAX_THREADS + 1) {
        n = AB_MAX_THREADS + 1;
    }

    for (i = 0; i < n; i++) {
        r[i].p = p;
        r[i].rep = rep;
        r[i].first = i;
        r[i].step = n;
        r[i].failed = 0;
    }
    /* the calling thread takes the first share; a thread that cannot be
     * started leaves its share to it as well */
    for (i = 1; i < n; i++, started++) {
        if (pthread_create(&tid[i], NULL, report_some, &r[i]) != 0) {
            break;
        }
    }
    report_some(&r[0]);
    for (i = started; i < n; i++) {
        report_some(&r[i]);
    }
    for (i = 1; i < started; i++) {
        pthread_join(tid[i], NULL);
    }

    /* every ab_rexp_t is whole or zeroed, so all can be freed */
    rep->nexps = p->st->exps.n;
    for (i = 0; i < n; i++) {
        failed |= r[i].failed;
    }

    return failed ? -1 : 0;
}


int
ab_pass_named(ab_state_t *st, const ab_config_t *cfg)
{
    return intern_named(st, cfg);
}


void
ab_report_init(ab_report_t *rep, ab_state_t *st, const ab_config_t *cfg)
{
    memset(rep, 0, sizeof(*rep));
    rep->st = st;
    rep->alpha = cfg->alpha;
    rep->cap_pct = cfg->cap_pct;
    rep->guardrail_margin = cfg->guardrail_margin;
    rep->max_visitor_share = cfg->max_visitor_share;
    rep->bucket = cfg->bucket;
    rep->cfg = cfg;
    rep->sequential = cfg->sequential;
    rep->seq_tuning = cfg->seq_tuning;
    rep->cuped = cfg->cuped;
    rep->cuped_lookback = cfg->cuped_lookback;
}


int
ab_pass_make(ab_state_t *st, const ab_config_t *cfg, ab_pass_t *p,
    ab_report_t *rep)
{
    size_t  e, nev;

    memset(p, 0, sizeof(*p));
    p->st = st;
    p->cfg = cfg;

    if (intern_named(st, cfg) != 0) {
        return -1;
    }

    nev = st->events.n;
    p->event_count = calloc(st->exps.n + 1, sizeof(*p->event_count));
    if (cfg->cuped) {
        p->event_pre = calloc(st->exps.n + 1, sizeof(*p->event_pre));
        p->event_both = calloc(st->exps.n + 1, sizeof(*p->event_both));
    }
    p->multi = calloc(st->exps.n + 1, sizeof(*p->multi));

    if (credit_folded(p) != 0 || ab_history_init(p) != 0 || !p->event_count
        || (cfg->cuped && (!p->event_pre || !p->event_both)) || !p->multi)
    {
        return -1;
    }

    for (e = 0; e < st->exps.n; e++) {
        size_t  nv = st->vars[e].n + 1;

        p->event_count[e] = calloc(nv * (nev + 1), sizeof(uint64_t));
        p->multi[e] = calloc(nv, sizeof(uint64_t));
        if (!p->event_count[e] || !p->multi[e]) {
            return -1;
        }
        if (p->event_pre != NULL) {
            p->event_pre[e] = calloc(nv * (nev + 1), sizeof(uint64_t));
            p->event_both[e] = calloc(nv * (nev + 1), sizeof(uint64_t));
            if (!p->event_pre[e] || !p->event_both[e]) {
                return -1;
            }
        }
    }

    p->seen = &st->fold_seen;
    p->seen_pre = &st->fold_seen_pre;

    if (ab_state_each_record(st, credit_record, p) != 0 || p->failed) {
        return -1;
    }
    count_seen(p);

    rep->orphan_refunds = st->orphan_refunds + credit_orders(p);
    if (p->failed) {
        return -1;
    }
    count_multi(p);
    rep->events_before_exposure = p->events_before_exposure;
    rep->refunds_over_order = p->refunds_over_order;

    return 0;
}


int
ab_report_pass(ab_pass_t *p, ab_report_t *rep)
{
    rep->exps = calloc(p->st->exps.n + 1, sizeof(*rep->exps));
    if (rep->exps == NULL || report_all(p, rep) != 0) {
        return -1;
    }
    qsort(rep->exps, rep->nexps, sizeof(*rep->exps), cmp_exp);

    return 0;
}


int
ab_analyze(ab_state_t *st, const ab_config_t *cfg, ab_report_t *rep)
{
    ab_pass_t  p;
    int        rc;

    ab_report_init(rep, st, cfg);
    rc = ab_pass_make(st, cfg, &p, rep) == 0 && ab_report_pass(&p, rep) == 0
         ? 0 : -1;
    ab_pass_free(&p);

    return rc;
}


void
ab_report_free(ab_report_t *rep)
{
    size_t  i;

    for (i = 0; i < rep->nexps; i++) {
        ab_experiment_free(&rep->exps[i]);
    }
    free(rep->exps);
    memset(rep, 0, sizeof(*rep));
}
