/*
 * Checks on what was read, shared by report and map: each says what is
 * wrong on stderr and returns 0 or EXIT_BAD_INPUT (exitcode.h).
 */

#ifndef ABSTAT_READCHECK_H
#define ABSTAT_READCHECK_H

#include <stdint.h>

/* After a file is read (events: an --events file): none of its lines
 * sound means it is not the module's log, said even with -q. */
int ab_check_file(const char *path, int events, uint64_t lines,
    uint64_t bad);

/* --max-bad (a percent) over the lines this run read. */
int ab_check_bad(double max_bad, uint64_t lines, uint64_t bad);

#endif /* ABSTAT_READCHECK_H */
