/*
 * Assignment core: see ab_core.h and docs/assignment.md for the contract.
 */

#include "ab_core.h"

#include <string.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#endif

/* XXH3_state_t as a complete type, for the stack. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define AB_TRAFFIC_TAG  ":traffic:"
#define AB_VARIANT_TAG  ":variant:"
#define AB_LAYER_TAG    ":layer:"
/* AB_HOLDOUT_SALT and AB_HOLDOUT_TAG: ab_core.h, for AB_HOLDOUT_ROOM */

/* The longest string bucket() ever hashes: salt, tag, uid. */
#define AB_KEY_MAX  (AB_SALT_MAX_LEN + 16 + AB_UID_MAX_LEN)

_Static_assert(sizeof(AB_TRAFFIC_TAG) - 1 == AB_TAG_ROOM
               && sizeof(AB_VARIANT_TAG) - 1 == AB_TAG_ROOM
               && sizeof(AB_LAYER_TAG) - 1 <= AB_TAG_ROOM,
               "the tags of ab_assign_before() overwrite each other");


/*
 * The exported functions of the hot path are thin wrappers around static
 * ones: inside a shared object, calls between exported functions go
 * through the PLT and are never inlined, and the module calls these on
 * every request.
 */

static uint32_t
ab_hash_bucket(const void *data, size_t len)
{
    /* Multiply-shift maps the hash onto [0, 10000) without modulo bias
     * worth speaking of and is the same on every platform. */
    unsigned __int128 wide = (unsigned __int128) XXH3_64bits(data, len)
                             * AB_BUCKETS;

    return (uint32_t) (wide >> 64);
}


uint32_t
ab_bucket(const void *data, size_t len)
{
    return ab_hash_bucket(data, len);
}


uint32_t
ab_bucket3(const char *a, size_t alen, const char *b, size_t blen,
    const char *c, size_t clen)
{
    char  key[AB_KEY_MAX];

    if (alen + blen + clen > sizeof(key)) {
        /* Only reachable past the validated limits; the streaming API
         * gives the same hash for any length, with its state on the
         * stack so that no request ever allocates here. */
        XXH3_state_t  st;

        XXH3_INITSTATE(&st);
        XXH3_64bits_reset(&st);
        XXH3_64bits_update(&st, a, alen);
        XXH3_64bits_update(&st, b, blen);
        XXH3_64bits_update(&st, c, clen);

        return (uint32_t) (((unsigned __int128) XXH3_64bits_digest(&st)
                            * AB_BUCKETS) >> 64);
    }

    memcpy(key, a, alen);
    memcpy(key + alen, b, blen);
    memcpy(key + alen + blen, c, clen);

    return ab_bucket(key, alen + blen + clen);
}


/* bucket(a tag uid), written in front of the uid in its buffer */
static uint32_t
ab_bucket_before(char *uid, size_t uid_len, const char *a, size_t alen,
    const char *tag, size_t tag_len)
{
    memcpy(uid - tag_len - alen, a, alen);
    memcpy(uid - tag_len, tag, tag_len);

    return ab_hash_bucket(uid - tag_len - alen, alen + tag_len + uid_len);
}


uint32_t
ab_traffic_bucket(const char *salt, size_t salt_len, const char *uid,
    size_t uid_len)
{
    return ab_bucket3(salt, salt_len, AB_TRAFFIC_TAG,
                      sizeof(AB_TRAFFIC_TAG) - 1, uid, uid_len);
}


uint32_t
ab_variant_bucket(const char *salt, size_t salt_len, const char *uid,
    size_t uid_len)
{
    return ab_bucket3(salt, salt_len, AB_VARIANT_TAG,
                      sizeof(AB_VARIANT_TAG) - 1, uid, uid_len);
}


int
ab_weights_to_bounds(const uint32_t *weights, size_t n, uint32_t *cum)
{
    uint64_t  total = 0, prefix = 0;
    size_t    k;

    for (k = 0; k < n; k++) {
        total += weights[k];
    }

    if (n == 0 || total == 0) {
        return -1;
    }

    for (k = 0; k + 1 < n; k++) {
        prefix += weights[k];
        cum[k] = (uint32_t) (prefix * AB_BUCKETS / total);
    }

    cum[n - 1] = AB_BUCKETS;

    return 0;
}


