/*
 * The names of --experiment and --baseline checked against what the
 * input and the configuration (--nginx-conf, --weights) hold: a typo
 * would otherwise give an empty report, or silently the default
 * baseline.
 */

#ifndef ABSTAT_NAMES_H
#define ABSTAT_NAMES_H

#include "report.h"
#include "state.h"

/* The first --experiment name that neither st (its input) nor the
 * configuration of cfg knows, or NULL. */
const char *ab_names_missing_experiment(const ab_state_t *st,
    const ab_config_t *cfg);

/* Says on stderr that experiment `name` is unknown and which exist: those
 * of `all` (the input read without --experiment; NULL when it could not
 * be) and of the configuration. */
void ab_names_say_experiments(const char *name, const ab_state_t *all,
    const ab_config_t *cfg);

/* Whether cfg->baseline (VAR or EXP=VAR) names a variant of an
 * experiment of st or of the configuration; when not, says on stderr
 * which exist. 0 or -1. */
int ab_names_check_baseline(const ab_state_t *st, const ab_config_t *cfg);

#endif /* ABSTAT_NAMES_H */
