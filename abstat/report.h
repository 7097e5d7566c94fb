/*
 * The report: what analyze.c computes from the state and every renderer
 * prints. Undefined numbers are NaN here and null in JSON.
 */

#ifndef ABSTAT_REPORT_H
#define ABSTAT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "power.h"
#include "sequential.h"
#include "cuped.h"
#include "input.h"
#include "state.h"
#include "stats.h"

#define AB_METRIC_NAME_MAX  48

/* An experiment as the configuration describes it (nginx conf or
 * --weights): its variants in order and their weights. */
typedef struct ab_expdef_s {
    char     *name;
    size_t    nvars;
    char    **vars;
    double   *weights;          /* any positive scale */
    int       kind;             /* ab_weight_kind_t of all of them, or 0 */
    int       sticky;           /* `sticky on;`: visitors keep the variant
                                   they entered with (nginx conf only) */
    struct ab_assigndef_s  *assign;     /* --nginx-conf only: assigndef.h */
} ab_expdef_t;

/* --config-history (confhist.h) */
typedef struct ab_confhist_s  ab_confhist_t;

typedef struct {
    double              alpha;
    double              cap_pct;        /* 0: no --cap-revenue */
    const ab_expdef_t  *conf;           /* --nginx-conf */
    size_t              nconf;
    const ab_expdef_t  *weights;        /* --weights */
    size_t              nweights;
    const ab_confhist_t *history;       /* --config-history, or NULL */
    const char         *baseline;       /* --baseline, or NULL */
    const ab_input_t   *input;          /* --experiment and the rest of
                                           how the input was read */
    int                 bucket;         /* AB_BUCKET_*: trend series */
    int                 threads;        /* experiments reported at once */
    const char *const  *primary;        /* --primary; none: roles.c's default */
    size_t              nprimary;
    double              mde;            /* --mde as a fraction; 0: none */
    double              guardrail_margin;   /* relative, --guardrail-margin */
    double              max_visitor_share;  /* --max-visitor-share, 0..1 */
    int                 sequential;     /* verdicts on ab_seq_t */
    double              seq_tuning;     /* --sequential-tuning N* */
    int                 cuped;          /* --cuped (default) */
    int64_t             cuped_lookback; /* us of history before entry */
    const ab_by_t      *by;             /* --by; NULL: no segments */
} ab_config_t;

enum { AB_BUCKET_NONE, AB_BUCKET_DAY, AB_BUCKET_HOUR };

/*
 * One point of a trend series (--bucket): a variant at the end of a
 * bucket. new_visitors, orders and revenue are of the bucket itself; the
 * rest is cumulative, as a report over everything up to the bucket's end
 * would give it. Lifts are relative effects against the baseline (NaN
 * for the baseline itself).
 */
typedef struct {
    int64_t       start;        /* bucket start, us */
    size_t        variant;      /* index into the experiment's variants */
    uint64_t      new_visitors;
    uint64_t      orders;
    double        revenue;
    uint64_t      visitors;
    uint64_t      cum_orders;
    uint64_t      converters;
    double        cum_revenue;
    double        rpv;          /* cumulative revenue per visitor */
    double        conversion;
    ab_effect_t   rpv_lift;
    ab_effect_t   conv_lift;
    ab_seq_t      rpv_seq;      /* the sequences at the bucket's end */
    ab_seq_t      conv_seq;
} ab_rtrend_t;

typedef struct {
    const char  *name;
    uint64_t     visitors;
    uint64_t     multi_variant;
    uint64_t     orders;
    uint64_t     converters;
    uint64_t     requests;
    uint64_t     errors_5xx;
    double       revenue;
    double       expected;      /* SRM share, 0..1 */
    double       top_share;     /* of revenue, its top visitor's; NaN */
    int          concentrated;  /* top_share over the limit, no cap */
} ab_rvariant_t;

typedef struct {
    char         metric[AB_METRIC_NAME_MAX];
    size_t       variant;       /* index into the experiment's variants */
    int          guardrail;
    ab_effect_t  e;
    double       p_adjusted;    /* Holm over the primary family, else NaN */
    int          role;          /* AB_ROLE_* (roles.h) */
    int          rel_test;      /* the verdict's test: relative, else absolute */
    double       p_test;        /* the p-value of that test */
    double       adj_lo, adj_hi;        /* primary: CI of that test at */
    double       adj_level;             /* the family-adjusted level */
    ab_estimate_t  t, c;        /* what e compares: treatment, baseline */
    ab_power_t   power;         /* primary rows */
    int          small_counts;  /* a share with < 5 (exact.h): exact test */
    int          rel_clipped;   /* rel CI's low end raised to -100% */
    double       p_harm;        /* guardrails (guardrail.h); else NaN */
    double       seq_p_harm;    /* its always-valid counterpart */
    double       margin;
    const char  *harm_test;     /* "welch", "fisher-exact"; NULL */
    ab_seq_t     seq;
    int          sequential;    /* the verdict reads seq (--sequential) */
    int          has_cuped;     /* cuped holds an adjusted result */
    ab_cuped_t   cuped;
    int          exploratory;   /* a segment's row: no Holm, no power */
    int          flag;          /* exploratory: its test's CI excludes 0 */
} ab_rmetric_t;