static size_t
ab_pick(uint32_t bucket, const uint32_t *cum, size_t n)
{
    size_t  k;

    for (k = 0; k + 1 < n; k++) {
        if (bucket < cum[k]) {
            return k;
        }
    }

    return n - 1;
}


size_t
ab_pick_variant(uint32_t bucket, const uint32_t *cum, size_t n)
{
    return ab_pick(bucket, cum, n);
}


int
ab_assign(const char *salt, size_t salt_len, uint32_t traffic,
    const uint32_t *cum, size_t n, const char *uid, size_t uid_len)
{
    char  key[AB_KEY_MAX];

    if (salt_len + AB_TAG_ROOM + uid_len <= sizeof(key)) {
        memcpy(key + salt_len + AB_TAG_ROOM, uid, uid_len);

        return ab_assign_before(salt, salt_len, traffic, cum, n,
                                key + salt_len + AB_TAG_ROOM, uid_len, NULL);
    }

    /* past the validated limits: see ab_bucket3() */
    if (traffic < AB_BUCKETS
        && ab_traffic_bucket(salt, salt_len, uid, uid_len) >= traffic)
    {
        return -1;
    }

    return (int) ab_pick_variant(ab_variant_bucket(salt, salt_len, uid,
                                                   uid_len),
                                 cum, n);
}


int
ab_assign_before(const char *salt, size_t salt_len, uint32_t traffic,
    const uint32_t *cum, size_t n, char *uid, size_t uid_len,
    uint32_t *bucket)
{
    char      *key = uid - AB_TAG_ROOM - salt_len;
    size_t     len = salt_len + AB_TAG_ROOM + uid_len;
    uint32_t   b;

    memcpy(key, salt, salt_len);

    /* 100% traffic needs no hash: every bucket is below 10000. */
    if (traffic < AB_BUCKETS) {
        memcpy(uid - AB_TAG_ROOM, AB_TRAFFIC_TAG, AB_TAG_ROOM);
        b = ab_hash_bucket(key, len);

        if (b >= traffic) {
            if (bucket) {
                *bucket = b;
            }

            return -1;
        }
    }

    /* the same salt, only the tag differs */
    memcpy(uid - AB_TAG_ROOM, AB_VARIANT_TAG, AB_TAG_ROOM);
    b = ab_hash_bucket(key, len);

    if (bucket) {
        *bucket = b;
    }

    return (int) ab_pick(b, cum, n);
}


int
ab_parse_decimal(const char *s, size_t len, size_t max_int, size_t frac,
    int allow_neg, int64_t *out)
{
    static const uint64_t   pow10[19] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
        1000000000, 10000000000, 100000000000, 1000000000000,
        10000000000000, 100000000000000, 1000000000000000,
        10000000000000000, 100000000000000000, 1000000000000000000
    };
    const unsigned char    *p = (const unsigned char *) s, *end = p + len;
    const unsigned char    *start;
    uint64_t                v = 0;
    unsigned                d;
    size_t                  nint, nfrac = 0;
    int                     neg = 0;

    if (allow_neg && p < end && *p == '-') {
        neg = 1;
        p++;
    }

    /* the digits, a dot and the fraction's digits at most, so that v
     * cannot overflow below (abstat runs this three times a log line:
     * the integer digits and the fraction's in loops of their own) */
    if ((size_t) (end - p) > max_int + 1 + frac) {
        return -1;
    }

    for (start = p; p < end && (d = (unsigned) *p - '0') <= 9; p++) {
        v = v * 10 + d;
    }
    nint = (size_t) (p - start);

    if (p < end) {
        if (*p != '.') {
            return -1;
        }
        for (start = ++p; p < end && (d = (unsigned) *p - '0') <= 9; p++) {
            v = v * 10 + d;
        }
        nfrac = (size_t) (p - start);
        if (p < end || nfrac == 0 || nfrac > frac) {
            return -1;
        }
    }

    if (nint == 0 || nint > max_int) {
        return -1;
    }

    v *= pow10[frac - nfrac];
    *out = neg ? -(int64_t) v : (int64_t) v;

    return 0;
}


int32_t
ab_parse_percent(const char *s, size_t len)
{
    int64_t  v;

    if (len < 2 || s[len - 1] != '%'
        || ab_parse_decimal(s, len - 1, 3, 2, 0, &v) != 0)
    {
        return -1;
    }

    return v > AB_BUCKETS ? -1 : (int32_t) v;
}


