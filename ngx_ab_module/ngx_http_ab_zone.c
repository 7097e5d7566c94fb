/*
 * Live counters: `ab_zone NAME SIZE;` keeps, per experiment and variant,
 * exposures, new visitors and events by name in shared memory. The zone is
 * found again on reload (same name and size), so counters survive it; an
 * experiment's counters are looked up by name when the configuration is
 * loaded, so requests only do atomic increments.
 *
 * Reloads. Each cycle that initialises the zone takes a generation number;
 * a counter set records the newest generation that looked it up and the
 * newest committed one that did. nginx commits a cycle when it calls the
 * modules' init_module, after every zone and listening socket is ready;
 * until the next commit the old workers still write the previous committed
 * generation's sets. So when generation G initialises the zone, a set
 * neither the last committed generation nor G uses is garbage (an
 * experiment removed two reloads ago, or a set of a reload that failed) and
 * is freed before G allocates its own.
 */

#include "ngx_http_ab_module.h"

#include <xxhash.h>


/* a counter set takes one 1 KB slab slot, not a 2 KB one */
_Static_assert(sizeof(ngx_http_ab_counter_t) <= 1024,
               "a counter set outgrows its slab slot");


typedef struct {
    ngx_http_ab_counter_t  *head;
    ngx_uint_t              generation;  /* the newest initialising cycle */
    ngx_uint_t              committed;   /* the newest committed one */
    ngx_uint_t              rejected;    /* config_generation_rejected */
    ngx_uint_t              rejected_generation;
    ngx_uint_t              rejected_need;   /* counter sets it needed */
    time_t                  rejected_time;
    ngx_uint_t              counted;     /* generation's rejection counted */
    ngx_uint_t              sets;        /* counter sets allocated */
    ngx_atomic_t           *seen;        /* first-exposure filter */
    ngx_uint_t              seen_mask;
} ngx_http_ab_shctx_t;


/* The first-exposure filter takes this share of the zone. */
#define NGX_HTTP_AB_SEEN_SHARE  8


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
    u_char                 *n;
    ngx_http_ab_counter_t  *c;

    for (c = sh->head; c; c = c->next) {
        n = c->names;

        if (n[0] == exp->len && n[1] == var->len
            && ngx_memcmp(n + 2, exp->data, exp->len) == 0
            && ngx_memcmp(n + 2 + exp->len, var->data, var->len) == 0)
        {
            return c;
        }
    }

    return NULL;
}


/* Frees the sets no generation that may still run uses; the zone's lock
 * is held (the master initialises, workers may claim event slots). */
static void
ngx_http_ab_sweep(ngx_slab_pool_t *shpool, ngx_http_ab_shctx_t *sh,
    ngx_uint_t generation)
{
    ngx_http_ab_counter_t  **pc, *c;

    for (pc = &sh->head; *pc; /* void */) {
        c = *pc;

        if (c->generation == generation
            || (sh->committed && c->committed == sh->committed))
        {
            pc = &c->next;
            continue;
        }

        *pc = c->next;
        ngx_slab_free_locked(shpool, c->names);
        ngx_slab_free_locked(shpool, c);
        sh->sets--;
    }
}


