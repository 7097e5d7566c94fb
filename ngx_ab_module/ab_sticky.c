/*
 * See ab_sticky.h. SipHash-2-4 is written from the paper's description;
 * t/unit/test_sticky.c checks it against the paper's test vectors.
 */

#include "ab_sticky.h"

#include <string.h>

/* XXH3_state_t as a complete type, for the stack. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "ab_core.h"

#define ROTL(x, b)  (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))

/* The tag's own domain, so that no other hash of the module equals it. */
#define TAG_PREFIX      "ab:sticky:"
#define TAG_PREFIX_LEN  (sizeof(TAG_PREFIX) - 1)


static uint64_t
le64(const uint8_t *p)
{
    uint64_t  v = 0;
    int       i;

    for (i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }

    return v;
}


static void
sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
}


static void
sip_compress(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}


uint64_t
ab_siphash24(const uint8_t key[AB_STICKY_KEY_LEN], const void *msg,
    size_t len)
{
    const uint8_t  *p = msg;
    uint64_t        k0 = le64(key), k1 = le64(key + 8), v[4], last;
    size_t          i, tail = len & 7;

    v[0] = k0 ^ 0x736f6d6570736575ULL;     /* "somepseudorandomlygeneratedbytes" */
    v[1] = k1 ^ 0x646f72616e646f6dULL;
    v[2] = k0 ^ 0x6c7967656e657261ULL;
    v[3] = k1 ^ 0x7465646279746573ULL;

    for (i = 0; i + 8 <= len; i += 8) {
        sip_compress(v, le64(p + i));
    }

    /* the last word: the remaining bytes, the length's low byte on top */
    last = (uint64_t) (len & 0xff) << 56;
    while (tail > 0) {
        tail--;
        last |= (uint64_t) p[i + tail] << (8 * tail);
    }
    sip_compress(v, last);

    v[2] ^= 0xff;
    sip_round(v);
    sip_round(v);
    sip_round(v);
    sip_round(v);

    return v[0] ^ v[1] ^ v[2] ^ v[3];
}


int
ab_key_parse(const char *text, size_t len, uint8_t key[AB_STICKY_KEY_LEN])
{
    size_t  i;
    int     hi, lo;

    if (len < 2 * AB_STICKY_KEY_LEN) {
        return -1;
    }
    for (i = 2 * AB_STICKY_KEY_LEN; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n'
            && text[i] != '\r')
        {
            return -1;
        }
    }
    for (i = 0; i < AB_STICKY_KEY_LEN; i++) {
        hi = ab_hex_digit(text[2 * i]);
        lo = ab_hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        key[i] = (uint8_t) (hi << 4 | lo);
    }

    return 0;
}


/* out: SipHash-2-4 under key of msg (n bytes) and '0', then of msg and
 * '1', each 8 bytes little-endian; msg has room for one more byte. */
static void
key_halves(const uint8_t key[AB_STICKY_KEY_LEN], uint8_t *msg, size_t n,
    uint8_t out[AB_STICKY_KEY_LEN])
{
    uint64_t  h;
    int       half, b;

    for (half = 0; half < 2; half++) {
        msg[n] = (uint8_t) ('0' + half);
        h = ab_siphash24(key, msg, n + 1);
        for (b = 0; b < 8; b++) {
            out[8 * half + b] = (uint8_t) (h >> (8 * b));
        }
    }
}


void
ab_key_derive(const uint8_t key[AB_STICKY_KEY_LEN], const char *purpose,
    uint8_t out[AB_STICKY_KEY_LEN])
{
    /* "ab:key:PURPOSE:0" and ":1", one per half: under key, every other
     * message is a sticky MAC's, which starts with a visitor id, and ':'
     * is never in one (ab_valid_uid), so no output is shared */
    uint8_t  msg[64];
    size_t   n, plen = strlen(purpose);

    if (plen > sizeof(msg) - 9) {
        plen = sizeof(msg) - 9;
    }
    memcpy(msg, "ab:key:", 7);
    memcpy(msg + 7, purpose, plen);
    n = 7 + plen;
    msg[n++] = ':';

    key_halves(key, msg, n, out);
}


uint32_t
ab_sticky_tag(const char *name, size_t len, uint32_t version)
{
    XXH3_state_t  st;
    uint8_t       ver[4];
    int           i;

    for (i = 0; i < 4; i++) {
        ver[i] = (uint8_t) (version >> (8 * i));
    }

    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, TAG_PREFIX, TAG_PREFIX_LEN);
    XXH3_64bits_update(&st, name, len);
    XXH3_64bits_update(&st, ver, sizeof(ver));

    return (uint32_t) XXH3_64bits_digest(&st);
}


/* The MAC of raw[0..len) for the visitor id; -1 for an id longer than
 * any valid one. */
static int
mac(const uint8_t key[AB_STICKY_KEY_LEN], const char *uid, size_t uid_len,
    const uint8_t *raw, size_t len, uint64_t *out)
{
    uint8_t  buf[AB_UID_MAX_LEN + 1 + AB_STICKY_RAW_MAX];

    if (uid_len > AB_UID_MAX_LEN || len > AB_STICKY_RAW_MAX) {
        return -1;
    }

    memcpy(buf, uid, uid_len);
    buf[uid_len] = 0;
    memcpy(buf + uid_len + 1, raw, len);
    *out = ab_siphash24(key, buf, uid_len + 1 + len);

    return 0;
}


static const char  b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


