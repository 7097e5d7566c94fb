/*
 * libFuzzer target: a Cookie header value as a client sends it. Every
 * occurrence of the id cookie is found and validated; the iterator must
 * stay inside the input and always make progress, and ab_cookie_uid(),
 * with its fast path, must find the same id as the iterator and
 * ab_valid_uid() together, and ab_cookie_scan(), the module's one pass
 * for the id, the marker and the sticky cookie, the same id, marker and
 * sticky value as the iterator and ab_valid_marker() do.
 */

#include "ab_core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char    *hdr = (const char *) data, *val, *first = NULL, *fast;
    const char    *marker = NULL, *sticky = NULL;
    size_t         pos = 0, last = 0, len, rounds = 0, first_len = 0;
    size_t         fast_len, marker_len = 0, sticky_len = 0;
    int            found;
    ab_cookies_t   both = { NULL, 0, NULL, 0, NULL, 0 };
    ab_cookies_t   all = { NULL, 0, NULL, 0, NULL, 0 };

    while (ab_cookie_next(hdr, size, &pos, "abid", 4, &val, &len)) {
        if (val < hdr || val + len > hdr + size || pos <= last && rounds) {
            abort();
        }

        if (ab_valid_uid(val, len)) {
            /* a valid id is hashed like the module does */
            (void) ab_traffic_bucket("salt", 4, val, len);

            if (first == NULL) {
                first = val;
                first_len = len;
            }
        }

        last = pos;
        if (++rounds > size + 1) {
            abort();
        }
    }

    found = ab_cookie_uid(hdr, size, "abid", 4, &fast, &fast_len);

    if (found != (first != NULL)
        || (found && (fast != first || fast_len != first_len)))
    {
        abort();
    }

    pos = 0;
    while (ab_cookie_next(hdr, size, &pos, "abid_x", 6, &val, &len)) {
        if (ab_valid_marker(val, len)) {
            marker = val;
            marker_len = len;
            break;
        }
    }

    found = ab_cookie_scan(hdr, size, "abid", 4, AB_SCAN_MARKER, &both);

    if (found != (first != NULL && marker != NULL)
        || both.uid != first || both.uid_len != first_len
        || both.marker != marker || both.marker_len != marker_len
        || both.sticky != NULL)
    {
        abort();
    }

    pos = 0;
    if (ab_cookie_next(hdr, size, &pos, "abid_s", 6, &val, &len)) {
        sticky = val;
        sticky_len = len;
    }

    /* asking for the sticky cookie too changes nothing else */
    found = ab_cookie_scan(hdr, size, "abid", 4,
                           AB_SCAN_MARKER|AB_SCAN_STICKY, &all);

    if (found != (first != NULL && marker != NULL && sticky != NULL)
        || all.uid != first || all.uid_len != first_len
        || all.marker != marker || all.marker_len != marker_len
        || all.sticky != sticky || all.sticky_len != sticky_len)
    {
        abort();
    }

    return 0;
}
