/*
 * Field syntax of the log contract: exposures "exp:var,exp:var", events
 * "name;key=value;...,name". The module validates what it writes, so
 * anything off here means a damaged or foreign line and the line is bad.
 */

#include "line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_core.h"
#include "ab_event.h"
#include "audit.h"
#include "jsonl.h"

#define MAX_PAIRS   AB_LINE_PAIRS
#define MAX_EVENTS  AB_LINE_EVENTS

typedef ab_pair_ids_t  pair_t;

enum { F_TIME, F_UID, F_EXPOSURES, F_FORCED, F_EVENTS, F_STATUS, F_RT,
       F_NODE, F_N };

static const ab_json_key_t  log_keys[F_N] = {
    AB_JSON_KEY("time"), AB_JSON_KEY("uid"), AB_JSON_KEY("exposures"),
    AB_JSON_KEY("forced"), AB_JSON_KEY("events"), AB_JSON_KEY("status"),
    AB_JSON_KEY("request_time"), AB_JSON_KEY("node")
};

enum { E_TIME, E_EVENT, E_ORDER, E_REVENUE, E_UID, E_N };

static const ab_json_key_t  event_keys[E_N] = {
    AB_JSON_KEY("time"), AB_JSON_KEY("event"), AB_JSON_KEY("order"),
    AB_JSON_KEY("revenue"), AB_JSON_KEY("uid")
};


/* The first c in [p, end), or NULL. The fields are a few dozen bytes:
 * a loop the compiler inlines beats a call to memchr. */
static inline const char *
find_byte(const char *p, const char *end, char c)
{
    for ( /* void */ ; p < end; p++) {
        if (*p == c) {
            return p;
        }
    }

    return NULL;
}


/* The pairs of "exp:var,exp:var" appended to sp, at most MAX_PAIRS
 * (the caller made room for them). Pure, so that a parsing thread can
 * run it. */
static const char *
parse_pairs(const char *s, size_t len, ab_spans_t *sp)
{
    const char  *p, *end = s + len, *comma, *colon;
    ab_ppair_t  *pr;
    size_t       n = 0;

    for (p = s; p < end; p = comma + 1) {
        comma = find_byte(p, end, ',');
        comma = comma ? comma : end;
        colon = find_byte(p, comma, ':');

        if (colon == NULL
            || !ab_valid_experiment_name(p, (size_t) (colon - p))
            || !ab_valid_variant_name(colon + 1, (size_t) (comma - colon - 1)))
        {
            return "bad pair";
        }
        if (n == MAX_PAIRS) {
            return "too many pairs";
        }
        if (comma + 1 == end) {
            return "trailing ','";
        }
        pr = &sp->pairs[sp->npairs + n++];
        pr->exp = p;
        pr->exp_len = (size_t) (colon - p);
        pr->var = colon + 1;
        pr->var_len = (size_t) (comma - colon - 1);
    }

    sp->npairs += n;

    return NULL;
}


/* The pairs of a sound line into interned ids. Done only once the whole
 * line is known sound, so that a bad line adds no experiment or
 * variant. */
static const char *
pairs_intern(ab_state_t *st, const ab_input_t *in, const ab_ppair_t *prs,
    size_t n, pair_t *pairs)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        pairs[i].exp = -1;
        pairs[i].var = -1;

        if (!ab_input_selected(in, prs[i].exp, prs[i].exp_len)) {
            continue;
        }
        pairs[i].exp = ab_state_exp(st, prs[i].exp, prs[i].exp_len);
        if (pairs[i].exp < 0) {
            return "too many experiments";
        }
        pairs[i].var = ab_intern(&st->vars[pairs[i].exp], prs[i].var,
                                 prs[i].var_len);
        if (pairs[i].var < 0) {
            return "too many variants";
        }
    }

    return NULL;
}


static int
span_is(const char *s, size_t len, const char *lit, size_t litlen)
{
    return len == litlen && memcmp(s, lit, len) == 0;
}


