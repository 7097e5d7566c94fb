/*
 * Plain-text layout within a terminal width: tables of aligned columns,
 * split into panels that each repeat the key columns when the table is
 * wider than the width, and prose wrapped at spaces. No line ends in a
 * space.
 */

#ifndef ABSTAT_TEXTTAB_H
#define ABSTAT_TEXTTAB_H

#include <stddef.h>
#include <stdio.h>

#define AB_CELL_MAX  72
#define AB_COLS_MAX  12

typedef struct {
    char    (*cells)[AB_CELL_MAX];
    char     *span;             /* per row: 1 prints cell 0 alone */
    size_t    ncols;
    size_t    nkey;             /* leading columns every panel repeats */
    size_t    nrows;
    size_t    cap;
    int       left[AB_COLS_MAX];        /* left-aligned columns */
    int       oom;
} ab_ttab_t;

/* An empty table of ncols columns (<= AB_COLS_MAX), nkey of them keys. */
void ab_ttab_init(ab_ttab_t *t, size_t ncols, size_t nkey);

/* A new row of empty cells, its index; (size_t) -1 when out of memory. */
size_t ab_ttab_row(ab_ttab_t *t);

/* A row holding only text in cell 0 (a group heading), not aligned. */
size_t ab_ttab_span(ab_ttab_t *t);

char *ab_ttab_cell(ab_ttab_t *t, size_t row, size_t col);

/* The width of the table in one panel, indent included. */
size_t ab_ttab_width(const ab_ttab_t *t);

/* Prints the table indented by two spaces, in panels no wider than width
 * (0: no limit) as far as the key columns and one more allow, and frees
 * it. 0, or -1 when out of memory or the write failed. */
int ab_ttab_print(FILE *out, ab_ttab_t *t, size_t width);

void ab_ttab_free(ab_ttab_t *t);

/* text wrapped at spaces to width (0: no limit), continuation lines
 * indented by two spaces. */
void ab_ttab_wrap(FILE *out, size_t width, const char *text);

#endif /* ABSTAT_TEXTTAB_H */
