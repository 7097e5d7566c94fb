/*
 * trend.h's sums (issue 18): the memberships of a made-up pass split into
 * disjoint groups at random, each group's sums built and the sums added
 * in a random order, must give the cells and the series of building them
 * at once, to the bit. The sums at once are checked against a direct
 * count (cumulative sums of squares as sum over visitors of R^2 at each
 * bucket's end, not as changes), with visitors whose revenue passes 2^64
 * so that the squares need the 256 bits.
 */

#include "tap.h"

#include "trend.h"
#include "timefmt.h"

#define NEXP     3
#define NMEMB    700
#define NBUYS    1600
#define ROUNDS   150
#define NWHALE   7
#define DAY_US   (86400 * INT64_C(1000000))
#define T0       (INT64_C(1795400000) * 1000000)

static uint64_t  seed = 0x7e4d7e4d7e4dULL;

static const size_t  nvars[NEXP] = { 2, 3, 1 };
static const int     orders[NEXP][3] = { { 0, 1 }, { 2, 0, 1 }, { 0 } };


static uint64_t
next(void)
{
    return tap_splitmix64(&seed);
}


static uint64_t
below(uint64_t n)
{
    return next() % n;
}


/* A made-up pass: memberships of NEXP experiments over a week (a few a
 * year later, a bucket alone), some multi-variant; purchases at or after
 * entry of small, zero, negative (a refund over its order) and huge
 * amounts, the huge ones on a few visitors only. */
static void
make_pass(ab_state_t *st, ab_intern_t *vars, ab_pass_t *p)
{
    size_t     i;
    uint32_t   m;
    int64_t    r;
    ab_memb_t *mb;

    memset(st, 0, sizeof(*st));
    memset(p, 0, sizeof(*p));
    memset(vars, 0, NEXP * sizeof(*vars));
    for (i = 0; i < NEXP; i++) {
        vars[i].n = nvars[i];
    }
    st->vars = vars;
    st->membs = calloc(NMEMB, sizeof(*st->membs));
    st->nmemb = NMEMB;
    p->buys = calloc(NBUYS, sizeof(*p->buys));
    p->nbuys = NBUYS;
    p->st = st;

    for (i = 0; i < NMEMB; i++) {
        mb = &st->membs[i];
        mb->exp = (uint16_t) below(NEXP);
        mb->var = below(20) == 0 ? AB_VAR_MULTI
                  : (uint16_t) below(nvars[mb->exp]);
        mb->entry = T0 + (int64_t) below(7 * DAY_US);
        if (below(100) == 0) {
            mb->entry += 365 * DAY_US;
        }
    }

    for (i = 0; i < NBUYS; i++) {
        /* the pass credits none to a multi-variant membership; a few
         * visitors buy the most an event can say (line.c), 40 times on
         * average, past 2^64 in all */
        do {
            m = (uint32_t) below(NMEMB);
            if (i < NWHALE * 40) {
                m = (uint32_t) (m % NWHALE * 97 + 5);
            }
        } while (st->membs[m].var == AB_VAR_MULTI);
        if (i < NWHALE * 40) {
            r = INT64_C(999999999999999999) - (int64_t) below(1u << 30);
        } else if (below(10) == 0) {
            r = below(2) ? 0 : -(int64_t) below(5000000);
        } else {
            r = (int64_t) below(200000000);
        }
        p->buys[i].memb = m;
        p->buys[i].revenue = r;
        p->buys[i].time = st->membs[m].entry + (int64_t) below(3 * DAY_US);
    }
}


/* Two arrays of n and m items of size bytes, to the bit. */
static int
same_bits(const void *a, size_t n, const void *b, size_t m, size_t size)
{
    return n == m && (n == 0 || memcmp(a, b, n * size) == 0);
}


static int
same_sums(const ab_trend_sums_t *a, const ab_trend_sums_t *b)
{
    return same_bits(a->cells, a->ncells, b->cells, b->ncells,
                     sizeof(*a->cells));
}