/* What event name s is to abstat. */
static int
event_kind(const char *s, size_t len)
{
    return span_is(s, len, "purchase", 8) ? AB_EVENT_PURCHASE
           : span_is(s, len, "refund", 6) ? AB_EVENT_REFUND
           : AB_EVENT_FUNNEL;
}


/* The fields of one event of the normalized list (ab_events_next). */
static const char *
parse_event(const ab_event_item_t *it, ab_pevent_t *ev)
{
    const char  *key, *val;
    size_t       klen, vlen, pos = 0;
    int          rc;

    if (!ab_event_valid_name(it->name, it->name_len)) {
        return "bad event name";
    }

    ev->name = it->name;
    ev->name_len = it->name_len;
    ev->kind = event_kind(ev->name, ev->name_len);
    ev->order = "";
    ev->order_len = 0;
    ev->revenue = 0;
    ev->client = 0;

    while ((rc = ab_event_next_param(it->params, it->params_len, &pos, &key,
                                     &klen, &val, &vlen)) != 0)
    {
        if (rc < 0 || !ab_event_valid_name(key, klen)) {
            return "bad event key";
        }

        if (span_is(key, klen, "order", 5)) {
            if (!ab_event_valid_value(val, vlen)) {
                return "bad order id";
            }
            ev->order = val;
            ev->order_len = vlen;
        } else if (span_is(key, klen, "revenue", 7)) {
            if (ab_parse_micro(val, vlen, 1, &ev->revenue) != 0) {
                return "bad revenue";
            }
        } else if (vlen == 0) {
            return "empty event value";
        } else if (span_is(key, klen, "src", 3)) {
            ev->client = span_is(val, vlen, "client", 6);
        }
    }

    return NULL;
}


/* The events of an events field appended to sp, at most MAX_EVENTS (the
 * caller made room for them). */
static const char *
parse_events(const char *s, size_t len, ab_spans_t *sp)
{
    ab_event_item_t  it;
    const char      *err;
    size_t           n = 0, pos = 0;
    int              rc;

    while ((rc = ab_events_next(s, len, &pos, &it)) != 0) {
        if (rc < 0) {
            return "trailing ','";
        }
        if (n == MAX_EVENTS) {
            return "too many events";
        }
        if ((err = parse_event(&it, &sp->events[sp->nevents + n]))) {
            return err;
        }
        n++;
    }

    sp->nevents += n;

    return NULL;
}


/*
 * Applies the events of a visitor (vis may be AB_NONE: then only refunds,
 * which find their visitor through the order, have any effect).
 */
static int
apply_events(ab_state_t *st, uint32_t vis, int64_t t, const ab_pevent_t *evs,
    size_t n, const int *ids)
{
    ab_rec_t  rec;
    size_t    i;
    int64_t   amount;

    for (i = 0; i < n; i++) {
        const ab_pevent_t  *ev = &evs[i];

        /* Anyone can make the beacon log any name for any id: what a
         * visitor sends about itself is never money. */
        if (ev->client && ev->kind != AB_EVENT_FUNNEL) {
            st->client_order_events++;
            continue;
        }

        if (ev->kind == AB_EVENT_REFUND) {
            /* The refunded amount, however the sender signed it. */
            amount = ev->revenue < 0 ? -ev->revenue : ev->revenue;
            if (ab_state_refund(st, ev->order, ev->order_len, amount) != 0) {
                return -1;
            }
            continue;
        }

        if (vis == AB_NONE) {
            continue;
        }

        if (ev->kind == AB_EVENT_PURCHASE && ev->order_len > 0) {
            if (ab_state_purchase(st, vis, ev->order, ev->order_len, t,
                                  ev->revenue) != 0)
            {
                return -1;
            }
            continue;
        }

        memset(&rec, 0, sizeof(rec));
        rec.time = t;
        rec.vis = vis;

        if (ev->kind == AB_EVENT_PURCHASE) {
            /* Cannot be deduplicated: a resent one counts twice. */
            st->orders_no_id++;
            rec.kind = AB_REC_PURCHASE;
            rec.value = ev->revenue;
        } else {
            rec.kind = AB_REC_EVENT;
            rec.arg = (uint16_t) ids[i];
        }

        if (ab_state_record(st, &rec) != 0) {
            return -1;
        }
    }

    return 0;
}


