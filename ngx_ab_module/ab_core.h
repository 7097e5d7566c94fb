/*
 * Pure-C core of the A/B module: bucket hashing, assignment, weights,
 * percent parsing and visitor-id validation.
 *
 * No nginx headers here: the same code is linked into the nginx module,
 * the C unit tests, the fuzzers and abstat, so a visitor's variant can be
 * reproduced anywhere from (salt, uid, traffic, weights).
 */

#ifndef AB_CORE_H
#define AB_CORE_H

#include <stddef.h>
#include <stdint.h>

/* Buckets are in [0, AB_BUCKETS): one bucket is 0.01% of visitors. */
#define AB_BUCKETS          10000

#define AB_UID_MIN_LEN      16
#define AB_UID_MAX_LEN      64
#define AB_UID_MINTED_LEN   32          /* 128 random bits as hex */

#define AB_NAME_MAX_LEN     64          /* variant and layer names */

/* Experiment names become variables $ab_<name>; 40 keeps those within
 * nginx's default variables_hash_bucket_size of 64. */
#define AB_EXPERIMENT_NAME_MAX_LEN  40
#define AB_SALT_MAX_LEN     256
#define AB_MAX_VARIANTS     100

/* Relative (integer) weights are capped so prefix sums fit comfortably. */
#define AB_WEIGHT_MAX       1000000

typedef enum {
    AB_WEIGHT_PERCENT = 1,              /* "50%": value in 0.01% units */
    AB_WEIGHT_RELATIVE                  /* "3": a plain integer */
} ab_weight_kind_t;

/* bucket(s) = (XXH3_64bits(s) * 10000) >> 64, a number in [0, 10000). */
uint32_t ab_bucket(const void *data, size_t len);

/* bucket(a b c): the three parts hashed as one concatenated string. */
uint32_t ab_bucket3(const char *a, size_t alen, const char *b, size_t blen,
    const char *c, size_t clen);

/* bucket(salt ":traffic:" uid) and bucket(salt ":variant:" uid). */
uint32_t ab_traffic_bucket(const char *salt, size_t salt_len,
    const char *uid, size_t uid_len);
uint32_t ab_variant_bucket(const char *salt, size_t salt_len,
    const char *uid, size_t uid_len);

/*
 * Turns n weights into bucket boundaries: cum[k] = floor(10000 * (w[0] +
 * ... + w[k]) / W) for k < n - 1 and cum[n - 1] = 10000.  Returns 0, or -1
 * when the total W is zero.
 */
int ab_weights_to_bounds(const uint32_t *weights, size_t n, uint32_t *cum);

/* The first k with bucket < cum[k]. */
size_t ab_pick_variant(uint32_t bucket, const uint32_t *cum, size_t n);

/*
 * The whole assignment. Returns the variant index, or -1 when the visitor
 * is outside `traffic` (in 0.01% units, 10000 = 100%).
 */
int ab_assign(const char *salt, size_t salt_len, uint32_t traffic,
    const uint32_t *cum, size_t n, const char *uid, size_t uid_len);

/*
 * ab_assign() for a uid that already sits in a buffer with room in front
 * of it: the salt and the tags are written there and hashed with the uid,
 * so that a visitor assigned to several experiments has the id copied
 * once rather than once per hash. `uid` needs salt_len + AB_TAG_ROOM
 * writable bytes before it. *bucket (when not NULL) is the bucket that
 * decided: the traffic bucket for -1, else the variant bucket.
 */
#define AB_TAG_ROOM  9
int ab_assign_before(const char *salt, size_t salt_len, uint32_t traffic,
    const uint32_t *cum, size_t n, char *uid, size_t uid_len,
    uint32_t *bucket);

/*
 * A decimal -?[0-9]{1,max_int}(.[0-9]{1,frac})? (the sign only with
 * allow_neg) as a whole number of 10^-frac units: "1.5" with frac 2 is
 * 150. max_int + frac is at most 18. Returns 0, or -1 for anything else.
 * The one reader of decimals: percents, event values, abstat's times
 * and amounts.
 */
int ab_parse_decimal(const char *s, size_t len, size_t max_int, size_t frac,
    int allow_neg, int64_t *out);

/*
 * Parses "50%", "33.33%", "0.01%", "100%" into 0.01% units (0..10000).
 * Returns the value, or -1 for bad syntax, more than two fractional digits
 * or more than 100%.
 */
int32_t ab_parse_percent(const char *s, size_t len);

/*
 * Parses a variant weight: a percent as above, or a relative integer
 * 0..AB_WEIGHT_MAX. Returns the value and sets *kind, or -1.
 */
int64_t ab_parse_weight(const char *s, size_t len, ab_weight_kind_t *kind);

/* Experiment names: [A-Za-z0-9_]{1,40} (they become nginx variable names). */
int ab_valid_experiment_name(const char *s, size_t len);

/* Variant names: [A-Za-z0-9_.-]{1,64} (no ':' or ',' of the log syntax). */
int ab_valid_variant_name(const char *s, size_t len);

/* Visitor ids: [A-Za-z0-9_-]{16,64}. */
int ab_valid_uid(const char *s, size_t len);

/* Cookie names: an RFC 6265 token of at most AB_COOKIE_NAME_MAX_LEN bytes. */
#define AB_COOKIE_NAME_MAX_LEN  64
int ab_valid_cookie_name(const char *s, size_t len);

/*
 * Iterates over the values of cookie `name` in one Cookie header value
 * ("a=1; b=2"). Start with *pos = 0; each call returns 1 and points val
 * and val_len at the next occurrence, or returns 0 when there is none.
 * Surrounding double quotes of a value are removed. Never reads past len.
 */
