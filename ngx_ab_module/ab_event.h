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

/* One event of a normalized list: its name, and its parameters
 * (";k=v;k=v", each with its ';'; empty when it has none). */
typedef struct {
    const char  *name;
    size_t       name_len;
    const char  *params;
    size_t       params_len;
} ab_event_item_t;

/*
 * The one reader of the normalized form, for the module (names it
 * counts) and abstat (every field of a logged event). Start with *pos =
 * 0; returns 1 with *it set, 0 at the end, -1 at a ',' that ends the
 * list (an event left empty there). Inline: abstat runs it per line.
 */
static inline int
ab_events_next(const char *list, size_t len, size_t *pos, ab_event_item_t *it)
{
    size_t  i = *pos, start = i;

    if (i >= len) {
        return len > 0 && i == len && list[len - 1] == ',' ? -1 : 0;
    }

    while (i < len && list[i] != ';' && list[i] != ',') {
        i++;
    }
    it->name = list + start;
    it->name_len = i - start;

    start = i;
    while (i < len && list[i] != ',') {
        i++;
    }
    it->params = list + start;
    it->params_len = i - start;

    *pos = i + 1;

    return 1;
}

/*
 * The parameters of an event, ";k=v;k=v": start with *pos = 0; returns 1
 * with key and value set, 0 at the end, -1 at one without '=', empty
 * ones included (*key and *key_len then span it).
 */
static inline int
ab_event_next_param(const char *params, size_t len, size_t *pos,
    const char **key, size_t *key_len, const char **val, size_t *val_len)
{
    size_t  i = *pos + 1, start = i, eq = (size_t) -1;

    if (*pos >= len) {
        return 0;
    }

    while (i < len && params[i] != ';') {
        if (params[i] == '=' && eq == (size_t) -1) {
            eq = i;
        }
        i++;
    }
    *pos = i;
    *key = params + start;

    if (eq == (size_t) -1) {
        *key_len = i - start;
        return -1;
    }

    *key_len = eq - start;
    *val = params + eq + 1;
    *val_len = i - eq - 1;

    return 1;
}

/* The names of the events of a normalized list (ab_events_next). */
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
