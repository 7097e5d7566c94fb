/*
 * Partial files: written by reduce from a pass, read and added up by
 * merge (partial.h). The writer keeps the words in memory (a partial is
 * per experiment and variant, not per visitor: kilobytes), the reader
 * the whole file, checked before a field of it is used.
 */

#include "partial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "audit.h"
#include "capped.h"
#include "confhist.h"
#include "esums.h"
#include "msums.h"
#include "trend.h"

#define MAGIC  UINT64_C(0x0000545241504241)     /* "ABPART\0\0" */

typedef struct {
    uint64_t  *w;
    size_t     n, cap;
    int        oom;
} out_t;


static void
put(out_t *o, uint64_t v)
{
    if (o->n == o->cap && !o->oom) {
        size_t     cap = o->cap ? 2 * o->cap : 4096;
        uint64_t  *w = realloc(o->w, cap * sizeof(*w));

        if (w == NULL) {
            o->oom = 1;
            return;
        }
        o->w = w;
        o->cap = cap;
    }
    if (!o->oom) {
        o->w[o->n++] = v;
    }
}


static void
put_i128(out_t *o, ab_i128_t v)
{
    put(o, (uint64_t) v);
    put(o, (uint64_t) ((ab_u128_t) v >> 64));
}


static void
put_str(out_t *o, const char *s)
{
    size_t    len = strlen(s), i;
    uint64_t  w;

    put(o, len);
    /* at least one NUL after the bytes: read in place as a C string */
    for (i = 0; i <= len; i += 8) {
        w = 0;
        memcpy(&w, s + i, len - i < 8 ? len - i : 8);
        put(o, w);
    }
}


static void
put_msum(out_t *o, const ab_msum_t *m)
{
    size_t  i;

    put_i128(o, m->fast);
    for (i = 0; i < 4; i++) {
        put(o, m->spill.w[i]);
    }
}


static void
audit_num(void *io, uint64_t v)
{
    put(io, v);
}


static void
audit_str(void *io, const char *s)
{
    put_str(io, s);
}


/* The node each visitor of experiment e entered at (audit.h), counted
 * from the memberships: (visitors, node, variant), then a 0. */
static void
put_entries(out_t *o, const ab_pass_t *p, int e)
{
    ab_audit_entry_t  *en;
    size_t             n, i;

    if (ab_audit_entries(p->st, e, &en, &n) != 0) {
        o->oom = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        put(o, en[i].visitors);
        put_str(o, en[i].node);
        put_str(o, en[i].var);
    }
    put(o, 0);
    free(en);
}


/* The trend sums of experiment e by bucket (AB_BUCKET_DAY, _HOUR). */
static void
put_trend(out_t *o, const ab_pass_t *p, int e, int bucket)
{
    ab_trend_sums_t  t;
    size_t           i, k;

    if (ab_trend_sums(p, e, bucket, NULL, &t) != 0) {
        o->oom = 1;
    }

    put(o, t.ncells);
    for (i = 0; i < t.ncells; i++) {
        const ab_trend_cell_t  *c = &t.cells[i];

        put(o, (uint64_t) c->start);
        put(o, c->variant);
        put(o, c->new_visitors);
        put(o, c->orders);
        put(o, c->converters);
        put_i128(o, c->revenue);
        for (k = 0; k < 4; k++) {
            put(o, c->sumsq.w[k]);
        }
    }
    ab_trend_sums_free(&t);
}


/* A cell's funnel counts ([var * nevents + event]; pre and both NULL
 * without CUPED) and multi-variant counts ([var]). */
static void
put_counts(out_t *o, const ab_pass_t *p, int e, const uint64_t *count,
    const uint64_t *pre, const uint64_t *both, const uint64_t *multi)
{
    size_t  nv = p->st->vars[e].n, nev = p->st->events.n, i;

    for (i = 0; i < nv * nev; i++) {
        put(o, count[i]);
    }
    put(o, pre != NULL);
    for (i = 0; pre != NULL && i < nv * nev; i++) {
        put(o, pre[i]);
        put(o, both[i]);
    }
    for (i = 0; i < nv; i++) {
        put(o, multi[i]);
    }
}


/* With --config-history, the visitors of experiment e among list (NULL:
 * all) who entered under each configuration. */
static void
put_entered(out_t *o, const ab_pass_t *p, int e, const uint32_t *list,
    size_t n)
{
    const ab_confhist_t  *h = p->cfg->history;
    uint64_t             *entered;
    size_t                i;

    if (h == NULL) {
        return;
    }
    if ((entered = malloc((h->n + 1) * sizeof(*entered))) == NULL) {
        o->oom = 1;
        return;
    }
    ab_confhist_entered(h, p->st, e, list, n, entered);
    for (i = 0; i < h->n; i++) {
        put(o, entered[i]);
    }
    free(entered);
}