int ab_cookie_next(const char *hdr, size_t len, size_t *pos,
    const char *name, size_t name_len, const char **val, size_t *val_len);

/* The first value of cookie `name` (a valid cookie name) in hdr that is a
 * valid visitor id: ab_cookie_next() and ab_valid_uid() in one call. */
int ab_cookie_uid(const char *hdr, size_t len, const char *name,
    size_t name_len, const char **val, size_t *val_len);

/*
 * First exposures. The marker cookie, NAME_x next to the id cookie NAME,
 * lists the tags (ab_salt_tag()) of the experiments the visitor was
 * exposed to, "a1b2c3.0f9e8d", the AB_MARKER_TAGS most recent at most.
 */
#define AB_MARKER_SUFFIX  "_x"
#define AB_MARKER_TAGS    16
#define AB_MARKER_STEP    (AB_TAG_LEN + 1)   /* a tag and its '.' */

int ab_valid_marker(const char *s, size_t len);

/*
 * Sticky assignments. The sticky cookie, NAME_s next to the id cookie
 * NAME, holds the stored variants (ab_sticky.h); only a MAC under the
 * visitor's id can tell whether a value is valid, so the scan takes the
 * first one as it is.
 */
#define AB_STICKY_SUFFIX  "_s"

/* What ab_cookie_scan() found; NULL: nothing valid yet. */
typedef struct {
    const char  *uid;
    size_t       uid_len;
    const char  *marker;
    size_t       marker_len;
    const char  *sticky;
    size_t       sticky_len;
} ab_cookies_t;

/* What ab_cookie_scan() looks for besides the id. */
#define AB_SCAN_MARKER  0x01
#define AB_SCAN_STICKY  0x02

/*
 * The id, the marker and the sticky cookie in one pass over a Cookie
 * header value, as every request needs: the first value of cookie `name`
 * that is a valid id; with AB_SCAN_MARKER in `want`, the first value of
 * NAME AB_MARKER_SUFFIX that is a valid marker; with AB_SCAN_STICKY, the
 * first value of NAME AB_STICKY_SUFFIX. A field already set (by an
 * earlier Cookie header) is kept. Returns 1 once everything asked for is
 * found.
 */
int ab_cookie_scan(const char *hdr, size_t len, const char *name,
    size_t name_len, int want, ab_cookies_t *found);

/*
 * Parses a layer range "FROM-TO%" (also "FROM%-TO%"), both percents in
 * 0.01% steps with FROM < TO <= 100%. Returns 0 and sets *from, *to in
 * 0.01% units, or -1.
 */
int ab_parse_range(const char *s, size_t len, int32_t *from, int32_t *to);

/* bucket(name ":layer:" uid) and bucket("ab:holdout:" uid). */
uint32_t ab_layer_bucket(const char *layer, size_t layer_len,
    const char *uid, size_t uid_len);
uint32_t ab_holdout_bucket(const char *uid, size_t uid_len);

/* The holdout hashes "ab" ":holdout:" uid: a fixed salt, as it spans
 * every experiment, and a tag of its own (docs/assignment.md). */
#define AB_HOLDOUT_SALT  "ab"
#define AB_HOLDOUT_TAG   ":holdout:"

/* The same, on a uid with room before it (see ab_assign_before()):
 * layer_len + AB_TAG_ROOM bytes for a layer, AB_HOLDOUT_ROOM for the
 * holdout. */
#define AB_HOLDOUT_ROOM  (sizeof(AB_HOLDOUT_SALT AB_HOLDOUT_TAG) - 1)
uint32_t ab_layer_bucket_before(const char *layer, size_t layer_len,
    char *uid, size_t uid_len);
uint32_t ab_holdout_bucket_before(char *uid, size_t uid_len);

/* Removes spaces and tabs around [*s, *s + *len). */
void ab_trim(const char **s, size_t *len);

/*
 * Iterates over a QA force list "exp:variant[,exp:variant]...". Start with
 * *pos = 0. Returns 1 with the two names set (both of valid syntax), -1 for
 * a malformed item (exp and exp_len then cover the item), 0 at the end.
 */
int ab_force_next(const char *s, size_t len, size_t *pos,
    const char **exp, size_t *exp_len, const char **var, size_t *var_len);

/*
 * A short tag of an experiment's salt (24 bits of XXH3 as 6 hex digits):
 * the marker cookie lists the tags of experiments a visitor was exposed
 * to, so that the live counters count each visitor's first exposure once.
 */
#define AB_TAG_LEN  6
void ab_salt_tag(const char *salt, size_t len, char out[AB_TAG_LEN]);

/*
 * Copies s into out, replacing every byte that is not part of a valid
 * UTF-8 sequence (overlongs, surrogates and code points past U+10FFFF are
 * invalid) with U+FFFD, so that a JSON log line stays valid UTF-8 whatever
 * a client sends. out needs 3 * len bytes; returns the bytes written.
 * ab_utf8_sanitized_len() returns how many bytes ab_utf8_sanitize() writes
 * (len itself when s is valid).
 */
size_t ab_utf8_sanitize(const unsigned char *s, size_t len,
    unsigned char *out);
size_t ab_utf8_sanitized_len(const unsigned char *s, size_t len);

/* Writes 2 * n lowercase hex digits of bytes into out (no terminator). */
void ab_hex(char *out, const unsigned char *bytes, size_t n);

/* The value of hex digit c (either case), or -1. */
int ab_hex_digit(char c);

#endif /* AB_CORE_H */
