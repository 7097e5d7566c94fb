/*
 * What abstat keeps while reading: per distinct visitor, not per line.
 *
 *   visitor      a slot of the visitor table (uid hash -> index, ~27-53
 *                bytes at load 3/8..3/4) and the head of its list (4 bytes);
 *   membership   16 bytes per (visitor, experiment): variant, entry time;
 *   order        a slot of the order table and 32 bytes per order id;
 *   segments     with --by only: 2 bytes per (membership, dimension), in
 *                segs beside the memberships, so that ab_memb_t stays 16;
 *   nodes        once a line has a `node`: 2 bytes per membership, the
 *                node of its entry line (audit.h), in memb_node.
 *
 * Requests and events are not kept in memory: each becomes a 24-byte
 * record in a spool file, read back once after the input, when every
 * visitor's entry time is final (lines and files come in any order, so an
 * event cannot be judged before all exposures are seen). No text is ever
 * parsed twice.
 */

#ifndef ABSTAT_STATE_H
#define ABSTAT_STATE_H

#include <stdint.h>
#include <stdio.h>

#include "device.h"
#include "intern.h"
#include "segment.h"
#include "tab.h"

#define AB_NONE             UINT32_MAX
#define AB_VAR_MULTI        0xffff
/* threads that read and parse (--threads), at most */
#define AB_MAX_THREADS      8

#define AB_MAX_EXPERIMENTS  4096
#define AB_MAX_EXP_VARIANTS 1024
#define AB_MAX_EVENT_NAMES  4096
#define AB_BAD_SAMPLES      10
#define AB_REASON_MAX       96

/* Revenue sums: one event is at most 999999999999.999999 (about 2^60
 * micro-units, line.c), so a sum of any number of them could wrap an
 * int64; 128 bits hold 2^67 such events. Aligned as an int64 so that
 * the totals take 40 bytes, not 48. */
__extension__ typedef __int128  ab_money_t __attribute__((aligned(8)));

typedef struct {
    uint32_t  next;             /* the visitor's next membership */
    uint16_t  exp;
    uint16_t  var;              /* or AB_VAR_MULTI */
    int64_t   entry;            /* earliest unforced exposure, microseconds */
} ab_memb_t;

typedef enum {
    AB_REC_REQUEST = 1,         /* arg: 1 for a 5xx; value: request_time us */
    AB_REC_PURCHASE,            /* without order id; value: revenue micro */
    AB_REC_EVENT,               /* arg: event name id */
    AB_REC_HISTORY,             /* a request folded already (fold.c), kept
                                   as CUPED history only; as a request */
    AB_REC_EVENT_HISTORY        /* the same of an event; as an event */
} ab_rec_kind_t;

typedef struct {
    int64_t   time;             /* microseconds */
    int64_t   value;
    uint32_t  vis;
    uint16_t  kind;
    uint16_t  arg;
} ab_rec_t;

typedef struct {
    int64_t   time;             /* of the earliest occurrence */
    int64_t   revenue;          /* micro-units */
    int64_t   refund;           /* micro-units, summed over refunds;
                                   saturated: only its excess over the
                                   revenue matters, and that is capped */
    uint32_t  vis;
    uint32_t  refunds;          /* refund events, for orphan counting */
    uint32_t  purchased;
} ab_order_t;

/* One visitor's totals in one experiment, from entry on. */
typedef struct {
    ab_money_t  revenue;        /* micro-units, refunds subtracted */
    int64_t   request_time;     /* microseconds */
    uint32_t  orders;
    uint32_t  requests;
    uint32_t  errors;           /* 5xx responses */
} ab_vagg_t;

typedef struct {
    const char  *file;
    uint64_t     line;
    char         reason[AB_REASON_MAX];
} ab_bad_t;

typedef struct {
    ab_tab_t            visitors;
    uint32_t           *heads;
    size_t              nvis, capvis;
    ab_key_t           *tie_keys;       /* per visitor, made on the first
                                           tie of two purchases (state.c) */
    size_t              captie;

    ab_memb_t          *membs;
    size_t              nmemb, capmemb;

    ab_tab_t            multi;  /* (membership, variant) of excluded ones */

    ab_tab_t            order_ids;
    ab_order_t         *orders;
    size_t              norders, caporders;

    FILE               *spool;
    ab_rec_t           *rbuf;
    size_t              rbuf_n;
    size_t              rbuf_cap;
    uint64_t            nrecs;

    ab_intern_t         exps;
    ab_intern_t        *vars;   /* per experiment: ab_state_exp() */
    size_t              vars_cap;
    ab_intern_t         events; /* funnel event names */

    uint64_t            files;
    uint64_t            lines;
    uint64_t            bad_lines;
    uint64_t            duplicate_orders;
    uint64_t            orphan_refunds; /* refunds without an order id */
    uint64_t            client_order_events; /* src=client purchase/refund:
                                                never orders */
    uint64_t            orders_no_id;   /* purchases without an order id */
    ab_bad_t            bad[AB_BAD_SAMPLES];
    size_t              nbad;

    int64_t             max_time;       /* latest request time, us */
    int64_t             min_time;       /* earliest, when has_min_time */
    int                 has_min_time;
    int64_t             file_max_time;  /* the same in the current file */

    /*
     * Folded records (--state, see fold.c): what records older than the
     * watermark added to each membership, so that they need not be kept.
     * fold_ebe: their events before the membership's entry;
     * vis_fold_events: per visitor, events folded (all before any entry
     * made later, which is at or after the watermark).
     */
    int                 folded;
    int64_t             fold_wm;
    ab_vagg_t          *fold_agg;
    uint32_t           *fold_ebe;
    size_t              nfold_memb;
    uint32_t           *vis_fold_events;
    size_t              nfold_vis;
    /* per visitor below nfold_vis: its latest record or order, us; a
     * visitor never exposed and idle for --retain is forgotten
     * (retain.h) */
    int64_t            *vis_last;
    ab_tab_t            fold_seen;      /* (membership, event) pairs */
    /* CUPED history (history.h) kept by the state: the lookback (us; 0:
     * none, a state made with --no-cuped) and, per folded membership,
     * what records dropped since gave its history */
    int64_t             hist_lookback;
    ab_vagg_t          *fold_pre;
    ab_tab_t            fold_seen_pre;  /* (membership, event) pairs of
                                           its history */
    uint64_t            late_exposures;
    uint64_t            forgotten;      /* visitors, by --retain */
    char               *bad_files[AB_BAD_SAMPLES];  /* owned names */

    /* --by (segment.h): the set as a spec, per dimension the values
     * seen, per membership (nmemb x nseg) the ids of its entry line's */
    char                seg_spec[AB_SEG_SPEC_MAX];
    size_t              nseg;
    ab_intern_t         segvals[AB_BY_MAX];
    uint16_t           *segs;
    size_t              capsegs;
    uint64_t            seg_overflow;   /* values past AB_SEG_VALUES_MAX */
    ab_device_cache_t  *ua_cache;       /* --by device, made on first use */
    struct ab_audit_s  *audit;          /* nodes and the audit (audit.h);
                                           NULL until a line needs it */
    /* per membership the node id (audit->nodes) of its entry line; NULL
     * until a line has a node, when the memberships before it were all
     * entered at "(unknown)" */
    uint16_t           *memb_node;
    size_t              capmemb_node;

    int                 oom;
    int                 spool_failed;   /* with oom: the spool, not memory */
} ab_state_t;

