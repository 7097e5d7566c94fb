/*
 * Shared declarations of the A/B testing module's nginx side.
 *
 * One file decides, the others answer. ngx_http_ab_request.c is the
 * orchestrator: the per-request context, the assignment of a visitor to
 * an experiment in the order of docs/assignment.md, exposures, events,
 * the variables and the header filter. It asks leaf services that never
 * call back into it: ngx_http_ab_cookie.c (ab_uid_cookie, the Cookie
 * header read once for the id and the marker, minting, Set-Cookie),
 * ngx_http_ab_policy.c (QA overrides, exclusion, holdout, layers),
 * ngx_http_ab_zone.c (live counters in shared memory, the marker),
 * ngx_http_ab_sticky.c (the stored variants of `sticky on` experiments),
 * ngx_http_ab_events.c (events from the storefront's response header) and
 * ngx_http_ab_util.c (helpers every file may use). Around them:
 * ngx_http_ab_module.c (module, plain directives, conf create/merge),
 * ngx_http_ab_experiment.c (the ab_experiment block),
 * ngx_http_ab_beacon.c (the browser's events), ngx_http_ab_status.c (the
 * status endpoint) and ngx_http_ab_strip.c (ab_strip_request_headers).
 * scripts/module-call-graph checks that no call goes back up.
 */

#ifndef NGX_HTTP_AB_MODULE_H
#define NGX_HTTP_AB_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ab_core.h"
#include "ab_event.h"
#include "ab_sticky.h"


typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   pair;       /* "experiment:variant" */
    uint32_t                    weight;     /* 0.01% units or relative */
} ngx_http_ab_variant_t;


typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   salt;
    ngx_int_t                   traffic;    /* 0.01% units, -1 while unset */
    ngx_array_t                 variants;   /* ngx_http_ab_variant_t */
    uint32_t                   *bounds;     /* ab_weights_to_bounds() */
    ab_weight_kind_t            weight_kind;
    ngx_uint_t                  index;
    ngx_str_t                   layer;      /* empty: in no layer */
    int32_t                     layer_from; /* 0.01% units, [from, to) */
    int32_t                     layer_to;
    u_char                      tag[AB_TAG_LEN]; /* ab_salt_tag() */
    ngx_flag_t                  sticky;     /* NGX_CONF_UNSET while parsed */
    ngx_int_t                   version;    /* NGX_CONF_UNSET while parsed */
    uint32_t                    sticky_tag; /* ab_sticky_tag(), if sticky */
    u_char                     *sticky_file; /* where `sticky on` was, */
    ngx_uint_t                  sticky_line; /* for errors found later */
} ngx_http_ab_experiment_t;


#define NGX_HTTP_AB_EVENT_SLOTS  16

/* Live counters in the ab_zone shared memory; updated with atomics. */
typedef struct {
    ngx_atomic_t                count;
    ngx_atomic_t                used;       /* name is published */
    u_char                      len;
    u_char                      name[AB_EVENT_NAME_MAX];
} ngx_http_ab_event_slot_t;


typedef struct ngx_http_ab_counter_s  ngx_http_ab_counter_t;

struct ngx_http_ab_counter_s {
    ngx_http_ab_counter_t      *next;
    ngx_atomic_t                exposures;
    ngx_atomic_t                new_visitors;
    ngx_atomic_t                events_other; /* names past the slots */
    u_char                     *names;      /* experiment_len, variant_len,
                                               then both names: kept out of
                                               the set so it fits 1 KB */
    ngx_uint_t                  generation; /* the newest cycle using it */
    ngx_uint_t                  committed;  /* the newest committed one */
    ngx_http_ab_event_slot_t    events[NGX_HTTP_AB_EVENT_SLOTS];
};


