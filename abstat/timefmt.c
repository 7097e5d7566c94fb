/*
 * Calendar arithmetic by hand (days from civil, H. Hinnant's algorithm),
 * because timegm() is not in C11 and mktime() depends on the local zone.
 */

#include "timefmt.h"

#include <stdio.h>
#include <string.h>

#include "line.h"

#define US_PER_S    1000000LL
#define S_PER_DAY   86400LL


static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (unsigned) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t   era;
    unsigned  doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned) (z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int64_t) yoe + era * 400 + (*m <= 2);
}


/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
    int  v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }

    return v;
}


int
ab_time_parse(const char *s, int64_t *us)
{
    int      y, mo, d, h = 0, mi = 0, sec = 0, zh, zm;
    int64_t  frac = 0, t;
    size_t   len = strlen(s), n;

    if (len >= 1 && strchr(s, '-') == NULL) {
        return ab_parse_micro(s, len, 0, us);
    }

    if (len < 10 || (y = digits(s, 4)) < 0 || s[4] != '-'
        || (mo = digits(s + 5, 2)) < 1 || mo > 12 || s[7] != '-'
        || (d = digits(s + 8, 2)) < 1 || d > 31)
    {
        return -1;
    }
    s += 10;

    if (*s == 'T' || *s == ' ') {
        if ((h = digits(s + 1, 2)) < 0 || h > 23 || s[3] != ':'
            || (mi = digits(s + 4, 2)) < 0 || mi > 59)
        {
            return -1;
        }
        s += 6;
        if (*s == ':') {
            if ((sec = digits(s + 1, 2)) < 0 || sec > 60) {
                return -1;
            }
            s += 3;
            if (*s == '.') {
                for (s++, n = 0; *s >= '0' && *s <= '9'; s++, n++) {
                    if (n < 6) {
                        frac = frac * 10 + (*s - '0');
                    }
                }
                if (n == 0) {
                    return -1;
                }
                for ( /* void */ ; n < 6; n++) {
                    frac *= 10;
                }
            }
        }
    }

    t = (days_from_civil(y, mo, d) * S_PER_DAY + h * 3600 + mi * 60 + sec)
        * US_PER_S + frac;

    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        if ((zh = digits(s + 1, 2)) < 0 || zh > 23 || s[3] != ':'
            || (zm = digits(s + 4, 2)) < 0 || zm > 59)
        {
            return -1;
        }
        t -= (*s == '+' ? 1 : -1) * (zh * 3600LL + zm * 60) * US_PER_S;
        s += 6;
    }

    if (*s != '\0' || t < 0) {
        return -1;
    }

    *us = t;

    return 0;
}


void
ab_time_format(int64_t us, char *buf, size_t len)
{
    int64_t  s = us / US_PER_S, days = s / S_PER_DAY, rem = s % S_PER_DAY, y;
    int      m, d;

    civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long) y, m,
             d, (int) (rem / 3600), (int) (rem / 60 % 60), (int) (rem % 60));
}


int64_t
ab_time_bucket(int64_t us, int hour)
{
    int64_t  size = (hour ? 3600 : S_PER_DAY) * US_PER_S;

    return us - us % size;
}