int ab_state_init(ab_state_t *st);

/* The id of experiment name (added when new) with its variant table
 * ready in st->vars; -1 past the limit or out of memory. */
int ab_state_exp(ab_state_t *st, const char *name, size_t len);
void ab_state_free(ab_state_t *st);

/* Counts a bad line and keeps it as a sample (ab_state_sample()).
 * Returns whether it is among the first AB_BAD_SAMPLES counted, the
 * ones told on stderr. */
int ab_state_bad(ab_state_t *st, const char *file, uint64_t line,
    const char *reason);

/* Keeps a bad line as a sample without counting it: the samples are the
 * AB_BAD_SAMPLES least by line number, then reason, then file name,
 * whatever the order lines and files are read in (state.c). file must
 * outlive st. */
void ab_state_sample(ab_state_t *st, const char *file, uint64_t line,
    const char *reason);

/* The visitor index of a uid, created on first sight. AB_NONE on OOM. */
uint32_t ab_state_visitor(ab_state_t *st, const char *uid, size_t len);
/* The same, for a key made by ab_key_of() (perhaps in another thread). */
uint32_t ab_state_visitor_key(ab_state_t *st, ab_key_t key);

/* An unforced exposure of visitor vis to (exp, var) at time t (the
 * caller leaves out those outside --since and --until); seg: the line's
 * segment value ids (st->nseg of them), NULL without --by; node: the
 * line's node id (audit.h; 0, "(unknown)", for a line without one, and
 * whenever the line is not the entry's). The entry line's values are the
 * membership's: an earlier exposure replaces them, one at the same time
 * keeps the bytewise smaller per dimension and the bytewise smaller node
 * name, so that the order of lines and files does not matter. */
int ab_state_expose(ab_state_t *st, uint32_t vis, int exp, int var,
    int64_t t, const uint16_t *seg, uint32_t node);

/* The membership of visitor vis in experiment exp, or AB_NONE. */
uint32_t ab_state_memb(const ab_state_t *st, uint32_t vis, int exp);

/* Makes st segment by (its spec and dimensions); before any line. -1
 * out of memory. */
int ab_state_by(ab_state_t *st, const ab_by_t *by);

/* The id of value s of dimension d (AB_SEG_OTHER's past the limit); -1
 * out of memory. */
int ab_state_seg_id(ab_state_t *st, size_t d, const char *s, size_t len);

/* The value ids of membership m (st->nseg of them). */
static inline const uint16_t *
ab_state_segs(const ab_state_t *st, size_t m)
{
    return st->segs + m * st->nseg;
}

int ab_state_record(ab_state_t *st, const ab_rec_t *rec);

int ab_state_purchase(ab_state_t *st, uint32_t vis, const char *order,
    size_t len, int64_t t, int64_t revenue);

int ab_state_refund(ab_state_t *st, const char *order, size_t len,
    int64_t amount);

/* count refunds of order at once, amount their sum (the order round's
 * resolved orders, shard.h). */
int ab_state_refunds(ab_state_t *st, const char *order, size_t len,
    int64_t amount, uint32_t count);

/* Replaces the records by those fn keeps (returns 1 for), in order; fn
 * may change the record it keeps (a copy). */
int ab_state_filter_records(ab_state_t *st,
    int (*fn)(void *ctx, ab_rec_t *rec), void *ctx);

/* Grows array *arr of *cap elements of size bytes to hold need. */
int ab_grow_array(void **arr, size_t *cap, size_t need, size_t size);

/* Resizes *arr from n to exactly need elements, zeroing the new ones:
 * for arrays sized once per run, where doubling would only waste. */
int ab_resize_zero(void **arr, size_t n, size_t need, size_t size);

/* Calls fn on every record, in the order they were written. */
int ab_state_each_record(ab_state_t *st,
    void (*fn)(void *ctx, const ab_rec_t *rec), void *ctx);

#endif /* ABSTAT_STATE_H */
