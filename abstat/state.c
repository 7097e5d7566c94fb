/*
 * The tables of state.h and their updates. Arrays grow by doubling, so a
 * line costs no allocation except when a table crosses a power of two.
 */

#include "state.h"

#include "audit.h"
#include "bigmem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* node ids are kept in 16 bits per membership */
_Static_assert(AB_AUDIT_MAX_NODES <= 65536, "node ids past 16 bits");

/* Records stay in memory up to RBUF_MAX (48 MB: a day of a busy shop
 * without a temporary file), then go to the spool RBUF_MAX at a time. */
#define RBUF_RECS  (64 * 1024)
#define RBUF_MAX   (2 * 1024 * 1024)


int
ab_grow_array(void **arr, size_t *cap, size_t need, size_t size)
{
    size_t  ncap;
    void   *p;

    if (need <= *cap) {
        return 0;
    }

    ncap = *cap ? *cap * 2 : 1024;
    while (ncap < need) {
        ncap *= 2;
    }

    p = realloc(*arr, ncap * size);
    if (p == NULL) {
        return -1;
    }
    ab_huge_pages(p, ncap * size);

    *arr = p;
    *cap = ncap;

    return 0;
}


int
ab_resize_zero(void **arr, size_t n, size_t need, size_t size)
{
    void  *p = realloc(*arr, (need ? need : 1) * size);

    if (p == NULL) {
        return -1;
    }
    ab_huge_pages(p, (need ? need : 1) * size);
    if (need > n) {
        memset((char *) p + n * size, 0, (need - n) * size);
    }
    *arr = p;

    return 0;
}


int
ab_state_init(ab_state_t *st)
{
    size_t  i;

    memset(st, 0, sizeof(*st));

    ab_intern_init(&st->exps, AB_MAX_EXPERIMENTS);
    ab_intern_init(&st->events, AB_MAX_EVENT_NAMES);
    for (i = 0; i < AB_BY_MAX; i++) {
        ab_intern_init(&st->segvals[i], AB_SEG_VALUES_MAX);
    }

    return 0;
}


int
ab_state_by(ab_state_t *st, const ab_by_t *by)
{
    size_t  d;

    st->nseg = by ? by->n : 0;
    ab_by_spec(by, st->seg_spec, sizeof(st->seg_spec));
    for (d = 0; d < st->nseg; d++) {
        if (ab_intern(&st->segvals[d], AB_SEG_OTHER,
                      sizeof(AB_SEG_OTHER) - 1) < 0)
        {
            return -1;
        }
    }

    return 0;
}


int
ab_state_seg_id(ab_state_t *st, size_t d, const char *s, size_t len)
{
    ab_intern_t  *t = &st->segvals[d];
    int           id = ab_intern(t, s, len);

    if (id < 0 && t->n >= t->limit) {
        /* the limit is of distinct values: "other" is one of them, kept
         * first so that it is always there */
        st->seg_overflow++;
        id = ab_intern_find(t, AB_SEG_OTHER, sizeof(AB_SEG_OTHER) - 1);
    }

    return id;
}


int
ab_state_exp(ab_state_t *st, const char *name, size_t len)
{
    ab_intern_t  *vars;
    size_t        cap, i;
    int           e = ab_intern(&st->exps, name, len);

    if (e < 0 || (size_t) e < st->vars_cap) {
        return e;
    }

    /* the variant tables grow with the experiments: most logs name a few,
     * and a fresh state (one per fuzz input, per loaded state file) should
     * not pay for thousands */
    cap = st->vars_cap ? st->vars_cap * 2 : 8;
    while (cap <= (size_t) e) {
        cap *= 2;
    }
    vars = realloc(st->vars, cap * sizeof(*vars));
    if (vars == NULL) {
        return -1;
    }
    for (i = st->vars_cap; i < cap; i++) {
        ab_intern_init(&vars[i], AB_MAX_EXP_VARIANTS);
    }
    st->vars = vars;
    st->vars_cap = cap;

    return e;
}


