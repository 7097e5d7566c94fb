/*
 * The state file (persist.h). Layout, all in this machine's byte order:
 *
 *   header    "ABSTATST", version, byte-order mark, struct sizes
 *   options   --since, --until, --experiment names
 *   files     run number, file entries
 *   counters  input counters, bad-line samples, watermark
 *   names     experiments, their variants, funnel events
 *   tables    visitors, memberships, folded totals, multi-variant pairs,
 *             orders, folded (membership, event) pairs
 *   records   the records not folded yet
 *   trailer   XXH3-64 of everything before it
 *
 * Loading checks the trailer first (a damaged file is refused whole),
 * then every index, so that even a consistent but foreign file cannot
 * make a list loop or an index point outside its table.
 */

#include "persist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xxhash.h>

#include "audit.h"

#define MAGIC       "ABSTATST"
#define BOM         0x01020304u
#define NAME_MAX_   4096

/* Writing goes through a buffer of our own and reading through a map of
 * the whole file: a state of millions of visitors is tens of millions of
 * varints, and a stdio call for each was a third of a run's time. */
#define WBUF_SIZE   (1 << 20)

typedef struct {
    int                   fd;       /* writing */
    XXH3_state_t         *h;
    unsigned char        *buf;
    size_t                len;
    const unsigned char  *p;        /* reading: the next byte */
    const unsigned char  *end;
    int                   err;
    uint64_t              size;     /* reading: of the file, bounds counts */
} io_t;


/* ---- writing ---- */

static void
wflush(io_t *io)
{
    size_t   off;
    ssize_t  n;

    if (io->err || io->len == 0) {
        return;
    }
    XXH3_64bits_update(io->h, io->buf, io->len);
    for (off = 0; off < io->len; off += (size_t) n) {
        n = write(io->fd, io->buf + off, io->len - off);
        if (n < 0 && errno == EINTR) {
            n = 0;
        } else if (n <= 0) {
            io->err = 1;
            return;
        }
    }
    io->len = 0;
}

static void
w(io_t *io, const void *p, size_t n)
{
    size_t  k;

    while (!io->err && n > 0) {
        if (io->len == WBUF_SIZE) {
            wflush(io);
        }
        k = WBUF_SIZE - io->len < n ? WBUF_SIZE - io->len : n;
        memcpy(io->buf + io->len, p, k);
        io->len += k;
        p = (const char *) p + k;
        n -= k;
    }
}

static void
w64(io_t *io, uint64_t v)
{
    w(io, &v, sizeof(v));
}

static void
wstr(io_t *io, const char *s)
{
    uint64_t  n = s ? strlen(s) : 0;

    w64(io, n);
    w(io, s, n);
}

/* Most numbers are small or close to the previous one: LEB128 varints
 * (and zigzag for signed deltas) make the file a fraction of the raw
 * structures. */
static void
wvar(io_t *io, uint64_t v)
{
    unsigned char  *b;
    size_t          n = 0;

    if (WBUF_SIZE - io->len < 10) {
        wflush(io);
        if (io->err) {
            return;
        }
    }
    b = io->buf + io->len;
    do {
        b[n] = (unsigned char) (v & 0x7f);
        v >>= 7;
        b[n++] |= v ? 0x80 : 0;
    } while (v);
    io->len += n;
}

static void
wzig(io_t *io, int64_t v)
{
    wvar(io, ((uint64_t) v << 1) ^ (uint64_t) (v >> 63));
}

/* A 128-bit sum as its high and low halves, each zigzagged: a sum that
 * fits 64 bits takes 2 bytes more than before. */
static void
wmoney(io_t *io, ab_money_t v)
{
    wzig(io, (int64_t) (v >> 64));
    wzig(io, (int64_t) (uint64_t) v);
}

/* A membership's totals (folded, or its CUPED history). */
static void
wagg(io_t *io, const ab_vagg_t *a)
{
    wmoney(io, a->revenue);
    wzig(io, a->request_time);
    wvar(io, a->orders);
    wvar(io, a->requests);
    wvar(io, a->errors);
}

/* AB_NONE as 0, any other index i as i + 1. */
static void
windex(io_t *io, uint32_t i)
{
    wvar(io, i == AB_NONE ? 0 : (uint64_t) i + 1);
}

/* A table whose keys are 128-bit hashes and whose values are the dense
 * indices 0..n-1: the keys in index order. */
static void
wkeys(io_t *io, const ab_tab_t *t, size_t n)
{
    ab_key_t  *by = calloc(n + 1, sizeof(*by));
    size_t     i;

    if (by == NULL) {
        io->err = 1;
        return;
    }
    for (i = 0; i < t->cap; i++) {
        if (t->vals[i] != AB_TAB_EMPTY && t->vals[i] < n) {
            by[t->vals[i]] = t->keys[i];
        }
    }
    w(io, by, n * sizeof(*by));
    free(by);
}

