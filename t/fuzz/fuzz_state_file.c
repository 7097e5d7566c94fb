/* needs: abstat */
/*
 * libFuzzer target: abstat's state-file reader (abstat/persist.c,
 * --state). The file is checksummed whole, so the input is the file
 * without its trailer and the target appends the right XXH3 trailer:
 * what is fuzzed is everything a damaged or foreign but consistent file
 * can hold. Properties: no crash, no sanitizer report (leaks included),
 * a refusal always says why.
 */

#include "persist.h"
#include "state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "fuzz_file.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ab_state_t   st;
    ab_incr_t    inc;
    const char  *path;
    char         err[512];
    int          rc;

    path = fuzz_file_write(data, size, "state");

    if (ab_state_init(&st) != 0) {
        abort();
    }
    memset(&inc, 0, sizeof(inc));
    err[0] = '\0';

    rc = ab_state_load(path, &st, &inc, err, sizeof(err));
    if (rc != 0 && err[0] == '\0') {
        abort();
    }

    ab_incr_free(&inc);
    ab_state_free(&st);

    return 0;
}
