/*
 * The line-level parsers: the in-place JSON object reader, the decimal
 * reader, and the hash table and interning under growth.
 */

#include "tap.h"

#include "intern.h"
#include "jsonl.h"
#include "line.h"
#include "tab.h"

static const ab_json_key_t  keys[] = {
    AB_JSON_KEY("a"), AB_JSON_KEY("b"), AB_JSON_KEY("c")
};


/* Parses text; returns the error (NULL: JSON) and fills out. */
static const char *
parse(const char *text, ab_jv_t *out)
{
    static char  buf[1024];

    snprintf(buf, sizeof(buf), "%s", text);

    return ab_json_object(buf, strlen(buf), keys, 3, out, NULL);
}


static void
test_json(void)
{
    ab_jv_t      v[3];
    const char  *good[] = {
        "{}", " { } ", "{\"a\":\"x\"}\r", "{\"z\":[1,{\"y\":null}],\"a\":\"x\"}",
        "{\"a\":-1.5e+3}", "{\"a\":true,\"b\":false,\"c\":null}",
        "{\"a\":\"\\u00e9\\ud83d\\ude00\"}", "{\"a\":\"\xff\xfe\"}",
    };
    const char  *bad[] = {
        "", "[]", "\"a\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":\"x\",}",
        "{\"a\":\"x\"} x", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"a\tb\"}",
        "{a:1}", "{\"a\":\"x\" \"b\":1}", "{\"a\":[1,]}", "{\"a\":NaN}",
        "{\"a\":\"x", "{\"a\":\"\\ud83d\\u0041\"}",
    };
    size_t       i;
    char         deep[400];

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        tap_ok(parse(good[i], v) == NULL, "json ok: %s", good[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tap_ok(parse(bad[i], v) != NULL, "json bad: %s", bad[i]);
    }

    tap_ok(parse("{\"a\":\"1\",\"c\":2.5,\"a\":\"last\"}", v) != NULL,
           "a key asked for, twice: refused");
    tap_ok(parse("{\"z\":1,\"a\":\"1\",\"z\":[2]}", v) == NULL,
           "another key twice: fine");
    parse("{\"b\":\"q\\\"\\\\\\/\\n\",\"a\":\"last\",\"c\":2.5}", v);
    tap_ok(v[0].type == AB_JV_STRING && strcmp(v[0].s, "last") == 0,
           "value NUL-terminated");
    tap_ok(v[1].type == AB_JV_STRING && v[1].len == 5
           && memcmp(v[1].s, "q\"\\/\n", 5) == 0, "escapes decoded in place");
    tap_ok(v[2].type == AB_JV_NUMBER && strcmp(v[2].s, "2.5") == 0,
           "numbers kept as text");

    parse("{\"a\":\"\\u00e9\\ud83d\\ude00\"}", v);
    tap_ok(v[0].len == 6 && memcmp(v[0].s, "\xc3\xa9\xf0\x9f\x98\x80", 6) == 0,
           "\\u escapes and surrogate pairs to UTF-8");

    parse("{\"x\":\"a\"}", v);
    tap_ok(v[0].type == AB_JV_ABSENT && v[1].type == AB_JV_ABSENT,
           "absent keys are absent");

    /* Balanced brackets: valid JSON at depth 10, refused at depth 100. */
    for (i = 0; i < 2; i++) {
        size_t  d = i ? 100 : 10, k, n = 0;

        n += (size_t) snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
        for (k = 0; k < d; k++) {
            deep[n++] = '[';
        }
        for (k = 0; k < d; k++) {
            deep[n++] = ']';
        }
        snprintf(deep + n, sizeof(deep) - n, "}");
        if (i == 0) {
            tap_ok(parse(deep, v) == NULL, "nesting of 10 is fine");
        }
    }
    tap_ok(parse(deep, v) != NULL, "deep nesting is refused, not recursed");
}


/*
 * The fast path remembers the keys of the last line in order: lines that
 * share most of it but differ in one key (another name of the same
 * length, a prefix, a longer one, a key moved) must still be read by
 * what they say, as the general reader reads them. (Each line ends with
 * a long value, so that every key has the bytes after it that the
 * comparison with the remembered one loads.)
 */
static void
test_json_shape(void)
{
    static const ab_json_key_t  lk[] = {
        AB_JSON_KEY("time"), AB_JSON_KEY("uid"), AB_JSON_KEY("status"),
        AB_JSON_KEY("request_time")
    };
    const char  *lines[] = {
        "{\"time\":\"1.5\",\"uid\":\"u1\",\"ua\":\"x\",\"status\":\"200\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* the same keys: read from the remembered shape */
        "{\"time\":\"2.5\",\"uid\":\"u2\",\"ua\":\"y\",\"status\":\"404\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* "statut": as long as "status", one byte off */
        "{\"time\":\"3.5\",\"uid\":\"u3\",\"ua\":\"z\",\"statut\":\"500\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* "stat": a prefix of "status" */
        "{\"time\":\"4.5\",\"uid\":\"u4\",\"ua\":\"z\",\"stat\":\"501\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* the remembered "stat", then a byte where its quote was: not
         * JSON at all */
        "{\"time\":\"4.7\",\"uid\":\"u4\",\"ua\":\"z\",\"statX:\"503\",\"pad\":\"pppppppppppppppppppppppp\"}",
        "{\"time\":\"4.5\",\"uid\":\"u4\",\"ua\":\"z\",\"stat\":\"501\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* "status" again, where "stat" was remembered: not a prefix */
        "{\"time\":\"4.6\",\"uid\":\"u4\",\"ua\":\"z\",\"status\":\"502\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* "ua" where "uid" was, "uid" where "ua" was */
        "{\"time\":\"5.5\",\"ua\":\"w\",\"uid\":\"u5\",\"status\":\"201\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* a key longer than any remembered, then the usual ones */
        "{\"request_time_of_the_upstream\":\"9\",\"time\":\"6.5\",\"uid\":\"u6\",\"pad\":\"pppppppppppppppppppppppp\"}",
        "{\"time\":\"7.5\",\"uid\":\"u7\",\"ua\":\"x\",\"status\":\"200\",\"pad\":\"pppppppppppppppppppppppp\"}",
        /* the remembered key twice: the second is a duplicate */
        "{\"time\":\"8.5\",\"time\":\"8.6\",\"uid\":\"u8\",\"pad\":\"pppppppppppppppppppppppp\"}",
    };
    char             a[256], b[256];
    ab_jv_t          fast[4], gen[4];
    ab_json_shape_t  shape;
    const char      *ef, *eg;
    size_t           i, k;
    int              same;

    memset(&shape, 0, sizeof(shape));
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        snprintf(a, sizeof(a), "%s", lines[i]);
        snprintf(b, sizeof(b), "%s", lines[i]);
        ef = ab_json_object(a, strlen(a), lk, 4, fast, &shape);
        eg = ab_json_object_general(b, strlen(b), lk, 4, gen);
        same = (ef == NULL) == (eg == NULL);
        for (k = 0; same && ef == NULL && k < 4; k++) {
            same = fast[k].type == gen[k].type
                   && (fast[k].type == AB_JV_ABSENT
                       || (fast[k].len == gen[k].len
                           && memcmp(fast[k].s, gen[k].s, gen[k].len) == 0));
        }
        tap_ok(same, "remembered key order, line %zu: as the general reader",
               i + 1);
    }

    snprintf(a, sizeof(a), "%s", lines[2]);
    ab_json_object(a, strlen(a), lk, 4, fast, &shape);
    tap_ok(fast[2].type == AB_JV_ABSENT, "a key one byte off is not taken");
    snprintf(a, sizeof(a), "%s", lines[3]);
    ab_json_object(a, strlen(a), lk, 4, fast, &shape);
    snprintf(a, sizeof(a), "%s", lines[6]);
    ab_json_object(a, strlen(a), lk, 4, fast, &shape);
    tap_ok(fast[2].type == AB_JV_STRING && strcmp(fast[2].s, "502") == 0,
           "a key the remembered one is a prefix of is read whole");
    snprintf(a, sizeof(a), "%s", lines[7]);
    ab_json_object(a, strlen(a), lk, 4, fast, &shape);
    tap_ok(fast[1].type == AB_JV_STRING && strcmp(fast[1].s, "u5") == 0,
           "a key moved is found where it is");
    snprintf(a, sizeof(a), "%s", lines[10]);
    tap_ok(ab_json_object(a, strlen(a), lk, 4, fast, &shape) != NULL,
           "a remembered key twice is a duplicate");
}