static ngx_int_t
ngx_http_ab_new_zone(ngx_shm_zone_t *shm_zone, ngx_slab_pool_t *shpool)
{
    size_t                n;
    ngx_http_ab_shctx_t  *sh;

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

    /* a power of two entries, for a mask */
    n = shm_zone->shm.size / NGX_HTTP_AB_SEEN_SHARE / sizeof(ngx_atomic_t);
    while (n & (n - 1)) {
        n &= n - 1;
    }

    sh->seen = ngx_slab_calloc(shpool, n * sizeof(ngx_atomic_t));
    if (sh->seen == NULL) {
        return NGX_ERROR;
    }

    sh->seen_mask = n - 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ab_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_ab_main_conf_t  *mcf = shm_zone->data;

    u_char                    *n;
    ngx_uint_t                 i, k, need, found;
    ngx_slab_pool_t           *shpool;
    ngx_http_ab_shctx_t       *sh;
    ngx_http_ab_counter_t     *c;
    ngx_http_ab_variant_t     *var;
    ngx_http_ab_experiment_t  *exp;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (!(data || shm_zone->shm.exists)) {
        if (ngx_http_ab_new_zone(shm_zone, shpool) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    sh = shpool->data;

    ngx_shmtx_lock(&shpool->mutex);

    if (sh->generation != sh->committed && sh->counted != sh->generation) {
        /* the previous cycle failed after this zone (another zone, a
         * listening socket): its sets are garbage, its rejection counts */
        sh->rejected++;
        sh->rejected_generation = sh->generation;
        sh->rejected_need = 0;
        sh->rejected_time = ngx_time();
    }

    mcf->generation = ++sh->generation;

    exp = mcf->experiments.elts;
    need = 0;
    found = 0;

    for (i = 0; i < mcf->experiments.nelts; i++) {
        var = exp[i].variants.elts;

        for (k = 0; k < exp[i].variants.nelts; k++) {
            c = ngx_http_ab_find_counter(sh, &exp[i].name, &var[k].name);

            if (c) {
                c->generation = mcf->generation;
                found++;
            }

            mcf->counters[i][k] = c;
            need++;
        }
    }

    ngx_http_ab_sweep(shpool, sh, mcf->generation);

    for (i = 0; i < mcf->experiments.nelts; i++) {
        var = exp[i].variants.elts;

        for (k = 0; k < exp[i].variants.nelts; k++) {
            if (mcf->counters[i][k]) {
                continue;
            }

            c = ngx_slab_calloc_locked(shpool, sizeof(ngx_http_ab_counter_t));
            n = ngx_slab_alloc_locked(shpool,
                                      2 + exp[i].name.len + var[k].name.len);

            if (c == NULL || n == NULL) {
                goto rejected;
            }

            n[0] = (u_char) exp[i].name.len;
            n[1] = (u_char) var[k].name.len;
            ngx_memcpy(ngx_cpymem(n + 2, exp[i].name.data, exp[i].name.len),
                       var[k].name.data, var[k].name.len);

            c->names = n;
            c->generation = mcf->generation;
            c->next = sh->head;
            sh->head = c;
            sh->sets++;

            mcf->counters[i][k] = c;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;

rejected:

    if (c) {
        ngx_slab_free_locked(shpool, c);
    }

    if (n) {
        ngx_slab_free_locked(shpool, n);
    }

    sh->rejected++;
    sh->rejected_generation = mcf->generation;
    sh->rejected_need = need;
    sh->rejected_time = ngx_time();
    sh->counted = mcf->generation;

    /* leave nothing of this generation behind: its own sets go now, those
     * it shares with the committed one carry on */
    ngx_http_ab_sweep(shpool, sh, 0);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "ab_zone \"%V\" of %uz bytes is too small for %ui counter "
                  "sets of %uz bytes (%ui kept from the running "
                  "configuration, %ui in use): the configuration is refused",
                  &shm_zone->shm.name, shm_zone->shm.size, need,
                  sizeof(ngx_http_ab_counter_t), found, sh->sets);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_ab_zone_commit(ngx_cycle_t *cycle)
{
    ngx_uint_t                 i, k;
    ngx_slab_pool_t           *shpool;
    ngx_http_ab_shctx_t       *sh;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ab_module);

    if (mcf == NULL || mcf->zone == NULL) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) mcf->zone->shm.addr;
    sh = shpool->data;
    exp = mcf->experiments.elts;

    ngx_shmtx_lock(&shpool->mutex);

    sh->committed = mcf->generation;

    for (i = 0; i < mcf->experiments.nelts; i++) {
        for (k = 0; k < exp[i].variants.nelts; k++) {
            mcf->counters[i][k]->committed = mcf->generation;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


/* What monitoring needs to see that a reload was refused, and how full
 * the zone is; read without the lock, as a snapshot. */
u_char *
ngx_http_ab_zone_status(ngx_http_ab_main_conf_t *mcf, u_char *p,
    ngx_uint_t prometheus)
{
    ngx_uint_t            pages;
    ngx_slab_pool_t      *shpool;
    ngx_http_ab_shctx_t  *sh;

    shpool = (ngx_slab_pool_t *) mcf->zone->shm.addr;
    sh = shpool->data;
    pages = (shpool->end - shpool->start) >> ngx_pagesize_shift;

    if (prometheus) {
        return ngx_sprintf(p,
            "# HELP ab_config_generation_rejected_total Reloads whose "
            "configuration the zone refused (the old one kept serving).\n"
            "# TYPE ab_config_generation_rejected_total counter\n"
            "ab_config_generation_rejected_total %ui\n"
            "# HELP ab_config_generation Generation of the configuration "
            "answering.\n"
            "# TYPE ab_config_generation gauge\n"
            "ab_config_generation %ui\n"
            "# HELP ab_zone_pages_free Free pages in ab_zone.\n"
            "# TYPE ab_zone_pages_free gauge\n"
            "ab_zone_pages_free %ui\n",
            sh->rejected, mcf->generation, shpool->pfree);
    }

    p = ngx_sprintf(p, "\"config_generation\":%ui,"
                    "\"config_generation_committed\":%ui,"
                    "\"config_generation_rejected\":%ui,"
                    "\"last_rejected\":",
                    mcf->generation, sh->committed, sh->rejected);

    if (sh->rejected) {
        p = ngx_sprintf(p, "{\"generation\":%ui,\"time\":%T,"
                        "\"counter_sets_needed\":%ui}",
                        sh->rejected_generation, sh->rejected_time,
                        sh->rejected_need);
    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    return ngx_sprintf(p, ",\"counter_sets\":%ui,\"slab\":{\"pages\":%ui,"
                       "\"pages_free\":%ui,\"page_size\":%ui},",
                       sh->sets, pages, shpool->pfree, ngx_pagesize);
}


/*
 * First exposures. SRM needs each visitor counted once per experiment,
 * and the edge keeps no per-visitor state: the marker cookie (see
 * AB_MARKER_SUFFIX in ab_core.h), read with the id, lists the experiments
 * the visitor was exposed to. It is only used where ab_zone is configured.
 */


static ngx_uint_t
ngx_http_ab_marker_has(ngx_str_t *marker, u_char *tag)
{
    u_char  *p;

    for (p = marker->data; p < marker->data + marker->len;
         p += AB_MARKER_STEP)
    {
        if (ngx_memcmp(p, tag, AB_TAG_LEN) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The marker is the client's to drop. In front of it, a direct-mapped
 * table in the zone remembers the (id, experiment) pairs counted lately,
 * so a client that keeps its id and drops the marker is not a new visitor
 * again: an entry holds the pair's 64-bit hash and stays until another
 * pair lands on its slot. A lost compare-and-swap race re-reads the slot.
 */
static ngx_uint_t
ngx_http_ab_seen_before(ngx_http_ab_main_conf_t *mcf, ngx_str_t *uid,
    u_char *tag)
{
    uint64_t              h, seed;
    ngx_atomic_t         *slot;
    ngx_atomic_uint_t     key, old;
    ngx_http_ab_shctx_t  *sh;

    sh = ((ngx_slab_pool_t *) mcf->zone->shm.addr)->data;

    seed = 0;
    ngx_memcpy(&seed, tag, AB_TAG_LEN);

    h = XXH3_64bits_withSeed(uid->data, uid->len, seed);
    key = (ngx_atomic_uint_t) h | 1;          /* 0 is an empty slot */
    slot = &sh->seen[(h >> 32) & sh->seen_mask];

    old = *slot;

    if (old == key) {
        return 1;
    }

    if (ngx_atomic_cmp_set(slot, old, key)) {
        return 0;
    }

    return *slot == key;
}


/* Counts exposure e of variant k; returns 1 for the visitor's first
 * exposure to the experiment, as far as the edge can tell. */
ngx_uint_t
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

    if (ngx_http_ab_marker_has(&ctx->marker, exp->tag)) {
        return 0;
    }

    if (!ngx_http_ab_seen_before(mcf, &ctx->uid, exp->tag)) {
        (void) ngx_atomic_fetch_add(&c->new_visitors, 1);
    }

    /* the marker is sent again either way */
    ctx->flags[e] |= NGX_HTTP_AB_FIRST;
    ctx->first_exposures++;

    return 1;
}


/* The marker cookie with this request's first exposures added, keeping
 * the most recent tags. */
ngx_int_t
ngx_http_ab_set_marker(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    u_char                     *p;
    ngx_str_t                   value;
    ngx_uint_t                  i, e, old, keep, add, skip;
    ngx_http_ab_main_conf_t    *mcf;
    ngx_http_ab_experiment_t   *exp;
    ngx_http_ab_cookie_conf_t  *ck;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    exp = mcf->experiments.elts;
    ck = ngx_http_ab_visitor_cookie(r, ctx);

    add = ngx_min(ctx->first_exposures, AB_MARKER_TAGS);
    old = ctx->marker.len ? (ctx->marker.len + 1) / AB_MARKER_STEP : 0;
    keep = ngx_min(old, AB_MARKER_TAGS - add);

    value.len = (keep + add) * AB_MARKER_STEP - 1;
    value.data = ngx_pnalloc(r->pool, value.len + 1);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    p = value.data;

    if (keep) {
        /* the old list's last tag has no '.' after it */
        p = ngx_cpymem(p,
                       ctx->marker.data + (old - keep) * AB_MARKER_STEP,
                       keep * AB_MARKER_STEP - 1);
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

    return ngx_http_ab_set_cookie(r, ck, AB_MARKER_SUFFIX, &value);
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


/* The events of a visitor enrolled in experiment e with variant k. */
void
ngx_http_ab_count_events(ngx_http_request_t *r, ngx_uint_t e, ngx_uint_t k,
    ngx_str_t *events, ngx_uint_t claim)
{
    size_t                    pos = 0, len;
    const char               *name;
    ngx_slab_pool_t          *shpool;
    ngx_http_ab_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);
    shpool = (ngx_slab_pool_t *) mcf->zone->shm.addr;

    while (ab_events_next_name((char *) events->data, events->len, &pos,
                               &name, &len))
    {
        ngx_http_ab_count_event(shpool, mcf->counters[e][k], name, len,
                                claim);
    }
}
