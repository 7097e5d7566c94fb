/*
 * Linear probing at a load of at most 3/4; keys are hashes already, but
 * pair keys are not, so every key goes through a 64-bit finalizer.
 */

#include "tab.h"

#include "bigmem.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>


ab_key_t
ab_key_of(const char *s, size_t len)
{
    XXH128_hash_t  h = XXH3_128bits(s, len);
    ab_key_t       k = { h.low64, h.high64 };

    return k;
}


ab_key_t
ab_key_pair(uint64_t a, uint64_t b)
{
    ab_key_t  k = { a, b };

    return k;
}


static size_t
slot_of(ab_key_t k, size_t mask)
{
    uint64_t  x = k.lo ^ (k.hi * 0x9e3779b97f4a7c15ULL);

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;

    return (size_t) x & mask;
}


static int
key_eq(ab_key_t a, ab_key_t b)
{
    return a.lo == b.lo && a.hi == b.hi;
}


/* Rehashes into ncap slots (a power of two above the count). */
static int
grow_to(ab_tab_t *t, size_t ncap)
{
    size_t     i, s;
    ab_key_t  *keys = malloc(ncap * sizeof(*keys));
    uint32_t  *vals = malloc(ncap * sizeof(*vals));

    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return -1;
    }

    ab_huge_pages(keys, ncap * sizeof(*keys));
    ab_huge_pages(vals, ncap * sizeof(*vals));
    memset(vals, 0xff, ncap * sizeof(*vals));

    for (i = 0; i < t->cap; i++) {
        if (t->vals[i] == AB_TAB_EMPTY) {
            continue;
        }
        for (s = slot_of(t->keys[i], ncap - 1); vals[s] != AB_TAB_EMPTY;
             s = (s + 1) & (ncap - 1))
        {
            /* void */
        }
        keys[s] = t->keys[i];
        vals[s] = t->vals[i];
    }

    free(t->keys);
    free(t->vals);
    t->keys = keys;
    t->vals = vals;
    t->cap = ncap;

    return 0;
}


int
ab_tab_reserve(ab_tab_t *t, size_t n)
{
    size_t  ncap = t->cap ? t->cap : 1024;

    while ((n + 1) * 4 > ncap * 3) {
        ncap *= 2;
    }

    return ncap == t->cap ? 0 : grow_to(t, ncap);
}


/* Slots are put in order of their top bits, so a bucket spans at most
 * a few kilobytes of the table: close enough to sequential. */
#define LOAD_BUCKET_BITS  16

/* The i-th key of an array that need not be aligned (a file's map). */
static ab_key_t
key_at(const void *keys, size_t i)
{
    ab_key_t  k;

    memcpy(&k, (const char *) keys + i * sizeof(k), sizeof(k));

    return k;
}


int
ab_tab_load(ab_tab_t *t, const void *keys, size_t n)
{
    size_t     nb, i, s, shift = 0, sum, c, mask;
    uint32_t  *order, *count;
    ab_key_t  *sorted;
    int        rc = 0;

    if (ab_tab_reserve(t, n) != 0) {
        return -1;
    }
    mask = t->cap - 1;
    while ((t->cap >> shift) > ((size_t) 1 << LOAD_BUCKET_BITS)) {
        shift++;
    }
    nb = t->cap >> shift;

    order = malloc((n + 1) * sizeof(*order));
    sorted = malloc((n + 1) * sizeof(*sorted));
    count = calloc(nb + 1, sizeof(*count));
    if (order == NULL || sorted == NULL || count == NULL) {
        rc = -1;
        goto done;
    }

    /* a counting sort of the keys and their indices by bucket:
     * count[b + 1] counts bucket b, then count[b] is where bucket b
     * starts; the keys are moved with their indices so that the last
     * pass reads them in order too */
    for (i = 0; i < n; i++) {
        count[(slot_of(key_at(keys, i), mask) >> shift) + 1]++;
    }
    for (i = 1, sum = 0; i <= nb; i++) {
        c = count[i];
        count[i] = (uint32_t) sum;
        sum += c;
    }
    for (i = 0; i < n; i++) {
        ab_key_t  k = key_at(keys, i);

        c = count[(slot_of(k, mask) >> shift) + 1]++;
        order[c] = (uint32_t) i;
        sorted[c] = k;
    }

    for (i = 0; i < n; i++) {
        ab_key_t  k = sorted[i];

        for (s = slot_of(k, mask); t->vals[s] != AB_TAB_EMPTY;
             s = (s + 1) & mask)
        {
            if (key_eq(t->keys[s], k)) {
                rc = 1;
                goto done;
            }
        }
        t->keys[s] = k;
        t->vals[s] = order[i];
        t->n++;
    }

done:
    free(order);
    free(sorted);
    free(count);

    return rc;
}


