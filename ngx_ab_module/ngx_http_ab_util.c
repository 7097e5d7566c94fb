/*
 * Helpers every file of the module may call: they call nothing of the
 * module back (see ngx_http_ab_module.h).
 */

#include "ngx_http_ab_module.h"


/*
 * Copies at most NGX_HTTP_AB_LOG_SAFE_MAX bytes of untrusted text for the
 * error log, with control bytes, non-ASCII bytes, quotes and backslashes
 * as \xHH, so that an upstream or client cannot write escape sequences or
 * fake lines into the log. Returns the length written into dst, which
 * has NGX_HTTP_AB_LOG_SAFE_SIZE bytes.
 */
size_t
ngx_http_ab_log_safe(u_char *dst, const char *src, size_t len)
{
    static const u_char  hex[] = "0123456789abcdef";
    u_char               *p = dst, c;
    size_t                i;

    for (i = 0; i < len && i < NGX_HTTP_AB_LOG_SAFE_MAX; i++) {
        c = (u_char) src[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];

        } else {
            *p++ = c;
        }
    }

    return p - dst;
}


/* if=VALUE, ab_exclude VALUE ...: true when non-empty and not "0". */
ngx_int_t
ngx_http_ab_cv_true(ngx_http_request_t *r, ngx_http_complex_value_t *cv)
{
    ngx_str_t  val;

    if (ngx_http_complex_value(r, cv, &val) != NGX_OK) {
        return 0;
    }

    return val.len != 0 && !(val.len == 1 && val.data[0] == '0');
}


ngx_table_elt_t *
ngx_http_ab_add_header(ngx_http_request_t *r, char *key)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    ngx_str_null(&h->value);

    return h;
}


/*
 * Sends a complete response of the module's own (the beacon, the status
 * page): never stored by caches, which would also swallow the next beacon
 * of the same URL. `b` may be NULL for a response without a body.
 */
ngx_int_t
ngx_http_ab_send_uncached(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_buf_t *b)
{
    ngx_int_t         rc;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    h = ngx_http_ab_add_header(r, "Cache-Control");
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&h->value, "no-store");

    r->headers_out.status = status;
    r->headers_out.content_length_n = b ? b->last - b->pos : 0;

    if (b == NULL) {
        r->header_only = 1;

    } else {
        r->headers_out.content_type.data = (u_char *) type;
        r->headers_out.content_type.len = ngx_strlen(type);
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        b->last_buf = (r == r->main);
        b->last_in_chain = 1;
    }

    rc = ngx_http_send_header(r);

    if (b == NULL && rc == NGX_OK) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* The experiment of that name, as the configuration and QA overrides
 * name it: case-insensitive, as nginx variable names are. */
ngx_http_ab_experiment_t *
ngx_http_ab_find_experiment(ngx_http_ab_main_conf_t *mcf, ngx_str_t *name)
{
    ngx_uint_t                 i;
    ngx_http_ab_experiment_t  *exp;

    exp = mcf->experiments.elts;

    for (i = 0; i < mcf->experiments.nelts; i++) {
        if (exp[i].name.len == name->len
            && ngx_strncasecmp(exp[i].name.data, name->data, name->len) == 0)
        {
            return &exp[i];
        }
    }

    return NULL;
}


/*
 * Reads the secret key of `ab_sticky_secret` or `ab_uid_from key=` from
 * path (relative to the conf prefix, as nginx resolves included files):
 * 32 hex digits, see ab_key_parse(). Runs while the configuration is
 * read, so it may block; an error names the directive and the file.
 */
char *
ngx_http_ab_key_load(ngx_conf_t *cf, ngx_command_t *cmd, ngx_str_t *path,
    u_char key[AB_STICKY_KEY_LEN])
{
    u_char           text[4 * AB_STICKY_KEY_LEN];
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t        name;
    ngx_file_info_t  fi;

    name = *path;
    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" cannot open key file \"%V\"",
                           &cmd->name, &name);
        return NGX_CONF_ERROR;
    }

    n = -1;
    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {
        n = ngx_read_fd(fd, text, sizeof(text));
        if (fi.st_mode & S_IROTH) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"%V\" key file \"%V\" is readable by "
                               "every user: anyone who reads it can forge "
                               "assignments", &cmd->name, &name);
        }
    }
    ngx_close_file(fd);

    if (n < 0 || ab_key_parse((char *) text, (size_t) n, key) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" key file \"%V\" must hold exactly %d "
                           "hex digits (openssl rand -hex %d)",
                           &cmd->name, &name, 2 * AB_STICKY_KEY_LEN,
                           AB_STICKY_KEY_LEN);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
