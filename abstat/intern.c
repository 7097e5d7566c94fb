/*
 * Names are few (tens to thousands), so a plain linear-probing table of
 * ids over FNV-1a is enough; the id order is first-seen order.
 */

#include "intern.h"

#include <stdlib.h>
#include <string.h>


static uint32_t
fnv1a(const char *s, size_t len)
{
    uint32_t  h = 2166136261u;
    size_t    i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) s[i]) * 16777619u;
    }

    return h;
}


void
ab_intern_init(ab_intern_t *t, size_t limit)
{
    memset(t, 0, sizeof(*t));
    t->limit = limit;
}


static size_t
lookup(const ab_intern_t *t, const char *s, size_t len)
{
    size_t    i = fnv1a(s, len) & (t->nslots - 1);
    uint32_t  id;

    while ((id = t->slots[i]) != 0) {
        if (t->lens[id - 1] == len && memcmp(t->names[id - 1], s, len) == 0) {
            break;
        }
        i = (i + 1) & (t->nslots - 1);
    }

    return i;
}


int
ab_intern_find(const ab_intern_t *t, const char *s, size_t len)
{
    if (t->nslots == 0) {
        return -1;
    }

    return (int) t->slots[lookup(t, s, len)] - 1;
}


static int
rehash(ab_intern_t *t)
{
    size_t     nslots = t->nslots ? t->nslots * 2 : 64, i, j;
    uint32_t  *slots = calloc(nslots, sizeof(*slots));
    char     **names;
    size_t    *lens;

    if (slots == NULL) {
        return -1;
    }

    names = realloc(t->names, nslots / 2 * sizeof(*names));
    if (names == NULL) {
        free(slots);
        return -1;
    }
    t->names = names;
    lens = realloc(t->lens, nslots / 2 * sizeof(*lens));
    if (lens == NULL) {
        free(slots);
        return -1;
    }
    t->lens = lens;
    t->cap = nslots / 2;

    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;

    for (i = 0; i < t->n; i++) {
        j = lookup(t, t->names[i], t->lens[i]);
        t->slots[j] = (uint32_t) i + 1;
    }

    return 0;
}


int
ab_intern(ab_intern_t *t, const char *s, size_t len)
{
    size_t  i;
    char   *copy;

    if (t->nslots && t->slots[i = lookup(t, s, len)] != 0) {
        return (int) t->slots[i] - 1;
    }

    if (t->n >= t->limit) {
        return -1;
    }

    if (t->n + 1 > t->cap && rehash(t) != 0) {
        return -1;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        return -1;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';

    t->names[t->n] = copy;
    t->lens[t->n] = len;
    t->slots[lookup(t, s, len)] = (uint32_t) ++t->n;

    return (int) t->n - 1;
}


void
ab_intern_free(ab_intern_t *t)
{
    size_t  i;

    for (i = 0; i < t->n; i++) {
        free(t->names[i]);
    }
    free(t->names);
    free(t->lens);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}
