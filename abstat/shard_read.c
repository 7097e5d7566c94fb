/*
 * Replaying a shard file (shard.h) into the state: each record goes
 * through the function its line went through (ab_line_log_apply(),
 * ab_line_event_apply(), ab_state_purchase(), ab_state_refund()). The
 * file is checked whole first (its checksum, then every record read
 * without applying anything), so that a damaged one changes nothing.
 */

#include "shard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "shardfmt.h"

#define DICT_MAX  65536         /* as the writer's */

typedef struct {
    const char  *s;
    size_t       len;
} span_t;

typedef struct {
    const unsigned char  *p, *end;
    int                   err;
    const char           *why;  /* of err */
    const unsigned char  *at;   /* where */
    span_t               *dict;
    size_t                ndict;
    size_t                ndims;
    uint64_t              line;
    int64_t               time;
    const char           *file; /* kept (nm) in the applying pass */
    int                   metas;
    int                   space;
    size_t                nshards;
    /* the order round: purchases and refunds to these, not a state */
    const ab_shard_orders_t  *fn;
    /* applying: NULL while checking */
    ab_state_t           *st;
    const ab_input_t     *in;
    ab_shard_names_t     *nm;
} rd_t;


static void
bad(rd_t *r, const char *why)
{
    if (!r->err) {
        r->err = 1;
        r->why = why;
        r->at = r->p;
    }
    r->p = r->end;
}


static uint64_t
get_var(rd_t *r)
{
    uint64_t  v = 0;
    unsigned  shift = 0;

    while (r->p < r->end && shift < 64) {
        unsigned char  c = *r->p++;

        v |= (uint64_t) (c & 0x7f) << shift;
        if (!(c & 0x80)) {
            return v;
        }
        shift += 7;
    }
    bad(r, "truncated record");

    return 0;
}


static int64_t
get_zig(rd_t *r)
{
    return ab_shf_unzig(get_var(r));
}


static span_t
get_str(rd_t *r)
{
    span_t    sp = { "", 0 };
    uint64_t  len = get_var(r);

    if (len > (uint64_t) (r->end - r->p)) {
        bad(r, "string past the end");
        return sp;
    }
    sp.s = (const char *) r->p;
    sp.len = (size_t) len;
    r->p += len;

    return sp;
}


static span_t
get_dstr(rd_t *r)
{
    span_t    sp = { "", 0 };
    uint64_t  v = get_var(r);

    if (v >= 2) {
        if (v - 2 >= r->ndict) {
            bad(r, "unknown string number");
            return sp;
        }
        return r->dict[v - 2];
    }
    sp = get_str(r);
    if (v == 0 && !r->err) {
        if (r->ndict == DICT_MAX) {
            bad(r, "string table overflow");
            return sp;
        }
        r->dict[r->ndict++] = sp;
    }

    return sp;
}


/* The next record's line number and time (LINE, EVENT). */
static void
get_head(rd_t *r, uint64_t *lineno, int64_t *t)
{
    r->line += get_var(r);
    r->time = (int64_t) ((uint64_t) r->time + (uint64_t) get_zig(r));
    *lineno = r->line;
    *t = r->time;
}


static void
get_event(rd_t *r, ab_pevent_t *ev, unsigned *flags)
{
    span_t    name = get_dstr(r), order = { "", 0 };
    uint64_t  fl = get_var(r);

    if ((fl >> 2 & 3) > AB_EVENT_REFUND || fl > 31) {
        bad(r, "bad event flags");
    }
    if (fl & 2) {
        order = get_str(r);
    }
    memset(ev, 0, sizeof(*ev));
    ev->name = name.s;
    ev->name_len = name.len;
    ev->order = order.s;
    ev->order_len = order.len;
    ev->revenue = get_zig(r);
    ev->kind = (int) (fl >> 2 & 3);
    ev->client = (int) (fl & 1);
    *flags = (unsigned) fl;
}


