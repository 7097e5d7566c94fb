/*
 * The orchestrator of a request: the context kept on the main request,
 * the one function that assigns a visitor to an experiment, the id,
 * exposures and events, the variables that show them and the header
 * filter that sets the cookies. It asks ngx_http_ab_cookie.c,
 * ngx_http_ab_policy.c, ngx_http_ab_zone.c and ngx_http_ab_events.c;
 * none of them calls back.
 */

#include "ngx_http_ab_module.h"


static ngx_int_t ngx_http_ab_uid_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_uid_new_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ab_uid_source_variable(ngx_http_request_t *r,
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

    { ngx_string("ab_uid_source"), NULL, ngx_http_ab_uid_source_variable, 0,
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


/*
 * Does nothing: the cleanup record is how the context is found again after
 * an internal redirect has zeroed the request's module contexts, as the
 * realip module finds its own.
 */
static void
ngx_http_ab_cleanup(void *data)
{
}


/* No context on the main request yet: found again or created. */
ngx_http_ab_ctx_t *
ngx_http_ab_ctx_compute(ngx_http_request_t *r, ngx_uint_t create)
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

    cln = ngx_pool_cleanup_add(r->pool,
                               size + mcf->key_room + AB_UID_MAX_LEN);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_ab_cleanup;
    p = cln->data;

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

    ngx_http_set_ctx(r, ctx, ngx_http_ab_module);

    return ctx;
}


/*
 * The id of a logged-in visitor (ab_uid_from), or NGX_DECLINED when its
 * value is empty. The cookie's id is left as it is, neither replaced nor
 * minted, so that logging out gives the visitor their cookie id back; the
 * cookies are read for the marker and the sticky cookie only. Written
 * where the hashes want it.
 */
static ngx_int_t
ngx_http_ab_login_uid(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_http_ab_loc_conf_t *lcf, ngx_http_ab_main_conf_t *mcf)
{
    ngx_int_t  rc;
    ngx_str_t  cookie_uid, sticky;

    rc = ngx_http_ab_user_uid(r, lcf->uid_from, ctx->key);

    if (rc == NGX_DECLINED) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: ab_uid_from is empty, the cookie's id is used");
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        ctx->uid_state = NGX_HTTP_AB_UID_NONE;
        return NGX_ERROR;
    }

    if (mcf->cookie_scan) {
        (void) ngx_http_ab_read_cookies(r->main, lcf->cookie,
                                        mcf->cookie_scan, &cookie_uid,
                                        &ctx->marker, &sticky);
        if (sticky.data) {
            ngx_http_ab_sticky_sent(r, ctx, &sticky);
        }
    }

    ctx->uid.data = ctx->key;
    ctx->uid.len = AB_UID_MINTED_LEN;
    ctx->key_uid = 1;
    ctx->uid_state = NGX_HTTP_AB_UID_USER;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: visitor id \"%V\" from the user of ab_uid_from",
                   &ctx->uid);

    return NGX_OK;
}


/*
 * The visitor's id, the first time it is asked for: a logged-in user's
 * (ab_uid_from), else read from the cookie (with the marker and the
 * sticky cookie, in the same pass), else minted, else none. Excluded visitors (bots, no consent) have
 * none: nothing is minted for them, and an id they still carry is neither
 * used nor logged.
 */
ngx_int_t
ngx_http_ab_uid_compute(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_str_t                 sticky;
    ngx_http_ab_loc_conf_t   *lcf;
    ngx_http_ab_main_conf_t  *mcf;

    ngx_http_ab_policy(r, ctx);

    if (ctx->excluded) {
        ctx->uid_state = NGX_HTTP_AB_UID_NONE;
        return NGX_DECLINED;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    if (lcf->uid_from != NULL) {
        rc = ngx_http_ab_login_uid(r, ctx, lcf, mcf);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    rc = ngx_http_ab_read_cookies(r->main, lcf->cookie, mcf->cookie_scan,
                                  &ctx->uid, &ctx->marker, &sticky);

    if (sticky.data) {
        ngx_http_ab_sticky_sent(r, ctx, &sticky);
    }

    if (rc == NGX_OK) {
        ctx->uid_state = NGX_HTTP_AB_UID_COOKIE;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: visitor id \"%V\" from cookie \"%V\"",
                       &ctx->uid, &lcf->cookie->name);
        return NGX_OK;
    }

    /* An id nobody can be given back is worse than none: after the header
     * has gone out, the visitor simply has no id on this request. Minted
     * straight where the hashes want it (ngx_http_ab_key_uid()). */
    if (r->main->header_sent || ngx_http_ab_mint_uid(ctx->key) != NGX_OK) {
        ctx->uid_state = NGX_HTTP_AB_UID_NONE;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: no valid \"%V\" cookie and no id minted: %s",
                       &lcf->cookie->name,
                       r->main->header_sent ? "the header is sent"
                                            : "no random bytes");
        return NGX_DECLINED;
    }

    ctx->uid.data = ctx->key;
    ctx->uid.len = AB_UID_MINTED_LEN;
    ctx->key_uid = 1;
    ctx->uid_state = NGX_HTTP_AB_UID_MINTED;
    ctx->mint_cookie = lcf->cookie;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: no valid \"%V\" cookie, minted visitor id \"%V\"",
                   &lcf->cookie->name, &ctx->uid);

    /* minted by a filter after ours (add_header): the header is still
     * being built, so the cookie goes on it now */
    if (ctx->header_filtered) {
        return ngx_http_ab_set_cookie(r->main, ctx->mint_cookie, NULL,
                                      &ctx->uid);
    }

    return NGX_OK;
}


