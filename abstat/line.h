/*
 * One input line into the state: an access-log line (docs/log-format.md)
 * or a back-office event line (--events). A line is checked whole before
 * anything of it is applied, so a bad line leaves no trace but its count.
 */

#ifndef ABSTAT_LINE_H
#define ABSTAT_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "tab.h"

/* Both return 0, or -1 when out of memory (a bad line is not an error). */
int ab_line_log(ab_state_t *st, char *line, size_t len, const char *file,
    uint64_t lineno);

/*
 * ab_line_log() in two halves, so that a second thread can do the first:
 * ab_line_log_parse() reads and checks a line without touching any state
 * (what: NULL for a sound line, else why it is bad, with detail); the
 * strings point into line. ab_line_log_apply() then counts it.
 */
typedef struct {
    const char  *what;
    const char  *detail;
    const char  *uid;
    const char  *exposures;
    const char  *events;
    size_t       uid_len;
    size_t       exposures_len;
    size_t       events_len;
    int64_t      time;
    int64_t      status;
    int64_t      rt;
    ab_key_t     key;           /* of uid, when uid_len > 0 */
} ab_pline_t;

const char *ab_line_log_parse(char *line, size_t len, ab_pline_t *pl);

int ab_line_log_apply(ab_state_t *st, const ab_pline_t *pl, const char *file,
    uint64_t lineno);

int ab_line_event(ab_state_t *st, char *line, size_t len, const char *file,
    uint64_t lineno);

/*
 * A decimal with at most 6 fractional digits and at most 12 integer
 * digits, in millionths (times in microseconds, money in micro-units).
 * Returns 0 or -1.
 */
int ab_parse_micro(const char *s, size_t len, int allow_neg, int64_t *out);

#endif /* ABSTAT_LINE_H */