int64_t
ab_parse_weight(const char *s, size_t len, ab_weight_kind_t *kind)
{
    int64_t  v = 0;
    size_t   i;

    if (len > 0 && s[len - 1] == '%') {
        *kind = AB_WEIGHT_PERCENT;
        return ab_parse_percent(s, len);
    }

    if (len == 0 || len > 7) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }

    if (v > AB_WEIGHT_MAX) {
        return -1;
    }

    *kind = AB_WEIGHT_RELATIVE;

    return v;
}


/* Which names a byte other than a letter or digit may appear in: a
 * table, as the exposure pairs of log lines are checked byte by byte. */
#define AB_CH_EXPERIMENT  0x01      /* [A-Za-z0-9_] */
#define AB_CH_VARIANT     0x02      /* [A-Za-z0-9_.-] */
#define AB_CH_TOKEN       0x04      /* RFC 6265 token: visible ASCII but
                                       separators */

static const unsigned char  ab_name_extra[256] = {
    ['_'] = AB_CH_EXPERIMENT | AB_CH_VARIANT | AB_CH_TOKEN,
    ['.'] = AB_CH_VARIANT | AB_CH_TOKEN, ['-'] = AB_CH_VARIANT | AB_CH_TOKEN,
    ['!'] = AB_CH_TOKEN, ['#'] = AB_CH_TOKEN, ['$'] = AB_CH_TOKEN,
    ['%'] = AB_CH_TOKEN, ['&'] = AB_CH_TOKEN, ['\''] = AB_CH_TOKEN,
    ['*'] = AB_CH_TOKEN, ['+'] = AB_CH_TOKEN, ['^'] = AB_CH_TOKEN,
    ['`'] = AB_CH_TOKEN, ['|'] = AB_CH_TOKEN, ['~'] = AB_CH_TOKEN,
};


static int
ab_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}


static int
ab_all_of(const char *s, size_t len, size_t min, size_t max,
    unsigned char cls)
{
    size_t  i;

    if (len < min || len > max) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (!ab_is_alnum(c) && !(ab_name_extra[c] & cls)) {
            return 0;
        }
    }

    return 1;
}


int
ab_valid_experiment_name(const char *s, size_t len)
{
    return ab_all_of(s, len, 1, AB_EXPERIMENT_NAME_MAX_LEN, AB_CH_EXPERIMENT);
}


int
ab_valid_variant_name(const char *s, size_t len)
{
    return ab_all_of(s, len, 1, AB_NAME_MAX_LEN, AB_CH_VARIANT);
}


/* [A-Za-z0-9_-]: checked on every request that carries the cookie, hence
 * a table rather than the generic ab_all_of(). */
static const unsigned char  ab_uid_chars[256] = {
    ['-'] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
};


#if defined(__SSE2__) && defined(__GNUC__)
#define AB_UID_SSE2  1

/*
 * One bit for each of the 16 bytes at p that may be in an id. A range test
 * is one add and one signed compare: the add moves the range to the bottom
 * of the signed bytes and nothing else lands there; bytes from 0x80 up
 * fail every test.
 */
static unsigned
ab_uid_mask16(const char *p)
{
    __m128i  v, az, digit, punct;

    v = _mm_loadu_si128((const __m128i *) p);

    /* the case bit makes 'A'-'Z' 'a'-'z' and nothing else does */
    az = _mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)),
                      _mm_set1_epi8((char) (0x80 - 'a')));
    az = _mm_cmplt_epi8(az, _mm_set1_epi8((char) (0x80 + 26)));

    digit = _mm_add_epi8(v, _mm_set1_epi8((char) (0x80 - '0')));
    digit = _mm_cmplt_epi8(digit, _mm_set1_epi8((char) (0x80 + 10)));

    punct = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')),
                         _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));

    return (unsigned) _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(az, digit),
                                                     punct));
}

#endif


/* How many bytes from s on may be in an id, looking at len bytes at most:
 * ids are 32 characters as a rule, two blocks of sixteen. */
static size_t
ab_uid_run(const char *s, size_t len)
{
    size_t  i = 0;

#if defined(AB_UID_SSE2)
    unsigned  m;

    for ( /* void */ ; i + 16 <= len; i += 16) {
        m = ab_uid_mask16(s + i);

        if (m != 0xffff) {
            return i + (size_t) __builtin_ctz(~m);
        }
    }
#endif

    while (i < len && ab_uid_chars[(unsigned char) s[i]]) {
        i++;
    }

    return i;
}


