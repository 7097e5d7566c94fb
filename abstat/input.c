/*
 * The reading options (input.h).
 */

#include "input.h"

#include <string.h>


ssize_t
ab_node_conf_find(const ab_node_conf_t *list, size_t n, const char *node,
    size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strlen(list[i].node) == len && memcmp(list[i].node, node, len) == 0)
        {
            return (ssize_t) i;
        }
    }

    return -1;
}


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
