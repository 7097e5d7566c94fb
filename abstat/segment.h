/*
 * Segments (--by): the dimensions a report is broken down by, and the
 * value of each for a visitor, taken from its entry line (the line of
 * the earliest unforced exposure that sets ab_memb_t.entry), so that a
 * visitor is in exactly one segment per dimension whatever the order of
 * lines and files.
 *
 *   device        ab_device_of() of the line's "ua"
 *   visitor       "new" when the line's "uid_new" is "1", "true" or true,
 *                 else "returning"
 *   field:NAME    the line's top-level string (or number text) NAME;
 *                 absent, null, "" or another type: "(none)"
 *   day, hour     of the entry time, UTC: YYYY-MM-DD, YYYY-MM-DDTHH
 *
 * The parser asks for "ua", "uid_new" or NAME only when a dimension
 * needs it: without --by a line costs what it did.
 */

#ifndef ABSTAT_SEGMENT_H
#define ABSTAT_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "jsonl.h"

#define AB_BY_MAX           3       /* --by options, at most */
#define AB_BY_TOP_DEFAULT   10
#define AB_BY_TOP_MAX       1000
/* distinct values kept per dimension (16-bit ids per membership); a
 * value first seen past it counts as AB_SEG_OTHER */
#define AB_SEG_VALUES_MAX   65535
#define AB_SEG_FIELD_MAX    64      /* bytes of a field name */
#define AB_SEG_SPEC_MAX     (AB_BY_MAX * (AB_SEG_FIELD_MAX + 8))

#define AB_SEG_OTHER        "other"
#define AB_SEG_NONE         "(none)"

typedef enum {
    AB_DIM_DEVICE, AB_DIM_VISITOR, AB_DIM_FIELD, AB_DIM_DAY, AB_DIM_HOUR
} ab_dim_kind_t;

typedef struct {
    int           kind;         /* ab_dim_kind_t */
    char          name[AB_SEG_FIELD_MAX + 8];   /* as reported: "device",
                                                   "field:country" */
    const char   *field;        /* NAME of field:NAME, in name */
    size_t        field_len;
    size_t        key;          /* the parser's key of its text */
} ab_dim_t;

typedef struct {
    ab_dim_t       dims[AB_BY_MAX];
    size_t         n;
    size_t         top;         /* --by-top */
    /* the keys the line parser asks for: its own, then what the
     * dimensions read (ab_by_keys()) */
    ab_json_key_t  keys[AB_JSON_MAX_KEYS];
    size_t         nkeys;
} ab_by_t;

/* A dimension's text from a parsed line, before it is interned. */
typedef struct {
    const char  *s;
    size_t       len;
} ab_segtext_t;

/* Adds one --by DIM: NULL, or what is wrong with it. */
const char *ab_by_add(ab_by_t *by, const char *arg);

/* The key set of the line parser: base[0..nbase) and, after them, the
 * keys the dimensions read, each once (a field that is a key of base
 * reads base's). */
void ab_by_keys(ab_by_t *by, const ab_json_key_t *base, size_t nbase);

/* The --by set as one string, "device,visitor,field:country" (what a
 * --state file records). */
void ab_by_spec(const ab_by_t *by, char *buf, size_t len);

/* The text of dimension d for a line whose values for by->keys are f
 * (the parser's output): for device the User-Agent, whose class the
 * caller takes (ab_device_cached()); day and hour are not text
 * (ab_seg_time()). */
ab_segtext_t ab_seg_text(const ab_dim_t *d, const ab_jv_t *f);

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH" of t (us, UTC) into buf (>= 14). */
size_t ab_seg_time(int kind, int64_t t, char *buf);

/* Whether dimension kind has values pooled by --by-top: field only
 * (device and visitor have a few, day and hour are kept whole). */
static inline int
ab_dim_pooled(int kind)
{
    return kind == AB_DIM_FIELD;
}

#endif /* ABSTAT_SEGMENT_H */