/* Funnel event ids, interned before anything is applied. */
static const char *
intern_events(ab_state_t *st, const ab_pevent_t *evs, size_t n, int *ids)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        ids[i] = -1;
        if (evs[i].kind != AB_EVENT_FUNNEL) {
            continue;
        }
        ids[i] = ab_intern(&st->events, evs[i].name, evs[i].name_len);
        if (ids[i] < 0) {
            return "too many event names";
        }
    }

    return NULL;
}


void
ab_line_bad(ab_state_t *st, const ab_input_t *in, const char *file,
    uint64_t lineno, const char *what, const char *detail)
{
    char  reason[AB_REASON_MAX];

    if (detail != NULL) {
        snprintf(reason, sizeof(reason), "%s: %s", what, detail);
        what = reason;
    }
    if (ab_state_bad(st, file, lineno, what) && !in->quiet) {
        fprintf(stderr, "abstat: %s:%llu: bad line: %s\n", file,
                (unsigned long long) lineno, what);
    }
}


/* ab_line_bad(): a bad line is no error. */
static int
bad(ab_state_t *st, const ab_input_t *in, const char *file, uint64_t lineno,
    const char *what, const char *detail)
{
    ab_line_bad(st, in, file, lineno, what, detail);

    return 0;
}


/* A string field: absent and "" both give len 0; anything else not a
 * string is an error. */
static int
str_field(const ab_jv_t *v, const char **s, size_t *len)
{
    *s = "";
    *len = 0;

    if (v->type == AB_JV_ABSENT) {
        return 0;
    }
    if (v->type != AB_JV_STRING) {
        return -1;
    }
    *s = v->s;
    *len = v->len;

    return 0;
}


void
ab_spans_reset(ab_spans_t *sp)
{
    sp->nevents = 0;
    sp->npairs = 0;
}


void
ab_spans_free(ab_spans_t *sp)
{
    free(sp->events);
    free(sp->pairs);
    memset(sp, 0, sizeof(*sp));
}


/* Room in sp for the most events and pairs (forced and exposed) one
 * line can have. */
static int
spans_room(ab_spans_t *sp)
{
    return ab_grow_array((void **) &sp->events, &sp->capevents,
                         sp->nevents + MAX_EVENTS, sizeof(*sp->events))
           || ab_grow_array((void **) &sp->pairs, &sp->cappairs,
                            sp->npairs + 2 * MAX_PAIRS, sizeof(*sp->pairs));
}


void
ab_line_by(ab_by_t *by)
{
    ab_by_keys(by, log_keys, F_N);
}


