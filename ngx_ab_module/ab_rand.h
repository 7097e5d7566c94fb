/*
 * A per-process CSPRNG for visitor ids: ChaCha20 with fast key erasure,
 * seeded once from the kernel. Minting an id costs no system call, and a
 * process that is later compromised cannot recompute ids it already gave
 * out, because each refill overwrites the key it was made with.
 *
 * Not thread-safe: one state per process (nginx workers are processes).
 */

#ifndef AB_RAND_H
#define AB_RAND_H

#include <stddef.h>
#include <stdint.h>

#define AB_CHACHA20_BLOCK_LEN  64      /* bytes of one ChaCha20 block */
#define AB_RAND_BLOCKS         4       /* blocks made per refill */

typedef struct {
    uint32_t       key[8];
    unsigned char  buf[AB_CHACHA20_BLOCK_LEN * AB_RAND_BLOCKS];
    size_t         used;            /* bytes of buf already handed out */
    int            seeded;
} ab_rand_t;

/* One ChaCha20 block (RFC 8439 section 2.3), serialized little-endian. */
void ab_chacha20_block(const uint32_t key[8], uint32_t counter,
    const uint32_t nonce[3], unsigned char out[AB_CHACHA20_BLOCK_LEN]);

/* Seeds from getrandom(2). Returns 0, or -1 with errno set. */
int ab_rand_seed(ab_rand_t *r);

/* Seeds from a caller's key (tests, fuzzers: reproducible streams). */
void ab_rand_seed_key(ab_rand_t *r, const unsigned char key[32]);

/* Fills out with n random bytes; seeds from the kernel first if needed.
 * Returns 0, or -1 when the kernel could not seed it. */
int ab_rand_bytes(ab_rand_t *r, unsigned char *out, size_t n);

#endif /* AB_RAND_H */
