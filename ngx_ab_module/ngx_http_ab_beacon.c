/*
 * The browser's events: `location = /ab/event { ab_beacon; }` takes
 * GET or POST /ab/event?e=NAME[&key=value...] and records the event as
 * the storefront's are (ngx_http_ab_record_events()), marked src=client.
 * Clients may not send what only the storefront may: orders, revenue.
 */

#include "ngx_http_ab_module.h"


/* Keys only the server side may set: revenue must not be forgeable. */
static const char *const  ngx_http_ab_client_reserved[] = {
    "src", "order", "revenue", NULL
};

#define NGX_HTTP_AB_CLIENT_MARKER  ";src=client"


static ngx_int_t
ngx_http_ab_beacon_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *why)
{
    size_t      len = ngx_strlen(why);
    ngx_buf_t  *b;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: beacon event dropped: %s", why);

    b = ngx_create_temp_buf(r->pool, sizeof("ab_beacon: \n") - 1 + len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "ab_beacon: ", sizeof("ab_beacon: ") - 1);
    b->last = ngx_cpymem(b->last, why, len);
    *b->last++ = '\n';

    return ngx_http_ab_send_uncached(r, status, "text/plain", b);
}


/*
 * Why the beacon refuses a valid event's name, or NULL. Orders and refunds
 * come from the storefront only: a client could otherwise buy for any id
 * it likes. With events= only the listed names are accepted.
 */
static const char *
ngx_http_ab_beacon_refuses(ngx_http_ab_loc_conf_t *lcf, ab_events_t *ev)
{
    size_t       pos = 0, len;
    ngx_str_t   *allowed;
    ngx_uint_t   i;
    const char  *name;

    (void) ab_events_next_name(ev->out, ev->len, &pos, &name, &len);

    if (ab_event_is_order(name, len)) {
        return "purchase and refund are accepted only from the storefront's "
               "response header, not from clients";
    }

    if (lcf->beacon_events == NULL) {
        return NULL;
    }

    allowed = lcf->beacon_events->elts;

    for (i = 0; i < lcf->beacon_events->nelts; i++) {
        if (allowed[i].len == len
            && ngx_memcmp(allowed[i].data, name, len) == 0)
        {
            return NULL;
        }
    }

    return "event name not allowed by this beacon's events=";
}


/*
 * GET or POST /ab/event?e=NAME[&key=value...]: the query becomes the event
 * "NAME;key=value...;src=client". Arguments are URL-decoded before the
 * grammar is applied, so an encoded ',' or ';' is rejected, not split.
 */