uint32_t *
ab_tab_put(ab_tab_t *t, ab_key_t k, int *created)
{
    size_t  s;

    if ((t->n + 1) * 4 > t->cap * 3
        && grow_to(t, t->cap ? t->cap * 2 : 1024) != 0)
    {
        return NULL;
    }

    for (s = slot_of(k, t->cap - 1); t->vals[s] != AB_TAB_EMPTY;
         s = (s + 1) & (t->cap - 1))
    {
        if (key_eq(t->keys[s], k)) {
            *created = 0;
            return &t->vals[s];
        }
    }

    t->keys[s] = k;
    t->n++;
    *created = 1;

    return &t->vals[s];
}


void
ab_tab_renumber(ab_tab_t *t, const uint32_t *map)
{
    size_t  mask = t->cap - 1, start, i, s, e;

    if (t->n == 0) {
        return;
    }
    /* From an empty slot on, no run of full slots wraps past the start:
     * every key's home is then at or after the start in scan order. */
    for (start = 0; t->vals[start] != AB_TAB_EMPTY; start++) {
        /* void: the load is at most 3/4 */
    }

    for (i = 0; i < t->cap; i++) {
        s = (start + i) & mask;
        if (t->vals[s] != AB_TAB_EMPTY) {
            t->vals[s] = map[t->vals[s]];
            t->n -= t->vals[s] == AB_TAB_EMPTY;
        }
    }

    /* Each key moves back to the first hole between its home and its
     * slot: what inserting the keys again in scan order would do. */
    for (i = 0; i < t->cap; i++) {
        s = (start + i) & mask;
        if (t->vals[s] == AB_TAB_EMPTY) {
            continue;
        }
        for (e = slot_of(t->keys[s], mask); e != s && t->vals[e] != AB_TAB_EMPTY;
             e = (e + 1) & mask)
        {
            /* void */
        }
        if (e != s) {
            t->keys[e] = t->keys[s];
            t->vals[e] = t->vals[s];
            t->vals[s] = AB_TAB_EMPTY;
        }
    }
}


void
ab_tab_prefetch(const ab_tab_t *t, ab_key_t k)
{
    size_t  s;

    if (t->cap == 0) {
        return;
    }
    s = slot_of(k, t->cap - 1);
#if defined(__GNUC__)
    __builtin_prefetch(&t->vals[s]);
    __builtin_prefetch(&t->keys[s]);
#endif
}


uint32_t
ab_tab_get(const ab_tab_t *t, ab_key_t k)
{
    size_t  s;

    if (t->cap == 0) {
        return AB_TAB_EMPTY;
    }

    for (s = slot_of(k, t->cap - 1); t->vals[s] != AB_TAB_EMPTY;
         s = (s + 1) & (t->cap - 1))
    {
        if (key_eq(t->keys[s], k)) {
            return t->vals[s];
        }
    }

    return AB_TAB_EMPTY;
}


void
ab_tab_free(ab_tab_t *t)
{
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof(*t));
}


size_t
ab_tab_bytes(const ab_tab_t *t)
{
    return t->cap * (sizeof(ab_key_t) + sizeof(uint32_t));
}