static void
test_micro(void)
{
    int64_t  v = 0;

    tap_ok(ab_parse_micro("1763900000.123", 14, 0, &v) == 0
           && v == 1763900000123000LL, "time to microseconds");
    tap_ok(ab_parse_micro("59.9", 4, 0, &v) == 0 && v == 59900000,
           "one fractional digit");
    tap_ok(ab_parse_micro("-0.000001", 9, 1, &v) == 0 && v == -1,
           "negative with six digits");
    tap_ok(ab_parse_micro("-1", 2, 0, &v) != 0, "sign refused for times");
    tap_ok(ab_parse_micro("1.1234567", 9, 0, &v) != 0, "seven digits refused");
    tap_ok(ab_parse_micro("1.", 2, 0, &v) != 0, "empty fraction refused");
    tap_ok(ab_parse_micro(".5", 2, 0, &v) != 0, "empty integer part refused");
    tap_ok(ab_parse_micro("1e3", 3, 0, &v) != 0, "exponent refused");
    tap_ok(ab_parse_micro("1234567890123", 13, 0, &v) != 0,
           "13 integer digits refused (no overflow)");
    tap_ok(ab_parse_micro("", 0, 0, &v) != 0, "empty refused");

    /* the one decimal reader under it, as percents and event values use
     * it too */
    tap_ok(ab_parse_decimal("999999999999.999999", 19, 12, 6, 1, &v) == 0
           && v == 999999999999999999LL, "the largest decimal, no overflow");
    tap_ok(ab_parse_decimal("33.3", 4, 3, 2, 0, &v) == 0 && v == 3330,
           "in hundredths");
    tap_ok(ab_parse_decimal("1000", 4, 3, 2, 0, &v) != 0,
           "more integer digits than asked refused");
    tap_ok(ab_parse_decimal("-007", 4, 12, 0, 1, &v) == 0 && v == -7,
           "a whole number, leading zeros");
    tap_ok(ab_parse_decimal("1.0", 3, 12, 0, 1, &v) != 0,
           "no fraction where none is asked");
}