static size_t
get_pairs(rd_t *r, ab_ppair_t *p)
{
    uint64_t  n = get_var(r), i;
    span_t    e, v;

    if (n > AB_LINE_PAIRS) {
        bad(r, "too many pairs");
        return 0;
    }
    for (i = 0; i < n; i++) {
        e = get_dstr(r);
        v = get_dstr(r);
        p[i].exp = e.s;
        p[i].exp_len = e.len;
        p[i].var = v.s;
        p[i].var_len = v.len;
    }

    return (size_t) n;
}


static int
rec_line(rd_t *r)
{
    ab_pline_t   pl;
    ab_spans_t   sp;
    ab_pevent_t  evs[AB_LINE_EVENTS];
    ab_ppair_t   prs[2 * AB_LINE_PAIRS];
    span_t       uid = { "", 0 }, node = { "", 0 }, seg;
    uint64_t     lineno, fl, n, i, v;
    unsigned     efl;

    memset(&pl, 0, sizeof(pl));
    get_head(r, &lineno, &pl.time);
    fl = get_var(r);
    if (fl > 15) {
        bad(r, "bad line flags");
    }
    if (fl & 1) {
        uid = get_str(r);
    }
    if (fl & 2) {
        v = get_var(r);
        pl.status = (int64_t) (v & 1 ? v >> 1
                               : (v >> 1) * (uint64_t) AB_MICRO);
    }
    if (fl & 4) {
        pl.rt = (int64_t) get_var(r);
    }
    if (fl & 8) {
        node = get_dstr(r);
    }
    pl.uid = uid.s;
    pl.uid_len = uid.len;
    pl.node = node.s;
    pl.node_len = node.len;
    pl.nforced = get_pairs(r, prs);
    pl.pair0 = pl.nforced;
    pl.npairs = get_pairs(r, prs + pl.nforced);

    n = get_var(r);
    if (n > AB_LINE_EVENTS) {
        bad(r, "too many events");
        n = 0;
    }
    for (i = 0; i < n; i++) {
        get_event(r, &evs[i], &efl);
        if (efl & AB_SHF_MOVED) {
            bad(r, "bad event flags");
        }
    }
    pl.nevents = (size_t) n;
    for (i = 0; i < r->ndims; i++) {
        seg = get_dstr(r);
        if (i < AB_BY_MAX) {
            pl.seg[i].s = seg.s;
            pl.seg[i].len = seg.len;
        }
    }

    if (r->err || r->st == NULL) {
        return 0;
    }
    if (pl.uid_len > 0) {
        pl.key = ab_key_of(pl.uid, pl.uid_len);
    }
    memset(&sp, 0, sizeof(sp));
    sp.events = evs;
    sp.nevents = pl.nevents;
    sp.pairs = prs;
    sp.npairs = pl.nforced + pl.npairs;

    return ab_line_log_apply(r->st, r->in, &pl, &sp, r->file, lineno);
}


static int
rec_event(rd_t *r)
{
    ab_pevline_t  pe;
    span_t        uid;
    uint64_t      lineno;
    unsigned      efl;

    memset(&pe, 0, sizeof(pe));
    get_head(r, &lineno, &pe.time);
    uid = get_str(r);
    pe.uid = uid.s;
    pe.uid_len = uid.len;
    get_event(r, &pe.ev, &efl);

    if (r->err || r->st == NULL) {
        return 0;
    }
    if (efl & AB_SHF_MOVED) {
        /* its money is an order record: the line still made its visitor */
        return pe.uid_len > 0
               && ab_state_visitor(r->st, pe.uid, pe.uid_len) == AB_NONE
               ? -1 : 0;
    }

    return ab_line_event_apply(r->st, r->in, &pe, r->file, lineno);
}