static const char *
parse_fields(char *line, size_t len, ab_pline_t *pl, ab_spans_t *sp,
    ab_json_shape_t *shape, const ab_by_t *by)
{
    ab_jv_t      f[AB_JSON_MAX_KEYS];
    const char  *err, *s[F_N];
    size_t       l[F_N], i;

    /* the dimensions' keys only with --by: no cost without */
    err = by ? ab_json_object(line, len, by->keys, by->nkeys, f, shape)
             : ab_json_object(line, len, log_keys, F_N, f, shape);
    if (err != NULL) {
        pl->detail = err;
        return "not JSON";
    }

    if (f[F_UID].type == AB_JV_ABSENT) {
        return "no uid";
    }
    if (f[F_TIME].type == AB_JV_ABSENT) {
        return "no time";
    }

    for (i = 0; i < F_N; i++) {
        if (str_field(&f[i], &s[i], &l[i]) != 0) {
            pl->detail = "not a string";
            return log_keys[i].name;
        }
    }

    if (ab_parse_micro(s[F_TIME], l[F_TIME], 0, &pl->time) != 0) {
        return "bad time";
    }

    pl->status = 0;
    pl->rt = 0;
    if (l[F_STATUS] > 0
        && ab_parse_micro(s[F_STATUS], l[F_STATUS], 0, &pl->status))
    {
        return "bad status";
    }
    if (l[F_RT] > 0 && ab_parse_micro(s[F_RT], l[F_RT], 0, &pl->rt)) {
        return "bad request_time";
    }

    /* Forced pairs never count; only the audit (audit.h) reads them,
     * just before the exposures. */
    if ((err = parse_pairs(s[F_FORCED], l[F_FORCED], sp)) != NULL) {
        pl->detail = err;
        return "bad forced";
    }
    pl->nforced = sp->npairs - pl->forced0;
    pl->pair0 = sp->npairs;

    if ((err = parse_events(s[F_EVENTS], l[F_EVENTS], sp)) != NULL) {
        pl->detail = err;
        return "bad events";
    }
    if ((err = parse_pairs(s[F_EXPOSURES], l[F_EXPOSURES], sp)) != NULL) {
        pl->detail = err;
        return "bad exposures";
    }

    pl->uid = s[F_UID];
    pl->uid_len = l[F_UID];
    pl->node = s[F_NODE];
    pl->node_len = l[F_NODE];
    if (pl->uid_len > 0) {
        pl->key = ab_key_of(pl->uid, pl->uid_len);
    }

    for (i = 0; by != NULL && i < by->n; i++) {
        pl->seg[i] = ab_seg_text(&by->dims[i], f);
    }

    return NULL;
}


const char *
ab_line_log_parse(char *line, size_t len, ab_pline_t *pl, ab_spans_t *sp,
    ab_json_shape_t *shape, const ab_by_t *by)
{
    pl->detail = NULL;
    pl->oom = 0;
    pl->event0 = sp->nevents;
    pl->forced0 = sp->npairs;
    pl->pair0 = sp->npairs;
    pl->nforced = 0;

    if (spans_room(sp) != 0) {
        pl->oom = 1;
        return pl->what = "out of memory";
    }

    pl->what = parse_fields(line, len, pl, sp, shape, by);

    /* a bad line keeps no spans: the next line's start where its did */
    if (pl->what != NULL) {
        sp->nevents = pl->event0;
        sp->npairs = pl->forced0;
        pl->pair0 = pl->forced0;
        pl->nforced = 0;
    }
    pl->nevents = sp->nevents - pl->event0;
    pl->npairs = sp->npairs - pl->pair0;

    return pl->what;
}


/* The segment value ids of a sound line (in->by's dimensions). */
static int
seg_ids(ab_state_t *st, const ab_input_t *in, const ab_pline_t *pl,
    uint16_t *ids)
{
    const ab_dim_t  *d;
    char             buf[16];
    const char      *s;
    size_t           i, len;
    int              id;

    for (i = 0; i < st->nseg; i++) {
        d = &in->by->dims[i];
        s = pl->seg[i].s;
        len = pl->seg[i].len;
        if (d->kind == AB_DIM_DAY || d->kind == AB_DIM_HOUR) {
            len = ab_seg_time(d->kind, pl->time, buf);
            s = buf;
        } else if (d->kind == AB_DIM_DEVICE) {
            if (st->ua_cache == NULL
                && (st->ua_cache = calloc(1, sizeof(*st->ua_cache))) == NULL)
            {
                st->oom = 1;
                return -1;
            }
            s = ab_device_name(ab_device_cached(st->ua_cache, s, len));
            len = strlen(s);
        }
        if ((id = ab_state_seg_id(st, i, s, len)) < 0) {
            st->oom = 1;
            return -1;
        }
        ids[i] = (uint16_t) id;
    }

    return 0;
}


