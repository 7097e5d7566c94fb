/*
 * Who may be enrolled: QA overrides (ab_force, ab_force_allow), exclusion
 * of bots and visitors without consent (ab_exclude), the global holdout
 * (ab_holdout) and mutually exclusive layers (`layer` in ab_experiment).
 * Answers for ngx_http_ab_request.c, which decides; the bucket math itself
 * is in ab_core.c.
 */

#include "ngx_http_ab_module.h"


static ngx_int_t
ngx_http_ab_find_variant(ngx_http_ab_experiment_t *exp, const char *name,
    size_t len)
{
    ngx_uint_t              k;
    ngx_http_ab_variant_t  *var = exp->variants.elts;

    for (k = 0; k < exp->variants.nelts; k++) {
        if (var[k].name.len == len
            && ngx_strncmp(var[k].name.data, name, len) == 0)
        {
            return k;
        }
    }

    return -1;
}


static void
ngx_http_ab_apply_force(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_http_ab_loc_conf_t *lcf)
{
    size_t                     pos = 0, elen, vlen;
    ngx_int_t                  k, rc;
    ngx_str_t                  list, name;
    ngx_uint_t                 ignored = 0;
    const char                *e, *v, *bad = NULL;
    size_t                     bad_len = 0;
    u_char                     safe[NGX_HTTP_AB_LOG_SAFE_SIZE];
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    if (ngx_http_complex_value(r, lcf->force, &list) != NGX_OK
        || list.len == 0)
    {
        return;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    while ((rc = ab_force_next((char *) list.data, list.len, &pos, &e, &elen,
                               &v, &vlen))
           != 0)
    {
        exp = NULL;
        k = -1;

        if (rc == 1) {
            name.data = (u_char *) e;
            name.len = elen;
            exp = ngx_http_ab_find_experiment(mcf, &name);
            if (exp) {
                k = ngx_http_ab_find_variant(exp, v, vlen);
            }
        }

        if (k < 0) {
            if (ignored++ == 0) {
                bad = e;
                bad_len = rc == 1 ? (size_t) (v + vlen - e) : elen;
            }
            continue;
        }

        /* a pin: ngx_http_ab_assignment_compute() shows it */
        ctx->assigned[exp->index] = (int16_t) k;
        ctx->flags[exp->index] |= NGX_HTTP_AB_FORCED;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: ab_force pins \"%V\" to \"%*s\"",
                       &exp->name, vlen, v);
    }

    if (ignored) {
        /* a QA mistake: worth a warning, and only allowed clients get it */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ab: ignored %ui unknown or malformed item(s) in "
                      "force list, first \"%*s\"", ignored,
                      ngx_http_ab_log_safe(safe, bad, bad_len), safe);
    }
}


void
ngx_http_ab_policy_compute(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    ngx_http_ab_loc_conf_t  *lcf;

    ctx->policy_done = 1;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    if (lcf->force && lcf->force_allow
        && ngx_http_ab_cv_true(r, lcf->force_allow))
    {
        ngx_http_ab_apply_force(r, ctx, lcf);
    }

    if (lcf->exclude && ngx_http_ab_cv_true(r, lcf->exclude)) {
        ctx->excluded = 1;

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "ab: visitor excluded by ab_exclude");
    }
}


ngx_int_t
ngx_http_ab_holdout_compute(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    uint32_t                  b;
    ngx_http_ab_main_conf_t  *mcf;

    ctx->holdout_done = 1;
    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    if (mcf->holdout <= 0) {
        ctx->holdout = 0;
        return 0;
    }

    b = ab_holdout_bucket_before((char *) ngx_http_ab_key_uid(ctx),
                                 ctx->uid.len);
    ctx->holdout = b < (uint32_t) mcf->holdout;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: holdout bucket %uD, holdout %i: %s", b, mcf->holdout,
                   ctx->holdout ? "held out" : "not held out");

    return ctx->holdout;
}


/* Whether the visitor's bucket of the experiment's layer is in its range;
 * for an experiment in a layer, with the id resolved. */
ngx_int_t
ngx_http_ab_in_layer(ngx_http_request_t *r, ngx_http_ab_experiment_t *exp,
    ngx_http_ab_ctx_t *ctx)
{
    uint32_t  b;

    b = ab_layer_bucket_before((char *) exp->layer.data, exp->layer.len,
                               (char *) ngx_http_ab_key_uid(ctx),
                               ctx->uid.len);

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ab: layer \"%V\" bucket %uD, \"%V\" takes [%i, %i)",
                   &exp->layer, b, &exp->name, (ngx_int_t) exp->layer_from,
                   (ngx_int_t) exp->layer_to);

    return b >= (uint32_t) exp->layer_from && b < (uint32_t) exp->layer_to;
}
