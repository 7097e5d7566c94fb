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
 * Made in two halves (trend.h): integer sums per (bucket, variant) of
 * what the visitors add in the bucket, then the series from their prefix
 * sums. The sums are exact (revenue in micro-units, squares in 256 bits),
 * so they do not depend on the order of purchases, nor on how the
 * visitors were split into sets whose sums were added.
 */

#include "trend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sanity.h"
#include "sequential.h"
#include "stats.h"
#include "timefmt.h"

_Static_assert(sizeof(ab_trend_cell_t) == AB_TREND_CELL_WORDS * 8,
               "ab_trend_cell_t has padding");

/* Per variant, cumulative up to the bucket being emitted; new_* of the
 * bucket itself. */
typedef struct {
    uint64_t    n, orders, converters, new_visitors, new_orders;
    ab_money_t  sum, new_revenue;   /* micro-units */
    ab_w256_t   sumsq;              /* micro-units squared */
} run_t;

/* Which bucket starts a build has cells in, sorted, distinct. */
typedef struct {
    int64_t  *start;
    size_t    n;
    size_t    hint;             /* the last found: entries come in runs */
} buckets_t;


static int
cmp_i64(const void *a, const void *b)
{
    int64_t  x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}


/* A visitor's purchases together, by bucket (the time holds the bucket
 * start here); within a bucket their order does not matter. */
static int
cmp_buy(const void *a, const void *b)
{
    const ab_buy_t  *x = a, *y = b;

    return x->memb != y->memb ? (x->memb < y->memb ? -1 : 1)
           : (x->time > y->time) - (x->time < y->time);
}


static size_t
bucket_index(buckets_t *bk, int64_t start)
{
    size_t  lo = 0, hi = bk->n, mid;

    if (bk->start[bk->hint] == start) {
        return bk->hint;
    }
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (bk->start[mid] <= start) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    bk->hint = lo;

    return lo;
}


/* Whether membership i is one that the sums read: of experiment e, one
 * variant; with a list, listed (mark). */
static int
counted(const ab_state_t *st, int e, const uint8_t *mark, size_t i)
{
    const ab_memb_t  *mb = &st->membs[i];

    if (mb->exp != e || mb->var == AB_VAR_MULTI) {
        return 0;
    }

    return mark == NULL || (mark[i >> 3] >> (i & 7) & 1);
}


