/*
 * Partial files (docs/fleet.md, "The visitor round"): what `abstat
 * reduce` of a group of visitor shards leaves for `abstat merge`. Not
 * visitors: per experiment the additive sufficient statistics of its
 * report (msums.h's exact sums per variant, capped.h's histogram, the
 * funnel and multi-variant counts, the first and last entry, trend.h's
 * sums by day and by hour; with --config-history, each cell's entries
 * per configuration; with --by, the same cell for every value of every
 * dimension), the audit's counters, and what the report
 * says of its input (lines, bad lines and their samples, visitors,
 * orders). Every number is an integer, added (or the least, or the
 * greatest, kept) when partials merge, so that any grouping of shards
 * into reduce tasks merges to the report of all the shards, byte for
 * byte. Names (experiments, variants, events, nodes) are matched by
 * their text, never by the ids of one run.
 *
 * The file: 64-bit little-endian words. Words 0 and 1 the magic
 * "ABPART\0\0" and the version (2); then the fields in the order
 * partial.c writes them (a string: its length, then its bytes padded to
 * a word); last the XXH3_64 of every word before it. Written to a
 * temporary file, synced and renamed: a reader never sees half of one.
 */

#ifndef ABSTAT_PARTIAL_H
#define ABSTAT_PARTIAL_H

#include <stddef.h>

#include "analyze.h"
#include "report.h"
#include "segment.h"
#include "state.h"

#define AB_PARTIAL_VERSION  2

/* The partial of st's pass p (made with cfg, the day buckets' buys
 * kept) into path, atomically. 0, or -1 with a message in err. */
int ab_partial_save(const char *path, ab_state_t *st, ab_pass_t *p,
    const ab_report_t *rep, char *err, size_t errlen);

/* What merge keeps while it reports: the files' bytes (the state's
 * sample file names point into them) and the pass's given arrays. */
typedef struct ab_merged_s  ab_merged_t;

/*
 * Reads the partials and fills st (initialized: names, input counters,
 * samples, audit), p (its given sums, spans, trend of cfg->bucket; the
 * funnel and multi-variant counts) and rep's counts of the pass. The
 * CUPED lookback the partials were reduced with is st->hist_lookback.
 * Returns what must outlive the report (ab_merged_free after it), or
 * NULL with a message in err naming the file.
 */
ab_merged_t *ab_partial_merge(char *const *paths, size_t n, ab_state_t *st,
    const ab_config_t *cfg, ab_pass_t *p, ab_report_t *rep, char *err,
    size_t errlen);

/* What partial path was reduced with: its CUPED lookback (us, 0: none)
 * and its --by dimensions, added to by. 0, or -1 with err. */
int ab_partial_head(const char *path, int64_t *lookback, ab_by_t *by,
    char *err, size_t errlen);

void ab_merged_free(ab_merged_t *m, ab_pass_t *p);

#endif /* ABSTAT_PARTIAL_H */
