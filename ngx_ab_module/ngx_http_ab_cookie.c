/*
 * The visitor id: the ab_uid_cookie directive, the Cookie header read once
 * for the id, the marker and the sticky cookie, minting a new id,
 * Set-Cookie, and the id of a logged-in user (ab_uid_from). A leaf:
 * what to do with the id is ngx_http_ab_request.c's business.
 */

#include "ngx_http_ab_module.h"
#include "ab_rand.h"


#define NGX_HTTP_AB_DEFAULT_MAX_AGE  (365 * 24 * 60 * 60)

/* One generator per process: workers are processes, seeded in init_process. */
static ab_rand_t  ngx_http_ab_rand;


static ngx_int_t
ngx_http_ab_valid_attr(ngx_str_t *s)
{
    ngx_uint_t  i;

    /* Attribute values end at ';' and may not break the header. */
    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= 0x20 || s->data[i] >= 0x7f || s->data[i] == ';'
            || s->data[i] == ',')
        {
            return 0;
        }
    }

    return s->len > 0;
}


ngx_http_ab_cookie_conf_t *
ngx_http_ab_default_cookie(ngx_conf_t *cf)
{
    ngx_http_ab_cookie_conf_t  *ck;

    ck = ngx_pcalloc(cf->pool, sizeof(ngx_http_ab_cookie_conf_t));
    if (ck == NULL) {
        return NULL;
    }

    ngx_str_set(&ck->name, "abid");
    ngx_str_set(&ck->path, "/");
    ck->max_age = NGX_HTTP_AB_DEFAULT_MAX_AGE;
    ck->samesite = NGX_HTTP_AB_SAMESITE_LAX;
    ck->httponly = 1;

    return ck;
}


char *
ngx_http_ab_uid_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_loc_conf_t  *lcf = conf;

    ngx_str_t                  *value, s;
    ngx_int_t                   t;
    ngx_uint_t                  i;
    ngx_http_ab_cookie_conf_t  *ck;

    if (lcf->cookie != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!ab_valid_cookie_name((char *) value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cookie name \"%V\" in \"ab_uid_cookie\" "
                           "directive", &value[1]);
        return NGX_CONF_ERROR;
    }

    ck = ngx_pcalloc(cf->pool, sizeof(ngx_http_ab_cookie_conf_t));
    if (ck == NULL) {
        return NGX_CONF_ERROR;
    }

    /* secure and httponly are on only when written */
    ck->name = value[1];
    ngx_str_set(&ck->path, "/");
    ck->max_age = NGX_HTTP_AB_DEFAULT_MAX_AGE;
    ck->samesite = NGX_HTTP_AB_SAMESITE_LAX;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            if (ngx_strcmp(s.data, "session") == 0) {
                ck->max_age = -1;
                continue;
            }

            t = ngx_parse_time(&s, 1);
            if (t == NGX_ERROR || s.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid max_age \"%V\" in "
                                   "\"ab_uid_cookie\" directive", &s);
                return NGX_CONF_ERROR;
            }

            ck->max_age = t;
            continue;
        }

        if (ngx_strncmp(value[i].data, "domain=", 7) == 0) {
            ck->domain.data = value[i].data + 7;
            ck->domain.len = value[i].len - 7;

            if (!ngx_http_ab_valid_attr(&ck->domain)) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "path=", 5) == 0) {
            ck->path.data = value[i].data + 5;
            ck->path.len = value[i].len - 5;

            if (!ngx_http_ab_valid_attr(&ck->path)) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "samesite=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            if (ngx_strcmp(s.data, "strict") == 0) {
                ck->samesite = NGX_HTTP_AB_SAMESITE_STRICT;

            } else if (ngx_strcmp(s.data, "lax") == 0) {
                ck->samesite = NGX_HTTP_AB_SAMESITE_LAX;

            } else if (ngx_strcmp(s.data, "none") == 0) {
                ck->samesite = NGX_HTTP_AB_SAMESITE_NONE;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid samesite \"%V\" in "
                                   "\"ab_uid_cookie\" directive", &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "secure") == 0) {
            ck->secure = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "httponly") == 0) {
            ck->httponly = 1;
            continue;
        }

        goto invalid;
    }

    /* Browsers drop SameSite=None cookies that are not Secure. */
    if (ck->samesite == NGX_HTTP_AB_SAMESITE_NONE && !ck->secure) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"samesite=none\" requires \"secure\" in "
                           "\"ab_uid_cookie\" directive");
        return NGX_CONF_ERROR;
    }

    lcf->cookie = ck;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"ab_uid_cookie\" "
                       "directive", &value[i]);
    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_http_ab_seed_random(ngx_cycle_t *cycle)
{
    if (ab_rand_seed(&ngx_http_ab_rand) != 0) {
        /* Not fatal: ab_rand_bytes() tries again when an id is needed. */
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "ab: getrandom() failed, visitor ids cannot be "
                      "minted until it succeeds");
    }

    return NGX_OK;
}


