/*
 * A recursive-descent reader just strict enough to tell JSON from not
 * JSON; nesting is only walked (unknown keys may hold anything), with a
 * depth limit so that hostile lines cannot exhaust the stack.
 */

#include "jsonl.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define JSON_MAX_DEPTH  64

typedef struct {
    char        *p;
    char        *end;
    const char  *err;
} jp_t;


static void
skip_ws(jp_t *j)
{
    while (j->p < j->end
           && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
    {
        j->p++;
    }
}


static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


static long
hex4(jp_t *j)
{
    long  v = 0;
    int   i, h;

    if (j->end - j->p < 4) {
        return -1;
    }
    for (i = 0; i < 4; i++) {
        if ((h = hexval(j->p[i])) < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    j->p += 4;

    return v;
}


static char *
put_utf8(char *w, long cp)
{
    if (cp < 0x80) {
        *w++ = (char) cp;
    } else if (cp < 0x800) {
        *w++ = (char) (0xc0 | (cp >> 6));
        *w++ = (char) (0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *w++ = (char) (0xe0 | (cp >> 12));
        *w++ = (char) (0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char) (0x80 | (cp & 0x3f));
    } else {
        *w++ = (char) (0xf0 | (cp >> 18));
        *w++ = (char) (0x80 | ((cp >> 12) & 0x3f));
        *w++ = (char) (0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char) (0x80 | (cp & 0x3f));
    }

    return w;
}


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


/* The first byte from p on that ends a run of plain string bytes: a
 * quote, a backslash or a control character (or end). Log lines are
 * mostly long plain strings (user agents, URIs), so 16 bytes are
 * looked at per step where SSE2 is there (every x86-64). */
static char *
plain_run(char *p, char *end)
{
#if defined(__SSE2__)
    __m128i   v;
    unsigned  mask;

    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) (const void *) p);
        mask = quotes(v) | (unsigned) _mm_movemask_epi8(escape_or_ctl(v));
        if (mask != 0) {
            return p + __builtin_ctz(mask);
        }
        p += 16;
    }
#endif

    while (p < end && *p != '"' && *p != '\\' && (unsigned char) *p >= 0x20) {
        p++;
    }

    return p;
}


/* The string at j->p (after its opening quote), unescaped in place. A
 * \u escape of n bytes writes at most n bytes of UTF-8, so the write
 * pointer never passes the read pointer. */
static int
parse_string(jp_t *j, char **out, size_t *len)
{
    char           *w = j->p, *start = j->p;
    unsigned char   c;
    long            cp, lo;

    /* Most strings have no escape: find their end without copying. */
    j->p = plain_run(j->p, j->end);
    w = j->p;

    while (j->p < j->end) {
        c = (unsigned char) *j->p++;

        if (c == '"') {
            *out = start;
            *len = (size_t) (w - start);
            return 0;
        }

        if (c < 0x20) {
            j->err = "control character in a string";
            return -1;
        }

        if (c != '\\') {
            *w++ = (char) c;
            continue;
        }

        if (j->p >= j->end) {
            break;
        }

        switch (*j->p++) {
        case '"':  *w++ = '"';  break;
        case '\\': *w++ = '\\'; break;
        case '/':  *w++ = '/';  break;
        case 'b':  *w++ = '\b'; break;
        case 'f':  *w++ = '\f'; break;
        case 'n':  *w++ = '\n'; break;
        case 'r':  *w++ = '\r'; break;
        case 't':  *w++ = '\t'; break;
        case 'u':
            if ((cp = hex4(j)) < 0) {
                j->err = "bad \\u escape";
                return -1;
            }
            if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6
                && j->p[0] == '\\' && j->p[1] == 'u')
            {
                j->p += 2;
                if ((lo = hex4(j)) < 0xdc00 || lo > 0xdfff) {
                    j->err = "bad surrogate pair";
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            w = put_utf8(w, cp);
            break;
        default:
            j->err = "bad escape";
            return -1;
        }
    }

    j->err = "unterminated string";

    return -1;
}


static int
parse_number(jp_t *j)
{
    char  *p = j->p;

    if (p < j->end && *p == '-') {
        p++;
    }
    if (p >= j->end || *p < '0' || *p > '9') {
        return -1;
    }
    if (*p == '0') {
        p++;
    } else {
        while (p < j->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < j->end && *p == '.') {
        p++;
        if (p >= j->end || *p < '0' || *p > '9') {
            return -1;
        }
        while (p < j->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < j->end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= j->end || *p < '0' || *p > '9') {
            return -1;
        }
        while (p < j->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    j->p = p;

    return 0;
}


static int parse_value(jp_t *j, int depth, ab_jv_t *v);


static int
parse_container(jp_t *j, int depth, char close)
{
    char    *key;
    size_t   klen;
    ab_jv_t  v;

    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }

    for ( ;; ) {
        if (close == '}') {
            skip_ws(j);
            if (j->p >= j->end || *j->p++ != '"' || parse_string(j, &key, &klen)) {
                j->err = j->err ? j->err : "bad key";
                return -1;
            }
            skip_ws(j);
            if (j->p >= j->end || *j->p++ != ':') {
                j->err = "missing ':'";
                return -1;
            }
        }

        if (parse_value(j, depth + 1, &v) != 0) {
            return -1;
        }

        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        j->err = "missing ',' or closing bracket";
        return -1;
    }
}


static int
parse_value(jp_t *j, int depth, ab_jv_t *v)
{
    char   *s;
    size_t  len;

    if (depth > JSON_MAX_DEPTH) {
        j->err = "nested too deep";
        return -1;
    }

    skip_ws(j);
    if (j->p >= j->end) {
        j->err = "missing value";
        return -1;
    }

    v->s = j->p;
    /* objects, arrays and literals have a start but no length */
    v->len = 0;

    switch (*j->p) {
    case '"':
        j->p++;
        if (parse_string(j, &s, &len) != 0) {
            return -1;
        }
        v->type = AB_JV_STRING;
        v->s = s;
        v->len = len;
        return 0;
    case '{':
    case '[':
        j->p++;
        v->type = AB_JV_OTHER;
        return parse_container(j, depth, v->s[0] == '{' ? '}' : ']');
    case 't':
    case 'f':
    case 'n':
        len = *j->p == 'f' ? 5 : 4;
        if ((size_t) (j->end - j->p) < len
            || (memcmp(j->p, "true", 4) && memcmp(j->p, "null", 4)
                && memcmp(j->p, "false", 5)))
        {
            j->err = "bad literal";
            return -1;
        }
        j->p += len;
        v->type = AB_JV_OTHER;
        return 0;
    default:
        if (parse_number(j) != 0) {
            j->err = "bad value";
            return -1;
        }
        v->type = AB_JV_NUMBER;
        v->len = (size_t) (j->p - v->s);
        return 0;
    }
}


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


const char *
ab_json_object_general(char *line, size_t len, const ab_json_key_t *keys,
    size_t nkeys, ab_jv_t *out)
{
    jp_t     j = { line, line + len, NULL };
    char    *key, *term[AB_JSON_MAX_KEYS];
    size_t   klen, i, hint = 0;
    ab_jv_t  v;

    if (nkeys > AB_JSON_MAX_KEYS) {
        return "too many keys asked for";
    }

    for (i = 0; i < nkeys; i++) {
        out[i].type = AB_JV_ABSENT;
        term[i] = NULL;
    }

    skip_ws(&j);
    if (j.p >= j.end || *j.p++ != '{') {
        return "not a JSON object";
    }

    skip_ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
        goto done;
    }

    for ( ;; ) {
        skip_ws(&j);
        if (j.p >= j.end || *j.p++ != '"' || parse_string(&j, &key, &klen)) {
            return j.err ? j.err : "bad key";
        }
        skip_ws(&j);
        if (j.p >= j.end || *j.p++ != ':') {
            return "missing ':'";
        }
        if (parse_value(&j, 1, &v) != 0) {
            return j.err;
        }

        if ((i = key_index(keys, nkeys, key, klen, &hint)) < nkeys) {
            /* readers differ on which copy wins: a line that says two
             * things about a field it is read for says nothing */
            if (out[i].type != AB_JV_ABSENT) {
                return "duplicate key";
            }
            out[i] = v;
            /* Terminate after the whole line is read: the byte after a
             * value may still be a delimiter the parser needs. */
            term[i] = (char *) v.s + v.len;
        }

        skip_ws(&j);
        if (j.p < j.end && *j.p == ',') {
            j.p++;
            continue;
        }
        if (j.p < j.end && *j.p == '}') {
            j.p++;
            break;
        }
        return "missing ',' or '}'";
    }

done:
    skip_ws(&j);
    if (j.p != j.end) {
        return "text after the object";
    }

    for (i = 0; i < nkeys; i++) {
        if (out[i].type == AB_JV_STRING || out[i].type == AB_JV_NUMBER) {
            *term[i] = '\0';
        }
    }

    return NULL;
}

