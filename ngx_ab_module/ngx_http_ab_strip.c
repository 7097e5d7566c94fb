/*
 * ab_strip_request_headers: the client's X-AB-* request headers (or other
 * prefixes) are removed before anything else reads the request.
 *
 * The storefront reads the edge's decisions from request headers such as
 * X-AB-Uid. proxy_set_header protects them only where it is inherited, and
 * nginx drops the inherited list in any location that sets headers of its
 * own, so a client's X-AB-Uid would reach the storefront (and a cache key
 * or a cached page) unnoticed. Removing the client's copies once, in the
 * post-read phase, covers every upstream module (proxy, fastcgi, uwsgi,
 * scgi, grpc all copy r->headers_in.headers), subrequests (they share the
 * list) and every variable, map or condition of the configuration.
 */

#include "ngx_http_ab_module.h"


/*
 * Names are compared without case and with '_' as '-': with
 * underscores_in_headers on, "X_AB_Uid" is $http_x_ab_uid to nginx and
 * HTTP_X_AB_UID to fastcgi, uwsgi and scgi, as "X-AB-Uid" is.
 */
static ngx_inline u_char
ngx_http_ab_strip_fold(u_char c)
{
    return c == '_' ? '-' : ngx_tolower(c);
}


/* ab_strip_request_headers off | PREFIX [PREFIX ...]; */
char *
ngx_http_ab_strip_request_headers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_ab_loc_conf_t  *lcf = conf;

    ngx_str_t   *value, *prefix;
    ngx_uint_t   i, j;

    if (lcf->strip != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        lcf->strip = NULL;
        return NGX_CONF_OK;
    }

    lcf->strip = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                  sizeof(ngx_str_t));
    if (lcf->strip == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        /* a prefix of a header name: an RFC 7230 token, as a name is */
        if (!ab_valid_cookie_name((char *) value[i].data, value[i].len)
            || ngx_strcmp(value[i].data, "off") == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid header prefix \"%V\" in "
                               "\"ab_strip_request_headers\" directive",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        prefix = ngx_array_push(lcf->strip);
        if (prefix == NULL) {
            return NGX_CONF_ERROR;
        }

        prefix->len = value[i].len;
        prefix->data = value[i].data;

        for (j = 0; j < prefix->len; j++) {
            prefix->data[j] = ngx_http_ab_strip_fold(prefix->data[j]);
        }
    }

    return NGX_CONF_OK;
}


char *
ngx_http_ab_merge_strip(ngx_conf_t *cf, ngx_http_ab_loc_conf_t *prev,
    ngx_http_ab_loc_conf_t *conf)
{
    ngx_str_t  *prefix;

    if (conf->strip != NGX_CONF_UNSET_PTR) {
        return NGX_CONF_OK;
    }

    if (prev->strip == NGX_CONF_UNSET_PTR) {
        prev->strip = ngx_array_create(cf->pool, 1, sizeof(ngx_str_t));
        if (prev->strip == NULL) {
            return NGX_CONF_ERROR;
        }

        prefix = ngx_array_push(prev->strip);
        if (prefix == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_str_set(prefix, "x-ab-");
    }

    conf->strip = prev->strip;

    return NGX_CONF_OK;
}


static ngx_uint_t
ngx_http_ab_strips(ngx_array_t *strip, ngx_table_elt_t *h)
{
    ngx_str_t   *prefix;
    ngx_uint_t   i, j;

    prefix = strip->elts;

    for (i = 0; i < strip->nelts; i++) {
        if (h->key.len < prefix[i].len) {
            continue;
        }

        for (j = 0; j < prefix[i].len; j++) {
            if (ngx_http_ab_strip_fold(h->key.data[j]) != prefix[i].data[j]) {
                break;
            }
        }

        if (j == prefix[i].len) {
            return 1;
        }
    }

    return 0;
}


/*
 * Post-read phase: the server's setting (no location is chosen yet, and
 * none may have seen the headers). A list cannot lose an element in place
 * without moving the others under the pointers nginx keeps to them
 * (r->headers_in.host, .cookie, ...), so when a header goes, the kept ones
 * are copied into a new list; they stay where they are for those pointers.
 */
ngx_int_t
ngx_http_ab_strip_handler(ngx_http_request_t *r)
{
    ngx_uint_t               i, n, strip;
    ngx_list_t               kept;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h, *copy;
    ngx_http_ab_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    if (lcf->strip == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    n = 0;
    strip = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            n++;
            strip += ngx_http_ab_strips(lcf->strip, &h[i]);
        }
    }

    if (strip == 0) {
        return NGX_DECLINED;
    }

    if (ngx_list_init(&kept, r->pool, n - strip ? n - strip : 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (ngx_http_ab_strips(lcf->strip, &h[i])) {
                ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "ab: client request header \"%V\" removed",
                               &h[i].key);
                continue;
            }

            copy = ngx_list_push(&kept);
            if (copy == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *copy = h[i];
        }
    }

    r->headers_in.headers = kept;

    return NGX_DECLINED;
}
