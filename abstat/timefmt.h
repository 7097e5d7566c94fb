/*
 * Times on the command line (--since, --until) and in reports (trend
 * buckets): ISO 8601 or Unix epoch in, UTC ISO 8601 out. Times inside
 * abstat are microseconds since the epoch.
 */

#ifndef ABSTAT_TIMEFMT_H
#define ABSTAT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Epoch seconds ("1763900000", "1763900000.5") or ISO 8601:
 * YYYY-MM-DD, optionally followed by T or a space and hh:mm[:ss[.frac]],
 * and Z or +hh:mm / -hh:mm (none: UTC). Returns 0 or -1.
 */
int ab_time_parse(const char *s, int64_t *us);

/* "2026-11-23T10:00:00Z" for a time in microseconds (seconds dropped
 * when zero is fine too: the format is fixed). */
void ab_time_format(int64_t us, char *buf, size_t len);

/* The start of the UTC day or hour holding t; hour: 1 for hours. */
int64_t ab_time_bucket(int64_t us, int hour);

#endif /* ABSTAT_TIMEFMT_H */