typedef struct {
    ngx_array_t                 experiments; /* ngx_http_ab_experiment_t */
    ngx_int_t                   holdout;    /* 0.01% units; -1 while unset */
    ngx_shm_zone_t             *zone;       /* ab_zone, or NULL */
    ngx_http_ab_counter_t    ***counters;   /* [experiment][variant] */
    ngx_uint_t                  generation; /* of this cycle in ab_zone */
    size_t                      key_room;   /* the longest prefix any
                                               bucket writes before the id */
    ngx_array_t                 sticky;     /* ngx_http_ab_experiment_t *
                                               of the `sticky on` ones */
    ngx_flag_t                  sticky_secret; /* sticky_key was read */
    u_char                      sticky_key[AB_STICKY_KEY_LEN];
    ngx_uint_t                  cookie_scan; /* AB_SCAN_*: what the Cookie
                                                header is read for besides
                                                the id */
} ngx_http_ab_main_conf_t;


typedef enum {
    NGX_HTTP_AB_SAMESITE_NONE_SET = 0,
    NGX_HTTP_AB_SAMESITE_STRICT,
    NGX_HTTP_AB_SAMESITE_LAX,
    NGX_HTTP_AB_SAMESITE_NONE
} ngx_http_ab_samesite_e;


typedef struct {
    ngx_str_t                   name;
    time_t                      max_age;    /* seconds; -1: session cookie */
    ngx_str_t                   domain;
    ngx_str_t                   path;
    ngx_uint_t                  samesite;   /* ngx_http_ab_samesite_e */
    unsigned                    secure:1;
    unsigned                    httponly:1;
} ngx_http_ab_cookie_conf_t;


/* ab_uid_from: the logged-in user's id, and the key it is hashed with. */
typedef struct {
    ngx_http_complex_value_t    value;
    ab_uid_key_t                key;
    unsigned                    from_secret:1;  /* no key=: the key is
                                                   derived from
                                                   ab_sticky_secret's once
                                                   the http block is read */
    u_char                     *file;           /* where, for its error */
    ngx_uint_t                  line;
} ngx_http_ab_uid_from_t;


/* One experiment named by an `ab` directive. */
typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  experiment; /* index, NGX_CONF_UNSET_UINT
                                               until resolved */
    u_char                     *file;       /* where it was written, for */
    ngx_uint_t                  line;       /* errors found at merge time */
    ngx_http_complex_value_t   *cond;       /* if=VALUE targeting, or NULL */
} ngx_http_ab_point_t;


typedef struct {
    ngx_http_ab_cookie_conf_t  *cookie;     /* NULL: inherit */
    ngx_array_t                *points;     /* NGX_CONF_UNSET_PTR: inherit,
                                               NULL: "ab off" */
    ngx_str_t                   event_header; /* data NULL: inherit,
                                                 len 0: off */
    ngx_http_complex_value_t   *force;      /* NGX_CONF_UNSET_PTR: inherit */
    ngx_http_complex_value_t   *force_allow;
    ngx_http_complex_value_t   *exclude;
    ngx_array_t                *beacon_events; /* of ngx_str_t: the names
                                                  ab_beacon events= allows;
                                                  NULL: any but orders */
    ngx_array_t                *strip;      /* of ngx_str_t, lower-case
                                               prefixes; NULL: off */
    ngx_http_ab_uid_from_t     *uid_from;   /* NGX_CONF_UNSET_PTR: inherit,
                                               NULL: off */
} ngx_http_ab_loc_conf_t;


typedef enum {
    NGX_HTTP_AB_UID_UNKNOWN = 0,            /* not looked at yet */
    NGX_HTTP_AB_UID_COOKIE,                 /* a valid cookie was sent */
    NGX_HTTP_AB_UID_MINTED,                 /* minted on this request */
    NGX_HTTP_AB_UID_NONE,                   /* none, and too late to mint */
    NGX_HTTP_AB_UID_USER                    /* ab_uid_from's user id */
} ngx_http_ab_uid_state_e;


#define NGX_HTTP_AB_NOT_ENROLLED  (-1)


/* The sticky cookie of a request: made when the id's pass over the Cookie
 * header finds one, read when a sticky experiment first needs it. */
typedef struct {
    ngx_str_t                   cookie;     /* as sent; data NULL: none */
    ab_sticky_t                 stored;     /* once read: the valid entries
                                               of configured sticky
                                               experiments */
    ngx_table_elt_t            *header;     /* its Set-Cookie, once made */
    unsigned                    read:1;     /* `stored` is set */
    unsigned                    changed:1;  /* to be sent: an entry was
                                               added or dropped, or the
                                               cookie sent was invalid */
} ngx_http_ab_sticky_t;

