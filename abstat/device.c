/*
 * See device.h. The first rule with a token found in the User-Agent
 * (ASCII case ignored) decides; the order is what makes the table short:
 * a bot that claims to be a phone is a bot, an Android without "mobile"
 * is a tablet (Android tablets' browsers leave the word out), and only
 * what is neither bot nor handheld is looked for a desktop system.
 */

#include "device.h"

#include <string.h>

#include <xxhash.h>

typedef struct {
    ab_device_t          device;
    const char *const   *tokens;        /* NULL-terminated, lowercase */
} rule_t;

static const char *const  bot_tokens[] = {
    "bot", "crawl", "spider", "slurp", "archiver", "headless", "phantomjs",
    "lighthouse", "facebookexternalhit", "preview", "feedfetcher",
    "curl/", "wget/", "python-", "go-http-client", "java/", "libwww",
    "httpclient", "scrapy", "axios/", "node-fetch", NULL
};

static const char *const  tablet_tokens[] = {
    "ipad", "tablet", "kindle", "silk/", "playbook", NULL
};

static const char *const  mobile_tokens[] = {
    "mobi", "iphone", "ipod", "windows phone", "blackberry", "bb10",
    "opera mini", NULL
};

static const char *const  android_tokens[] = { "android", NULL };

static const char *const  desktop_tokens[] = {
    "windows nt", "macintosh", "x11", "cros", "linux", NULL
};

static const rule_t  rules[] = {
    { AB_DEVICE_BOT, bot_tokens },
    { AB_DEVICE_TABLET, tablet_tokens },
    { AB_DEVICE_MOBILE, mobile_tokens },
    /* after "mobi": an Android that did not say it is a phone */
    { AB_DEVICE_TABLET, android_tokens },
    { AB_DEVICE_DESKTOP, desktop_tokens },
};


/* Whether the lowercase token occurs in s[0..len), case ignored. */
static int
has(const char *s, size_t len, const char *token)
{
    size_t  tl = strlen(token), i, j;
    char    c;

    for (i = 0; i + tl <= len; i++) {
        for (j = 0; j < tl; j++) {
            c = s[i + j];
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c - 'A' + 'a');
            }
            if (c != token[j]) {
                break;
            }
        }
        if (j == tl) {
            return 1;
        }
    }

    return 0;
}


ab_device_t
ab_device_of(const char *ua, size_t len)
{
    size_t  r, t;

    if (len == 0) {
        return AB_DEVICE_BOT;
    }

    for (r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        for (t = 0; rules[r].tokens[t] != NULL; t++) {
            if (has(ua, len, rules[r].tokens[t])) {
                return rules[r].device;
            }
        }
    }

    return AB_DEVICE_OTHER;
}


ab_device_t
ab_device_cached(ab_device_cache_t *c, const char *ua, size_t len)
{
    size_t  i;

    if (len == 0 || len > AB_UA_CACHE_LEN) {
        return ab_device_of(ua, len);
    }

    i = (size_t) XXH3_64bits(ua, len) % AB_UA_CACHE_SLOTS;
    if (c->slot[i].len != len || memcmp(c->slot[i].ua, ua, len) != 0) {
        c->slot[i].len = (uint16_t) len;
        c->slot[i].device = (uint8_t) ab_device_of(ua, len);
        memcpy(c->slot[i].ua, ua, len);
    }

    return (ab_device_t) c->slot[i].device;
}


const char *
ab_device_name(ab_device_t d)
{
    static const char *const  names[AB_DEVICE_N] = {
        "mobile", "tablet", "desktop", "bot", "other"
    };

    return d < AB_DEVICE_N ? names[d] : "other";
}
