/*
 * Trend series (--bucket day|hour): the experiment replayed in time. A
 * visitor joins at its entry; each counted purchase adds to its visitor's
 * revenue at the purchase's time (refunds are netted into their order, as
 * in the report). After each bucket, the cumulative numbers are those of
 * today's analysis cut at the bucket's end: the visitors replayed are the
 * report's, so one who turned multi-variant later is in no bucket (the
 * past is revised, docs/abstat.md says why), and the last point of each
 * series agrees with the report itself.
 *
 * Sums are exact: revenue in integer micro-units, squares in long double
 * (64-bit mantissa), so the series does not depend on the order of
 * purchases within a bucket.
 */

#include "analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sanity.h"
#include "sequential.h"
#include "stats.h"
#include "timefmt.h"

typedef struct {
    int64_t   time;
    uint32_t  memb;
} entry_t;

/* Per variant, cumulative. */
typedef struct {
    uint64_t     n, orders, converters, new_visitors, new_orders;
    ab_money_t   sum, new_revenue;  /* micro-units */
    long double  sumsq;             /* micro-units squared */
} run_t;


static int
cmp_entry(const void *a, const void *b)
{
    const entry_t  *x = a, *y = b;

    return x->time != y->time ? (x->time < y->time ? -1 : 1)
           : (x->memb > y->memb) - (x->memb < y->memb);
}


static int
cmp_buy(const void *a, const void *b)
{
    const ab_buy_t  *x = a, *y = b;

    return x->time != y->time ? (x->time < y->time ? -1 : 1)
           : (x->memb > y->memb) - (x->memb < y->memb);
}


/* Mean and variance of the mean from exact sums (units: scale). */
static ab_estimate_t
estimate(uint64_t n, long double sum, long double sumsq, double scale)
{
    ab_estimate_t  e;
    long double    mean, var;

    e.n = (double) n;
    if (n == 0) {
        e.value = e.var = NAN;
        return e;
    }
    mean = sum / n;
    e.value = (double) (mean / scale);
    if (n < 2) {
        e.var = NAN;
        return e;
    }
    var = (sumsq - sum * mean) / (n - 1);
    if (var < 0) {
        var = 0;                /* rounding of an all-equal sample */
    }
    e.var = (double) (var / ((long double) scale * scale) / n);

    return e;
}


static void
emit(ab_rexp_t *x, int64_t start, const run_t *run, const ab_config_t *cfg)
{
    double          alpha = cfg->alpha;
    size_t          v, nv = x->nvariants;
    ab_rtrend_t    *t;
    ab_estimate_t   rt, rc, ct, cc;

    rc = estimate(run[0].n, run[0].sum, run[0].sumsq, 1e6);
    cc = estimate(run[0].n, run[0].converters, run[0].converters, 1);

    for (v = 0; v < nv; v++) {
        t = &x->trend[x->ntrend++];
        memset(t, 0, sizeof(*t));
        t->start = start;
        t->variant = v;
        t->new_visitors = run[v].new_visitors;
        t->orders = run[v].new_orders;
        t->revenue = (double) run[v].new_revenue / 1e6;
        t->visitors = run[v].n;
        t->cum_orders = run[v].orders;
        t->converters = run[v].converters;
        t->cum_revenue = (double) run[v].sum / 1e6;

        rt = estimate(run[v].n, (long double) run[v].sum, run[v].sumsq, 1e6);
        ct = estimate(run[v].n, run[v].converters, run[v].converters, 1);
        t->rpv = rt.value;
        t->conversion = ct.value;

        if (v == 0) {
            t->rpv_lift.rel_effect = t->rpv_lift.rel_lo = NAN;
            t->rpv_lift.rel_hi = t->rpv_lift.rel_p_value = NAN;
            t->conv_lift = t->rpv_lift;
            t->rpv_seq.rel_lo = t->rpv_seq.rel_hi = NAN;
            t->conv_seq = t->rpv_seq;
        } else {
            t->rpv_lift = ab_compare(&rt, &rc, alpha);
            t->conv_lift = ab_compare(&ct, &cc, alpha);
            t->rpv_seq = ab_sequential(&rt, &rc, &t->rpv_lift, alpha,
                                       cfg->seq_tuning);
            t->conv_seq = ab_sequential(&ct, &cc, &t->conv_lift, alpha,
                                        cfg->seq_tuning);
            ab_clip_rel(&t->rpv_lift);
            ab_clip_rel(&t->conv_lift);
        }
    }
}


