/*
 * The segments of one experiment (--by, segment.h): per dimension, the
 * values its visitors entered with, the least frequent field values
 * pooled as "other" (--by-top), and for each segment the report of its
 * visitors alone, made by the same code as the experiment's own
 * (ab_experiment_rows() over a membership selection); then Cochran's Q
 * across a dimension's segments for every metric row.
 *
 * Segments are exploratory: their rows are in no Holm family
 * (ab_roles_exploratory()), and the report counts their flags against
 * what chance gives.
 */

#include "analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "confhist.h"
#include "hetero.h"
#include "roles.h"

#define NO_SEG  AB_CELL_NONE

/* One dimension of one experiment: the segment of each value id, the
 * segments' names, and per segment its funnel and multi-variant counts. */
typedef struct {
    size_t         dim;
    uint16_t      *map;         /* [value id] -> segment, NO_SEG: unseen */
    const char   **names;
    size_t         n;
    uint64_t      *visitors;    /* per value id, then per segment */
    uint32_t      *membs;       /* the experiment's memberships by segment */
    size_t        *first;       /* [seg]: where a segment's start in membs */
    uint64_t      *event_count; /* [seg][var * nev + event] */
    uint64_t      *event_pre;
    uint64_t      *event_both;
    uint64_t      *multi;       /* [seg][var] */
    uint64_t      *entered;     /* merge: [seg][snapshot] of the history */
} plan_t;


static void
plan_free(plan_t *pl)
{
    free(pl->map);
    free(pl->names);
    free(pl->visitors);
    free(pl->membs);
    free(pl->first);
    free(pl->event_count);
    free(pl->event_pre);
    free(pl->event_both);
    free(pl->multi);
    free(pl->entered);
}


/* "other" and "(none)" after every other value, in that order. */
static int
last_rank(const char *s)
{
    return strcmp(s, AB_SEG_OTHER) == 0 ? 1 : strcmp(s, AB_SEG_NONE) == 0 ? 2
                                                                          : 0;
}


static int
cmp_name(const void *a, const void *b)
{
    const char  *x = *(const char *const *) a, *y = *(const char *const *) b;
    int          rx = last_rank(x), ry = last_rank(y);

    return rx != ry ? rx - ry : strcmp(x, y);
}


/* Value ids by their labels (ctx), as cmp_name() orders names. */
static int
cmp_label(const void *a, const void *b, void *ctx)
{
    const char *const  *label = ctx;

    return cmp_name(&label[*(const uint32_t *) a],
                    &label[*(const uint32_t *) b]);
}


typedef struct {
    const char *const  *names;
    const uint64_t     *visitors;
} rank_ctx_t;

/* By visitors, most first; ties by value, bytewise. */
static int
cmp_freq(const void *a, const void *b, void *ctx)
{
    const rank_ctx_t  *c = ctx;
    uint32_t           x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    if (c->visitors[x] != c->visitors[y]) {
        return c->visitors[x] > c->visitors[y] ? -1 : 1;
    }

    return strcmp(c->names[x], c->names[y]);
}


/* Which values are segments of their own: all seen ones, except that
 * of a field's, "(none)" aside, only the top most frequent by visitors;
 * the others map to "other". Sets pl->map to each value's name's index
 * in pl->names (resolved by plan_index()). */
static int
plan_values(const ab_pass_t *p, plan_t *pl, const ab_dim_t *dim, char *seen,
    const char **label)
{
    const ab_intern_t  *vals = &p->st->segvals[pl->dim];
    size_t              nv = vals->n, i, k = 0;
    uint32_t           *ids = malloc((nv + 1) * sizeof(*ids));
    rank_ctx_t          ctx = { (const char *const *) vals->names,
                                pl->visitors };

    if (ids == NULL) {
        return -1;
    }

    for (i = 0; i < nv; i++) {
        label[i] = seen[i] ? vals->names[i] : NULL;
        if (seen[i] && ab_dim_pooled(dim->kind) && !last_rank(vals->names[i]))
        {
            ids[k++] = (uint32_t) i;
        }
    }
    if (k > p->cfg->by->top) {
        qsort_r(ids, k, sizeof(*ids), cmp_freq, &ctx);
        for (i = p->cfg->by->top; i < k; i++) {
            label[ids[i]] = AB_SEG_OTHER;
        }
    }
    free(ids);

    return 0;
}


