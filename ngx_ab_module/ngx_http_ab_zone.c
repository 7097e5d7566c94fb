/*
 * Live counters: `ab_zone NAME SIZE;` keeps, per experiment and variant,
 * exposures, new visitors and events by name in shared memory. The zone is
 * found again on reload (same name and size), so counters survive it; an
 * experiment's counters are looked up by name when the configuration is
 * loaded, so requests only do atomic increments.
 */

#include "ngx_http_ab_module.h"


typedef struct {
    ngx_http_ab_counter_t  *head;
} ngx_http_ab_shctx_t;


static ngx_int_t ngx_http_ab_init_zone(ngx_shm_zone_t *shm_zone, void *data);


char *
ngx_http_ab_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ab_main_conf_t  *mcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (mcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"ab_zone\" "
                           "directive: at least %uz",
                           &value[2], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    mcf->zone = ngx_shared_memory_add(cf, &value[1], size,
                                      &ngx_http_ab_module);
    if (mcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" of \"ab_zone\" is already used",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    mcf->zone->init = ngx_http_ab_init_zone;
    mcf->zone->data = mcf;

    return NGX_CONF_OK;
}


/* Called once the experiments are known: room for the counter pointers. */
char *
ngx_http_ab_zone_init_conf(ngx_conf_t *cf, ngx_http_ab_main_conf_t *mcf)
{
    ngx_uint_t                 i;
    ngx_http_ab_experiment_t  *exp;

    if (mcf->zone == NULL) {
        return NGX_CONF_OK;
    }

    mcf->counters = ngx_pcalloc(cf->pool, (mcf->experiments.nelts + 1)
                                          * sizeof(ngx_http_ab_counter_t **));
    if (mcf->counters == NULL) {
        return NGX_CONF_ERROR;
    }

    exp = mcf->experiments.elts;

    for (i = 0; i < mcf->experiments.nelts; i++) {
        mcf->counters[i] = ngx_pcalloc(cf->pool, exp[i].variants.nelts
                                         * sizeof(ngx_http_ab_counter_t *));
        if (mcf->counters[i] == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_http_ab_counter_t *
ngx_http_ab_find_counter(ngx_http_ab_shctx_t *sh, ngx_str_t *exp,
    ngx_str_t *var)
{
    ngx_http_ab_counter_t  *c;

    for (c = sh->head; c; c = c->next) {
        if (c->experiment_len == exp->len && c->variant_len == var->len
            && ngx_memcmp(c->experiment, exp->data, exp->len) == 0
            && ngx_memcmp(c->variant, var->data, var->len) == 0)
        {
            return c;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_ab_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_ab_main_conf_t  *mcf = shm_zone->data;

    ngx_uint_t                 i, k;
    ngx_slab_pool_t           *shpool;
    ngx_http_ab_shctx_t       *sh;
    ngx_http_ab_counter_t     *c;
    ngx_http_ab_variant_t     *var;
    ngx_http_ab_experiment_t  *exp;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data || shm_zone->shm.exists) {
        /* a reload: the counters of experiments still configured carry
         * on; those of removed ones stay in the zone, unreported */
        sh = shpool->data;

    } else {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_ab_shctx_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        shpool->data = sh;

        shpool->log_ctx = ngx_slab_alloc(shpool, sizeof(" in ab_zone \"\"")
                                                 + shm_zone->shm.name.len);
        if (shpool->log_ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(shpool->log_ctx, " in ab_zone \"%V\"%Z",
                    &shm_zone->shm.name);
    }

    exp = mcf->experiments.elts;

    for (i = 0; i < mcf->experiments.nelts; i++) {
        var = exp[i].variants.elts;

        for (k = 0; k < exp[i].variants.nelts; k++) {
            c = ngx_http_ab_find_counter(sh, &exp[i].name, &var[k].name);

            if (c == NULL) {
                c = ngx_slab_calloc(shpool, sizeof(ngx_http_ab_counter_t));
                if (c == NULL) {
                    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                                  "ab_zone \"%V\" is too small for the "
                                  "counters of ab_experiment \"%V\"",
                                  &shm_zone->shm.name, &exp[i].name);
                    return NGX_ERROR;
                }

                c->experiment_len = (u_char) exp[i].name.len;
                ngx_memcpy(c->experiment, exp[i].name.data, exp[i].name.len);
                c->variant_len = (u_char) var[k].name.len;
                ngx_memcpy(c->variant, var[k].name.data, var[k].name.len);

                c->next = sh->head;
                sh->head = c;
            }

            mcf->counters[i][k] = c;
        }
    }

    return NGX_OK;
}


/*
 * First exposures. SRM needs each visitor counted once per experiment,
 * and the edge keeps no per-visitor state: a marker cookie, NAME_x next to
 * the id cookie NAME, lists the tags (ab_salt_tag) of the experiments the
 * visitor was exposed to, "a1b2c3.0f9e8d", the 16 most recent at most.
 * It is only used where ab_zone is configured.
 */

#define NGX_HTTP_AB_MARKER_SUFFIX  "_x"
#define NGX_HTTP_AB_MARKER_TAGS    16
#define NGX_HTTP_AB_TAG_STEP       (AB_TAG_LEN + 1)


static ngx_int_t
ngx_http_ab_valid_marker(ngx_str_t *v)
{
    ngx_uint_t  i;

    if (v->len == 0 || (v->len + 1) % NGX_HTTP_AB_TAG_STEP != 0
        || (v->len + 1) / NGX_HTTP_AB_TAG_STEP > NGX_HTTP_AB_MARKER_TAGS)
    {
        return 0;
    }

    for (i = 0; i < v->len; i++) {
        if (i % NGX_HTTP_AB_TAG_STEP == AB_TAG_LEN) {
            if (v->data[i] != '.') {
                return 0;
            }

        } else if (!((v->data[i] >= '0' && v->data[i] <= '9')
                     || (v->data[i] >= 'a' && v->data[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_http_ab_marker_has(ngx_str_t *marker, u_char *tag)
{
    u_char  *p;

    for (p = marker->data; p < marker->data + marker->len;
         p += NGX_HTTP_AB_TAG_STEP)
    {
        if (ngx_memcmp(p, tag, AB_TAG_LEN) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_ab_read_marker(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    u_char                   buf[64 + sizeof(NGX_HTTP_AB_MARKER_SUFFIX)];
    ngx_str_t                name;
    ngx_http_ab_loc_conf_t  *lcf;

    ctx->marker_done = 1;
    ngx_str_null(&ctx->marker);

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    name.data = buf;
    name.len = ngx_cpymem(ngx_cpymem(buf, lcf->cookie->name.data,
                                     lcf->cookie->name.len),
                          NGX_HTTP_AB_MARKER_SUFFIX,
                          sizeof(NGX_HTTP_AB_MARKER_SUFFIX) - 1)
               - buf;

    if (ngx_http_ab_find_cookie(r->main, &name, &ctx->marker,
                                ngx_http_ab_valid_marker)
        != NGX_OK)
    {
        ngx_str_null(&ctx->marker);
    }
}


void
ngx_http_ab_count_exposure(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_uint_t e, ngx_uint_t k)
{
    ngx_http_ab_counter_t     *c;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    c = mcf->counters[e][k];
    exp = (ngx_http_ab_experiment_t *) mcf->experiments.elts + e;

    (void) ngx_atomic_fetch_add(&c->exposures, 1);

    if (!ctx->marker_done) {
        ngx_http_ab_read_marker(r, ctx);
    }

    if (!ngx_http_ab_marker_has(&ctx->marker, exp->tag)) {
        (void) ngx_atomic_fetch_add(&c->new_visitors, 1);
        ctx->flags[e] |= NGX_HTTP_AB_FIRST;
        ctx->first_exposures++;
    }
}


/* The marker cookie with this request's first exposures added, keeping
 * the most recent tags. */
ngx_int_t
ngx_http_ab_set_marker(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    u_char                     *p;
    ngx_str_t                   value;
    ngx_uint_t                  i, e, old, keep, add, skip;
    ngx_http_ab_loc_conf_t     *lcf;
    ngx_http_ab_main_conf_t    *mcf;
    ngx_http_ab_experiment_t   *exp;
    ngx_http_ab_cookie_conf_t  *ck;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);
    exp = mcf->experiments.elts;
    ck = ctx->mint_cookie ? ctx->mint_cookie : lcf->cookie;

    add = ngx_min(ctx->first_exposures, NGX_HTTP_AB_MARKER_TAGS);
    old = ctx->marker.len ? (ctx->marker.len + 1) / NGX_HTTP_AB_TAG_STEP : 0;
    keep = ngx_min(old, NGX_HTTP_AB_MARKER_TAGS - add);

    value.len = (keep + add) * NGX_HTTP_AB_TAG_STEP - 1;
    value.data = ngx_pnalloc(r->pool, value.len + 1);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    p = value.data;

    if (keep) {
        /* the old list's last tag has no '.' after it */
        p = ngx_cpymem(p,
                       ctx->marker.data + (old - keep) * NGX_HTTP_AB_TAG_STEP,
                       keep * NGX_HTTP_AB_TAG_STEP - 1);
        *p++ = '.';
    }

    /* in exposure order, skipping the oldest beyond the limit */
    skip = ctx->first_exposures - add;

    for (i = 0; i < ctx->nexposures; i++) {
        e = ctx->exposure_order[i];

        if (!(ctx->flags[e] & NGX_HTTP_AB_FIRST)) {
            continue;
        }

        if (skip) {
            skip--;
            continue;
        }

        p = ngx_cpymem(p, exp[e].tag, AB_TAG_LEN);
        *p++ = '.';
    }

    return ngx_http_ab_set_cookie(r, ck, NGX_HTTP_AB_MARKER_SUFFIX, &value);
}


static ngx_http_ab_event_slot_t *
ngx_http_ab_find_slot(ngx_http_ab_counter_t *c, const char *name, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_AB_EVENT_SLOTS; i++) {
        if (!c->events[i].used) {
            return NULL;                /* slots are claimed in order */
        }

        if (c->events[i].len == len
            && ngx_memcmp(c->events[i].name, name, len) == 0)
        {
            return &c->events[i];
        }
    }

    return NULL;
}


/*
 * `claim`: the name may take a free slot. Only names the configuration
 * chose may: a client that could name events freely would otherwise fill
 * the slots with junk and push real events into events_other.
 */
static void
ngx_http_ab_count_event(ngx_slab_pool_t *shpool, ngx_http_ab_counter_t *c,
    const char *name, size_t len, ngx_uint_t claim)
{
    ngx_uint_t                 i;
    ngx_http_ab_event_slot_t  *s;

    s = ngx_http_ab_find_slot(c, name, len);

    if (s == NULL && claim) {
        /* a name not seen yet: claim a slot under the zone's lock (rare;
         * every later event of that name is lock-free) */
        ngx_shmtx_lock(&shpool->mutex);

        s = ngx_http_ab_find_slot(c, name, len);

        for (i = 0; s == NULL && i < NGX_HTTP_AB_EVENT_SLOTS; i++) {
            if (!c->events[i].used) {
                s = &c->events[i];
                s->len = (u_char) len;
                ngx_memcpy(s->name, name, len);
                ngx_memory_barrier();
                s->used = 1;
            }
        }

        ngx_shmtx_unlock(&shpool->mutex);
    }

    (void) ngx_atomic_fetch_add(s ? &s->count : &c->events_other, 1);
}


void
ngx_http_ab_count_events(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_str_t *events, ngx_uint_t claim)
{
    size_t                    pos, len;
    ngx_int_t                 k;
    ngx_uint_t                e;
    const char               *name;
    ngx_slab_pool_t          *shpool;
    ngx_http_ab_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    if (mcf->counters == NULL || events->len == 0) {
        return;
    }

    shpool = (ngx_slab_pool_t *) mcf->zone->shm.addr;

    /* every experiment the visitor is really enrolled in, exposed yet or
     * not: the live view; abstat applies the exposure rules */
    for (e = 0; e < mcf->experiments.nelts; e++) {
        k = ngx_http_ab_assignment(r, ctx, e);

        if ((ctx->flags[e] & (NGX_HTTP_AB_ENROLLED|NGX_HTTP_AB_FORCED))
            != NGX_HTTP_AB_ENROLLED)
        {
            continue;
        }

        pos = 0;
        while (ab_events_next_name((char *) events->data, events->len, &pos,
                                   &name, &len))
        {
            ngx_http_ab_count_event(shpool, mcf->counters[e][k], name, len,
                                    claim);
        }
    }
}
