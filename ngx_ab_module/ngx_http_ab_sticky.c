/*
 * Sticky assignments (`sticky on;` in an ab_experiment): the
 * ab_sticky_secret directive, the checks the experiments need once the
 * http block is read, and per request the sticky cookie, NAME_s next to
 * the id cookie NAME: read once, the entries it stores kept for
 * ngx_http_ab_assignment_compute(), new ones added, and the cookie sent
 * again when what it holds changed. A leaf: which variant to show is
 * ngx_http_ab_request.c's business, the format and the MAC ab_sticky.c's.
 */

#include "ngx_http_ab_module.h"


char *
ngx_http_ab_sticky_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_main_conf_t  *mcf = conf;

    ngx_str_t  *value;

    if (mcf->sticky_secret) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_ab_key_load(cf, cmd, &value[1], mcf->sticky_key)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    mcf->sticky_secret = 1;

    return NGX_CONF_OK;
}


/*
 * Once the http block is read (ab_sticky_secret may come after the
 * experiments): every sticky experiment has the key, and a tag of its
 * own, and the cookie has room for all of them, so that storing an entry
 * never fails on a request.
 */
char *
ngx_http_ab_sticky_init_conf(ngx_conf_t *cf, ngx_http_ab_main_conf_t *mcf)
{
    ngx_uint_t                  i, j;
    ngx_http_ab_experiment_t   *exp, **sticky, **p;

    exp = mcf->experiments.elts;

    for (i = 0; i < mcf->experiments.nelts; i++) {
        if (!exp[i].sticky) {
            continue;
        }

        if (!mcf->sticky_secret) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"sticky on\" in ab_experiment \"%V\" needs "
                          "the \"ab_sticky_secret\" directive in %s:%ui",
                          &exp[i].name, exp[i].sticky_file,
                          exp[i].sticky_line);
            return NGX_CONF_ERROR;
        }

        if (mcf->sticky.nelts == AB_STICKY_MAX) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "too many sticky experiments at ab_experiment "
                          "\"%V\": the sticky cookie holds %d in %s:%ui",
                          &exp[i].name, AB_STICKY_MAX, exp[i].sticky_file,
                          exp[i].sticky_line);
            return NGX_CONF_ERROR;
        }

        sticky = mcf->sticky.elts;

        for (j = 0; j < mcf->sticky.nelts; j++) {
            if (sticky[j]->sticky_tag == exp[i].sticky_tag) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "sticky tag of ab_experiment \"%V\" equals "
                              "that of ab_experiment \"%V\": change the "
                              "\"version\" of one in %s:%ui", &exp[i].name,
                              &sticky[j]->name, exp[i].sticky_file,
                              exp[i].sticky_line);
                return NGX_CONF_ERROR;
            }
        }

        p = ngx_array_push(&mcf->sticky);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        *p = &exp[i];
    }

    return NGX_CONF_OK;
}


/*
 * Keeps the entries a configured sticky experiment can use: its current
 * tag and one of its variants. The others (a `version` bumped, an
 * experiment removed or no longer sticky, variants removed) are dropped,
 * and the cookie is sent again without them, so that it never holds more
 * than the experiments configured.
 */
static void
ngx_http_ab_sticky_prune(ngx_http_request_t *r, ngx_http_ab_main_conf_t *mcf,
    ngx_http_ab_sticky_t *st)
{
    size_t                      i, n = 0;
    ngx_uint_t                  j;
    ab_sticky_entry_t          *e;
    ngx_http_ab_experiment_t  **sticky, *exp;

    sticky = mcf->sticky.elts;

    for (i = 0; i < st->stored.n; i++) {
        e = &st->stored.e[i];
        exp = NULL;

        for (j = 0; j < mcf->sticky.nelts; j++) {
            if (sticky[j]->sticky_tag == e->tag) {
                exp = sticky[j];
                break;
            }
        }

        if (exp == NULL) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "ab: sticky entry of tag %08xD dropped: no "
                           "sticky experiment has it", e->tag);
            continue;
        }

        if (e->variant >= exp->variants.nelts) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "ab: \"%V\" sticky entry dropped: variant %ui "
                           "is gone", &exp->name, (ngx_uint_t) e->variant);
            continue;
        }

        st->stored.e[n++] = *e;
    }

    if (n != st->stored.n) {
        st->stored.n = n;
        st->changed = 1;
    }
}


