/*
 * Unit tests of the pure-C core: bucket hashing, weights, percent parsing,
 * id and cookie parsing, and the CSPRNG. The assignment itself is checked
 * against t/data/vectors.tsv, written by an independent implementation
 * (scripts/gen-vectors, Python).
 */

#include "ab_core.h"
#include "ab_rand.h"
#include "tap.h"

#include <stdint.h>
#include <xxhash.h>


static void
test_bucket(void)
{
    /* XXH3_64bits("") is 0x2D06800538D394C2 (xxHash's own test vector),
     * and (h * 10000) >> 64 of it is floor(0x2D06... / 2^64 * 10000). */
    tap_ok(XXH3_64bits("", 0) == 0x2D06800538D394C2ULL,
           "XXH3_64bits of the empty string");
    tap_ok(ab_bucket("", 0) == 1758, "bucket of the empty string is 1758");

    tap_ok(ab_bucket3("s", 1, ":traffic:", 9, "uid", 3)
           == ab_bucket("s:traffic:uid", 13),
           "bucket3 hashes the concatenation");

    /* Past the stack buffer the streaming path must give the same hash. */
    {
        static char  big[2000];

        memset(big, 'x', sizeof(big));
        tap_ok(ab_bucket3(big, 1000, big + 1000, 500, big + 1500, 500)
               == ab_bucket(big, sizeof(big)),
               "long keys hash like their concatenation");
    }

    {
        /* the module hashes in place, in front of the id in its buffer */
        char         buf[AB_SALT_MAX_LEN + AB_TAG_ROOM + AB_UID_MAX_LEN];
        char        *uid = buf + AB_SALT_MAX_LEN + AB_TAG_ROOM;
        const char  *id = "5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20";
        uint32_t     cum[2] = { 5000, 10000 };

        memcpy(uid, id, 32);

        tap_ok(ab_layer_bucket_before("layer1", 6, uid, 32)
               == ab_layer_bucket("layer1", 6, id, 32)
               && ab_holdout_bucket_before(uid, 32)
                  == ab_holdout_bucket(id, 32)
               && ab_assign_before("salt", 4, 5000, cum, 2, uid, 32, NULL)
                  == ab_assign("salt", 4, 5000, cum, 2, id, 32),
               "buckets in place equal the plain ones");
        tap_ok(memcmp(uid, id, 32) == 0, "the id itself is left alone");
    }
}


static void
test_percent(void)
{
    struct { const char *s; int32_t want; } cases[] = {
        { "100%", 10000 }, { "0%", 0 }, { "50%", 5000 }, { "0.01%", 1 },
        { "33.33%", 3333 }, { "12.5%", 1250 }, { "007%", 700 },
        { "100.01%", -1 }, { "101%", -1 }, { "1000%", -1 }, { "50", -1 },
        { "%", -1 }, { ".5%", -1 }, { "5.%", -1 }, { "1.234%", -1 },
        { "-1%", -1 }, { "5x%", -1 }, { "5 %", -1 }, { "", -1 },
    };
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int32_t  got = ab_parse_percent(cases[i].s, strlen(cases[i].s));

        if (!tap_ok(got == cases[i].want, "percent \"%s\" -> %d", cases[i].s,
                    cases[i].want))
        {
            tap_diag("got %d", got);
        }
    }
}


static void
test_weights(void)
{
    ab_weight_kind_t  kind;
    uint32_t          w[3], cum[3];

    tap_ok(ab_parse_weight("3", 1, &kind) == 3 && kind == AB_WEIGHT_RELATIVE,
           "relative weight");
    tap_ok(ab_parse_weight("25%", 3, &kind) == 2500
           && kind == AB_WEIGHT_PERCENT, "percent weight");
    tap_ok(ab_parse_weight("1000001", 7, &kind) == -1, "weight over the cap");
    tap_ok(ab_parse_weight("-1", 2, &kind) == -1, "negative weight");
    tap_ok(ab_parse_weight("", 0, &kind) == -1, "empty weight");

    w[0] = 1; w[1] = 1; w[2] = 1;
    ab_weights_to_bounds(w, 3, cum);
    tap_ok(cum[0] == 3333 && cum[1] == 6666 && cum[2] == 10000,
           "1:1:1 -> 3333, 6666, 10000");

    w[0] = 2000; w[1] = 3000; w[2] = 5000;
    ab_weights_to_bounds(w, 3, cum);
    tap_ok(cum[0] == 2000 && cum[1] == 5000 && cum[2] == 10000,
           "20/30/50 -> 2000, 5000, 10000");

    w[0] = 0; w[1] = 0;
    tap_ok(ab_weights_to_bounds(w, 2, cum) == -1, "zero total is refused");

    w[0] = 0; w[1] = 1;
    ab_weights_to_bounds(w, 2, cum);
    tap_ok(ab_pick_variant(0, cum, 2) == 1 && ab_pick_variant(9999, cum, 2) == 1,
           "a zero-weight variant is never picked");

    cum[0] = 5000; cum[1] = 10000;
    tap_ok(ab_pick_variant(4999, cum, 2) == 0
           && ab_pick_variant(5000, cum, 2) == 1, "boundary is exclusive");
}