/* The assignment of experiment i is k (a variant, or NOT_ENROLLED). */
static ngx_inline ngx_int_t
ngx_http_ab_assigned(ngx_http_ab_ctx_t *ctx, ngx_uint_t i, ngx_int_t k,
    ngx_uint_t flags)
{
    ctx->assigned[i] = (int16_t) k;
    ctx->flags[i] |= NGX_HTTP_AB_ASSIGNED | flags;

    return k;
}


/*
 * The variant experiment i shows this visitor, or NOT_ENROLLED (nothing to
 * show), decided in the order of docs/assignment.md's "Order of
 * decisions". Only a real assignment is ENROLLED (counted, exposed); a QA
 * pin is FORCED; excluded and held-out visitors see the baseline, variant
 * 0, without being enrolled.
 */
ngx_int_t
ngx_http_ab_assignment_compute(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_uint_t i)
{
    int                        stored;
    uint32_t                   b;
    ngx_int_t                  k;
    ngx_http_ab_sticky_t      *st = NULL;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    exp = (ngx_http_ab_experiment_t *) mcf->experiments.elts + i;

    ngx_http_ab_policy(r, ctx);

    /* 1. ab_force, where ab_force_allow lets it: the pinned variant */
    if (ctx->flags[i] & NGX_HTTP_AB_FORCED) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: \"%V\" forced, not enrolled", &exp->name);
        return ngx_http_ab_assigned(ctx, i, ctx->assigned[i], 0);
    }

    /* 2. ab_exclude: the baseline */
    if (ctx->excluded) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: \"%V\" baseline, not enrolled: excluded",
                       &exp->name);
        return ngx_http_ab_assigned(ctx, i, 0, 0);
    }

    /* 3. no id, and too late to mint one: nothing */
    if (ngx_http_ab_uid(r, ctx) != NGX_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: \"%V\" not enrolled: no id", &exp->name);
        return ngx_http_ab_assigned(ctx, i, NGX_HTTP_AB_NOT_ENROLLED, 0);
    }

    /* 4. the global holdout: the baseline */
    if (ngx_http_ab_holdout(r, ctx)) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: \"%V\" baseline, not enrolled: holdout",
                       &exp->name);
        return ngx_http_ab_assigned(ctx, i, 0, 0);
    }

    /* 5. outside the experiment's range of its layer: nothing */
    if (exp->layer.len && !ngx_http_ab_in_layer(r, exp, ctx)) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: \"%V\" not enrolled: outside its range of "
                       "layer \"%V\"", &exp->name, &exp->layer);
        return ngx_http_ab_assigned(ctx, i, NGX_HTTP_AB_NOT_ENROLLED, 0);
    }

    /* 6. outside traffic: nothing (the variant bucket of step 8 is drawn
     * with the traffic bucket: the two hashes share the salt copied once) */
    k = ab_assign_before((char *) exp->salt.data, exp->salt.len,
                         (uint32_t) exp->traffic, exp->bounds,
                         exp->variants.nelts,
                         (char *) ngx_http_ab_key_uid(ctx), ctx->uid.len, &b);

    if (k < 0) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: \"%V\" not enrolled: traffic bucket %uD, "
                       "traffic %i", &exp->name, b, exp->traffic);
        return ngx_http_ab_assigned(ctx, i, NGX_HTTP_AB_NOT_ENROLLED, 0);
    }

    /* 7. sticky on: the variant stored in the visitor's sticky cookie */
    if (exp->sticky) {
        st = ngx_http_ab_sticky(r, ctx);
        stored = st ? ab_sticky_variant(&st->stored, exp->sticky_tag) : -1;

        if (stored >= 0) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "ab: \"%V\" enrolled in \"%V\": sticky: stored "
                           "variant used", &exp->name,
                           &((ngx_http_ab_variant_t *) exp->variants.elts)
                               [stored].name);
            return ngx_http_ab_assigned(ctx, i, stored, NGX_HTTP_AB_ENROLLED);
        }
    }

    /* 8. else the variant of the variant bucket: enrolled, and stored if
     * sticky */
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: \"%V\" enrolled in \"%V\": variant bucket %uD",
                   &exp->name,
                   &((ngx_http_ab_variant_t *) exp->variants.elts)[k].name,
                   b);

    if (st) {
        ngx_http_ab_sticky_store(r, ctx, exp, k);
    }

    return ngx_http_ab_assigned(ctx, i, k, NGX_HTTP_AB_ENROLLED);
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

    ctx = ngx_http_ab_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_ab_uid(r, ctx) != NGX_OK) {
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

    ctx = ngx_http_ab_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_http_ab_uid(r, ctx);

    if (ctx->uid_state == NGX_HTTP_AB_UID_MINTED) {
        ngx_http_ab_set_value(v, (u_char *) "1", 1);

    } else {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
    }

    return NGX_OK;
}


