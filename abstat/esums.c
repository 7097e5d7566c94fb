/*
 * The one pass of esums.h.
 */

#include "esums.h"

#include <stdlib.h>
#include <string.h>

#include "analyze.h"


int
ab_esums_build(const ab_pass_t *p, int e, const ab_cellmap_t *cm, int caps,
    ab_esums_t *es)
{
    const ab_state_t  *st = p->st;
    ab_msums_t        *to[1 + AB_BY_MAX];
    size_t             cells[1 + AB_BY_MAX], nto, d, i, c, v;
    const uint16_t    *segs;
    uint16_t           s;

    memset(es, 0, sizeof(*es));
    es->nvars = st->vars[e].n;
    es->ncells = cm ? cm->ncells : 1;
    es->sums = calloc(es->ncells * es->nvars + 1, sizeof(*es->sums));
    if (caps) {
        es->caps = calloc(es->ncells + 1, sizeof(*es->caps));
    }
    if (es->sums == NULL || (caps && es->caps == NULL)) {
        ab_esums_free(es);
        return -1;
    }

    for (i = 0; i < st->nmemb; i++) {
        const ab_memb_t  *mb = &st->membs[i];
        const ab_vagg_t  *pre = p->pre ? &p->pre[i] : NULL;

        if (mb->exp != e || mb->var == AB_VAR_MULTI) {
            continue;
        }
        /* with dimensions, cell 0 is the sum of the first one's cells
         * (a partition of the same visitors), added up at the end */
        nto = 0;
        if (cm == NULL || cm->ndims == 0) {
            cells[nto++] = 0;
        }
        for (d = 0; cm && d < cm->ndims; d++) {
            segs = ab_state_segs(st, i);
            if ((s = cm->map[d][segs[d]]) != AB_CELL_NONE) {
                cells[nto++] = cm->base[d] + s;
            }
        }
        for (c = 0; c < nto; c++) {
            to[c] = &es->sums[cells[c] * es->nvars + mb->var];
            if (caps && ab_capset_add(&es->caps[cells[c]], mb->var,
                                      &p->agg[i], pre) != 0)
            {
                ab_esums_free(es);
                return -1;
            }
        }
        ab_msums_add(to, nto, &p->agg[i], pre);
    }

    for (c = 0; cm && cm->ndims > 0 && c < cm->map_n[0]; c++) {
        for (v = 0; v < es->nvars; v++) {
            ab_msums_merge(&es->sums[v],
                           &es->sums[(cm->base[0] + c) * es->nvars + v]);
        }
        if (caps && ab_capset_merge(&es->caps[0],
                                    &es->caps[cm->base[0] + c]) != 0)
        {
            ab_esums_free(es);
            return -1;
        }
    }
    for (c = 0; caps && c < es->ncells; c++) {
        ab_capset_finish(&es->caps[c]);
    }

    return 0;
}


/* Adds cell from of a to cell to of es. */
static int
add_cell(ab_esums_t *es, size_t to, const ab_esums_t *a, size_t from)
{
    size_t  v;

    for (v = 0; v < es->nvars; v++) {
        ab_msums_merge(&es->sums[to * es->nvars + v],
                       &a->sums[from * a->nvars + v]);
    }

    return es->caps ? ab_capset_merge(&es->caps[to], &a->caps[from]) : 0;
}


int
ab_esums_pool(const ab_esums_t *all, const ab_esums_t *const *values,
    const ab_cellmap_t *cm, ab_esums_t *es)
{
    size_t  d, v, c;
    int     rc;

    memset(es, 0, sizeof(*es));
    es->nvars = all->nvars;
    es->ncells = cm->ncells;
    es->sums = calloc(es->ncells * es->nvars + 1, sizeof(*es->sums));
    if (all->caps != NULL) {
        es->caps = calloc(es->ncells + 1, sizeof(*es->caps));
    }
    if (es->sums == NULL || (all->caps != NULL && es->caps == NULL)) {
        ab_esums_free(es);
        return -1;
    }

    rc = add_cell(es, 0, all, 0);
    for (d = 0; d < cm->ndims; d++) {
        for (v = 0; v < values[d]->ncells; v++) {
            if (cm->map[d][v] != AB_CELL_NONE) {
                rc |= add_cell(es, cm->base[d] + cm->map[d][v], values[d], v);
            }
        }
    }
    for (c = 0; es->caps && c < es->ncells; c++) {
        ab_capset_finish(&es->caps[c]);
    }
    if (rc != 0) {
        ab_esums_free(es);
        return -1;
    }

    return 0;
}


void
ab_esums_free(ab_esums_t *es)
{
    size_t  c;

    for (c = 0; es->caps && c < es->ncells; c++) {
        ab_capset_free(&es->caps[c]);
    }
    free(es->caps);
    free(es->sums);
    memset(es, 0, sizeof(*es));
}