void
ab_state_free(ab_state_t *st)
{
    size_t  i;

    for (i = 0; i < st->vars_cap; i++) {
        ab_intern_free(&st->vars[i]);
    }
    free(st->vars);
    ab_intern_free(&st->exps);
    ab_intern_free(&st->events);
    for (i = 0; i < AB_BY_MAX; i++) {
        ab_intern_free(&st->segvals[i]);
    }
    free(st->segs);
    free(st->memb_node);
    free(st->ua_cache);
    ab_tab_free(&st->visitors);
    ab_tab_free(&st->multi);
    ab_tab_free(&st->order_ids);
    free(st->heads);
    free(st->tie_keys);
    free(st->membs);
    free(st->orders);
    free(st->rbuf);
    free(st->fold_agg);
    free(st->fold_pre);
    free(st->fold_ebe);
    free(st->vis_fold_events);
    free(st->vis_last);
    ab_tab_free(&st->fold_seen);
    ab_tab_free(&st->fold_seen_pre);
    ab_audit_free(st->audit);
    for (i = 0; i < AB_BAD_SAMPLES; i++) {
        free(st->bad_files[i]);
    }
    if (st->spool) {
        fclose(st->spool);
    }
    memset(st, 0, sizeof(*st));
}


/*
 * The order of samples: by line number, then reason, then file name:
 * independent of the order files are read in, and of their names where
 * that can be (a log read by --state runs under its name then and by a
 * full run under its rotated name gives the same samples).
 */
static int
bad_cmp(const char *file, uint64_t line, const char *reason,
    const ab_bad_t *b)
{
    int  c;

    if (line != b->line) {
        return line < b->line ? -1 : 1;
    }
    if ((c = strcmp(reason, b->reason)) != 0) {
        return c;
    }

    return strcmp(file, b->file);
}


void
ab_state_sample(ab_state_t *st, const char *file, uint64_t line,
    const char *reason)
{
    char    cut[AB_REASON_MAX];
    size_t  i;

    /* compared as kept: cut to the room of a sample */
    snprintf(cut, sizeof(cut), "%s", reason);

    if (st->nbad == AB_BAD_SAMPLES
        && bad_cmp(file, line, cut, &st->bad[st->nbad - 1]) >= 0)
    {
        return;
    }
    if (st->nbad < AB_BAD_SAMPLES) {
        st->nbad++;
    }
    for (i = st->nbad - 1;
         i > 0 && bad_cmp(file, line, cut, &st->bad[i - 1]) < 0;
         i--)
    {
        st->bad[i] = st->bad[i - 1];
    }
    st->bad[i].file = file;
    st->bad[i].line = line;
    memcpy(st->bad[i].reason, cut, sizeof(cut));
}


int
ab_state_bad(ab_state_t *st, const char *file, uint64_t line,
    const char *reason)
{
    ab_state_sample(st, file, line, reason);

    return ++st->bad_lines <= AB_BAD_SAMPLES;
}


uint32_t
ab_state_visitor(ab_state_t *st, const char *uid, size_t len)
{
    return ab_state_visitor_key(st, ab_key_of(uid, len));
}


uint32_t
ab_state_visitor_key(ab_state_t *st, ab_key_t key)
{
    int        created;
    uint32_t  *slot = ab_tab_put(&st->visitors, key, &created);

    if (slot == NULL) {
        st->oom = 1;
        return AB_NONE;
    }

    if (!created) {
        return *slot;
    }

    if (st->nvis >= AB_NONE - 1
        || ab_grow_array((void **) &st->heads, &st->capvis, st->nvis + 1,
                      sizeof(*st->heads)))
    {
        /* The slot must not stay empty-marked with a key in it. */
        *slot = 0;
        st->oom = 1;
        return AB_NONE;
    }

    st->heads[st->nvis] = AB_NONE;
    *slot = (uint32_t) st->nvis;

    if (st->tie_keys != NULL) {
        if (ab_grow_array((void **) &st->tie_keys, &st->captie,
                          st->nvis + 1, sizeof(*st->tie_keys)))
        {
            st->oom = 1;
            return AB_NONE;
        }
        st->tie_keys[st->nvis] = key;
    }

    return (uint32_t) st->nvis++;
}


static int
multi_add(ab_state_t *st, uint32_t memb, int var)
{
    int        created;
    uint32_t  *slot = ab_tab_put(&st->multi, ab_key_pair(memb, (uint64_t) var),
                                 &created);

    if (slot == NULL) {
        st->oom = 1;
        return -1;
    }

    *slot = 1;

    return 0;
}


/* The entry line's segment values into membership m's: all of them for
 * a new or earlier entry, the smaller of each on a tie. */
