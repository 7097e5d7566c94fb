/*
 * Times on the command line and in trend buckets (timefmt.c): ISO 8601
 * and epoch parsing against values computed with date(1), formatting and
 * UTC buckets.
 */

#include "tap.h"

#include "timefmt.h"

#define S  1000000LL


static void
parse(const char *s, int64_t want)
{
    int64_t  got = -1;
    int      rc = ab_time_parse(s, &got);

    tap_ok(rc == 0 && got == want, "parse '%s' = %lld (got %lld)", s,
           (long long) want, (long long) got);
}


static void
reject(const char *s)
{
    int64_t  got;

    tap_ok(ab_time_parse(s, &got) != 0, "reject '%s'", s);
}


static void
test_parse(void)
{
    /* date -u -d 2026-11-23T10:20:30Z +%s = 1795429230 */
    parse("2026-11-23T10:20:30Z", 1795429230 * S);
    parse("2026-11-23 10:20:30", 1795429230 * S);
    parse("2026-11-23T12:20:30+02:00", 1795429230 * S);
    parse("2026-11-23T05:50:30-04:30", 1795429230 * S);
    parse("2026-11-23T10:20:30.25Z", 1795429230 * S + 250000);
    parse("2026-11-23T10:20", 1795429200 * S);
    parse("2026-11-23", 1795392000 * S);
    parse("2024-02-29", 1709164800 * S);            /* a leap day */
    parse("1970-01-01T00:00:00Z", 0);
    parse("1795429230", 1795429230 * S);
    parse("1795429230.5", 1795429230 * S + 500000);

    reject("");
    reject("yesterday");
    reject("2026-13-01");
    reject("2026-11-23T25:00");
    reject("2026-11-23T10:20:30+2");
    reject("2026-11-23Tfoo");
    reject("-5");
    reject("1795429230.");
    reject("1969-12-31T23:00:00Z");
}


static void
test_format(void)
{
    char  buf[32];

    ab_time_format(1795429230 * S + 999999, buf, sizeof(buf));
    tap_ok(strcmp(buf, "2026-11-23T10:20:30Z") == 0, "format: %s", buf);
    ab_time_format(1709164800 * S, buf, sizeof(buf));
    tap_ok(strcmp(buf, "2024-02-29T00:00:00Z") == 0, "format leap day: %s",
           buf);

    tap_ok(ab_time_bucket(1795429230 * S, 0) == 1795392000 * S,
           "day bucket starts at UTC midnight");
    tap_ok(ab_time_bucket(1795429230 * S, 1) == 1795428000 * S,
           "hour bucket starts at the hour");
}


int
main(void)
{
    test_parse();
    test_format();

    return tap_done();
}