static void
test_names(void)
{
    tap_ok(ab_valid_uid("0123456789abcdef", 16), "16-char id is valid");
    tap_ok(!ab_valid_uid("0123456789abcde", 15), "15-char id is not");
    {
        char  id[66];

        memset(id, 'a', sizeof(id));
        id[0] = '-';
        id[1] = '_';
        id[2] = 'Z';
        tap_ok(ab_valid_uid(id, 64), "64-char id with - and _");
        tap_ok(!ab_valid_uid(id, 65), "65-char id is not");
    }
    tap_ok(!ab_valid_uid("0123456789abcdef\0", 17), "NUL byte is not valid");
    tap_ok(!ab_valid_uid("0123456789abcde\"", 16), "quote is not valid");
    tap_ok(!ab_valid_uid("0123456789abcd\xc3\xa9", 16), "UTF-8 is not valid");
    {
        /* every byte at every place of ids of every length: the check
         * goes sixteen bytes at a time, then one by one */
        char    id[AB_UID_MAX_LEN];
        size_t  len, at, wrong = 0;
        int     c, expect;

        memset(id, '7', sizeof(id));

        for (len = AB_UID_MIN_LEN; len <= AB_UID_MAX_LEN; len++) {
            for (at = 0; at < len; at++) {
                for (c = 0; c < 256; c++) {
                    id[at] = (char) c;
                    expect = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
                             || (c >= 'A' && c <= 'Z') || c == '-'
                             || c == '_';
                    wrong += ab_valid_uid(id, len) != expect;
                }
                id[at] = '7';
            }
        }

        tap_ok(wrong == 0, "id check agrees with [A-Za-z0-9_-] for every "
               "byte at every place (%zu wrong)", wrong);
    }

    tap_ok(ab_valid_experiment_name("checkout_cta", 12), "experiment name");
    tap_ok(!ab_valid_experiment_name("checkout-cta", 12),
           "'-' is not allowed in experiment names");
    tap_ok(ab_valid_variant_name("v1.b-x_y", 8), "variant name");
    tap_ok(!ab_valid_variant_name("a:b", 3), "':' not allowed in variants");
    tap_ok(!ab_valid_variant_name("a,b", 3), "',' not allowed in variants");
    tap_ok(ab_valid_cookie_name("abid", 4), "cookie name");
    tap_ok(!ab_valid_cookie_name("a;b", 3), "';' not allowed in cookie name");
    tap_ok(!ab_valid_cookie_name("a=b", 3), "'=' not allowed in cookie name");
}


static int
next_value(const char *hdr, size_t *pos, char *out)
{
    const char  *val;
    size_t       len;

    if (!ab_cookie_next(hdr, strlen(hdr), pos, "abid", 4, &val, &len)) {
        return 0;
    }

    memcpy(out, val, len);
    out[len] = '\0';

    return 1;
}


/* ab_cookie_uid(): its fast path must agree with the general parse. */
static void
check_cookie_uid(const char *hdr, const char *want, const char *what)
{
    const char  *val;
    size_t       len;
    int          found;

    found = ab_cookie_uid(hdr, strlen(hdr), "abid", 4, &val, &len);

    if (want == NULL) {
        tap_ok(!found, "id cookie: %s", what);

    } else {
        tap_ok(found && len == strlen(want) && memcmp(val, want, len) == 0,
               "id cookie: %s", what);
    }
}


