/*
 * The nodes and audit sections of an experiment (audit.h), for the
 * renderers that show them.
 */

#ifndef ABSTAT_RENDER_AUDIT_H
#define ABSTAT_RENDER_AUDIT_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "report.h"

/* "nodes" when the log has nodes, "audit" with --nginx-conf, into the
 * experiment's object o; num: the renderer's number writer. */
void ab_audit_json(cJSON *o, const ab_rexp_t *x, cJSON *(*num)(double));

/* The text section, within width; 0 or -1. */
int ab_audit_text(FILE *out, const ab_rexp_t *x, size_t width);

/* The HTML section, with the page's escaping. */
void ab_audit_html(FILE *out, const ab_rexp_t *x,
    void (*esc)(FILE *out, const char *s));

#endif /* ABSTAT_RENDER_AUDIT_H */