/* Cell c of es: the sums of each variant, then the capped histogram. */
static void
put_cell(out_t *o, const ab_esums_t *es, size_t c)
{
    const ab_capset_t  *caps = &es->caps[c];
    size_t              i, v;

    for (v = 0; v < es->nvars; v++) {
        const ab_msums_t  *s = &es->sums[c * es->nvars + v];

        put(o, s->n);
        put_i128(o, s->top);
        for (i = 0; i < AB_MV_N; i++) {
            put_msum(o, &s->s[i]);
        }
        for (i = 0; i < AB_MP_N; i++) {
            put_msum(o, &s->p[i]);
        }
    }
    put(o, caps->n);
    for (i = 0; i < caps->n; i++) {
        const ab_capbuy_t  *b = &caps->b[i];

        put_i128(o, b->rev);
        put_i128(o, b->prev);
        put(o, b->orders);
        put(o, b->porders);
        put(o, b->var);
        put(o, b->count);
    }
}


static void
put_exp(out_t *o, ab_state_t *st, ab_pass_t *p, int e)
{
    size_t          nv = st->vars[e].n, d, i, v;
    int64_t         first, last;
    ab_esums_t      es;
    ab_segplans_t  *plans;
    ab_segcell_t    sc;

    put_str(o, st->exps.names[e]);
    put(o, nv);
    for (v = 0; v < nv; v++) {
        put_str(o, st->vars[e].names[v]);
    }
    put_counts(o, p, e, p->event_count[e],
               p->event_pre ? p->event_pre[e] : NULL,
               p->event_pre ? p->event_both[e] : NULL, p->multi[e]);

    ab_entry_range(p, e, &first, &last);
    put(o, (uint64_t) first);
    put(o, (uint64_t) last);

    plans = st->nseg > 0 ? ab_segplans_values(p, e) : NULL;
    if ((st->nseg > 0 && plans == NULL)
        || ab_esums_build(p, e, plans ? ab_segplans_cells(plans) : NULL, 1,
                          &es) != 0)
    {
        ab_segplans_free(plans);
        o->oom = 1;
        return;
    }
    put_cell(o, &es, 0);

    put_trend(o, p, e, AB_BUCKET_DAY);
    put_trend(o, p, e, AB_BUCKET_HOUR);

    put_entries(o, p, e);

    put_entered(o, p, e, NULL, 0);

    /* --by: every value of every dimension, a cell of its own */
    for (d = 0; d < st->nseg; d++) {
        put(o, ab_segplans_count(plans, d));
        for (i = 0; i < ab_segplans_count(plans, d); i++) {
            ab_segplans_at(p, e, plans, d, i, &sc);
            put_str(o, sc.name);
            put(o, sc.visitors);
            put_cell(o, &es, sc.cell);
            put_counts(o, p, e, sc.event_count, sc.event_pre, sc.event_both,
                       sc.multi);
            put_entered(o, p, e, sc.membs, sc.nmembs);
        }
    }
    ab_segplans_free(plans);
    ab_esums_free(&es);
}


