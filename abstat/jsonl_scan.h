/*
 * What both of abstat's JSON readers use (jsonl.c, the general one, and
 * jsonl_fast.c, the one for nginx's own line shape): the 16-byte string
 * scans and the lookup of a key among the keys asked for. Inline, so
 * that each reader's hot loop compiles as if they were its own.
 */

#ifndef ABSTAT_JSONL_SCAN_H
#define ABSTAT_JSONL_SCAN_H

#include <stddef.h>
#include <string.h>

#include "jsonl.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__SSE2__)

/* The bytes of v a plain string cannot hold as they are: backslashes and
 * control characters (max(v, 0x1f) == 0x1f: an unsigned byte below
 * 0x20). Quotes are asked for apart: they end strings. */
static inline __m128i
escape_or_ctl(__m128i v)
{
    const __m128i  ctl = _mm_set1_epi8(0x1f);

    return _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                        _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
}


static inline unsigned
quotes(__m128i v)
{
    return (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
}

#endif


/* The index of key k (len bytes) among keys, or nkeys. The lines of a
 * log share a key order: the one after the last key found (*hint) is
 * tried first. */
static inline size_t
key_index(const ab_json_key_t *keys, size_t nkeys, const char *k,
    size_t len, size_t *hint)
{
    size_t  i, n;

    for (n = 0, i = *hint; n < nkeys; n++, i = i + 1 < nkeys ? i + 1 : 0) {
        if (keys[i].len == len && memcmp(keys[i].name, k, len) == 0) {
            *hint = i + 1 < nkeys ? i + 1 : 0;
            return i;
        }
    }

    return nkeys;
}

#endif /* ABSTAT_JSONL_SCAN_H */
