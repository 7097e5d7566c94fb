/*
 * Conversions and funnel steps the storefront reports in a response header
 * (ab_event_header, default X-AB-Event): the header is taken off the
 * response and parsed; ngx_http_ab_request.c records what it yields. The
 * grammar lives in ab_event.c, the browser's beacon in
 * ngx_http_ab_beacon.c.
 */

#include "ngx_http_ab_module.h"


/* The module marks the source of client events itself. */
static const char *const  ngx_http_ab_upstream_reserved[] = { "src", NULL };


char *
ngx_http_ab_event_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_loc_conf_t  *lcf = conf;

    ngx_str_t  *value;

    if (lcf->event_header.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&lcf->event_header, "");
        return NGX_CONF_OK;
    }

    /* a header field name is an RFC 7230 token, as a cookie name is */
    if (!ab_valid_cookie_name((char *) value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid header name \"%V\" in "
                           "\"ab_event_header\" directive", &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->event_header = value[1];

    return NGX_CONF_OK;
}


/* The next header named `name` of a list, from a cursor (part = NULL to
 * start). */
static ngx_table_elt_t *
ngx_http_ab_next_header(ngx_list_t *list, ngx_str_t *name,
    ngx_list_part_t **part, ngx_uint_t *i)
{
    ngx_table_elt_t  *h;

    if (*part == NULL) {
        *part = &list->part;
        *i = 0;
    }

    for ( ;; ) {
        if (*i >= (*part)->nelts) {
            if ((*part)->next == NULL) {
                return NULL;
            }

            *part = (*part)->next;
            *i = 0;
        }

        h = (ngx_table_elt_t *) (*part)->elts + (*i)++;

        if (h->hash != 0 && h->key.len == name->len
            && ngx_strncasecmp(h->key.data, name->data, name->len) == 0)
        {
            return h;
        }
    }
}


/*
 * Events come from the upstream's own response headers (what the proxy,
 * fastcgi, uwsgi, scgi or grpc module received), never from the client's
 * request nor from headers the edge adds; every copy bound for the client
 * is removed. NGX_OK: *ev holds the parsed events (maybe none valid);
 * NGX_DECLINED: there are none to record.
 */
ngx_int_t
ngx_http_ab_upstream_events(ngx_http_request_t *r, ab_events_t *ev)
{
    char                    *buf;
    size_t                   cap = 0;
    u_char                   safe[NGX_HTTP_AB_LOG_SAFE_SIZE];
    ngx_uint_t               i;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h;
    ngx_http_ab_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    if (lcf->event_header.len == 0) {
        return NGX_DECLINED;
    }

    part = NULL;
    while ((h = ngx_http_ab_next_header(&r->headers_out.headers,
                                        &lcf->event_header, &part, &i)))
    {
        h->hash = 0;
    }

    /*
     * A cached response would replay one visitor's purchase for every
     * visitor who gets the page from the cache; a response nginx made
     * instead of the upstream's (a 502 for an invalid header, an
     * intercepted error) did not reach the visitor as the storefront sent
     * it, and neither do its events. The upstream's own response is sent
     * while the upstream is still active; once nginx finalized it (an
     * intercepted error, whatever status the error_page keeps), its
     * cleanup handler is gone.
     */
    if (r->cached
        || r->upstream->cleanup == NULL
        || r->headers_out.status != r->upstream->headers_in.status_n)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: events of a cached or replaced response "
                       "dropped");
        return NGX_DECLINED;
    }

    /* one pass to size the buffer, one to parse */
    part = NULL;
    while ((h = ngx_http_ab_next_header(&r->upstream->headers_in.headers,
                                        &lcf->event_header, &part, &i)))
    {
        cap += h->value.len + 1;
    }

    if (cap == 0) {
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(r->pool, cap + AB_EVENTS_SLACK);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    ab_events_init(ev, buf, cap + AB_EVENTS_SLACK);

    part = NULL;
    while ((h = ngx_http_ab_next_header(&r->upstream->headers_in.headers,
                                        &lcf->event_header, &part, &i)))
    {
        ab_events_parse(ev, (char *) h->value.data, h->value.len, NULL,
                        ngx_http_ab_upstream_reserved);
    }

    if (ev->invalid) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ab: dropped %ui invalid event(s) from the \"%V\" "
                      "response header, first \"%*s\": %s",
                      (ngx_uint_t) ev->invalid, &lcf->event_header,
                      ngx_http_ab_log_safe(safe, ev->bad, ev->bad_len), safe,
                      ev->reason);
    }

    return NGX_OK;
}
