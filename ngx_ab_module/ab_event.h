/*
 * The event grammar shared by the storefront's response header and the
 * browser beacon, and its normalized serialization (docs/log-format.md):
 *
 *     EVENT[; key=value]*      several events separated by ","
 *
 * Pure C, no allocation: the caller gives the output buffer. The input's
 * length plus AB_EVENTS_SLACK is always enough for unmarked events (the
 * normalized form of an event is never longer than the event as sent) and
 * for one marked event; an event that does not fit is refused ("no room").
 */

#ifndef AB_EVENT_H
#define AB_EVENT_H

#include <stddef.h>

#define AB_EVENT_NAME_MAX     32        /* event names and keys */
#define AB_EVENT_VALUE_MAX    64        /* order ids and other values */
#define AB_EVENT_MAX_PARAMS   16
#define AB_EVENTS_MAX         64        /* per response */
#define AB_EVENTS_SLACK       16        /* separators, a "src" marker */

typedef struct {
    char         *out;          /* normalized events, "," separated */
    size_t        len;
    size_t        cap;
    unsigned      valid;
    unsigned      invalid;
    const char   *reason;       /* why the first invalid event was dropped */
    const char   *bad;          /* where it starts in its input */
    size_t        bad_len;
} ab_events_t;

void ab_events_init(ab_events_t *ev, char *buf, size_t cap);

/*
 * Parses one header value (or a beacon's event), appending each valid
 * event, normalized, to ev->out. `marker` (e.g. ";src=client") is appended
 * to every event accepted by this call; `reserved` names keys the sender
 * may not use (NULL-terminated list), e.g. {"src", NULL} for the upstream
 * or {"src", "order", "revenue", NULL} for clients.
 */
void ab_events_parse(ab_events_t *ev, const char *in, size_t len,
    const char *marker, const char *const *reserved);

/*
 * Iterates over the names of the events in a normalized list: start with
 * *pos = 0; returns 1 with name/len set, 0 at the end.
 */
int ab_events_next_name(const char *list, size_t len, size_t *pos,
    const char **name, size_t *name_len);

/* 1 when `name` is a valid event name or key ([a-z0-9_]{1,32}). */
int ab_event_valid_name(const char *name, size_t len);

/* 1 when `value` is a valid order id or value of a key other than
 * revenue, qty and currency ([A-Za-z0-9._:-]{1,64}). */
int ab_event_valid_value(const char *value, size_t len);

/*
 * 1 for the names abstat counts as orders or refunds ("purchase",
 * "refund"): only the storefront may send them, never the beacon.
 */
int ab_event_is_order(const char *name, size_t len);

#endif /* AB_EVENT_H */
