/*
 * libFuzzer target: a QA force list and a layer range, as an allowed
 * client could send or an operator could write. The iterator must end,
 * stay inside the input and only return names of valid syntax.
 */

#include "ab_core.h"

#include <stdint.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *s = (const char *) data, *e, *v;
    size_t       pos = 0, el, vl, rounds = 0;
    int          rc;
    int32_t      from, to;

    while ((rc = ab_force_next(s, size, &pos, &e, &el, &v, &vl)) != 0) {
        if (e < s || e + el > s + size || ++rounds > size + 1) {
            abort();
        }

        if (rc == 1 && (!ab_valid_experiment_name(e, el)
                        || !ab_valid_variant_name(v, vl)
                        || v + vl > s + size))
        {
            abort();
        }
    }

    if (ab_parse_range(s, size, &from, &to) == 0
        && (from < 0 || to > 10000 || from >= to))
    {
        abort();
    }

    return 0;
}