static int
same_series(const ab_rexp_t *a, const ab_rexp_t *b)
{
    return same_bits(a->trend, a->ntrend, b->trend, b->ntrend,
                     sizeof(*a->trend));
}


static int
series(const ab_trend_sums_t *s, int e, const ab_config_t *cfg, ab_rexp_t *x)
{
    memset(x, 0, sizeof(*x));
    x->nvariants = nvars[e];

    return ab_trend_from_sums(s, orders[e], cfg, x);
}


static int
w256_eq(const ab_w256_t *a, const ab_w256_t *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}


/* The cells and the series of experiment e against a direct count: per
 * bucket start b and variant, the entries and purchases in it, and the
 * sums of squares of every visitor's revenue up to b's end. */
static int
direct(const ab_pass_t *p, int e, int hour, const ab_trend_sums_t *s,
    const ab_rexp_t *x)
{
    const ab_state_t  *st = p->st;
    size_t             c, i, j, v, pt = 0, nv = nvars[e];
    ab_w256_t          cum[3], want;
    ab_money_t         rev, sum;
    uint64_t           n, k, conv, ords;
    int64_t            b, end, size = hour ? 3600 * INT64_C(1000000) : DAY_US;
    int                ok = 1;

    memset(cum, 0, sizeof(cum));

    for (c = 0; c < s->ncells; c++) {
        const ab_trend_cell_t  *cell = &s->cells[c];

        b = cell->start;
        end = b + size;
        v = cell->variant;
        n = k = conv = ords = 0;
        sum = 0;
        memset(&want, 0, sizeof(want));

        for (i = 0; i < st->nmemb; i++) {
            const ab_memb_t  *mb = &st->membs[i];
            int               bought = 0, before = 0;

            if (mb->exp != e || mb->var != v) {
                continue;
            }
            k += ab_time_bucket(mb->entry, hour) == b;
            rev = 0;
            for (j = 0; j < p->nbuys; j++) {
                if (p->buys[j].memb == i && p->buys[j].time < end) {
                    rev += p->buys[j].revenue;
                    bought = 1;
                    before |= p->buys[j].time < b;
                    ords += p->buys[j].time >= b;
                    sum += p->buys[j].time >= b ? p->buys[j].revenue : 0;
                }
            }
            conv += bought && !before;
            ab_w256_add_prod(&want, rev, rev);
        }

        ab_w256_add(&cum[v], &cell->sumsq);
        ok &= cell->new_visitors == k && cell->orders == ords
              && cell->converters == conv && cell->revenue == sum
              && w256_eq(&cum[v], &want) && (k > 0 || ords > 0);
    }

    /* each bucket once, with a point per variant; the last point's
     * revenue per visitor as the report's total over its visitors */
    for (c = 0; c < s->ncells; c++) {
        if (c > 0 && s->cells[c].start == s->cells[c - 1].start) {
            continue;
        }
        for (v = 0; v < nv; v++, pt++) {
            ok &= pt < x->ntrend && x->trend[pt].start == s->cells[c].start
                  && x->trend[pt].variant == v;
        }
    }
    ok &= pt == x->ntrend;

    for (v = 0; ok && x->ntrend > 0 && v < nv; v++) {
        const ab_rtrend_t  *t = &x->trend[x->ntrend - nv + v];

        n = 0;
        sum = 0;
        for (i = 0; i < st->nmemb; i++) {
            if (st->membs[i].exp == e
                && st->membs[i].var == (uint16_t) orders[e][v])
            {
                n++;
            }
        }
        for (j = 0; j < p->nbuys; j++) {
            if (st->membs[p->buys[j].memb].exp == e
                && st->membs[p->buys[j].memb].var == (uint16_t) orders[e][v])
            {
                sum += p->buys[j].revenue;
            }
        }
        ok &= t->visitors == n
              && (n == 0 ? isnan(t->rpv)
                  : fabs(t->rpv - (double) sum / 1e6 / (double) n)
                    <= 1e-12 * fabs(t->rpv));
    }

    return ok;
}


