/*
 * abstat map (docs/fleet.md): logs read as report reads them, their
 * sound lines written to shard files (shard.h) instead of a state. With
 * --state, only what is new since the last run (mapstate.h).
 */

#ifndef ABSTAT_MAP_H
#define ABSTAT_MAP_H

#include <stddef.h>

#include "input.h"

typedef struct {
    ab_input_t     in;          /* how lines are read; shards set by map */
    char *const   *files;       /* the logs ("-": stdin) */
    size_t         nfiles;
    const char   **events;      /* --events files */
    size_t         nevents;
    const char    *output;      /* --output DIR */
    const char    *state;       /* --state FILE, or NULL */
    const char    *tag;         /* --tag, or NULL: made from the inputs */
    size_t         shards;      /* --shards P */
    int            no_wait;
    double         max_bad;     /* --max-bad, percent */
} ab_map_args_t;

/* Whether s can be a --tag: a file name's part, 1 to AB_SHARD_TAG_MAX
 * of A-Z a-z 0-9 _ - +, not starting with '-'. */
int ab_map_valid_tag(const char *s);

/* Runs the command: its exit status (exitcode.h), said on stderr. */
int ab_map_run(ab_map_args_t *a);

#endif /* ABSTAT_MAP_H */
