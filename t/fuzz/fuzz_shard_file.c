/* needs: abstat */
/*
 * libFuzzer target: abstat's shard-file reader (abstat/shard_read.c,
 * abstat report over abstat map's output). The file is checksummed
 * whole, so the input is the file without its trailer and the target
 * appends the right XXH3 trailer: what is fuzzed is every record a
 * damaged or foreign but consistent file can hold. Properties: no
 * crash, no sanitizer report (leaks included), a refusal always says
 * why, and a refused file leaves the state as it was.
 */

#include "input.h"
#include "shard.h"
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
    ab_state_t        st;
    ab_input_t        in;
    ab_shard_names_t  nm;
    const char       *path;
    char              err[1024];
    int               rc;

    path = fuzz_file_write(data, size, "shard");

    if (ab_state_init(&st) != 0) {
        abort();
    }
    ab_input_default(&in);
    in.quiet = 1;
    memset(&nm, 0, sizeof(nm));
    err[0] = '\0';

    rc = ab_shard_replay(&st, &in, path, &nm, err, sizeof(err));
    if (rc > 0 && (err[0] == '\0' || st.nvis != 0 || st.lines != 0)) {
        abort();
    }

    ab_state_free(&st);
    ab_shard_names_free(&nm);

    return 0;
}
