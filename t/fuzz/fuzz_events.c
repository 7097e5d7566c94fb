/*
 * libFuzzer target: an X-AB-Event header value from an upstream, and the
 * same bytes as a beacon event from a client. Properties: the output stays
 * within the buffer, contains only the grammar's characters, and is a
 * fixed point: parsing the normalized list again gives the same list.
 */

#include "ab_event.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const  upstream[] = { "src", NULL };
static const char *const  client[] = { "src", "order", "revenue", NULL };

static void
check(const uint8_t *data, size_t size, const char *marker,
    const char *const *reserved)
{
    char         *buf, *again;
    size_t        cap = size + AB_EVENTS_SLACK, i;
    ab_events_t   ev, ev2;

    buf = malloc(cap);
    again = malloc(cap);
    if (buf == NULL || again == NULL) {
        abort();
    }

    ab_events_init(&ev, buf, cap);
    ab_events_parse(&ev, (const char *) data, size, marker, reserved);

    if (ev.len > cap || (ev.invalid && ev.reason == NULL)) {
        abort();
    }

    for (i = 0; i < ev.len; i++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_.:-;=,", ev.out[i]) || ev.out[i] == '\0')
        {
            abort();
        }
    }

    if (marker == NULL) {
        ab_events_init(&ev2, again, cap);
        ab_events_parse(&ev2, ev.out, ev.len, NULL, reserved);

        if (ev2.len != ev.len || memcmp(ev2.out, ev.out, ev.len) != 0
            || ev2.valid != ev.valid || ev2.invalid != 0)
        {
            abort();
        }
    }

    free(buf);
    free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, NULL, upstream);
    check(data, size, ";src=client", client);

    return 0;
}