/* What merge was given of dimension d of experiment e, or NULL. */
static const ab_given_dim_t *
given_of(const ab_pass_t *p, int e, size_t d)
{
    return p->given_dims ? &p->given_dims[(size_t) e * AB_BY_MAX + d] : NULL;
}


/* The segments of pl's dimension among experiment e's memberships (or
 * the values merge was given): raw, each value one, else pooled. */
static int
plan_make(const ab_pass_t *p, int e, size_t dim, int raw, plan_t *pl)
{
    const ab_given_dim_t  *g = given_of(p, e, dim);
    const ab_state_t      *st = p->st;
    size_t                 nv = st->segvals[dim].n, i, j, k, v;
    uint32_t              *ids;
    const char           **label = calloc(nv + 1, sizeof(*label));
    char                  *seen = calloc(nv + 1, 1);
    int                    rc = -1;

    memset(pl, 0, sizeof(*pl));
    pl->dim = dim;
    pl->map = malloc((nv + 1) * sizeof(*pl->map));
    pl->names = calloc(nv + 1, sizeof(*pl->names));
    pl->visitors = calloc(nv + 1, sizeof(*pl->visitors));
    if (!label || !seen || !pl->map || !pl->names || !pl->visitors) {
        goto done;
    }

    for (i = 0; g == NULL && i < st->nmemb; i++) {
        if (st->membs[i].exp == e) {
            v = ab_state_segs(st, i)[dim];
            seen[v] = 1;
            pl->visitors[v] += st->membs[i].var != AB_VAR_MULTI;
        }
    }
    for (v = 0; g != NULL && v < nv; v++) {
        seen[v] = g->seen[v];
        pl->visitors[v] = g->visitors[v];
    }
    for (v = 0; raw && v < nv; v++) {
        label[v] = seen[v] ? st->segvals[dim].names[v] : NULL;
    }
    if (!raw && plan_values(p, pl, &p->cfg->by->dims[dim], seen, label) != 0)
    {
        goto done;
    }

    /* the distinct labels in report order, each value's the index of
     * its label: the labelled values sorted by label */
    ids = malloc((nv + 1) * sizeof(*ids));
    if (ids == NULL) {
        goto done;
    }
    for (v = 0, k = 0; v < nv; v++) {
        if (label[v] != NULL) {
            ids[k++] = (uint32_t) v;
        }
    }
    qsort_r(ids, k, sizeof(*ids), cmp_label, label);
    for (v = 0; v < nv; v++) {
        pl->map[v] = NO_SEG;
    }
    for (i = 0; i < k; i++) {
        if (pl->n == 0 || strcmp(pl->names[pl->n - 1], label[ids[i]]) != 0) {
            pl->names[pl->n++] = label[ids[i]];
        }
        pl->map[ids[i]] = (uint16_t) (pl->n - 1);
    }
    free(ids);

    /* merge: the values' visitors are the segments', and there are no
     * memberships to list */
    if (g != NULL) {
        uint64_t  *by_value = pl->visitors;

        pl->visitors = calloc(nv + 1, sizeof(*pl->visitors));
        pl->first = calloc(pl->n + 2, sizeof(*pl->first));
        pl->membs = malloc(sizeof(*pl->membs));
        for (v = 0; pl->visitors && v < nv; v++) {
            if (pl->map[v] != NO_SEG) {
                pl->visitors[pl->map[v]] += by_value[v];
            }
        }
        free(by_value);
        rc = pl->visitors && pl->first && pl->membs ? 0 : -1;
        goto done;
    }
    memset(pl->visitors, 0, (nv + 1) * sizeof(*pl->visitors));
    /* the memberships by segment, in state order within one (a counting
     * sort over every membership of e, multi-variant ones included) */
    pl->first = calloc(pl->n + 2, sizeof(*pl->first));
    for (i = 0, j = 0; pl->first && i < st->nmemb; i++) {
        if (st->membs[i].exp == e) {
            v = pl->map[ab_state_segs(st, i)[dim]];
            pl->first[v + 1]++;
            pl->visitors[v] += st->membs[i].var != AB_VAR_MULTI;
            j++;
        }
    }
    pl->membs = malloc((j + 1) * sizeof(*pl->membs));
    if (pl->first == NULL || pl->membs == NULL) {
        goto done;
    }
    for (v = 0; v < pl->n; v++) {
        pl->first[v + 1] += pl->first[v];
    }
    for (i = 0; i < st->nmemb; i++) {
        if (st->membs[i].exp == e) {
            v = pl->map[ab_state_segs(st, i)[dim]];
            /* first[v]: the next free place of segment v */
            pl->membs[pl->first[v]++] = (uint32_t) i;
        }
    }
    /* first[v] is now v's end: shift back to the starts */
    memmove(pl->first + 1, pl->first, pl->n * sizeof(*pl->first));
    pl->first[0] = 0;
    rc = 0;

done:
    free(label);
    free(seen);

    return rc;
}


