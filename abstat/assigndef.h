/*
 * How the module assigns one experiment's visitors, as its ab_experiment
 * block and the configuration's ab_holdout say it (salt, traffic, layer,
 * holdout, sticky), and the variant the module's own core (ab_core.c)
 * then gives a visitor: what the assignment audit (audit.h) compares
 * every logged exposure with. Only --nginx-conf gives these; --weights
 * says nothing about the assignment.
 */

#ifndef ABSTAT_ASSIGNDEF_H
#define ABSTAT_ASSIGNDEF_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

typedef struct ab_assigndef_s {
    char      *salt;            /* the experiment's name unless `salt` */
    int32_t    traffic;         /* 0.01% units; -1 until `traffic` */
    char      *layer;           /* NULL: in no layer */
    int32_t    layer_from;      /* [from, to) in 0.01% units */
    int32_t    layer_to;
    int32_t    holdout;         /* the configuration's ab_holdout */
    int        sticky;          /* `sticky on` */
    int64_t    version;         /* `version N`; -1: none */
    uint32_t  *bounds;          /* ab_weights_to_bounds() of the weights */
} ab_assigndef_t;

/* What the configuration expects of a visitor besides a variant index
 * (docs/assignment.md, "Order of decisions"). */
enum {
    AB_EXPECT_HOLDOUT = -1,     /* held out: the baseline, no exposure */
    AB_EXPECT_LAYER = -2,       /* outside its layer range: nothing */
    AB_EXPECT_TRAFFIC = -3      /* outside traffic: nothing */
};

/*
 * One directive of an ab_experiment block other than `variant` (words
 * w[0 .. nw)): salt, traffic, layer, sticky and version are kept, others
 * ignored as a later module may add them. NULL, or what is wrong, with
 * the module's own limits.
 */
const char *ab_assigndef_directive(ab_expdef_t *d, char *const *w,
    size_t nw);

/* The end of the block: defaults and the bucket bounds. NULL or why not. */
const char *ab_assigndef_finish(ab_expdef_t *d);

/* ab_holdout P (0.01% units) for every experiment of the configuration. */
void ab_assigndef_holdout(ab_expdef_t *list, size_t n, int32_t holdout);

/*
 * The variant index the configuration gives visitor uid in experiment d,
 * or AB_EXPECT_*: the module's decisions 4 to 7, in its order, through
 * the core's own bucket functions (forcing, exclusion and a missing id
 * are not the id's doing, and the log says which of them applied).
 */
int ab_assigndef_expect(const ab_expdef_t *d, const char *uid, size_t len);

void ab_assigndef_free(ab_assigndef_t *a);

#endif /* ABSTAT_ASSIGNDEF_H */
