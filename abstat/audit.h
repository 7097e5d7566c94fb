/*
 * The assignment audit and the nodes of a fleet.
 *
 * Every line's node (the `node` key, nginx's $hostname; "(unknown)" for
 * lines without one) is interned. Each membership keeps the node of its
 * entry line (state.h: the earliest exposure, at equal times the
 * bytewise smaller node name), and the report counts per experiment and
 * node the visitors who entered there by variant, for each node's share
 * of visitors and its own SRM test. With --nginx-conf abstat also
 * recomputes the variant of every logged exposure with the module's
 * algorithm (assigndef.h) and counts those that differ, keeping the
 * earliest few as examples: counters per experiment and node. Each
 * node's exposures are checked against its own configuration when
 * --nginx-conf NODE=FILE gives it one, else against the plain FILE.
 */

#ifndef ABSTAT_AUDIT_H
#define ABSTAT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "ab_core.h"
#include "intern.h"
#include "line.h"
#include "report.h"
#include "state.h"

#define AB_AUDIT_EXAMPLES     5
#define AB_AUDIT_MAX_NODES    65536
#define AB_AUDIT_NO_NODE      "(unknown)"
#define AB_AUDIT_EXPECT_MAX   64

typedef struct {
    uint64_t   checked;
    uint64_t   mismatches;
} ab_audit_node_t;

typedef struct {
    int64_t    time;            /* us */
    uint32_t   node;
    char       uid[AB_UID_MAX_LEN + 1];         /* cut short past that */
    char       logged[AB_NAME_MAX_LEN + 1];
    char       expected[AB_AUDIT_EXPECT_MAX];
} ab_audit_example_t;

/* Why an exposure is not checked. */
enum { AB_SKIP_FORCED, AB_SKIP_STICKY, AB_SKIP_UNCONFIGURED, AB_SKIP_N };

typedef struct {
    uint64_t            checked;
    uint64_t            mismatches;
    uint64_t            skipped[AB_SKIP_N];
    ab_audit_node_t    *nodes;  /* by node id */
    size_t              nnodes;
    ab_audit_example_t  ex[AB_AUDIT_EXAMPLES];
    size_t              nex;
    /* abstat merge, which has no memberships: the visitors who entered
     * at each node, by variant name, as the partials counted them */
    ab_intern_t         given_vars;
    struct ab_audit_given_s  *given;    /* (node, variant, visitors) */
    size_t              ngiven, capgiven;
    /* this run's, never saved: the experiment's block in each
     * configuration of --nginx-conf (0: the plain FILE, i + 1: the
     * input's node_conf[i]); NULL until looked up */
    const ab_expdef_t **confs;
} ab_audit_exp_t;

typedef struct ab_audit_s {
    ab_intern_t       nodes;    /* id 0 is AB_AUDIT_NO_NODE */
    int               named;    /* a line had a node */
    ab_intern_t       exps;
    ab_audit_exp_t   *e;        /* by experiment id (exps) */
    size_t            cap;
    uint32_t         *exp_ids;  /* the state's experiment ids to exps'
                                   (+ 1), this run's: no hashing of names
                                   per line */
    size_t            nexp_ids;
    uint32_t         *node_confs;       /* this run's: node id to the
                                           index of its configuration
                                           (+ 1), for NODE=FILE */
    size_t            nnode_confs;
} ab_audit_t;

/*
 * A sound line with a visitor, once its exposures are applied: pairs are
 * the line's spans, ids its exposures as the state's ids. 0, or -1 when
 * out of memory.
 */
int ab_audit_line(ab_state_t *st, const ab_input_t *in, const ab_pline_t *pl,
    const ab_ppair_t *pairs, const ab_pair_ids_t *ids);

/* The id of line pl's node (st->audit's, made when new; 0 for a line
 * without one and past AB_AUDIT_MAX_NODES), for the membership of an
 * entry line (ab_state_expose()); -1 when out of memory. */
