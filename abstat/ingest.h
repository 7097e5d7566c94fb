/*
 * One input file into the state: reading, decompressing and parsing in
 * worker threads while the calling thread counts what was parsed, in the
 * file's order, so that the result is the same as a single-threaded read.
 */

#ifndef ABSTAT_INGEST_H
#define ABSTAT_INGEST_H

#include "input.h"
#include "persist.h"
#include "state.h"

/*
 * Reads path (a log, or with events an events file) into st, as in says
 * (in->threads: how many workers read and parse, up to AB_MAX_THREADS;
 * 0 does it all in the calling thread). With inc (--state), reading
 * starts where the last run that saw the same file stopped and stops
 * before a last line without a newline. Returns 0, 1 when the file
 * could not be (wholly) read (said on stderr), -1 on a fatal error
 * (st->oom set).
 */
int ab_ingest_file(ab_state_t *st, const ab_input_t *in, ab_incr_t *inc,
    const char *path, int events);

#endif /* ABSTAT_INGEST_H */
