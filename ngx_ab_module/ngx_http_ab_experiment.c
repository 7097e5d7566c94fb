/*
 * The ab_experiment block:
 *
 *     ab_experiment checkout_cta {
 *         salt     checkout-cta-2026-11;
 *         traffic  100%;
 *         variant  control  50%;
 *         variant  upsell   50%;
 *         sticky   on;
 *         version  1;
 *     }
 *
 * Each experiment becomes the variable $ab_<name>.
 */

#include "ngx_http_ab_module.h"


static char *ngx_http_ab_experiment_line(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf);
static char *ngx_http_ab_experiment_done(ngx_conf_t *cf,
    ngx_http_ab_experiment_t *exp);


/* Names the module's own variables take; an experiment may not shadow them. */
static ngx_str_t  ngx_http_ab_reserved[] = {
    ngx_string("uid"),
    ngx_string("uid_new"),
    ngx_string("uid_source"),
    ngx_string("exposures"),
    ngx_string("events"),
    ngx_string("events_invalid"),
    ngx_string("forced"),
    ngx_string("holdout"),
    ngx_string("uri"),
    ngx_string("ua"),
    ngx_null_string
};


char *
ngx_http_ab_experiment_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_main_conf_t  *mcf = conf;

    char                      *rv;
    u_char                    *p;
    ngx_str_t                 *value, var;
    ngx_uint_t                 i;
    ngx_conf_t                 save;
    ngx_http_variable_t       *v;
    ngx_http_ab_experiment_t  *exp;

    value = cf->args->elts;

    if (!ab_valid_experiment_name((char *) value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid experiment name \"%V\" in "
                           "\"ab_experiment\" directive", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 0; ngx_http_ab_reserved[i].len; i++) {
        if (ngx_http_ab_reserved[i].len == value[1].len
            && ngx_strncasecmp(ngx_http_ab_reserved[i].data, value[1].data,
                               value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "experiment name \"%V\" collides with "
                               "variable \"$ab_%V\"", &value[1],
                               &ngx_http_ab_reserved[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_ab_find_experiment(mcf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate experiment \"%V\" in \"ab_experiment\" "
                           "directive", &value[1]);
        return NGX_CONF_ERROR;
    }

    exp = ngx_array_push(&mcf->experiments);
    if (exp == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(exp, sizeof(ngx_http_ab_experiment_t));
    exp->name = value[1];
    exp->traffic = -1;
    exp->sticky = NGX_CONF_UNSET;
    exp->version = NGX_CONF_UNSET;
    exp->index = mcf->experiments.nelts - 1;

    if (ngx_array_init(&exp->variants, cf->pool, 4,
                       sizeof(ngx_http_ab_variant_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    save = *cf;
    cf->handler = ngx_http_ab_experiment_line;
    cf->handler_conf = (char *) exp;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    rv = ngx_http_ab_experiment_done(cf, exp);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    var.len = sizeof("ab_") - 1 + exp->name.len;
    var.data = ngx_pnalloc(cf->pool, var.len);
    if (var.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(var.data, "ab_", sizeof("ab_") - 1);
    ngx_memcpy(p, exp->name.data, exp->name.len);

    /* Not changeable: a later `set` or `map` of the same name is an error
     * rather than a silent override of the assignment. */
    v = ngx_http_add_variable(cf, &var, NGX_HTTP_VAR_NOCACHEABLE);
    if (v == NULL) {
        return NGX_CONF_ERROR;
    }

    v->get_handler = ngx_http_ab_experiment_variable;
    v->data = exp->index;

    return NGX_CONF_OK;
}


static char *
ngx_http_ab_experiment_line(ngx_conf_t *cf, ngx_command_t *dummy, void *conf)
{
    ngx_http_ab_experiment_t  *exp = (ngx_http_ab_experiment_t *) conf;

    int64_t                 w;
    ngx_str_t              *value;
    ngx_uint_t              i, nargs;
    ab_weight_kind_t        kind;
    ngx_http_ab_variant_t  *var;

    value = cf->args->elts;
    nargs = cf->args->nelts;

    if (ngx_strcmp(value[0].data, "salt") == 0) {
        if (nargs != 2) {
            goto invalid_args;
        }

        if (exp->salt.data != NULL) {
            goto duplicate;
        }

        if (value[1].len == 0 || value[1].len > AB_SALT_MAX_LEN) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid salt \"%V\" in ab_experiment \"%V\": "
                               "1 to %d bytes", &value[1], &exp->name,
                               AB_SALT_MAX_LEN);
            return NGX_CONF_ERROR;
        }

        exp->salt = value[1];
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "traffic") == 0) {
        if (nargs != 2) {
            goto invalid_args;
        }

        if (exp->traffic != -1) {
            goto duplicate;
        }

        exp->traffic = ab_parse_percent((char *) value[1].data, value[1].len);

        if (exp->traffic < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid traffic \"%V\" in ab_experiment "
                               "\"%V\"", &value[1], &exp->name);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "variant") == 0) {
        if (nargs != 3) {
            goto invalid_args;
        }

        if (!ab_valid_variant_name((char *) value[1].data, value[1].len)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid variant name \"%V\" in ab_experiment "
                               "\"%V\"", &value[1], &exp->name);
            return NGX_CONF_ERROR;
        }

        var = exp->variants.elts;
        for (i = 0; i < exp->variants.nelts; i++) {
            if (var[i].name.len == value[1].len
                && ngx_strncmp(var[i].name.data, value[1].data,
                               value[1].len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate variant \"%V\" in "
                                   "ab_experiment \"%V\"", &value[1],
                                   &exp->name);
                return NGX_CONF_ERROR;
            }
        }

        if (exp->variants.nelts == AB_MAX_VARIANTS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too many variants in ab_experiment \"%V\": "
                               "at most %d", &exp->name, AB_MAX_VARIANTS);
            return NGX_CONF_ERROR;
        }

        w = ab_parse_weight((char *) value[2].data, value[2].len, &kind);
        if (w < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid weight \"%V\" of variant \"%V\" in "
                               "ab_experiment \"%V\"", &value[2], &value[1],
                               &exp->name);
            return NGX_CONF_ERROR;
        }

        if (exp->weight_kind != 0 && exp->weight_kind != kind) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ab_experiment \"%V\" mixes percent and "
                               "relative weights", &exp->name);
            return NGX_CONF_ERROR;
        }

        exp->weight_kind = kind;

        var = ngx_array_push(&exp->variants);
        if (var == NULL) {
            return NGX_CONF_ERROR;
        }

        var->name = value[1];
        var->weight = (uint32_t) w;

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "layer") == 0) {
        if (nargs != 3) {
            goto invalid_args;
        }

        if (exp->layer.data != NULL) {
            goto duplicate;
        }

        if (!ab_valid_experiment_name((char *) value[1].data, value[1].len)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid layer name \"%V\" in ab_experiment "
                               "\"%V\"", &value[1], &exp->name);
            return NGX_CONF_ERROR;
        }

        if (ab_parse_range((char *) value[2].data, value[2].len,
                           &exp->layer_from, &exp->layer_to)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid layer range \"%V\" in ab_experiment "
                               "\"%V\"", &value[2], &exp->name);
            return NGX_CONF_ERROR;
        }

        exp->layer = value[1];
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "sticky") == 0) {
        if (nargs != 2) {
            goto invalid_args;
        }

        if (exp->sticky != NGX_CONF_UNSET) {
            goto duplicate;
        }

        if (ngx_strcmp(value[1].data, "on") == 0) {
            exp->sticky = 1;

        } else if (ngx_strcmp(value[1].data, "off") == 0) {
            exp->sticky = 0;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid sticky \"%V\" in ab_experiment "
                               "\"%V\": \"on\" or \"off\"", &value[1],
                               &exp->name);
            return NGX_CONF_ERROR;
        }

        /* whether it has a key is known once the http block is read */
        exp->sticky_file = cf->conf_file->file.name.data;
        exp->sticky_line = cf->conf_file->line;

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "version") == 0) {
        if (nargs != 2) {
            goto invalid_args;
        }

        if (exp->version != NGX_CONF_UNSET) {
            goto duplicate;
        }

        /* it goes into the sticky tag as 32 bits */
        exp->version = ngx_atoi(value[1].data, value[1].len);

        if (exp->version == NGX_ERROR
            || (uint64_t) exp->version > NGX_MAX_UINT32_VALUE)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid version \"%V\" in ab_experiment "
                               "\"%V\": 0 to 4294967295", &value[1],
                               &exp->name);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown directive \"%V\" in ab_experiment \"%V\"",
                       &value[0], &exp->name);
    return NGX_CONF_ERROR;

