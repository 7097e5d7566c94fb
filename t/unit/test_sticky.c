/*
 * The keyed hashes of sticky assignments and ab_uid_from
 * (ngx_ab_module/ab_sticky.c): SipHash-2-4 against the published test
 * vectors of its paper (Aumasson and Bernstein 2012, key 00..0f, message
 * 00..n-1), and the sticky cookie against every forgery issue 16 names:
 * a changed variant, a wrong key, a truncated value, an entry replayed
 * from another experiment or by another visitor, an oversized cookie.
 */

#include "tap.h"

#include "ab_core.h"
#include "ab_sticky.h"

static const uint64_t  vectors[] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
    0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
    0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
    0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
    0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
    0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL,
};

static uint8_t  key[AB_STICKY_KEY_LEN];

static const char  uid[] = "0123456789abcdef0123456789abcdef";
static const char  other_uid[] = "fedcba9876543210fedcba9876543210";


static void
test_siphash_vectors(void)
{
    uint8_t  msg[32];
    size_t   n;
    int      ok = 1;

    for (n = 0; n < sizeof(msg); n++) {
        msg[n] = (uint8_t) n;
    }
    for (n = 0; n < sizeof(vectors) / sizeof(vectors[0]); n++) {
        if (ab_siphash24(key, msg, n) != vectors[n]) {
            ok = 0;
            tap_diag("n = %zu: got %016llx", n,
                     (unsigned long long) ab_siphash24(key, msg, n));
        }
    }
    tap_ok(ok, "SipHash-2-4: the paper's %zu vectors (0 to 17 bytes)",
           sizeof(vectors) / sizeof(vectors[0]));
}


/* A cookie value of two entries for uid. */
static size_t
two_entries(char *out, uint32_t *ta, uint32_t *tb)
{
    ab_sticky_t  s = { 0 };

    *ta = ab_sticky_tag("checkout", 8, 0);
    *tb = ab_sticky_tag("search", 6, 0);
    ab_sticky_put(&s, *ta, 1);
    ab_sticky_put(&s, *tb, 3);

    return ab_sticky_format(key, uid, sizeof(uid) - 1, &s, out);
}


static ab_sticky_status_t
parse(const char *uid_, const char *v, size_t len, ab_sticky_t *s)
{
    return ab_sticky_parse(key, uid_, strlen(uid_), v, len, s);
}