/* The 6-bit value of a base64url digit, or -1. */
static int
b64_value(unsigned char c)
{
    const char  *p = c ? strchr(b64url, c) : NULL;

    return p ? (int) (p - b64url) : -1;
}


/* Decodes unpadded base64url; the length of raw, or -1 when it is not
 * that (a stray character, an impossible length, or bits left over). */
static long
b64_decode(const char *s, size_t len, uint8_t *raw, size_t cap)
{
    size_t    i, n = 0;
    uint32_t  acc = 0;
    int       bits = 0, d;

    if (len % 4 == 1) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if ((d = b64_value((unsigned char) s[i])) < 0) {
            return -1;
        }
        acc = acc << 6 | (uint32_t) d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) {
                return -1;
            }
            raw[n++] = (uint8_t) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    /* a canonical encoding leaves its spare bits at 0 */
    return acc == 0 ? (long) n : -1;
}


static size_t
b64_encode(const uint8_t *raw, size_t len, char *out)
{
    size_t    i, n = 0;
    uint32_t  acc = 0;
    int       bits = 0;

    for (i = 0; i < len; i++) {
        acc = acc << 8 | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[n++] = b64url[(acc << (6 - bits)) & 63];
    }

    return n;
}


ab_sticky_status_t
ab_sticky_parse(const uint8_t key[AB_STICKY_KEY_LEN], const char *uid,
    size_t uid_len, const char *value, size_t len, ab_sticky_t *out)
{
    uint8_t   raw[AB_STICKY_RAW_MAX];
    long      n;
    size_t    body, i;
    uint64_t  want;

    out->n = 0;

    if (len > AB_STICKY_VALUE_MAX) {
        return AB_STICKY_OVERSIZED;
    }
    n = b64_decode(value, len, raw, sizeof(raw));
    if (n < 1 + AB_STICKY_MAC_LEN || raw[0] != AB_STICKY_FORMAT
        || (n - 1 - AB_STICKY_MAC_LEN) % AB_STICKY_ENTRY_LEN != 0)
    {
        return AB_STICKY_MALFORMED;
    }

    body = (size_t) n - AB_STICKY_MAC_LEN;
    if (mac(key, uid, uid_len, raw, body, &want) != 0
        || le64(raw + body) != want)
    {
        return AB_STICKY_FORGED;
    }

    for (i = 1; i < body; i += AB_STICKY_ENTRY_LEN) {
        out->e[out->n].tag = (uint32_t) raw[i] | (uint32_t) raw[i + 1] << 8
                             | (uint32_t) raw[i + 2] << 16
                             | (uint32_t) raw[i + 3] << 24;
        out->e[out->n].variant = raw[i + 4];
        out->n++;
    }

    return AB_STICKY_OK;
}


int
ab_sticky_variant(const ab_sticky_t *s, uint32_t tag)
{
    size_t  i;

    for (i = 0; i < s->n; i++) {
        if (s->e[i].tag == tag) {
            return s->e[i].variant;
        }
    }

    return -1;
}


int
ab_sticky_put(ab_sticky_t *s, uint32_t tag, unsigned variant)
{
    size_t  i;

    for (i = 0; i < s->n; i++) {
        if (s->e[i].tag == tag) {
            if (s->e[i].variant == variant) {
                return 0;
            }
            s->e[i].variant = (uint8_t) variant;
            return 1;
        }
    }
    if (s->n == AB_STICKY_MAX) {
        return -1;
    }

    s->e[s->n].tag = tag;
    s->e[s->n].variant = (uint8_t) variant;
    s->n++;

    return 1;
}


size_t
ab_sticky_format(const uint8_t key[AB_STICKY_KEY_LEN], const char *uid,
    size_t uid_len, const ab_sticky_t *s, char *out)
{
    uint8_t   raw[AB_STICKY_RAW_MAX];
    size_t    n = 0, i;
    uint64_t  m;
    int       b;

    raw[n++] = AB_STICKY_FORMAT;
    for (i = 0; i < s->n && i < AB_STICKY_MAX; i++) {
        for (b = 0; b < 4; b++) {
            raw[n++] = (uint8_t) (s->e[i].tag >> (8 * b));
        }
        raw[n++] = s->e[i].variant;
    }
    if (mac(key, uid, uid_len, raw, n, &m) != 0) {
        return 0;
    }
    for (b = 0; b < AB_STICKY_MAC_LEN; b++) {
        raw[n++] = (uint8_t) (m >> (8 * b));
    }

    return b64_encode(raw, n, out);
}


void
ab_uid_key(const uint8_t key[AB_STICKY_KEY_LEN], ab_uid_key_t *out)
{
    /* the second key derived from the first by the same PRF
     * ("ab:uid:key2:0" and ":1"), so the user id is hashed whole and
     * never copied */
    uint8_t  msg[16] = "ab:uid:key2:";

    memcpy(out->k[0], key, AB_STICKY_KEY_LEN);
    key_halves(key, msg, 12, out->k[1]);
}


void
ab_uid_of_user(const ab_uid_key_t *key, const char *user, size_t len,
    char *out)
{
    static const char  hex[] = "0123456789abcdef";
    uint64_t           h[2];
    size_t             i;

    h[0] = ab_siphash24(key->k[0], user, len);
    h[1] = ab_siphash24(key->k[1], user, len);

    for (i = 0; i < AB_UID_MINTED_LEN; i++) {
        out[i] = hex[(h[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
    }
}