static int
rec_purchase(rd_t *r)
{
    span_t    order = get_str(r), uid = get_str(r);
    int64_t   revenue;
    uint32_t  vis;

    r->time = (int64_t) ((uint64_t) r->time + (uint64_t) get_zig(r));
    revenue = get_zig(r);

    if (!r->err && r->fn != NULL) {
        return r->fn->purchase(r->fn->ctx, order.s, order.len, uid.s, uid.len,
                               r->time, revenue);
    }
    if (r->err || r->st == NULL) {
        return 0;
    }
    vis = ab_state_visitor(r->st, uid.s, uid.len);

    return vis == AB_NONE
           ? -1
           : ab_state_purchase(r->st, vis, order.s, order.len, r->time,
                               revenue);
}


static int
rec_refund(rd_t *r)
{
    span_t    order = get_str(r);
    uint64_t  amount = get_var(r);

    if (amount > INT64_MAX) {
        bad(r, "bad refund");
    }
    if (!r->err && r->fn != NULL) {
        return r->fn->refund(r->fn->ctx, order.s, order.len,
                             (int64_t) amount);
    }
    if (r->err || r->st == NULL) {
        return 0;
    }

    return ab_state_refund(r->st, order.s, order.len, (int64_t) amount);
}


/* A resolved order (the order round's output) as the state holds one:
 * its purchase kept, its duplicates counted, its refunds at once. */
static int
rec_order(rd_t *r)
{
    span_t    order = get_str(r), uid = get_str(r);
    uint64_t  refund, refunds, purchases;
    int64_t   revenue;
    uint32_t  vis;

    r->time = (int64_t) ((uint64_t) r->time + (uint64_t) get_zig(r));
    revenue = get_zig(r);
    refund = get_var(r);
    refunds = get_var(r);
    purchases = get_var(r);
    if (refund > INT64_MAX || refunds > UINT32_MAX || order.len == 0
        || (purchases == 0 && (refunds == 0 || uid.len > 0)))
    {
        bad(r, "bad resolved order");
    }
    if (r->err || r->st == NULL) {
        return 0;
    }
    if (purchases > 0) {
        vis = ab_state_visitor(r->st, uid.s, uid.len);
        if (vis == AB_NONE
            || ab_state_purchase(r->st, vis, order.s, order.len, r->time,
                                 revenue) != 0)
        {
            return -1;
        }
        r->st->duplicate_orders += purchases - 1;
    }

    return refunds > 0
           ? ab_state_refunds(r->st, order.s, order.len, (int64_t) refund,
                              (uint32_t) refunds)
           : 0;
}


/* A name kept until the report is made. */
static const char *
keep(rd_t *r, span_t s)
{
    ab_shard_names_t  *nm = r->nm;
    char              *c;

    if (ab_grow_array((void **) &nm->names, &nm->cap, nm->n + 1,
                      sizeof(*nm->names))
        || (c = malloc(s.len + 1)) == NULL)
    {
        r->st->oom = 1;
        return NULL;
    }
    memcpy(c, s.s, s.len);
    c[s.len] = '\0';
    nm->names[nm->n++] = c;

    return c;
}


static int
rec_file(rd_t *r)
{
    span_t  name = get_str(r);

    r->line = 0;
    if (name.len == 0 || memchr(name.s, '\0', name.len) != NULL) {
        bad(r, "bad file name");
    }
    if (r->err || r->st == NULL) {
        /* checking: a FILE came before the lines */
        r->file = "";
        return 0;
    }

    return (r->file = keep(r, name)) == NULL ? -1 : 0;
}


static int
rec_meta(rd_t *r)
{
    uint64_t     v[4], i, line;
    span_t       file, reason;
    const char  *f;
    char         why[AB_REASON_MAX];

    for (i = 0; i < 4; i++) {
        v[i] = get_var(r);
    }
    if (r->metas++ > 0 || v[3] > AB_BAD_SAMPLES || v[2] > v[1]) {
        bad(r, "bad counts");
    }
    if (!r->err && r->st != NULL) {
        r->st->files += v[0];
        r->st->lines += v[1];
        r->st->bad_lines += v[2];
    }
    for (i = 0; i < v[3] && !r->err; i++) {
        file = get_str(r);
        line = get_var(r);
        reason = get_str(r);
        if (r->err || r->st == NULL) {
            continue;
        }
        if ((f = keep(r, file)) == NULL) {
            return -1;
        }
        snprintf(why, sizeof(why), "%.*s",
                 (int) (reason.len < sizeof(why) ? reason.len
                                                 : sizeof(why) - 1),
                 reason.s);
        ab_state_sample(r->st, f, line, why);
    }

    return 0;
}