static void
entry_segs(ab_state_t *st, size_t m, const uint16_t *seg, int tie)
{
    uint16_t  *have = st->segs + m * st->nseg;
    size_t     d;

    for (d = 0; d < st->nseg; d++) {
        if (!tie || strcmp(st->segvals[d].names[seg[d]],
                           st->segvals[d].names[have[d]]) < 0)
        {
            have[d] = seg[d];
        }
    }
}


/* Membership m's entry node: node for a new or earlier entry, the one
 * of the bytewise smaller name on a tie. Nothing is kept (nor
 * allocated) until a line has a node: before, every entry is at
 * "(unknown)", id 0, which the zeroed array says of those made so far. */
static int
entry_node(ab_state_t *st, size_t m, uint32_t node, int isnew, int tie)
{
    const ab_intern_t  *names;
    size_t              cap = st->capmemb_node;

    if (node == 0 && st->memb_node == NULL) {
        return 0;
    }
    /* room for every membership, m (at most st->nmemb) included */
    if (st->nmemb >= cap) {
        if (ab_grow_array((void **) &st->memb_node, &st->capmemb_node,
                          st->nmemb + 1, sizeof(*st->memb_node)) != 0)
        {
            st->oom = 1;
            return -1;
        }
        memset(st->memb_node + cap, 0,
               (st->capmemb_node - cap) * sizeof(*st->memb_node));
    }
    names = &st->audit->nodes;
    if (isnew || !tie
        || strcmp(names->names[node], names->names[st->memb_node[m]]) < 0)
    {
        st->memb_node[m] = (uint16_t) node;
    }

    return 0;
}


uint32_t
ab_state_memb(const ab_state_t *st, uint32_t vis, int exp)
{
    uint32_t  m;

    for (m = st->heads[vis]; m != AB_NONE; m = st->membs[m].next) {
        if (st->membs[m].exp == exp) {
            break;
        }
    }

    return m;
}


int
ab_state_expose(ab_state_t *st, uint32_t vis, int exp, int var, int64_t t,
    const uint16_t *seg, uint32_t node)
{
    uint32_t    m = ab_state_memb(st, vis, exp);
    ab_memb_t  *mb;

    if (st->folded && t < st->fold_wm && vis < st->nfold_vis
        && (m == AB_NONE || t < st->membs[m].entry))
    {
        /* Records of this visitor older than the watermark were folded
         * against the entries known then: this entry may have needed
         * some of them (see fold.c). */
        st->late_exposures++;
    }

    if (m == AB_NONE) {
        if (st->nmemb >= AB_NONE - 1
            || ab_grow_array((void **) &st->membs, &st->capmemb, st->nmemb + 1,
                          sizeof(*st->membs))
            || (st->nseg > 0
                && ab_grow_array((void **) &st->segs, &st->capsegs,
                                 (st->nmemb + 1) * st->nseg,
                                 sizeof(*st->segs))))
        {
            st->oom = 1;
            return -1;
        }
        if (entry_node(st, st->nmemb, node, 1, 0) != 0) {
            return -1;
        }
        if (seg != NULL) {
            entry_segs(st, st->nmemb, seg, 0);
        }
        mb = &st->membs[st->nmemb];
        mb->exp = (uint16_t) exp;
        mb->var = (uint16_t) var;
        mb->entry = t;
        mb->next = st->heads[vis];
        st->heads[vis] = (uint32_t) st->nmemb++;
        return 0;
    }

    mb = &st->membs[m];
    if (t <= mb->entry && entry_node(st, m, node, 0, t == mb->entry) != 0) {
        return -1;
    }
    if (seg != NULL && t <= mb->entry) {
        entry_segs(st, m, seg, t == mb->entry);
    }
    if (t < mb->entry) {
        mb->entry = t;
    }

    if (mb->var == var) {
        return 0;
    }

    /* A second variant: the visitor leaves the analysis of this
     * experiment, and each variant it saw counts one multi_variant. */
    if (mb->var != AB_VAR_MULTI) {
        if (multi_add(st, m, mb->var) != 0) {
            return -1;
        }
        mb->var = AB_VAR_MULTI;
    }

    return multi_add(st, m, var);
}


/* An unlinked file in $TMPDIR: tmpfile() would ignore TMPDIR, and the
 * spool can be large. */
static FILE *
spool_open(void)
{
    const char  *dir = getenv("TMPDIR");
    char         path[4096];
    int          fd;
    FILE        *f;

    snprintf(path, sizeof(path), "%s/abstat-spool-XXXXXX",
             dir && *dir ? dir : "/tmp");

    fd = mkstemp(path);
    if (fd < 0) {
        return NULL;
    }
    unlink(path);

    f = fdopen(fd, "w+b");
    if (f == NULL) {
        close(fd);
    }

    return f;
}


