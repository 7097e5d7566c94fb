/*
 * abstat reduce --orders: the order round of docs/fleet.md. Every
 * occurrence of an order id, and every refund of it, is in one order
 * shard; here each id is resolved as ab_state_purchase() and
 * ab_state_refund() would (the earliest purchase, ties by revenue then
 * visitor key; refunds summed, saturating), and written to the visitor
 * shard of the visitor it belongs to, so that a reduce of a group of
 * visitor shards finds all of its visitors' orders final.
 */

#include "reduce.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "exitcode.h"
#include "shard.h"
#include "state.h"
#include "tab.h"

typedef struct {
    char      *order;
    size_t     order_len;
    char      *uid;             /* of the purchase kept */
    size_t     uid_len;
    ab_key_t   key;             /* of uid */
    int64_t    time;
    int64_t    revenue;
    int64_t    refund;
    uint64_t   refunds;
    uint64_t   purchases;
} rorder_t;

typedef struct {
    ab_tab_t   ids;
    rorder_t  *o;
    size_t     n, cap;
    int        oom;
} orders_t;


static rorder_t *
slot(orders_t *os, const char *order, size_t len)
{
    int        created;
    uint32_t  *v = ab_tab_put(&os->ids, ab_key_of(order, len), &created);
    rorder_t  *o;

    if (v == NULL) {
        return NULL;
    }
    if (!created) {
        return &os->o[*v];
    }
    if (ab_grow_array((void **) &os->o, &os->cap, os->n + 1, sizeof(*os->o))
        || (os->o[os->n].order = malloc(len ? len : 1)) == NULL)
    {
        /* the slot must not stay empty-marked with a key in it */
        *v = 0;
        return NULL;
    }
    o = &os->o[os->n];
    memset(&o->uid, 0, sizeof(*o) - offsetof(rorder_t, uid));
    memcpy(o->order, order, len);
    o->order_len = len;
    *v = (uint32_t) os->n++;

    return o;
}


/* Whether a purchase (t, revenue, key) goes before the one kept: the
 * order of ab_state_purchase(). */
static int
before(const rorder_t *o, int64_t t, int64_t revenue, ab_key_t k)
{
    if (t != o->time) {
        return t < o->time;
    }
    if (revenue != o->revenue) {
        return revenue < o->revenue;
    }

    return k.hi != o->key.hi ? k.hi < o->key.hi : k.lo < o->key.lo;
}


static int
on_purchase(void *ctx, const char *order, size_t olen, const char *uid,
    size_t ulen, int64_t t, int64_t revenue)
{
    orders_t  *os = ctx;
    rorder_t  *o = slot(os, order, olen);
    ab_key_t   k = ab_key_of(uid, ulen);
    char      *copy;

    if (o == NULL) {
        os->oom = 1;
        return -1;
    }
    if (o->purchases++ > 0 && !before(o, t, revenue, k)) {
        return 0;
    }
    if ((copy = malloc(ulen ? ulen : 1)) == NULL) {
        os->oom = 1;
        return -1;
    }
    memcpy(copy, uid, ulen);
    free(o->uid);
    o->uid = copy;
    o->uid_len = ulen;
    o->key = k;
    o->time = t;
    o->revenue = revenue;

    return 0;
}


static int
on_refund(void *ctx, const char *order, size_t olen, int64_t amount)
{
    orders_t  *os = ctx;
    rorder_t  *o = slot(os, order, olen);

    if (o == NULL) {
        os->oom = 1;
        return -1;
    }
    if (__builtin_add_overflow(o->refund, amount, &o->refund)) {
        o->refund = INT64_MAX;
    }
    o->refunds++;

    return 0;
}


static void
orders_free(orders_t *os)
{
    size_t  i;

    for (i = 0; i < os->n; i++) {
        free(os->o[i].order);
        free(os->o[i].uid);
    }
    free(os->o);
    ab_tab_free(&os->ids);
}


/* The default tag: a hash of the inputs, so that a retried round writes
 * the same names and other rounds other ones. */
static void
make_tag(const ab_reduce_args_t *a, char *tag, size_t size)
{
    XXH3_state_t  *h = XXH3_createState();
    uint64_t       d = 0;
    size_t         i;

    if (h != NULL) {
        XXH3_64bits_reset(h);
        for (i = 0; i < a->nfiles; i++) {
            XXH3_64bits_update(h, a->files[i], strlen(a->files[i]) + 1);
        }
        d = XXH3_64bits_digest(h);
        XXH3_freeState(h);
    }
    snprintf(tag, size, "orders-%016llx", (unsigned long long) d);
}


static int
write_out(const ab_reduce_args_t *a, orders_t *os, size_t p)
{
    ab_shard_out_t    *out;
    ab_shard_order_t   r;
    char               tag[AB_SHARD_TAG_MAX + 32], err[1024];
    size_t             i;

    if (a->tag != NULL) {
        snprintf(tag, sizeof(tag), "%s", a->tag);
    } else {
        make_tag(a, tag, sizeof(tag));
    }
    out = ab_shard_open_resolved(a->output, tag, p, err, sizeof(err));
    if (out == NULL) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_INTERNAL;
    }
    for (i = 0; i < os->n; i++) {
        const rorder_t  *o = &os->o[i];

        r.order = o->order;
        r.order_len = o->order_len;
        r.uid = o->purchases ? o->uid : "";
        r.uid_len = o->purchases ? o->uid_len : 0;
        r.time = o->time;
        r.revenue = o->revenue;
        r.refund = o->refund;
        r.refunds = o->refunds;
        r.purchases = o->purchases;
        if (ab_shard_put_resolved(out, &r) != 0) {
            fprintf(stderr, "abstat: %s\n", ab_shard_error(out));
            ab_shard_abort(out);
            return EXIT_INTERNAL;
        }
    }
    if (ab_shard_close(out, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_INTERNAL;
    }

    return 0;
}


int
ab_reduce_orders(const ab_reduce_args_t *a)
{
    ab_shard_orders_t  fn;
    orders_t           os;
    char               err[1024];
    size_t             i, p = 0, fp;
    int                rc, status = 0;

    memset(&os, 0, sizeof(os));
    fn.purchase = on_purchase;
    fn.refund = on_refund;
    fn.ctx = &os;

    for (i = 0; i < a->nfiles; i++) {
        rc = ab_shard_read_orders(a->files[i], &fn, &fp, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "abstat: out of memory\n");
            orders_free(&os);
            return EXIT_INTERNAL;
        }
        if (rc > 0) {
            /* a round that left out a file would be wrong, not partial */
            fprintf(stderr, "abstat: %s\n", err);
            orders_free(&os);
            return EXIT_INPUT;
        }
        if (p != 0 && fp != p) {
            fprintf(stderr, "abstat: %s: of %zu shards, the others of %zu\n",
                    a->files[i], fp, p);
            orders_free(&os);
            return EXIT_USAGE;
        }
        p = fp;
    }

    if (p > 0) {
        status = write_out(a, &os, p);
    }
    orders_free(&os);

    return status;
}
