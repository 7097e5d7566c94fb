/*
 * --by device (abstat/device.c): real User-Agents of each class, the
 * edge cases of the rule order (a bot that claims a phone, an Android
 * tablet that does not say "Mobile", an iPad that claims a Mac), and the
 * case of the tokens.
 */

#include "tap.h"

#include "device.h"

static const struct {
    const char   *ua;
    ab_device_t   want;
    const char   *why;
} cases[] = {
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/"
      "605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
      AB_DEVICE_MOBILE, "iPhone Safari" },
    { "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
      AB_DEVICE_MOBILE, "Android Chrome on a phone" },
    { "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
      AB_DEVICE_MOBILE, "Firefox for Android" },
    { "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348;"
      " U; en) Presto/2.5.25 Version/10.54", AB_DEVICE_MOBILE, "Opera Mini" },
    { "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile "
      "Safari/537.36 Edge/15.15063", AB_DEVICE_MOBILE, "Windows Phone" },
    { "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) CriOS/119.0.6045.109 Mobile/15E148 Safari/604.1",
      AB_DEVICE_TABLET, "iPad Chrome (says Mobile, is a tablet)" },
    { "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/120.0.0.0 Safari/537.36",
      AB_DEVICE_TABLET, "Galaxy Tab: Android without Mobile" },
    { "Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
      AB_DEVICE_TABLET, "Firefox on an Android tablet" },
    { "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like"
      " Gecko) Silk/119.3.1 like Chrome/119.0.6045.193 Safari/537.36",
      AB_DEVICE_TABLET, "Kindle Fire Silk" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/120.0.0.0 Safari/537.36",
      AB_DEVICE_DESKTOP, "Windows Chrome" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/17.1 Safari/605.1.15",
      AB_DEVICE_DESKTOP, "macOS Safari (and iPadOS 13+ by default)" },
    { "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
      AB_DEVICE_DESKTOP, "Linux Firefox" },
    { "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/120.0.0.0 Safari/537.36",
      AB_DEVICE_DESKTOP, "ChromeOS" },
    { "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/"
      "537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 "
      "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      AB_DEVICE_BOT, "Googlebot smartphone: a bot that claims a phone" },
    { "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
      AB_DEVICE_BOT, "AhrefsBot (not in bots.conf)" },
    { "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot"
      ".html)", AB_DEVICE_BOT, "SemrushBot" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
      "like Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36",
      AB_DEVICE_BOT, "headless Chrome" },
    { "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext."
      "php)", AB_DEVICE_BOT, "link preview fetcher" },
    { "curl/7.88.1", AB_DEVICE_BOT, "curl" },
    { "python-requests/2.31.0", AB_DEVICE_BOT, "python-requests" },
    { "Go-http-client/2.0", AB_DEVICE_BOT, "Go's HTTP client" },
    { "Wget/1.21.3", AB_DEVICE_BOT, "Wget, capitalised" },
    { "", AB_DEVICE_BOT, "no User-Agent" },
    { "Roku/DVP-9.10 (519.10E04111A)", AB_DEVICE_OTHER, "a TV box" },
    { "PlayStation 5/SmartTV", AB_DEVICE_OTHER, "a console" },
};


int
main(void)
{
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ab_device_t  got = ab_device_of(cases[i].ua, strlen(cases[i].ua));

        tap_ok(got == cases[i].want, "%s: %s", cases[i].why,
               ab_device_name(got));
    }

    tap_ok(ab_device_of("Mozilla/5.0 (IPHONE)", 20) == AB_DEVICE_MOBILE,
           "tokens ignore ASCII case");
    tap_ok(ab_device_of("xbot", 3) == AB_DEVICE_OTHER,
           "only the given length is read");
    tap_ok(strcmp(ab_device_name(AB_DEVICE_N), "other") == 0,
           "an unknown class is named other");

    return tap_done();
}