/* ctx->flags[experiment] */
#define NGX_HTTP_AB_ENROLLED    0x01    /* counts: a real assignment */
#define NGX_HTTP_AB_FORCED      0x02    /* pinned by ab_force */
#define NGX_HTTP_AB_EXPOSED     0x04    /* an exposure point was passed */
#define NGX_HTTP_AB_FIRST       0x08    /* the visitor's first exposure */
#define NGX_HTTP_AB_ASSIGNED    0x10    /* ctx->assigned[experiment] is set */


/* Lives on the main request and survives internal redirects. */
typedef struct {
    ngx_str_t                   uid;
    ngx_http_ab_cookie_conf_t  *mint_cookie; /* flags for the Set-Cookie */
    ngx_uint_t                  nexperiments;
    int16_t                    *assigned;   /* per experiment, once flagged
                                               ASSIGNED: variant shown or
                                               NOT_ENROLLED (shown nothing) */
    u_char                     *flags;      /* per experiment: NGX_HTTP_AB_* */
    u_char                     *key;        /* room for the longest id,
                                               mcf->key_room bytes before
                                               it for the hashes' prefixes */
    ngx_uint_t                 *exposure_order; /* forced ones included */
    ngx_uint_t                  nexposures;
    ngx_str_t                   marker;     /* the marker cookie's tags,
                                               read with the id */
    ngx_http_ab_sticky_t       *sticky;     /* NULL until a sticky cookie
                                               is found or a sticky
                                               experiment needs one */
    ngx_uint_t                  first_exposures;
    ngx_str_t                   events;     /* normalized, "," separated */
    ngx_uint_t                  events_invalid;
    /* a bit field, so that the context is as small as it was before it
     * held the sticky cookie: a few bytes more can push later allocations
     * of the request into a second pool block */
    unsigned                    uid_state:3; /* ngx_http_ab_uid_state_e */
    unsigned                    policy_done:1;
    unsigned                    excluded:1;
    unsigned                    holdout:1;
    unsigned                    holdout_done:1;
    unsigned                    header_filtered:1; /* our header filter ran:
                                                      a later mint sets the
                                                      cookie itself */
    unsigned                    key_uid:1;  /* the id is in ctx->key */
} ngx_http_ab_ctx_t;


extern ngx_module_t  ngx_http_ab_module;


/* ngx_http_ab_util.c: helpers any file may call; they call nothing back */

/* ngx_http_ab_log_safe() copies at most this much untrusted text, into a
 * buffer of NGX_HTTP_AB_LOG_SAFE_SIZE: each byte may become "\xHH" */
#define NGX_HTTP_AB_LOG_SAFE_MAX   128
#define NGX_HTTP_AB_LOG_SAFE_SIZE  (4 * NGX_HTTP_AB_LOG_SAFE_MAX)

size_t ngx_http_ab_log_safe(u_char *dst, const char *src, size_t len);
ngx_int_t ngx_http_ab_cv_true(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv);
ngx_table_elt_t *ngx_http_ab_add_header(ngx_http_request_t *r, char *key);
ngx_int_t ngx_http_ab_send_uncached(ngx_http_request_t *r,
    ngx_uint_t status, char *type, ngx_buf_t *b);
ngx_http_ab_experiment_t *ngx_http_ab_find_experiment(
    ngx_http_ab_main_conf_t *mcf, ngx_str_t *name);
char *ngx_http_ab_key_load(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_str_t *path, u_char key[AB_STICKY_KEY_LEN]);


/* ngx_http_ab_experiment.c */
char *ngx_http_ab_experiment_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* ngx_http_ab_cookie.c */
char *ngx_http_ab_uid_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_http_ab_cookie_conf_t *ngx_http_ab_default_cookie(ngx_conf_t *cf);
ngx_int_t ngx_http_ab_seed_random(ngx_cycle_t *cycle);
ngx_int_t ngx_http_ab_read_cookies(ngx_http_request_t *r,
    ngx_http_ab_cookie_conf_t *ck, ngx_uint_t want, ngx_str_t *uid,
    ngx_str_t *marker, ngx_str_t *sticky);
