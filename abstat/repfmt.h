/*
 * What every renderer writes the same way: numbers that read back
 * exactly, metric units, and when the data and the report are from.
 */

#ifndef ABSTAT_REPFMT_H
#define ABSTAT_REPFMT_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* The shortest "%.{1..17}g" of v that reads back as v (0.05, not
 * 0.050000000000000003); len of 32 is enough. */
void ab_fmt_double(char *buf, size_t len, double v);

/* The unit of a metric's values ("s" for mean_latency), or NULL for
 * rates, counts per visitor and money (in the log's units). */
const char *ab_metric_unit(const char *metric);

/* A report time (rep->first_time, ...) as "2026-11-23T10:00:00Z", or
 * `none` when unknown. */
const char *ab_fmt_time(int64_t us, char *buf, size_t len, const char *none);

#endif /* ABSTAT_REPFMT_H */
