/*
 * Shard files: writing them (abstat map) and replaying them into a state
 * (abstat report). The format is in shard.h.
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

#include "intern.h"
#include "shardfmt.h"

/* per file: the most strings numbered, and the longest numbered */
#define DICT_MAX      65536
#define DICT_LEN_MAX  512
#define WBUF          (256 * 1024)

typedef struct {
    int             fd;
    char           *tmp;        /* where it is written */
    char           *name;       /* where it goes */
    unsigned char  *buf;
    size_t          len;
    XXH3_state_t   *h;
    ab_intern_t     dict;
    const char     *file;       /* the input file of the last line */
    uint64_t        line;
    int64_t         time;
    uint64_t        bytes;
} stream_t;

struct ab_shard_out_s {
    size_t      n;              /* shards per space */
    size_t      ns;             /* files: 2 n, or n resolved orders */
    stream_t   *s;              /* visitor 0..n-1, then order 0..n-1; or
                                   resolved orders 0..n-1 */
    size_t      ndims;
    char        err[512];
};

static int
s_flush(ab_shard_out_t *o, stream_t *s)
{
    size_t   off = 0;
    ssize_t  w;

    XXH3_64bits_update(s->h, s->buf, s->len);
    while (off < s->len) {
        w = write(s->fd, s->buf + off, s->len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            snprintf(o->err, sizeof(o->err), "%s: %s", s->tmp,
                     strerror(w < 0 ? errno : ENOSPC));
            return -1;
        }
        off += (size_t) w;
    }
    s->bytes += s->len;
    s->len = 0;

    return 0;
}


/* Room for need more bytes in s's buffer. */
static int
s_room(ab_shard_out_t *o, stream_t *s, size_t need)
{
    return s->len + need > WBUF ? s_flush(o, s) : 0;
}


static void
put_var(stream_t *s, uint64_t v)
{
    s->len += ab_shf_var(s->buf + s->len, v);
}


/* Strings are bounded by the line (AB_LINE_MAX): room is asked for each. */
static int
put_str(ab_shard_out_t *o, stream_t *s, const char *p, size_t len)
{
    if (s_room(o, s, len + 10) != 0) {
        return -1;
    }
    put_var(s, len);
    memcpy(s->buf + s->len, p, len);
    s->len += len;

    return 0;
}


/* A dict string (shard.h). */
static int
put_dstr(ab_shard_out_t *o, stream_t *s, const char *p, size_t len)
{
    int  id = len <= DICT_LEN_MAX ? ab_intern_find(&s->dict, p, len) : -1;

    if (id >= 0) {
        if (s_room(o, s, 10) != 0) {
            return -1;
        }
        put_var(s, (uint64_t) id + 2);
        return 0;
    }
    if (len <= DICT_LEN_MAX && s->dict.n < DICT_MAX) {
        if (ab_intern(&s->dict, p, len) < 0) {
            snprintf(o->err, sizeof(o->err), "out of memory");
            return -1;
        }
        id = 0;
    } else {
        id = 1;
    }
    if (s_room(o, s, 10) != 0) {
        return -1;
    }
    put_var(s, (uint64_t) id);

    return put_str(o, s, p, len);
}


static int
put_byte(ab_shard_out_t *o, stream_t *s, unsigned c)
{
    if (s_room(o, s, 1) != 0) {
        return -1;
    }
    s->buf[s->len++] = (unsigned char) c;

    return 0;
}


/* The small numbers of a record, at most 8 varints at a time. */
static int
put_vars(ab_shard_out_t *o, stream_t *s, const uint64_t *v, size_t n)
{
    size_t  i;

    if (s_room(o, s, 10 * n) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        put_var(s, v[i]);
    }

    return 0;
}


static stream_t *
visitor_stream(ab_shard_out_t *o, const char *uid, size_t len)
{
    return &o->s[XXH3_64bits_withSeed(uid, len, AB_SHARD_SEED_VISITOR)
                 % o->n];
}


