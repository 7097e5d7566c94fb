/*
 * The reading state: record sizes behind the per-visitor memory budget,
 * entry times, multi-variant marking, order dedupe and the spool.
 */

#include "tap.h"

#include "analyze.h"
#include "state.h"

static uint64_t  seen_recs;
static int64_t   last_time;
static int       in_order = 1;


static void
count_rec(void *ctx, const ab_rec_t *rec)
{
    (void) ctx;
    seen_recs++;
    in_order &= rec->time == last_time + 1;
    last_time = rec->time;
}


static void
test_sizes(void)
{
    /* A visitor in one experiment: table slot (20 bytes at a load of at
     * least 3/8, so at most 54), list head 4, membership 16, totals 40
     * (a 128-bit revenue sum, which cannot wrap). */
    size_t  per_visitor = 54 + 4 + sizeof(ab_memb_t) + sizeof(ab_vagg_t);

    tap_ok(sizeof(ab_memb_t) == 16, "membership is 16 bytes");
    tap_ok(sizeof(ab_rec_t) == 24, "spool record is 24 bytes");
    tap_ok(sizeof(ab_vagg_t) == 40, "per-membership totals are 40 bytes");
    tap_ok(per_visitor < 200, "worst case per visitor %zu < 200 bytes",
           per_visitor);
}


static void
test_exposures(void)
{
    ab_state_t  st;
    uint32_t    v1, v2;
    int         e, a, b;

    ab_state_init(&st);

    v1 = ab_state_visitor(&st, "visitor-one", 11);
    v2 = ab_state_visitor(&st, "visitor-two", 11);
    tap_ok(v1 != v2 && ab_state_visitor(&st, "visitor-one", 11) == v1,
           "visitors by uid");

    e = ab_state_exp(&st, "exp", 3);
    a = ab_intern(&st.vars[e], "a", 1);
    b = ab_intern(&st.vars[e], "b", 1);

    ab_state_expose(&st, v1, e, a, 300, NULL, 0);
    ab_state_expose(&st, v1, e, a, 100, NULL, 0);
    ab_state_expose(&st, v1, e, a, 200, NULL, 0);
    tap_ok(st.nmemb == 1 && st.membs[0].entry == 100,
           "entry is the earliest exposure in any order");

    ab_state_expose(&st, v2, e, a, 10, NULL, 0);
    ab_state_expose(&st, v2, e, b, 20, NULL, 0);
    ab_state_expose(&st, v2, e, b, 30, NULL, 0);
    tap_ok(st.membs[1].var == AB_VAR_MULTI, "second variant: multi");
    tap_ok(st.multi.n == 2, "both variants remembered once each");

    ab_state_purchase(&st, v1, "O1", 2, 500, 10);
    ab_state_purchase(&st, v1, "O1", 2, 400, 20);
    ab_state_purchase(&st, v2, "O1", 2, 400, 30);
    tap_ok(st.norders == 1 && st.orders[0].time == 400
           && st.orders[0].revenue == 20 && st.orders[0].vis == v1,
           "earliest occurrence kept; the smaller revenue at equal times");
    tap_ok(st.duplicate_orders == 2, "two duplicates");

    ab_state_refund(&st, "O1", 2, 5);
    ab_state_refund(&st, "O9", 2, 5);
    ab_state_refund(&st, "", 0, 5);
    tap_ok(st.orders[0].refund == 5 && st.orphan_refunds == 1
           && st.norders == 2 && !st.orders[1].purchased,
           "refunds kept by order; without id an orphan at once");

    ab_state_free(&st);
}


static int
key_lt(ab_key_t a, ab_key_t b)
{
    return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}


/* Visitors buy one order at the same time for the same revenue: the one
 * kept (the smallest key) must not depend on which line is read first.
 * The third is made after the first tie made the reverse array. */
static void
test_purchase_tie(void)
{
    static const char  *uid[3] = { "tie-one", "tie-two", "tie-three" };
    ab_state_t          st;
    uint32_t            v[3];
    size_t              best, i, j;
    int                 order;

    for (best = 0, i = 1; i < 3; i++) {
        if (key_lt(ab_key_of(uid[i], strlen(uid[i])),
                   ab_key_of(uid[best], strlen(uid[best]))))
        {
            best = i;
        }
    }

    for (order = 0; order < 3; order++) {
        ab_state_init(&st);
        for (i = 0; i < 2; i++) {
            v[i] = ab_state_visitor(&st, uid[i], strlen(uid[i]));
        }
        for (i = 0; i < 3; i++) {
            j = (i + (size_t) order) % 3;
            if (j == 2) {
                v[2] = ab_state_visitor(&st, uid[2], strlen(uid[2]));
            }
            ab_state_purchase(&st, v[j], "T1", 2, 700, 50);
        }
        tap_ok(st.orders[0].vis == v[best] && st.duplicate_orders == 2,
               "equal time and revenue: the smallest visitor key, order %d",
               order);
        ab_state_free(&st);
    }
}


/* Bad-line samples: the least by line, reason, file, in any order. */
static void
test_samples(void)
{
    ab_state_t   st;
    int          i, ok = 1;

    ab_state_init(&st);
    for (i = 30; i > 0; i--) {
        ab_state_bad(&st, i % 2 ? "b" : "a", (uint64_t) (i + 1) / 2, "why");
    }
    tap_ok(st.bad_lines == 30 && st.nbad == AB_BAD_SAMPLES, "30 counted, "
           "10 kept");
    for (i = 0; i < AB_BAD_SAMPLES; i++) {
        ok &= st.bad[i].line == (uint64_t) (i / 2 + 1)
              && strcmp(st.bad[i].file, i % 2 ? "b" : "a") == 0;
    }
    tap_ok(ok, "kept: the least lines, a tie by file name");
    ab_state_free(&st);
}


static void
test_spool(void)
{
    ab_state_t  st;
    ab_rec_t    r;
    int64_t     i, n = 5000000;        /* past the 2M kept in memory, twice */

    ab_state_init(&st);
    memset(&r, 0, sizeof(r));
    for (i = 1; i <= n; i++) {
        r.time = i;
        ab_state_record(&st, &r);
    }
    tap_ok(st.spool != NULL, "records past the buffer go to the spool file");
    ab_state_each_record(&st, count_rec, NULL);
    tap_ok(seen_recs == (uint64_t) n && in_order,
           "every record read back once, in order");
    ab_state_free(&st);
}


int
main(void)
{
    test_sizes();
    test_exposures();
    test_purchase_tie();
    test_samples();
    test_spool();

    return tap_done();
}