static int
ab_uid_ok(const char *s, size_t len)
{
    return len >= AB_UID_MIN_LEN && len <= AB_UID_MAX_LEN
           && ab_uid_run(s, len) == len;
}


int
ab_valid_uid(const char *s, size_t len)
{
    return ab_uid_ok(s, len);
}


int
ab_valid_cookie_name(const char *s, size_t len)
{
    /* RFC 6265 token: visible ASCII except separators. */
    return ab_all_of(s, len, 1, AB_COOKIE_NAME_MAX_LEN, AB_CH_TOKEN);
}


static size_t
ab_cookie_skip(const char *hdr, size_t len, size_t pos)
{
    /* separators and white space before a cookie-pair */
    while (pos < len && (hdr[pos] == ' ' || hdr[pos] == '\t'
                         || hdr[pos] == ';' || hdr[pos] == ','))
    {
        pos++;
    }

    return pos;
}


/* The cookie-pair at pos (after ab_cookie_skip()): [pos, *end) without
 * its trailing white space; returns where the pair stops, at its ';'. */
static size_t
ab_cookie_pair(const char *hdr, size_t len, size_t pos, size_t *end)
{
    size_t       i;
    const char  *semi;

    /* memchr: the Cookie header is scanned on every request */
    semi = pos < len ? memchr(hdr + pos, ';', len - pos) : NULL;
    i = semi ? (size_t) (semi - hdr) : len;

    *end = i;

    while (*end > pos && (hdr[*end - 1] == ' ' || hdr[*end - 1] == '\t')) {
        (*end)--;
    }

    return i;
}


/* The value of a pair whose name ends at `at`: white space, '=', white
 * space, then the value up to `end` without surrounding double quotes. */
static int
ab_cookie_value(const char *hdr, size_t at, size_t end, const char **val,
    size_t *val_len)
{
    while (at < end && (hdr[at] == ' ' || hdr[at] == '\t')) {
        at++;
    }

    if (at == end || hdr[at] != '=') {
        return 0;
    }

    at++;

    while (at < end && (hdr[at] == ' ' || hdr[at] == '\t')) {
        at++;
    }

    if (end - at >= 2 && hdr[at] == '"' && hdr[end - 1] == '"') {
        at++;
        end--;
    }

    *val = hdr + at;
    *val_len = end - at;

    return 1;
}


int
ab_cookie_next(const char *hdr, size_t len, size_t *pos, const char *name,
    size_t name_len, const char **val, size_t *val_len)
{
    size_t  start, end;

    for ( ;; ) {
        start = ab_cookie_skip(hdr, len, *pos);

        if (start >= len) {
            *pos = len;
            return 0;
        }

        *pos = ab_cookie_pair(hdr, len, start, &end);

        if (end - start > name_len
            && memcmp(hdr + start, name, name_len) == 0
            && ab_cookie_value(hdr, start + name_len, end, val, val_len))
        {
            return 1;
        }
    }
}


/*
 * The usual shape of the id's pair, name=id up to ';' or the end, in one
 * look: a run of id bytes that stops there is exactly the value the
 * general parse would find, and a valid one. Anything else (spaces,
 * quotes, another cookie, a bad value) takes the general parse, for that
 * pair only. Returns the length of the id, or 0.
 */
static size_t
ab_cookie_uid_fast(const char *hdr, size_t len, size_t pos, const char *name,
    size_t name_len)
{
    size_t  v = pos + name_len + 1, run, k;

    if (v > len || hdr[v - 1] != '=') {
        return 0;
    }

    /* names are short: a loop, not a call to memcmp() */
    for (k = 0; k < name_len; k++) {
        if (hdr[pos + k] != name[k]) {
            return 0;
        }
    }

    /* one byte past the longest id is enough to refuse it */
    run = ab_uid_run(hdr + v, len - v < AB_UID_MAX_LEN + 1
                              ? len - v : AB_UID_MAX_LEN + 1);

    if (run >= AB_UID_MIN_LEN && run <= AB_UID_MAX_LEN
        && (v + run == len || hdr[v + run] == ';'))
    {
        return run;
    }

    return 0;
}


