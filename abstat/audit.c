/*
 * See audit.h. A line costs nothing here unless it has a node, made a
 * visitor's membership or is audited (--nginx-conf): the common single
 * node log without --nginx-conf is read as fast as before.
 */

#include "audit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assigndef.h"
#include "stats.h"


static const char *const  skip_names[AB_SKIP_N] = {
    "forced", "sticky", "not_configured"
};


const char *
ab_audit_skip_name(int reason)
{
    return skip_names[reason];
}


static ab_audit_t *
audit_new(void)
{
    ab_audit_t  *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    ab_intern_init(&a->nodes, AB_AUDIT_MAX_NODES);
    ab_intern_init(&a->exps, AB_MAX_EXPERIMENTS);
    if (ab_intern(&a->nodes, AB_AUDIT_NO_NODE, sizeof(AB_AUDIT_NO_NODE) - 1)
        != 0)
    {
        ab_audit_free(a);
        return NULL;
    }

    return a;
}


/* The counters of experiment name, made when new; NULL when out of
 * memory or past the limit. */
static ab_audit_exp_t *
exp_of(ab_audit_t *a, const char *name, size_t len)
{
    int  id = ab_intern(&a->exps, name, len);

    if (id < 0) {
        return NULL;
    }
    if ((size_t) id >= a->cap) {
        if (ab_resize_zero((void **) &a->e, a->cap, a->exps.cap,
                           sizeof(*a->e)) != 0)
        {
            return NULL;
        }
        a->cap = a->exps.cap;
    }
    if (a->e[id].vars.limit == 0) {
        ab_intern_init(&a->e[id].vars, AB_MAX_EXP_VARIANTS);
    }

    return &a->e[id];
}


static ab_audit_node_t *
node_of(ab_audit_exp_t *e, uint32_t node)
{
    size_t  need = (size_t) node + 1;

    if (need > e->nnodes) {
        if (ab_resize_zero((void **) &e->nodes, e->nnodes, need,
                           sizeof(*e->nodes)) != 0)
        {
            return NULL;
        }
        e->nnodes = need;
    }

    return &e->nodes[node];
}


/* id's entry of map (n of them, ids + 1, 0: none yet) grown to hold it;
 * NULL when out of memory. */
static uint32_t *
id_slot(uint32_t **map, size_t *n, size_t id)
{
    if (id >= *n) {
        if (ab_resize_zero((void **) map, *n, id + 1, sizeof(**map)) != 0) {
            return NULL;
        }
        *n = id + 1;
    }

    return &(*map)[id];
}


/* The counters of the state's experiment sexp, found by id after the
 * first time. */
static ab_audit_exp_t *
exp_by_id(ab_audit_t *a, const ab_state_t *st, int sexp)
{
    uint32_t        *slot = id_slot(&a->exp_ids, &a->nexp_ids, (size_t) sexp);
    ab_audit_exp_t  *e;

    if (slot == NULL) {
        return NULL;
    }
    if (*slot == 0) {
        e = exp_of(a, st->exps.names[sexp], st->exps.lens[sexp]);
        if (e == NULL) {
            return NULL;
        }
        *slot = (uint32_t) (e - a->e) + 1;
    }

    return &a->e[*slot - 1];
}


/* One more (delta 1) or one less (-1) visitor entered at node nd in the
 * state's variant svar of experiment sexp. */
static int
count_entry(const ab_state_t *st, ab_audit_exp_t *e, ab_audit_node_t *nd,
    int sexp, int svar, int delta)
{
    uint32_t  *slot = id_slot(&e->var_ids, &e->nvar_ids, (size_t) svar);
    int        v;

    if (slot == NULL) {
        return -1;
    }
    if (*slot == 0) {
        v = ab_intern(&e->vars, st->vars[sexp].names[svar],
                      st->vars[sexp].lens[svar]);
        if (v < 0) {
            return -1;
        }
        *slot = (uint32_t) v + 1;
    }
    v = (int) *slot - 1;
    if ((size_t) v >= nd->nentered) {
        if (ab_resize_zero((void **) &nd->entered, nd->nentered,
                           (size_t) v + 1, sizeof(*nd->entered)) != 0)
        {
            return -1;
        }
        nd->nentered = (size_t) v + 1;
    }
    nd->entered[v] += (uint64_t) (int64_t) delta;

    return 0;
}


