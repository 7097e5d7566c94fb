/*
 * Open-addressing hash table from 128-bit keys to 32-bit values, the one
 * shape every big table of abstat has (visitors, orders, pair sets).
 *
 * Visitor ids and order ids are stored as their 128-bit XXH3 hash rather
 * than as strings: 20 bytes a slot whatever the id's length, and a
 * collision among 10^9 ids has a probability below 10^-20.
 */

#ifndef ABSTAT_TAB_H
#define ABSTAT_TAB_H

#include <stddef.h>
#include <stdint.h>

#define AB_TAB_EMPTY  UINT32_MAX

typedef struct {
    uint64_t  lo;
    uint64_t  hi;
} ab_key_t;

typedef struct {
    ab_key_t  *keys;
    uint32_t  *vals;
    size_t     cap;             /* a power of two, or 0 */
    size_t     n;
} ab_tab_t;

/* The key of a string: its 128-bit XXH3 hash. */
ab_key_t ab_key_of(const char *s, size_t len);

/* A key for a pair of small numbers (pair sets). */
ab_key_t ab_key_pair(uint64_t a, uint64_t b);

/*
 * The value slot of key k, created when absent (then *created is 1 and
 * the slot holds AB_TAB_EMPTY: the caller must store a value at once).
 * The pointer is valid until the next insertion. NULL when out of memory.
 */
uint32_t *ab_tab_put(ab_tab_t *t, ab_key_t k, int *created);

/* Makes room for n keys at once (loading a table of known size: one
 * allocation instead of a chain of rehashes). 0, or -1 out of memory. */
int ab_tab_reserve(ab_tab_t *t, size_t n);

/*
 * Fills empty table t with keys[i] -> i for i < n, keys an array of
 * ab_key_t that need not be aligned (loading a saved table). The keys go in in the order of their slots, so that the table
 * is written front to back instead of at random: on a table larger than
 * the caches, most of the cost of inserting is the miss. Returns 0, 1
 * when a key is there twice (a damaged file), -1 out of memory.
 */
int ab_tab_load(ab_tab_t *t, const void *keys, size_t n);

/*
 * Gives every value v the value map[v], and removes the keys whose map[v]
 * is AB_TAB_EMPTY, in place (renumbering dense indices after some were
 * dropped: no second table, and the slots are visited in order).
 */
void ab_tab_renumber(ab_tab_t *t, const uint32_t *map);

/* Asks the CPU to fetch the slot where k would be, for a lookup soon. */
void ab_tab_prefetch(const ab_tab_t *t, ab_key_t k);

/* The value of k, or AB_TAB_EMPTY. */
uint32_t ab_tab_get(const ab_tab_t *t, ab_key_t k);

void ab_tab_free(ab_tab_t *t);

/* Bytes held, for the memory report. */
size_t ab_tab_bytes(const ab_tab_t *t);

#endif /* ABSTAT_TAB_H */
