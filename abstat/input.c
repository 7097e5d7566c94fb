/*
 * The reading options (input.h).
 */

#include "input.h"

#include <string.h>


void
ab_input_default(ab_input_t *in)
{
    memset(in, 0, sizeof(*in));
    in->since = INT64_MIN;
    in->until = INT64_MAX;
}


int
ab_input_selected(const ab_input_t *in, const char *name, size_t len)
{
    size_t  i;

    if (in->nonly == 0) {
        return 1;
    }

    for (i = 0; i < in->nonly; i++) {
        if (strlen(in->only[i]) == len && memcmp(in->only[i], name, len) == 0) {
            return 1;
        }
    }

    return 0;
}