/* The earliest bucket among the next entry and the next purchase. */
static int64_t
next_bucket(const entry_t *ent, size_t i, size_t ne, const ab_buy_t *buys,
    size_t j, size_t nb, int hour)
{
    int64_t  b = INT64_MAX;

    if (i < ne) {
        b = ab_time_bucket(ent[i].time, hour);
    }
    if (j < nb && ab_time_bucket(buys[j].time, hour) < b) {
        b = ab_time_bucket(buys[j].time, hour);
    }

    return b;
}


int
ab_trend(const ab_pass_t *p, int e, const int *order, ab_rexp_t *x)
{
    const ab_state_t  *st = p->st;
    int                hour = p->cfg->bucket == AB_BUCKET_HOUR;
    size_t             nv = x->nvariants, ne = 0, nb = 0, i, j, nbuckets;
    size_t            *pos;
    entry_t           *ent;
    ab_buy_t          *buys;
    run_t             *run;
    ab_money_t        *rev, old, now;
    int64_t            b;
    uint32_t          *orders, m;
    run_t             *r;
    int                rc = -1;

    pos = calloc(st->vars[e].n + 1, sizeof(*pos));
    ent = malloc((st->nmemb + 1) * sizeof(*ent));
    buys = malloc((p->nbuys + 1) * sizeof(*buys));
    run = calloc(nv + 1, sizeof(*run));
    rev = calloc(st->nmemb + 1, sizeof(*rev));
    orders = calloc(st->nmemb + 1, sizeof(*orders));

    if (!pos || !ent || !buys || !run || !rev || !orders) {
        goto done;
    }

    for (i = 0; i < nv; i++) {
        pos[order[i]] = i;
    }

    for (i = 0; i < st->nmemb; i++) {
        if (st->membs[i].exp == e && st->membs[i].var != AB_VAR_MULTI) {
            ent[ne].time = st->membs[i].entry;
            ent[ne].memb = (uint32_t) i;
            ne++;
        }
    }
    for (i = 0; i < p->nbuys; i++) {
        if (st->membs[p->buys[i].memb].exp == e) {
            buys[nb++] = p->buys[i];
        }
    }
    qsort(ent, ne, sizeof(*ent), cmp_entry);
    qsort(buys, nb, sizeof(*buys), cmp_buy);

    /* At most one bucket per entry or purchase: no empty buckets, so a
     * stray timestamp years away costs one point, not millions. */
    nbuckets = 0;
    for (i = 0, j = 0; i < ne || j < nb; nbuckets++) {
        b = next_bucket(ent, i, ne, buys, j, nb, hour);
        while (i < ne && ab_time_bucket(ent[i].time, hour) == b) {
            i++;
        }
        while (j < nb && ab_time_bucket(buys[j].time, hour) == b) {
            j++;
        }
    }

    x->trend = calloc(nbuckets * nv + 1, sizeof(*x->trend));
    if (x->trend == NULL) {
        goto done;
    }

    for (i = 0, j = 0; i < ne || j < nb; ) {
        b = next_bucket(ent, i, ne, buys, j, nb, hour);

        for (m = 0; m < nv; m++) {
            run[m].new_visitors = run[m].new_orders = 0;
            run[m].new_revenue = 0;
        }

        for ( /* void */ ; i < ne && ab_time_bucket(ent[i].time, hour) == b;
             i++)
        {
            r = &run[pos[st->membs[ent[i].memb].var]];
            r->n++;
            r->new_visitors++;
        }

        /* A purchase counts only at or after its visitor's entry, so the
         * visitor has joined by this bucket. */
        for ( /* void */ ; j < nb && ab_time_bucket(buys[j].time, hour) == b;
             j++)
        {
            m = buys[j].memb;
            r = &run[pos[st->membs[m].var]];
            old = rev[m];
            now = old + buys[j].revenue;
            rev[m] = now;
            r->sumsq += (long double) now * (long double) now
                        - (long double) old * (long double) old;
            r->sum += buys[j].revenue;
            r->new_revenue += buys[j].revenue;
            r->orders++;
            r->new_orders++;
            r->converters += orders[m]++ == 0;
        }

        emit(x, b, run, p->cfg);
    }

    rc = 0;

done:
    free(pos);
    free(ent);
    free(buys);
    free(run);
    free(rev);
    free(orders);

    return rc;
}