/* Whether the pair's name goes on with `suffix` at `at`. */
static int
ab_cookie_suffix(const char *hdr, size_t at, size_t end, const char *suffix,
    size_t suffix_len)
{
    return end - at >= suffix_len && memcmp(hdr + at, suffix, suffix_len) == 0;
}


int
ab_cookie_scan(const char *hdr, size_t len, const char *name,
    size_t name_len, int want, ab_cookies_t *found)
{
    int          which;
    size_t       pos = 0, start, end, at, vlen;
    const char  *val;

    for ( ;; ) {
        if (found->uid && (found->marker || !(want & AB_SCAN_MARKER))
            && (found->sticky || !(want & AB_SCAN_STICKY)))
        {
            return 1;
        }

        start = ab_cookie_skip(hdr, len, pos);

        if (start >= len) {
            return 0;
        }

        if (found->uid == NULL) {
            vlen = ab_cookie_uid_fast(hdr, len, start, name, name_len);

            if (vlen) {
                found->uid = hdr + start + name_len + 1;
                found->uid_len = vlen;
                pos = start + name_len + 1 + vlen;
                continue;
            }
        }

        pos = ab_cookie_pair(hdr, len, start, &end);

        if (end - start <= name_len
            || memcmp(hdr + start, name, name_len) != 0)
        {
            continue;
        }

        /* NAME, NAME_x or NAME_s: the id's name is a prefix of the others */
        at = start + name_len;
        which = 0;

        if ((want & AB_SCAN_MARKER)
            && ab_cookie_suffix(hdr, at, end, AB_MARKER_SUFFIX,
                                sizeof(AB_MARKER_SUFFIX) - 1))
        {
            which = AB_SCAN_MARKER;
            at += sizeof(AB_MARKER_SUFFIX) - 1;

        } else if ((want & AB_SCAN_STICKY)
                   && ab_cookie_suffix(hdr, at, end, AB_STICKY_SUFFIX,
                                       sizeof(AB_STICKY_SUFFIX) - 1))
        {
            which = AB_SCAN_STICKY;
            at += sizeof(AB_STICKY_SUFFIX) - 1;
        }

        if (!ab_cookie_value(hdr, at, end, &val, &vlen)) {
            continue;
        }

        if (which == AB_SCAN_MARKER) {
            if (found->marker == NULL && ab_valid_marker(val, vlen)) {
                found->marker = val;
                found->marker_len = vlen;
            }

        } else if (which == AB_SCAN_STICKY) {
            if (found->sticky == NULL) {
                found->sticky = val;
                found->sticky_len = vlen;
            }

        } else if (found->uid == NULL && ab_uid_ok(val, vlen)) {
            found->uid = val;
            found->uid_len = vlen;
        }
    }
}


int
ab_cookie_uid(const char *hdr, size_t len, const char *name,
    size_t name_len, const char **val, size_t *val_len)
{
    ab_cookies_t  found = { NULL, 0, NULL, 0, NULL, 0 };

    if (!ab_cookie_scan(hdr, len, name, name_len, 0, &found)) {
        return 0;
    }

    *val = found.uid;
    *val_len = found.uid_len;

    return 1;
}


