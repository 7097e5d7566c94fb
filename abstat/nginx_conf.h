/*
 * Reads the ab_experiment blocks of an nginx configuration, following
 * include directives (relative paths against the including file's
 * directory, glob patterns as nginx has them), for expected weights and
 * baselines: the first variant of a block is its baseline.
 */

#ifndef ABSTAT_NGINX_CONF_H
#define ABSTAT_NGINX_CONF_H

#include <stddef.h>

#include "report.h"

/* Returns 0, or -1 with a message "file:line: what" in err. */
int ab_nginx_conf_read(const char *path, ab_expdef_t **list, size_t *n,
    char *err, size_t errlen);

#endif /* ABSTAT_NGINX_CONF_H */
