/*
 * A recursive-descent reader just strict enough to tell JSON from not
 * JSON; nesting is only walked (unknown keys may hold anything), with a
 * depth limit so that hostile lines cannot exhaust the stack.
 */

#include "jsonl.h"
#include "jsonl_scan.h"

#include "ab_core.h"

#include <stdint.h>
#include <string.h>

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


static long
hex4(jp_t *j)
{
    long  v = 0;
    int   i, h;

    if (j->end - j->p < 4) {
        return -1;
    }
    for (i = 0; i < 4; i++) {
        if ((h = ab_hex_digit(j->p[i])) < 0) {
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