static void
test_cookie_uid(void)
{
    const char  *id = "5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20";

    check_cookie_uid("abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20", id, "alone");
    check_cookie_uid("a=1; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20; b=2", id,
                     "between others");
    check_cookie_uid("abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20 ; b=2", id,
                     "white space before ';'");
    check_cookie_uid("abid = \"5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20\"", id,
                     "spaces and quotes");
    check_cookie_uid("abid=short; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20", id,
                     "a bad value, then a good one");
    check_cookie_uid("abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20!", NULL,
                     "a stray byte after the id");
    check_cookie_uid("abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20, x=1", NULL,
                     "',' inside a pair is part of the value");
    check_cookie_uid("xabid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20", NULL,
                     "another cookie's name");
    check_cookie_uid("abid=0123456789abcdef0123456789abcdef0123456789abcdef"
                     "0123456789abcdef", "0123456789abcdef0123456789abcdef"
                     "0123456789abcdef0123456789abcdef", "64 bytes");
    check_cookie_uid("abid=0123456789abcdef0123456789abcdef0123456789abcdef"
                     "0123456789abcdef0", NULL, "65 bytes");
    check_cookie_uid("abid=0123456789abcde", NULL, "15 bytes");
}


/* ab_cookie_scan(): the id, the marker and the sticky cookie of one
 * header in one pass, each only when asked for. */
static void
check_scan(const char *hdr, int want, const char *uid, const char *marker,
    const char *sticky, const char *what)
{
    int           all;
    ab_cookies_t  c = { NULL, 0, NULL, 0, NULL, 0 };

    all = ab_cookie_scan(hdr, strlen(hdr), "abid", 4, want, &c);

    tap_ok(all == (uid != NULL
                   && (marker != NULL || !(want & AB_SCAN_MARKER))
                   && (sticky != NULL || !(want & AB_SCAN_STICKY)))
           && (uid ? c.uid && c.uid_len == strlen(uid)
                     && memcmp(c.uid, uid, c.uid_len) == 0
                   : c.uid == NULL)
           && (marker ? c.marker && c.marker_len == strlen(marker)
                        && memcmp(c.marker, marker, c.marker_len) == 0
                      : c.marker == NULL)
           && (sticky ? c.sticky && c.sticky_len == strlen(sticky)
                        && memcmp(c.sticky, sticky, c.sticky_len) == 0
                      : c.sticky == NULL),
           "id, marker and sticky cookie: %s", what);
}


static void
test_cookie_id_and_marker(void)
{
    const char    *id = "5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20";
    ab_cookies_t   c = { NULL, 0, NULL, 0, NULL, 0 };

    check_scan("abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20; abid_x=a1b2c3.0f9e8d",
               AB_SCAN_MARKER, id, "a1b2c3.0f9e8d", NULL, "both, id first");
    check_scan("abid_x=a1b2c3; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20",
               AB_SCAN_MARKER, id, "a1b2c3", NULL, "both, marker first");
    check_scan("abid_x=a1b2c3; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20", 0, id,
               NULL, NULL, "the marker only when asked for");
    check_scan("abid_x=a1b2c3", AB_SCAN_MARKER, NULL, "a1b2c3", NULL,
               "a marker without an id");
    check_scan("abid_x = \"a1b2c3\"", AB_SCAN_MARKER, NULL, "a1b2c3", NULL,
               "spaces and quotes around the marker");
    check_scan("abid_x=A1B2C3; abid_x=a1b2c3.; abid_x=a1b2c3", AB_SCAN_MARKER,
               NULL, "a1b2c3", NULL,
               "invalid markers skipped: upper case, a trailing '.'");
    check_scan("abid_xy=a1b2c3; abid_=a1b2c3", AB_SCAN_MARKER, NULL, NULL,
               NULL, "other names that start alike");
    check_scan("abid=short; abid_x=a1b2c3; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20",
               AB_SCAN_MARKER, id, "a1b2c3", NULL,
               "a bad id, the marker, a good id");

    /* a second Cookie header fills in what the first lacked */
    tap_ok(!ab_cookie_scan("abid_x=a1b2c3", 13, "abid", 4, AB_SCAN_MARKER,
                           &c)
           && ab_cookie_scan("abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20; "
                             "abid_x=0f9e8d", 52, "abid", 4, AB_SCAN_MARKER,
                             &c)
           && c.marker_len == 6 && memcmp(c.marker, "a1b2c3", 6) == 0
           && c.uid_len == 32,
           "id and marker: the first valid value over two headers");

    check_scan("abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20; abid_s=AQ-_; "
               "abid_x=a1b2c3", AB_SCAN_MARKER|AB_SCAN_STICKY, id, "a1b2c3",
               "AQ-_", "id, marker and sticky cookie in one pass");
    check_scan("abid_s = \"AQ\"; abid_s=BB; "
               "abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20", AB_SCAN_STICKY, id,
               NULL, "AQ", "the first sticky value as it is, without spaces "
               "and quotes");
    check_scan("abid_s=; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20",
               AB_SCAN_STICKY, id, NULL, "", "an empty sticky value is found");
    check_scan("abid_s=AQ; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20",
               AB_SCAN_MARKER, id, NULL, NULL,
               "the sticky cookie only when asked for");
    check_scan("abid_sx=AQ; abid_=AQ; abid=5f1d3c9a0b7e4d2c8a6f1e3b9c7d5a20",
               AB_SCAN_STICKY, id, NULL, NULL, "other sticky-like names");
    check_scan("abid_s=AQ", AB_SCAN_STICKY, NULL, NULL, "AQ",
               "a sticky cookie without an id");

    tap_ok(ab_valid_marker("a1b2c3", 6) && ab_valid_marker("a1b2c3.0f9e8d", 13)
           && !ab_valid_marker("", 0) && !ab_valid_marker("a1b2c", 5)
           && !ab_valid_marker("a1b2c3.", 7) && !ab_valid_marker("a1b2g3", 6)
           && !ab_valid_marker("a1b2c3,0f9e8d", 13),
           "marker syntax: tags of six hex digits joined by '.'");
    tap_ok(ab_valid_marker("000000.000001.000002.000003.000004.000005.000006."
                           "000007.000008.000009.00000a.00000b.00000c.00000d."
                           "00000e.00000f", 16 * 7 - 1)
           && !ab_valid_marker("000000.000001.000002.000003.000004.000005."
                               "000006.000007.000008.000009.00000a.00000b."
                               "00000c.00000d.00000e.00000f.000010",
                               17 * 7 - 1),
           "marker syntax: AB_MARKER_TAGS tags at most");
}


