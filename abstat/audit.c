/*
 * See audit.h. Without --nginx-conf a line costs nothing here but the
 * interning of its node when it is an entry line (line.c): the common
 * single node log without --nginx-conf is read as fast as before.
 */

#include "audit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assigndef.h"
#include "expdef.h"
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


/* The index of the configuration that node serves (audit.h: confs):
 * its own NODE=FILE, else the plain FILE; found by name once per node. */
static int
conf_index(ab_audit_t *a, const ab_input_t *in, uint32_t node, size_t *ci)
{
    uint32_t  *slot;
    ssize_t    i;

    *ci = 0;
    if (in->nnode_conf == 0) {
        return 0;
    }
    if ((slot = id_slot(&a->node_confs, &a->nnode_confs, node)) == NULL) {
        return -1;
    }
    if (*slot == 0) {
        i = ab_node_conf_find(in->node_conf, in->nnode_conf,
                              a->nodes.names[node], a->nodes.lens[node]);
        *slot = (uint32_t) (i + 2);
    }
    *ci = *slot - 1;

    return 0;
}


/* Looked up, and the configuration has no block for the experiment. */
static const ab_expdef_t  no_block;

/* Experiment e's block in configuration ci, or NULL: looked up by name
 * once per experiment and configuration. */
static const ab_expdef_t *
block_of(ab_audit_exp_t *e, const ab_input_t *in, size_t ci,
    const ab_ppair_t *p)
{
    const ab_expdef_t  *list = ci == 0 ? in->conf : in->node_conf[ci - 1].conf;
    size_t              n = ci == 0 ? in->nconf : in->node_conf[ci - 1].nconf;
    const ab_expdef_t  *def;

    if (e->confs[ci] == NULL) {
        def = ab_expdef_find_len(list, n, p->exp, p->exp_len);
        e->confs[ci] = def != NULL ? def : &no_block;
    }

    return e->confs[ci] != &no_block ? e->confs[ci] : NULL;
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


/* One unforced exposure against the configuration of its node, def
 * (NULL: no block there). */
static void
check(ab_audit_exp_t *e, ab_audit_node_t *nd, const ab_intern_t *nodes,
    const ab_expdef_t *def, const ab_pline_t *pl, uint32_t node,
    const ab_ppair_t *p)
{
    int  k;

    if (def == NULL) {
        /* an experiment the configuration no longer (or not yet) has:
         * old logs read against today's file, not a node's doing; or
         * a node given no file of its own when there is no plain one */
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


int
ab_audit_node(ab_state_t *st, const ab_pline_t *pl)
{
    int  id;

    if (st->audit == NULL && (st->audit = audit_new()) == NULL) {
        st->oom = 1;
        return -1;
    }
    if (pl->node_len == 0) {
        return 0;
    }
    st->audit->named = 1;
    /* past the limit of nodes, the rest share "(unknown)" */
    id = ab_intern(&st->audit->nodes, pl->node, pl->node_len);

    return id > 0 ? id : 0;
}


int
ab_audit_line(ab_state_t *st, const ab_input_t *in, const ab_pline_t *pl,
    const ab_ppair_t *pairs, const ab_pair_ids_t *ids)
{
    ab_audit_t          *a;
    ab_audit_exp_t      *e;
    ab_audit_node_t     *nd;
    const ab_ppair_t    *p;
    size_t               i, ci;
    uint32_t             node;
    int                  id;

    /* without --nginx-conf only whether the log has nodes: the entry
     * nodes are the memberships' (state.h) */
    if (!in->audited
        && (pl->node_len == 0 || (st->audit && st->audit->named)))
    {
        return 0;
    }
    if ((id = ab_audit_node(st, pl)) < 0) {
        return -1;
    }
    a = st->audit;
    node = (uint32_t) id;

    if (!in->audited || !ab_input_in_window(in, pl->time)) {
        return 0;
    }
    if (conf_index(a, in, node, &ci) != 0) {
        return -1;
    }

    /* forced experiments need not be in the state: by name */
    for (i = 0; i < pl->nforced; i++) {
        p = &pairs[pl->forced0 + i];
        if (ab_input_selected(in, p->exp, p->exp_len)) {
            if ((e = exp_of(a, p->exp, p->exp_len)) == NULL) {
                return -1;
            }
            e->skipped[AB_SKIP_FORCED]++;
        }
    }

    for (i = 0; i < pl->npairs; i++) {
        if (ids[i].exp < 0) {
            continue;
        }
        if ((e = exp_by_id(a, st, ids[i].exp)) == NULL
            || (nd = node_of(e, node)) == NULL
            || (e->confs == NULL
                && (e->confs = calloc(in->nnode_conf + 1, sizeof(*e->confs)))
                   == NULL))
        {
            return -1;
        }
        p = &pairs[pl->pair0 + i];
        check(e, nd, &a->nodes, block_of(e, in, ci, p), pl, node, p);
    }

    return 0;
}


size_t
ab_audit_unconfigured(const ab_audit_t *a, const ab_input_t *in,
    const char **names, size_t max)
{
    size_t  i, n = 0;

    if (a == NULL || in->conf != NULL) {
        return 0;
    }
    /* the nodes resolved to the plain FILE that is not there */
    for (i = 0; i < a->nnode_confs; i++) {
        if (a->node_confs[i] == 1) {
            if (n < max) {
                names[n] = a->nodes.names[i];
            }
            n++;
        }
    }

    return n;
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

    if (e == NULL) {
        return;
    }
    free(e->nodes);
    free(e->confs);
    memset(e, 0, sizeof(*e));
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
    int                        node;

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
        }
        for (j = 0; j < se->nex; j++) {
            x = se->ex[j];
            x.node = (uint32_t) node_in(dst, src, se->ex[j].node);
            insert_example(de, &dst->nodes, &x);
        }
    }

    return 0;
}


struct ab_audit_given_s {
    uint32_t  node;
    uint32_t  var;              /* in given_vars */
    uint64_t  n;
};


int
ab_audit_give(ab_audit_t **ap, const char *exp, size_t elen,
    const char *node, size_t nlen, const char *var, size_t vlen, uint64_t n)
{
    ab_audit_exp_t  *e;
    int              nd, v;

    if (*ap == NULL && (*ap = audit_new()) == NULL) {
        return -1;
    }
    if ((e = exp_of(*ap, exp, elen)) == NULL) {
        return -1;
    }
    nd = ab_intern(&(*ap)->nodes, node, nlen);
    if (e->given_vars.limit == 0) {
        ab_intern_init(&e->given_vars, AB_MAX_EXP_VARIANTS);
    }
    if ((v = ab_intern(&e->given_vars, var, vlen)) < 0
        || ab_grow_array((void **) &e->given, &e->capgiven, e->ngiven + 1,
                         sizeof(*e->given)) != 0)
    {
        return -1;
    }
    e->given[e->ngiven].node = nd >= 0 ? (uint32_t) nd : 0;
    e->given[e->ngiven].var = (uint32_t) v;
    e->given[e->ngiven++].n = n;

    return 0;
}


int
ab_audit_entries(const ab_state_t *st, int e, ab_audit_entry_t **out,
    size_t *n)
{
    const ab_audit_t  *a = st->audit;
    size_t             nv = st->vars[e].n, nn, m, k, cells = 0;
    uint64_t          *count;
    ab_audit_entry_t  *en;

    *out = NULL;
    *n = 0;
    if (a == NULL || nv == 0 || a->nodes.n == 0) {
        return 0;
    }
    nn = a->nodes.n;
    if ((count = calloc(nn * nv, sizeof(*count))) == NULL) {
        return -1;
    }
    for (m = 0; m < st->nmemb; m++) {
        const ab_memb_t  *mb = &st->membs[m];
        size_t            node = st->memb_node ? st->memb_node[m] : 0;

        if (mb->exp == e && mb->var != AB_VAR_MULTI && mb->var < nv
            && node < nn)
        {
            cells += count[node * nv + mb->var]++ == 0;
        }
    }
    if (cells == 0) {
        free(count);
        return 0;
    }
    if ((en = malloc(cells * sizeof(*en))) == NULL) {
        free(count);
        return -1;
    }
    for (k = 0; k < nn * nv; k++) {
        if (count[k] > 0) {
            en[*n].node = a->nodes.names[k / nv];
            en[*n].var = st->vars[e].names[k % nv];
            en[*n].visitors = count[k];
            (*n)++;
        }
    }
    free(count);
    *out = en;

    return 0;
}


void
ab_audit_free(ab_audit_t *a)
{
    size_t  i;

    if (a == NULL) {
        return;
    }
    /* a damaged state file may leave names without their counters */
    for (i = 0; i < a->exps.n && i < a->cap; i++) {
        free(a->e[i].nodes);
        free(a->e[i].given);
        free(a->e[i].confs);
        if (a->e[i].given_vars.limit != 0) {
            ab_intern_free(&a->e[i].given_vars);
        }
    }
    free(a->e);
    free(a->exp_ids);
    free(a->node_confs);
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
        w->num(w->io, e->nnodes);
        for (j = 0; j < e->nnodes; j++) {
            w->num(w->io, e->nodes[j].checked);
            w->num(w->io, e->nodes[j].mismatches);
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
    n = (size_t) r->num(r->io, nnodes);
    for (j = 0; j < n; j++) {
        if ((nd = node_of(e, (uint32_t) j)) == NULL) {
            return -1;
        }
        nd->checked = r->num(r->io, UINT64_MAX);
        nd->mismatches = r->num(r->io, nd->checked);
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


/* Per node (st->audit's ids) the visitors of experiment x by its
 * variants (x's order), nnodes x x->nvariants of them: each membership
 * counts at the node of its entry line, multi-variant ones not at all,
 * as the variants' own counts leave them out. Counted from the
 * memberships, not as lines come, so that the order of lines and files
 * does not matter. NULL when out of memory. */
/* What abstat merge was given (ab_audit_give()) into count, as
 * entries_by_node() counts memberships. */
static void
given_entries(const ab_audit_t *a, const ab_rexp_t *x, size_t nnodes,
    uint64_t *count)
{
    const ab_audit_exp_t  *e = ab_audit_find(a, x->name);
    size_t                 i, k;

    for (i = 0; e != NULL && i < e->ngiven; i++) {
        const struct ab_audit_given_s  *g = &e->given[i];

        for (k = 0; k < x->nvariants; k++) {
            if (g->node < nnodes
                && strcmp(e->given_vars.names[g->var], x->variants[k].name)
                   == 0)
            {
                count[g->node * x->nvariants + k] += g->n;
            }
        }
    }
}


static uint64_t *
entries_by_node(const ab_state_t *st, const ab_rexp_t *x, size_t nnodes)
{
    const ab_memb_t  *mb;
    size_t            nv = x->nvariants, i, m, node;
    uint64_t         *count = calloc(nnodes * nv + 1, sizeof(*count));
    uint32_t         *col = NULL;       /* the state's variant id to x's
                                           index + 1 */
    int               e, v;

    e = ab_intern_find(&st->exps, x->name, strlen(x->name));
    if (count == NULL || e < 0) {
        return count;
    }
    if ((col = calloc(st->vars[e].n + 1, sizeof(*col))) == NULL) {
        free(count);
        return NULL;
    }
    for (i = 0; i < nv; i++) {
        v = ab_intern_find(&st->vars[e], x->variants[i].name,
                           strlen(x->variants[i].name));
        if (v >= 0) {
            col[v] = (uint32_t) i + 1;
        }
    }
    given_entries(st->audit, x, nnodes, count);
    for (m = 0; m < st->nmemb; m++) {
        mb = &st->membs[m];
        if (mb->exp != e || mb->var == AB_VAR_MULTI
            || mb->var >= st->vars[e].n || col[mb->var] == 0)
        {
            continue;
        }
        node = st->memb_node != NULL ? st->memb_node[m] : 0;
        if (node < nnodes) {
            count[node * nv + col[mb->var] - 1]++;
        }
    }
    free(col);

    return count;
}


/* A node's visitors (obs: by x's variants), its SRM test against the
 * experiment's expected split. */
static void
node_srm(const uint64_t *obs, const ab_rexp_t *x, ab_rnode_t *rn,
    double *o, double *w)
{
    size_t  i;
    int     weighted = x->nvariants > 0;

    for (i = 0; i < x->nvariants; i++) {
        o[i] = (double) obs[i];
        w[i] = x->variants[i].expected;
        weighted &= isfinite(w[i]);
    }
    rn->srm_p = rn->chi2 = NAN;
    if (weighted) {
        rn->srm_p = ab_srm(o, w, x->nvariants, &rn->chi2);
    }
    rn->srm_alert = rn->srm_p < 0.001;
}


int
ab_audit_report(const ab_state_t *st, const ab_config_t *cfg, ab_rexp_t *x)
{
    const ab_audit_t      *a = st->audit;
    const ab_audit_exp_t  *e = ab_audit_find(a, x->name);
    ab_raudit_t           *r;
    ab_rnode_t            *rn;
    uint64_t               total = 0, *count;
    double                *o, *w;
    size_t                 i, k, nv = x->nvariants;

    x->audit = NULL;
    if (!cfg->input->audited && (a == NULL || !a->named)) {
        return 0;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        return -1;
    }
    x->audit = r;
    r->audited = cfg->input->audited;
    r->named = a != NULL && a->named;
    if (a == NULL) {
        return 0;
    }

    if (e != NULL) {
        r->checked = e->checked;
        r->mismatches = e->mismatches;
        memcpy(r->skipped, e->skipped, sizeof(r->skipped));
        r->ex = e->ex;
        r->nex = e->nex;
    }
    r->node_names = &a->nodes;

    count = entries_by_node(st, x, a->nodes.n);
    r->nodes = calloc(a->nodes.n + 1, sizeof(*r->nodes));
    o = calloc(nv + 1, sizeof(*o));
    w = calloc(nv + 1, sizeof(*w));
    if (count == NULL || r->nodes == NULL || o == NULL || w == NULL) {
        free(count);
        free(o);
        free(w);
        return -1;
    }
    for (i = 0; i < a->nodes.n; i++) {
        rn = &r->nodes[r->nnodes];
        memset(rn, 0, sizeof(*rn));
        rn->node = a->nodes.names[i];
        if (e != NULL && i < e->nnodes) {
            rn->checked = e->nodes[i].checked;
            rn->mismatches = e->nodes[i].mismatches;
        }
        for (k = 0; k < nv; k++) {
            rn->visitors += count[i * nv + k];
        }
        if (rn->checked > 0 || rn->visitors > 0) {
            node_srm(count + i * nv, x, rn, o, w);
            total += rn->visitors;
            r->nnodes++;
        }
    }
    free(count);
    free(o);
    free(w);
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
