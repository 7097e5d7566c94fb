/*
 * Event grammar: validation and normalization (see ab_event.h).
 */

#include "ab_event.h"
#include "ab_core.h"

#include <stdint.h>
#include <string.h>

#include "ab_core.h"

typedef struct {
    const char  *p;
    size_t       len;
} ab_span_t;


static int
ab_is_digit(char c)
{
    return c >= '0' && c <= '9';
}


/* A span without the spaces and tabs around it (ab_trim()). */
static ab_span_t
ab_span(const char *p, size_t len)
{
    ab_span_t  s;

    s.p = p;
    s.len = len;
    ab_trim(&s.p, &s.len);

    return s;
}


/* [a-z0-9_]{1,32}: event names and keys. */
static int
ab_valid_token(ab_span_t s)
{
    size_t  i;

    if (s.len == 0 || s.len > AB_EVENT_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < s.len; i++) {
        char  c = s.p[i];

        if (!(ab_is_digit(c) || (c >= 'a' && c <= 'z') || c == '_')) {
            return 0;
        }
    }

    return 1;
}


/* [A-Za-z0-9._:-]{1,64}: order ids and the values of other keys. */
static int
ab_valid_value(ab_span_t s)
{
    size_t  i;

    if (s.len == 0 || s.len > AB_EVENT_VALUE_MAX) {
        return 0;
    }

    for (i = 0; i < s.len; i++) {
        char  c = s.p[i];

        if (!(ab_is_digit(c) || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == ':'
              || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static int
ab_span_is(ab_span_t s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}


/*
 * A decimal: -?[0-9]{1,12}(.[0-9]{1,max_frac})?. Writes the canonical form
 * (no leading zeros, no trailing fractional zeros, no "-0") into out and
 * returns its length, or 0 when invalid. Never longer than the input.
 */
static size_t
ab_normalize_decimal(ab_span_t s, size_t max_frac, char *out)
{
    char      digits[20];
    int64_t   v;
    uint64_t  u;
    size_t    n = 0, nd = 0, lo = 0, i;

    if (ab_parse_decimal(s.p, s.len, 12, max_frac, 1, &v) != 0) {
        return 0;
    }

    if (v < 0) {
        out[n++] = '-';
    }

    /* the digits of |v|, lowest first, at least one before the point */
    u = v < 0 ? -(uint64_t) v : (uint64_t) v;
    do {
        digits[nd++] = (char) ('0' + u % 10);
        u /= 10;
    } while (u != 0 || nd <= max_frac);

    for (i = nd; i > max_frac; i--) {
        out[n++] = digits[i - 1];
    }

    while (lo < max_frac && digits[lo] == '0') {
        lo++;
    }
    if (lo < max_frac) {
        out[n++] = '.';
        for (i = max_frac; i > lo; i--) {
            out[n++] = digits[i - 1];
        }
    }

    return n;
}


static int
ab_is_reserved(ab_span_t key, const char *const *reserved)
{
    for ( /* void */ ; reserved && *reserved; reserved++) {
        if (ab_span_is(key, *reserved)) {
            return 1;
        }
    }

    return 0;
}


/* Validates and normalizes one event into out; returns its length, or 0
 * with *reason set. */
static size_t
ab_event_one(ab_span_t ev, char *out, const char *const *reserved,
    const char **reason)
{
    ab_span_t    keys[AB_EVENT_MAX_PARAMS];
    ab_span_t    name, part, key, val;
    size_t       n = 0, nkeys = 0, i, start, end, v;
    const char  *eq;

    end = 0;
    while (end < ev.len && ev.p[end] != ';') {
        end++;
    }

    name = ab_span(ev.p, end);
    if (!ab_valid_token(name)) {
        *reason = "invalid event name";
        return 0;
    }

    memcpy(out, name.p, name.len);
    n = name.len;

    while (end < ev.len) {
        start = end + 1;
        end = start;
        while (end < ev.len && ev.p[end] != ';') {
            end++;
        }

        part = ab_span(ev.p + start, end - start);
        if (part.len == 0) {
            *reason = "empty parameter";
            return 0;
        }

        eq = memchr(part.p, '=', part.len);
        if (eq == NULL) {
            *reason = "parameter without \"=\"";
            return 0;
        }

        key = ab_span(part.p, (size_t) (eq - part.p));
        val = ab_span(eq + 1, part.len - (size_t) (eq - part.p) - 1);

        if (!ab_valid_token(key)) {
            *reason = "invalid parameter name";
            return 0;
        }

        if (ab_is_reserved(key, reserved)) {
            *reason = "parameter not accepted from this source";
            return 0;
        }

        for (i = 0; i < nkeys; i++) {
            if (keys[i].len == key.len
                && memcmp(keys[i].p, key.p, key.len) == 0)
            {
                *reason = "duplicate parameter";
                return 0;
            }
        }

        if (nkeys == AB_EVENT_MAX_PARAMS) {
            *reason = "too many parameters";
            return 0;
        }

        keys[nkeys++] = key;

        out[n++] = ';';
        memcpy(out + n, key.p, key.len);
        n += key.len;
        out[n++] = '=';

        if (ab_span_is(key, "revenue")) {
            v = ab_normalize_decimal(val, 6, out + n);
            if (v == 0) {
                *reason = "invalid revenue";
                return 0;
            }

        } else if (ab_span_is(key, "qty")) {
            v = ab_normalize_decimal(val, 0, out + n);
            if (v == 0) {
                *reason = "invalid qty";
                return 0;
            }

        } else if (ab_span_is(key, "currency")) {
            if (val.len != 3) {
                *reason = "invalid currency";
                return 0;
            }

            for (v = 0; v < 3; v++) {
                char  c = val.p[v];

                if (c >= 'a' && c <= 'z') {
                    c = (char) (c - 'a' + 'A');
                }

                if (c < 'A' || c > 'Z') {
                    *reason = "invalid currency";
                    return 0;
                }

                out[n + v] = c;
            }

        } else {
            if (!ab_valid_value(val)) {
                *reason = ab_span_is(key, "order") ? "invalid order id"
                                                   : "invalid parameter value";
                return 0;
            }

            memcpy(out + n, val.p, val.len);
            v = val.len;
        }

        n += v;
    }

    return n;
}


void
ab_events_init(ab_events_t *ev, char *buf, size_t cap)
{
    memset(ev, 0, sizeof(*ev));
    ev->out = buf;
    ev->cap = cap;
}


static void
ab_events_reject(ab_events_t *ev, const char *reason, ab_span_t bad)
{
    if (ev->invalid++ == 0) {
        ev->reason = reason;
        ev->bad = bad.p;
        ev->bad_len = bad.len;
    }
}


void
ab_events_parse(ab_events_t *ev, const char *in, size_t len,
    const char *marker, const char *const *reserved)
{
    /* the longest normalized event: its raw form bounds it */
    char         buf[AB_EVENT_NAME_MAX + AB_EVENT_MAX_PARAMS
                     * (2 + AB_EVENT_NAME_MAX + AB_EVENT_VALUE_MAX)];
    size_t       start = 0, end, n, mlen = marker ? strlen(marker) : 0;
    ab_span_t    one;
    const char  *reason = NULL;

    while (start <= len) {
        end = start;
        while (end < len && in[end] != ',') {
            end++;
        }

        one = ab_span(in + start, end - start);
        start = end + 1;

        if (one.len == 0) {
            continue;                   /* "a,,b" and trailing commas */
        }

        if (one.len > sizeof(buf)) {
            ab_events_reject(ev, "event too long", one);
            continue;
        }

        if (ev->valid == AB_EVENTS_MAX) {
            ab_events_reject(ev, "too many events", one);
            continue;
        }

        n = ab_event_one(one, buf, reserved, &reason);
        if (n == 0) {
            ab_events_reject(ev, reason, one);
            continue;
        }

        if (ev->len + (ev->len ? 1 : 0) + n + mlen > ev->cap) {
            ab_events_reject(ev, "no room", one);
            continue;
        }

        if (ev->len) {
            ev->out[ev->len++] = ',';
        }

        memcpy(ev->out + ev->len, buf, n);
        ev->len += n;
        if (mlen) {
            /* memcpy from a NULL marker is undefined even for 0 bytes */
            memcpy(ev->out + ev->len, marker, mlen);
            ev->len += mlen;
        }

        ev->valid++;
    }
}


int
ab_events_next_name(const char *list, size_t len, size_t *pos,
    const char **name, size_t *name_len)
{
    ab_event_item_t  it;

    if (ab_events_next(list, len, pos, &it) != 1) {
        return 0;
    }

    *name = it.name;
    *name_len = it.name_len;

    return 1;
}


int
ab_event_valid_name(const char *name, size_t len)
{
    ab_span_t  s = { name, len };

    return ab_valid_token(s);
}


int
ab_event_valid_value(const char *value, size_t len)
{
    ab_span_t  s = { value, len };

    return ab_valid_value(s);
}


int
ab_event_is_order(const char *name, size_t len)
{
    ab_span_t  s = { name, len };

    return ab_span_is(s, "purchase") || ab_span_is(s, "refund");
}
