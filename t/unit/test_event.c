/*
 * Unit tests of the event grammar (ab_event.c) and of the QA force list
 * and layer range parsers (ab_core.c): the bytes that come from upstreams
 * and clients.
 */

#include "ab_core.h"
#include "ab_event.h"
#include "tap.h"

static const char *const  upstream_reserved[] = { "src", NULL };
static const char *const  client_reserved[] = { "src", "order", "revenue",
                                                NULL };


/* Parses `in` as one header and compares the output and counts. */
static void
check(const char *in, const char *want, unsigned valid, unsigned invalid,
    const char *marker, const char *const *reserved)
{
    char         buf[65536];
    ab_events_t  ev;
    int          pass;

    ab_events_init(&ev, buf, strlen(in) + AB_EVENTS_SLACK);
    ab_events_parse(&ev, in, strlen(in), marker, reserved);

    pass = ev.len == strlen(want) && memcmp(ev.out, want, ev.len) == 0
           && ev.valid == valid && ev.invalid == invalid;

    if (!tap_ok(pass, "events \"%.60s\"", in)) {
        tap_diag("got \"%.*s\" valid %u invalid %u (%s)", (int) ev.len,
                 ev.out, ev.valid, ev.invalid, ev.reason ? ev.reason : "-");
    }
}


static void
test_grammar(void)
{
    const char *const  *up = upstream_reserved;

    check("purchase; order=A-1; revenue=59.90; currency=EUR",
          "purchase;order=A-1;revenue=59.9;currency=EUR", 1, 0, NULL, up);
    check("purchase;order=A-1,add_to_cart", "purchase;order=A-1,add_to_cart",
          2, 0, NULL, up);
    check("  purchase ;  order = A-1 ,  add_to_cart  ",
          "purchase;order=A-1,add_to_cart", 2, 0, NULL, up);
    check("refund; order=A-1; revenue=-012.500",
          "refund;order=A-1;revenue=-12.5", 1, 0, NULL, up);
    check("x; revenue=-0.000", "x;revenue=0", 1, 0, NULL, up);
    check("x; revenue=0007", "x;revenue=7", 1, 0, NULL, up);
    check("x; revenue=1.123456", "x;revenue=1.123456", 1, 0, NULL, up);
    check("x; revenue=1.1234567", "", 0, 1, NULL, up);
    check("x; revenue=1.", "", 0, 1, NULL, up);
    check("x; revenue=.5", "", 0, 1, NULL, up);
    check("x; revenue=1e3", "", 0, 1, NULL, up);
    check("x; revenue=1234567890123", "", 0, 1, NULL, up);
    check("x; revenue=NaN", "", 0, 1, NULL, up);
    check("x; qty=003", "x;qty=3", 1, 0, NULL, up);
    check("x; qty=1.5", "", 0, 1, NULL, up);
    check("x; currency=eur", "x;currency=EUR", 1, 0, NULL, up);
    check("x; currency=EURO", "", 0, 1, NULL, up);
    check("x; currency=E1R", "", 0, 1, NULL, up);
    check("x; sku=AB_12.x:y-z", "x;sku=AB_12.x:y-z", 1, 0, NULL, up);
    check("x; sku=a b", "", 0, 1, NULL, up);
    check("x; sku=", "", 0, 1, NULL, up);
    check("x; order=\"q\"", "", 0, 1, NULL, up);
    check("x; a=1; a=2", "", 0, 1, NULL, up);
    check("x; =1", "", 0, 1, NULL, up);
    check("x; A=1", "", 0, 1, NULL, up);
    check("x;; a=1", "", 0, 1, NULL, up);
    check("x; flag", "", 0, 1, NULL, up);
    check("Purchase", "", 0, 1, NULL, up);
    check("a-b", "", 0, 1, NULL, up);
    check("abcdefghijabcdefghijabcdefghijab", "abcdefghijabcdefghijabcdefghijab",
          1, 0, NULL, up);
    check("abcdefghijabcdefghijabcdefghijabc", "", 0, 1, NULL, up);
    check("x; src=client", "", 0, 1, NULL, up);
    check("bad name, ok", "ok", 1, 1, NULL, up);
    check(",,a,,", "a", 1, 0, NULL, up);
    check("", "", 0, 0, NULL, up);
    check("x\x01y", "", 0, 1, NULL, up);
    check("x; sku=\xc3\xa9", "", 0, 1, NULL, up);

    check("add_to_cart;sku=1", "add_to_cart;sku=1;src=client", 1, 0,
          ";src=client", client_reserved);
    check("purchase;order=1", "", 0, 1, ";src=client", client_reserved);
    check("purchase;revenue=1", "", 0, 1, ";src=client", client_reserved);
}