int
ab_partial_save(const char *path, ab_state_t *st, ab_pass_t *p,
    const ab_report_t *rep, char *err, size_t errlen)
{
    const ab_confhist_t  *h = p->cfg->history;
    out_t                 o;
    size_t                i, done = 0;
    char                  tmp[4096];
    int                   fd;
    ssize_t               w;

    memset(&o, 0, sizeof(o));
    put(&o, MAGIC);
    put(&o, AB_PARTIAL_VERSION);
    put(&o, (uint64_t) st->hist_lookback);
    put(&o, st->nseg);
    for (i = 0; i < st->nseg; i++) {
        put_str(&o, p->cfg->by->dims[i].name);
    }
    /* --config-history: when each configuration took effect, the
     * periods of the entry counts below */
    put(&o, h ? h->n : 0);
    for (i = 0; h && i < h->n; i++) {
        put(&o, (uint64_t) h->snaps[i].from);
    }
    put(&o, st->files);
    put(&o, st->lines);
    put(&o, st->bad_lines);
    put(&o, st->duplicate_orders);
    put(&o, st->client_order_events);
    put(&o, st->orders_no_id);
    put(&o, st->late_exposures);
    put(&o, st->forgotten);
    put(&o, st->nvis);
    put(&o, rep->orphan_refunds);
    put(&o, rep->events_before_exposure);
    put(&o, rep->refunds_over_order);
    put(&o, (uint64_t) st->has_min_time);
    put(&o, (uint64_t) st->min_time);
    put(&o, (uint64_t) st->max_time);
    put(&o, st->nbad);
    for (i = 0; i < st->nbad; i++) {
        put_str(&o, st->bad[i].file);
        put(&o, st->bad[i].line);
        put_str(&o, st->bad[i].reason);
    }
    put(&o, st->events.n);
    for (i = 0; i < st->events.n; i++) {
        put_str(&o, st->events.names[i]);
    }
    put(&o, st->exps.n);
    for (i = 0; i < st->exps.n; i++) {
        put_exp(&o, st, p, (int) i);
    }
    put(&o, st->audit != NULL);
    if (st->audit != NULL) {
        ab_audit_save(st->audit, &(ab_audit_writer_t) { &o, audit_num,
                                                         audit_str });
    }
    put(&o, XXH3_64bits(o.w, o.n * sizeof(uint64_t)));
    if (o.oom) {
        free(o.w);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (fd >= 0 && done < o.n * sizeof(uint64_t)) {
        w = write(fd, (const char *) o.w + done,
                  o.n * sizeof(uint64_t) - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        done += (size_t) w;
    }
    free(o.w);
    if (fd < 0 || done < o.n * sizeof(uint64_t) || fsync(fd) != 0
        || close(fd) != 0 || rename(tmp, path) != 0)
    {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        if (fd >= 0) {
            unlink(tmp);
        }
        return -1;
    }

    return 0;
}


/* ---- reading ---- */

typedef struct {
    const char      *path;
    uint64_t        *w;
    size_t           n, at;
    int              bad;
} in_t;

struct ab_merged_s {
    in_t             *files;
    size_t            nfiles;
    ab_esums_t       *sums;
    int64_t          *span;
    ab_trend_sums_t  *trend;
    ab_given_dim_t   *dims;         /* [e * AB_BY_MAX + d] */
    uint64_t        **entered;      /* [e][snapshot] */
    size_t            nexps;
};


static uint64_t
get(in_t *f)
{
    if (f->at >= f->n) {
        f->bad = 1;
        return 0;
    }

    return f->w[f->at++];
}


/* At most max, else the file is damaged (and 0). */
static uint64_t
get_max(in_t *f, uint64_t max)
{
    uint64_t  v = get(f);

    if (v > max) {
        f->bad = 1;
        return 0;
    }

    return v;
}


static ab_i128_t
get_i128(in_t *f)
{
    uint64_t  lo = get(f), hi = get(f);

    return (ab_i128_t) (((ab_u128_t) hi << 64) | lo);
}


/* A string in place (NUL-terminated in the file), its length in *len. */
static const char *
get_str(in_t *f, size_t *len)
{
    uint64_t     n = get(f);
    size_t       words = n / 8 + 1;
    const char  *s;

    if (f->bad || n > 65536 || f->at + words > f->n) {
        f->bad = 1;
        *len = 0;
        return "";
    }
    s = (const char *) &f->w[f->at];
    f->at += words;
    if (s[n] != '\0' || memchr(s, '\0', n) != NULL) {
        f->bad = 1;
        *len = 0;
        return "";
    }
    *len = n;

    return s;
}


static void
get_msum(in_t *f, ab_msum_t *m)
{
    size_t  i;

    m->fast = get_i128(f);
    for (i = 0; i < 4; i++) {
        m->spill.w[i] = get(f);
    }
}


static uint64_t
audit_get(void *io, uint64_t max)
{
    return get_max(io, max);
}


static char *
audit_getstr(void *io)
{
    size_t       len;
    const char  *s = get_str(io, &len);

    return ((in_t *) io)->bad ? NULL : strdup(s);
}


static int
load(in_t *f, const char *path, char *err, size_t errlen)
{
    struct stat  sb;
    int          fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t       got = 0;
    ssize_t      r;

    memset(f, 0, sizeof(*f));
    f->path = path;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (sb.st_size < 24 || sb.st_size % 8 != 0
        || (f->w = malloc((size_t) sb.st_size)) == NULL)
    {
        snprintf(err, errlen, "%s: not a partial file (abstat reduce)", path);
        close(fd);
        return -1;
    }
    while (got < (size_t) sb.st_size
           && (r = read(fd, (char *) f->w + got, (size_t) sb.st_size - got))
              > 0)
    {
        got += (size_t) r;
    }
    close(fd);
    f->n = got / 8;

    if (got != (size_t) sb.st_size || f->w[0] != MAGIC) {
        snprintf(err, errlen, "%s: not a partial file (abstat reduce)", path);
        return -1;
    }
    if (f->w[1] != AB_PARTIAL_VERSION) {
        snprintf(err, errlen, "%s: partial file of version %llu, this abstat "
                 "reads version %d: reduce its shards again", path,
                 (unsigned long long) f->w[1], AB_PARTIAL_VERSION);
        return -1;
    }
    if (XXH3_64bits(f->w, (f->n - 1) * sizeof(uint64_t)) != f->w[f->n - 1]) {
        snprintf(err, errlen, "%s: partial file damaged or truncated "
                 "(checksum mismatch)", path);
        return -1;
    }
    f->n--;
    f->at = 2;

    return 0;
}


/* The --by dimensions of the partial at f's position: compared with
 * cmp's (1 when they differ), or, cmp NULL, added to add. */
static int
get_dims(in_t *f, const ab_by_t *cmp, ab_by_t *add)
{
    size_t       n = (size_t) get_max(f, AB_BY_MAX), d, len;
    const char  *name;
    int          differ = cmp != NULL && n != cmp->n;

    for (d = 0; d < n && !f->bad; d++) {
        name = get_str(f, &len);
        if (cmp == NULL && !f->bad && ab_by_add(add, name) != NULL) {
            f->bad = 1;
        }
        differ |= cmp != NULL && d < cmp->n
                  && strcmp(name, cmp->dims[d].name) != 0;
    }

    return differ;
}


/* Whether the configuration periods of the partial at f's position
 * differ from h's (NULL: none). */
static int
get_history(in_t *f, const ab_confhist_t *h)
{
    size_t  n = (size_t) get_max(f, f->n), i;
    int     differ = n != (h ? h->n : 0);

    for (i = 0; i < n && !f->bad; i++) {
        differ |= !differ && (int64_t) get(f) != h->snaps[i].from;
    }

    return differ;
}


/* With --config-history, a cell's entries by configuration, added to
 * into (NULL: skipped). */
static void
get_entered(in_t *f, const ab_config_t *cfg, uint64_t *into)
{
    size_t    i;
    uint64_t  k;

    for (i = 0; cfg->history && i < cfg->history->n; i++) {
        k = get(f);
        if (into != NULL && !f->bad) {
            into[i] += k;
        }
    }
}


int
ab_partial_head(const char *path, int64_t *lookback, ab_by_t *by, char *err,
    size_t errlen)
{
    in_t  f;
    int   rc = 0;

    if (load(&f, path, err, errlen) != 0) {
        free(f.w);
        return -1;
    }
    *lookback = (int64_t) get(&f);
    get_dims(&f, NULL, by);
    if (f.bad) {
        snprintf(err, errlen, "%s: partial file inconsistent", path);
        rc = -1;
    }
    free(f.w);

    return rc;
}


/* The trend cells of one partial, variants as the merged state's. */
static int
get_trend(in_t *f, const int *vmap, size_t nv, ab_trend_sums_t *into)
{
    ab_trend_sums_t  t;
    size_t           n = (size_t) get_max(f, f->n / 11), i, k;
    int              rc;

    memset(&t, 0, sizeof(t));
    if (into != NULL && n > 0
        && (t.cells = calloc(n, sizeof(*t.cells))) == NULL)
    {
        return -1;
    }
    for (i = 0; i < n && !f->bad; i++) {
        ab_trend_cell_t  c;

        c.start = (int64_t) get(f);
        c.variant = get_max(f, nv ? nv - 1 : 0);
        c.new_visitors = get(f);
        c.orders = get(f);
        c.converters = get(f);
        c.revenue = get_i128(f);
        for (k = 0; k < 4; k++) {
            c.sumsq.w[k] = get(f);
        }
        if (into != NULL && !f->bad) {
            c.variant = (uint64_t) vmap[c.variant];
            t.cells[t.ncells++] = c;
        }
    }
    if (into == NULL || f->bad) {
        free(t.cells);
        return 0;
    }
    ab_trend_sums_sort(&t);
    rc = ab_trend_sums_add(into, &t);
    free(t.cells);

    return rc;
}


/* A cell's funnel and multi-variant counts (put_counts()), added to
 * count, pre, both and multi (NULL: skipped) by the merged ids. */
static void
get_counts(in_t *f, const ab_state_t *st, const int *vmap, size_t nv,
    const int *evmap, size_t fnev, uint64_t *count, uint64_t *pre,
    uint64_t *both, uint64_t *multi)
{
    size_t    v, ev, at, nev = st->events.n;
    uint64_t  k, kb;
    int       has_pre;

    for (v = 0; v < nv; v++) {
        for (ev = 0; ev < fnev; ev++) {
            k = get(f);
            if (count != NULL && !f->bad) {
                count[(size_t) vmap[v] * nev + (size_t) evmap[ev]] += k;
            }
        }
    }
    has_pre = (int) get_max(f, 1);
    for (v = 0; has_pre && v < nv; v++) {
        for (ev = 0; ev < fnev; ev++) {
            at = (size_t) vmap[v] * nev + (size_t) evmap[ev];
            k = get(f);
            kb = get(f);
            if (pre != NULL && !f->bad) {
                pre[at] += k;
                both[at] += kb;
            }
        }
    }
    for (v = 0; v < nv; v++) {
        k = get(f);
        if (multi != NULL && !f->bad) {
            multi[vmap[v]] += k;
        }
    }
}


/* A cell's sums and capped histogram (put_cell()), added to cell c of
 * into (NULL: skipped) by the merged variant ids. */
static int
get_cell(in_t *f, const int *vmap, size_t nv, ab_esums_t *into, size_t c)
{
    ab_msums_t   s;
    ab_capbuy_t  b;
    size_t       v, i, n;
    int          rc = 0;

    for (v = 0; v < nv && !f->bad; v++) {
        s.n = get(f);
        s.top = get_i128(f);
        for (i = 0; i < AB_MV_N; i++) {
            get_msum(f, &s.s[i]);
        }
        for (i = 0; i < AB_MP_N; i++) {
            get_msum(f, &s.p[i]);
        }
        if (into != NULL && !f->bad) {
            ab_msums_merge(&into->sums[c * into->nvars + (size_t) vmap[v]],
                           &s);
        }
    }
    n = (size_t) get_max(f, f->n / 8);
    for (i = 0; i < n && !f->bad; i++) {
        b.rev = get_i128(f);
        b.prev = get_i128(f);
        b.orders = (uint32_t) get_max(f, UINT32_MAX);
        b.porders = (uint32_t) get_max(f, UINT32_MAX);
        b.var = (uint32_t) get_max(f, nv ? nv - 1 : 0);
        b.count = get(f);
        if (into != NULL && !f->bad) {
            ab_capset_t  one = { &b, 1, 1, 1 };

            b.var = (uint32_t) vmap[b.var];
            rc |= ab_capset_merge(&into->caps[c], &one);
        }
    }

    return rc;
}


/* The values of dimension d of experiment e: interned (phase 0, g
 * NULL), or their cells added to g's by value id. */
static int
get_values(in_t *f, int phase, ab_state_t *st, const ab_config_t *cfg,
    int e, const int *vmap, size_t nv, const int *evmap, size_t fnev,
    ab_given_dim_t *g, size_t d)
{
    size_t       nsnap = cfg->history ? cfg->history->n : 0;
    size_t       n = (size_t) get_max(f, AB_SEG_VALUES_MAX), i, len, at;
    size_t       k = st->vars[e].n * st->events.n;
    const char  *name;
    uint64_t     visitors;
    int          id, rc = 0;

    for (i = 0; i < n && !f->bad; i++) {
        name = get_str(f, &len);
        visitors = get(f);
        if (f->bad) {
            break;
        }
        /* past the limit of values, "other", as ingest would have it */
        if ((id = ab_state_seg_id(st, d, name, len)) < 0) {
            return -1;
        }
        if (phase == 0 || g == NULL) {
            rc |= get_cell(f, vmap, nv, NULL, 0);
            get_counts(f, st, vmap, nv, evmap, fnev, NULL, NULL, NULL,
                       NULL);
            get_entered(f, cfg, NULL);
            continue;
        }
        at = (size_t) id;
        g->seen[at] = 1;
        g->visitors[at] += visitors;
        rc |= get_cell(f, vmap, nv, &g->cells, at);
        get_counts(f, st, vmap, nv, evmap, fnev, g->event_count + at * k,
                   g->event_pre ? g->event_pre + at * k : NULL,
                   g->event_both ? g->event_both + at * k : NULL,
                   g->multi + at * st->vars[e].n);
        get_entered(f, cfg, g->entered ? g->entered + at * nsnap : NULL);
    }

    return rc;
}


/* One experiment of file f: its names interned (phase 0), or its
 * numbers added to m's (phase 1). */
static int
read_exp(in_t *f, int phase, ab_state_t *st, ab_pass_t *p, ab_merged_t *m,
    const int *evmap, size_t fnev, const ab_config_t *cfg)
{
    size_t        len, nv, v, d;
    const char   *name = get_str(f, &len);
    int           e = -1, vmap[AB_MAX_EXP_VARIANTS], rc = 0;

    if (!f->bad && (e = ab_state_exp(st, name, len)) < 0) {
        return -1;
    }
    nv = (size_t) get_max(f, AB_MAX_EXP_VARIANTS);
    for (v = 0; v < nv && !f->bad; v++) {
        name = get_str(f, &len);
        vmap[v] = phase == 0 ? ab_intern(&st->vars[e], name, len)
                             : ab_intern_find(&st->vars[e], name, len);
        if (vmap[v] < 0) {
            return -1;
        }
    }
    if (f->bad) {
        return 0;
    }

    get_counts(f, st, vmap, nv, evmap, fnev,
               phase == 1 ? p->event_count[e] : NULL,
               phase == 1 && p->event_pre ? p->event_pre[e] : NULL,
               phase == 1 && p->event_pre ? p->event_both[e] : NULL,
               phase == 1 ? p->multi[e] : NULL);
    {
        int64_t  first = (int64_t) get(f), last = (int64_t) get(f);

        if (phase == 1) {
            if (first < m->span[2 * e]) {
                m->span[2 * e] = first;
            }
            if (last > m->span[2 * e + 1]) {
                m->span[2 * e + 1] = last;
            }
        }
    }

    rc |= get_cell(f, vmap, nv, phase == 1 ? &m->sums[e] : NULL, 0);

    rc |= get_trend(f, vmap, nv, phase == 1 && cfg->bucket == AB_BUCKET_DAY
                                 ? &m->trend[e] : NULL);
    rc |= get_trend(f, vmap, nv, phase == 1 && cfg->bucket == AB_BUCKET_HOUR
                                 ? &m->trend[e] : NULL);

    while (!f->bad) {
        uint64_t     k = get(f);
        size_t       nlen, vlen;
        const char  *node, *var;

        if (k == 0) {
            break;
        }
        node = get_str(f, &nlen);
        var = get_str(f, &vlen);
        if (phase == 1 && !f->bad
            && ab_audit_give(&st->audit, st->exps.names[e], st->exps.lens[e],
                             node, nlen, var, vlen, k) != 0)
        {
            return -1;
        }
    }

    get_entered(f, cfg, phase == 1 && m->entered ? m->entered[e] : NULL);

    for (d = 0; d < st->nseg && !f->bad; d++) {
        rc |= get_values(f, phase, st, cfg, e, vmap, nv, evmap, fnev,
                         phase == 1 ? &m->dims[(size_t) e * AB_BY_MAX + d]
                                    : NULL, d);
    }

    return rc;
}


/* File f whole: names (phase 0, the audit merged too) or numbers. */
static int
read_file(in_t *f, int phase, ab_state_t *st, const ab_config_t *cfg,
    ab_pass_t *p, ab_merged_t *m, ab_report_t *rep)
{
    uint64_t      c[15], nbad, nev, nexp, i;
    size_t        len, flen, rlen;
    int           evmap[AB_MAX_EVENT_NAMES], id;
    const char   *file, *reason, *name;
    ab_audit_t   *a = NULL;
    ab_by_t       none;

    memset(&none, 0, sizeof(none));
    f->at = 2;
    c[0] = get(f);
    if (phase == 0 && f != m->files && (int64_t) c[0] != st->hist_lookback)
    {
        /* CUPED's history is made when the pass is: one lookback */
        f->bad = 2;
        return 0;
    }
    if (get_dims(f, cfg->by ? cfg->by : &none, NULL) && !f->bad) {
        /* a value's segment is of one --by set */
        f->bad = 3;
        return 0;
    }
    if (get_history(f, cfg->history) && !f->bad) {
        f->bad = 4;
        return 0;
    }
    for (i = 1; i < 15; i++) {
        c[i] = get(f);
    }
    st->hist_lookback = (int64_t) c[0];
    if (phase == 1) {
        st->files += c[1];
        st->lines += c[2];
        st->bad_lines += c[3];
        st->duplicate_orders += c[4];
        st->client_order_events += c[5];
        st->orders_no_id += c[6];
        st->late_exposures += c[7];
        st->forgotten += c[8];
        st->nvis += c[9];
        rep->orphan_refunds += c[10];
        rep->events_before_exposure += c[11];
        rep->refunds_over_order += c[12];
        if (c[13] && (!st->has_min_time || (int64_t) c[14] < st->min_time)) {
            st->min_time = (int64_t) c[14];
            st->has_min_time = 1;
        }
    }
    {
        int64_t  max = (int64_t) get(f);

        if (phase == 1 && max > st->max_time) {
            st->max_time = max;
        }
    }

    nbad = get_max(f, AB_BAD_SAMPLES);
    for (i = 0; i < nbad && !f->bad; i++) {
        file = get_str(f, &flen);
        uint64_t  line = get(f);

        reason = get_str(f, &rlen);
        if (phase == 1 && !f->bad) {
            ab_state_sample(st, file, line, reason);
        }
    }

    nev = get_max(f, AB_MAX_EVENT_NAMES);
    for (i = 0; i < nev && !f->bad; i++) {
        name = get_str(f, &len);
        id = phase == 0 ? ab_intern(&st->events, name, len)
                        : ab_intern_find(&st->events, name, len);
        if (id < 0) {
            return -1;
        }
        evmap[i] = id;
    }

    nexp = get_max(f, AB_MAX_EXPERIMENTS);
    for (i = 0; i < nexp && !f->bad; i++) {
        if (read_exp(f, phase, st, p, m, evmap, (size_t) nev, cfg)
            != 0)
        {
            return -1;
        }
    }

    if (get_max(f, 1) && phase == 0 && !f->bad) {
        if (ab_audit_load(&a, &(ab_audit_reader_t) { f, audit_get,
                                                     audit_getstr }) != 0)
        {
            f->bad = 1;
        } else if (ab_audit_merge(&st->audit, a) != 0) {
            ab_audit_free(a);
            return -1;
        }
        ab_audit_free(a);
    }
    if (phase == 0 && !f->bad && f->at != f->n) {
        f->bad = 1;
    }

    return 0;
}


/* Room for nvals values of an experiment of nv variants, nev events. */
static int
given_dim_init(ab_given_dim_t *g, size_t nvals, size_t nv, size_t nev,
    int pre, size_t nsnap)
{
    size_t  k = nvals * nv * nev + 1;

    g->cells.nvars = nv;
    g->cells.ncells = nvals;
    g->cells.sums = calloc(nvals * nv + 1, sizeof(*g->cells.sums));
    g->cells.caps = calloc(nvals + 1, sizeof(*g->cells.caps));
    g->seen = calloc(nvals + 1, 1);
    g->visitors = calloc(nvals + 1, sizeof(uint64_t));
    g->event_count = calloc(k, sizeof(uint64_t));
    g->multi = calloc(nvals * nv + 1, sizeof(uint64_t));
    if (pre) {
        g->event_pre = calloc(k, sizeof(uint64_t));
        g->event_both = calloc(k, sizeof(uint64_t));
    }
    if (nsnap > 0) {
        g->entered = calloc(nvals * nsnap + 1, sizeof(uint64_t));
    }

    return g->cells.sums && g->cells.caps && g->seen && g->visitors
           && g->event_count && g->multi
           && (!pre || (g->event_pre && g->event_both))
           && (nsnap == 0 || g->entered) ? 0 : -1;
}


static void
given_dim_free(ab_given_dim_t *g)
{
    ab_esums_free(&g->cells);
    free(g->seen);
    free(g->visitors);
    free(g->event_count);
    free(g->event_pre);
    free(g->event_both);
    free(g->multi);
    free(g->entered);
}


void
ab_merged_free(ab_merged_t *m, ab_pass_t *p)
{
    size_t  i;

    if (m == NULL) {
        return;
    }
    for (i = 0; i < m->nexps; i++) {
        ab_esums_free(&m->sums[i]);
        if (m->trend) {
            ab_trend_sums_free(&m->trend[i]);
        }
    }
    for (i = 0; m->dims && i < m->nexps * AB_BY_MAX; i++) {
        given_dim_free(&m->dims[i]);
    }
    free(m->dims);
    for (i = 0; m->entered && i < m->nexps; i++) {
        free(m->entered[i]);
    }
    free(m->entered);
    free(m->sums);
    free(m->span);
    free(m->trend);
    for (i = 0; i < m->nfiles; i++) {
        free(m->files[i].w);
    }
    free(m->files);
    free(m);
    if (p != NULL) {
        p->given_sums = NULL;
        p->given_span = NULL;
        p->given_trend = NULL;
        p->given_dims = NULL;
        p->given_entered = NULL;
    }
}


ab_merged_t *
ab_partial_merge(char *const *paths, size_t n, ab_state_t *st,
    const ab_config_t *cfg, ab_pass_t *p, ab_report_t *rep, char *err,
    size_t errlen)
{
    ab_merged_t  *m = calloc(1, sizeof(*m));
    size_t        nsnap = cfg->history ? cfg->history->n : 0;
    size_t        i, e, d, nv, nev;
    int           phase;

    memset(p, 0, sizeof(*p));
    p->st = st;
    p->cfg = cfg;
    if (m == NULL || (m->files = calloc(n + 1, sizeof(*m->files))) == NULL) {
        free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    for (i = 0; i < n; i++, m->nfiles++) {
        if (load(&m->files[i], paths[i], err, errlen) != 0) {
            m->nfiles++;
            goto fail;
        }
    }

    for (phase = 0; phase < 2; phase++) {
        if (phase == 1) {
            /* every name is known: the arrays, by the merged ids */
            if (ab_pass_named(st, cfg) != 0) {
                goto oom;
            }
            m->nexps = st->exps.n;
            nev = st->events.n;
            m->sums = calloc(m->nexps + 1, sizeof(*m->sums));
            m->span = malloc((2 * m->nexps + 2) * sizeof(*m->span));
            m->trend = calloc(m->nexps + 1, sizeof(*m->trend));
            m->dims = calloc(m->nexps * AB_BY_MAX + 1, sizeof(*m->dims));
            m->entered = calloc(m->nexps + 1, sizeof(*m->entered));
            p->event_count = calloc(m->nexps + 1, sizeof(*p->event_count));
            p->multi = calloc(m->nexps + 1, sizeof(*p->multi));
            if (cfg->cuped) {
                p->event_pre = calloc(m->nexps + 1, sizeof(*p->event_pre));
                p->event_both = calloc(m->nexps + 1, sizeof(*p->event_both));
            }
            if (!m->sums || !m->span || !m->trend || !m->dims || !m->entered
                || !p->event_count
                || !p->multi || (cfg->cuped && (!p->event_pre
                                                || !p->event_both)))
            {
                goto oom;
            }
            for (e = 0; e < m->nexps; e++) {
                nv = st->vars[e].n;
                m->span[2 * e] = INT64_MAX;
                m->span[2 * e + 1] = INT64_MIN;
                m->sums[e].nvars = nv;
                m->sums[e].ncells = 1;
                m->sums[e].sums = calloc(nv + 1, sizeof(ab_msums_t));
                m->sums[e].caps = calloc(1, sizeof(ab_capset_t));
                p->event_count[e] = calloc((nv + 1) * (nev + 1),
                                           sizeof(uint64_t));
                p->multi[e] = calloc(nv + 1, sizeof(uint64_t));
                if (!m->sums[e].sums || !m->sums[e].caps
                    || !p->event_count[e] || !p->multi[e])
                {
                    goto oom;
                }
                if (p->event_pre != NULL) {
                    p->event_pre[e] = calloc((nv + 1) * (nev + 1),
                                             sizeof(uint64_t));
                    p->event_both[e] = calloc((nv + 1) * (nev + 1),
                                              sizeof(uint64_t));
                    if (!p->event_pre[e] || !p->event_both[e]) {
                        goto oom;
                    }
                }
                if (nsnap > 0 && (m->entered[e] = calloc(nsnap,
                                                         sizeof(uint64_t)))
                                 == NULL)
                {
                    goto oom;
                }
                for (d = 0; d < st->nseg; d++) {
                    if (given_dim_init(&m->dims[e * AB_BY_MAX + d],
                                       st->segvals[d].n, nv, nev,
                                       p->event_pre != NULL, nsnap) != 0)
                    {
                        goto oom;
                    }
                }
            }
        }
        for (i = 0; i < n; i++) {
            if (read_file(&m->files[i], phase, st, cfg, p, m, rep) != 0) {
                goto oom;
            }
            if (m->files[i].bad == 2) {
                snprintf(err, errlen, "%s: reduced with another CUPED "
                         "lookback than %s: reduce every shard with the "
                         "same --cuped-lookback (or --no-cuped)", paths[i],
                         paths[0]);
                goto fail;
            }
            if (m->files[i].bad == 4) {
                snprintf(err, errlen, "%s: reduced with another "
                         "--config-history than this merge's: give both "
                         "the same file (or neither)", paths[i]);
                goto fail;
            }
            if (m->files[i].bad == 3) {
                snprintf(err, errlen, "%s: reduced with another --by than "
                         "%s: reduce every shard with the same --by",
                         paths[i], paths[0]);
                goto fail;
            }
            if (m->files[i].bad) {
                snprintf(err, errlen, "%s: partial file inconsistent",
                         paths[i]);
                goto fail;
            }
        }
    }

    for (e = 0; e < m->nexps; e++) {
        ab_capset_finish(&m->sums[e].caps[0]);
    }
    p->given_sums = m->sums;
    p->given_span = m->span;
    p->given_trend = cfg->bucket ? m->trend : NULL;
    p->given_dims = st->nseg > 0 ? m->dims : NULL;
    p->given_entered = nsnap > 0 ? m->entered : NULL;

    return m;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    ab_merged_free(m, p);

    return NULL;
}
