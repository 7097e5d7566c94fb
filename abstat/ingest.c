/*
 * Worker threads take turns at the reader: under the reader lock a worker
 * claims the next batch of the ring and reads a block of whole lines
 * straight into it (ab_reader_block); then, without the lock, it splits
 * the block into entries (what ab_reader_next() would have returned, with
 * the stream offsets around each line) and parses the log lines, which is
 * most of the work. The calling thread applies the batches in file order,
 * so the result is the same as a single-threaded read; while the batch
 * it needs next is not ready, it takes a worker's turn itself. With no workers,
 * the calling thread reads line by line (ab_reader_next) into a batch and
 * parses it itself: the reference the threaded path is tested against
 * (t/abstat-threads.t).
 */

#include "ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "reader.h"
#include "shard.h"
#include "tab.h"

#define MAX_WORKERS    AB_MAX_THREADS
#define NBATCH         (MAX_WORKERS + 2)
#define BATCH_LINES    4096
/* room for one whole line after the soft limit */
#define BATCH_SOFT     (1024 * 1024)
#define BATCH_BYTES    (BATCH_SOFT + AB_LINE_MAX + 8)
#if BATCH_BYTES < AB_BLOCK_MAX + 1
#error "a batch must hold a block"
#endif
/* how many lines ahead the visitor table is prefetched */
#define PREFETCH       8

typedef struct {
    ab_read_t    rd;
    int          unterminated;
    uint64_t     before;        /* ab_reader_tell() before the read */
    uint64_t     after;         /* and after it */
    char        *line;          /* in the batch */
    size_t       len;
    ab_pline_t   pl;            /* log files, once parsed */
    uint32_t     vis;           /* a hint: the visitor, if known early */
} entry_t;

typedef enum { B_FREE = 0, B_FILLING, B_READY } bstate_t;

typedef struct {
    entry_t     *ents;
    size_t       n;
    char        *buf;
    size_t       used;
    bstate_t     state;
    int          last;          /* ends with EOF or a read error */
    char         err[256];      /* the read error */
    /* block mode (workers): what ab_reader_block() gave; its lines are
     * split into ents BATCH_LINES at a time, from pos on */
    ab_block_t   kind;
    uint64_t     base;
    uint64_t     tell;
    size_t       pos;
    ab_spans_t   spans;         /* of the parsed entries */
    ab_json_shape_t  shape;     /* of the lines parsed in it so far */
} batch_t;

typedef struct {
    ab_reader_t      *r;
    const ab_by_t    *by;       /* --by: what the parser takes too */
    int               events;
    int               nworkers;
    int               stop;     /* the consumer wants no more */
    int               eof;      /* the last batch is claimed */
    pthread_t         tid[MAX_WORKERS];
    pthread_mutex_t   rd_mu;    /* the reader and `produced` */
    pthread_mutex_t   mu;       /* batch states, stop */
    pthread_cond_t    cv;
    batch_t           b[NBATCH];
    size_t            nbatch;   /* in the ring: two more than workers */
    size_t            produced; /* batches claimed */
    size_t            consumed; /* batches handed to the consumer */
    batch_t          *cur;
    size_t            next;     /* entry of cur */
} src_t;


static void
fill_batch(src_t *src, batch_t *b)
{
    entry_t  *e;
    char     *line;
    size_t    len;

    b->n = 0;
    b->used = 0;
    b->pos = 0;
    b->last = 0;

    while (b->n < BATCH_LINES && b->used < BATCH_SOFT) {
        e = &b->ents[b->n++];
        e->before = ab_reader_tell(src->r);
        e->rd = ab_reader_next(src->r, &line, &len);
        e->after = ab_reader_tell(src->r);
        e->unterminated = ab_reader_unterminated(src->r);
        e->line = NULL;
        e->len = len;
        e->vis = AB_TAB_EMPTY;

        if (e->rd == AB_READ_EOF || e->rd == AB_READ_ERROR) {
            snprintf(b->err, sizeof(b->err), "%s", ab_reader_error(src->r));
            b->last = 1;
            return;
        }
        if (e->rd == AB_READ_LINE) {
            /* a copy: the reader's buffer moves on */
            e->line = b->buf + b->used;
            memcpy(e->line, line, len + 1);
            b->used += len + 1;
        }
    }
}