static const ab_expdef_t *
conf_of(const ab_input_t *in, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < in->nconf; i++) {
        if (strlen(in->conf[i].name) == len
            && memcmp(in->conf[i].name, name, len) == 0)
        {
            return &in->conf[i];
        }
    }

    return NULL;
}


static void
cut(char *dst, size_t size, const char *s, size_t len)
{
    len = len < size - 1 ? len : size - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}


/* The order of examples: time, uid, logged, expected, node name; the
 * examples kept are the least, whatever order lines are read in. */
static int
example_cmp(const ab_audit_example_t *x, const ab_audit_example_t *y,
    const ab_intern_t *nodes)
{
    int  c;

    if (x->time != y->time) {
        return x->time < y->time ? -1 : 1;
    }
    if ((c = strcmp(x->uid, y->uid)) != 0
        || (c = strcmp(x->logged, y->logged)) != 0
        || (c = strcmp(x->expected, y->expected)) != 0)
    {
        return c;
    }

    return strcmp(nodes->names[x->node], nodes->names[y->node]);
}


/* Example x into e's, kept the AB_AUDIT_EXAMPLES least, in order. */
static void
insert_example(ab_audit_exp_t *e, const ab_intern_t *nodes,
    const ab_audit_example_t *x)
{
    size_t  i;

    if (e->nex == AB_AUDIT_EXAMPLES
        && example_cmp(x, &e->ex[e->nex - 1], nodes) >= 0)
    {
        return;
    }
    if (e->nex < AB_AUDIT_EXAMPLES) {
        e->nex++;
    }
    for (i = e->nex - 1; i > 0 && example_cmp(x, &e->ex[i - 1], nodes) < 0;
         i--)
    {
        e->ex[i] = e->ex[i - 1];
    }
    e->ex[i] = *x;
}


static void
keep_example(ab_audit_exp_t *e, const ab_intern_t *nodes,
    const ab_pline_t *pl, uint32_t node, const ab_ppair_t *p,
    const ab_expdef_t *def, int k)
{
    ab_audit_example_t  x;

    memset(&x, 0, sizeof(x));
    x.time = pl->time;
    x.node = node;
    cut(x.uid, sizeof(x.uid), pl->uid, pl->uid_len);
    cut(x.logged, sizeof(x.logged), p->var, p->var_len);
    snprintf(x.expected, sizeof(x.expected), "%s",
             k >= 0 ? def->vars[k]
             : k == AB_EXPECT_HOLDOUT ? "(not enrolled: holdout)"
             : k == AB_EXPECT_LAYER ? "(not enrolled: layer range)"
             : "(not enrolled: traffic)");

    insert_example(e, nodes, &x);
}


/* One unforced exposure against the configuration. */
static void
check(ab_audit_exp_t *e, ab_audit_node_t *nd, const ab_intern_t *nodes,
    const ab_input_t *in, const ab_pline_t *pl, uint32_t node,
    const ab_ppair_t *p)
{
    const ab_expdef_t  *def;
    int                 k;

    if (!e->conf_known) {
        e->conf = conf_of(in, p->exp, p->exp_len);
        e->conf_known = 1;
    }
    def = e->conf;

    if (def == NULL) {
        /* an experiment the configuration no longer (or not yet) has:
         * old logs read against today's file, not a node's doing */
        e->skipped[AB_SKIP_UNCONFIGURED]++;
        return;
    }
    if (def->assign->sticky) {
        /* a sticky visitor keeps the variant of the weights of its
         * first exposure, which today's weights cannot tell */
        e->skipped[AB_SKIP_STICKY]++;
        return;
    }

    e->checked++;
    nd->checked++;
    k = ab_assigndef_expect(def, pl->uid, pl->uid_len);
    if (k >= 0 && strlen(def->vars[k]) == p->var_len
        && memcmp(def->vars[k], p->var, p->var_len) == 0)
    {
        return;
    }
    e->mismatches++;
    nd->mismatches++;
    keep_example(e, nodes, pl, node, p, def, k);
}


/* Whether (node, var) goes before where membership's entry is counted,
 * at the same time. */
static int
tie_before(const ab_audit_t *a, const ab_state_t *st, int sexp,
    uint32_t node, int svar, uint32_t have)
{
    int  c = strcmp(a->nodes.names[node], a->nodes.names[have >> 16]);

    return c != 0 ? c < 0
           : strcmp(st->vars[sexp].names[svar],
                    st->vars[sexp].names[have & 0xffff]) < 0;
}