static void
test_limits(void)
{
    static char  in[200000], buf[200000 + AB_EVENTS_SLACK];
    ab_events_t  ev;
    size_t       n = 0;
    int          i;

    for (i = 0; i < 5000; i++) {
        n += (size_t) sprintf(in + n, "%se%d", i ? "," : "", i % 1000);
    }

    ab_events_init(&ev, buf, n + AB_EVENTS_SLACK);
    ab_events_parse(&ev, in, n, NULL, upstream_reserved);
    tap_ok(ev.valid == AB_EVENTS_MAX && ev.invalid == 5000 - AB_EVENTS_MAX,
           "5000 events: %d kept, the rest counted invalid", AB_EVENTS_MAX);

    n = (size_t) sprintf(in, "x");
    for (i = 0; i < AB_EVENT_MAX_PARAMS + 1; i++) {
        n += (size_t) sprintf(in + n, ";k%d=v", i);
    }

    ab_events_init(&ev, buf, n + AB_EVENTS_SLACK);
    ab_events_parse(&ev, in, n, NULL, upstream_reserved);
    tap_ok(ev.valid == 0 && ev.invalid == 1, "17 parameters are too many");

    memset(in, 'a', 100000);
    ab_events_init(&ev, buf, 100000 + AB_EVENTS_SLACK);
    ab_events_parse(&ev, in, 100000, NULL, upstream_reserved);
    tap_ok(ev.valid == 0 && ev.invalid == 1, "a 100 KB event is one invalid");

    /* one marked event fits the slack; past the buffer, events are
     * refused, never written out of bounds */
    ab_events_init(&ev, buf, 3 + AB_EVENTS_SLACK);
    ab_events_parse(&ev, "a,b", 3, ";src=client", client_reserved);
    tap_ok(ev.valid == 1 && ev.invalid == 1 && ev.len <= 3 + AB_EVENTS_SLACK
           && strcmp(ev.reason, "no room") == 0,
           "a full buffer refuses the next event");
}


static void
test_names_iter(void)
{
    const char  *list = "purchase;order=1,add_to_cart,x;a=b";
    const char  *name;
    size_t       pos = 0, len;
    char         got[128] = "";

    while (ab_events_next_name(list, strlen(list), &pos, &name, &len)) {
        strncat(got, name, len);
        strcat(got, "|");
    }

    tap_ok(strcmp(got, "purchase|add_to_cart|x|") == 0, "event names: %s",
           got);
}


/* The normalized form read back as abstat reads it: events, then each
 * one's parameters; what the grammar never writes is told apart. */
static const char *
read_back(const char *list, char *got, size_t cap)
{
    ab_event_item_t  it;
    const char      *k, *v;
    size_t           pos = 0, p, kl, vl;
    int              rc, r;

    got[0] = '\0';
    while ((rc = ab_events_next(list, strlen(list), &pos, &it)) != 0) {
        if (rc < 0) {
            strncat(got, "TRAILING", cap - strlen(got) - 1);
            break;
        }
        strncat(got, it.name, it.name_len);
        for (p = 0; (r = ab_event_next_param(it.params, it.params_len, &p,
                                             &k, &kl, &v, &vl)) != 0; )
        {
            strcat(got, r < 0 ? "{bad}" : "{");
            if (r > 0) {
                strncat(got, k, kl);
                strcat(got, "=");
                strncat(got, v, vl);
                strcat(got, "}");
            }
        }
        strcat(got, "|");
    }

    return got;
}


static void
test_reader(void)
{
    static const struct {
        const char  *in, *want;
    } cases[] = {
        { "purchase;order=1;revenue=9.5,view", "purchase{order=1}{revenue=9.5}|view|" },
        { "a,", "a|TRAILING" },
        { "a,,b", "a||b|" },
        { "a;", "a{bad}|" },
        { "a;k=v;", "a{k=v}{bad}|" },
        { "a;k", "a{bad}|" },
        { "", "" },
    };
    char    got[256];
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tap_ok(strcmp(read_back(cases[i].in, got, sizeof(got)),
                      cases[i].want) == 0, "read back \"%s\": %s",
               cases[i].in, got);
    }
}


static void
test_force(void)
{
    const char  *s = " a:x , bad,,b-c:y, c:v.1 ,d:e:f,";
    const char  *e, *v;
    size_t       pos = 0, el, vl;
    int          rc;
    char         got[256] = "";

    while ((rc = ab_force_next(s, strlen(s), &pos, &e, &el, &v, &vl)) != 0) {
        if (rc == 1) {
            strncat(got, e, el);
            strcat(got, "=");
            strncat(got, v, vl);
            strcat(got, "|");
        } else {
            strcat(got, "!|");
        }
    }

    tap_ok(strcmp(got, "a=x|!|!|c=v.1|!|") == 0, "force list: %s", got);

    pos = 0;
    tap_ok(ab_force_next("", 0, &pos, &e, &el, &v, &vl) == 0,
           "empty force list");
}


static void
test_range(void)
{
    int32_t  from, to;

    tap_ok(ab_parse_range("0-50%", 5, &from, &to) == 0 && from == 0
           && to == 5000, "0-50%%");
    tap_ok(ab_parse_range("12.5%-100%", 10, &from, &to) == 0 && from == 1250
           && to == 10000, "12.5%%-100%%");
    tap_ok(ab_parse_range("50-40%", 6, &from, &to) == -1, "reversed range");
    tap_ok(ab_parse_range("50-50%", 6, &from, &to) == -1, "empty range");
    tap_ok(ab_parse_range("0-101%", 6, &from, &to) == -1, "past 100%%");
    tap_ok(ab_parse_range("-50%", 4, &from, &to) == -1, "missing from");
    tap_ok(ab_parse_range("50%", 3, &from, &to) == -1, "no dash");
    tap_ok(ab_parse_range("0-50", 4, &from, &to) == -1, "no percent");
}


int
main(void)
{
    test_grammar();
    test_limits();
    test_names_iter();
    test_reader();
    test_force();
    test_range();

    return tap_done();
}
