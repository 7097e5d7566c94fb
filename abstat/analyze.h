/*
 * Between reading and reporting: the per-membership totals that the
 * second pass over the spooled records builds (analyze.c) and that the
 * per-experiment statistics read (experiment.c).
 */

#ifndef ABSTAT_ANALYZE_H
#define ABSTAT_ANALYZE_H

#include <stdint.h>

#include "esums.h"
#include "report.h"
#include "state.h"
#include "tab.h"

/* A counted purchase, for the trend: when, whose, how much (net). */
typedef struct {
    int64_t   time;
    int64_t   revenue;          /* micro-units, refunds subtracted */
    uint32_t  memb;
} ab_buy_t;

typedef struct ab_pass_s {
    ab_state_t         *st;
    const ab_config_t  *cfg;
    ab_vagg_t          *agg;            /* per membership */
    ab_vagg_t          *pre;            /* per membership: its history
                                           (history.h), with --cuped */
    ab_tab_t           *seen;           /* (membership, event) pairs:
                                           st->fold_seen, extended */
    ab_tab_t           *seen_pre;       /* the same of their history:
                                           st->fold_seen_pre, extended */
    uint64_t          **event_count;    /* [exp][var * nevents + event] */
    uint64_t          **event_pre;      /* the same, had it in history */
    uint64_t          **event_both;     /* ... and had it after entry too */
    uint64_t          **multi;          /* [exp][var] */
    uint64_t            events_before_exposure;
    uint64_t            refunds_over_order;     /* orders, capped */
    ab_buy_t           *buys;           /* with --bucket only */
    size_t              nbuys, capbuys;
    int                 failed;
    /* abstat merge (partial.h): no memberships, but per experiment its
     * sums (cell 0) and the first and last entry, as partials gave them */
    const ab_esums_t   *given_sums;
    const int64_t      *given_span;     /* [2 e], [2 e + 1]; INT64_MAX,
                                           INT64_MIN: none */
    const struct ab_trend_sums_s  *given_trend;    /* cfg->bucket's */
    const struct ab_given_dim_s   *given_dims;     /* [e * AB_BY_MAX + d] */
    uint64_t *const    *given_entered;  /* [e][snapshot], with history */
} ab_pass_t;

/*
 * What merge has of one dimension of one experiment (--by): per value
 * of the merged state's st->segvals[d] (by id), whether a partial saw it,
 * its visitors, and its cell as reduce wrote it: the sums, the funnel
 * and multi-variant counts ([value][var * nevents + event], [value][var]).
 * segments.c pools the values into segments as a report would.
 */
typedef struct ab_given_dim_s {
    ab_esums_t   cells;         /* ncells: one per value id */
    uint8_t     *seen;
    uint64_t    *visitors;
    uint64_t    *event_count;
    uint64_t    *event_pre;     /* NULL without CUPED */
    uint64_t    *event_both;
    uint64_t    *multi;
    uint64_t    *entered;       /* [value][snapshot], with history */
} ab_given_dim_t;

/* ab_analyze() in its parts: the report's fixed fields, the pass over the
 * records (requests and events credited to memberships; rep's counts of
 * it), then every experiment's report from the pass. */
void ab_report_init(ab_report_t *rep, ab_state_t *st, const ab_config_t *cfg);
int ab_pass_make(ab_state_t *st, const ab_config_t *cfg, ab_pass_t *p,
    ab_report_t *rep);
int ab_report_pass(ab_pass_t *p, ab_report_t *rep);
void ab_pass_free(ab_pass_t *p);

/* The experiments and variants cfg names, given ids in st even without
 * visitors (what ab_pass_make() does first). -1 out of memory. */
int ab_pass_named(ab_state_t *st, const ab_config_t *cfg);

/*
 * Which memberships of an experiment a report reads: all of them, or
 * those of one segment (a list, segments.c, so that a segment costs its
 * size, not the state's); and their funnel and multi-variant counts,
 * which the pass keeps per experiment and segments.c per segment.
 */
