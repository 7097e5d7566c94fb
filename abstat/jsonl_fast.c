/*
 * The fast path of ab_json_object() for the lines nginx writes with
 * escape=json: a map of the line's quotes, 64 bytes a step, and the key
 * order of the line before (the shape). Anything it is unsure of goes to
 * the general reader (jsonl.c), which is the reference it is fuzzed
 * against (t/fuzz/fuzz_json.c).
 */

#include "jsonl.h"
#include "jsonl_scan.h"

#include <stdint.h>
#include <string.h>


/* Lines up to this long take the fast path (its quote map is on the
 * stack); longer ones are rare and go to the general reader. */
#define FAST_MAX  4096

/*
 * The quote map of line: bit i of q[i / 64] is set when line[i] is '"'.
 * 0 when the line has a backslash or a control character anywhere: then
 * quotes may be escaped or strings unusual, and the general reader
 * decides.
 */
static int
quote_map(const char *line, size_t len, uint64_t *q)
{
    size_t          i = 0, w;
    unsigned char   c;
    int             bad = 0;

#if defined(__SSE2__)
    {
        __m128i   v, v1, v2, v3, odd = _mm_setzero_si128();
        size_t    back;

        /* whole words first, 64 bytes each: written, not or-ed in */
        for ( /* void */ ; i + 64 <= len; i += 64) {
            v = _mm_loadu_si128((const __m128i *) (const void *) (line + i));
            v1 = _mm_loadu_si128((const __m128i *) (const void *)
                                 (line + i + 16));
            v2 = _mm_loadu_si128((const __m128i *) (const void *)
                                 (line + i + 32));
            v3 = _mm_loadu_si128((const __m128i *) (const void *)
                                 (line + i + 48));
            q[i / 64] = (uint64_t) quotes(v) | (uint64_t) quotes(v1) << 16
                        | (uint64_t) quotes(v2) << 32
                        | (uint64_t) quotes(v3) << 48;
            odd = _mm_or_si128(odd, _mm_or_si128(
                      _mm_or_si128(escape_or_ctl(v), escape_or_ctl(v1)),
                      _mm_or_si128(escape_or_ctl(v2), escape_or_ctl(v3))));
        }
        if (i < len) {
            q[i / 64] = 0;
        }

        for ( /* void */ ; i + 16 <= len; i += 16) {
            v = _mm_loadu_si128((const __m128i *) (const void *) (line + i));
            q[i / 64] |= (uint64_t) quotes(v) << (i % 64);
            odd = _mm_or_si128(odd, escape_or_ctl(v));
        }

        if (i < len && len >= 16) {
            /* the tail as the last 16 bytes of the line, the ones seen
             * already shifted out: no byte-by-byte loop; i is a multiple
             * of 16, so the < 16 bits stay in a word */
            back = 16 - (len - i);
            v = _mm_loadu_si128((const __m128i *) (const void *)
                                (line + len - 16));
            q[i / 64] |= (uint64_t) (quotes(v) >> back) << (i % 64);
            odd = _mm_or_si128(odd, escape_or_ctl(v));
            i = len;
        }
        bad = _mm_movemask_epi8(odd) != 0;
    }
#else
    memset(q, 0, (len + 63) / 64 * sizeof(uint64_t));
#endif

    for ( /* void */ ; i < len; i++) {
        c = (unsigned char) line[i];
        w = i / 64;
        q[w] |= (uint64_t) (c == '"') << (i % 64);
        bad |= c == '\\' || c < 0x20;
    }

    return !bad;
}


/* The next set bit of the map from bit `from` on, or `len` if none. */
static inline __attribute__((always_inline)) size_t
next_quote(const uint64_t *q, size_t from, size_t len)
{
    size_t    w = from / 64, nw = (len + 63) / 64;
    uint64_t  bits;

    if (from >= len) {
        return len;
    }
    bits = q[w] & (~(uint64_t) 0 << (from % 64));
    while (bits == 0) {
        if (++w >= nw) {
            return len;
        }
        bits = q[w];
    }

    return w * 64 + (size_t) __builtin_ctzll(bits);
}


#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define AB_WORDS_LE  1

/* [n]: the bytes of two little-endian words that n bytes fill */
#define LEN_MASK(n)  ((n) >= 8 ? ~(uint64_t) 0 : ((uint64_t) 1 << (8 * (n))) - 1)
static const uint64_t  len_mask[17][2] = {
    { LEN_MASK(0), 0 }, { LEN_MASK(1), 0 }, { LEN_MASK(2), 0 },
    { LEN_MASK(3), 0 }, { LEN_MASK(4), 0 }, { LEN_MASK(5), 0 },
    { LEN_MASK(6), 0 }, { LEN_MASK(7), 0 }, { LEN_MASK(8), 0 },
    { LEN_MASK(8), LEN_MASK(1) }, { LEN_MASK(8), LEN_MASK(2) },
    { LEN_MASK(8), LEN_MASK(3) }, { LEN_MASK(8), LEN_MASK(4) },
    { LEN_MASK(8), LEN_MASK(5) }, { LEN_MASK(8), LEN_MASK(6) },
    { LEN_MASK(8), LEN_MASK(7) }, { LEN_MASK(8), LEN_MASK(8) }
};
#endif