static int
spool_flush(ab_state_t *st)
{
    if (st->rbuf_n == 0) {
        return 0;
    }

    if (st->spool == NULL && (st->spool = spool_open()) == NULL) {
        return -1;
    }

    if (fwrite(st->rbuf, sizeof(*st->rbuf), st->rbuf_n, st->spool)
        != st->rbuf_n)
    {
        return -1;
    }

    st->rbuf_n = 0;

    return 0;
}


int
ab_state_record(ab_state_t *st, const ab_rec_t *rec)
{
    ab_rec_t  *grown;
    size_t     cap;

    if (st->rbuf_n == st->rbuf_cap) {
        if (st->rbuf_cap < RBUF_MAX) {
            /* grown as needed: a run that only loads or reports a state
             * (and the state-file fuzz target) allocates none */
            cap = st->rbuf_cap ? st->rbuf_cap * 2 : RBUF_RECS;
            grown = realloc(st->rbuf, cap * sizeof(*st->rbuf));
            if (grown == NULL) {
                st->oom = 1;
                return -1;
            }
            st->rbuf = grown;
            st->rbuf_cap = cap;

        } else if (spool_flush(st) != 0) {
            st->oom = 1;
            st->spool_failed = 1;
            return -1;
        }
    }

    if (rec->kind == AB_REC_REQUEST) {
        /* The watermark of --state follows the access log only: an
         * events file may carry any times. */
        if (rec->time > st->max_time) {
            st->max_time = rec->time;
        }
        if (rec->time > st->file_max_time) {
            st->file_max_time = rec->time;
        }
    }

    st->rbuf[st->rbuf_n++] = *rec;
    st->nrecs++;

    return 0;
}


/* Records come in file order, visitors at random: their memberships are
 * fetched a few records ahead, in two steps (the head, then the first
 * membership it points to). */
static void
each_in(const ab_state_t *st, const ab_rec_t *r, size_t n,
    void (*fn)(void *ctx, const ab_rec_t *rec), void *ctx)
{
    size_t    i;
    uint32_t  m;

    for (i = 0; i < n; i++) {
#if defined(__GNUC__)
        if (i + 16 < n && r[i + 16].vis < st->nvis) {
            __builtin_prefetch(&st->heads[r[i + 16].vis]);
        }
        if (i + 8 < n && r[i + 8].vis < st->nvis
            && (m = st->heads[r[i + 8].vis]) != AB_NONE)
        {
            __builtin_prefetch(&st->membs[m]);
        }
#endif
        fn(ctx, &r[i]);
    }
}


int
ab_state_each_record(ab_state_t *st,
    void (*fn)(void *ctx, const ab_rec_t *rec), void *ctx)
{
    ab_rec_t  *chunk;
    size_t     n;

    if (st->spool != NULL) {
        /* The spooled part first, through a buffer of its own, then the
         * tail still in memory. */
        chunk = malloc(RBUF_RECS * sizeof(*chunk));
        if (chunk == NULL || fflush(st->spool) != 0) {
            free(chunk);
            return -1;
        }
        rewind(st->spool);
        while ((n = fread(chunk, sizeof(*chunk), RBUF_RECS, st->spool)) > 0) {
            each_in(st, chunk, n, fn, ctx);
        }
        n = (size_t) ferror(st->spool);
        free(chunk);
        if (n) {
            return -1;
        }
    }

    each_in(st, st->rbuf, st->rbuf_n, fn, ctx);

    return 0;
}


/* Where filtered records are written: a spool of their own, swapped in
 * when the whole set has been read. */
typedef struct {
    int        (*keep)(void *ctx, ab_rec_t *rec);
    void        *ctx;
    ab_state_t   out;           /* only spool, rbuf and nrecs are used */
    int          failed;
} filter_t;


static void
filter_one(void *ctx, const ab_rec_t *rec)
{
    filter_t  *f = ctx;
    ab_rec_t   copy = *rec;

    if (!f->failed && f->keep(f->ctx, &copy)
        && ab_state_record(&f->out, &copy) != 0)
    {
        f->failed = 1;
    }
}