int
ab_valid_marker(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || (len + 1) % AB_MARKER_STEP != 0
        || (len + 1) / AB_MARKER_STEP > AB_MARKER_TAGS)
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i % AB_MARKER_STEP == AB_TAG_LEN) {
            if (s[i] != '.') {
                return 0;
            }

        } else if (!((s[i] >= '0' && s[i] <= '9')
                     || (s[i] >= 'a' && s[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


void
ab_hex(char *out, const unsigned char *bytes, size_t n)
{
    static const char  digits[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
}


int
ab_hex_digit(char c)
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


int
ab_parse_range(const char *s, size_t len, int32_t *from, int32_t *to)
{
    const char  *dash = memchr(s, '-', len);
    char         buf[16];
    size_t       flen;

    if (dash == NULL) {
        return -1;
    }

    /* FROM may be written with or without its own '%' */
    flen = (size_t) (dash - s);
    if (flen == 0 || flen + 1 > sizeof(buf)) {
        return -1;
    }

    memcpy(buf, s, flen);
    if (buf[flen - 1] != '%') {
        buf[flen++] = '%';
    }

    *from = ab_parse_percent(buf, flen);
    *to = ab_parse_percent(dash + 1, len - (size_t) (dash - s) - 1);

    if (*from < 0 || *to < 0 || *from >= *to) {
        return -1;
    }

    return 0;
}


uint32_t
ab_layer_bucket(const char *layer, size_t layer_len, const char *uid,
    size_t uid_len)
{
    return ab_bucket3(layer, layer_len, AB_LAYER_TAG,
                      sizeof(AB_LAYER_TAG) - 1, uid, uid_len);
}


uint32_t
ab_holdout_bucket(const char *uid, size_t uid_len)
{
    return ab_bucket3(AB_HOLDOUT_SALT, sizeof(AB_HOLDOUT_SALT) - 1,
                      AB_HOLDOUT_TAG, sizeof(AB_HOLDOUT_TAG) - 1, uid,
                      uid_len);
}


uint32_t
ab_layer_bucket_before(const char *layer, size_t layer_len, char *uid,
    size_t uid_len)
{
    return ab_bucket_before(uid, uid_len, layer, layer_len, AB_LAYER_TAG,
                            sizeof(AB_LAYER_TAG) - 1);
}


uint32_t
ab_holdout_bucket_before(char *uid, size_t uid_len)
{
    return ab_bucket_before(uid, uid_len, AB_HOLDOUT_SALT,
                            sizeof(AB_HOLDOUT_SALT) - 1, AB_HOLDOUT_TAG,
                            sizeof(AB_HOLDOUT_TAG) - 1);
}



void
ab_trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }

    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) {
        (*len)--;
    }
}


int
ab_force_next(const char *s, size_t len, size_t *pos, const char **exp,
    size_t *exp_len, const char **var, size_t *var_len)
{
    size_t       i, start, item_len;
    const char  *colon, *item;

    for ( ;; ) {
        if (*pos > len || (*pos == len && len != 0) || len == 0) {
            *pos = len + 1;
            return 0;
        }

        start = *pos;
        for (i = start; i < len && s[i] != ','; i++) { /* void */ }
        *pos = i + 1;

        *exp = s + start;
        *exp_len = i - start;
        ab_trim(exp, exp_len);

        if (*exp_len == 0) {
            continue;                   /* ",," and a trailing comma */
        }

        item = *exp;
        item_len = *exp_len;
        colon = memchr(*exp, ':', *exp_len);
        if (colon == NULL) {
            *var = NULL;
            *var_len = 0;
            return -1;
        }

        *var = colon + 1;
        *var_len = *exp_len - (size_t) (colon - *exp) - 1;
        *exp_len = (size_t) (colon - *exp);
        ab_trim(exp, exp_len);
        ab_trim(var, var_len);

        if (!ab_valid_experiment_name(*exp, *exp_len)
            || !ab_valid_variant_name(*var, *var_len))
        {
            *exp = item;
            *exp_len = item_len;
            return -1;
        }

        return 1;
    }
}


void
ab_salt_tag(const char *salt, size_t len, char out[AB_TAG_LEN])
{
    uint64_t       h = XXH3_64bits(salt, len);
    unsigned char  b[3];

    b[0] = (unsigned char) (h >> 56);
    b[1] = (unsigned char) (h >> 48);
    b[2] = (unsigned char) (h >> 40);

    ab_hex(out, b, 3);
}


/* The length of the valid UTF-8 sequence at s[0] (1 to 4), or 0. */
static size_t
ab_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char  c = s[0];
    size_t         n, i;
    uint32_t       cp;

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }

    /* overlong forms, UTF-16 surrogates, past Unicode */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
        || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    {
        return 0;
    }

    return n;
}


size_t
ab_utf8_sanitized_len(const unsigned char *s, size_t len)
{
    size_t  i = 0, out = 0, n;

    while (i < len) {
        n = ab_utf8_seq(s + i, len - i);
        out += n ? n : 3;
        i += n ? n : 1;
    }

    return out;
}


size_t
ab_utf8_sanitize(const unsigned char *s, size_t len, unsigned char *out)
{
    size_t  i = 0, o = 0, n;

    while (i < len) {
        n = ab_utf8_seq(s + i, len - i);

        if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;

        } else {
            out[o++] = 0xef;            /* U+FFFD REPLACEMENT CHARACTER */
            out[o++] = 0xbf;
            out[o++] = 0xbd;
            i++;
        }
    }

    return o;
}
