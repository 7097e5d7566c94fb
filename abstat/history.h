/*
 * The CUPED covariate (cuped.h): what each membership's visitor did in
 * the --cuped-lookback before its entry, totalled like the totals from
 * entry on (ab_vagg_t), from the same records and orders.
 *
 * A record at time t is history of a membership with entry e when
 * e - lookback <= t < e: never both history and counted.
 */

#ifndef ABSTAT_HISTORY_H
#define ABSTAT_HISTORY_H

#include <stdint.h>

#include "analyze.h"

/* Whether time t is history of an entry at `entry`. */
int ab_history_in(int64_t entry, int64_t lookback, int64_t t);

/* Adds a request or purchase record to totals a (history or not). */
void ab_vagg_add(ab_vagg_t *a, const ab_rec_t *rec);

/* Allocates the pass's history totals, from the state's folded ones
 * (taken over, as credit_folded does), or none without --cuped. */
int ab_history_init(ab_pass_t *p);

/* Credits record rec to membership m when it is m's history: to its
 * totals, or for an event to the (membership, event) pairs seen_pre. */
void ab_history_record(ab_pass_t *p, uint32_t m, const ab_rec_t *rec);

/* Credits an order (net revenue, at time t) to m when it is history. */
void ab_history_order(ab_pass_t *p, uint32_t m, int64_t t, int64_t net);

#endif /* ABSTAT_HISTORY_H */
