/* needs: abstat */
/*
 * libFuzzer target: abstat's JSON object reader (abstat/jsonl.c) alone,
 * with properties: every value it returns lies inside the line and is
 * NUL-terminated there; string values never grow (unescaping in place);
 * and whatever it accepts, cJSON (an independent strict parser, with the
 * same leniency for bytes that are not UTF-8) accepts too, lone
 * surrogate escapes apart. And the fast path for nginx's own line shape
 * gives exactly what the general reader gives: the same verdict, the
 * same values.
 */

#include "jsonl.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const ab_json_key_t  keys[] = {
    AB_JSON_KEY("time"), AB_JSON_KEY("uid"), AB_JSON_KEY("exposures"),
    AB_JSON_KEY("forced"), AB_JSON_KEY("events"), AB_JSON_KEY("status"),
    AB_JSON_KEY("request_time"), AB_JSON_KEY("event"), AB_JSON_KEY("order"),
    AB_JSON_KEY("revenue"), AB_JSON_KEY("")
};

#define NKEYS  (sizeof(keys) / sizeof(keys[0]))

static ab_json_shape_t  shape;


/* Whether the text has a \u escape of a UTF-16 surrogate: grammatically
 * valid JSON that abstat accepts alone (RFC 8259 leaves lone surrogates
 * to the reader) and cJSON refuses, so no comparison then. */
static int
has_surrogate_escape(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i + 5 < len; i++) {
        if (s[i] == '\\' && s[i + 1] == 'u' && (s[i + 2] | 0x20) == 'd'
            && strchr("89abcdefABCDEF", s[i + 3]) != NULL && s[i + 3] != '\0')
        {
            return 1;
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char         *line, *copy, *ref;
    const char   *err, *ref_err;
    ab_jv_t       v[NKEYS], rv[NKEYS];
    size_t        i;
    cJSON        *j;

    line = malloc(size + 1);
    copy = malloc(size + 1);
    ref = malloc(size + 1);
    if (line == NULL || copy == NULL || ref == NULL) {
        abort();
    }
    memcpy(ref, data, size);
    ref[size] = '\0';
    memcpy(line, data, size);
    line[size] = '\0';
    memcpy(copy, data, size);
    copy[size] = '\0';

    /* the shape the inputs before left: the fuzzer's inputs are lines
     * read one after another */
    err = ab_json_object(line, size, keys, NKEYS, v, &shape);
    ref_err = ab_json_object_general(ref, size, keys, NKEYS, rv);

    /* fast path against the general reader: same verdict, same values */
    if ((err == NULL) != (ref_err == NULL)
        || (err != NULL && strcmp(err, ref_err) != 0))
    {
        abort();
    }
    for (i = 0; err == NULL && i < NKEYS; i++) {
        /* (objects, arrays and literals have a start but no length) */
        if (v[i].type != rv[i].type
            || (v[i].type != AB_JV_ABSENT && v[i].s - line != rv[i].s - ref)
            || ((v[i].type == AB_JV_STRING || v[i].type == AB_JV_NUMBER)
                && (v[i].len != rv[i].len
                    || memcmp(v[i].s, rv[i].s, v[i].len) != 0)))
        {
            abort();
        }
    }

    if (err == NULL) {
        for (i = 0; i < NKEYS; i++) {
            if (v[i].type == AB_JV_ABSENT || v[i].type == AB_JV_OTHER) {
                continue;
            }
            if (v[i].s < line || v[i].s + v[i].len > line + size
                || v[i].s[v[i].len] != '\0')
            {
                abort();
            }
        }

        /* cJSON stops at a NUL byte: compare only NUL-free lines */
        if (memchr(copy, '\0', size) == NULL
            && !has_surrogate_escape(copy, size))
        {
            j = cJSON_ParseWithLengthOpts(copy, size + 1, NULL, 1);
            if (j == NULL || !cJSON_IsObject(j)) {
                /* cJSON's nesting limit (1000) is above ours (64) */
                abort();
            }
            cJSON_Delete(j);
        }
    } else if (strlen(err) == 0) {
        abort();
    }

    free(line);
    free(copy);
    free(ref);

    return 0;
}
