/*
 * Renderers of a report: json (docs/abstat-json.md), text (aligned tables
 * for a terminal) and csv (one row per metric comparison).
 */

#ifndef ABSTAT_RENDER_H
#define ABSTAT_RENDER_H

#include <stdio.h>

#include "report.h"

/* Each returns 0, or -1 when out of memory or the write failed. */
int ab_render_json(FILE *out, const ab_report_t *rep);
/* Within width columns (0: no limit). */
int ab_render_text(FILE *out, const ab_report_t *rep, size_t width);
int ab_render_csv(FILE *out, const ab_report_t *rep);
/* --table trend: one row per trend point (--bucket). */
int ab_render_csv_trend(FILE *out, const ab_report_t *rep);
/* --table segments: a row per experiment, segment, metric and variant */
int ab_render_csv_segments(FILE *out, const ab_report_t *rep);
/* One self-contained page; uses the trend (--bucket) for its charts. */
int ab_render_html(FILE *out, const ab_report_t *rep);
int ab_render_prom(FILE *out, const ab_report_t *rep);

#endif /* ABSTAT_RENDER_H */