/* One pass over the records: checking (r->st NULL) or applying. */
static int
records(rd_t *r, const unsigned char *start)
{
    int  rc = 0, tag;

    r->p = start;
    r->ndict = 0;
    r->line = 0;
    r->time = 0;
    r->metas = 0;
    r->file = NULL;

    while (!r->err && rc == 0) {
        if (r->p == r->end) {
            bad(r, "no end record");
            break;
        }
        tag = *r->p++;
        if (tag == AB_SHF_END) {
            if (r->p != r->end) {
                bad(r, "data after the end record");
            }
            break;
        }
        switch (tag) {
        case AB_SHF_FILE:
            rc = rec_file(r);
            break;
        case AB_SHF_LINE:
        case AB_SHF_EVENT:
            if (r->file == NULL) {
                bad(r, "a line before its file");
                break;
            }
            rc = tag == AB_SHF_LINE ? rec_line(r) : rec_event(r);
            break;
        case AB_SHF_META:
            rc = rec_meta(r);
            break;
        case AB_SHF_PURCHASE:
            rc = rec_purchase(r);
            break;
        case AB_SHF_REFUND:
            rc = rec_refund(r);
            break;
        case AB_SHF_ORDER:
            rc = rec_order(r);
            break;
        default:
            bad(r, "unknown record");
        }
    }

    return rc;
}


int
ab_shard_is(const char *path)
{
    char  magic[8];
    int   fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t  n;

    if (fd < 0) {
        return -1;
    }
    n = read(fd, magic, sizeof(magic));
    close(fd);

    return n == (ssize_t) sizeof(magic)
           && memcmp(magic, AB_SHARD_MAGIC, sizeof(magic)) == 0;
}


void
ab_shard_names_free(ab_shard_names_t *nm)
{
    size_t  i;

    for (i = 0; i < nm->n; i++) {
        free(nm->names[i]);
    }
    free(nm->names);
    memset(nm, 0, sizeof(*nm));
}


/* The header up to the records; NULL when it is not sound (err set). */
static const unsigned char *
header(rd_t *r, const unsigned char *map, size_t size, const ab_input_t *in,
    char *err, size_t errlen, const char *path)
{
    char      spec[AB_SEG_SPEC_MAX];
    uint64_t  ver, v[3];
    span_t    tag, by;
    size_t    i;

    ver = ab_shf_get_le(map + 8, 4);
    if (ver != AB_SHARD_VERSION) {
        snprintf(err, errlen, "%s: shard file version %llu is not supported "
                 "(this abstat reads version %d); map the logs again",
                 path, (unsigned long long) ver, AB_SHARD_VERSION);
        return NULL;
    }
    if (ab_shf_get_le(map + size - 8, 8) != XXH3_64bits(map, size - 8)) {
        snprintf(err, errlen, "%s: shard file damaged or truncated "
                 "(checksum mismatch)", path);
        return NULL;
    }

    r->p = map + 12;
    r->end = map + size - 8;
    for (i = 0; i < 3; i++) {
        v[i] = get_var(r);
    }
    tag = get_str(r);
    by = get_str(r);
    r->ndims = (size_t) get_var(r);
    (void) tag;
    r->space = (int) v[0];
    r->nshards = (size_t) v[2];
    if (!r->err && (v[0] > AB_SHARD_RESOLVED || v[2] == 0 || v[1] >= v[2]
                    || r->ndims > AB_BY_MAX))
    {
        bad(r, "bad header");
    }
    if (r->err) {
        snprintf(err, errlen, "%s: shard file inconsistent: %s", path,
                 r->why);
        return NULL;
    }

    if (in->visitor_round && r->space == AB_SHARD_ORDER) {
        snprintf(err, errlen, "%s: an order shard: reduce a group of "
                 "visitor shards with the resolved orders of the order "
                 "round (abstat reduce --orders), whose orders are of those "
                 "shards' visitors only", path);
        return NULL;
    }

    /* only visitor records carry segment text: order and resolved order
     * files (whose order round takes no --by) fit any report's */
    ab_by_spec(in->by, spec, sizeof(spec));
    if (in->by != NULL && r->space == AB_SHARD_VISITOR
        && (strlen(spec) != by.len || memcmp(spec, by.s, by.len) != 0))
    {
        snprintf(err, errlen, "%s: mapped with --by '%.*s', this report asks "
                 "for --by '%s'; give map and report the same --by options "
                 "in the same order", path, (int) by.len,
                 by.len ? by.s : "(none)", spec);
        return NULL;
    }

    return r->p;
}


