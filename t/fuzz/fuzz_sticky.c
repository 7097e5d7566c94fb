/*
 * libFuzzer target: a sticky cookie's value, as a client could send it.
 * The first 16 bytes of the input are the key, the next 32 the visitor
 * id, so that the fuzzer can also reach the entries behind a valid MAC.
 * A value that parses must hold at most AB_STICKY_MAX entries and format
 * back to itself: the encoding is canonical, so no two values carry the
 * same entries and a forged one cannot pass for a stored one.
 */

#include "ab_sticky.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UID_LEN  32

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t  *key = data;
    const char     *uid = (const char *) data + AB_STICKY_KEY_LEN;
    const char     *v = uid + UID_LEN;
    size_t          len, n;
    ab_sticky_t     s;
    char            out[AB_STICKY_VALUE_MAX];

    if (size < AB_STICKY_KEY_LEN + UID_LEN) {
        return 0;
    }
    len = size - AB_STICKY_KEY_LEN - UID_LEN;

    if (ab_sticky_parse(key, uid, UID_LEN, v, len, &s) != AB_STICKY_OK) {
        if (s.n != 0) {
            abort();
        }
        return 0;
    }

    if (s.n > AB_STICKY_MAX) {
        abort();
    }
    n = ab_sticky_format(key, uid, UID_LEN, &s, out);
    if (n != len || memcmp(out, v, n) != 0) {
        abort();
    }

    return 0;
}