/* A set of small pairs (membership, variant or event): the pairs. */
static void
wpairs(io_t *io, const ab_tab_t *t)
{
    size_t  i;

    w64(io, t->n);
    for (i = 0; i < t->cap; i++) {
        if (t->vals[i] != AB_TAB_EMPTY) {
            wvar(io, t->keys[i].lo);
            wvar(io, t->keys[i].hi);
        }
    }
}

static void
wintern(io_t *io, const ab_intern_t *t)
{
    size_t  i;

    w64(io, t->n);
    for (i = 0; i < t->n; i++) {
        wstr(io, t->names[i]);
    }
}


static void
write_rec(void *ctx, const ab_rec_t *rec)
{
    w(ctx, rec, sizeof(*rec));
}


/* The audit's counters (audit.h) through these. */
static void
audit_num(void *io, uint64_t v)
{
    wvar(io, v);
}

static void
audit_str(void *io, const char *s)
{
    wstr(io, s);
}


static void
write_all(io_t *io, const ab_state_t *st, const ab_incr_t *inc)
{
    uint32_t  hdr[6] = { AB_STATE_VERSION, BOM, sizeof(ab_rec_t),
                         sizeof(ab_memb_t), sizeof(ab_order_t),
                         sizeof(ab_vagg_t) };
    size_t    i, n;
    int64_t   prev;

    w(io, MAGIC, 8);
    w(io, hdr, sizeof(hdr));

    w64(io, (uint64_t) inc->since);
    w64(io, (uint64_t) inc->until);
    w64(io, inc->nonly);
    for (i = 0; i < inc->nonly; i++) {
        wstr(io, inc->only[i]);
    }

    w64(io, inc->run);
    for (i = 0, n = 0; i < inc->nfiles; i++) {
        n += inc->files[i].last_run + AB_FILE_KEEP_RUNS > inc->run;
    }
    w64(io, n);
    for (i = 0; i < inc->nfiles; i++) {
        if (inc->files[i].last_run + AB_FILE_KEEP_RUNS > inc->run) {
            w(io, &inc->files[i], sizeof(inc->files[i]));
        }
    }

    w64(io, st->files);
    w64(io, st->lines);
    w64(io, st->bad_lines);
    w64(io, st->duplicate_orders);
    w64(io, st->orphan_refunds);
    w64(io, st->client_order_events);
    w64(io, st->orders_no_id);
    w64(io, st->nbad);
    for (i = 0; i < st->nbad; i++) {
        wstr(io, st->bad[i].file);
        w64(io, st->bad[i].line);
        wstr(io, st->bad[i].reason);
    }
    w64(io, (uint64_t) st->max_time);
    w64(io, (uint64_t) st->min_time);
    w64(io, (uint64_t) st->has_min_time);
    w64(io, (uint64_t) st->fold_wm);
    w64(io, (uint64_t) st->folded);
    w64(io, st->late_exposures);
    w64(io, st->forgotten);
    w64(io, (uint64_t) st->hist_lookback);

    wintern(io, &st->exps);
    for (i = 0; i < st->exps.n; i++) {
        wintern(io, &st->vars[i]);
    }
    wintern(io, &st->events);
    wstr(io, st->seg_spec);
    w64(io, st->nseg);
    for (i = 0; i < st->nseg; i++) {
        wintern(io, &st->segvals[i]);
    }

    w64(io, st->nvis);
    wkeys(io, &st->visitors, st->nvis);
    w64(io, st->nmemb);
    for (i = 0; i < st->nvis; i++) {
        windex(io, st->heads[i]);
    }
    w64(io, st->nfold_vis);
    for (i = 0; i < st->nfold_vis; i++) {
        wvar(io, st->vis_fold_events[i]);
    }
    for (i = 0, prev = 0; i < st->nfold_vis; i++) {
        wzig(io, st->vis_last[i] - prev);
        prev = st->vis_last[i];
    }

    for (i = 0, prev = 0; i < st->nmemb; i++) {
        const ab_memb_t  *m = &st->membs[i];

        windex(io, m->next);
        wvar(io, m->exp);
        wvar(io, m->var);
        wzig(io, m->entry - prev);
        prev = m->entry;
    }
    for (i = 0; i < st->nmemb * st->nseg; i++) {
        wvar(io, st->segs[i]);
    }
    w64(io, st->memb_node != NULL);
    for (i = 0; st->memb_node != NULL && i < st->nmemb; i++) {
        wvar(io, st->memb_node[i]);
    }
    w64(io, st->nfold_memb);
    for (i = 0; i < st->nfold_memb; i++) {
        wagg(io, &st->fold_agg[i]);
        wvar(io, st->fold_ebe[i]);
    }
    for (i = 0; st->hist_lookback > 0 && i < st->nfold_memb; i++) {
        wagg(io, &st->fold_pre[i]);
    }

    wpairs(io, &st->multi);
    w64(io, st->norders);
    wkeys(io, &st->order_ids, st->norders);
    for (i = 0, prev = 0; i < st->norders; i++) {
        const ab_order_t  *o = &st->orders[i];

        wzig(io, o->time - prev);
        prev = o->time;
        wzig(io, o->revenue);
        wzig(io, o->refund);
        wvar(io, o->vis);
        wvar(io, o->refunds);
        wvar(io, o->purchased);
    }
    wpairs(io, &st->fold_seen);
    wpairs(io, &st->fold_seen_pre);

    w64(io, st->nrecs);
    if (ab_state_each_record((ab_state_t *) st, write_rec, io) != 0) {
        io->err = 1;
    }

    ab_audit_save(st->audit, &(ab_audit_writer_t) { io, audit_num,
                                                     audit_str });
}