/* The segment of membership m in pl, or NO_SEG (not of experiment e). */
static uint16_t
seg_of(const ab_pass_t *p, const plan_t *pl, int e, size_t m)
{
    if (m >= p->st->nmemb || p->st->membs[m].exp != e) {
        return NO_SEG;
    }

    return pl->map[ab_state_segs(p->st, m)[pl->dim]];
}


/* Where slot i of a (membership, event) table counts in pl's funnel
 * arrays ([seg][var * nevents + event], the per-experiment layout per
 * segment): 0 when empty, of another experiment or multi-variant. */
static int
pair_at(const ab_pass_t *p, const plan_t *pl, int e, const ab_tab_t *t,
    size_t i, size_t *at)
{
    const ab_state_t  *st = p->st;
    size_t             stride = (st->vars[e].n + 1) * (st->events.n + 1);
    uint16_t           s;

    if (t->vals[i] == AB_TAB_EMPTY
        || (s = seg_of(p, pl, e, t->keys[i].lo)) == NO_SEG
        || st->membs[t->keys[i].lo].var == AB_VAR_MULTI)
    {
        return 0;
    }
    *at = s * stride + (size_t) st->membs[t->keys[i].lo].var * st->events.n
          + t->keys[i].hi;

    return 1;
}


/* Funnel counts per segment from the values merge was given. */
static void
pool_counts(const ab_pass_t *p, int e, plan_t *pl)
{
    const ab_given_dim_t  *g = given_of(p, e, pl->dim);
    const ab_state_t      *st = p->st;
    size_t                 nv = st->vars[e].n, nev = st->events.n;
    size_t                 stride = (nv + 1) * (nev + 1), k = nv * nev;
    size_t                 nsnap = p->cfg->history ? p->cfg->history->n : 0;
    size_t                 v, i, at, from;

    for (v = 0; v < st->segvals[pl->dim].n; v++) {
        if (pl->map[v] == NO_SEG) {
            continue;
        }
        at = pl->map[v] * stride;
        from = v * k;
        for (i = 0; i < k; i++) {
            pl->event_count[at + i] += g->event_count[from + i];
        }
        for (i = 0; pl->event_pre && g->event_pre && i < k; i++) {
            pl->event_pre[at + i] += g->event_pre[from + i];
            pl->event_both[at + i] += g->event_both[from + i];
        }
        for (i = 0; i < nv; i++) {
            pl->multi[pl->map[v] * (nv + 1) + i] += g->multi[v * nv + i];
        }
        for (i = 0; pl->entered && i < nsnap; i++) {
            pl->entered[pl->map[v] * nsnap + i] += g->entered[v * nsnap + i];
        }
    }
}


/* Funnel counts per segment from the pass's (membership, event) pairs,
 * as count_seen() (analyze.c) makes them per experiment, and the
 * multi-variant counts from the state's. */
