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
static ngx_int_t ngx_http_ab_events_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_holdout_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_utf8_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_header_filter(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

/* See NGX_HTTP_AB_FILTERED. */
u_char  ngx_http_ab_filtered_mark;


/* Values change while a request runs (an exposure point, a minted id), so
 * none is cached by nginx; the context caches what is costly. */
static ngx_http_variable_t  ngx_http_ab_vars[] = {

    { ngx_string("ab_uid"), NULL, ngx_http_ab_uid_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_uid_new"), NULL, ngx_http_ab_uid_new_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_exposures"), NULL, ngx_http_ab_exposures_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_forced"), NULL, ngx_http_ab_exposures_variable,
      NGX_HTTP_AB_FORCED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_events"), NULL, ngx_http_ab_events_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_events_invalid"), NULL, ngx_http_ab_events_variable, 1,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ab_holdout"), NULL, ngx_http_ab_holdout_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* $request_uri and the User-Agent as valid UTF-8, for JSON logs */
    { ngx_string("ab_uri"), NULL, ngx_http_ab_utf8_variable, 0, 0, 0 },

    { ngx_string("ab_ua"), NULL, ngx_http_ab_utf8_variable, 1, 0, 0 },

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


/* The slow path of ngx_http_ab_get_ctx(): no context on the request yet. */
ngx_http_ab_ctx_t *
ngx_http_ab_find_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    size_t                    n, size;
    u_char                   *p;
    ngx_uint_t                filtered = 0;
    ngx_pool_cleanup_t       *cln;
    ngx_http_ab_ctx_t        *ctx;
    ngx_http_ab_main_conf_t  *mcf;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ab_module);

    if (ctx == NGX_HTTP_AB_FILTERED) {
        if (!create) {
            return NULL;
        }

        filtered = 1;

    } else if (ctx) {
        return ctx;

    } else if (r->internal) {
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

    /* the context, its per-experiment arrays (all zero: nothing assigned
     * yet) and the key buffer of the hashes in one allocation */
    size = sizeof(ngx_http_ab_ctx_t)
           + n * (sizeof(ngx_uint_t) + sizeof(int16_t) + 1);

    p = ngx_palloc(r->pool, size + mcf->key_room + AB_UID_MAX_LEN);
    if (p == NULL) {
        return NULL;
    }

    ngx_memzero(p, size);

    ctx = (ngx_http_ab_ctx_t *) p;
    p += sizeof(ngx_http_ab_ctx_t);
    ctx->exposure_order = (ngx_uint_t *) p;
    p += n * sizeof(ngx_uint_t);
    ctx->assigned = (int16_t *) p;
    p += n * sizeof(int16_t);
    ctx->flags = p;
    p += n;
    ctx->key = p + mcf->key_room;
    ctx->nexperiments = n;
    ctx->header_filtered = filtered;

    /* no holdout: nothing to hash for it */
    ctx->holdout_done = (mcf->holdout <= 0);

    /* the marker kept in the context itself: what ngx_pool_cleanup_add()
     * does, without an allocation of its own */
    ctx->cleanup.handler = ngx_http_ab_cleanup;
    ctx->cleanup.data = ctx;
    ctx->cleanup.next = r->pool->cleanup;
    r->pool->cleanup = &ctx->cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_ab_module);

    return ctx;
}


/*
 * The slow path of ngx_http_ab_assignment(): the variant experiment i
 * shows this visitor, or NOT_ENROLLED (nothing to show: no id, outside
 * traffic or outside its layer range). Sets ctx->flags[i]: ENROLLED only
 * for a real assignment, FORCED for a QA pin (set with the variant by the
 * policy); excluded and holdout visitors see the baseline without being
 * enrolled.
 */
ngx_int_t
ngx_http_ab_assign(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_uint_t i)
{
    int                        k;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    ngx_http_ab_apply_policy(r, ctx);

    if (ctx->flags[i] & NGX_HTTP_AB_ASSIGNED) {
        return ctx->assigned[i];
    }

    ctx->flags[i] |= NGX_HTTP_AB_ASSIGNED;

    if (ctx->excluded) {
        ctx->assigned[i] = 0;
        return 0;
    }

    if (ngx_http_ab_resolve_uid(r, ctx) != NGX_OK) {
        ctx->assigned[i] = NGX_HTTP_AB_NOT_ENROLLED;
        return NGX_HTTP_AB_NOT_ENROLLED;
    }

    if (ngx_http_ab_in_holdout(r, ctx)) {
        ctx->assigned[i] = 0;
        return 0;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    exp = (ngx_http_ab_experiment_t *) mcf->experiments.elts + i;

    if (!ngx_http_ab_in_layer(r, exp, ctx)) {
        ctx->assigned[i] = NGX_HTTP_AB_NOT_ENROLLED;
        return NGX_HTTP_AB_NOT_ENROLLED;
    }

    k = ab_assign_before((char *) exp->salt.data, exp->salt.len,
                         (uint32_t) exp->traffic, exp->bounds,
                         exp->variants.nelts,
                         (char *) ngx_http_ab_key_uid(ctx), ctx->uid.len,
                         NULL);

    if (k >= 0) {
        ctx->flags[i] |= NGX_HTTP_AB_ENROLLED;
    }

    ctx->assigned[i] = (int16_t) k;

    return k;
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


/* The "experiment:variant" pair of exposure i. */
static ngx_inline ngx_str_t *
ngx_http_ab_pair(ngx_http_ab_experiment_t *exp, ngx_http_ab_ctx_t *ctx,
    ngx_uint_t e)
{
    return &((ngx_http_ab_variant_t *) exp[e].variants.elts
             + ctx->assigned[e])->pair;
}


/* "exp:variant" joined by ",", of the exposures with (data = FORCED) or
 * without (data = 0) the FORCED flag, in the order they happened. */
static ngx_int_t
ngx_http_ab_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                    *p, *start;
    size_t                     len = 0;
    ngx_str_t                 *pair, *last = NULL;
    ngx_uint_t                 i, e, n = 0;
    ngx_http_ab_ctx_t         *ctx;
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
        if ((ctx->flags[e] & NGX_HTTP_AB_FORCED) == data) {
            last = ngx_http_ab_pair(exp, ctx, e);
            len += last->len + 1;
            n++;
        }
    }

    if (n <= 1) {
        /* the usual case: one pair, made at configuration time */
        if (n == 0) {
            ngx_http_ab_set_value(v, (u_char *) "", 0);
        } else {
            ngx_http_ab_set_value(v, last->data, last->len);
        }

        return NGX_OK;
    }

    start = ngx_pnalloc(r->pool, len);
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;

    for (i = 0; i < ctx->nexposures; i++) {
        e = ctx->exposure_order[i];
        if ((ctx->flags[e] & NGX_HTTP_AB_FORCED) == data) {
            pair = ngx_http_ab_pair(exp, ctx, e);
            if (p != start) {
                *p++ = ',';
            }
            p = ngx_copy(p, pair->data, pair->len);
        }
    }

    ngx_http_ab_set_value(v, start, p - start);

    return NGX_OK;
}