/* A 5xx status, as the micro-unit reader gives it (status x 10^6, the
 * reader being the one of times and money). */
static int
is_5xx(int64_t status_micro)
{
    return status_micro >= 500 * AB_MICRO && status_micro < 600 * AB_MICRO;
}


int
ab_line_log_apply(ab_state_t *st, const ab_input_t *in,
    const ab_pline_t *pl, const ab_spans_t *sp, const char *file,
    uint64_t lineno)
{
    const ab_pevent_t  *evs = sp->events + pl->event0;
    const char         *err;
    size_t              npairs = 0, i;
    uint32_t            m;
    pair_t              pairs[MAX_PAIRS];
    int                 ids[MAX_EVENTS];
    uint16_t            segs[AB_BY_MAX];
    uint32_t            vis;
    ab_rec_t            rec;
    int                 have_segs = 0, node = pl->node_len > 0 ? -1 : 0;
    int                 due;

    if (pl->oom) {
        st->oom = 1;
        return -1;
    }
    if (pl->what != NULL) {
        return bad(st, in, file, lineno, pl->what, pl->detail);
    }

    /* The line is sound: what is left are the limits on names. */
    if (pl->uid_len > 0) {
        npairs = pl->npairs;
        err = pairs_intern(st, in, sp->pairs + pl->pair0, npairs, pairs);
        if (err != NULL) {
            return bad(st, in, file, lineno, "bad exposures", err);
        }
    }
    if ((err = intern_events(st, evs, pl->nevents, ids))) {
        return bad(st, in, file, lineno, "bad events", err);
    }

    if (pl->uid_len == 0) {
        /* No visitor: nothing of this line can be attributed except a
         * refund, which finds its visitor through the order. */
        return apply_events(st, AB_NONE, pl->time, evs, pl->nevents, ids);
    }

    vis = ab_state_visitor_key(st, pl->key);
    if (vis == AB_NONE) {
        return -1;
    }

    /* Outside the exposure window (--since, --until) the line's
     * requests and events still count for earlier exposures. */
    for (i = 0; i < npairs && ab_input_in_window(in, pl->time); i++) {
        if (pairs[i].exp < 0) {
            continue;
        }
        /* the segment values and the node count only on an entry line
         * (the membership's first, an earlier or one at the same time):
         * most lines of a returning visitor are later, and need none
         * interned */
        due = 0;
        if ((st->nseg > 0 && !have_segs) || node < 0) {
            m = ab_state_memb(st, vis, pairs[i].exp);
            due = m == AB_NONE || pl->time <= st->membs[m].entry;
        }
        if (due && st->nseg > 0 && !have_segs) {
            if (seg_ids(st, in, pl, segs) != 0) {
                return -1;
            }
            have_segs = 1;
        }
        if (due && node < 0 && (node = ab_audit_node(st, pl)) < 0) {
            return -1;
        }
        if (ab_state_expose(st, vis, pairs[i].exp, pairs[i].var, pl->time,
                            have_segs ? segs : NULL,
                            node > 0 ? (uint32_t) node : 0) != 0)
        {
            return -1;
        }
    }

    if (ab_audit_line(st, in, pl, sp->pairs, pairs) != 0) {
        return -1;
    }

    /* the data's first line time, which every report states
     * (ab_state_record() keeps the latest) */
    if (!st->has_min_time || pl->time < st->min_time) {
        st->min_time = pl->time;
        st->has_min_time = 1;
    }

    memset(&rec, 0, sizeof(rec));
    rec.kind = AB_REC_REQUEST;
    rec.time = pl->time;
    rec.vis = vis;
    rec.value = pl->rt;
    rec.arg = is_5xx(pl->status);

    if (ab_state_record(st, &rec) != 0) {
        return -1;
    }

    return apply_events(st, vis, pl->time, evs, pl->nevents, ids);
}


