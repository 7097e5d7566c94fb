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

    ab_state_expose(&st, v1, e, a, 300, NULL);
    ab_state_expose(&st, v1, e, a, 100, NULL);
    ab_state_expose(&st, v1, e, a, 200, NULL);
    tap_ok(st.nmemb == 1 && st.membs[0].entry == 100,
           "entry is the earliest exposure in any order");

    ab_state_expose(&st, v2, e, a, 10, NULL);
    ab_state_expose(&st, v2, e, b, 20, NULL);
    ab_state_expose(&st, v2, e, b, 30, NULL);
    tap_ok(st.membs[1].var == AB_VAR_MULTI, "second variant: multi");
    tap_ok(st.multi.n == 2, "both variants remembered once each");

    ab_state_purchase(&st, v1, "O1", 2, 500, 10);
    ab_state_purchase(&st, v1, "O1", 2, 400, 20);
    ab_state_purchase(&st, v2, "O1", 2, 400, 30);
    tap_ok(st.norders == 1 && st.orders[0].time == 400
           && st.orders[0].revenue == 20 && st.orders[0].vis == v1,
           "earliest occurrence kept; first read among equal times");
    tap_ok(st.duplicate_orders == 2, "two duplicates");

    ab_state_refund(&st, "O1", 2, 5);
    ab_state_refund(&st, "O9", 2, 5);
    ab_state_refund(&st, "", 0, 5);
    tap_ok(st.orders[0].refund == 5 && st.orphan_refunds == 1
           && st.norders == 2 && !st.orders[1].purchased,
           "refunds kept by order; without id an orphan at once");

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
    test_spool();

    return tap_done();
}