static void
shuffle(uint32_t *a, size_t n)
{
    size_t    i, j;
    uint32_t  t;

    for (i = n; i > 1; i--) {
        j = below(i);
        t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}


/* ROUNDS splits of all memberships into 1 to 9 groups (some empty),
 * each group's list in a random order, the groups' sums added in a
 * random order, pairwise half of the time. */
static void
splits(const ab_pass_t *p, int e, const ab_config_t *cfg,
    const ab_trend_sums_t *whole, const ab_rexp_t *xw)
{
    uint32_t         *lists[9], perm[9];
    size_t            nlist[9], i, g, k, r, bad_sums = 0, bad_series = 0;
    size_t            fails = 0, nonempty = 0;
    ab_trend_sums_t   part[9], acc;
    ab_msel_t         sel;
    ab_rexp_t         x;

    for (g = 0; g < 9; g++) {
        lists[g] = malloc(NMEMB * sizeof(uint32_t));
    }

    for (r = 0; r < ROUNDS; r++) {
        k = 1 + below(9);
        memset(nlist, 0, sizeof(nlist));
        for (i = 0; i < NMEMB; i++) {
            g = below(k);
            lists[g][nlist[g]++] = (uint32_t) i;
        }

        memset(&acc, 0, sizeof(acc));
        for (g = 0; g < k; g++) {
            shuffle(lists[g], nlist[g]);
            memset(&sel, 0, sizeof(sel));
            sel.list = lists[g];
            sel.nlist = nlist[g];
            fails += ab_trend_sums(p, e, p->cfg->bucket, &sel, &part[g]) != 0;
            nonempty += part[g].ncells > 0;
        }

        if (below(2)) {
            /* (0 + 1) + (2 + 3) + ...: sums of sums */
            for (g = 0; g + 1 < k; g += 2) {
                fails += ab_trend_sums_add(&part[g], &part[g + 1]) != 0;
                ab_trend_sums_free(&part[g + 1]);
            }
        }
        for (g = 0; g < k; g++) {
            perm[g] = (uint32_t) g;
        }
        shuffle(perm, k);
        for (i = 0; i < k; i++) {
            g = perm[i];
            fails += ab_trend_sums_add(&acc, &part[g]) != 0;
            ab_trend_sums_free(&part[g]);
        }

        bad_sums += !same_sums(&acc, whole);
        /* the series is slow (t quantiles): of some rounds only */
        if (r % 8 == 0) {
            fails += series(&acc, e, cfg, &x) != 0;
            bad_series += !same_series(&x, xw);
            free(x.trend);
        }
        ab_trend_sums_free(&acc);
    }

    tap_ok(fails == 0, "exp %d: every build and add succeeded", e);
    tap_ok(nonempty > ROUNDS, "exp %d: the groups had cells (%zu)", e,
           nonempty);
    tap_ok(bad_sums == 0, "exp %d: %d random splits add up to the cells "
           "at once (%zu differ)", e, ROUNDS, bad_sums);
    tap_ok(bad_series == 0, "exp %d: and to the same series, memcmp, in "
           "%d of them (%zu differ)", e, (ROUNDS + 7) / 8, bad_series);

    for (g = 0; g < 9; g++) {
        free(lists[g]);
    }
}


static void
invalid(const ab_trend_sums_t *whole, const ab_config_t *cfg)
{
    ab_trend_sums_t   s;
    ab_trend_cell_t  *c;
    ab_rexp_t         x;

    if (whole->ncells < 2) {
        tap_ok(0, "cells to spoil");
        return;
    }
    c = malloc(whole->ncells * sizeof(*c));
    memcpy(c, whole->cells, whole->ncells * sizeof(*c));
    s.cells = c;
    s.ncells = whole->ncells;

    tap_ok(ab_trend_sums_valid(&s, nvars[0]), "the sums at once are valid");
    c[1] = c[0];
    tap_ok(!ab_trend_sums_valid(&s, nvars[0]), "a key twice is not");
    tap_ok(series(&s, 0, cfg, &x) == -1, "... and makes no series");
    free(x.trend);
    memcpy(c, whole->cells, whole->ncells * sizeof(*c));
    c[0].start = c[1].start + 1;
    tap_ok(!ab_trend_sums_valid(&s, nvars[0]), "buckets out of order are not");
    memcpy(c, whole->cells, whole->ncells * sizeof(*c));
    c[0].variant = nvars[0];
    tap_ok(!ab_trend_sums_valid(&s, nvars[0]), "a variant id past the "
           "experiment's is not");
    free(c);
}


int
main(void)
{
    ab_state_t       st;
    ab_intern_t      vars[NEXP];
    ab_pass_t        p, q;
    ab_config_t      cfg;
    ab_trend_sums_t  whole, again, empty;
    ab_rexp_t        xw, xt;
    size_t           i, j, huge = 0;
    ab_buy_t         t;
    int              e, hour, ok;

    make_pass(&st, vars, &p);
    memset(&cfg, 0, sizeof(cfg));
    cfg.alpha = 0.05;
    cfg.seq_tuning = 5000;
    p.cfg = &cfg;

    /* the same purchases in another order: the pass's order is that of
     * the spool and the orders table, nothing the sums may depend on */
    q = p;
    q.buys = malloc(p.nbuys * sizeof(*q.buys));
    memcpy(q.buys, p.buys, p.nbuys * sizeof(*q.buys));
    for (i = p.nbuys; i > 1; i--) {
        j = below(i);
        t = q.buys[i - 1];
        q.buys[i - 1] = q.buys[j];
        q.buys[j] = t;
    }

    for (hour = 0; hour < 2; hour++) {
        cfg.bucket = hour ? AB_BUCKET_HOUR : AB_BUCKET_DAY;
        for (e = 0; e < NEXP; e++) {
            ok = ab_trend_sums(&p, e, cfg.bucket, NULL, &whole) == 0
                 && series(&whole, e, &cfg, &xw) == 0;
            tap_ok(ok && whole.ncells > nvars[e],
                   "%s exp %d: %zu cells, %zu points", hour ? "hour" : "day",
                   e, whole.ncells, xw.ntrend);
            for (i = 0; i < whole.ncells; i++) {
                huge += fabsl(ab_w256_ld(&whole.cells[i].sumsq)) >= 0x1p128L;
            }
            tap_ok(direct(&p, e, hour, &whole, &xw),
                   "exp %d: cells and series as counted directly", e);

            tap_ok(ab_trend_sums(&q, e, cfg.bucket, NULL, &again) == 0
                   && same_sums(&again, &whole),
                   "exp %d: purchases in another order, the same cells", e);
            ab_trend_sums_free(&again);

            memset(&xt, 0, sizeof(xt));
            xt.nvariants = nvars[e];
            tap_ok(ab_trend(&p, e, orders[e], &xt) == 0
                   && same_series(&xt, &xw),
                   "exp %d: ab_trend() is the series of the sums", e);
            free(xt.trend);

            splits(&p, e, &cfg, &whole, &xw);
            if (e == 0 && hour == 0) {
                invalid(&whole, &cfg);
            }
            free(xw.trend);
            ab_trend_sums_free(&whole);
        }
    }
    tap_ok(huge > 0, "some changes of a sum of squares passed 2^128 (%zu cells)", huge);

    /* an experiment nobody entered */
    vars[0].n = 2;
    for (i = 0; i < st.nmemb; i++) {
        st.membs[i].exp = 1;
    }
    memset(&empty, 0, sizeof(empty));
    tap_ok(ab_trend_sums(&p, 0, cfg.bucket, NULL, &whole) == 0 && whole.ncells == 0
           && series(&whole, 0, &cfg, &xw) == 0 && xw.ntrend == 0
           && ab_trend_sums_add(&whole, &empty) == 0 && whole.ncells == 0,
           "no visitors: no cells, no points");
    free(xw.trend);
    ab_trend_sums_free(&whole);

    free(st.membs);
    free(p.buys);
    free(q.buys);

    return tap_done();
}