/* Where the id came from: user, cookie or new; empty when there is none. */
static ngx_int_t
ngx_http_ab_uid_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_ab_ctx_t  *ctx;

    static ngx_str_t  source[] = {
        ngx_null_string,                    /* UNKNOWN: not after uid() */
        ngx_string("cookie"),
        ngx_string("new"),
        ngx_null_string,                    /* NONE */
        ngx_string("user")
    };

    ctx = ngx_http_ab_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_http_ab_uid(r, ctx);

    ngx_http_ab_set_value(v, source[ctx->uid_state].data,
                          source[ctx->uid_state].len);

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

    ctx = ngx_http_ab_ctx(r, 1);
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

    ctx = ngx_http_ab_ctx(r, 0);

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

    ctx = ngx_http_ab_ctx(r, 0);

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

    ctx = ngx_http_ab_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_ab_policy(r, ctx);

    if (!ctx->excluded && ngx_http_ab_uid(r, ctx) == NGX_OK
        && ngx_http_ab_holdout(r, ctx))
    {
        ngx_http_ab_set_value(v, (u_char *) "1", 1);

    } else {
        ngx_http_ab_set_value(v, (u_char *) "", 0);
    }

    return NGX_OK;
}


/* The rewrite phase: the exposure points (`ab`) of the location. */
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

    ctx = ngx_http_ab_ctx(r, 1);
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

        if (ctx->flags[e] & NGX_HTTP_AB_FORCED) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "ab: \"%V\" exposed, forced: not counted",
                           &pt[i].name);
            continue;
        }

        if (mcf->counters && ngx_http_ab_count_exposure(r, ctx, e, k)) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "ab: \"%V\" exposed, the visitor's first "
                           "exposure", &pt[i].name);
            continue;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: \"%V\" exposed", &pt[i].name);
    }

    return NGX_DECLINED;
}


/*
 * Events of one batch (the storefront's response header, or the beacon):
 * appended to $ab_events, and counted live for every experiment the
 * visitor is really enrolled in, exposed yet or not (abstat applies the
 * exposure rules). `claim`: new names may take live event slots
 * (ngx_http_ab_count_events()).
 */
ngx_int_t
ngx_http_ab_record_events(ngx_http_request_t *r, ab_events_t *ev,
    ngx_uint_t claim)
{
    u_char                   *p;
    ngx_int_t                 k;
    ngx_str_t                 batch;
    ngx_uint_t                e;
    ngx_http_ab_ctx_t        *ctx;
    ngx_http_ab_main_conf_t  *mcf;

    ctx = ngx_http_ab_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->events_invalid += ev->invalid;

    if (ev->len == 0) {
        return NGX_OK;
    }

    if (ctx->events.len) {
        /* a second batch (an internal redirect): append */
        p = ngx_pnalloc(r->pool, ctx->events.len + 1 + ev->len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, ctx->events.data, ctx->events.len);
        p[ctx->events.len] = ',';
        ngx_memcpy(p + ctx->events.len + 1, ev->out, ev->len);
        ctx->events.data = p;
        ctx->events.len += 1 + ev->len;

    } else {
        ctx->events.data = (u_char *) ev->out;
        ctx->events.len = ev->len;
    }

    /* the visitor the events belong to: minted now if it has no id yet */
    (void) ngx_http_ab_uid(r, ctx);

    batch.data = (u_char *) ev->out;
    batch.len = ev->len;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: events \"%V\" recorded for visitor \"%V\"",
                   &batch, &ctx->uid);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    if (mcf->counters == NULL) {
        return NGX_OK;
    }

    for (e = 0; e < mcf->experiments.nelts; e++) {
        k = ngx_http_ab_assignment(r, ctx, e);

        if ((ctx->flags[e] & (NGX_HTTP_AB_ENROLLED|NGX_HTTP_AB_FORCED))
            == NGX_HTTP_AB_ENROLLED)
        {
            ngx_http_ab_count_events(r, e, k, &batch, claim);
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ab_header_filter(ngx_http_request_t *r)
{
    ab_events_t         ev;
    ngx_int_t           rc;
    ngx_http_ab_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    /* events first: recording them may mint the visitor's id */
    if (r->upstream) {
        rc = ngx_http_ab_upstream_events(r, &ev);

        if (rc == NGX_ERROR
            || (rc == NGX_OK && ngx_http_ab_record_events(r, &ev, 1)
                                != NGX_OK))
        {
            return NGX_ERROR;
        }
    }

    ctx = ngx_http_ab_ctx(r, 0);

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

    if (ctx->sticky && ctx->sticky->changed
        && ngx_http_ab_sticky_issue(r, ctx) != NGX_OK)
    {
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