int
ab_trend_sums(const ab_pass_t *p, int e, int bucket, const ab_msel_t *sel,
    ab_trend_sums_t *out)
{
    const ab_state_t  *st = p->st;
    int                hour = bucket == AB_BUCKET_HOUR;
    size_t             nv = st->vars[e].n, nsel, at, i, j, k, nb = 0;
    uint8_t           *mark = NULL;
    int64_t            b;
    ab_buy_t          *buys;
    ab_trend_cell_t   *cell, *cells = NULL;
    ab_money_t         before, d;
    buckets_t          bk;
    ab_msel_t          all;
    int                first, rc = -1;

    memset(out, 0, sizeof(*out));
    memset(&bk, 0, sizeof(bk));

    memset(&all, 0, sizeof(all));
    if (sel == NULL) {
        sel = &all;
    }
    nsel = ab_msel_n(st, sel);
    bk.start = malloc((nsel + p->nbuys + 1) * sizeof(*bk.start));
    buys = malloc((p->nbuys + 1) * sizeof(*buys));
    if (bk.start == NULL || buys == NULL) {
        goto done;
    }

    /* With a list, a purchase's membership is looked up in its bits,
     * and the memberships are read from the list, not from the state. */
    if (sel->list) {
        mark = calloc(st->nmemb / 8 + 1, 1);
        if (mark == NULL) {
            goto done;
        }
        for (at = 0; at < nsel; at++) {
            i = sel->list[at];
            mark[i >> 3] |= (uint8_t) (1u << (i & 7));
        }
    }

    /* The buckets with an entry or a purchase: entries come in time order
     * mostly, so a run of one bucket is kept once before the sort. */
    for (at = 0; at < nsel; at++) {
        i = ab_msel_at(sel, at);
        if (counted(st, e, NULL, i)) {
            b = ab_time_bucket(st->membs[i].entry, hour);
            if (bk.n == 0 || bk.start[bk.n - 1] != b) {
                bk.start[bk.n++] = b;
            }
        }
    }
    /* The pass credits a purchase only at or after its membership's entry,
     * and none to a multi-variant one. */
    for (i = 0; i < p->nbuys; i++) {
        if (counted(st, e, mark, p->buys[i].memb)) {
            buys[nb] = p->buys[i];
            buys[nb].time = ab_time_bucket(buys[nb].time, hour);
            if (bk.n == 0 || bk.start[bk.n - 1] != buys[nb].time) {
                bk.start[bk.n++] = buys[nb].time;
            }
            nb++;
        }
    }
    qsort(bk.start, bk.n, sizeof(*bk.start), cmp_i64);
    for (i = 0, j = 0; i < bk.n; i++) {
        if (j == 0 || bk.start[j - 1] != bk.start[i]) {
            bk.start[j++] = bk.start[i];
        }
    }
    bk.n = j;

    /* Dense while built: buckets x variants, in the canonical order. */
    cells = calloc(bk.n * nv + 1, sizeof(*cells));
    if (cells == NULL) {
        goto done;
    }

    for (at = 0; at < nsel; at++) {
        i = ab_msel_at(sel, at);
        if (counted(st, e, NULL, i)) {
            b = ab_time_bucket(st->membs[i].entry, hour);
            cells[bucket_index(&bk, b) * nv + st->membs[i].var].new_visitors++;
        }
    }

    /* Each visitor's purchases, bucket by bucket: R1^2 - R0^2 is
     * d (2 R0 + d) for the bucket's net revenue d, one exact product
     * (R0 and d below 2^92, wide.h). */
    qsort(buys, nb, sizeof(*buys), cmp_buy);
    for (i = 0; i < nb; ) {
        before = 0;
        first = 1;
        for (j = i; j < nb && buys[j].memb == buys[i].memb; ) {
            cell = &cells[bucket_index(&bk, buys[j].time) * nv
                          + st->membs[buys[j].memb].var];
            d = 0;
            for (k = j; k < nb && buys[k].memb == buys[j].memb
                        && buys[k].time == buys[j].time; k++)
            {
                d += buys[k].revenue;
            }
            cell->orders += k - j;
            cell->converters += first;
            cell->revenue += d;
            ab_w256_add_prod(&cell->sumsq, d, 2 * before + d);
            before += d;
            first = 0;
            j = k;
        }
        i = j;
    }

    /* Only the cells something happened in: each has an entry or an
     * order, in any grouping of the visitors. */
    for (i = 0, k = 0; i < bk.n * nv; i++) {
        if (cells[i].new_visitors || cells[i].orders) {
            cells[i].start = bk.start[i / nv];
            cells[i].variant = i % nv;
            cells[k++] = cells[i];
        }
    }
    out->ncells = k;
    out->cells = realloc(cells, (k + 1) * sizeof(*cells));
    if (out->cells == NULL) {
        out->cells = cells;     /* kept as it was: it holds them */
    }
    cells = NULL;
    rc = 0;

done:
    free(bk.start);
    free(buys);
    free(mark);
    free(cells);

    return rc;
}


static int
cmp_cell(const ab_trend_cell_t *x, const ab_trend_cell_t *y)
{
    return x->start != y->start ? (x->start < y->start ? -1 : 1)
           : (x->variant > y->variant) - (x->variant < y->variant);
}


static int
cmp_cell_q(const void *a, const void *b)
{
    return cmp_cell(a, b);
}


void
ab_trend_sums_sort(ab_trend_sums_t *s)
{
    if (s->ncells > 1) {
        qsort(s->cells, s->ncells, sizeof(*s->cells), cmp_cell_q);
    }
}


int
ab_trend_sums_add(ab_trend_sums_t *a, const ab_trend_sums_t *b)
{
    ab_trend_cell_t  *m, *c;
    size_t            i = 0, j = 0, n = 0;
    int               cmp;

    if (b->ncells == 0) {
        return 0;
    }
    m = malloc((a->ncells + b->ncells) * sizeof(*m));
    if (m == NULL) {
        return -1;
    }

    while (i < a->ncells || j < b->ncells) {
        cmp = i == a->ncells ? 1 : j == b->ncells ? -1
              : cmp_cell(&a->cells[i], &b->cells[j]);
        if (cmp < 0) {
            m[n++] = a->cells[i++];
        } else if (cmp > 0) {
            m[n++] = b->cells[j++];
        } else {
            c = &m[n++];
            *c = a->cells[i++];
            c->new_visitors += b->cells[j].new_visitors;
            c->orders += b->cells[j].orders;
            c->converters += b->cells[j].converters;
            c->revenue += b->cells[j].revenue;
            ab_w256_add(&c->sumsq, &b->cells[j].sumsq);
            j++;
        }
    }

    free(a->cells);
    a->cells = m;
    a->ncells = n;

    return 0;
}


int
ab_trend_sums_valid(const ab_trend_sums_t *s, size_t nvars)
{
    size_t  i;

    for (i = 0; i < s->ncells; i++) {
        if (s->cells[i].variant >= nvars
            || (i > 0 && cmp_cell(&s->cells[i - 1], &s->cells[i]) >= 0))
        {
            return 0;
        }
    }

    return 1;
}