static stream_t *
order_stream(ab_shard_out_t *o, const char *id, size_t len)
{
    return &o->s[o->n + XXH3_64bits_withSeed(id, len, AB_SHARD_SEED_ORDER)
                        % o->n];
}


/* The FILE record when the line is of another input file than s's last,
 * then the tag and line number and time deltas every line starts with. */
static int
put_line_head(ab_shard_out_t *o, stream_t *s, int tag, const char *file,
    uint64_t lineno, int64_t t)
{
    uint64_t  v[2];

    if (s->file != file) {
        if (put_byte(o, s, AB_SHF_FILE) != 0
            || put_str(o, s, file, strlen(file)) != 0)
        {
            return -1;
        }
        s->file = file;
        s->line = 0;
    }
    if (put_byte(o, s, (unsigned) tag) != 0) {
        return -1;
    }
    v[0] = lineno - s->line;
    v[1] = ab_shf_zig(t - s->time);
    s->line = lineno;
    s->time = t;

    return put_vars(o, s, v, 2);
}


/* Whether event ev goes to the order space (shard.h). */
static int
to_orders(const ab_pevent_t *ev, size_t uid_len)
{
    if (ev->client || ev->order_len == 0) {
        return 0;
    }

    return ev->kind == AB_EVENT_REFUND
           || (ev->kind == AB_EVENT_PURCHASE && uid_len > 0);
}


static int
put_order(ab_shard_out_t *o, const ab_pevent_t *ev, const char *uid,
    size_t uid_len, int64_t t)
{
    stream_t  *s = order_stream(o, ev->order, ev->order_len);
    uint64_t   v[2];
    int64_t    amount;

    if (ev->kind == AB_EVENT_REFUND) {
        /* the refunded amount, however the sender signed it (line.c) */
        amount = ev->revenue < 0 ? -ev->revenue : ev->revenue;
        return put_byte(o, s, AB_SHF_REFUND) != 0
               || put_str(o, s, ev->order, ev->order_len) != 0
               || put_vars(o, s, (uint64_t *) &amount, 1) != 0 ? -1 : 0;
    }

    v[0] = ab_shf_zig(t - s->time);
    v[1] = ab_shf_zig(ev->revenue);
    s->time = t;

    return put_byte(o, s, AB_SHF_PURCHASE) != 0
           || put_str(o, s, ev->order, ev->order_len) != 0
           || put_str(o, s, uid, uid_len) != 0
           || put_vars(o, s, v, 2) != 0 ? -1 : 0;
}


static int
put_event(ab_shard_out_t *o, stream_t *s, const ab_pevent_t *ev,
    unsigned extra)
{
    uint64_t  fl = (ev->client ? 1u : 0u) | (ev->order_len ? 2u : 0u)
                   | (unsigned) ev->kind << 2 | extra;

    if (put_dstr(o, s, ev->name, ev->name_len) != 0
        || put_vars(o, s, &fl, 1) != 0
        || (ev->order_len && put_str(o, s, ev->order, ev->order_len) != 0))
    {
        return -1;
    }
    fl = ab_shf_zig(ev->revenue);

    return put_vars(o, s, &fl, 1);
}