static ngx_int_t
ngx_http_ab_events_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char             *p;
    ngx_http_ab_ctx_t  *ctx;

    ctx = ngx_http_ab_get_ctx(r, 0);

    if (ctx == NULL) {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
        return NGX_OK;
    }

    if (data == 0) {
        ngx_http_ab_set_value(v, ctx->events.data, ctx->events.len);
        return NGX_OK;
    }

    if (ctx->events_invalid == 0) {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_ab_set_value(v, p, ngx_sprintf(p, "%ui", ctx->events_invalid)
                                - p);

    return NGX_OK;
}


static ngx_int_t
ngx_http_ab_holdout_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_ab_ctx_t  *ctx;

    ctx = ngx_http_ab_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_ab_apply_policy(r, ctx);

    if (!ctx->excluded && ngx_http_ab_resolve_uid(r, ctx) == NGX_OK
        && ngx_http_ab_in_holdout(r, ctx))
    {
        ngx_http_ab_set_value(v, (u_char *) "1", 1);

    } else {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_ab_exposure_handler(ngx_http_request_t *r)
{
    ngx_int_t                 k;
    ngx_uint_t                i, e;
    ngx_http_ab_ctx_t        *ctx;
    ngx_http_ab_point_t      *pt;
    ngx_http_ab_loc_conf_t   *lcf;
    ngx_http_ab_main_conf_t  *mcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    if (lcf->points == NULL || lcf->points == NGX_CONF_UNSET_PTR) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_ab_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    pt = lcf->points->elts;

    for (i = 0; i < lcf->points->nelts; i++) {
        e = pt[i].experiment;

        if (ctx->flags[e] & NGX_HTTP_AB_EXPOSED) {
            continue;
        }

        if (pt[i].cond && !ngx_http_ab_cv_true(r, pt[i].cond)) {
            continue;
        }

        k = ngx_http_ab_assignment(r, ctx, e);

        /* excluded, holdout and untargeted visitors are not exposed;
         * forced ones are, but only into $ab_forced */
        if (!(ctx->flags[e] & (NGX_HTTP_AB_ENROLLED|NGX_HTTP_AB_FORCED))) {
            continue;
        }

        ctx->flags[e] |= NGX_HTTP_AB_EXPOSED;
        ctx->exposure_order[ctx->nexposures++] = e;

        if (!(ctx->flags[e] & NGX_HTTP_AB_FORCED) && mcf->counters) {
            ngx_http_ab_count_exposure(r, ctx, e, k);
        }
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

    /* events first: capturing them may mint the visitor's id */
    if (r->upstream && ngx_http_ab_capture_events(r) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx = ngx_http_ab_get_ctx(r, 0);

    if (ctx == NULL) {
        ngx_http_set_ctx(r, NGX_HTTP_AB_FILTERED, ngx_http_ab_module);
        return ngx_http_next_header_filter(r);
    }

    ctx->header_filtered = 1;

    if (ctx->uid_state == NGX_HTTP_AB_UID_MINTED
        && ngx_http_ab_set_cookie(r, ctx->mint_cookie, NULL, &ctx->uid)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->first_exposures && ngx_http_ab_set_marker(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


/*
 * escape=json escapes quotes and control characters but copies bytes that
 * are not UTF-8 through, and a strict JSON reader rejects such a line:
 * these variables replace each invalid byte with U+FFFD. Valid input, the
 * rule, is returned as it is, without a copy.
 */
static ngx_int_t
ngx_http_ab_utf8_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   src;

    if (data == 0) {
        src = r->main->unparsed_uri;

    } else if (r->headers_in.user_agent) {
        src = r->headers_in.user_agent->value;

    } else {
        ngx_str_null(&src);
    }

    len = ab_utf8_sanitized_len(src.data, src.len);

    if (len == src.len) {
        ngx_http_ab_set_value(v, src.data, src.len);
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_ab_set_value(v, p, ab_utf8_sanitize(src.data, src.len, p));

    return NGX_OK;
}


ngx_int_t
ngx_http_ab_header_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_ab_header_filter;

    return NGX_OK;
}