static void
test_round_trip(void)
{
    char          v[AB_STICKY_VALUE_MAX + 1];
    ab_sticky_t   s;
    uint32_t      ta, tb;
    size_t        n = two_entries(v, &ta, &tb), i;
    int           safe = 1;

    for (i = 0; i < n; i++) {
        safe &= (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z')
                || (v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '_';
    }
    tap_ok(n == (1 + 2 * 5 + 8) * 4 / 3 + 1 && safe,
           "two entries: %zu cookie-safe characters", n);
    tap_ok(parse(uid, v, n, &s) == AB_STICKY_OK && s.n == 2
           && ab_sticky_variant(&s, ta) == 1 && ab_sticky_variant(&s, tb) == 3,
           "parsed back: the variants as stored");
    tap_ok(ab_sticky_variant(&s, ab_sticky_tag("checkout", 8, 1)) == -1,
           "version 1 of the experiment finds nothing (a reshuffle)");
    tap_ok(ab_sticky_variant(&s, ab_sticky_tag("other", 5, 0)) == -1,
           "another experiment finds nothing");
}


static void
test_forgeries(void)
{
    char          v[AB_STICKY_VALUE_MAX + 1], w[AB_STICKY_VALUE_MAX + 1];
    ab_sticky_t   s;
    uint32_t      ta, tb;
    size_t        n = two_entries(v, &ta, &tb), i, bad;
    uint8_t       wrong[AB_STICKY_KEY_LEN];

    /* every single-character change of the value: a changed variant,
     * tag or MAC byte, or a non-canonical tail */
    for (i = 0, bad = 0; i < n; i++) {
        memcpy(w, v, n);
        w[i] = w[i] == 'A' ? 'B' : 'A';
        bad += parse(uid, w, n, &s) == AB_STICKY_OK || s.n != 0;
    }
    tap_ok(bad == 0, "each of %zu one-character changes is refused", n);

    for (i = 0, bad = 0; i < n; i++) {
        bad += parse(uid, v, i, &s) == AB_STICKY_OK;
    }
    tap_ok(bad == 0, "every truncation is refused");

    tap_ok(parse(other_uid, v, n, &s) == AB_STICKY_FORGED,
           "replayed by another visitor: forged");

    memcpy(wrong, key, sizeof(key));
    wrong[5] ^= 1;
    tap_ok(ab_sticky_parse(wrong, uid, sizeof(uid) - 1, v, n, &s)
           == AB_STICKY_FORGED, "made with another key: forged");

    tap_ok(parse(uid, "not*base64", 10, &s) == AB_STICKY_MALFORMED
           && parse(uid, "", 0, &s) == AB_STICKY_MALFORMED,
           "not base64url, or empty: malformed");
}


static void
test_sizes(void)
{
    char          v[AB_STICKY_VALUE_MAX + 8];
    ab_sticky_t   s = { 0 }, back;
    size_t        i, n, added = 0;

    for (i = 0; i < AB_STICKY_MAX; i++) {
        added += ab_sticky_put(&s, (uint32_t) i + 1, (unsigned) i) == 1;
    }
    tap_ok(added == AB_STICKY_MAX && s.n == AB_STICKY_MAX,
           "%d experiments stored", AB_STICKY_MAX);
    tap_ok(ab_sticky_put(&s, 999, 0) == -1, "a full cookie takes no more");
    tap_ok(ab_sticky_put(&s, 3, 2) == 0 && ab_sticky_put(&s, 3, 7) == 1,
           "the same variant again: no change; another: changed");

    n = ab_sticky_format(key, uid, sizeof(uid) - 1, &s, v);
    tap_ok(n == AB_STICKY_VALUE_MAX, "%d entries: %zu characters, the most",
           AB_STICKY_MAX, n);
    tap_ok(parse(uid, v, n, &back) == AB_STICKY_OK
           && back.n == AB_STICKY_MAX, "... and read back");

    memset(v, 'A', sizeof(v));
    tap_ok(parse(uid, v, AB_STICKY_VALUE_MAX + 4, &back)
           == AB_STICKY_OVERSIZED && back.n == 0, "longer: oversized");
}


static void
test_uid_of_user(void)
{
    char          a[AB_UID_MINTED_LEN + 1] = "", b[AB_UID_MINTED_LEN + 1] = "";
    char          c[AB_UID_MINTED_LEN + 1] = "";
    uint8_t       wrong[AB_STICKY_KEY_LEN];
    ab_uid_key_t  uk;

    ab_uid_key(key, &uk);
    ab_uid_of_user(&uk, "user-42", 7, a);
    ab_uid_of_user(&uk, "user-42", 7, b);
    tap_ok(memcmp(a, b, AB_UID_MINTED_LEN) == 0,
           "a user's id is the same each time");
    tap_ok(ab_valid_uid(a, AB_UID_MINTED_LEN), "... and a valid visitor id");
    tap_ok(strspn(a, "0123456789abcdef") == AB_UID_MINTED_LEN,
           "... of %d lowercase hex digits", AB_UID_MINTED_LEN);

    ab_uid_of_user(&uk, "user-43", 7, c);
    tap_ok(memcmp(a, c, AB_UID_MINTED_LEN) != 0, "another user: another id");

    memcpy(wrong, key, sizeof(key));
    wrong[0] ^= 0x80;
    ab_uid_key(wrong, &uk);
    ab_uid_of_user(&uk, "user-42", 7, c);
    tap_ok(memcmp(a, c, AB_UID_MINTED_LEN) != 0, "another key: another id");
    tap_ok(memcmp(a, c + 16, 16) != 0 && memcmp(a + 16, c, 16) != 0,
           "... with no half in common");
}


static void
test_key_parse(void)
{
    static const char  hex[] = "000102030405060708090a0b0c0d0e0f";
    uint8_t            k[AB_STICKY_KEY_LEN];
    char               buf[64];

    tap_ok(ab_key_parse(hex, 32, k) == 0 && memcmp(k, key, sizeof(k)) == 0,
           "key file: 32 hex digits are the 16 key bytes");
    tap_ok(ab_key_parse("000102030405060708090A0B0C0D0E0F \n", 34, k) == 0
           && memcmp(k, key, sizeof(k)) == 0,
           "... upper case, trailing whitespace allowed");
    tap_ok(ab_key_parse(hex, 31, k) == -1, "... 31 digits rejected");
    snprintf(buf, sizeof(buf), "%s0", hex);
    tap_ok(ab_key_parse(buf, 33, k) == -1, "... 33 digits rejected");
    snprintf(buf, sizeof(buf), "%s x", hex);
    tap_ok(ab_key_parse(buf, 34, k) == -1, "... trailing text rejected");
    memcpy(buf, hex, 32);
    buf[7] = 'g';
    tap_ok(ab_key_parse(buf, 32, k) == -1, "... a non-hex digit rejected");
    tap_ok(ab_key_parse(" 000102030405060708090a0b0c0d0e0f", 33, k) == -1,
           "... leading whitespace rejected");
}


static void
test_key_derive(void)
{
    uint8_t  a[AB_STICKY_KEY_LEN], b[AB_STICKY_KEY_LEN], c[AB_STICKY_KEY_LEN];
    uint8_t  wrong[AB_STICKY_KEY_LEN];
    uint64_t h;
    int      i;

    ab_key_derive(key, "ab:uid_from", a);
    ab_key_derive(key, "ab:uid_from", b);
    tap_ok(memcmp(a, b, sizeof(a)) == 0, "a derived key is the same each time");
    tap_ok(memcmp(a, key, sizeof(a)) != 0, "... and not the key itself");
    ab_key_derive(key, "ab:other", c);
    tap_ok(memcmp(a, c, sizeof(a)) != 0, "another purpose: another key");
    memcpy(wrong, key, sizeof(key));
    wrong[15] ^= 1;
    ab_key_derive(wrong, "ab:uid_from", c);
    tap_ok(memcmp(a, c, sizeof(a)) != 0, "another secret: another key");

    /* its halves are SipHash-2-4 of "ab:key:ab:uid_from:0" and ":1" */
    h = ab_siphash24(key, "ab:key:ab:uid_from:1", 20);
    for (i = 0; i < 8 && a[8 + i] == (uint8_t) (h >> (8 * i)); i++) {
        /* void */
    }
    tap_ok(i == 8, "... the second half as documented");
}


int
main(void)
{
    size_t  i;

    for (i = 0; i < sizeof(key); i++) {
        key[i] = (uint8_t) i;
    }

    test_siphash_vectors();
    test_round_trip();
    test_forgeries();
    test_sizes();
    test_uid_of_user();
    test_key_parse();
    test_key_derive();

    return tap_done();
}
