/*
 * The device class of a User-Agent (`--by device`): mobile, tablet,
 * desktop, bot or other, by a short table of tokens read in a fixed
 * order, not by a pattern per browser. Bots here are what the module's
 * ab_exclude example (conf-examples/bots.conf) lets through: generic
 * crawler words and HTTP libraries. The table in device.c is the rule
 * list; t/unit/test_device.c holds real User-Agents of each class. A
 * phone brand with "bot" in its name (Cubot) is a bot here, iPadOS
 * Safari, which claims a Mac by default, a desktop.
 */

#ifndef ABSTAT_DEVICE_H
#define ABSTAT_DEVICE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    AB_DEVICE_MOBILE,
    AB_DEVICE_TABLET,
    AB_DEVICE_DESKTOP,
    AB_DEVICE_BOT,
    AB_DEVICE_OTHER,
    AB_DEVICE_N
} ab_device_t;

/* The class of ua[0..len) (no User-Agent at all is a bot). */
ab_device_t ab_device_of(const char *ua, size_t len);

/*
 * The classes of the User-Agents seen last: a log has few distinct ones
 * among many lines, and the token table costs microseconds a line. A
 * direct-mapped table over XXH3 of the text, holding the text itself
 * (so that a hit is exact); longer ones are classified every time.
 */
#define AB_UA_CACHE_SLOTS  256
#define AB_UA_CACHE_LEN    240

typedef struct {
    struct {
        uint16_t  len;          /* 0: empty slot */
        uint8_t   device;
        char      ua[AB_UA_CACHE_LEN];
    } slot[AB_UA_CACHE_SLOTS];
} ab_device_cache_t;

/* ab_device_of() through cache c (zeroed before first use). */
ab_device_t ab_device_cached(ab_device_cache_t *c, const char *ua,
    size_t len);

/* "mobile", "tablet", "desktop", "bot", "other". */
const char *ab_device_name(ab_device_t d);

#endif /* ABSTAT_DEVICE_H */