/* Exposure (node, svar) of sexp is its membership's entry as ent says:
 * the visitor counted there, and no longer where it was. */
static int
entry(ab_state_t *st, ab_audit_t *a, ab_audit_exp_t *e,
    const ab_audit_entry_t *ent, uint32_t node, int sexp, int svar)
{
    ab_audit_node_t  *nd;
    uint32_t         *have;
    size_t            i;

    if (a->ent_base != st->nfold_memb) {
        /* a fold between reads: what was made before is of earlier
         * runs now */
        a->nent = 0;
        a->ent_base = st->nfold_memb;
    }
    if (ent->memb < a->ent_base) {
        /* entered in an earlier run, counted there: an earlier exposure
         * now is a late one (the report says so, fold.c) */
        return 0;
    }
    i = ent->memb - a->ent_base;
    if (i >= a->nent) {
        if (ab_resize_zero((void **) &a->ent, a->nent, i + 1,
                           sizeof(*a->ent)) != 0)
        {
            return -1;
        }
        a->nent = i + 1;
    }
    have = &a->ent[i];
    if (ent->how != AB_ENTRY_NEW) {
        if (ent->how == AB_ENTRY_TIE
            && !tie_before(a, st, sexp, node, svar, *have))
        {
            return 0;
        }
        if ((nd = node_of(e, *have >> 16)) == NULL
            || count_entry(st, e, nd, sexp, (int) (*have & 0xffff), -1) != 0)
        {
            return -1;
        }
    }
    *have = node << 16 | (uint32_t) svar;

    return (nd = node_of(e, node)) == NULL
           || count_entry(st, e, nd, sexp, svar, 1) != 0 ? -1 : 0;
}


int
ab_audit_line(ab_state_t *st, const ab_input_t *in, const ab_pline_t *pl,
    const ab_ppair_t *pairs, const ab_pair_ids_t *ids,
    const ab_audit_entry_t *ent)
{
    ab_audit_t          *a;
    ab_audit_exp_t      *e;
    ab_audit_node_t     *nd;
    const ab_ppair_t    *p;
    size_t               i;
    uint32_t             node = 0;
    int                  id, in_entry;

    for (i = 0, in_entry = 0; i < pl->npairs; i++) {
        in_entry |= ent[i].how != AB_ENTRY_NO;
    }
    if (in->conf == NULL && !in_entry
        && (pl->node_len == 0 || (st->audit && st->audit->named)))
    {
        return 0;
    }

    if (st->audit == NULL && (st->audit = audit_new()) == NULL) {
        return -1;
    }
    a = st->audit;

    if (pl->node_len > 0) {
        a->named = 1;
        /* past the limit of nodes, the rest share "(unknown)" */
        id = ab_intern(&a->nodes, pl->node, pl->node_len);
        node = id > 0 ? (uint32_t) id : 0;
    }

    if (!ab_input_in_window(in, pl->time)) {
        return 0;
    }

    /* forced experiments need not be in the state: by name */
    for (i = 0; in->conf != NULL && i < pl->nforced; i++) {
        p = &pairs[pl->forced0 + i];
        if (ab_input_selected(in, p->exp, p->exp_len)) {
            if ((e = exp_of(a, p->exp, p->exp_len)) == NULL) {
                return -1;
            }
            e->skipped[AB_SKIP_FORCED]++;
        }
    }

    for (i = 0; i < pl->npairs; i++) {
        in_entry = ent[i].how != AB_ENTRY_NO;
        if ((!in_entry && in->conf == NULL) || ids[i].exp < 0) {
            continue;
        }
        if ((e = exp_by_id(a, st, ids[i].exp)) == NULL
            || (nd = node_of(e, node)) == NULL
            || (in_entry
                && entry(st, a, e, &ent[i], node, ids[i].exp, ids[i].var)
                   != 0))
        {
            return -1;
        }
        if (in->conf != NULL) {
            check(e, nd, &a->nodes, in, pl, node, &pairs[pl->pair0 + i]);
        }
    }

    return 0;
}


const ab_audit_exp_t *
ab_audit_find(const ab_audit_t *a, const char *exp)
{
    int  id = a ? ab_intern_find(&a->exps, exp, strlen(exp)) : -1;

    return id >= 0 ? &a->e[id] : NULL;
}