static void
test_cookie_scan(void)
{
    size_t  pos = 0;
    char    v[256];

    tap_ok(next_value("abid=x1", &pos, v) && strcmp(v, "x1") == 0,
           "single cookie");
    tap_ok(!next_value("abid=x1", &pos, v), "then no more");

    pos = 0;
    tap_ok(next_value("a=1; abidx=2;  abid = \"q\" ;abid=3", &pos, v)
           && strcmp(v, "q") == 0, "prefix name skipped, quotes removed");
    tap_ok(next_value("a=1; abidx=2;  abid = \"q\" ;abid=3", &pos, v)
           && strcmp(v, "3") == 0, "second occurrence");

    pos = 0;
    tap_ok(next_value("abid=", &pos, v) && v[0] == '\0', "empty value");

    pos = 0;
    tap_ok(!next_value("abid", &pos, v), "name without '='");

    pos = 0;
    tap_ok(!next_value("xabid=1; ;;; ", &pos, v), "no match in noise");

    pos = 0;
    tap_ok(next_value("abid=\"", &pos, v) && strcmp(v, "\"") == 0,
           "a lone quote is kept (and is an invalid id)");

    test_cookie_uid();
    test_cookie_id_and_marker();
}


static void
test_chacha(void)
{
    /* RFC 8439 section 2.3.2 */
    static const unsigned char  want[16] = {
        0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15,
        0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4
    };
    static const unsigned char  want_end[4] = { 0xa2, 0x50, 0x3c, 0x4e };
    uint32_t                    key[8], nonce[3] = { 0x09000000, 0x4a000000,
                                                     0 };
    unsigned char               out[64];
    int                         i;

    for (i = 0; i < 8; i++) {
        key[i] = (uint32_t) (4 * i) | (uint32_t) (4 * i + 1) << 8
                 | (uint32_t) (4 * i + 2) << 16 | (uint32_t) (4 * i + 3) << 24;
    }

    ab_chacha20_block(key, 1, nonce, out);

    tap_ok(memcmp(out, want, 16) == 0 && memcmp(out + 60, want_end, 4) == 0,
           "ChaCha20 block matches RFC 8439 2.3.2");
}


static void
test_rand(void)
{
    ab_rand_t      a, b;
    unsigned char  x[1000], y[1000], key[32];
    int            ones = 0;
    size_t         i;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(key, 7, sizeof(key));

    ab_rand_seed_key(&a, key);
    ab_rand_seed_key(&b, key);
    ab_rand_bytes(&a, x, 3);
    ab_rand_bytes(&a, x + 3, sizeof(x) - 3);
    ab_rand_bytes(&b, y, sizeof(y));
    tap_ok(memcmp(x, y, sizeof(x)) == 0,
           "same key, same stream whatever the read sizes");

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    tap_ok(ab_rand_bytes(&a, x, sizeof(x)) == 0
           && ab_rand_bytes(&b, y, sizeof(y)) == 0, "kernel seeding works");
    tap_ok(memcmp(x, y, sizeof(x)) != 0, "two seeds give two streams");

    for (i = 0; i < sizeof(x); i++) {
        ones += __builtin_popcount(x[i]);
    }

    /* 8000 fair bits: mean 4000, sd 44.7; 6 sd either way */
    tap_ok(ones > 3732 && ones < 4268, "bit balance (%d ones of 8000)", ones);
}