static void
parse_batch(const src_t *src, batch_t *b)
{
    size_t  i;

    if (src->events) {
        return;
    }
    ab_spans_reset(&b->spans);
    for (i = 0; i < b->n; i++) {
        if (b->ents[i].rd == AB_READ_LINE) {
            (void) ab_line_log_parse(b->ents[i].line, b->ents[i].len,
                                     &b->ents[i].pl, &b->spans, &b->shape,
                                     src->by);
        }
    }
}


/*
 * The next entries of a block from b->pos on, at most BATCH_LINES: a
 * block of very short lines (a file of newlines) is split over several
 * rounds rather than into an array of a million entries. The entries
 * are what ab_reader_next() would have returned, offsets included.
 */
static void
split_block(batch_t *b)
{
    entry_t  *e;
    char     *p, *nl;
    size_t    len;

    b->n = 0;

    if (b->kind == AB_BLOCK_EOF || b->kind == AB_BLOCK_ERROR
        || b->kind == AB_BLOCK_TOO_LONG)
    {
        e = &b->ents[b->n++];
        e->rd = b->kind == AB_BLOCK_EOF ? AB_READ_EOF
                : b->kind == AB_BLOCK_ERROR ? AB_READ_ERROR
                : AB_READ_TOO_LONG;
        /* too long: it starts after the last newline read, b->tell */
        e->before = e->after = b->tell;
        e->unterminated = 0;
        e->line = NULL;
        e->len = 0;
        e->vis = AB_TAB_EMPTY;
        b->last = b->kind != AB_BLOCK_TOO_LONG;
        b->pos = b->used;
        return;
    }

    while (b->n < BATCH_LINES && b->pos < b->used) {
        e = &b->ents[b->n++];
        p = b->buf + b->pos;
        nl = memchr(p, '\n', b->used - b->pos);
        e->before = b->base + b->pos;
        e->vis = AB_TAB_EMPTY;
        if (nl != NULL) {
            len = (size_t) (nl - p);
            b->pos += len + 1;
            e->after = b->base + b->pos;
            e->unterminated = 0;
        } else {
            /* AB_BLOCK_LAST: the last line, without a newline; the
             * offset stays after the newline before it */
            len = b->used - b->pos;
            b->pos = b->used;
            e->after = e->before;
            e->unterminated = 1;
        }
        p[len] = '\0';
        e->line = p;
        e->len = len;
        e->rd = len > AB_LINE_MAX ? AB_READ_TOO_LONG : AB_READ_LINE;
    }
}


/*
 * One round of a worker: claim the next batch of the ring, read a block
 * into it under the reader lock, split and parse it outside. Returns 0
 * when there was nothing to do: the end was read, the consumer stopped,
 * or, unless `wait` is set, the reader was busy or the ring full. The
 * consumer calls it without `wait` while the batch it needs is not
 * ready, so that it parses instead of idling (with as many threads as
 * CPUs, it would otherwise wait while a worker waits for a CPU).
 */
