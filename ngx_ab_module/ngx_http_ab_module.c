/*
 * A/B testing at the edge: module definition, the `ab` directive and the
 * configuration life cycle. See README.md for the directives.
 */

#include "ngx_http_ab_module.h"


static ngx_int_t ngx_http_ab_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ab_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_ab_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_ab_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_ab_set_holdout(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_ab_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ab_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_ab(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_ab_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_ab_commands[] = {

    { ngx_string("ab_experiment"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_ab_experiment_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_sticky_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_ab_sticky_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_uid_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ab_uid_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_uid_from"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_ab_uid_from,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ab,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_event_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ab_event_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_beacon"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_ab_beacon,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_strip_request_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_http_ab_strip_request_headers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_force"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ab_loc_conf_t, force),
      NULL },

    { ngx_string("ab_force_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ab_loc_conf_t, force_allow),
      NULL },

    { ngx_string("ab_exclude"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ab_loc_conf_t, exclude),
      NULL },

    { ngx_string("ab_holdout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_ab_set_holdout,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_ab_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ab_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_ab_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ab_module_ctx = {
    ngx_http_ab_preconfiguration,          /* preconfiguration */
    ngx_http_ab_postconfiguration,         /* postconfiguration */

    ngx_http_ab_create_main_conf,          /* create main configuration */
    ngx_http_ab_init_main_conf,            /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ab_create_loc_conf,           /* create location configuration */
    ngx_http_ab_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_http_ab_module = {
    NGX_MODULE_V1,
    &ngx_http_ab_module_ctx,               /* module context */
    ngx_http_ab_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_ab_zone_commit,               /* init module */
    ngx_http_ab_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_ab_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_ab_add_core_variables(cf);
}


static ngx_int_t
ngx_http_ab_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * The rewrite phase, so that an exposure point is recorded (and the id
     * minted) even where the rewrite module answers with `return`: phase
     * handlers added later run first, and this module is initialised after
     * the rewrite module.
     */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_ab_exposure_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_ab_strip_handler;

    return ngx_http_ab_header_filter_init(cf);
}


static void *
ngx_http_ab_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ab_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ab_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->experiments, cf->pool, 4,
                       sizeof(ngx_http_ab_experiment_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&mcf->sticky, cf->pool, 1,
                       sizeof(ngx_http_ab_experiment_t *))
        != NGX_OK)
    {
        return NULL;
    }

    mcf->holdout = NGX_CONF_UNSET;

    return mcf;
}


static char *
ngx_http_ab_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_ab_main_conf_t  *mcf = conf;

    size_t                     room;
    ngx_uint_t                 i;
    ngx_http_ab_experiment_t  *exp;

    ngx_conf_init_value(mcf->holdout, 0);

    /* what the hashes write before the id: see ngx_http_ab_key_uid() */
    mcf->key_room = AB_HOLDOUT_ROOM;
    exp = mcf->experiments.elts;

    for (i = 0; i < mcf->experiments.nelts; i++) {
        room = ngx_max(exp[i].salt.len, exp[i].layer.len) + AB_TAG_ROOM;
        mcf->key_room = ngx_max(mcf->key_room, room);
    }

    if (ngx_http_ab_sticky_init_conf(cf, mcf) != NGX_CONF_OK
        || ngx_http_ab_zone_init_conf(cf, mcf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the marker is only of use to the live counters, the sticky cookie
     * to sticky experiments */
    mcf->cookie_scan = (mcf->counters ? AB_SCAN_MARKER : 0)
                       | (mcf->sticky.nelts ? AB_SCAN_STICKY : 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_ab_set_holdout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_main_conf_t  *mcf = conf;

    ngx_str_t  *value;

    if (mcf->holdout != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    mcf->holdout = ab_parse_percent((char *) value[1].data, value[1].len);

    if (mcf->holdout < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid percent \"%V\" in \"ab_holdout\" "
                           "directive", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_ab_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ab_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ab_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->cookie = NULL;                  inherit
     *     lcf->event_header = { 0, NULL };     inherit
     */

    lcf->points = NGX_CONF_UNSET_PTR;
    lcf->force = NGX_CONF_UNSET_PTR;
    lcf->force_allow = NGX_CONF_UNSET_PTR;
    lcf->exclude = NGX_CONF_UNSET_PTR;
    lcf->strip = NGX_CONF_UNSET_PTR;
    lcf->uid_from = NGX_CONF_UNSET_PTR;

    return lcf;
}


static char *
ngx_http_ab_resolve_points(ngx_conf_t *cf, ngx_array_t *points)
{
    ngx_uint_t                 i;
    ngx_http_ab_point_t       *pt;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ab_module);
    pt = points->elts;

    for (i = 0; i < points->nelts; i++) {
        if (pt[i].experiment != NGX_CONF_UNSET_UINT) {
            continue;
        }

        exp = ngx_http_ab_find_experiment(mcf, &pt[i].name);
        if (exp == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown experiment \"%V\" in \"ab\" directive "
                          "in %s:%ui", &pt[i].name, pt[i].file, pt[i].line);
            return NGX_CONF_ERROR;
        }

        pt[i].experiment = exp->index;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ab_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_ab_loc_conf_t  *prev = parent;
    ngx_http_ab_loc_conf_t  *conf = child;

    if (conf->cookie == NULL) {
        if (prev->cookie == NULL) {
            prev->cookie = ngx_http_ab_default_cookie(cf);
            if (prev->cookie == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        conf->cookie = prev->cookie;
    }

    if (conf->event_header.data == NULL) {
        if (prev->event_header.data == NULL) {
            ngx_str_set(&prev->event_header, "X-AB-Event");
        }

        conf->event_header = prev->event_header;
    }

    ngx_conf_merge_ptr_value(conf->force, prev->force, NULL);
    ngx_conf_merge_ptr_value(conf->force_allow, prev->force_allow, NULL);
    ngx_conf_merge_ptr_value(conf->exclude, prev->exclude, NULL);
    ngx_conf_merge_ptr_value(conf->uid_from, prev->uid_from, NULL);

    if (conf->uid_from != NULL
        && ngx_http_ab_uid_from_key(cf, conf->uid_from,
               ngx_http_conf_get_module_main_conf(cf, ngx_http_ab_module))
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ab_merge_strip(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->points == NGX_CONF_UNSET_PTR) {
        conf->points = prev->points;
        return NGX_CONF_OK;
    }

    if (conf->points == NULL) {
        return NGX_CONF_OK;
    }

    /* Experiments may be declared after the servers that use them, so
     * names are looked up once the whole http block is known. */
    return ngx_http_ab_resolve_points(cf, conf->points);
}


static char *
ngx_http_ab(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_loc_conf_t  *lcf = conf;

    ngx_str_t                         *value, cond_text = ngx_null_string;
    ngx_uint_t                         i, j, names = 0;
    ngx_http_ab_point_t               *pt;
    ngx_http_complex_value_t          *cond = NULL;
    ngx_http_ab_main_conf_t           *mcf;
    ngx_http_ab_experiment_t          *exp;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "if=", 3) == 0) {
            if (cond_text.data) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate \"if=\" in \"ab\" directive");
                return NGX_CONF_ERROR;
            }

            cond_text.data = value[i].data + 3;
            cond_text.len = value[i].len - 3;

            if (cond_text.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "empty \"if=\" in \"ab\" directive");
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "off") == 0) {
            if (cf->args->nelts != 2
                || (lcf->points != NGX_CONF_UNSET_PTR && lcf->points != NULL))
            {
                goto off_combined;
            }

            lcf->points = NULL;
            return NGX_CONF_OK;
        }

        names++;
    }

    if (names == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no experiment named in \"ab\" directive");
        return NGX_CONF_ERROR;
    }

    if (lcf->points == NULL) {
        goto off_combined;
    }

    if (cond_text.data) {
        cond = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (cond == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &cond_text;
        ccv.complex_value = cond;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (lcf->points == NGX_CONF_UNSET_PTR) {
        lcf->points = ngx_array_create(cf->pool, names,
                                       sizeof(ngx_http_ab_point_t));
        if (lcf->points == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ab_module);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "if=", 3) == 0) {
            continue;
        }

        pt = lcf->points->elts;
        for (j = 0; j < lcf->points->nelts; j++) {
            if (pt[j].name.len == value[i].len
                && ngx_strncasecmp(pt[j].name.data, value[i].data,
                                   value[i].len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "experiment \"%V\" repeated in \"ab\" "
                                   "directive", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        pt = ngx_array_push(lcf->points);
        if (pt == NULL) {
            return NGX_CONF_ERROR;
        }

        pt->name = value[i];
        pt->file = cf->conf_file->file.name.data;
        pt->line = cf->conf_file->line;
        pt->cond = cond;

        exp = ngx_http_ab_find_experiment(mcf, &value[i]);
        pt->experiment = exp ? exp->index : NGX_CONF_UNSET_UINT;
    }

    return NGX_CONF_OK;

off_combined:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"off\" cannot be combined with experiment names "
                       "in \"ab\" directive");
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_ab_init_process(ngx_cycle_t *cycle)
{
    return ngx_http_ab_seed_random(cycle);
}
