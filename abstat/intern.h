/*
 * Small string interning: experiment, variant and event names become
 * dense ids, so per-visitor state holds 16-bit numbers, not strings.
 */

#ifndef ABSTAT_INTERN_H
#define ABSTAT_INTERN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char     **names;
    size_t    *lens;            /* of names, so that lookups need no strlen */
    size_t     n;
    size_t     cap;
    uint32_t  *slots;           /* id + 1, 0 = free */
    size_t     nslots;
    size_t     limit;           /* most ids handed out */
} ab_intern_t;

void ab_intern_init(ab_intern_t *t, size_t limit);

/* The id of s, added when new. -1 past the limit or out of memory. */
int ab_intern(ab_intern_t *t, const char *s, size_t len);

/* The id of s, or -1. */
int ab_intern_find(const ab_intern_t *t, const char *s, size_t len);

void ab_intern_free(ab_intern_t *t);

#endif /* ABSTAT_INTERN_H */
