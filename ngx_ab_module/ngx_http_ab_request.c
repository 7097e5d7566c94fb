/*
 * Per-request side: the context kept on the main request, the variables,
 * the exposure phase handler and the header filter that sets the cookie.
 */

#include "ngx_http_ab_module.h"


static ngx_int_t ngx_http_ab_uid_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_uid_new_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_header_filter(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/* Values change while a request runs (an exposure point, a minted id), so
 * none is cached by nginx; the context caches what is costly. */
static ngx_http_variable_t  ngx_http_ab_vars[] = {

    { ngx_string("ab_uid"), NULL, ngx_http_ab_uid_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_uid_new"), NULL, ngx_http_ab_uid_new_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_exposures"), NULL, ngx_http_ab_exposures_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_ab_add_core_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_ab_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void
ngx_http_ab_cleanup(void *data)
{
    /* Only a marker: it lets the context be found again after an internal
     * redirect has zeroed the request's module contexts. */
}


ngx_http_ab_ctx_t *
ngx_http_ab_get_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    size_t                    n;
    u_char                   *p;
    ngx_uint_t                i;
    ngx_pool_cleanup_t       *cln;
    ngx_http_ab_ctx_t        *ctx;
    ngx_http_ab_main_conf_t  *mcf;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ab_module);
    if (ctx) {
        return ctx;
    }

    if (r->internal) {
        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_ab_cleanup) {
                ctx = cln->data;
                ngx_http_set_ctx(r, ctx, ngx_http_ab_module);
                return ctx;
            }
        }
    }

    if (!create) {
        return NULL;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    n = mcf->experiments.nelts;

    /* the context and its per-experiment arrays in one allocation */
    p = ngx_pcalloc(r->pool, sizeof(ngx_http_ab_ctx_t)
                             + n * (sizeof(ngx_uint_t) + sizeof(int16_t) + 1));
    if (p == NULL) {
        return NULL;
    }

    ctx = (ngx_http_ab_ctx_t *) p;
    p += sizeof(ngx_http_ab_ctx_t);
    ctx->exposure_order = (ngx_uint_t *) p;
    p += n * sizeof(ngx_uint_t);
    ctx->assigned = (int16_t *) p;
    p += n * sizeof(int16_t);
    ctx->exposed = p;
    ctx->nexperiments = n;

    for (i = 0; i < n; i++) {
        ctx->assigned[i] = NGX_HTTP_AB_UNASSIGNED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_ab_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_ab_module);

    return ctx;
}


/* The visitor's variant of experiment i, or NOT_ENROLLED; NGX_ERROR-free:
 * a visitor without an id is simply not enrolled. */
static ngx_int_t
ngx_http_ab_assignment(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_uint_t i)
{
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    if (ctx->assigned[i] != NGX_HTTP_AB_UNASSIGNED) {
        return ctx->assigned[i];
    }

    if (ngx_http_ab_resolve_uid(r, ctx) != NGX_OK) {
        return NGX_HTTP_AB_NOT_ENROLLED;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    exp = (ngx_http_ab_experiment_t *) mcf->experiments.elts + i;

    ctx->assigned[i] = (int16_t) ab_assign((char *) exp->salt.data,
                                           exp->salt.len,
                                           (uint32_t) exp->traffic,
                                           exp->bounds,
                                           exp->variants.nelts,
                                           (char *) ctx->uid.data,
                                           ctx->uid.len);

    return ctx->assigned[i];
}


static void
ngx_http_ab_set_value(ngx_http_variable_value_t *v, u_char *data, size_t len)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
}


static ngx_int_t
ngx_http_ab_uid_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_http_ab_ctx_t  *ctx;

    ctx = ngx_http_ab_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_ab_resolve_uid(r, ctx) != NGX_OK) {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
        return NGX_OK;
    }

    ngx_http_ab_set_value(v, ctx->uid.data, ctx->uid.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_ab_uid_new_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_ab_ctx_t  *ctx;

    ctx = ngx_http_ab_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_http_ab_resolve_uid(r, ctx);

    if (ctx->uid_state == NGX_HTTP_AB_UID_MINTED) {
        ngx_http_ab_set_value(v, (u_char *) "1", 1);

    } else {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_ab_experiment_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t                  k;
    ngx_http_ab_ctx_t         *ctx;
    ngx_http_ab_variant_t     *var;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    ctx = ngx_http_ab_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    k = ngx_http_ab_assignment(r, ctx, data);

    if (k < 0) {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
        return NGX_OK;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    exp = (ngx_http_ab_experiment_t *) mcf->experiments.elts + data;
    var = (ngx_http_ab_variant_t *) exp->variants.elts + k;

    ngx_http_ab_set_value(v, var->name.data, var->name.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_ab_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                    *p;
    size_t                     len = 0;
    ngx_uint_t                 i, e;
    ngx_http_ab_ctx_t         *ctx;
    ngx_http_ab_variant_t     *var;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    ctx = ngx_http_ab_get_ctx(r, 0);

    if (ctx == NULL || ctx->nexposures == 0) {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
        return NGX_OK;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    exp = mcf->experiments.elts;

    for (i = 0; i < ctx->nexposures; i++) {
        e = ctx->exposure_order[i];
        var = (ngx_http_ab_variant_t *) exp[e].variants.elts
              + ctx->assigned[e];
        len += exp[e].name.len + 1 + var->name.len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_ab_set_value(v, p, len - 1);

    for (i = 0; i < ctx->nexposures; i++) {
        e = ctx->exposure_order[i];
        var = (ngx_http_ab_variant_t *) exp[e].variants.elts
              + ctx->assigned[e];

        if (i) {
            *p++ = ',';
        }

        p = ngx_copy(p, exp[e].name.data, exp[e].name.len);
        *p++ = ':';
        p = ngx_copy(p, var->name.data, var->name.len);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_ab_exposure_handler(ngx_http_request_t *r)
{
    ngx_uint_t               i;
    ngx_http_ab_ctx_t       *ctx;
    ngx_http_ab_point_t     *pt;
    ngx_http_ab_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    if (lcf->points == NULL || lcf->points == NGX_CONF_UNSET_PTR) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_ab_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pt = lcf->points->elts;

    for (i = 0; i < lcf->points->nelts; i++) {
        if (ctx->exposed[pt[i].experiment]) {
            continue;
        }

        if (ngx_http_ab_assignment(r, ctx, pt[i].experiment) < 0) {
            continue;
        }

        ctx->exposed[pt[i].experiment] = 1;
        ctx->exposure_order[ctx->nexposures++] = pt[i].experiment;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_ab_header_filter(ngx_http_request_t *r)
{
    ngx_http_ab_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_ab_get_ctx(r, 0);

    if (ctx && ctx->uid_state == NGX_HTTP_AB_UID_MINTED
        && ngx_http_ab_set_cookie(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


ngx_int_t
ngx_http_ab_header_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_ab_header_filter;

    return NGX_OK;
}