static int
plan_counts(const ab_pass_t *p, int e, plan_t *pl)
{
    const ab_state_t  *st = p->st;
    const ab_tab_t    *t;
    size_t             nv = st->vars[e].n + 1, nev = st->events.n + 1;
    size_t             i, at;
    uint16_t           s;

    pl->event_count = calloc(pl->n * nv * nev + 1, sizeof(uint64_t));
    pl->multi = calloc(pl->n * nv + 1, sizeof(uint64_t));
    if (p->event_pre != NULL) {
        pl->event_pre = calloc(pl->n * nv * nev + 1, sizeof(uint64_t));
        pl->event_both = calloc(pl->n * nv * nev + 1, sizeof(uint64_t));
    }
    if (!pl->event_count || !pl->multi
        || (p->event_pre && (!pl->event_pre || !pl->event_both)))
    {
        return -1;
    }
    if (given_of(p, e, pl->dim) != NULL) {
        if (p->given_entered != NULL) {
            pl->entered = calloc(pl->n * p->cfg->history->n + 1,
                                 sizeof(uint64_t));
            if (pl->entered == NULL) {
                return -1;
            }
        }
        pool_counts(p, e, pl);
        return 0;
    }

    for (i = 0, t = p->seen; i < t->cap; i++) {
        if (pair_at(p, pl, e, t, i, &at)) {
            pl->event_count[at]++;
        }
    }
    for (i = 0, t = p->seen_pre; p->event_pre && i < t->cap; i++) {
        if (pair_at(p, pl, e, t, i, &at)) {
            pl->event_pre[at]++;
            if (ab_tab_get(p->seen, t->keys[i]) != AB_TAB_EMPTY) {
                pl->event_both[at]++;
            }
        }
    }
    for (i = 0, t = &st->multi; i < t->cap; i++) {
        if (t->vals[i] != AB_TAB_EMPTY
            && (s = seg_of(p, pl, e, t->keys[i].lo)) != NO_SEG)
        {
            pl->multi[s * nv + t->keys[i].hi]++;
        }
    }

    return 0;
}


/* The effect and variance Cochran's Q weighs for row m: those of the
 * row's test (CUPED's where it adjusted the row); 0 when its segment
 * has fewer than 2 visitors in either arm. */
static int
row_effect(const ab_rmetric_t *m, double *effect, double *var)
{
    if (!(m->t.n >= 2 && m->c.n >= 2)) {
        return 0;
    }
    *effect = ab_metric_test(m)->abs_effect;
    *var = ab_metric_cuped(m) ? m->cuped.var : m->t.var + m->c.var;

    return 1;
}


static const ab_rmetric_t *
find_row(const ab_rexp_t *x, const ab_rmetric_t *like)
{
    size_t  i;

    for (i = 0; i < x->nmetrics; i++) {
        if (x->metrics[i].variant == like->variant
            && strcmp(x->metrics[i].metric, like->metric) == 0)
        {
            return &x->metrics[i];
        }
    }

    return NULL;
}


/* Cochran's Q over segs[0..n) for every row of the experiment's own. */
static int
heterogeneity(ab_rexp_t *x, const ab_rseg_t *segs, size_t n)
{
    const ab_rmetric_t  *row;
    ab_rhet_t           *h;
    double              *eff = malloc((n + 1) * sizeof(double));
    double              *var = malloc((n + 1) * sizeof(double));
    size_t               i, s, k;

    h = realloc(x->het, (x->nhet + x->nmetrics + 1) * sizeof(*h));
    if (h == NULL || eff == NULL || var == NULL) {
        free(eff);
        free(var);
        if (h != NULL) {
            x->het = h;
        }
        return -1;
    }
    x->het = h;

    for (i = 0; i < x->nmetrics; i++) {
        for (s = 0, k = 0; s < n; s++) {
            row = find_row(&segs[s].r, &x->metrics[i]);
            if (row != NULL && row_effect(row, &eff[k], &var[k])) {
                k++;
            }
        }
        h = &x->het[x->nhet++];
        h->dimension = segs[0].dimension;
        memcpy(h->metric, x->metrics[i].metric, sizeof(h->metric));
        h->variant = x->metrics[i].variant;
        h->p_value = ab_cochran_q(eff, var, k, &h->q, &h->segments);
    }

    free(eff);
    free(var);

    return 0;
}


/* One segment's report: the experiment's rows over its memberships,
 * from its cell of es. */
static int
segment_report(const ab_pass_t *p, int e, const plan_t *pl, size_t s,
    const ab_esums_t *es, size_t cell, const int *order, const ab_rexp_t *x,
    double cap, ab_rseg_t *seg)
{
    size_t     nv = p->st->vars[e].n + 1, nev = p->st->events.n + 1;
    ab_msel_t  sel;

    sel.list = pl->membs + pl->first[s];
    sel.nlist = pl->first[s + 1] - pl->first[s];
    sel.sums = es->sums + cell * es->nvars;
    sel.caps = es->caps ? &es->caps[cell] : NULL;
    sel.event_count = pl->event_count + s * nv * nev;
    sel.event_pre = pl->event_pre ? pl->event_pre + s * nv * nev : NULL;
    sel.event_both = pl->event_both ? pl->event_both + s * nv * nev : NULL;
    sel.multi = pl->multi + s * nv;
    sel.entered = pl->entered ? pl->entered + s * p->cfg->history->n : NULL;

    seg->dimension = p->cfg->by->dims[pl->dim].name;
    seg->value = pl->names[s];
    seg->visitors = pl->visitors[s];

    if (ab_experiment_rows(p, e, &sel, order, x->baseline_source, cap,
                           &seg->r) != 0)
    {
        return -1;
    }
    ab_roles_exploratory(&seg->r, p->cfg);

    return 0;
}