static int
produce(src_t *src, int wait)
{
    batch_t  *b;
    int       stop;

    if (wait) {
        pthread_mutex_lock(&src->rd_mu);
    } else if (pthread_mutex_trylock(&src->rd_mu) != 0) {
        return 0;
    }
    if (src->eof) {
        pthread_mutex_unlock(&src->rd_mu);
        return 0;
    }
    b = &src->b[src->produced % src->nbatch];

    pthread_mutex_lock(&src->mu);
    while (wait && b->state != B_FREE && !src->stop) {
        pthread_cond_wait(&src->cv, &src->mu);
    }
    stop = src->stop || b->state != B_FREE;
    if (!stop) {
        b->state = B_FILLING;
    }
    pthread_mutex_unlock(&src->mu);

    if (stop) {
        pthread_mutex_unlock(&src->rd_mu);
        return 0;
    }

    src->produced++;
    /* under the lock only the read itself: the copy from the reader
     * is gone (reads go straight into the batch) and lines are
     * split outside */
    b->kind = ab_reader_block(src->r, b->buf, &b->used, &b->base);
    b->tell = ab_reader_tell(src->r);
    if (b->kind == AB_BLOCK_EOF || b->kind == AB_BLOCK_ERROR) {
        snprintf(b->err, sizeof(b->err), "%s", ab_reader_error(src->r));
        src->eof = 1;
    }
    pthread_mutex_unlock(&src->rd_mu);

    b->pos = 0;
    b->last = 0;
    split_block(b);
    parse_batch(src, b);

    pthread_mutex_lock(&src->mu);
    b->state = B_READY;
    pthread_cond_broadcast(&src->cv);
    pthread_mutex_unlock(&src->mu);

    return 1;
}


static void *
work(void *arg)
{
    src_t  *src = arg;

    while (produce(src, 1)) {
        /* until the end or the consumer's stop */
    }

    return NULL;
}


static void src_close(src_t *src);


static int
src_open(src_t *src, ab_reader_t *r, int events, int threads,
    const ab_by_t *by)
{
    size_t  i;

    memset(src, 0, sizeof(*src));
    src->r = r;
    src->by = by;
    src->events = events;

    for (i = 0; i < NBATCH; i++) {
        src->b[i].ents = malloc(BATCH_LINES * sizeof(entry_t));
        src->b[i].buf = malloc(BATCH_BYTES);
        if (src->b[i].ents == NULL || src->b[i].buf == NULL) {
            src_close(src);
            return -1;
        }
    }

    if (threads < 1) {
        return 0;
    }
    if (threads > MAX_WORKERS) {
        threads = MAX_WORKERS;
    }

    if (pthread_mutex_init(&src->rd_mu, NULL) != 0) {
        src_close(src);
        return -1;
    }
    if (pthread_mutex_init(&src->mu, NULL) != 0) {
        pthread_mutex_destroy(&src->rd_mu);
        src_close(src);
        return -1;
    }
    if (pthread_cond_init(&src->cv, NULL) != 0) {
        pthread_mutex_destroy(&src->mu);
        pthread_mutex_destroy(&src->rd_mu);
        src_close(src);
        return -1;
    }
    /* As many as could be started; none means an inline read. Each
     * worker fills one batch while the consumer applies another and one
     * more waits: a ring of workers + 2 (pages of unused batches are
     * never touched). */
    src->nbatch = (size_t) threads + 2;
    while (src->nworkers < threads
           && pthread_create(&src->tid[src->nworkers], NULL, work, src) == 0)
    {
        src->nworkers++;
    }
    if (src->nworkers == 0) {
        pthread_cond_destroy(&src->cv);
        pthread_mutex_destroy(&src->mu);
        pthread_mutex_destroy(&src->rd_mu);
    }

    return 0;
}


/* The next entry in file order; the last one is EOF or a read error. */
static entry_t *
src_next(src_t *src)
{
    batch_t  *b = src->cur;
    int       helped;

    if (b != NULL && src->next < b->n) {
        return &b->ents[src->next++];
    }

    if (b != NULL && src->nworkers > 0 && b->pos < b->used) {
        /* the rest of a block of many short lines: split here */
        split_block(b);
        parse_batch(src, b);
        src->next = 1;
        return &b->ents[0];
    }

    if (src->nworkers == 0) {
        b = &src->b[0];
        fill_batch(src, b);
        parse_batch(src, b);
    } else {
        pthread_mutex_lock(&src->mu);
        if (b != NULL) {
            b->state = B_FREE;
            pthread_cond_broadcast(&src->cv);
        }
        b = &src->b[src->consumed % src->nbatch];
        while (b->state != B_READY) {
            pthread_mutex_unlock(&src->mu);
            helped = produce(src, 0);
            pthread_mutex_lock(&src->mu);
            if (!helped && b->state != B_READY) {
                pthread_cond_wait(&src->cv, &src->mu);
            }
        }
        src->consumed++;
        pthread_mutex_unlock(&src->mu);
    }

    src->cur = b;
    src->next = 1;

    return &b->ents[0];
}