static int
fail(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "%s: %s", path, what);
    return -1;
}


static int
sync_dir(const char *path)
{
    char  *copy = strdup(path);
    int    fd, rc = -1;

    if (copy == NULL) {
        return -1;
    }
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(copy);

    return rc;
}


int
ab_state_save(const char *path, const ab_state_t *st, const ab_incr_t *inc,
    char *err, size_t errlen)
{
    char      *tmp;
    int        fd;
    io_t       io;
    uint64_t   sum;
    size_t     len = strlen(path);

    tmp = malloc(len + 16);
    if (tmp == NULL) {
        return fail(err, errlen, path, "out of memory");
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", 12);

    /* In the same directory, so that rename() replaces it atomically. */
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file: %s",
                 path, strerror(errno));
        free(tmp);
        return -1;
    }

    memset(&io, 0, sizeof(io));
    io.fd = fd;
    io.h = XXH3_createState();
    io.buf = malloc(WBUF_SIZE);
    if (io.buf == NULL || io.h == NULL) {
        io.err = 1;
    } else {
        XXH3_64bits_reset(io.h);
        write_all(&io, st, inc);
        wflush(&io);
        /* the trailer is not part of what it sums */
        sum = XXH3_64bits_digest(io.h);
        if (!io.err && write(fd, &sum, sizeof(sum)) != sizeof(sum)) {
            io.err = 1;
        }
    }

    XXH3_freeState(io.h);
    free(io.buf);
    if (fsync(fd) != 0) {
        io.err = 1;
    }
    if (close(fd) != 0) {
        io.err = 1;
    }

    if (io.err || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write the state file: %s", path,
                 errno ? strerror(errno) : "write failed");
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);

    /* The rename itself must reach the disk before we call it done. */
    if (sync_dir(path) != 0) {
        snprintf(err, errlen, "%s: cannot sync its directory: %s", path,
                 strerror(errno));
        return -1;
    }

    return 0;
}


/* ---- reading ---- */

static void
r(io_t *io, void *p, size_t n)
{
    if (io->err || (size_t) (io->end - io->p) < n) {
        io->err = 1;
        memset(p, 0, n);
        return;
    }
    memcpy(p, io->p, n);
    io->p += n;
}

static uint64_t
r64(io_t *io)
{
    uint64_t  v;

    r(io, &v, sizeof(v));
    return v;
}

/* A count of elements of size bytes that the file can hold. */
/* A count of elements taking at least size bytes each in the file: no
 * more than the file can hold, so that a count never makes abstat
 * allocate beyond the file's own size. */
static size_t
rcount(io_t *io, size_t size, size_t limit)
{
    uint64_t  n = r64(io);

    if (n > limit || (size && n > io->size / size)) {
        io->err = 1;
        return 0;
    }

    return (size_t) n;
}

/* Room for n elements, zeroed (read by the caller element by element). */
static void *
ralloc(io_t *io, size_t n, size_t size)
{
    void  *p;

    if (io->err) {
        return NULL;
    }
    p = calloc(n + 1, size);
    if (p == NULL) {
        io->err = 1;
    }

    return p;
}

/* n raw elements. */
static void *
rarray(io_t *io, size_t n, size_t size)
{
    void  *p = ralloc(io, n, size);

    if (p != NULL) {
        r(io, p, n * size);
    }

    return p;
}

