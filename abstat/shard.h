/*
 * Shard files (abstat map, docs/fleet.md): the sound lines of a log as
 * compact records, split by key so that all of a visitor's lines from
 * every node and every rotation land in one shard, and every purchase
 * and refund of an order id in one order shard. Replaying the records
 * (ab_shard_replay()) changes the state exactly as applying the lines
 * did (line.c); nothing is parsed twice.
 *
 * Two key spaces, P shards each:
 *   visitor  shard XXH3_64(uid, AB_SHARD_SEED_VISITOR) mod P: the line
 *            with its exposures, forced pairs, requests, funnel events,
 *            purchases without an order id, client-sent money events and
 *            refunds without an order id (a line without uid: uid "");
 *   order    shard XXH3_64(order, AB_SHARD_SEED_ORDER) mod P: purchases
 *            with an order id (with their visitor's uid) and refunds
 *            with one (they have no visitor), not sent by the client.
 *
 * The seeds are fixed (a shard's contents must not depend on the
 * machine or the run) and are not 0, the seed of the assignment's
 * hashes (docs/assignment.md), so that shards do not line up with
 * variants.
 *
 * A file, all integers LEB128 varints unless said (zig: zigzag-coded
 * signed), strings a varint length and the bytes:
 *
 *   "ABSTATSH"   8 bytes of magic
 *   version      4 bytes, little-endian: AB_SHARD_VERSION
 *   space        0 visitor, 1 order, 2 resolved orders (the order
 *                round's output, in the visitor key space)
 *   shard, P     this file's shard, and how many there are
 *   tag          the map task's tag
 *   by           the --by spec the lines were parsed with ("": none),
 *                and its number of dimensions
 *   records      a tag byte each, until END:
 *     FILE   path: the input file the next records are lines of; line
 *            numbers start again from 0
 *     LINE   an access-log line: line number (delta), time (zig delta),
 *            flags (1 uid, 2 status, 4 request_time, 8 node), the uid,
 *            status (its whole number x 2, or micro-units x 2 + 1),
 *            request_time (us), node (dict), the forced pairs and the
 *            exposure pairs (a count, then exp and var, dict, each), the
 *            events (a count, then name (dict), flags (1 client, 2 order
 *            id, kind << 2), order id, revenue (zig, micro-units)), then
 *            one dict string per dimension of `by`
 *     EVENT  a back-office line: line number (delta), time (zig delta),
 *            uid, name (dict), flags (as an event's; 16: the event went
 *            to the order space, only the visitor is made), order id,
 *            revenue (zig)
 *     META   in visitor shard 0 of a map task only, once: what the task
 *            read, so that any grouping of shard files counts it once:
 *            files, lines, bad lines, then the bad-line samples (a
 *            count; each file, line number, reason)
 *     PURCH  order space: order id, uid, time (zig delta), revenue (zig)
 *     REFUND order space: order id, amount (micro-units)
 *     ORDER  resolved: order id, the uid of its visitor ("" when never
 *            bought), time (zig delta), revenue (zig), refunded amount
 *            (summed, saturated), refunds, purchases (the first and its
 *            duplicates; 0: refunds of an id never bought)
 *   END
 *   checksum     8 bytes, little-endian: XXH3_64 of everything before
 *
 * "dict" strings are numbered per file as they are first written: a
 * varint 0 and the string (it takes the next number), 1 and the string
 * (not numbered: the dictionary is full), or number + 2.
 *
 * Files are written to a temporary name in the output directory, synced
 * and renamed (ab_shard_close()), visitor shard 0 last: a task whose
 * shard 0 is there is complete. Names: TAG.vSSSS-of-PPPP.abshard,
 * TAG.oSSSS-of-PPPP.abshard and, resolved, TAG.rSSSS-of-PPPP.abshard.
 */

#ifndef ABSTAT_SHARD_H
#define ABSTAT_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "line.h"
#include "state.h"

#define AB_SHARD_MAGIC          "ABSTATSH"
#define AB_SHARD_VERSION        1
/* "abshardv", "abshardo": fixed, and never an assignment's seed (0) */
#define AB_SHARD_SEED_VISITOR   UINT64_C(0x6162736861726476)
#define AB_SHARD_SEED_ORDER     UINT64_C(0x616273686172646f)
#define AB_SHARD_MAX            4096    /* --shards, at most */
#define AB_SHARD_TAG_MAX        200