/* The comparison the verdicts, Holm and --fail-on read: CUPED's when it
 * adjusted the row, else the unadjusted one (cuped.c). */
const ab_effect_t *ab_metric_test(const ab_rmetric_t *m);

/* Whether ab_metric_test() is CUPED's: then m->seq is the sequence of
 * the adjusted estimate too ("sequential and CUPED combine"). */
int ab_metric_cuped(const ab_rmetric_t *m);

struct ab_rseg_s;

/* The heterogeneity of one dimension for one metric row (metric,
 * variant): Cochran's Q over its segments' effects (hetero.h). */
typedef struct {
    const char   *dimension;
    char          metric[AB_METRIC_NAME_MAX];
    size_t        variant;      /* index into the experiment's variants */
    double        q;
    size_t        segments;     /* used: both arms with 2 visitors or more */
    double        p_value;
} ab_rhet_t;

typedef struct {
    const char     *name;
    size_t          baseline;   /* index into variants */
    const char     *baseline_source;    /* option, nginx-conf, ... */
    ab_rvariant_t  *variants;
    size_t          nvariants;
    const char     *weights_source;     /* weights, config-history,
                                           nginx-conf, equal */
    double          chi2;
    double          srm_p;
    int             srm_alert;
    long            weight_changes;     /* in --config-history; -1 without */
    char            srm_warning[256];   /* why the SRM test may mislead,
                                           or empty */
    double          revenue_cap;        /* NaN without --cap-revenue */
    ab_rmetric_t   *metrics;
    size_t          nmetrics;
    ab_rtrend_t    *trend;              /* buckets x variants, by time */
    size_t          ntrend;
    size_t          nprimary_tests;     /* the Holm family's size */
    /* --by (segments.c): the segments in report order, the heterogeneity
     * rows, and the exploratory rows and flags over all segments */
    struct ab_rseg_s  *segs;
    size_t          nsegs;
    ab_rhet_t      *het;
    size_t          nhet;
    size_t          seg_tests;
    size_t          seg_flags;
    struct ab_raudit_s  *audit;         /* nodes and audit (audit.h), or
                                           NULL */
} ab_rexp_t;

/* What every format says of segment results. */
#define AB_SEGMENT_NOTE \
    "segment results are exploratory: they are in no Holm family, and " \
    "with S segments x M metric rows at alpha about alpha x S x M rows " \
    "are flagged by chance alone"

/* One segment of an experiment: a value of a dimension, and the report
 * of the experiment's visitors with that value (variants, SRM, metrics;
 * no trend, no Holm). */
typedef struct ab_rseg_s {
    const char     *dimension;  /* as --by names it */
    const char     *value;
    uint64_t        visitors;
    ab_rexp_t       r;
} ab_rseg_t;

/* A time of the report that is not known (no line, or a --state file
 * that did not keep it). */
#define AB_TIME_UNKNOWN  INT64_MIN

typedef struct {
    const ab_state_t  *st;      /* input counters and bad-line samples */
    /* what every format states, us: the first and last log line times
     * (request lines, not --events) and when the report was made; set by
     * the caller of ab_analyze() */
    int64_t            first_time;
    int64_t            last_time;
    int64_t            generated;
    uint64_t           events_before_exposure;
    uint64_t           orphan_refunds;
    uint64_t           refunds_over_order;
    double             alpha;
    double             cap_pct;
    double             guardrail_margin;
    double             max_visitor_share;
    int                bucket;
    const ab_config_t *cfg;
    int                sequential;
    double             seq_tuning;
    int                cuped;
    int64_t            cuped_lookback;
    ab_rexp_t         *exps;
    size_t             nexps;
} ab_report_t;

/* Reads the spooled records and fills the report. -1 when out of memory
 * or when the spool cannot be read back. */
int ab_analyze(ab_state_t *st, const ab_config_t *cfg, ab_report_t *rep);

void ab_report_free(ab_report_t *rep);

#endif /* ABSTAT_REPORT_H */