static char *
rstr(io_t *io)
{
    size_t  n = rcount(io, 1, NAME_MAX_);
    char   *s = io->err ? NULL : malloc(n + 1);

    if (s == NULL) {
        io->err = 1;
        return NULL;
    }
    r(io, s, n);
    s[n] = '\0';

    return s;
}

static uint64_t
rvar(io_t *io)
{
    uint64_t  v = 0;
    int       shift;

    for (shift = 0; shift < 64 && io->p < io->end; shift += 7) {
        unsigned char  b = *io->p++;

        v |= (uint64_t) (b & 0x7f) << shift;
        if (!(b & 0x80)) {
            return v;
        }
    }
    io->err = 1;

    return 0;
}

static int64_t
rzig(io_t *io)
{
    uint64_t  v = rvar(io);

    return (int64_t) (v >> 1) ^ -(int64_t) (v & 1);
}

static ab_money_t
rmoney(io_t *io)
{
    int64_t  hi = rzig(io);
    int64_t  lo = rzig(io);

    return (ab_money_t) ((unsigned __int128) (uint64_t) hi << 64
                         | (uint64_t) lo);
}

/* The next of a delta-coded series: prev plus a delta, refused (io->err)
 * when a damaged file would overflow it. */
static int64_t
rdelta(io_t *io, int64_t *prev)
{
    int64_t  d = rzig(io), sum;

    if (__builtin_add_overflow(*prev, d, &sum)) {
        io->err = 1;
        return *prev;
    }

    return *prev = sum;
}

/* An index below n, or AB_NONE. */
static uint32_t
rd_index(io_t *io, size_t n)
{
    uint64_t  v = rvar(io);

    if (v > n) {
        io->err = 1;
        return AB_NONE;
    }

    return v == 0 ? AB_NONE : (uint32_t) (v - 1);
}

/* A number that must fit in max. */
static uint64_t
rsmall(io_t *io, uint64_t max)
{
    uint64_t  v = rvar(io);

    if (v > max) {
        io->err = 1;
        return 0;
    }

    return v;
}


static void
ragg(io_t *io, ab_vagg_t *a)
{
    a->revenue = rmoney(io);
    a->request_time = rzig(io);
    a->orders = (uint32_t) rsmall(io, UINT32_MAX);
    a->requests = (uint32_t) rsmall(io, UINT32_MAX);
    a->errors = (uint32_t) rsmall(io, UINT32_MAX);
}

/* See wkeys(): n keys, each mapped to its index. A key twice cannot
 * come from a real table. */
static void
rkeys(io_t *io, ab_tab_t *t, size_t n)
{
    if (io->err || (size_t) (io->end - io->p) / sizeof(ab_key_t) < n
        || ab_tab_load(t, io->p, n) != 0)
    {
        io->err = 1;
        return;
    }
    io->p += n * sizeof(ab_key_t);
}

/* See wpairs(): pairs with lo below max_lo and hi below max_hi. */
static void
rpairs(io_t *io, ab_tab_t *t, uint64_t max_lo, uint64_t max_hi)
{
    size_t     n = rcount(io, 2, (size_t) 1 << 36), i;
    uint64_t   lo, hi;
    uint32_t  *slot;
    int        created;

    if (!io->err && ab_tab_reserve(t, n) != 0) {
        io->err = 1;
    }
    for (i = 0; !io->err && i < n; i++) {
        lo = rvar(io);
        hi = rvar(io);
        if (io->err || lo >= max_lo || hi >= max_hi
            || (slot = ab_tab_put(t, ab_key_pair(lo, hi), &created)) == NULL)
        {
            io->err = 1;
            return;
        }
        *slot = 1;
    }
}


static void
rintern(io_t *io, ab_intern_t *t, size_t limit)
{
    size_t  n = rcount(io, 1, limit), i;
    char   *s;

    for (i = 0; !io->err && i < n; i++) {
        s = rstr(io);
        if (s == NULL || ab_intern(t, s, strlen(s)) != (int) i) {
            io->err = 1;
        }
        free(s);
    }
}


/* Whether the trailer matches the content of the map. */
static int
checksum_ok(const unsigned char *map, uint64_t size)
{
    uint64_t  want;

    if (size < 8) {
        return 0;
    }
    memcpy(&want, map + size - 8, 8);

    return XXH3_64bits(map, (size_t) size - 8) == want;
}


/* (membership, event) pairs that name what exists. */
static int
event_pairs_ok(const ab_state_t *st, const ab_tab_t *t)
{
    size_t  i;

    for (i = 0; i < t->cap; i++) {
        if (t->vals[i] != AB_TAB_EMPTY
            && (t->keys[i].lo >= st->nmemb || t->keys[i].hi >= st->events.n))
        {
            return 0;
        }
    }

    return 1;
}