enum { AB_SHARD_VISITOR = 0, AB_SHARD_ORDER, AB_SHARD_RESOLVED };

typedef struct ab_shard_out_s  ab_shard_out_t;

/* One order id, resolved (the order round, reduce.c): its earliest
 * purchase (ties as ab_state_purchase()), its refunds. */
typedef struct {
    const char  *order;
    size_t       order_len;
    const char  *uid;           /* of the purchase kept; "" none */
    size_t       uid_len;
    int64_t      time;
    int64_t      revenue;
    int64_t      refund;        /* summed, saturated at INT64_MAX */
    uint64_t     refunds;
    uint64_t     purchases;     /* 0: never bought */
} ab_shard_order_t;

/* What a map task read, for visitor shard 0 (META). */
typedef struct {
    uint64_t        files;
    uint64_t        lines;
    uint64_t        bad_lines;
    const ab_bad_t *bad;
    size_t          nbad;
} ab_shard_meta_t;

/*
 * Opens the 2 x nshards temporary files of task tag in dir; by: the
 * --by the lines are parsed with, or NULL. NULL with a message in err.
 */
ab_shard_out_t *ab_shard_open(const char *dir, const char *tag,
    size_t nshards, const ab_by_t *by, char *err, size_t errlen);

/* A sound access-log line, a sound back-office line: 0, or -1 (a write
 * failed; ab_shard_error() says what). */
int ab_shard_put_log(ab_shard_out_t *o, const ab_pline_t *pl,
    const ab_spans_t *sp, const char *file, uint64_t lineno);
int ab_shard_put_event(ab_shard_out_t *o, const ab_pevline_t *pe,
    const char *file, uint64_t lineno);

const char *ab_shard_error(const ab_shard_out_t *o);

/* Bytes written so far, over all files. */
uint64_t ab_shard_bytes(const ab_shard_out_t *o);

/* Ends every file (meta, unless NULL, into visitor shard 0), syncs and renames them,
 * visitor shard 0 last, and frees o. 0, or -1 with a message in err: the
 * files not renamed yet are removed, and shard 0 is not there. */
int ab_shard_close(ab_shard_out_t *o, const ab_shard_meta_t *meta,
    char *err, size_t errlen);

/* The n files of resolved orders (space 2) of the order round; an
 * order goes to the visitor shard of its uid. */
ab_shard_out_t *ab_shard_open_resolved(const char *dir, const char *tag,
    size_t nshards, char *err, size_t errlen);
int ab_shard_put_resolved(ab_shard_out_t *o, const ab_shard_order_t *r);

/* Calls fn on each purchase and refund of order file path (space 1),
 * checked whole first; *nshards: its P. 0; 1 with a message in err;
 * -1 when fn failed. */
typedef struct {
    int   (*purchase)(void *ctx, const char *order, size_t olen,
                      const char *uid, size_t ulen, int64_t t,
                      int64_t revenue);
    int   (*refund)(void *ctx, const char *order, size_t olen,
                    int64_t amount);
    void   *ctx;
} ab_shard_orders_t;

int ab_shard_read_orders(const char *path, const ab_shard_orders_t *fn,
    size_t *nshards, char *err, size_t errlen);

/* Removes the temporary files and frees o. */
void ab_shard_abort(ab_shard_out_t *o);

/* Whether path is a shard file (its magic): 1, 0, or -1 unreadable. */
int ab_shard_is(const char *path);

/*
 * The names the replayed records point to (files of bad-line samples):
 * kept until the report is made, then freed.
 */
typedef struct {
    char   **names;
    size_t   n, cap;
} ab_shard_names_t;

void ab_shard_names_free(ab_shard_names_t *nm);

/*
 * Applies shard file path to st as in says (in->by must be the --by the
 * shard was mapped with, or none). 0; 1 with a message in err when the
 * file is damaged, truncated, of another version or of another --by
 * (nothing of it applied); -1 out of memory (st->oom).
 */
int ab_shard_replay(ab_state_t *st, const ab_input_t *in, const char *path,
    ab_shard_names_t *nm, char *err, size_t errlen);

#endif /* ABSTAT_SHARD_H */