void
ab_audit_forget(ab_audit_t *a, const char *exp)
{
    ab_audit_exp_t  *e = (ab_audit_exp_t *) ab_audit_find(a, exp);
    size_t           j;

    if (e == NULL) {
        return;
    }
    for (j = 0; j < e->nnodes; j++) {
        free(e->nodes[j].entered);
    }
    free(e->nodes);
    free(e->var_ids);
    ab_intern_free(&e->vars);
    memset(e, 0, sizeof(*e));
    ab_intern_init(&e->vars, AB_MAX_EXP_VARIANTS);
}


/* Node id n of src in dst, made there when new; -1 out of memory. */
static int
node_in(ab_audit_t *dst, const ab_audit_t *src, uint32_t n)
{
    int  id = ab_intern(&dst->nodes, src->nodes.names[n], src->nodes.lens[n]);

    /* past the limit of nodes, the rest share "(unknown)" as they do
     * when read */
    return id >= 0 ? id : 0;
}


int
ab_audit_merge(ab_audit_t **dstp, const ab_audit_t *src)
{
    ab_audit_t                *dst;
    const ab_audit_exp_t      *se;
    const ab_audit_node_t     *sn;
    ab_audit_exp_t            *de;
    ab_audit_node_t           *dn;
    ab_audit_example_t         x;
    size_t                     i, j, k;
    int                        node, v;

    if (src == NULL) {
        return 0;
    }
    if (*dstp == NULL && (*dstp = audit_new()) == NULL) {
        return -1;
    }
    dst = *dstp;
    dst->named |= src->named;

    for (i = 0; i < src->exps.n; i++) {
        se = &src->e[i];
        if ((de = exp_of(dst, src->exps.names[i], src->exps.lens[i])) == NULL)
        {
            return -1;
        }
        de->checked += se->checked;
        de->mismatches += se->mismatches;
        for (k = 0; k < AB_SKIP_N; k++) {
            de->skipped[k] += se->skipped[k];
        }
        for (j = 0; j < se->nnodes; j++) {
            sn = &se->nodes[j];
            node = node_in(dst, src, (uint32_t) j);
            if ((dn = node_of(de, (uint32_t) node)) == NULL) {
                return -1;
            }
            dn->checked += sn->checked;
            dn->mismatches += sn->mismatches;
            for (k = 0; k < sn->nentered; k++) {
                if (sn->entered[k] == 0) {
                    continue;
                }
                v = ab_intern(&de->vars, se->vars.names[k], se->vars.lens[k]);
                if (v < 0) {
                    return -1;
                }
                if ((size_t) v >= dn->nentered) {
                    if (ab_resize_zero((void **) &dn->entered, dn->nentered,
                                       (size_t) v + 1, sizeof(*dn->entered))
                        != 0)
                    {
                        return -1;
                    }
                    dn->nentered = (size_t) v + 1;
                }
                dn->entered[v] += sn->entered[k];
            }
        }
        for (j = 0; j < se->nex; j++) {
            x = se->ex[j];
            x.node = (uint32_t) node_in(dst, src, se->ex[j].node);
            insert_example(de, &dst->nodes, &x);
        }
    }

    return 0;
}


void
ab_audit_free(ab_audit_t *a)
{
    size_t  i, j;

    if (a == NULL) {
        return;
    }
    /* a damaged state file may leave names without their counters */
    for (i = 0; i < a->exps.n && i < a->cap; i++) {
        for (j = 0; j < a->e[i].nnodes; j++) {
            free(a->e[i].nodes[j].entered);
        }
        free(a->e[i].nodes);
        free(a->e[i].var_ids);
        ab_intern_free(&a->e[i].vars);
    }
    free(a->e);
    free(a->exp_ids);
    free(a->ent);
    ab_intern_free(&a->nodes);
    ab_intern_free(&a->exps);
    free(a);
}


/* ---- --state ---- */

static void
save_names(const ab_intern_t *t, const ab_audit_writer_t *w)
{
    size_t  i;

    w->num(w->io, t->n);
    for (i = 0; i < t->n; i++) {
        w->str(w->io, t->names[i]);
    }
}