int ab_audit_node(ab_state_t *st, const ab_pline_t *pl);

/* The nodes whose exposures this run found no configuration for (only
 * NODE=FILE given, none for them): how many, the first max of their
 * names into names. */
size_t ab_audit_unconfigured(const ab_audit_t *a, const ab_input_t *in,
    const char **names, size_t max);

/* The experiment's counters (by name), or NULL. */
const ab_audit_exp_t *ab_audit_find(const ab_audit_t *a, const char *exp);

void ab_audit_free(ab_audit_t *a);

/* Zeroes the counters of experiment exp (abstat state prune). */
void ab_audit_forget(ab_audit_t *a, const char *exp);

/*
 * The counters in and out of a --state file, through the writer's and
 * the reader's primitives. load returns 0, or -1 for a damaged file.
 */
typedef struct {
    void      *io;
    void     (*num)(void *io, uint64_t v);
    void     (*str)(void *io, const char *s);
} ab_audit_writer_t;

typedef struct {
    void      *io;
    uint64_t (*num)(void *io, uint64_t max);    /* past max: damaged */
    char    *(*str)(void *io);                  /* malloc'd, NULL: damaged */
} ab_audit_reader_t;

void ab_audit_save(const ab_audit_t *a, const ab_audit_writer_t *w);

/* Adds src's counters to *dst (made when NULL), by the names of nodes
 * and experiments; the examples kept the least of both. -1 out of
 * memory. */
int ab_audit_merge(ab_audit_t **dst, const ab_audit_t *src);

/* abstat merge: n more visitors of experiment exp entered at node in
 * variant var (*a made when NULL); the report counts these instead of
 * memberships. -1 out of memory. */
int ab_audit_give(ab_audit_t **a, const char *exp, size_t elen,
    const char *node, size_t nlen, const char *var, size_t vlen, uint64_t n);

/* abstat reduce: the (node, variant) cells of experiment e with visitors
 * who entered there, counted from st's memberships, by node then
 * variant id; the names are st's. *out is malloc'd (NULL when there is
 * none). -1 out of memory. */
typedef struct {
    const char  *node;
    const char  *var;
    uint64_t     visitors;
} ab_audit_entry_t;

int ab_audit_entries(const ab_state_t *st, int e, ab_audit_entry_t **out,
    size_t *n);
int ab_audit_load(ab_audit_t **a, const ab_audit_reader_t *r);


/* ---- the report ---- */

typedef struct {
    const char  *node;
    uint64_t     checked;
    uint64_t     mismatches;
    uint64_t     visitors;      /* entered there, multi-variant ones
                                   left out */
    double       share;         /* of the experiment's entered visitors */
    double       chi2;
    double       srm_p;
    int          srm_alert;
} ab_rnode_t;

typedef struct ab_raudit_s {
    int                        audited;     /* --nginx-conf given, in
                                               either form */
    uint64_t                   checked;
    uint64_t                   mismatches;
    uint64_t                   skipped[AB_SKIP_N];
    const ab_audit_example_t  *ex;
    size_t                     nex;
    ab_rnode_t                *nodes;       /* by name */
    size_t                     nnodes;
    int                        named;       /* the log had nodes: the
                                               per-node SRM is reported */
    const ab_intern_t         *node_names;
} ab_raudit_t;

/* The audit and the nodes of experiment x (its variants and their
 * expected shares filled in): x->audit, NULL when there is nothing to
 * say. -1 when out of memory. */
int ab_audit_report(const ab_state_t *st, const ab_config_t *cfg,
    ab_rexp_t *x);

void ab_raudit_free(ab_raudit_t *r);

/* The name of a skip reason, as JSON gives it. */
const char *ab_audit_skip_name(int reason);

/* Every mismatch of the report, for --fail-on drift. */
uint64_t ab_audit_mismatches(const ab_report_t *rep);

#endif /* ABSTAT_AUDIT_H */
