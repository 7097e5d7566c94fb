/*
 * abstat map: the logs read by report's reader (ingest.c), each sound
 * line written to its shards (shard.h), the task's counts into visitor
 * shard 0. Exit codes and messages are report's.
 */

#include "map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "exitcode.h"
#include "ingest.h"
#include "mapstate.h"
#include "persist.h"
#include "readcheck.h"
#include "shard.h"
#include "state.h"


int
ab_map_valid_tag(const char *s)
{
    size_t  i;

    for (i = 0; s[i]; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '+'
              || (s[i] == '-' && i > 0)))
        {
            return 0;
        }
    }

    return i > 0 && i <= AB_SHARD_TAG_MAX;
}


/*
 * The default tag: this host's name and a hash of the inputs' absolute
 * paths, so that tasks on many machines, or over other files, write
 * into one directory without meeting. With --state, each run adds its
 * number: an hourly run must not replace the last hour's shards.
 */
static int
make_tag(const ab_map_args_t *a, uint64_t run, char *tag, size_t size)
{
    XXH3_state_t  *h = XXH3_createState();
    char           host[64], abs[8192];
    const char    *p;
    size_t         i, n = a->nfiles + a->nevents;
    int            len;

    if (h == NULL) {
        return -1;
    }
    XXH3_64bits_reset(h);
    for (i = 0; i < n; i++) {
        p = i < a->nfiles ? a->files[i] : a->events[i - a->nfiles];
        if (realpath(p, abs) != NULL) {
            p = abs;
        }
        XXH3_64bits_update(h, p, strlen(p) + 1);
        XXH3_64bits_update(h, i < a->nfiles ? "l" : "e", 1);
    }
    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "host");
    }
    host[sizeof(host) - 1] = '\0';
    for (i = 0; host[i]; i++) {
        /* a file name, whatever the host is called */
        if (host[i] == '/' || host[i] == '.' || host[i] == ' ') {
            host[i] = '_';
        }
    }

    len = a->tag ? snprintf(tag, size, "%s", a->tag)
          : snprintf(tag, size, "%s-%016llx", host,
                     (unsigned long long) XXH3_64bits_digest(h));
    XXH3_freeState(h);
    if (len > 0 && run > 0 && (size_t) len < size) {
        len += snprintf(tag + len, size - (size_t) len, "-r%06llu",
                        (unsigned long long) run);
    }

    return len > 0 && (size_t) len < size ? 0 : -1;
}


/* Reads every input into the shards. 0, EXIT_INPUT, EXIT_BAD_INPUT, or
 * EXIT_INTERNAL (said). */
static int
read_all(ab_map_args_t *a, ab_state_t *st, ab_incr_t *inc)
{
    size_t       i, n = a->nfiles + a->nevents;
    uint64_t     flines, fbad;
    const char  *path;
    int          rc, status = 0, bad_input = 0;

    for (i = 0; i < n; i++) {
        path = i < a->nfiles ? a->files[i] : a->events[i - a->nfiles];
        flines = st->lines;
        fbad = st->bad_lines;
        rc = ab_ingest_file(st, &a->in, inc, path, i >= a->nfiles);
        if (rc < 0 || st->oom) {
            if (*ab_shard_error(a->in.shards)) {
                fprintf(stderr, "abstat: %s\n", ab_shard_error(a->in.shards));
            } else {
                fprintf(stderr, "abstat: out of memory\n");
            }
            return EXIT_INTERNAL;
        }
        if (rc > 0) {
            status = EXIT_INPUT;
        }
        bad_input |= ab_check_file(path, i >= a->nfiles, st->lines - flines,
                                   st->bad_lines - fbad) != 0;
    }

    if (st->bad_lines > 0 && !a->in.quiet) {
        fprintf(stderr, "abstat: %llu bad line(s) skipped\n",
                (unsigned long long) st->bad_lines);
    }
    bad_input |= ab_check_bad(a->max_bad, st->lines, st->bad_lines) != 0;

    return bad_input ? EXIT_BAD_INPUT : status;
}


static int
open_state(ab_map_args_t *a, ab_incr_t *inc, ab_map_totals_t *tot, int *lock)
{
    char  err[1024];

    *lock = ab_state_lock(a->state, a->no_wait);
    if (*lock < 0) {
        if (errno == EWOULDBLOCK) {
            fprintf(stderr, "abstat: %s is in use by another run\n",
                    a->state);
            return EXIT_LOCKED;
        }
        fprintf(stderr, "abstat: %s.lock: %s\n", a->state, strerror(errno));
        return EXIT_STATE;
    }
    if (ab_mapstate_load(a->state, inc, tot, err, sizeof(err)) != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_STATE;
    }
    inc->run++;

    return 0;
}


int
ab_map_run(ab_map_args_t *a)
{
    ab_state_t       st;
    ab_incr_t        inc;
    ab_map_totals_t  tot;
    ab_shard_meta_t  meta;
    struct stat      sb;
    char             tag[AB_SHARD_TAG_MAX + 64], err[1024];
    int              status = 0, rc, lock = -1;

    memset(&inc, 0, sizeof(inc));
    memset(&tot, 0, sizeof(tot));
    if (stat(a->output, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "abstat: --output %s: %s\n", a->output,
                errno && stat(a->output, &sb) != 0 ? strerror(errno)
                : "not a directory");
        return EXIT_USAGE;
    }
    if (a->state != NULL && (status = open_state(a, &inc, &tot, &lock))) {
        goto done;
    }
    if (make_tag(a, a->state ? inc.run : 0, tag, sizeof(tag)) != 0) {
        fprintf(stderr, "abstat: --tag too long\n");
        status = EXIT_USAGE;
        goto done;
    }

    ab_state_init(&st);
    a->in.shards = ab_shard_open(a->output, tag, a->shards, a->in.by, err,
                                 sizeof(err));
    if (a->in.shards == NULL) {
        fprintf(stderr, "abstat: %s\n", err);
        ab_state_free(&st);
        status = EXIT_INTERNAL;
        goto done;
    }

    status = read_all(a, &st, a->state ? &inc : NULL);
    if (status == EXIT_INTERNAL) {
        ab_shard_abort(a->in.shards);
        ab_state_free(&st);
        goto done;
    }

    meta.files = st.files;
    meta.lines = st.lines;
    meta.bad_lines = st.bad_lines;
    meta.bad = st.bad;
    meta.nbad = st.nbad;
    rc = ab_shard_close(a->in.shards, &meta, err, sizeof(err));
    a->in.shards = NULL;
    tot.files += st.files;
    tot.lines += st.lines;
    tot.bad_lines += st.bad_lines;
    ab_state_free(&st);
    if (rc != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        status = EXIT_INTERNAL;
        goto done;
    }

    /* after the shards: a run killed in between maps the same lines
     * again, under the same tag, and replaces what it wrote */
    if (a->state != NULL
        && ab_mapstate_save(a->state, &inc, &tot, err, sizeof(err)) != 0)
    {
        fprintf(stderr, "abstat: %s\n", err);
        status = EXIT_STATE;
    }

done:
    if (lock >= 0) {
        close(lock);
    }
    ab_incr_free(&inc);

    return status;
}