static int
put_pairs(ab_shard_out_t *o, stream_t *s, const ab_ppair_t *p, size_t n)
{
    size_t  i;

    if (put_vars(o, s, (uint64_t[]) { n }, 1) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (put_dstr(o, s, p[i].exp, p[i].exp_len) != 0
            || put_dstr(o, s, p[i].var, p[i].var_len) != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* The status as the record keeps it (shard.h). */
static uint64_t
status_code(int64_t st)
{
    return st % AB_MICRO == 0 ? (uint64_t) (st / AB_MICRO) * 2
                              : (uint64_t) st * 2 + 1;
}


int
ab_shard_put_log(ab_shard_out_t *o, const ab_pline_t *pl,
    const ab_spans_t *sp, const char *file, uint64_t lineno)
{
    const ab_pevent_t  *evs = sp->events + pl->event0;
    stream_t           *s = visitor_stream(o, pl->uid, pl->uid_len);
    uint64_t            v[4];
    size_t              i, n = 0, nv = 1;

    v[0] = (pl->uid_len ? 1u : 0u) | (pl->status ? 2u : 0u)
           | (pl->rt ? 4u : 0u) | (pl->node_len ? 8u : 0u);
    if (pl->status) {
        v[nv++] = status_code(pl->status);
    }
    if (pl->rt) {
        v[nv++] = (uint64_t) pl->rt;
    }

    if (put_line_head(o, s, AB_SHF_LINE, file, lineno, pl->time) != 0
        || put_vars(o, s, v, 1) != 0
        || (pl->uid_len && put_str(o, s, pl->uid, pl->uid_len) != 0)
        || put_vars(o, s, v + 1, nv - 1) != 0
        || (pl->node_len && put_dstr(o, s, pl->node, pl->node_len) != 0)
        || put_pairs(o, s, sp->pairs + pl->forced0, pl->nforced) != 0
        || put_pairs(o, s, sp->pairs + pl->pair0, pl->npairs) != 0)
    {
        return -1;
    }

    for (i = 0; i < pl->nevents; i++) {
        n += !to_orders(&evs[i], pl->uid_len);
    }
    if (put_vars(o, s, (uint64_t[]) { n }, 1) != 0) {
        return -1;
    }
    for (i = 0; i < pl->nevents; i++) {
        if (to_orders(&evs[i], pl->uid_len)) {
            continue;
        }
        if (put_event(o, s, &evs[i], 0) != 0) {
            return -1;
        }
    }
    for (i = 0; i < o->ndims; i++) {
        if (put_dstr(o, s, pl->seg[i].s, pl->seg[i].len) != 0) {
            return -1;
        }
    }

    /* after the visitor's record, which is complete without them */
    for (i = 0; i < pl->nevents; i++) {
        if (to_orders(&evs[i], pl->uid_len)
            && put_order(o, &evs[i], pl->uid, pl->uid_len, pl->time) != 0)
        {
            return -1;
        }
    }

    return 0;
}


int
ab_shard_put_event(ab_shard_out_t *o, const ab_pevline_t *pe,
    const char *file, uint64_t lineno)
{
    stream_t  *s;
    int        moved = to_orders(&pe->ev, pe->uid_len);

    if (moved && pe->uid_len == 0) {
        /* a refund by order id: nothing of it is the visitor's */
        return put_order(o, &pe->ev, "", 0, pe->time);
    }

    s = visitor_stream(o, pe->uid, pe->uid_len);
    if (put_line_head(o, s, AB_SHF_EVENT, file, lineno, pe->time) != 0
        || put_str(o, s, pe->uid, pe->uid_len) != 0
        || put_event(o, s, &pe->ev, moved ? AB_SHF_MOVED : 0) != 0)
    {
        return -1;
    }

    return moved ? put_order(o, &pe->ev, pe->uid, pe->uid_len, pe->time) : 0;
}


const char *
ab_shard_error(const ab_shard_out_t *o)
{
    return o->err;
}


uint64_t
ab_shard_bytes(const ab_shard_out_t *o)
{
    uint64_t  b = 0;
    size_t    i;

    for (i = 0; i < o->ns; i++) {
        b += o->s[i].bytes + o->s[i].len;
    }

    return b;
}


static void
out_free(ab_shard_out_t *o, int unlink_tmp)
{
    size_t  i;

    for (i = 0; i < o->ns; i++) {
        stream_t  *s = &o->s[i];

        if (s->fd >= 0) {
            close(s->fd);
        }
        if (unlink_tmp && s->tmp != NULL) {
            unlink(s->tmp);
        }
        free(s->tmp);
        free(s->name);
        free(s->buf);
        if (s->h != NULL) {
            XXH3_freeState(s->h);
        }
        ab_intern_free(&s->dict);
    }
    free(o->s);
    free(o);
}


void
ab_shard_abort(ab_shard_out_t *o)
{
    if (o != NULL) {
        out_free(o, 1);
    }
}


static char *
path_of(const char *dir, const char *fmt, const char *tag, int sp, size_t i,
    size_t n)
{
    char  buf[8192];
    int   len;

    len = snprintf(buf, sizeof(buf), fmt, dir, tag, sp, i, n,
                   (long) getpid());
    if (len < 0 || (size_t) len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return NULL;
    }

    return strdup(buf);
}


static int
s_open(ab_shard_out_t *o, stream_t *s, const char *dir, const char *tag,
    int space, size_t i, const char *spec)
{
    uint64_t  v[3];
    uint32_t  ver = AB_SHARD_VERSION;
    unsigned char  le[4];

    s->fd = -1;
    ab_intern_init(&s->dict, DICT_MAX);
    s->name = path_of(dir, "%s/%s.%c%04zu-of-%04zu.abshard", tag,
                      "vor"[space], i, o->n);
    s->tmp = path_of(dir, "%s/.%s.%c%04zu-of-%04zu.abshard.tmp.%ld", tag,
                     "vor"[space], i, o->n);
    s->buf = malloc(WBUF);
    s->h = XXH3_createState();
    if (s->name == NULL || s->tmp == NULL || s->buf == NULL || s->h == NULL)
    {
        snprintf(o->err, sizeof(o->err), "%s: %s", dir,
                 s->name ? "out of memory" : strerror(errno));
        return -1;
    }
    XXH3_64bits_reset(s->h);
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        snprintf(o->err, sizeof(o->err), "%s: %s", s->tmp, strerror(errno));
        return -1;
    }

    memcpy(s->buf, AB_SHARD_MAGIC, 8);
    ab_shf_le(le, ver, 4);
    memcpy(s->buf + 8, le, 4);
    s->len = 12;
    v[0] = (uint64_t) space;
    v[1] = i;
    v[2] = o->n;
    put_vars(o, s, v, 3);

    return put_str(o, s, tag, strlen(tag)) != 0
           || put_str(o, s, spec, strlen(spec)) != 0
           || put_vars(o, s, (uint64_t[]) { o->ndims }, 1) != 0 ? -1 : 0;
}


/* The files of spaces first..last (shard.h), nshards each. */
static ab_shard_out_t *
out_open(const char *dir, const char *tag, size_t nshards, int first,
    int last, const ab_by_t *by, char *err, size_t errlen)
{
    ab_shard_out_t  *o = calloc(1, sizeof(*o));
    char             spec[AB_SEG_SPEC_MAX];
    size_t           i, ns = nshards * (size_t) (last - first + 1);

    if (o == NULL || (o->s = calloc(ns, sizeof(*o->s))) == NULL) {
        free(o);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->n = nshards;
    o->ns = ns;
    o->ndims = by ? by->n : 0;
    ab_by_spec(by, spec, sizeof(spec));
    for (i = 0; i < ns; i++) {
        o->s[i].fd = -1;
    }
    for (i = 0; i < ns; i++) {
        if (s_open(o, &o->s[i], dir, tag, first + (int) (i / nshards),
                   i % nshards, spec) != 0)
        {
            snprintf(err, errlen, "%s", o->err);
            out_free(o, 1);
            return NULL;
        }
    }

    return o;
}


ab_shard_out_t *
ab_shard_open(const char *dir, const char *tag, size_t nshards,
    const ab_by_t *by, char *err, size_t errlen)
{
    return out_open(dir, tag, nshards, AB_SHARD_VISITOR, AB_SHARD_ORDER, by,
                    err, errlen);
}


ab_shard_out_t *
ab_shard_open_resolved(const char *dir, const char *tag, size_t nshards,
    char *err, size_t errlen)
{
    return out_open(dir, tag, nshards, AB_SHARD_RESOLVED, AB_SHARD_RESOLVED,
                    NULL, err, errlen);
}


int
ab_shard_put_resolved(ab_shard_out_t *o, const ab_shard_order_t *r)
{
    stream_t  *s = visitor_stream(o, r->uid, r->uid_len);
    uint64_t   v[5];

    v[0] = ab_shf_zig(r->time - s->time);
    v[1] = ab_shf_zig(r->revenue);
    v[2] = (uint64_t) r->refund;
    v[3] = r->refunds;
    v[4] = (uint64_t) r->purchases;
    s->time = r->time;

    return put_byte(o, s, AB_SHF_ORDER) != 0
           || put_str(o, s, r->order, r->order_len) != 0
           || put_str(o, s, r->uid, r->uid_len) != 0
           || put_vars(o, s, v, 5) != 0 ? -1 : 0;
}


static int
put_meta(ab_shard_out_t *o, stream_t *s, const ab_shard_meta_t *m)
{
    uint64_t  v[4] = { m->files, m->lines, m->bad_lines, m->nbad };
    size_t    i;

    if (put_byte(o, s, AB_SHF_META) != 0 || put_vars(o, s, v, 4) != 0) {
        return -1;
    }
    for (i = 0; i < m->nbad; i++) {
        if (put_str(o, s, m->bad[i].file, strlen(m->bad[i].file)) != 0
            || put_vars(o, s, &m->bad[i].line, 1) != 0
            || put_str(o, s, m->bad[i].reason, strlen(m->bad[i].reason)))
        {
            return -1;
        }
    }

    return 0;
}


/* END, the checksum, and the file synced. */
static int
s_end(ab_shard_out_t *o, stream_t *s)
{
    unsigned char  le[8];

    if (put_byte(o, s, AB_SHF_END) != 0 || s_flush(o, s) != 0) {
        return -1;
    }
    ab_shf_le(le, XXH3_64bits_digest(s->h), 8);
    memcpy(s->buf, le, 8);
    s->len = 8;
    /* the checksum is not part of what it sums: written around s_flush */
    if (write(s->fd, s->buf, 8) != 8 || fsync(s->fd) != 0) {
        snprintf(o->err, sizeof(o->err), "%s: %s", s->tmp, strerror(errno));
        return -1;
    }
    s->bytes += 8;
    s->len = 0;
    if (close(s->fd) != 0) {
        s->fd = -1;
        snprintf(o->err, sizeof(o->err), "%s: %s", s->tmp, strerror(errno));
        return -1;
    }
    s->fd = -1;

    return 0;
}


static int
sync_dir(const char *name)
{
    char  *dir = strdup(name), *slash;
    int    fd, rc = -1;

    if (dir == NULL) {
        return -1;
    }
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(dir);

    return rc;
}


int
ab_shard_close(ab_shard_out_t *o, const ab_shard_meta_t *meta, char *err,
    size_t errlen)
{
    size_t  i, k;

    if (meta != NULL && put_meta(o, &o->s[0], meta) != 0) {
        goto failed;
    }
    for (i = 0; i < o->ns; i++) {
        if (s_end(o, &o->s[i]) != 0) {
            goto failed;
        }
    }
    /* visitor shard 0, with the task's counts, last: its presence says
     * the task's files are all there */
    for (k = 1; k <= o->ns; k++) {
        i = k % o->ns;
        if (rename(o->s[i].tmp, o->s[i].name) != 0) {
            snprintf(o->err, sizeof(o->err), "%s: %s", o->s[i].name,
                     strerror(errno));
            goto failed;
        }
        free(o->s[i].tmp);
        o->s[i].tmp = NULL;
    }
    if (sync_dir(o->s[0].name) != 0) {
        snprintf(o->err, sizeof(o->err), "%s: sync: %s", o->s[0].name,
                 strerror(errno));
        goto failed;
    }
    out_free(o, 0);

    return 0;

failed:
    snprintf(err, errlen, "%s", o->err);
    out_free(o, 1);

    return -1;
}