/*
 * The id cookie of `ck` and, as `want` asks (AB_SCAN_MARKER,
 * AB_SCAN_STICKY), its marker cookie (NAME_x) and its sticky cookie
 * (NAME_s): the first valid value of each over every Cookie header, in one
 * pass. NGX_OK when a valid id was found; marker is empty when none was,
 * and sticky's data NULL.
 */
ngx_int_t
ngx_http_ab_read_cookies(ngx_http_request_t *r, ngx_http_ab_cookie_conf_t *ck,
    ngx_uint_t want, ngx_str_t *uid, ngx_str_t *marker, ngx_str_t *sticky)
{
    ab_cookies_t       found = { NULL, 0, NULL, 0, NULL, 0 };
#if (nginx_version >= 1023000)
    ngx_table_elt_t   *h;

    /* nginx 1.23 links repeated headers into a list */
    for (h = r->headers_in.cookie; h; h = h->next) {
        if (ab_cookie_scan((char *) h->value.data, h->value.len,
                           (char *) ck->name.data, ck->name.len, want,
                           &found))
        {
            break;
        }
    }
#else
    ngx_uint_t         i;
    ngx_table_elt_t  **h;

    h = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        if (ab_cookie_scan((char *) h[i]->value.data, h[i]->value.len,
                           (char *) ck->name.data, ck->name.len, want,
                           &found))
        {
            break;
        }
    }
#endif

    marker->data = (u_char *) found.marker;
    marker->len = found.marker_len;
    sticky->data = (u_char *) found.sticky;
    sticky->len = found.sticky_len;

    if (found.uid == NULL) {
        return NGX_DECLINED;
    }

    uid->data = (u_char *) found.uid;
    uid->len = found.uid_len;

    return NGX_OK;
}


/* A new id, AB_UID_MINTED_LEN hex digits into dst; NGX_ERROR when the
 * generator has no seed yet. */
ngx_int_t
ngx_http_ab_mint_uid(u_char *dst)
{
    u_char  bytes[AB_UID_MINTED_LEN / 2];

    if (ab_rand_bytes(&ngx_http_ab_rand, bytes, sizeof(bytes)) != 0) {
        return NGX_ERROR;
    }

    ab_hex((char *) dst, bytes, sizeof(bytes));
    ngx_memzero(bytes, sizeof(bytes));

    return NGX_OK;
}


/*
 * ab_uid_from $variable [key=FILE] | off. A key there must be: without
 * it anyone who knows a user's id could work out the visitor id abstat
 * reports for them. Without key= it is derived from ab_sticky_secret's
 * (ngx_http_ab_uid_from_key(), once the http block is read, as that
 * directive may come later). A value with no variable in it is refused,
 * as it would make every visitor one.
 */
char *
ngx_http_ab_uid_from(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_loc_conf_t  *lcf = conf;

    u_char                             key[AB_STICKY_KEY_LEN];
    ngx_str_t                         *value, path;
    ngx_http_ab_uid_from_t            *from;
    ngx_http_compile_complex_value_t   ccv;

    if (lcf->uid_from != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        lcf->uid_from = NULL;
        return NGX_CONF_OK;
    }

    if (ngx_http_script_variables_count(&value[1]) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a variable, not the constant "
                           "\"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3
        && (ngx_strncmp(value[2].data, "key=", 4) != 0 || value[2].len == 4))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"%V\" directive",
                           &value[2], &cmd->name);
        return NGX_CONF_ERROR;
    }

    from = ngx_pcalloc(cf->pool, sizeof(ngx_http_ab_uid_from_t));
    if (from == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = &from->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    lcf->uid_from = from;

    if (cf->args->nelts == 2) {
        from->from_secret = 1;
        from->file = cf->conf_file->file.name.data;
        from->line = cf->conf_file->line;
        return NGX_CONF_OK;
    }

    path.data = value[2].data + 4;
    path.len = value[2].len - 4;

    if (ngx_http_ab_key_load(cf, cmd, &path, key) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    ab_uid_key(key, &from->key);

    return NGX_CONF_OK;
}


/* The key of an ab_uid_from without key=, from ab_sticky_secret's: a key
 * of its own (ab_key_derive()), so that no user's visitor id is a sticky
 * cookie's MAC. Called for every location that has it; derives once. */
char *
ngx_http_ab_uid_from_key(ngx_conf_t *cf, ngx_http_ab_uid_from_t *from,
    ngx_http_ab_main_conf_t *mcf)
{
    u_char  key[AB_STICKY_KEY_LEN];

    if (!from->from_secret) {
        return NGX_CONF_OK;
    }

    if (!mcf->sticky_secret) {
        /* at the directive's line, not at the end of the http block */
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ab_uid_from %V\" has no key=FILE and there is no "
                      "\"ab_sticky_secret\" to derive its key from in "
                      "%s:%ui", &from->value.value, from->file, from->line);
        return NGX_CONF_ERROR;
    }

    ab_key_derive(mcf->sticky_key, "ab:uid_from", key);
    ab_uid_key(key, &from->key);
    from->from_secret = 0;

    return NGX_CONF_OK;
}