/* Indices in the loaded tables: lists end, point backwards (so cannot
 * loop) and stay inside their tables. */
/* The memberships' entry nodes are nodes of the audit. */
static int
memb_nodes_ok(const ab_state_t *st)
{
    size_t  i;

    if (st->memb_node == NULL) {
        return 1;
    }
    if (st->audit == NULL) {
        return 0;
    }
    for (i = 0; i < st->nmemb; i++) {
        if (st->memb_node[i] >= st->audit->nodes.n) {
            return 0;
        }
    }

    return 1;
}


static int
indices_ok(const ab_state_t *st)
{
    size_t  i;

    for (i = 0; i < st->nvis; i++) {
        if (st->heads[i] != AB_NONE && st->heads[i] >= st->nmemb) {
            return 0;
        }
    }
    for (i = 0; i < st->nmemb; i++) {
        const ab_memb_t  *m = &st->membs[i];

        if ((m->next != AB_NONE && m->next >= i) || m->exp >= st->exps.n
            || (m->var != AB_VAR_MULTI && m->var >= st->vars[m->exp].n))
        {
            return 0;
        }
    }
    for (i = 0; i < st->norders; i++) {
        if (st->orders[i].purchased && st->orders[i].vis >= st->nvis
            && st->orders[i].vis != AB_NONE)
        {
            return 0;
        }
    }
    for (i = 0; i < st->multi.cap; i++) {
        /* (membership, variant of its experiment) */
        if (st->multi.vals[i] != AB_TAB_EMPTY
            && (st->multi.keys[i].lo >= st->nmemb
                || st->multi.keys[i].hi
                   >= st->vars[st->membs[st->multi.keys[i].lo].exp].n))
        {
            return 0;
        }
    }
    if (!event_pairs_ok(st, &st->fold_seen)
        || !event_pairs_ok(st, &st->fold_seen_pre))
    {
        return 0;
    }

    return st->nfold_memb <= st->nmemb && st->nfold_vis <= st->nvis
           && st->nbad <= AB_BAD_SAMPLES;
}


static uint64_t
audit_rnum(void *io, uint64_t max)
{
    return ((io_t *) io)->err ? 0 : rsmall(io, max);
}

static char *
audit_rstr(void *io)
{
    return ((io_t *) io)->err ? NULL : rstr(io);
}