static void
test_tab(void)
{
    ab_tab_t     t;
    ab_intern_t  in;
    uint32_t    *slot;
    int          created, ok = 1;
    uint32_t     i;
    char         name[32];

    memset(&t, 0, sizeof(t));
    for (i = 0; i < 100000; i++) {
        slot = ab_tab_put(&t, ab_key_pair(i, i * 7), &created);
        ok &= slot != NULL && created;
        *slot = i;
    }
    for (i = 0; i < 100000; i++) {
        ok &= ab_tab_get(&t, ab_key_pair(i, i * 7)) == i;
        slot = ab_tab_put(&t, ab_key_pair(i, i * 7), &created);
        ok &= !created && *slot == i;
    }
    tap_ok(ok, "table keeps 100000 keys across growth");
    tap_ok(ab_tab_get(&t, ab_key_pair(100001, 0)) == AB_TAB_EMPTY,
           "absent key");
    tap_ok(t.n * 4 <= t.cap * 3, "load at most 3/4");
    ab_tab_free(&t);

    /* a saved table loads from keys that are not aligned (a file's map) */
    {
        size_t         n = 50000, j;
        unsigned char *buf = malloc(n * sizeof(ab_key_t) + 1);
        ab_key_t       k;

        for (j = 0; j < n; j++) {
            k = ab_key_of((const char *) &j, sizeof(j));
            memcpy(buf + 1 + j * sizeof(k), &k, sizeof(k));
        }
        memset(&t, 0, sizeof(t));
        tap_ok(ab_tab_load(&t, buf + 1, n) == 0, "table loads 50000 keys");
        for (j = 0, ok = t.n == n; j < n; j++) {
            k = ab_key_of((const char *) &j, sizeof(j));
            ok &= ab_tab_get(&t, k) == j;
        }
        tap_ok(ok, "each loaded key maps to its index");
        slot = ab_tab_put(&t, ab_key_pair(1, 2), &created);
        tap_ok(slot != NULL && created && t.n == n + 1,
               "a loaded table takes new keys");
        ab_tab_free(&t);

        memcpy(buf + 1 + 777 * sizeof(k), buf + 1 + 12345 * sizeof(k),
               sizeof(k));
        tap_ok(ab_tab_load(&t, buf + 1, n) == 1, "a key twice is refused");
        ab_tab_free(&t);
        tap_ok(ab_tab_load(&t, buf, 0) == 0 && t.n == 0,
               "an empty table loads");
        ab_tab_free(&t);
        free(buf);
    }

    /* renumbering in place: every third key dropped, the rest moved down;
     * 24000 keys in 32768 slots make long runs for the holes to break */
    {
        uint32_t  n = 24000, keep = 0, *map = malloc(n * sizeof(*map));

        memset(&t, 0, sizeof(t));
        for (i = 0; i < n; i++) {
            *ab_tab_put(&t, ab_key_pair(i, 3), &created) = i;
            map[i] = i % 3 == 1 ? AB_TAB_EMPTY : keep++;
        }
        ab_tab_renumber(&t, map);
        for (i = 0, ok = t.n == keep; i < n; i++) {
            ok &= ab_tab_get(&t, ab_key_pair(i, 3)) == map[i];
        }
        tap_ok(ok, "renumbered table: kept keys have their new value, "
               "dropped ones are gone");
        slot = ab_tab_put(&t, ab_key_pair(1, 3), &created);
        tap_ok(slot != NULL && created && t.n == keep + 1,
               "... and a dropped key is new again");
        ab_tab_free(&t);
        free(map);
    }

    ab_intern_init(&in, 1000);
    for (i = 0, ok = 1; i < 1000; i++) {
        snprintf(name, sizeof(name), "n%u", i);
        ok &= ab_intern(&in, name, strlen(name)) == (int) i;
    }
    tap_ok(ok, "ids in first-seen order");
    tap_ok(ab_intern(&in, "n5", 2) == 5, "known names keep their id");
    tap_ok(ab_intern(&in, "new", 3) == -1, "the limit is enforced");
    tap_ok(ab_intern_find(&in, "n999", 4) == 999, "find");
    ab_intern_free(&in);
}


int
main(void)
{
    test_json();
    test_json_shape();
    test_micro();
    test_tab();

    return tap_done();
}
