/*
 * libFuzzer target: the UTF-8 sanitizer behind $ab_uri and $ab_ua, fed
 * whatever a client can put in a URI or User-Agent. Properties: the length
 * is as announced and within 3x, the output is valid (sanitizing it again
 * changes nothing), and valid input comes back unchanged.
 */

#include "ab_core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char  *out, *again;
    size_t          n, m, want;

    out = malloc(3 * size + 1);
    again = malloc(3 * (3 * size) + 1);
    if (out == NULL || again == NULL) {
        abort();
    }

    want = ab_utf8_sanitized_len(data, size);
    n = ab_utf8_sanitize(data, size, out);

    if (n != want || n > 3 * size || (n == size && memcmp(out, data, n))) {
        abort();
    }

    if (ab_utf8_sanitized_len(out, n) != n) {
        abort();
    }

    m = ab_utf8_sanitize(out, n, again);
    if (m != n || memcmp(again, out, n) != 0) {
        abort();
    }

    free(out);
    free(again);

    return 0;
}