/* The id's pass over the Cookie header found a sticky cookie: kept as
 * sent, for the first sticky experiment that asks for it. */
void
ngx_http_ab_sticky_sent(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_str_t *cookie)
{
    ctx->sticky = ngx_pcalloc(r->pool, sizeof(ngx_http_ab_sticky_t));

    if (ctx->sticky) {
        ctx->sticky->cookie = *cookie;
    }
}


/* The sticky cookie, the first time a sticky experiment asks for it. */
ngx_http_ab_sticky_t *
ngx_http_ab_sticky_compute(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    ngx_str_t                *value;
    ab_sticky_status_t        rc;
    ngx_http_ab_sticky_t     *st;
    ngx_http_ab_main_conf_t  *mcf;

#if (NGX_DEBUG)
    static const char  *invalid[] = {
        "", "malformed", "oversized", "forged"
    };
#endif

    st = ctx->sticky;

    if (st == NULL) {
        st = ngx_pcalloc(r->pool, sizeof(ngx_http_ab_sticky_t));
        if (st == NULL) {
            return NULL;
        }

        ctx->sticky = st;
    }

    st->read = 1;
    value = &st->cookie;

    if (value->data == NULL) {
        return st;
    }

    /* the MAC covers the id: nothing sent can be valid for one minted now */
    if (ctx->uid_state == NGX_HTTP_AB_UID_MINTED) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: sticky cookie ignored: the visitor id is new");
        st->changed = 1;
        return st;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    rc = ab_sticky_parse(mcf->sticky_key, (char *) ctx->uid.data,
                         ctx->uid.len, (char *) value->data, value->len,
                         &st->stored);

    if (rc != AB_STICKY_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: sticky cookie ignored: %s", invalid[rc]);
        st->changed = 1;
        return st;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: sticky cookie read, entries: %uz", st->stored.n);

    ngx_http_ab_sticky_prune(r, mcf, st);

    return st;
}


/* Stores variant k of exp, which the sticky cookie did not hold. */
void
ngx_http_ab_sticky_store(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_http_ab_experiment_t *exp, ngx_uint_t k)
{
    /* cannot fail: the cookie has room for every sticky experiment
     * (ngx_http_ab_sticky_init_conf()) and holds no others */
    if (ab_sticky_put(&ctx->sticky->stored, exp->sticky_tag, k) <= 0) {
        return;
    }

    ctx->sticky->changed = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: \"%V\" sticky: variant \"%V\" stored", &exp->name,
                   &((ngx_http_ab_variant_t *) exp->variants.elts)[k].name);

    /* assigned by a filter after ours (add_header): the header is still
     * being built, so the cookie goes on it now */
    if (ctx->header_filtered) {
        (void) ngx_http_ab_sticky_issue(r, ctx);
    }
}


/*
 * Set-Cookie for the sticky cookie, with the attributes of the id cookie.
 * One per response: a value made later on the same header (see
 * ngx_http_ab_sticky_store()) replaces the one made before.
 */
ngx_int_t
ngx_http_ab_sticky_issue(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    ngx_str_t                 value;
    ngx_table_elt_t          *h;
    ngx_http_ab_sticky_t     *st = ctx->sticky;
    ngx_http_ab_main_conf_t  *mcf;

    r = r->main;

    if (r->header_sent) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: sticky cookie not sent: the header is out");
        return NGX_OK;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    value.data = ngx_pnalloc(r->pool, AB_STICKY_VALUE_MAX);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    /* 0 only for an id longer than any valid one */
    value.len = ab_sticky_format(mcf->sticky_key, (char *) ctx->uid.data,
                                 ctx->uid.len, &st->stored,
                                 (char *) value.data);
    if (value.len == 0) {
        return NGX_OK;
    }

    h = ngx_http_ab_add_cookie(r, ngx_http_ab_visitor_cookie(r, ctx),
                               AB_STICKY_SUFFIX, &value);
    if (h == NULL) {
        return NGX_ERROR;
    }

    /* a header of hash 0 is not sent */
    if (st->header) {
        st->header->hash = 0;
    }

    st->header = h;
    st->changed = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: sticky cookie set, entries: %uz", st->stored.n);

    return NGX_OK;
}