int
ab_state_filter_records(ab_state_t *st,
    int (*fn)(void *ctx, ab_rec_t *rec), void *ctx)
{
    filter_t  f;

    memset(&f, 0, sizeof(f));
    f.keep = fn;
    f.ctx = ctx;
    if (ab_state_each_record(st, filter_one, &f) != 0 || f.failed) {
        free(f.out.rbuf);
        if (f.out.spool) {
            fclose(f.out.spool);
        }
        st->oom = 1;
        st->spool_failed = f.failed;
        return -1;
    }

    if (st->spool) {
        fclose(st->spool);
    }
    free(st->rbuf);
    st->spool = f.out.spool;
    st->rbuf = f.out.rbuf;
    st->rbuf_n = f.out.rbuf_n;
    st->rbuf_cap = f.out.rbuf_cap;
    st->nrecs = f.out.nrecs;

    return 0;
}


static ab_order_t *
order_slot(ab_state_t *st, const char *order, size_t len)
{
    int        created;
    uint32_t  *slot = ab_tab_put(&st->order_ids, ab_key_of(order, len),
                                 &created);
    ab_order_t *o;

    if (slot == NULL) {
        st->oom = 1;
        return NULL;
    }

    if (!created) {
        return &st->orders[*slot];
    }

    if (ab_grow_array((void **) &st->orders, &st->caporders, st->norders + 1,
                   sizeof(*st->orders)))
    {
        *slot = 0;
        st->oom = 1;
        return NULL;
    }

    o = &st->orders[st->norders];
    memset(o, 0, sizeof(*o));
    *slot = (uint32_t) st->norders++;

    return o;
}


/*
 * The key of visitor vis. Visitors are found by key, never the other
 * way, so the first call makes the reverse array (a scan of the table)
 * and ab_state_visitor_key() extends it from then on. Only a tie of two
 * purchases of one order at the same time and revenue by two visitors
 * asks, which a sound log never has.
 */
static ab_key_t
vis_key(ab_state_t *st, uint32_t vis)
{
    ab_key_t  none = { 0, 0 };
    size_t    i;

    if (st->tie_keys == NULL) {
        st->tie_keys = calloc(st->capvis ? st->capvis : 1,
                              sizeof(*st->tie_keys));
        if (st->tie_keys == NULL) {
            st->oom = 1;
            return none;
        }
        st->captie = st->capvis;
        for (i = 0; i < st->visitors.cap; i++) {
            if (st->visitors.vals[i] != AB_TAB_EMPTY
                && st->visitors.vals[i] < st->nvis)
            {
                st->tie_keys[st->visitors.vals[i]] = st->visitors.keys[i];
            }
        }
    }

    return vis < st->nvis ? st->tie_keys[vis] : none;
}


static int
key_less(ab_key_t a, ab_key_t b)
{
    return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}


int
ab_state_purchase(ab_state_t *st, uint32_t vis, const char *order,
    size_t len, int64_t t, int64_t revenue)
{
    ab_order_t  *o = order_slot(st, order, len);

    if (o == NULL) {
        return -1;
    }

    if (o->purchased) {
        st->duplicate_orders++;
        /* The earliest stays; at equal times the smaller revenue, then
         * the visitor of the smaller key: a total order, so that the
         * order of lines and files (or of shards, fleet.md) does not
         * matter. */
        if (t > o->time
            || (t == o->time
                && (revenue > o->revenue
                    || (revenue == o->revenue
                        && (vis == o->vis
                            || !key_less(vis_key(st, vis),
                                         vis_key(st, o->vis)))))))
        {
            return st->oom ? -1 : 0;
        }
    }

    o->purchased = 1;
    o->time = t;
    o->vis = vis;
    o->revenue = revenue;

    return 0;
}


int
ab_state_refund(ab_state_t *st, const char *order, size_t len,
    int64_t amount)
{
    return ab_state_refunds(st, order, len, amount, 1);
}


int
ab_state_refunds(ab_state_t *st, const char *order, size_t len,
    int64_t amount, uint32_t count)
{
    ab_order_t  *o;

    if (len == 0) {
        st->orphan_refunds += count;
        return 0;
    }

    if ((o = order_slot(st, order, len)) == NULL) {
        return -1;
    }

    /* Saturating: any excess over the order's revenue is capped anyway
     * (analyze.c), and INT64_MAX is above any one revenue. */
    if (__builtin_add_overflow(o->refund, amount, &o->refund)) {
        o->refund = INT64_MAX;
    }
    o->refunds += count;

    return 0;
}