struct ab_segplans_s {
    size_t        n;
    plan_t        dim[AB_BY_MAX];
    ab_cellmap_t  cells;
};


static ab_segplans_t *
plans_make(const ab_pass_t *p, int e, int raw)
{
    ab_segplans_t  *pl = calloc(1, sizeof(*pl));
    size_t          d;

    if (pl == NULL) {
        return NULL;
    }
    pl->cells.ncells = 1;
    for (d = 0; d < p->st->nseg; d++) {
        pl->n = d + 1;
        if (plan_make(p, e, d, raw, &pl->dim[d]) != 0
            || plan_counts(p, e, &pl->dim[d]) != 0)
        {
            ab_segplans_free(pl);
            return NULL;
        }
        pl->cells.map[d] = pl->dim[d].map;
        pl->cells.base[d] = pl->cells.ncells;
        pl->cells.map_n[d] = pl->dim[d].n;
        pl->cells.ncells += pl->dim[d].n;
    }
    pl->cells.ndims = pl->n;

    return pl;
}


ab_segplans_t *
ab_segplans_make(const ab_pass_t *p, int e)
{
    return plans_make(p, e, 0);
}


ab_segplans_t *
ab_segplans_values(const ab_pass_t *p, int e)
{
    return plans_make(p, e, 1);
}


size_t
ab_segplans_count(const ab_segplans_t *pl, size_t d)
{
    return pl->dim[d].n;
}


void
ab_segplans_at(const ab_pass_t *p, int e, const ab_segplans_t *pl,
    size_t d, size_t s, ab_segcell_t *out)
{
    const plan_t  *dim = &pl->dim[d];
    size_t         nv = p->st->vars[e].n + 1, nev = p->st->events.n + 1;

    out->name = dim->names[s];
    out->visitors = dim->visitors[s];
    out->cell = pl->cells.base[d] + s;
    out->event_count = dim->event_count + s * nv * nev;
    out->event_pre = dim->event_pre ? dim->event_pre + s * nv * nev : NULL;
    out->event_both = dim->event_both ? dim->event_both + s * nv * nev
                                      : NULL;
    out->multi = dim->multi + s * nv;
    out->membs = dim->membs + dim->first[s];
    out->nmembs = dim->first[s + 1] - dim->first[s];
}


const ab_cellmap_t *
ab_segplans_cells(const ab_segplans_t *pl)
{
    return &pl->cells;
}


void
ab_segplans_free(ab_segplans_t *pl)
{
    size_t  d;

    for (d = 0; pl && d < pl->n; d++) {
        plan_free(&pl->dim[d]);
    }
    free(pl);
}


int
ab_segments(const ab_pass_t *p, int e, const ab_segplans_t *plans,
    const ab_esums_t *es, const int *order, double cap, ab_rexp_t *x)
{
    const plan_t  *pl;
    ab_rseg_t     *segs;
    size_t         d, s, i, first;

    for (d = 0; d < plans->n; d++) {
        pl = &plans->dim[d];
        segs = realloc(x->segs, (x->nsegs + pl->n + 1) * sizeof(*segs));
        if (segs == NULL) {
            return -1;
        }
        x->segs = segs;
        first = x->nsegs;

        for (s = 0; s < pl->n; s++) {
            memset(&segs[first + s], 0, sizeof(*segs));
            if (segment_report(p, e, pl, s, es, plans->cells.base[d] + s,
                               order, x, cap, &segs[first + s]) != 0)
            {
                return -1;
            }
            x->nsegs++;
            for (i = 0; i < segs[first + s].r.nmetrics; i++) {
                x->seg_tests++;
                x->seg_flags += segs[first + s].r.metrics[i].flag;
            }
        }

        if (pl->n > 0 && heterogeneity(x, x->segs + first, pl->n) != 0) {
            return -1;
        }
    }

    return 0;
}
