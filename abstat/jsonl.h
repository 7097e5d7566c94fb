/*
 * Reads the members of one JSON object line that the caller asks for by
 * key, in place: string values are unescaped inside the line buffer
 * (unescaping never lengthens a string), so nothing is allocated.
 *
 * The whole line is validated as JSON except for UTF-8, which is not
 * checked: nginx copies invalid bytes through and the log contract says
 * such lines are valid.
 */

#ifndef ABSTAT_JSONL_H
#define ABSTAT_JSONL_H

#include <stddef.h>
#include <stdint.h>

#define AB_JSON_MAX_KEYS  16

typedef enum {
    AB_JV_ABSENT = 0,
    AB_JV_STRING,
    AB_JV_NUMBER,               /* raw number text */
    AB_JV_OTHER                 /* object, array, true, false, null */
} ab_jv_type_t;

/* A key asked for, with its length (AB_JSON_KEY("uid")). */
typedef struct {
    const char  *name;
    size_t       len;
} ab_json_key_t;

#define AB_JSON_KEY(s)  { s, sizeof(s) - 1 }

typedef struct {
    ab_jv_type_t  type;
    const char   *s;            /* NUL-terminated for strings and numbers */
    size_t        len;
} ab_jv_t;

/*
 * What the reader remembers of the lines a caller reads one after
 * another for one set of keys: nginx writes the same keys in the same
 * order on every line, so the key at a position is first compared with
 * the one there last time (length, two masked words, closing quote),
 * which spares the search for its end and the compare with the keys
 * asked for (7 to 9% of abstat's CPU time on scripts/bench-abstat's
 * log). The caller owns it, zeroed, one per thread and key set.
 */
#define AB_JSON_SHAPE_MAX  32

typedef struct {
    size_t    n;                /* keys remembered, in line order */
    uint8_t   len[AB_JSON_SHAPE_MAX];
    uint8_t   index[AB_JSON_SHAPE_MAX];     /* in the keys, or nkeys */
    uint64_t  words[AB_JSON_SHAPE_MAX][2];  /* zero past len */
} ab_json_shape_t;

/*
 * Parses line (len bytes, writable) as one JSON object and fills out[i]
 * for each keys[i] found. shape: NULL, or what the lines before read
 * with the same keys left. Returns NULL, or a short reason why the line
 * is not a JSON object or has one of keys twice ("duplicate key").
 */
const char *ab_json_object(char *line, size_t len, const ab_json_key_t *keys,
    size_t nkeys, ab_jv_t *out, ab_json_shape_t *shape);

/* The same without the fast path for nginx's own line shape: the
 * reference that the fast path is tested against. */
const char *ab_json_object_general(char *line, size_t len,
    const ab_json_key_t *keys, size_t nkeys, ab_jv_t *out);

#endif /* ABSTAT_JSONL_H */