static void
read_all(io_t *io, ab_state_t *st, ab_incr_t *inc)
{
    size_t    i, n;
    char     *s;
    ab_rec_t  rec;
    int64_t   prev;

    inc->since = (int64_t) r64(io);
    inc->until = (int64_t) r64(io);
    inc->nonly = rcount(io, 1, AB_MAX_EXPERIMENTS);
    inc->only = calloc(inc->nonly + 1, sizeof(char *));
    if (inc->only == NULL) {
        io->err = 1;
        inc->nonly = 0;
    }
    for (i = 0; !io->err && i < inc->nonly; i++) {
        inc->only[i] = rstr(io);
    }

    inc->run = r64(io);
    inc->nfiles = inc->capfiles = rcount(io, sizeof(ab_fentry_t),
                                         (size_t) 1 << 24);
    inc->files = rarray(io, inc->nfiles, sizeof(ab_fentry_t));
    if (inc->files == NULL) {
        inc->nfiles = inc->capfiles = 0;
    }

    st->files = r64(io);
    st->lines = r64(io);
    st->bad_lines = r64(io);
    st->duplicate_orders = r64(io);
    st->orphan_refunds = r64(io);
    st->client_order_events = r64(io);
    st->orders_no_id = r64(io);
    st->nbad = rcount(io, 1, AB_BAD_SAMPLES);
    for (i = 0; !io->err && i < st->nbad; i++) {
        st->bad_files[i] = rstr(io);
        st->bad[i].file = st->bad_files[i] ? st->bad_files[i] : "";
        st->bad[i].line = r64(io);
        s = rstr(io);
        snprintf(st->bad[i].reason, sizeof(st->bad[i].reason), "%s",
                 s ? s : "");
        free(s);
    }
    st->max_time = (int64_t) r64(io);
    st->min_time = (int64_t) r64(io);
    st->has_min_time = r64(io) != 0;
    st->fold_wm = (int64_t) r64(io);
    st->folded = r64(io) != 0;
    st->late_exposures = r64(io);
    st->forgotten = r64(io);
    st->hist_lookback = (int64_t) r64(io);
    if (st->hist_lookback < 0) {
        io->err = 1;
    }

    rintern(io, &st->exps, AB_MAX_EXPERIMENTS);
    for (i = 0; !io->err && i < st->exps.n; i++) {
        if (ab_state_exp(st, st->exps.names[i], strlen(st->exps.names[i]))
            != (int) i)
        {
            io->err = 1;
            break;
        }
        rintern(io, &st->vars[i], AB_MAX_EXP_VARIANTS);
    }
    rintern(io, &st->events, AB_MAX_EVENT_NAMES);
    s = rstr(io);
    if (s != NULL && strlen(s) < sizeof(st->seg_spec)) {
        memcpy(st->seg_spec, s, strlen(s) + 1);
    } else {
        io->err = 1;
    }
    free(s);
    st->nseg = rcount(io, 1, AB_BY_MAX);
    /* one dimension per name of the spec, each with "other" at least */
    for (i = 0, n = st->seg_spec[0] != '\0'; st->seg_spec[i]; i++) {
        n += st->seg_spec[i] == ',';
    }
    if (n != st->nseg) {
        io->err = 1;
    }
    for (i = 0; !io->err && i < st->nseg; i++) {
        rintern(io, &st->segvals[i], AB_SEG_VALUES_MAX);
        if (st->segvals[i].n == 0) {
            io->err = 1;
        }
    }

    st->nvis = st->capvis = rcount(io, 16, AB_NONE - 1);
    rkeys(io, &st->visitors, st->nvis);
    st->nmemb = st->capmemb = rcount(io, 4, AB_NONE - 1);
    st->heads = ralloc(io, st->nvis, sizeof(*st->heads));
    for (i = 0; !io->err && i < st->nvis; i++) {
        st->heads[i] = rd_index(io, st->nmemb);
    }
    st->nfold_vis = rcount(io, 1, st->nvis);
    st->vis_fold_events = ralloc(io, st->nfold_vis, sizeof(uint32_t));
    for (i = 0; !io->err && i < st->nfold_vis; i++) {
        st->vis_fold_events[i] = (uint32_t) rsmall(io, UINT32_MAX);
    }
    st->vis_last = ralloc(io, st->nfold_vis, sizeof(*st->vis_last));
    for (i = 0, prev = 0; !io->err && i < st->nfold_vis; i++) {
        st->vis_last[i] = rdelta(io, &prev);
    }

    st->membs = ralloc(io, st->nmemb, sizeof(*st->membs));
    for (i = 0, prev = 0; !io->err && i < st->nmemb; i++) {
        ab_memb_t  *m = &st->membs[i];

        m->next = rd_index(io, st->nmemb);
        m->exp = (uint16_t) rsmall(io, UINT16_MAX);
        m->var = (uint16_t) rsmall(io, UINT16_MAX);
        m->entry = rdelta(io, &prev);
    }
    st->capsegs = st->nmemb * st->nseg;
    if (st->capsegs > 0) {
        st->segs = ralloc(io, st->capsegs, sizeof(*st->segs));
    }
    for (i = 0; !io->err && i < st->capsegs; i++) {
        st->segs[i] = (uint16_t) rsmall(io,
                                        st->segvals[i % st->nseg].n - 1);
    }
    if ((n = r64(io)) > 1) {
        io->err = 1;
    } else if (n == 1) {
        /* checked against the nodes once the audit is read */
        st->memb_node = ralloc(io, st->nmemb, sizeof(*st->memb_node));
        st->capmemb_node = st->memb_node != NULL ? st->nmemb : 0;
    }
    for (i = 0; !io->err && st->memb_node != NULL && i < st->nmemb; i++) {
        st->memb_node[i] = (uint16_t) rsmall(io, UINT16_MAX);
    }
    st->nfold_memb = rcount(io, 6, st->nmemb);
    st->fold_agg = ralloc(io, st->nfold_memb, sizeof(*st->fold_agg));
    st->fold_ebe = ralloc(io, st->nfold_memb, sizeof(*st->fold_ebe));
    for (i = 0; !io->err && i < st->nfold_memb; i++) {
        ragg(io, &st->fold_agg[i]);
        st->fold_ebe[i] = (uint32_t) rsmall(io, UINT32_MAX);
    }
    if (st->hist_lookback > 0) {
        st->fold_pre = ralloc(io, st->nfold_memb, sizeof(*st->fold_pre));
        for (i = 0; !io->err && i < st->nfold_memb; i++) {
            ragg(io, &st->fold_pre[i]);
        }
    }

    rpairs(io, &st->multi, st->nmemb, AB_MAX_EXP_VARIANTS);
    st->norders = st->caporders = rcount(io, 16, AB_NONE - 1);
    rkeys(io, &st->order_ids, st->norders);
    st->orders = ralloc(io, st->norders, sizeof(*st->orders));
    for (i = 0, prev = 0; !io->err && i < st->norders; i++) {
        ab_order_t  *o = &st->orders[i];

        o->time = rdelta(io, &prev);
        o->revenue = rzig(io);
        o->refund = rzig(io);
        o->vis = (uint32_t) rsmall(io, UINT32_MAX);
        o->refunds = (uint32_t) rsmall(io, UINT32_MAX);
        o->purchased = (uint32_t) rsmall(io, 1);
    }
    rpairs(io, &st->fold_seen, st->nmemb, st->events.n);
    rpairs(io, &st->fold_seen_pre, st->nmemb, st->events.n);

    if (io->err || !indices_ok(st)) {
        io->err = 1;
        return;
    }

    n = rcount(io, sizeof(rec), (size_t) 1 << 40);
    for (i = 0; !io->err && i < n; i++) {
        r(io, &rec, sizeof(rec));
        if (rec.vis >= st->nvis || rec.kind < AB_REC_REQUEST
            || rec.kind > AB_REC_EVENT_HISTORY
            || ((rec.kind == AB_REC_EVENT
                 || rec.kind == AB_REC_EVENT_HISTORY)
                && rec.arg >= st->events.n))
        {
            io->err = 1;
        } else if (!io->err && ab_state_record(st, &rec) != 0) {
            io->err = 1;
        }
    }

    if (!io->err && ab_audit_load(&st->audit, &(ab_audit_reader_t) {
                                      io, audit_rnum, audit_rstr }) != 0)
    {
        io->err = 1;
    }
    if (!io->err && !memb_nodes_ok(st)) {
        io->err = 1;
    }
}