/* Whether the key at k (room bytes readable from k on) is key j of the
 * last line's, closing quote included; then its length is the
 * remembered one. */
static inline int
shape_is(const ab_json_shape_t *sh, size_t j, const char *k, size_t room)
{
#if defined(AB_WORDS_LE)
    size_t    len = sh->len[j];
    uint64_t  a, b;

    if (room < 17) {
        return 0;
    }
    memcpy(&a, k, 8);
    memcpy(&b, k + 8, 8);

    return (((a ^ sh->words[j][0]) & len_mask[len][0])
            | ((b ^ sh->words[j][1]) & len_mask[len][1])) == 0
           && k[len] == '"';
#else
    (void) sh; (void) j; (void) k; (void) room;
    return 0;
#endif
}


/* Key j of this line, k of len bytes, found to be keys[i] (or none):
 * remembered for the next line when it is short; the ones after it are
 * forgotten. */
static inline void
shape_learn(ab_json_shape_t *sh, size_t j, const char *k, size_t len,
    size_t i)
{
    if (j >= AB_JSON_SHAPE_MAX || len > 16) {
        if (j < sh->n) {
            sh->n = j;
        }
        return;
    }
    sh->len[j] = (uint8_t) len;
    sh->index[j] = (uint8_t) i;
    sh->words[j][0] = sh->words[j][1] = 0;
    memcpy(sh->words[j], k, len);
    sh->n = j + 1;
}


/*
 * The shape nginx writes with escape=json: {"key":"value",...} with no
 * white space, every value a string without escapes. Such a line is read
 * here from a map of its quotes (and with sh, the last line's keys); 1
 * when it was (*err: NULL or "duplicate key"), 0 when the line is
 * anything else and the general reader must decide. Whatever this
 * accepts the general reader accepts with the same result (fuzz_json
 * checks it).
 */
static int
fast_object(char *line, size_t len, const ab_json_key_t *keys, size_t nkeys,
    ab_jv_t *out, ab_json_shape_t *sh, const char **err)
{
    uint64_t   q[FAST_MAX / 64];
    char      *term[AB_JSON_MAX_KEYS];
    size_t     pos = 1, k0, k1, v0, v1, klen, i, j, hint = 0;
    int        known;

    if (len < 3 || len > FAST_MAX || line[0] != '{' || line[len - 1] != '}'
        || !quote_map(line, len, q))
    {
        return 0;
    }

    *err = NULL;

    for (j = 0; ; j++) {
        /* "key":"value" then ',' or the final '}' */
        k0 = pos;
        if (line[k0] != '"') {
            return 0;
        }
        known = sh != NULL && j < sh->n
                && shape_is(sh, j, line + k0 + 1, len - k0 - 1);
        k1 = known ? k0 + 1 + sh->len[j] : next_quote(q, k0 + 1, len);
        v0 = k1 + 2;
        if (k1 + 3 >= len || line[k1 + 1] != ':' || line[v0] != '"') {
            return 0;
        }
        v1 = next_quote(q, v0 + 1, len);
        if (v1 + 1 >= len) {
            return 0;
        }

        klen = k1 - k0 - 1;
        if (known) {
            i = sh->index[j];
        } else {
            i = key_index(keys, nkeys, line + k0 + 1, klen, &hint);
            if (sh != NULL) {
                shape_learn(sh, j, line + k0 + 1, klen, i);
            }
        }
        if (i < nkeys) {
            if (out[i].type != AB_JV_ABSENT) {
                *err = "duplicate key";
                return 1;
            }
            out[i].type = AB_JV_STRING;
            out[i].s = line + v0 + 1;
            out[i].len = v1 - v0 - 1;
            term[i] = line + v1;
        }

        if (line[v1 + 1] == ',') {
            pos = v1 + 2;
            continue;
        }
        if (v1 + 2 == len) {
            /* line[v1 + 1] is the final '}' */
            break;
        }
        return 0;
    }

    for (i = 0; i < nkeys; i++) {
        if (out[i].type == AB_JV_STRING) {
            *term[i] = '\0';
        }
    }

    return 1;
}


const char *
ab_json_object(char *line, size_t len, const ab_json_key_t *keys,
    size_t nkeys, ab_jv_t *out, ab_json_shape_t *shape)
{
    const char  *err;
    size_t       i;

    if (nkeys > AB_JSON_MAX_KEYS) {
        return "too many keys asked for";
    }

    for (i = 0; i < nkeys; i++) {
        out[i].type = AB_JV_ABSENT;
    }

    if (fast_object(line, len, keys, nkeys, out, shape, &err)) {
        return err;
    }

    return ab_json_object_general(line, len, keys, nkeys, out);
}

