/*
 * One input line into the state: an access-log line (docs/log-format.md)
 * or a back-office event line (--events). A line is checked whole before
 * anything of it is applied, so a bad line leaves no trace but its count.
 */

#ifndef ABSTAT_LINE_H
#define ABSTAT_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "ab_core.h"
#include "input.h"
#include "jsonl.h"
#include "state.h"
#include "tab.h"

/* The most exposure pairs (and, apart, forced pairs) and events a line
 * may have: more make it bad. */
#define AB_LINE_PAIRS   64
#define AB_LINE_EVENTS  64

/* Both return 0, or -1 when out of memory (a bad line is not an error). */
int ab_line_log(ab_state_t *st, const ab_input_t *in, char *line, size_t len,
    const char *file, uint64_t lineno);

/* What an event is to abstat: purchases and refunds are money, any
 * other name a funnel step counted by name. */
typedef enum {
    AB_EVENT_FUNNEL = 0,
    AB_EVENT_PURCHASE,
    AB_EVENT_REFUND
} ab_event_kind_t;

/* One event of an events field ("name;key=value;..."), as parsed. */
typedef struct {
    const char  *name;
    const char  *order;         /* "" when none */
    size_t       name_len;
    size_t       order_len;
    int64_t      revenue;       /* micro-units */
    int          kind;          /* ab_event_kind_t */
    int          client;        /* src=client: sent by the visitor */
} ab_pevent_t;

/* One "exp:var" pair of an exposures field. */
typedef struct {
    const char  *exp;
    const char  *var;
    size_t       exp_len;
    size_t       var_len;
} ab_ppair_t;

/* A pair of a sound line as the state's ids; exp -1: not selected. */
typedef struct {
    int  exp;
    int  var;
} ab_pair_ids_t;

/*
 * The events and exposure pairs of parsed lines: the lines of a batch
 * share one, and a parsed line names its own by index, so that the
 * arrays can grow while later lines are parsed.
 */
typedef struct {
    ab_pevent_t  *events;
    size_t        nevents, capevents;
    ab_ppair_t   *pairs;
    size_t        npairs, cappairs;
} ab_spans_t;

/* Forgets the spans of the lines parsed so far, keeping the arrays. */
void ab_spans_reset(ab_spans_t *sp);
void ab_spans_free(ab_spans_t *sp);

/*
 * ab_line_log() in two halves, so that a second thread can do the first:
 * ab_line_log_parse() reads and checks a line without touching any state
 * and leaves a complete record of it (what: NULL for a sound line, else
 * why it is bad, with detail; the strings point into line, its events
 * and pairs are in sp). shape: the JSON reader's memory of the lines
 * parsed before in this thread (jsonl.h), or NULL. ab_line_log_apply()
 * then counts the record without reading its text again.
 */
typedef struct {
    const char  *what;
    const char  *detail;
    const char  *uid;
    size_t       uid_len;
    size_t       event0;        /* sp->events[event0 .. + nevents) */
    size_t       nevents;
    size_t       pair0;         /* sp->pairs[pair0 .. + npairs) */
    size_t       npairs;
    size_t       forced0;       /* the forced pairs, just before */
    size_t       nforced;
    const char  *node;          /* the node key, "" when none */
    size_t       node_len;
    int64_t      time;
    int64_t      status;
    int64_t      rt;
    ab_key_t     key;           /* of uid, when uid_len > 0 */
    int          oom;           /* sp could not grow: not parsed */
    ab_segtext_t seg[AB_BY_MAX];        /* by's dimensions' text */
} ab_pline_t;

/* by: the --by set whose text the parser takes too, or NULL. */
const char *ab_line_log_parse(char *line, size_t len, ab_pline_t *pl,
    ab_spans_t *sp, ab_json_shape_t *shape, const ab_by_t *by);

/* Readies by's keys for ab_line_log_parse() (the log keys and what the
 * dimensions read). */
void ab_line_by(ab_by_t *by);

int ab_line_log_apply(ab_state_t *st, const ab_input_t *in,
    const ab_pline_t *pl, const ab_spans_t *sp, const char *file,
    uint64_t lineno);

int ab_line_event(ab_state_t *st, const ab_input_t *in, char *line,
    size_t len, const char *file, uint64_t lineno);

/* A back-office line, parsed: the strings point into the line. */
typedef struct {
    const char  *detail;        /* of a bad line, or NULL */
    const char  *uid;           /* "" for a refund: never read */
    size_t       uid_len;
    int64_t      time;
    ab_pevent_t  ev;
} ab_pevline_t;

/* ab_line_event() in two halves, as ab_line_log(): the parse (NULL for
 * a sound line, else why it is bad, with pe->detail) and the apply. */
const char *ab_line_event_parse(char *line, size_t len, ab_pevline_t *pe);
int ab_line_event_apply(ab_state_t *st, const ab_input_t *in,
    const ab_pevline_t *pe, const char *file, uint64_t lineno);

/* Counts a bad line (what, with detail when not NULL) and, unless
 * --quiet, tells the first few on stderr. */
void ab_line_bad(ab_state_t *st, const ab_input_t *in, const char *file,
    uint64_t lineno, const char *what, const char *detail);

/* One unit in ab_parse_micro's millionths. */
#define AB_MICRO  INT64_C(1000000)

/*
 * A decimal with at most 6 fractional digits and at most 12 integer
 * digits, in millionths (times in microseconds, money in micro-units).
 * Returns 0 or -1.
 */
static inline int
ab_parse_micro(const char *s, size_t len, int allow_neg, int64_t *out)
{
    return ab_parse_decimal(s, len, 12, 6, allow_neg, out);
}

#endif /* ABSTAT_LINE_H */