static void
src_close(src_t *src)
{
    size_t  i;
    int     w;

    if (src->nworkers > 0) {
        pthread_mutex_lock(&src->mu);
        src->stop = 1;
        pthread_cond_broadcast(&src->cv);
        pthread_mutex_unlock(&src->mu);
        for (w = 0; w < src->nworkers; w++) {
            pthread_join(src->tid[w], NULL);
        }
        pthread_cond_destroy(&src->cv);
        pthread_mutex_destroy(&src->mu);
        pthread_mutex_destroy(&src->rd_mu);
        src->nworkers = 0;
    }

    for (i = 0; i < NBATCH; i++) {
        free(src->b[i].ents);
        free(src->b[i].buf);
        ab_spans_free(&src->b[i].spans);
        src->b[i].ents = NULL;
        src->b[i].buf = NULL;
    }
}


/*
 * Log lines look up their visitor in a table far bigger than the caches,
 * then its memberships, at random. While a line is applied, the lines
 * ahead are prepared in stages: the table slot of the line PREFETCH
 * ahead is fetched; the line half as far ahead looks its visitor up
 * (a returning one: most) and fetches its head; the next line fetches
 * its first membership. Only hints: a visitor added meanwhile is simply
 * not prefetched.
 */
/* A sound log line with a uid: one that looks its visitor up. */
static int
has_visitor(const entry_t *e)
{
    return e->rd == AB_READ_LINE && e->pl.what == NULL && e->pl.uid_len > 0;
}


static void
prefetch_ahead(src_t *src, const ab_state_t *st)
{
    batch_t   *b = src->cur;
    entry_t   *e;
    size_t     cur = src->next - 1;
    uint32_t   m;

    if (src->events) {
        return;
    }

    if (cur + PREFETCH < b->n) {
        e = &b->ents[cur + PREFETCH];
        if (has_visitor(e)) {
            ab_tab_prefetch(&st->visitors, e->pl.key);
        }
    }

    if (cur + PREFETCH / 2 < b->n) {
        e = &b->ents[cur + PREFETCH / 2];
        e->vis = AB_TAB_EMPTY;
        if (has_visitor(e) && e->pl.npairs > 0) {
            e->vis = ab_tab_get(&st->visitors, e->pl.key);
#if defined(__GNUC__)
            if (e->vis < st->nvis) {
                __builtin_prefetch(&st->heads[e->vis]);
            }
#endif
        }
    }

    if (cur + 1 < b->n && PREFETCH / 2 > 1) {
        e = &b->ents[cur + 1];
#if defined(__GNUC__)
        /* e->vis was set above, one or more lines ago, for exposures */
        if (e->vis < st->nvis && (m = st->heads[e->vis]) != AB_NONE)
        {
            __builtin_prefetch(&st->membs[m]);
        }
#else
        (void) m;
#endif
    }
}


/* abstat map: a sound line into the shards, a bad one counted. */
static int
to_shards(ab_state_t *st, const ab_input_t *in, src_t *src, entry_t *e,
    const char *path, uint64_t lineno)
{
    ab_pevline_t  pe;
    const char   *what;

    if (src->events) {
        what = ab_line_event_parse(e->line, e->len, &pe);
        if (what != NULL) {
            ab_line_bad(st, in, path, lineno, what, pe.detail);
            return 0;
        }
        return ab_shard_put_event(in->shards, &pe, path, lineno);
    }

    if (e->pl.what != NULL || e->pl.oom) {
        return ab_line_log_apply(st, in, &e->pl, &src->cur->spans, path,
                                 lineno);
    }

    return ab_shard_put_log(in->shards, &e->pl, &src->cur->spans, path,
                            lineno);
}


