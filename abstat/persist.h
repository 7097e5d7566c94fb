/*
 * The state file of incremental runs (--state): what was read of which
 * file, and the reading state (state.h) with old records folded (fold.h),
 * so that the next run reads only what is new.
 *
 * Files are recognised by the checksum of their first bytes (after
 * decompression) and, among equal checksums, by device and inode: a log
 * renamed or compressed by logrotate keeps its first bytes, a log emptied
 * by copytruncate loses them.
 *
 * The file is written to a temporary file in the same directory, synced
 * and renamed over the old one, so that a run killed at any point leaves
 * either the old state or the new one. It is versioned and checksummed;
 * it holds structures as this build lays them out (not portable between
 * architectures, which the header checks).
 */

#ifndef ABSTAT_PERSIST_H
#define ABSTAT_PERSIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "state.h"

#define AB_STATE_VERSION  8  /* 2: 128-bit money sums, capped refunds;
                                 per-visitor latest time (--retain);
                                 3: the earliest line time;
                                 4: CUPED history (lookback, per-membership
                                 totals, history records);
                                 5: funnel events' history (pairs, records);
                                 6: segments (--by: spec, values, the
                                 ids of each membership);
                                 7: nodes and the assignment audit;
                                 8: the entry node of each membership,
                                 no entered counts in the audit */
#define AB_FP_MAX         4096  /* bytes of a file's checksum */
#define AB_FILE_KEEP_RUNS 1000  /* forget files unseen for this many runs */

typedef struct {
    uint64_t  dev;
    uint64_t  ino;
    uint64_t  offset;           /* stream bytes read, up to a newline */
    uint64_t  lines;            /* lines read */
    uint64_t  fp_hash;          /* XXH3 of the first fp_len bytes */
    uint64_t  last_run;         /* run that last read or saw it */
    int64_t   last_time;        /* latest request time read, us */
    uint32_t  fp_len;           /* min(offset, AB_FP_MAX) */
    uint32_t  events;           /* read as an --events file */
} ab_fentry_t;

typedef struct {
    ab_fentry_t  *files;
    size_t        nfiles, capfiles;
    uint64_t      run;          /* this run's number, from 1 */
    char        **only;         /* --experiment the state was made with */
    size_t        nonly;
    int64_t       since, until;

    /* what the loaded file held, to tell whether a run changed it */
    int           touched;      /* a file entry added or moved on */
    uint64_t      loaded[10];
} ab_incr_t;

/*
 * Takes the lock of state file path (path.lock), waiting for it unless
 * nowait. Returns the lock's descriptor, -1 with errno (EWOULDBLOCK: held
 * by another run).
 */
int ab_state_lock(const char *path, int nowait);

/* Removes the temporary files of runs that died while writing path;
 * call it holding the lock, when no other run can be writing one. */
void ab_state_clean(const char *path);

/*
 * Loads path into st and inc (st initialized, inc zeroed). A missing file
 * is a fresh state. Returns 0, or -1 with a message in err.
 */
int ab_state_load(const char *path, ab_state_t *st, ab_incr_t *inc,
    char *err, size_t errlen);

/* Whether st and inc are what ab_state_load() read (nothing read,
 * folded or forgotten since): writing them again would change only the
 * run counter, so a run with nothing new need not rewrite a large file. */
int ab_state_unchanged(const ab_state_t *st, const ab_incr_t *inc);

/* Writes st and inc to path atomically. Returns 0, or -1 with err. */
int ab_state_save(const char *path, const ab_state_t *st,
    const ab_incr_t *inc, char *err, size_t errlen);

/* The entry whose first bytes are p's (got bytes of the file with stat
 * sb), or NULL: a file never read. */
ab_fentry_t *ab_incr_match(ab_incr_t *inc, const struct stat *sb,
    const char *p, size_t got);

/* Records what was read of a file into its entry: stream offset off
 * after lineno lines, its first got bytes fp, its latest time. */
void ab_incr_update(ab_incr_t *inc, ab_fentry_t *e, const struct stat *sb,
    const char *fp, size_t got, uint64_t off, uint64_t lineno,
    int64_t max_time, int events);

/* A new entry; NULL when out of memory. */
ab_fentry_t *ab_incr_add(ab_incr_t *inc);

void ab_incr_free(ab_incr_t *inc);

#endif /* ABSTAT_PERSIST_H */
