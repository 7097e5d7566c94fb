/* needs: abstat */
/*
 * libFuzzer target: abstat's JSON object reader (abstat/jsonl.c) alone,
 * with properties: every value it returns lies inside the line and is
 * NUL-terminated there; string values never grow (unescaping in place);
 * and whatever it accepts, cJSON (an independent strict parser, with the
 * same leniency for bytes that are not UTF-8) accepts too, lone
 * surrogate escapes apart.
 */

#include "jsonl.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const  keys[] = {
    "time", "uid", "exposures", "forced", "events", "status",
    "request_time", "event", "order", "revenue", ""
};

#define NKEYS  (sizeof(keys) / sizeof(keys[0]))


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
    char         *line, *copy;
    const char   *err;
    ab_jv_t       v[NKEYS];
    size_t        i;
    cJSON        *j;

    line = malloc(size + 1);
    copy = malloc(size + 1);
    if (line == NULL || copy == NULL) {
        abort();
    }
    memcpy(line, data, size);
    line[size] = '\0';
    memcpy(copy, data, size);
    copy[size] = '\0';

    err = ab_json_object(line, size, keys, NKEYS, v);

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

    return 0;
}