ngx_int_t ngx_http_ab_mint_uid(u_char *dst);
char *ngx_http_ab_uid_from(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_ab_uid_from_key(ngx_conf_t *cf, ngx_http_ab_uid_from_t *from,
    ngx_http_ab_main_conf_t *mcf);
ngx_int_t ngx_http_ab_user_uid(ngx_http_request_t *r,
    ngx_http_ab_uid_from_t *from, u_char *dst);
ngx_table_elt_t *ngx_http_ab_add_cookie(ngx_http_request_t *r,
    ngx_http_ab_cookie_conf_t *ck, char *suffix, ngx_str_t *value);
ngx_int_t ngx_http_ab_set_cookie(ngx_http_request_t *r,
    ngx_http_ab_cookie_conf_t *ck, char *suffix, ngx_str_t *value);


/* The attributes of the cookies that go with the id (the marker, the
 * sticky cookie): those of the id cookie itself, where it was minted if
 * it was. */
static ngx_inline ngx_http_ab_cookie_conf_t *
ngx_http_ab_visitor_cookie(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    ngx_http_ab_loc_conf_t  *lcf;

    if (ctx->mint_cookie) {
        return ctx->mint_cookie;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ab_module);

    return lcf->cookie;
}


/*
 * Answers the module caches in the context come in pairs: ngx_http_ab_X()
 * answers from the context, inline, as it is asked on every request, and
 * ngx_http_ab_X_compute() works the answer out the first time and keeps
 * it there.
 */


/*
 * nginx gives a module one pointer per request, r->ctx[ctx_index], and no
 * flag of its own. Filters that nginx runs after this module's header
 * filter (add_header's, for one: a filter installed later runs first) may
 * still evaluate $ab_uid and mint an id after the filter has passed, and
 * the context made then must put its Set-Cookie on the header itself. So
 * that requests that never need an id are spared a context, the filter
 * leaves this marker in the module's slot instead; ngx_http_ab_ctx()
 * treats it as no context.
 */
extern u_char  ngx_http_ab_filtered_mark;
#define NGX_HTTP_AB_FILTERED  ((void *) &ngx_http_ab_filtered_mark)


/* ngx_http_ab_request.c: the orchestrator */
ngx_http_ab_ctx_t *ngx_http_ab_ctx_compute(ngx_http_request_t *r,
    ngx_uint_t create);
ngx_int_t ngx_http_ab_uid_compute(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx);
ngx_int_t ngx_http_ab_assignment_compute(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx, ngx_uint_t i);
ngx_int_t ngx_http_ab_record_events(ngx_http_request_t *r, ab_events_t *ev,
    ngx_uint_t claim);
ngx_int_t ngx_http_ab_add_core_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_ab_experiment_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_ab_exposure_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_ab_header_filter_init(ngx_conf_t *cf);


/* The main request's context, created when `create` is set. */
static ngx_inline ngx_http_ab_ctx_t *
ngx_http_ab_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_http_ab_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_ab_module);

    if (ctx != NULL && ctx != NGX_HTTP_AB_FILTERED) {
        return ctx;
    }

    return ngx_http_ab_ctx_compute(r, create);
}


/* The visitor's id in ctx->uid: read, minted, or NGX_DECLINED (none). */
static ngx_inline ngx_int_t
ngx_http_ab_uid(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    if (ctx->uid_state == NGX_HTTP_AB_UID_UNKNOWN) {
        return ngx_http_ab_uid_compute(r, ctx);
    }

    return ctx->uid_state == NGX_HTTP_AB_UID_NONE ? NGX_DECLINED : NGX_OK;
}


/*
 * The id where the hashes want it (ab_assign_before()), with the room for
 * their prefixes in front: copied there once, whatever the number of
 * hashes. Needs the id resolved.
 */