invalid_args:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid number of arguments in \"%V\" of "
                       "ab_experiment \"%V\"", &value[0], &exp->name);
    return NGX_CONF_ERROR;

duplicate:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "duplicate \"%V\" in ab_experiment \"%V\"",
                       &value[0], &exp->name);
    return NGX_CONF_ERROR;
}


/* Experiments of one layer share its buckets: their ranges must not
 * overlap, or a visitor could be in two of them. */
static ngx_int_t
ngx_http_ab_layer_overlap(ngx_conf_t *cf, ngx_http_ab_experiment_t *exp)
{
    ngx_uint_t                 i;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *other;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ab_module);
    other = mcf->experiments.elts;

    for (i = 0; i < exp->index; i++) {
        /* case-sensitive, as the layer bucket hashes the name as written */
        if (other[i].layer.len != exp->layer.len
            || ngx_strncmp(other[i].layer.data, exp->layer.data,
                           exp->layer.len) != 0)
        {
            continue;
        }

        if (exp->layer_from < other[i].layer_to
            && other[i].layer_from < exp->layer_to)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "layer \"%V\" range of ab_experiment \"%V\" "
                               "overlaps ab_experiment \"%V\"",
                               &exp->layer, &exp->name, &other[i].name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static char *
ngx_http_ab_experiment_done(ngx_conf_t *cf, ngx_http_ab_experiment_t *exp)
{
    uint32_t               *weights;
    uint64_t                total = 0;
    ngx_uint_t              i, n;
    ngx_http_ab_variant_t  *var;

    n = exp->variants.nelts;
    var = exp->variants.elts;

    if (n < 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ab_experiment \"%V\" needs at least 2 variants",
                           &exp->name);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        total += var[i].weight;
    }

    if (exp->weight_kind == AB_WEIGHT_PERCENT && total != AB_BUCKETS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "variant weights of ab_experiment \"%V\" sum to "
                           "%uL.%02uL%%, not 100%%", &exp->name,
                           total / 100, total % 100);
        return NGX_CONF_ERROR;
    }

    if (total == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "variant weights of ab_experiment \"%V\" sum to "
                           "zero", &exp->name);
        return NGX_CONF_ERROR;
    }

    /* compute the boundaries once, with weights and bounds in one block */
    weights = ngx_palloc(cf->pool, 2 * n * sizeof(uint32_t));
    if (weights == NULL) {
        return NGX_CONF_ERROR;
    }

    exp->bounds = weights + n;

    for (i = 0; i < n; i++) {
        weights[i] = var[i].weight;

        /* "experiment:variant" once, for $ab_exposures and $ab_forced */
        var[i].pair.len = exp->name.len + 1 + var[i].name.len;
        var[i].pair.data = ngx_pnalloc(cf->pool, var[i].pair.len);
        if (var[i].pair.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(var[i].pair.data, "%V:%V", &exp->name, &var[i].name);
    }

    (void) ab_weights_to_bounds(weights, n, exp->bounds);

    if (exp->salt.data == NULL) {
        exp->salt = exp->name;
    }

    ab_salt_tag((char *) exp->salt.data, exp->salt.len, (char *) exp->tag);

    if (exp->layer.len && ngx_http_ab_layer_overlap(cf, exp) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (exp->traffic == -1) {
        exp->traffic = AB_BUCKETS;
    }

    ngx_conf_init_value(exp->sticky, 0);
    ngx_conf_init_value(exp->version, 0);

    /* the name, not the salt: a new salt reshuffles the variant buckets
     * but not what visitors have stored; `version` is for that */
    if (exp->sticky) {
        exp->sticky_tag = ab_sticky_tag((char *) exp->name.data,
                                        exp->name.len,
                                        (uint32_t) exp->version);
    }

    return NGX_CONF_OK;
}
