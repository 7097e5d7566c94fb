/*
 * abstat reduce --orders (docs/fleet.md): the order round. The order
 * shard files given (all of one or more order shards) resolved into
 * files of resolved orders in the visitor key space (shard.h, space 2).
 */

#ifndef ABSTAT_REDUCE_H
#define ABSTAT_REDUCE_H

#include <stddef.h>

typedef struct {
    char *const   *files;       /* .o shard files */
    size_t         nfiles;
    const char    *output;      /* --output DIR */
    const char    *tag;         /* --tag, or NULL: from the inputs */
} ab_reduce_args_t;

/* Runs the round: its exit status (exitcode.h), said on stderr. A file
 * that cannot be read stops it (exit 1): a round without all of an
 * order shard's files would be wrong, not partial. */
int ab_reduce_orders(const ab_reduce_args_t *a);

#endif /* ABSTAT_REDUCE_H */
