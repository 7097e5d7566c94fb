/*
 * Sticky assignments (`sticky on;`) and ids for logged-in visitors
 * (`ab_uid_from`): the keyed hashes and the sticky cookie's format, with
 * no nginx headers, so that the unit tests and fuzzers check exactly
 * what the module runs.
 *
 * The sticky cookie holds, for each sticky experiment a visitor was
 * enrolled in, the experiment's tag and the index of the variant it got
 * first. Its value is the unpadded base64url of
 *
 *     byte 0        format (AB_STICKY_FORMAT)
 *     5 bytes each  tag (4 bytes, little-endian), variant index (1 byte)
 *     8 bytes       SipHash-2-4 under the ab_sticky_secret key of the
 *                   visitor id, a 0 byte, and every byte before these 8
 *
 * The MAC covers the visitor id, so an entry cannot be replayed by
 * another visitor; the tag is the experiment's name and `version`, so it
 * cannot be replayed into another experiment, and a version bump turns
 * every stored entry into one that no longer matches. SipHash-2-4
 * (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) is a
 * pseudorandom function made for short inputs, so its 64-bit output is
 * a MAC: a client that does not know the key forges one with
 * probability 2^-64 a try.
 */

#ifndef AB_STICKY_H
#define AB_STICKY_H

#include <stddef.h>
#include <stdint.h>

#define AB_STICKY_FORMAT     1
#define AB_STICKY_KEY_LEN    16         /* bytes of the secret */
#define AB_STICKY_MAX        16         /* entries a cookie may hold */
#define AB_STICKY_ENTRY_LEN  5
#define AB_STICKY_MAC_LEN    8
#define AB_STICKY_RAW_MAX    (1 + AB_STICKY_MAX * AB_STICKY_ENTRY_LEN \
                              + AB_STICKY_MAC_LEN)
/* base64url without padding of AB_STICKY_RAW_MAX bytes */
#define AB_STICKY_VALUE_MAX  ((AB_STICKY_RAW_MAX * 4 + 2) / 3)

typedef struct {
    uint32_t  tag;
    uint8_t   variant;
} ab_sticky_entry_t;

typedef struct {
    size_t             n;
    ab_sticky_entry_t  e[AB_STICKY_MAX];
} ab_sticky_t;

typedef enum {
    AB_STICKY_OK = 0,
    AB_STICKY_MALFORMED,        /* not base64url, no entry whole, unknown
                                   format */
    AB_STICKY_OVERSIZED,        /* more than AB_STICKY_MAX entries */
    AB_STICKY_FORGED            /* the MAC does not match */
} ab_sticky_status_t;

/*
 * The key of an `ab_sticky_secret` or `ab_uid_from key=` file: exactly
 * 2 * AB_STICKY_KEY_LEN hex digits (as `openssl rand -hex 16` prints
 * them), then optional whitespace. Anything else is rejected rather than
 * hashed into a key, so a truncated or wrong file fails `nginx -t`
 * instead of silently weakening the MAC. Returns 0, or -1.
 */
int ab_key_parse(const char *text, size_t len, uint8_t key[AB_STICKY_KEY_LEN]);

/*
 * A key of its own for one purpose, derived from key: so that one
 * secret (ab_sticky_secret) serves the sticky cookie's MAC and, when
 * `ab_uid_from` names no key file, the ids of logged-in users, and no
 * output of one use is an output of the other. purpose is a short text
 * such as "ab:uid_from".
 */
void ab_key_derive(const uint8_t key[AB_STICKY_KEY_LEN], const char *purpose,
    uint8_t out[AB_STICKY_KEY_LEN]);

/* SipHash-2-4 of msg under a 16-byte key, the paper's convention (the
 * key's two halves and the result little-endian). */
uint64_t ab_siphash24(const uint8_t key[AB_STICKY_KEY_LEN], const void *msg,
    size_t len);

/* The tag of experiment name at `version` (the `version N;` directive,
 * 0 by default). */
uint32_t ab_sticky_tag(const char *name, size_t len, uint32_t version);

/* The entries of a cookie value, checked against the visitor id; *out
 * is empty unless AB_STICKY_OK. */
ab_sticky_status_t ab_sticky_parse(const uint8_t key[AB_STICKY_KEY_LEN],
    const char *uid, size_t uid_len, const char *value, size_t len,
    ab_sticky_t *out);

/* The variant stored for tag, or -1. */
int ab_sticky_variant(const ab_sticky_t *s, uint32_t tag);

/* Stores variant for tag: 1 when s changed, 0 when it held that already,
 * -1 when it is full. */
int ab_sticky_put(ab_sticky_t *s, uint32_t tag, unsigned variant);

/* Writes the cookie value of s for the visitor id into out (room for
 * AB_STICKY_VALUE_MAX bytes, not terminated); returns its length, 0 for
 * an id longer than AB_UID_MAX_LEN. */
size_t ab_sticky_format(const uint8_t key[AB_STICKY_KEY_LEN], const char *uid,
    size_t uid_len, const ab_sticky_t *s, char *out);

/*
 * The keys of the ids of logged-in users (`ab_uid_from`): the key, and a
 * second one derived from it, made once when the configuration is read.
 */
typedef struct {
    uint8_t  k[2][AB_STICKY_KEY_LEN];
} ab_uid_key_t;

void ab_uid_key(const uint8_t key[AB_STICKY_KEY_LEN], ab_uid_key_t *out);

/*
 * The visitor id of a logged-in user: AB_UID_MINTED_LEN lowercase hex
 * digits of SipHash-2-4 of the user id under both keys, so that the log
 * never holds the user id and nobody without the key can link the two.
 * Writes into out.
 */
void ab_uid_of_user(const ab_uid_key_t *key, const char *user, size_t len,
    char *out);

#endif /* AB_STICKY_H */