/*
 * The visitor id of the user ab_uid_from names, AB_UID_MINTED_LEN hex
 * digits into dst; NGX_DECLINED when its value is empty (not logged in).
 * The user's own id goes nowhere else, the debug log included.
 */
ngx_int_t
ngx_http_ab_user_uid(ngx_http_request_t *r, ngx_http_ab_uid_from_t *from,
    u_char *dst)
{
    ngx_str_t  user;

    if (ngx_http_complex_value(r, &from->value, &user) != NGX_OK) {
        return NGX_ERROR;
    }

    if (user.len == 0) {
        return NGX_DECLINED;
    }

    ab_uid_of_user(&from->key, (char *) user.data, user.len, (char *) dst);

    return NGX_OK;
}


/* Set-Cookie: NAME[suffix]=value with the attributes of `ck`. */
ngx_int_t
ngx_http_ab_set_cookie(ngx_http_request_t *r, ngx_http_ab_cookie_conf_t *ck,
    char *suffix, ngx_str_t *value)
{
    return ngx_http_ab_add_cookie(r, ck, suffix, value) ? NGX_OK : NGX_ERROR;
}


/* The same, returning the header (so that a later value can replace it),
 * or NULL. */
ngx_table_elt_t *
ngx_http_ab_add_cookie(ngx_http_request_t *r, ngx_http_ab_cookie_conf_t *ck,
    char *suffix, ngx_str_t *value)
{
    u_char           *p;
    size_t            len, slen = suffix ? ngx_strlen(suffix) : 0;
    ngx_table_elt_t  *h;

    static ngx_str_t  samesite[] = {
        ngx_null_string,
        ngx_string("; SameSite=Strict"),
        ngx_string("; SameSite=Lax"),
        ngx_string("; SameSite=None")
    };

    len = ck->name.len + slen + 1 + value->len;

    if (ck->max_age >= 0) {
        len += sizeof("; Max-Age=") - 1 + NGX_TIME_T_LEN
               + sizeof("; Expires=") - 1
               + sizeof("Mon, 28 Sep 1970 06:00:00 GMT") - 1;
    }

    if (ck->domain.len) {
        len += sizeof("; Domain=") - 1 + ck->domain.len;
    }

    len += sizeof("; Path=") - 1 + ck->path.len;

    if (ck->secure) {
        len += sizeof("; Secure") - 1;
    }

    if (ck->httponly) {
        len += sizeof("; HttpOnly") - 1;
    }

    len += samesite[ck->samesite].len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NULL;
    }

    h = ngx_http_ab_add_header(r, "Set-Cookie");
    if (h == NULL) {
        return NULL;
    }

    h->value.data = p;

    p = ngx_copy(p, ck->name.data, ck->name.len);
    p = ngx_copy(p, suffix, slen);
    *p++ = '=';
    p = ngx_copy(p, value->data, value->len);

    if (ck->max_age >= 0) {
        p = ngx_sprintf(p, "; Max-Age=%T; Expires=", ck->max_age);
        /* RFC 1123 date: the form RFC 6265 asks servers to send */
        p = ngx_http_time(p, ngx_time() + ck->max_age);
    }

    if (ck->domain.len) {
        p = ngx_cpymem(p, "; Domain=", sizeof("; Domain=") - 1);
        p = ngx_copy(p, ck->domain.data, ck->domain.len);
    }

    p = ngx_cpymem(p, "; Path=", sizeof("; Path=") - 1);
    p = ngx_copy(p, ck->path.data, ck->path.len);

    if (ck->secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    if (ck->httponly) {
        p = ngx_cpymem(p, "; HttpOnly", sizeof("; HttpOnly") - 1);
    }

    p = ngx_copy(p, samesite[ck->samesite].data, samesite[ck->samesite].len);

    h->value.len = p - h->value.data;

    return h;
}