void
ab_trend_sums_free(ab_trend_sums_t *s)
{
    free(s->cells);
    s->cells = NULL;
    s->ncells = 0;
}


/* Mean and variance of the mean from exact sums (units: scale): the
 * variance's numerator n sum(x^2) - sum(x)^2 is taken in integers, so
 * it is exact and never negative; the only rounding is after it. */
static ab_estimate_t
estimate(uint64_t n, ab_money_t sum, const ab_w256_t *sumsq, double scale)
{
    ab_estimate_t  e;
    ab_w256_t      s;
    ab_wide_t      wn, w1, w2, nsq, sq;
    long double    var;

    e.n = (double) n;
    if (n == 0) {
        e.value = e.var = NAN;
        return e;
    }
    e.value = (double) ((long double) sum / n / scale);
    if (n < 2) {
        e.var = NAN;
        return e;
    }

    memset(&s, 0, sizeof(s));
    ab_w256_add_i128(&s, sum);
    wn = ab_wide_of_i64((int64_t) n);
    w1 = ab_wide_of(&s);
    w2 = ab_wide_of(sumsq);
    nsq = ab_wide_mul(&wn, &w2);
    sq = ab_wide_mul(&w1, &w1);
    nsq = ab_wide_sub(&nsq, &sq);
    var = ab_wide_ld(&nsq) / n / (n - 1);
    if (var < 0) {
        var = 0;                /* sums that no visitors add up to */
    }
    e.var = (double) (var / ((long double) scale * scale) / n);

    return e;
}


/* A share of visitors, k of n, as estimate() takes it: the sum of
 * squares of 0s and 1s is k. */
static ab_estimate_t
share(uint64_t n, uint64_t k)
{
    ab_w256_t  sq;

    memset(&sq, 0, sizeof(sq));
    ab_w256_add_i128(&sq, (ab_i128_t) k);

    return estimate(n, (ab_money_t) k, &sq, 1);
}


static void
emit(ab_rexp_t *x, int64_t start, const run_t *run, const ab_config_t *cfg)
{
    double          alpha = cfg->alpha;
    size_t          v, nv = x->nvariants;
    ab_rtrend_t    *t;
    ab_estimate_t   rt, rc, ct, cc;

    rc = estimate(run[0].n, run[0].sum, &run[0].sumsq, 1e6);
    cc = share(run[0].n, run[0].converters);

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

        rt = estimate(run[v].n, run[v].sum, &run[v].sumsq, 1e6);
        ct = share(run[v].n, run[v].converters);
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


int
ab_trend_from_sums(const ab_trend_sums_t *s, const int *order,
    const ab_config_t *cfg, ab_rexp_t *x)
{
    const ab_trend_cell_t  *c;
    size_t                  nv = x->nvariants, nbuckets, i, v;
    size_t                 *pos;
    run_t                  *run, *r;
    int64_t                 b;
    int                     rc = -1;

    if (!ab_trend_sums_valid(s, nv)) {
        return -1;
    }

    pos = calloc(nv + 1, sizeof(*pos));
    run = calloc(nv + 1, sizeof(*run));
    if (pos == NULL || run == NULL) {
        goto done;
    }
    for (v = 0; v < nv; v++) {
        pos[order[v]] = v;
    }

    nbuckets = 0;
    for (i = 0; i < s->ncells; i++) {
        nbuckets += i == 0 || s->cells[i].start != s->cells[i - 1].start;
    }
    x->trend = calloc(nbuckets * nv + 1, sizeof(*x->trend));
    if (x->trend == NULL) {
        goto done;
    }

    for (i = 0; i < s->ncells; ) {
        b = s->cells[i].start;

        for (v = 0; v < nv; v++) {
            run[v].new_visitors = run[v].new_orders = 0;
            run[v].new_revenue = 0;
        }

        for ( /* void */ ; i < s->ncells && s->cells[i].start == b; i++) {
            c = &s->cells[i];
            r = &run[pos[c->variant]];
            r->n += c->new_visitors;
            r->new_visitors = c->new_visitors;
            r->orders += c->orders;
            r->new_orders = c->orders;
            r->converters += c->converters;
            r->sum += c->revenue;
            r->new_revenue = c->revenue;
            ab_w256_add(&r->sumsq, &c->sumsq);
        }

        emit(x, b, run, cfg);
    }

    rc = 0;

done:
    free(pos);
    free(run);

    return rc;
}


int
ab_trend(const ab_pass_t *p, int e, const int *order, ab_rexp_t *x)
{
    ab_trend_sums_t  s;
    int              rc;

    if (ab_trend_sums(p, e, p->cfg->bucket, NULL, &s) != 0) {
        return -1;
    }
    rc = ab_trend_from_sums(&s, order, p->cfg, x);
    ab_trend_sums_free(&s);

    return rc;
}