typedef struct {
    const uint32_t  *list;      /* NULL: every membership */
    size_t           nlist;
    const ab_msums_t   *sums;   /* [var]: their sums (esums.h) */
    const ab_capset_t  *caps;   /* their capped histogram; NULL: no cap */
    const uint64_t  *event_count;       /* [var * nevents + event] */
    const uint64_t  *event_pre;         /* the same; NULL without CUPED */
    const uint64_t  *event_both;
    const uint64_t  *multi;             /* [var] */
    const uint64_t  *entered;   /* [snapshot] of --config-history, as
                                   merge was given; NULL: counted */
} ab_msel_t;

/* How many memberships sel reads through ab_msel_at(). */
static inline size_t
ab_msel_n(const ab_state_t *st, const ab_msel_t *sel)
{
    return sel->list ? sel->nlist : st->nmemb;
}

static inline size_t
ab_msel_at(const ab_msel_t *sel, size_t at)
{
    return sel->list ? sel->list[at] : at;
}

/* The variants, SRM and metrics of experiment e's memberships that sel
 * selects: variants in order (ids, baseline first), revenue cap cap
 * (NaN: none). No roles (roles.c), no trend. */
int ab_experiment_rows(const ab_pass_t *p, int e, const ab_msel_t *sel,
    const int *order, const char *baseline_source, double cap, ab_rexp_t *x);

/* The segments of experiment e (cfg->by), every dimension's (segments.c):
 * which values pool into which segment, their memberships and funnel
 * counts, and their cells in the experiment's sums (esums.h). */
typedef struct ab_segplans_s  ab_segplans_t;

ab_segplans_t *ab_segplans_make(const ab_pass_t *p, int e);
const ab_cellmap_t *ab_segplans_cells(const ab_segplans_t *pl);
void ab_segplans_free(ab_segplans_t *pl);

/* The plans of reduce: every value a segment of its own, none pooled
 * (--by-top pools at merge, over every partial's visitors). */
ab_segplans_t *ab_segplans_values(const ab_pass_t *p, int e);

/* Segment s of dimension d of pl: what a partial keeps of it. */
typedef struct {
    const char      *name;
    uint64_t         visitors;
    size_t           cell;          /* in the sums of pl's cells */
    const uint64_t  *event_count;   /* [var * nevents + event] */
    const uint64_t  *event_pre;     /* NULL without CUPED */
    const uint64_t  *event_both;
    const uint64_t  *multi;         /* [var] */
    const uint32_t  *membs;         /* its memberships */
    size_t           nmembs;
} ab_segcell_t;

size_t ab_segplans_count(const ab_segplans_t *pl, size_t d);
void ab_segplans_at(const ab_pass_t *p, int e, const ab_segplans_t *pl,
    size_t d, size_t s, ab_segcell_t *out);

/* The segments' reports and their heterogeneity into x, whose own rows
 * are made, from the sums es that pl's cells were filled into. */
int ab_segments(const ab_pass_t *p, int e, const ab_segplans_t *pl,
    const ab_esums_t *es, const int *order, double cap, ab_rexp_t *x);

/* Per-membership totals for a pass: the folded ones *folded (taken
 * over: *folded becomes NULL) grown to every membership, or zeroes. */
int ab_pass_totals(const ab_state_t *st, ab_vagg_t **folded, ab_vagg_t **out);

/* The trend series of experiment e (variants in x, ids in order). */
int ab_trend(const ab_pass_t *p, int e, const int *order, ab_rexp_t *x);

/* The report of experiment e. */
int ab_experiment_report(const ab_pass_t *p, int e, ab_rexp_t *out);

void ab_experiment_free(ab_rexp_t *x);

/* Days from the first to the last entry into experiment e, NaN when all
 * entered at once: the enrollment rate of power.c. */
double ab_entry_span_days(const ab_pass_t *p, int e);

/* The first and last entry into experiment e (INT64_MAX and INT64_MIN
 * when none): of its memberships, or what merge was given. */
void ab_entry_range(const ab_pass_t *p, int e, int64_t *first,
    int64_t *last);

/* What a metric named name is: AB_METRIC_* (0 for none). */
enum { AB_METRIC_NONE, AB_METRIC_BUSINESS, AB_METRIC_CAPPED,
       AB_METRIC_GUARDRAIL };
int ab_metric_kind(const char *name);

#endif /* ABSTAT_ANALYZE_H */