/* want_len 0: strlen(want) */
static void
check_utf8_n(const char *in, size_t len, const char *want, size_t want_len,
    const char *what)
{
    unsigned char  out[256];
    size_t         n = ab_utf8_sanitize((const unsigned char *) in, len, out);

    if (!tap_ok(n == want_len && memcmp(out, want, n) == 0
                && ab_utf8_sanitized_len((const unsigned char *) in, len) == n,
                "utf8: %s", what))
    {
        tap_diag("got %zu bytes", n);
    }
}

#define check_utf8(in, want, what)                                           \
    check_utf8_n(in, sizeof(in) - 1, want, sizeof(want) - 1, what)


static void
test_utf8(void)
{
    check_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
               "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
               "valid 2, 3 and 4-byte sequences kept");
    check_utf8("a\xff" "b", "a\xef\xbf\xbd" "b", "0xff replaced");
    check_utf8("\xc3", "\xef\xbf\xbd", "truncated sequence");
    check_utf8("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd",
               "overlong '/' (2 bytes)");
    check_utf8("\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
               "overlong '/' (3 bytes)");
    check_utf8("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
               "UTF-16 surrogate");
    check_utf8("\xf4\x90\x80\x80",
               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
               "past U+10FFFF");
    check_utf8("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd",
               "cut 3-byte sequence");
    check_utf8("\x00\x1f\"\\", "\x00\x1f\"\\",
               "ASCII, controls included, is left to escape=json");
}


/* One row of t/data/vectors.tsv, checked against the C core. */
static void
check_vector(char **f, int line)
{
    const char       *uid = f[0], *salt = f[1];
    uint32_t          weights[AB_MAX_VARIANTS], cum[AB_MAX_VARIANTS];
    size_t            n = 0;
    int32_t           traffic;
    char             *w, *save = NULL;
    ab_weight_kind_t  kind;
    int               variant;
    uint32_t          tb, vb;

    traffic = ab_parse_percent(f[2], strlen(f[2]));

    for (w = strtok_r(f[3], ",", &save); w && n < AB_MAX_VARIANTS;
         w = strtok_r(NULL, ",", &save))
    {
        weights[n++] = (uint32_t) ab_parse_weight(w, strlen(w), &kind);
    }

    ab_weights_to_bounds(weights, n, cum);

    tb = ab_traffic_bucket(salt, strlen(salt), uid, strlen(uid));
    vb = ab_variant_bucket(salt, strlen(salt), uid, strlen(uid));
    variant = ab_assign(salt, strlen(salt), (uint32_t) traffic, cum, n, uid,
                        strlen(uid));

    if (!tap_ok(tb == (uint32_t) atoi(f[4]) && vb == (uint32_t) atoi(f[5])
                && (variant >= 0) == atoi(f[6]) && variant == atoi(f[7]),
                "vector line %d (%s, %s)", line, salt, uid))
    {
        tap_diag("got traffic bucket %u, variant bucket %u, variant %d",
                 tb, vb, variant);
    }
}


static void
test_vectors(const char *path)
{
    FILE  *fp = fopen(path, "r");
    char   buf[4096], *f[8], *p, *save;
    int    line = 0, rows = 0, k;

    if (!tap_ok(fp != NULL, "open %s", path)) {
        return;
    }

    while (fgets(buf, sizeof(buf), fp)) {
        line++;
        buf[strcspn(buf, "\r\n")] = '\0';

        if (buf[0] == '#' || buf[0] == '\0') {
            continue;
        }

        save = NULL;
        for (k = 0, p = strtok_r(buf, "\t", &save); p && k < 8;
             p = strtok_r(NULL, "\t", &save))
        {
            f[k++] = p;
        }

        if (!tap_ok(k == 8, "vector line %d has 8 fields", line)) {
            continue;
        }

        check_vector(f, line);
        rows++;
    }

    fclose(fp);
    tap_ok(rows >= 100, "%d vectors checked", rows);
}


int
main(int argc, char **argv)
{
    test_bucket();
    test_percent();
    test_weights();
    test_names();
    test_cookie_scan();
    test_chacha();
    test_rand();
    test_utf8();
    test_vectors(argc > 1 ? argv[1] : "t/data/vectors.tsv");

    return tap_done();
}