static ngx_int_t
ngx_http_ab_beacon_handler(ngx_http_request_t *r)
{
    u_char           *raw, *p, *arg, *end, *eq, *amp, *dst;
    ngx_int_t         rc;
    ngx_table_elt_t  *h;
    ngx_str_t     name = ngx_null_string;
    ngx_uint_t    nparams = 0;
    ab_events_t   ev;
    char         *buf;
    const char   *why;

    ngx_http_ab_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    /* not HEAD: link prefetchers probe with it, and it is no event */
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_POST))) {
        h = ngx_http_ab_add_header(r, "Allow");
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_str_set(&h->value, "GET, POST");
        r->keepalive = 0;

        return ngx_http_ab_beacon_reject(r, NGX_HTTP_NOT_ALLOWED,
                                         "only GET and POST are accepted");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* "NAME" + ";key=value" per argument: never longer than the args */
    raw = ngx_pnalloc(r->pool, r->args.len + 2);
    if (raw == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the event name first, wherever "e=" stands in the query */
    p = raw;
    arg = r->args.data;
    end = r->args.data + r->args.len;

    for (arg = r->args.data; arg < end; arg = amp + 1) {
        amp = ngx_strlchr(arg, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        if (amp - arg > 2 && arg[0] == 'e' && arg[1] == '=') {
            if (name.data) {
                return ngx_http_ab_beacon_reject(r, NGX_HTTP_BAD_REQUEST,
                                                 "more than one \"e\"");
            }

            name.data = arg + 2;
            name.len = amp - arg - 2;
        }
    }

    if (name.data == NULL) {
        return ngx_http_ab_beacon_reject(r, NGX_HTTP_BAD_REQUEST,
                                         "missing event name \"e\"");
    }

    dst = p;
    ngx_unescape_uri(&dst, &name.data, name.len, NGX_UNESCAPE_URI);
    p = dst;

    for (arg = r->args.data; arg < end; arg = amp + 1) {
        amp = ngx_strlchr(arg, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        if (amp == arg || (amp - arg > 2 && arg[0] == 'e' && arg[1] == '=')) {
            continue;
        }

        eq = ngx_strlchr(arg, amp, '=');
        if (eq == NULL) {
            eq = amp;
        }

        if ((eq - arg == 5 && ngx_strncmp(arg, "order", 5) == 0)
            || (eq - arg == 7 && ngx_strncmp(arg, "revenue", 7) == 0))
        {
            return ngx_http_ab_beacon_reject(r, NGX_HTTP_BAD_REQUEST,
                       "order and revenue are accepted only from the "
                       "storefront's response header, not from clients");
        }

        if (++nparams > AB_EVENT_MAX_PARAMS) {
            return ngx_http_ab_beacon_reject(r, NGX_HTTP_BAD_REQUEST,
                                         "too many parameters");
        }

        *p++ = ';';
        dst = p;
        ngx_unescape_uri(&dst, &arg, amp - arg, NGX_UNESCAPE_URI);
        p = dst;
    }

    buf = ngx_pnalloc(r->pool, (p - raw) + AB_EVENTS_SLACK);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ab_events_init(&ev, buf, (p - raw) + AB_EVENTS_SLACK);

    /* one event: a decoded ',' must not split it into several */
    if (ngx_strlchr(raw, p, ',') != NULL) {
        return ngx_http_ab_beacon_reject(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid event: \",\" in it");
    }

    ab_events_parse(&ev, (char *) raw, p - raw, NGX_HTTP_AB_CLIENT_MARKER,
                    ngx_http_ab_client_reserved);

    if (ev.valid != 1) {
        return ngx_http_ab_beacon_reject(r, NGX_HTTP_BAD_REQUEST,
                                         ev.reason ? ev.reason
                                                   : "invalid event");
    }

    why = ngx_http_ab_beacon_refuses(lcf, &ev);
    if (why) {
        return ngx_http_ab_beacon_reject(r, NGX_HTTP_BAD_REQUEST, why);
    }

    /* only names the configuration chose may take live event slots */
    if (ngx_http_ab_record_events(r, &ev, lcf->beacon_events != NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_ab_send_uncached(r, NGX_HTTP_NO_CONTENT, NULL, NULL);
}


/* ab_beacon [events=NAME[,NAME...]]; */
char *
ngx_http_ab_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_loc_conf_t  *lcf = conf;

    u_char                    *p, *end, *comma;
    ngx_str_t                 *value, *name;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ab_beacon_handler;

    if (cf->args->nelts == 1) {
        return NGX_CONF_OK;
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "events=", 7) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"ab_beacon\" "
                           "directive, it must be \"events=NAME[,NAME...]\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->beacon_events = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
    if (lcf->beacon_events == NULL) {
        return NGX_CONF_ERROR;
    }

    p = value[1].data + 7;
    end = value[1].data + value[1].len;

    for ( ;; ) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        if (!ab_event_valid_name((char *) p, comma - p)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid event name \"%*s\" in \"ab_beacon\" "
                               "directive \"%V\", it must be [a-z0-9_]{1,32}",
                               comma - p, p, &value[1]);
            return NGX_CONF_ERROR;
        }

        if (ab_event_is_order((char *) p, comma - p)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "event \"%*s\" in \"ab_beacon\" directive "
                               "\"%V\": purchase and refund are accepted only "
                               "from the storefront's response header",
                               comma - p, p, &value[1]);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(lcf->beacon_events);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        name->data = p;
        name->len = comma - p;

        if (comma == end) {
            return NGX_CONF_OK;
        }

        p = comma + 1;
    }
}
