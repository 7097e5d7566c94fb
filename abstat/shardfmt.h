/*
 * The encoding shared by the shard writer (shard.c) and reader
 * (shard_read.c): record tags, varints, zigzag, little-endian words.
 * The format itself is described in shard.h.
 */

#ifndef ABSTAT_SHARDFMT_H
#define ABSTAT_SHARDFMT_H

#include <stddef.h>
#include <stdint.h>

enum {
    AB_SHF_END = 0,
    AB_SHF_FILE,
    AB_SHF_LINE,
    AB_SHF_EVENT,
    AB_SHF_META,
    AB_SHF_PURCHASE,
    AB_SHF_REFUND,
    AB_SHF_ORDER
};

/* an EVENT whose money went to the order space */
#define AB_SHF_MOVED  16u

/* Writes v as a LEB128 varint at p (room for 10 bytes): its length. */
static inline size_t
ab_shf_var(unsigned char *p, uint64_t v)
{
    size_t  n = 0;

    while (v >= 0x80) {
        p[n++] = (unsigned char) (v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char) v;

    return n;
}

static inline uint64_t
ab_shf_zig(int64_t v)
{
    return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

static inline int64_t
ab_shf_unzig(uint64_t v)
{
    return (int64_t) (v >> 1) ^ -(int64_t) (v & 1);
}

static inline void
ab_shf_le(unsigned char *p, uint64_t v, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p[i] = (unsigned char) (v >> (8 * i));
    }
}

static inline uint64_t
ab_shf_get_le(const unsigned char *p, size_t n)
{
    uint64_t  v = 0;
    size_t    i;

    for (i = 0; i < n; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }

    return v;
}

#endif /* ABSTAT_SHARDFMT_H */