static ngx_inline u_char *
ngx_http_ab_key_uid(ngx_http_ab_ctx_t *ctx)
{
    if (!ctx->key_uid) {
        ngx_memcpy(ctx->key, ctx->uid.data, ctx->uid.len);
        ctx->key_uid = 1;
    }

    return ctx->key;
}


/* The variant experiment i shows this visitor, or NOT_ENROLLED. */
static ngx_inline ngx_int_t
ngx_http_ab_assignment(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_uint_t i)
{
    if (ctx->flags[i] & NGX_HTTP_AB_ASSIGNED) {
        return ctx->assigned[i];
    }

    return ngx_http_ab_assignment_compute(r, ctx, i);
}


/* ngx_http_ab_policy.c: who may be enrolled */
void ngx_http_ab_policy_compute(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx);
ngx_int_t ngx_http_ab_holdout_compute(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx);
ngx_int_t ngx_http_ab_in_layer(ngx_http_request_t *r,
    ngx_http_ab_experiment_t *exp, ngx_http_ab_ctx_t *ctx);


/* QA pins (ctx->flags FORCED) and exclusion (ctx->excluded), decided
 * once per request. */
static ngx_inline void
ngx_http_ab_policy(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    if (!ctx->policy_done) {
        ngx_http_ab_policy_compute(r, ctx);
    }
}


/* In the global holdout; needs the id resolved. */
static ngx_inline ngx_int_t
ngx_http_ab_holdout(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    return ctx->holdout_done ? ctx->holdout
                             : ngx_http_ab_holdout_compute(r, ctx);
}


/* ngx_http_ab_sticky.c: the stored variants of `sticky on` experiments */
char *ngx_http_ab_sticky_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_ab_sticky_init_conf(ngx_conf_t *cf,
    ngx_http_ab_main_conf_t *mcf);
void ngx_http_ab_sticky_sent(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_str_t *cookie);
ngx_http_ab_sticky_t *ngx_http_ab_sticky_compute(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx);
void ngx_http_ab_sticky_store(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx,
    ngx_http_ab_experiment_t *exp, ngx_uint_t k);
ngx_int_t ngx_http_ab_sticky_issue(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx);


/* The visitor's stored variants, read from the sticky cookie the first
 * time; needs the id resolved. NULL: none can be read or stored (no
 * memory), the variant bucket decides. */
static ngx_inline ngx_http_ab_sticky_t *
ngx_http_ab_sticky(ngx_http_request_t *r, ngx_http_ab_ctx_t *ctx)
{
    return ctx->sticky && ctx->sticky->read
           ? ctx->sticky : ngx_http_ab_sticky_compute(r, ctx);
}


/* ngx_http_ab_events.c */
char *ngx_http_ab_event_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_ab_upstream_events(ngx_http_request_t *r,
    ab_events_t *ev);


/* ngx_http_ab_beacon.c */
char *ngx_http_ab_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


/* ngx_http_ab_strip.c */
char *ngx_http_ab_strip_request_headers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_ab_merge_strip(ngx_conf_t *cf, ngx_http_ab_loc_conf_t *prev,
    ngx_http_ab_loc_conf_t *conf);
ngx_int_t ngx_http_ab_strip_handler(ngx_http_request_t *r);


/* ngx_http_ab_zone.c */
char *ngx_http_ab_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_ab_zone_commit(ngx_cycle_t *cycle);
u_char *ngx_http_ab_zone_status(ngx_http_ab_main_conf_t *mcf, u_char *p,
    ngx_uint_t prometheus);
char *ngx_http_ab_zone_init_conf(ngx_conf_t *cf,
    ngx_http_ab_main_conf_t *mcf);
ngx_uint_t ngx_http_ab_count_exposure(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx, ngx_uint_t e, ngx_uint_t k);
ngx_int_t ngx_http_ab_set_marker(ngx_http_request_t *r,
    ngx_http_ab_ctx_t *ctx);
void ngx_http_ab_count_events(ngx_http_request_t *r, ngx_uint_t e,
    ngx_uint_t k, ngx_str_t *events, ngx_uint_t claim);


/* ngx_http_ab_status.c */
char *ngx_http_ab_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

#endif /* NGX_HTTP_AB_MODULE_H */