/* Maps path, checks its header and records, then applies them (to st,
 * or to fn): ab_shard_replay(), ab_shard_read_orders(). */
static int
read_file(ab_state_t *st, const ab_input_t *in, const ab_shard_orders_t *fn,
    size_t *nshards, const char *path, ab_shard_names_t *nm, char *err,
    size_t errlen)
{
    int                   fd = open(path, O_RDONLY | O_CLOEXEC), rc = 1;
    struct stat           sb;
    void                 *map = MAP_FAILED;
    const unsigned char  *start;
    rd_t                  r;
    size_t                size = 0;

    memset(&r, 0, sizeof(r));
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    size = (size_t) sb.st_size;
    if (!S_ISREG(sb.st_mode) || sb.st_size < 8 + 4 + 8) {
        snprintf(err, errlen, "%s: not a shard file, or truncated", path);
        goto done;
    }
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (memcmp(map, AB_SHARD_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a shard file", path);
        goto done;
    }
    madvise(map, size, MADV_SEQUENTIAL);

    r.dict = malloc(DICT_MAX * sizeof(*r.dict));
    if (r.dict == NULL) {
        if (st != NULL) {
            st->oom = 1;
        }
        rc = -1;
        goto done;
    }
    if ((start = header(&r, map, size, in, err, errlen, path)) == NULL) {
        goto done;
    }
    if (fn != NULL && r.space != AB_SHARD_ORDER) {
        snprintf(err, errlen, "%s: not an order shard file (.o)", path);
        goto done;
    }
    *nshards = r.nshards;

    /* checked whole, then applied: a damaged file changes nothing */
    (void) records(&r, start);
    if (r.err) {
        snprintf(err, errlen, "%s: shard file inconsistent: %s at byte %zu",
                 path, r.why, (size_t) (r.at - (const unsigned char *) map));
        goto done;
    }
    r.st = st;
    r.in = in;
    r.nm = nm;
    r.fn = fn;
    rc = records(&r, start) != 0 || (st != NULL && st->oom) ? -1 : 0;

done:
    free(r.dict);
    if (map != MAP_FAILED) {
        munmap(map, size);
    }
    if (fd >= 0) {
        close(fd);
    }

    return rc;
}


int
ab_shard_replay(ab_state_t *st, const ab_input_t *in, const char *path,
    ab_shard_names_t *nm, char *err, size_t errlen)
{
    size_t  n;

    return read_file(st, in, NULL, &n, path, nm, err, errlen);
}


int
ab_shard_read_orders(const char *path, const ab_shard_orders_t *fn,
    size_t *nshards, char *err, size_t errlen)
{
    ab_input_t  in;

    ab_input_default(&in);

    return read_file(NULL, &in, fn, nshards, path, NULL, err, errlen);
}
