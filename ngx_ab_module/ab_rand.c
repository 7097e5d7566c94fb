/*
 * ChaCha20 keystream as a random generator with fast key erasure: each
 * refill makes AB_RAND_BLOCKS blocks, keeps the first 32 bytes as the next
 * key and hands out the rest, wiping every byte once it is handed out.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ab_rand.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define ROTL32(v, n)  (((v) << (n)) | ((v) >> (32 - (n))))

#define QUARTER(a, b, c, d)                                                  \
    a += b; d ^= a; d = ROTL32(d, 16);                                       \
    c += d; b ^= c; b = ROTL32(b, 12);                                       \
    a += b; d ^= a; d = ROTL32(d, 8);                                        \
    c += d; b ^= c; b = ROTL32(b, 7)


static uint32_t
ab_load32(const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}


void
ab_chacha20_block(const uint32_t key[8], uint32_t counter,
    const uint32_t nonce[3], unsigned char out[AB_CHACHA20_BLOCK_LEN])
{
    uint32_t  in[16], x[16];
    int       i;

    in[0] = 0x61707865;                 /* "expand 32-byte k" */
    in[1] = 0x3320646e;
    in[2] = 0x79622d32;
    in[3] = 0x6b206574;
    memcpy(&in[4], key, 32);
    in[12] = counter;
    in[13] = nonce[0];
    in[14] = nonce[1];
    in[15] = nonce[2];

    memcpy(x, in, sizeof(x));

    for (i = 0; i < 10; i++) {
        QUARTER(x[0], x[4], x[8], x[12]);
        QUARTER(x[1], x[5], x[9], x[13]);
        QUARTER(x[2], x[6], x[10], x[14]);
        QUARTER(x[3], x[7], x[11], x[15]);
        QUARTER(x[0], x[5], x[10], x[15]);
        QUARTER(x[1], x[6], x[11], x[12]);
        QUARTER(x[2], x[7], x[8], x[13]);
        QUARTER(x[3], x[4], x[9], x[14]);
    }

    for (i = 0; i < 16; i++) {
        uint32_t  v = x[i] + in[i];

        out[4 * i] = (unsigned char) v;
        out[4 * i + 1] = (unsigned char) (v >> 8);
        out[4 * i + 2] = (unsigned char) (v >> 16);
        out[4 * i + 3] = (unsigned char) (v >> 24);
    }
}


static void
ab_rand_refill(ab_rand_t *r)
{
    static const uint32_t  nonce[3] = { 0, 0, 0 };
    uint32_t               b;
    int                    i;

    for (b = 0; b < AB_RAND_BLOCKS; b++) {
        ab_chacha20_block(r->key, b, nonce,
                          r->buf + AB_CHACHA20_BLOCK_LEN * b);
    }

    for (i = 0; i < 8; i++) {
        r->key[i] = ab_load32(r->buf + 4 * i);
    }

    memset(r->buf, 0, 32);
    r->used = 32;
}


void
ab_rand_seed_key(ab_rand_t *r, const unsigned char key[32])
{
    int  i;

    for (i = 0; i < 8; i++) {
        r->key[i] = ab_load32(key + 4 * i);
    }

    r->seeded = 1;
    ab_rand_refill(r);
}


int
ab_rand_seed(ab_rand_t *r)
{
    unsigned char  key[32];
    size_t         got = 0;

    while (got < sizeof(key)) {
        ssize_t  n = getrandom(key + got, sizeof(key) - got, 0);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        got += (size_t) n;
    }

    ab_rand_seed_key(r, key);
    memset(key, 0, sizeof(key));

    return 0;
}


int
ab_rand_bytes(ab_rand_t *r, unsigned char *out, size_t n)
{
    if (!r->seeded && ab_rand_seed(r) != 0) {
        return -1;
    }

    while (n > 0) {
        size_t  take;

        if (r->used == sizeof(r->buf)) {
            ab_rand_refill(r);
        }

        take = sizeof(r->buf) - r->used;
        if (take > n) {
            take = n;
        }

        memcpy(out, r->buf + r->used, take);
        memset(r->buf + r->used, 0, take);
        r->used += take;
        out += take;
        n -= take;
    }

    return 0;
}