static int
apply(ab_state_t *st, const ab_input_t *in, src_t *src, entry_t *e,
    const char *path, uint64_t lineno)
{
    st->lines++;

    if (in->shards != NULL) {
        return to_shards(st, in, src, e, path, lineno);
    }

    if (src->events) {
        return ab_line_event(st, in, e->line, e->len, path, lineno);
    }

    prefetch_ahead(src, st);

    return ab_line_log_apply(st, in, &e->pl, &src->cur->spans, path, lineno);
}


int
ab_ingest_file(ab_state_t *st, const ab_input_t *in, ab_incr_t *inc,
    const char *path, int events)
{
    ab_reader_t  *r = ab_reader_open(path);
    ab_fentry_t  *fe = NULL;
    entry_t      *e;
    src_t         src;
    char          fp[AB_FP_MAX];
    const char   *p;
    size_t        got = 0;
    uint64_t      lineno = 0, long_at = 0, tell;
    int           rc = 0, pending = 0;

    if (r == NULL) {
        fprintf(stderr, "abstat: %s: %s\n", path, strerror(errno));
        return 1;
    }

    if (inc != NULL) {
        if (ab_reader_prefix(r, sizeof(fp), &p, &got) != 0) {
            fprintf(stderr, "abstat: %s: read error: %s\n", path,
                    ab_reader_error(r));
            ab_reader_close(r);
            return 1;
        }
        memcpy(fp, p, got);
        fe = ab_incr_match(inc, ab_reader_stat(r), fp, got);
        if (fe != NULL && !ab_reader_compressed(r)
            && (uint64_t) ab_reader_stat(r)->st_size < fe->offset)
        {
            /* Shorter than what was read of it: emptied and written
             * again (copytruncate) with the same first bytes. */
            fe = NULL;
        }
        if (fe != NULL && fe->offset > 0 && ab_reader_skip(r, fe->offset) != 0)
        {
            fprintf(stderr, "abstat: %s: %s\n", path, ab_reader_error(r));
            ab_reader_close(r);
            return 1;
        }
        lineno = fe ? fe->lines : 0;
    } else {
        st->files++;
    }

    st->file_max_time = INT64_MIN;
    tell = ab_reader_tell(r);

    if (src_open(&src, r, events, in->threads, in->by) != 0) {
        ab_reader_close(r);
        st->oom = 1;
        return -1;
    }


    for ( ;; ) {
        e = src_next(&src);
        /* where a later run resumes: after the last newline read */
        tell = e->after;

        if (inc != NULL && e->rd > 0 && e->unterminated) {
            tell = e->before;
            break;
        }
        if (e->rd == AB_READ_TOO_LONG && inc != NULL) {
            pending = 1;
            long_at = e->before;
        }
        if (pending && e->after > long_at) {
            pending = 0;
            st->lines++;
            ab_line_bad(st, in, path, ++lineno, "line too long", NULL);
        }

        if (e->rd == AB_READ_EOF) {
            break;
        }
        if (e->rd == AB_READ_ERROR) {
            fprintf(stderr, "abstat: %s: read error after line %llu: %s\n",
                    path, (unsigned long long) lineno, src.cur->err);
            rc = 1;
            break;
        }
        if (e->rd == AB_READ_TOO_LONG) {
            if (inc == NULL) {
                st->lines++;
                ab_line_bad(st, in, path, ++lineno, "line too long", NULL);
            }
            continue;
        }

        if (apply(st, in, &src, e, path, ++lineno) != 0) {
            rc = -1;
            break;
        }
    }

    src_close(&src);

    if (inc != NULL && rc >= 0) {
        if (fe == NULL && tell > 0) {
            if ((fe = ab_incr_add(inc)) == NULL) {
                st->oom = 1;
                rc = -1;
            } else {
                /* A file is counted once, whatever its names over time. */
                st->files++;
            }
        }
        if (fe != NULL) {
            ab_incr_update(inc, fe, ab_reader_stat(r), fp, got, tell, lineno,
                           st->file_max_time, events);
        }
    }

    ab_reader_close(r);

    return rc;
}
