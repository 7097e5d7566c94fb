/*
 * What the command line says about reading: which experiments and which
 * exposures count, how loudly bad lines are told, how many threads
 * parse. Set once by the option parser and only read after that: the
 * state (state.h) holds what was read, never how to read it.
 */

#ifndef ABSTAT_INPUT_H
#define ABSTAT_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

typedef struct {
    const char        **only;   /* --experiment names; none: all */
    size_t              nonly;
    int64_t             since;  /* exposure window [since, until), us */
    int64_t             until;
    int                 quiet;  /* no bad-line samples on stderr */
    int                 threads;        /* parsing beside the caller */
    const ab_by_t      *by;     /* --by, keys ready (ab_line_by()); NULL:
                                   none */
    /* --nginx-conf, whose assignment every exposure is audited against
     * (audit.h): the plain FILE, for the lines of every node that has
     * none of its own (NULL: not given), and the NODE=FILE ones */
    const struct ab_expdef_s  *conf;
    size_t              nconf;
    const struct ab_node_conf_s  *node_conf;
    size_t              nnode_conf;
    int                 audited;        /* --nginx-conf in either form */
    /* abstat map: sound lines go to the shard files (shard.h) instead of
     * the state, which counts files, lines and bad lines only; NULL:
     * report */
    struct ab_shard_out_s     *shards;
    /* abstat reduce's visitor round: order shards (not resolved) are
     * refused, since they hold the orders of every visitor shard */
    int                 visitor_round;
} ab_input_t;

/* --nginx-conf NODE=FILE: the configuration node serves. */
typedef struct ab_node_conf_s {
    const char                *node;
    struct ab_expdef_s        *conf;    /* NULL: no ab_experiment block */
    size_t                     nconf;
} ab_node_conf_t;

/* Everything counts, told on stderr, read in the calling thread. */
void ab_input_default(ab_input_t *in);

/* The index in list of node's configuration (len bytes), or -1. */
ssize_t ab_node_conf_find(const ab_node_conf_t *list, size_t n,
    const char *node, size_t len);

/* Whether experiment `name` is to be read at all (--experiment). */
int ab_input_selected(const ab_input_t *in, const char *name, size_t len);

/* Whether an exposure at t (us) is inside the window (--since, --until). */
static inline int
ab_input_in_window(const ab_input_t *in, int64_t t)
{
    return t >= in->since && t < in->until;
}

#endif /* ABSTAT_INPUT_H */