void
ab_audit_save(const ab_audit_t *a, const ab_audit_writer_t *w)
{
    size_t  i, j, k;

    w->num(w->io, a != NULL);
    if (a == NULL) {
        return;
    }
    w->num(w->io, (uint64_t) a->named);
    save_names(&a->nodes, w);
    save_names(&a->exps, w);

    for (i = 0; i < a->exps.n; i++) {
        const ab_audit_exp_t  *e = &a->e[i];

        w->num(w->io, e->checked);
        w->num(w->io, e->mismatches);
        for (k = 0; k < AB_SKIP_N; k++) {
            w->num(w->io, e->skipped[k]);
        }
        save_names(&e->vars, w);
        w->num(w->io, e->nnodes);
        for (j = 0; j < e->nnodes; j++) {
            w->num(w->io, e->nodes[j].checked);
            w->num(w->io, e->nodes[j].mismatches);
            w->num(w->io, e->nodes[j].nentered);
            for (k = 0; k < e->nodes[j].nentered; k++) {
                w->num(w->io, e->nodes[j].entered[k]);
            }
        }
        w->num(w->io, e->nex);
        for (j = 0; j < e->nex; j++) {
            w->num(w->io, (uint64_t) e->ex[j].time);
            w->num(w->io, e->ex[j].node);
            w->str(w->io, e->ex[j].uid);
            w->str(w->io, e->ex[j].logged);
            w->str(w->io, e->ex[j].expected);
        }
    }
}


/* Names read into t in id order: -1 when they do not intern as saved. */
static int
load_names(ab_intern_t *t, const ab_audit_reader_t *r, size_t from)
{
    size_t  n = (size_t) r->num(r->io, t->limit), i;
    char   *s;
    int     ok = 1;

    for (i = 0; ok && i < n; i++) {
        if ((s = r->str(r->io)) == NULL) {
            return -1;
        }
        /* names already there (the "(unknown)" node) are read again */
        ok = i < from ? strcmp(s, t->names[i]) == 0
             : ab_intern(t, s, strlen(s)) == (int) i;
        free(s);
    }

    return ok ? 0 : -1;
}


static void
load_str(char *dst, size_t size, const ab_audit_reader_t *r, int *bad)
{
    char  *s = r->str(r->io);

    if (s == NULL) {
        *bad = 1;
        dst[0] = '\0';
        return;
    }
    cut(dst, size, s, strlen(s));
    free(s);
}


static int
load_exp(ab_audit_exp_t *e, const ab_audit_reader_t *r, size_t nnodes)
{
    ab_audit_node_t  *nd;
    size_t            j, k, n;
    int               bad = 0;

    e->checked = r->num(r->io, UINT64_MAX);
    e->mismatches = r->num(r->io, e->checked);
    for (k = 0; k < AB_SKIP_N; k++) {
        e->skipped[k] = r->num(r->io, UINT64_MAX);
    }
    if (load_names(&e->vars, r, 0) != 0) {
        return -1;
    }
    n = (size_t) r->num(r->io, nnodes);
    for (j = 0; j < n; j++) {
        if ((nd = node_of(e, (uint32_t) j)) == NULL) {
            return -1;
        }
        nd->checked = r->num(r->io, UINT64_MAX);
        nd->mismatches = r->num(r->io, nd->checked);
        nd->nentered = (size_t) r->num(r->io, e->vars.n);
        nd->entered = calloc(nd->nentered + 1, sizeof(*nd->entered));
        if (nd->entered == NULL) {
            nd->nentered = 0;
            return -1;
        }
        for (k = 0; k < nd->nentered; k++) {
            nd->entered[k] = r->num(r->io, UINT64_MAX);
        }
    }
    e->nex = (size_t) r->num(r->io, AB_AUDIT_EXAMPLES);
    for (j = 0; j < e->nex; j++) {
        e->ex[j].time = (int64_t) r->num(r->io, UINT64_MAX);
        e->ex[j].node = (uint32_t) r->num(r->io, nnodes ? nnodes - 1 : 0);
        load_str(e->ex[j].uid, sizeof(e->ex[j].uid), r, &bad);
        load_str(e->ex[j].logged, sizeof(e->ex[j].logged), r, &bad);
        load_str(e->ex[j].expected, sizeof(e->ex[j].expected), r, &bad);
    }

    return bad ? -1 : 0;
}