int
ab_line_log(ab_state_t *st, const ab_input_t *in, char *line, size_t len,
    const char *file, uint64_t lineno)
{
    ab_pline_t  pl;
    ab_spans_t  sp;
    int         rc;

    memset(&sp, 0, sizeof(sp));
    (void) ab_line_log_parse(line, len, &pl, &sp, NULL, in->by);
    rc = ab_line_log_apply(st, in, &pl, &sp, file, lineno);
    ab_spans_free(&sp);

    return rc;
}


/* A number that may be a JSON number or a string holding one. */
static int
micro_field(const ab_jv_t *v, int allow_neg, int64_t *out)
{
    if (v->type != AB_JV_STRING && v->type != AB_JV_NUMBER) {
        return -1;
    }

    return ab_parse_micro(v->s, v->len, allow_neg, out);
}


const char *
ab_line_event_parse(char *line, size_t len, ab_pevline_t *pe)
{
    ab_jv_t      f[E_N];
    const char  *err;
    ab_pevent_t *ev = &pe->ev;

    pe->detail = NULL;
    pe->uid = "";
    pe->uid_len = 0;

    if ((err = ab_json_object(line, len, event_keys, E_N, f, NULL)) != NULL)
    {
        pe->detail = err;
        return "not JSON";
    }

    if (f[E_TIME].type == AB_JV_ABSENT
        || micro_field(&f[E_TIME], 0, &pe->time))
    {
        return "bad or no time";
    }
    if (f[E_EVENT].type != AB_JV_STRING
        || !ab_event_valid_name(f[E_EVENT].s, f[E_EVENT].len))
    {
        return "bad or no event";
    }

    memset(ev, 0, sizeof(*ev));
    ev->name = f[E_EVENT].s;
    ev->name_len = f[E_EVENT].len;
    ev->kind = event_kind(ev->name, ev->name_len);
    ev->order = "";

    if (f[E_ORDER].type != AB_JV_ABSENT) {
        if (f[E_ORDER].type != AB_JV_STRING
            || !ab_event_valid_value(f[E_ORDER].s, f[E_ORDER].len))
        {
            return "bad order";
        }
        ev->order = f[E_ORDER].s;
        ev->order_len = f[E_ORDER].len;
    }

    if (f[E_REVENUE].type != AB_JV_ABSENT
        && micro_field(&f[E_REVENUE], 1, &ev->revenue) != 0)
    {
        return "bad revenue";
    }

    if (ev->kind != AB_EVENT_REFUND) {
        /* Anything but a refund must say whose it is. */
        if (f[E_UID].type != AB_JV_STRING || f[E_UID].len == 0) {
            return "no uid for a non-refund event";
        }
        pe->uid = f[E_UID].s;
        pe->uid_len = f[E_UID].len;
    }

    return NULL;
}


int
ab_line_event_apply(ab_state_t *st, const ab_input_t *in,
    const ab_pevline_t *pe, const char *file, uint64_t lineno)
{
    const char  *err;
    int          id = -1;
    uint32_t     vis = AB_NONE;

    if (pe->uid_len > 0) {
        if ((err = intern_events(st, &pe->ev, 1, &id)) != NULL) {
            return bad(st, in, file, lineno, err, NULL);
        }
        vis = ab_state_visitor(st, pe->uid, pe->uid_len);
        if (vis == AB_NONE) {
            return -1;
        }
    }

    return apply_events(st, vis, pe->time, &pe->ev, 1, &id);
}


int
ab_line_event(ab_state_t *st, const ab_input_t *in, char *line, size_t len,
    const char *file, uint64_t lineno)
{
    ab_pevline_t  pe;
    const char   *what = ab_line_event_parse(line, len, &pe);

    if (what != NULL) {
        return bad(st, in, file, lineno, what, pe.detail);
    }

    return ab_line_event_apply(st, in, &pe, file, lineno);
}