/* What a run can change of a state, beside the file entries. */
static void
snapshot(const ab_state_t *st, uint64_t *v)
{
    v[0] = st->lines;
    v[1] = st->bad_lines;
    v[2] = st->nrecs;
    v[3] = (uint64_t) st->fold_wm;
    v[4] = (uint64_t) st->folded;
    v[5] = st->forgotten;
    v[6] = st->nvis;
    v[7] = st->nmemb;
    v[8] = st->norders;
    v[9] = st->nfold_memb;
}


int
ab_state_unchanged(const ab_state_t *st, const ab_incr_t *inc)
{
    uint64_t  now[10];

    if (inc->run <= 1 || inc->touched) {
        /* a new state is written even when empty */
        return 0;
    }
    snapshot(st, now);

    return memcmp(now, inc->loaded, sizeof(now)) == 0;
}


int
ab_state_load(const char *path, ab_state_t *st, ab_incr_t *inc,
    char *err, size_t errlen)
{
    int          fd = open(path, O_RDONLY | O_CLOEXEC);
    io_t         io;
    char         magic[8];
    uint32_t     hdr[6];
    struct stat  sb;
    void        *map;
    const char  *bad = NULL;

    if (fd < 0) {
        if (errno == ENOENT) {
            inc->run = 0;
            return 0;
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return fail(err, errlen, path, "is a directory, not a state file");
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < (off_t) (8 + sizeof(hdr) + 8)) {
        close(fd);
        return fail(err, errlen, path, "not an abstat state file");
    }

    map = mmap(NULL, (size_t) sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    madvise(map, (size_t) sb.st_size, MADV_SEQUENTIAL);

    memset(&io, 0, sizeof(io));
    io.size = (uint64_t) sb.st_size;
    io.p = map;
    io.end = io.p + sb.st_size - 8;     /* the trailer is not content */

    r(&io, magic, 8);
    r(&io, hdr, sizeof(hdr));
    if (io.err || memcmp(magic, MAGIC, 8) != 0) {
        bad = "not an abstat state file";
    } else if (hdr[0] != AB_STATE_VERSION) {
        snprintf(err, errlen, "%s: state file version %u is not supported "
                 "(this abstat reads version %u); remove it to start over",
                 path, hdr[0], AB_STATE_VERSION);
        munmap(map, (size_t) sb.st_size);
        return -1;
    } else if (hdr[1] != BOM || hdr[2] != sizeof(ab_rec_t)
               || hdr[3] != sizeof(ab_memb_t) || hdr[4] != sizeof(ab_order_t)
               || hdr[5] != sizeof(ab_vagg_t))
    {
        bad = "state file written on another kind of machine; remove it to "
              "start over";
    } else if (!checksum_ok(map, io.size)) {
        bad = "state file damaged (checksum mismatch); remove it to start "
              "over";
    } else {
        read_all(&io, st, inc);
        /* a file that holds more than its sections was not written by us */
        if (!io.err && io.p != io.end) {
            io.err = 1;
        }
        if (io.err) {
            bad = st->oom ? "out of memory"
                  : "state file inconsistent; remove it to start over";
        }
        snapshot(st, inc->loaded);
    }
    munmap(map, (size_t) sb.st_size);

    return bad ? fail(err, errlen, path, bad) : 0;
}


int
ab_state_lock(const char *path, int nowait)
{
    size_t  len = strlen(path);
    char   *lock = malloc(len + 6);
    int     fd;

    if (lock == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(lock, path, len);
    memcpy(lock + len, ".lock", 6);

    /* A file of its own: the state file is replaced by rename, and a lock
     * on the replaced inode would not exclude the next run. */
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(lock);
    if (fd < 0) {
        return -1;
    }

    while (flock(fd, LOCK_EX | (nowait ? LOCK_NB : 0)) != 0) {
        if (errno != EINTR) {
            int  saved = errno;

            close(fd);
            errno = saved;
            return -1;
        }
    }

    return fd;
}


void
ab_state_clean(const char *path)
{
    char           *copy = strdup(path), *copy2 = strdup(path), *full;
    const char     *dir, *base;
    DIR            *d;
    struct dirent  *de;
    size_t          blen;

    if (copy == NULL || copy2 == NULL) {
        goto done;
    }
    dir = dirname(copy);
    base = basename(copy2);
    blen = strlen(base);

    if ((d = opendir(dir)) == NULL) {
        goto done;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, base, blen) != 0
            || strncmp(de->d_name + blen, ".tmp.", 5) != 0
            || strlen(de->d_name + blen) != 11)
        {
            continue;
        }
        full = malloc(strlen(dir) + strlen(de->d_name) + 2);
        if (full != NULL) {
            sprintf(full, "%s/%s", dir, de->d_name);
            unlink(full);
            free(full);
        }
    }
    closedir(d);

done:
    free(copy);
    free(copy2);
}


ab_fentry_t *
ab_incr_match(ab_incr_t *inc, const struct stat *sb, const char *p,
    size_t got)
{
    ab_fentry_t  *best = NULL, *e;
    size_t        i;
    int           same, best_same = 0;

    for (i = 0; i < inc->nfiles; i++) {
        e = &inc->files[i];
        if (e->fp_len == 0 || e->fp_len > got
            || XXH3_64bits(p, e->fp_len) != e->fp_hash)
        {
            continue;
        }
        same = e->dev == (uint64_t) sb->st_dev && e->ino == (uint64_t) sb->st_ino;
        /* The same inode first, then the longest checksum. */
        if (best == NULL || same > best_same
            || (same == best_same && e->fp_len > best->fp_len))
        {
            best = e;
            best_same = same;
        }
    }

    return best;
}


/* The part of ab_incr_update() for a file read on from where it was (a
 * file that ends before where we were read nothing). */
static void
record_read(ab_fentry_t *e, const char *fp, size_t got, uint64_t off,
    uint64_t lineno, int64_t max_time)
{
    e->offset = off;
    e->lines = lineno;
    /* Only complete lines are checksummed: the bytes of a line being
     * written are not final. */
    e->fp_len = (uint32_t) (off < got ? off : got);
    e->fp_hash = XXH3_64bits(fp, e->fp_len);
    if (max_time > e->last_time) {
        e->last_time = max_time;
    }
}


void
ab_incr_update(ab_incr_t *inc, ab_fentry_t *e, const struct stat *sb,
    const char *fp, size_t got, uint64_t off, uint64_t lineno,
    int64_t max_time, int events)
{
    ab_fentry_t  was = *e;

    e->dev = (uint64_t) sb->st_dev;
    e->ino = (uint64_t) sb->st_ino;
    e->last_run = inc->run;
    e->events = (uint32_t) events;

    if (off >= e->offset) {
        record_read(e, fp, got, off, lineno, max_time);
    }
    was.last_run = e->last_run;
    if (memcmp(&was, e, sizeof(was)) != 0) {
        inc->touched = 1;
    }
}


ab_fentry_t *
ab_incr_add(ab_incr_t *inc)
{
    if (ab_grow_array((void **) &inc->files, &inc->capfiles, inc->nfiles + 1,
                      sizeof(*inc->files)) != 0)
    {
        return NULL;
    }
    memset(&inc->files[inc->nfiles], 0, sizeof(*inc->files));
    inc->touched = 1;

    return &inc->files[inc->nfiles++];
}


void
ab_incr_free(ab_incr_t *inc)
{
    size_t  i;

    for (i = 0; inc->only && i < inc->nonly; i++) {
        free(inc->only[i]);
    }
    free(inc->only);
    free(inc->files);
    memset(inc, 0, sizeof(*inc));
}