int
ab_audit_load(ab_audit_t **out, const ab_audit_reader_t *r)
{
    ab_audit_t  *a;
    size_t       i;

    *out = NULL;
    if (r->num(r->io, 1) == 0) {
        return 0;
    }
    if ((a = audit_new()) == NULL) {
        return -1;
    }
    *out = a;
    a->named = r->num(r->io, 1) != 0;
    if (load_names(&a->nodes, r, 1) != 0 || load_names(&a->exps, r, 0) != 0)
    {
        return -1;
    }
    for (i = 0; i < a->exps.n; i++) {
        if (exp_of(a, a->exps.names[i], a->exps.lens[i]) == NULL
            || load_exp(&a->e[i], r, a->nodes.n) != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* ---- the report ---- */

static int
cmp_node(const void *x, const void *y)
{
    return strcmp(((const ab_rnode_t *) x)->node,
                  ((const ab_rnode_t *) y)->node);
}


/* Node nd's visitors by the report's variants, its share and SRM test
 * against the experiment's expected split. */
static int
node_srm(const ab_audit_exp_t *e, const ab_audit_node_t *nd,
    const ab_rexp_t *x, ab_rnode_t *rn)
{
    double  *obs = calloc(x->nvariants + 1, sizeof(double));
    double  *w = calloc(x->nvariants + 1, sizeof(double));
    size_t   i;
    int      v, weighted = x->nvariants > 0;

    if (obs == NULL || w == NULL) {
        free(obs);
        free(w);
        return -1;
    }
    for (i = 0; i < x->nvariants; i++) {
        v = ab_intern_find(&e->vars, x->variants[i].name,
                           strlen(x->variants[i].name));
        obs[i] = v >= 0 && (size_t) v < nd->nentered
                 ? (double) nd->entered[v] : 0;
        rn->visitors += (uint64_t) obs[i];
        w[i] = x->variants[i].expected;
        weighted &= isfinite(w[i]);
    }
    rn->srm_p = rn->chi2 = NAN;
    if (weighted) {
        rn->srm_p = ab_srm(obs, w, x->nvariants, &rn->chi2);
    }
    rn->srm_alert = rn->srm_p < 0.001;

    free(obs);
    free(w);

    return 0;
}


int
ab_audit_report(const ab_state_t *st, const ab_config_t *cfg, ab_rexp_t *x)
{
    const ab_audit_t      *a = st->audit;
    const ab_audit_exp_t  *e = ab_audit_find(a, x->name);
    ab_raudit_t           *r;
    uint64_t               total = 0;
    size_t                 i;

    x->audit = NULL;
    if (cfg->input->conf == NULL && (e == NULL || !a->named)) {
        return 0;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        return -1;
    }
    x->audit = r;
    r->audited = cfg->input->conf != NULL;
    r->named = a != NULL && a->named;
    if (e == NULL) {
        return 0;
    }

    r->checked = e->checked;
    r->mismatches = e->mismatches;
    memcpy(r->skipped, e->skipped, sizeof(r->skipped));
    r->ex = e->ex;
    r->nex = e->nex;
    r->node_names = &a->nodes;

    if ((r->nodes = calloc(e->nnodes + 1, sizeof(*r->nodes))) == NULL) {
        return -1;
    }
    for (i = 0; i < e->nnodes; i++) {
        ab_rnode_t  *rn = &r->nodes[r->nnodes];

        rn->node = a->nodes.names[i];
        rn->checked = e->nodes[i].checked;
        rn->mismatches = e->nodes[i].mismatches;
        if (node_srm(e, &e->nodes[i], x, rn) != 0) {
            return -1;
        }
        if (rn->checked > 0 || rn->visitors > 0) {
            total += rn->visitors;
            r->nnodes++;
        }
    }
    for (i = 0; i < r->nnodes; i++) {
        r->nodes[i].share = total > 0
                            ? (double) r->nodes[i].visitors / (double) total
                            : NAN;
    }
    qsort(r->nodes, r->nnodes, sizeof(*r->nodes), cmp_node);

    return 0;
}


void
ab_raudit_free(ab_raudit_t *r)
{
    if (r != NULL) {
        free(r->nodes);
        free(r);
    }
}


uint64_t
ab_audit_mismatches(const ab_report_t *rep)
{
    uint64_t  n = 0;
    size_t    i;

    for (i = 0; i < rep->nexps; i++) {
        if (rep->exps[i].audit != NULL) {
            n += rep->exps[i].audit->mismatches;
        }
    }

    return n;
}
