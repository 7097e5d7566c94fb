/*
 * Tables and prose for a terminal of a given width. A table too wide is
 * split into panels, each repeating the key columns, as R prints a wide
 * data frame: nothing is cut, and each panel reads on its own.
 */

#include "texttab.h"

#include <stdlib.h>
#include <string.h>

#define GAP     2               /* spaces before each column */


void
ab_ttab_init(ab_ttab_t *t, size_t ncols, size_t nkey)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->nkey = nkey;
}


size_t
ab_ttab_row(ab_ttab_t *t)
{
    void    *p;
    size_t   cap;

    if (t->nrows == t->cap) {
        cap = t->cap ? t->cap * 2 : 16;
        if ((p = realloc(t->cells, cap * t->ncols * AB_CELL_MAX)) == NULL) {
            t->oom = 1;
            return (size_t) -1;
        }
        t->cells = p;
        if ((p = realloc(t->span, cap)) == NULL) {
            t->oom = 1;
            return (size_t) -1;
        }
        t->span = p;
        t->cap = cap;
    }
    memset(t->cells[t->nrows * t->ncols], 0, t->ncols * AB_CELL_MAX);
    t->span[t->nrows] = 0;

    return t->nrows++;
}


size_t
ab_ttab_span(ab_ttab_t *t)
{
    size_t  r = ab_ttab_row(t);

    if (r != (size_t) -1) {
        t->span[r] = 1;
    }

    return r;
}


char *
ab_ttab_cell(ab_ttab_t *t, size_t row, size_t col)
{
    return t->cells[row * t->ncols + col];
}


static void
widths(const ab_ttab_t *t, size_t *w)
{
    size_t  r, c, len;

    memset(w, 0, AB_COLS_MAX * sizeof(*w));
    for (r = 0; r < t->nrows; r++) {
        for (c = 0; !t->span[r] && c < t->ncols; c++) {
            len = strlen(t->cells[r * t->ncols + c]);
            w[c] = len > w[c] ? len : w[c];
        }
    }
}


size_t
ab_ttab_width(const ab_ttab_t *t)
{
    size_t  w[AB_COLS_MAX], c, sum = 0;

    widths(t, w);
    for (c = 0; c < t->ncols; c++) {
        sum += GAP + w[c];
    }

    return sum;
}


/* One line: the key columns and columns [from, to), without trailing
 * spaces (an empty last cell, a left-aligned short one). */
static void
print_row(FILE *out, ab_ttab_t *t, size_t r, const size_t *w, size_t from,
    size_t to, char *line)
{
    size_t  c, len = 0;

    if (t->span[r]) {
        len = (size_t) sprintf(line, "%*s%s", GAP, "", ab_ttab_cell(t, r, 0));
    } else {
        for (c = 0; c < to; c++) {
            if (c >= t->nkey && c < from) {
                continue;
            }
            len += (size_t) sprintf(line + len, t->left[c] ? "%*s%-*s"
                                    : "%*s%*s", GAP, "", (int) w[c],
                                    ab_ttab_cell(t, r, c));
        }
    }
    while (len > 0 && line[len - 1] == ' ') {
        len--;
    }
    line[len] = '\0';
    fprintf(out, "%s\n", line);
}


int
ab_ttab_print(FILE *out, ab_ttab_t *t, size_t width)
{
    size_t   w[AB_COLS_MAX], key = 0, from, to, used, r, c;
    char    *line;

    if (t->oom) {
        ab_ttab_free(t);
        return -1;
    }

    widths(t, w);
    for (c = 0; c < t->nkey; c++) {
        key += GAP + w[c];
    }

    /* every column and the indent of a span row fit in ncols cells */
    if ((line = malloc((t->ncols + 1) * (AB_CELL_MAX + GAP) + 1)) == NULL) {
        ab_ttab_free(t);
        return -1;
    }

    for (from = t->nkey; from < t->ncols || from == t->nkey; from = to) {
        /* at least one column per panel, however narrow the width */
        used = key;
        for (to = from; to < t->ncols; to++) {
            if (to > from && width > 0 && used + GAP + w[to] > width) {
                break;
            }
            used += GAP + w[to];
        }
        if (from > t->nkey) {
            fputc('\n', out);
        }
        for (r = 0; r < t->nrows; r++) {
            print_row(out, t, r, w, from, to, line);
        }
        if (to == from) {
            break;
        }
    }

    free(line);
    ab_ttab_free(t);

    return ferror(out) ? -1 : 0;
}


void
ab_ttab_free(ab_ttab_t *t)
{
    free(t->cells);
    free(t->span);
    t->cells = NULL;
    t->span = NULL;
    t->nrows = t->cap = 0;
}


void
ab_ttab_wrap(FILE *out, size_t width, const char *text)
{
    const char  *p = text, *brk, *s;
    size_t       indent = 0, room = width;

    while (width > 0 && strlen(p) > room) {
        /* the last space within the room, else the first one: a word
         * longer than the width stays whole */
        brk = NULL;
        for (s = p; *s != '\0' && (size_t) (s - p) <= room; s++) {
            if (*s == ' ') {
                brk = s;
            }
        }
        if (brk == NULL && (brk = strchr(p, ' ')) == NULL) {
            break;
        }
        fprintf(out, "%*s%.*s\n", (int) indent, "", (int) (brk - p), p);
        p = brk + 1;
        indent = 2;
        room = width > indent ? width - indent : 1;
    }

    fprintf(out, "%*s%s\n", (int) indent, "", p);
}
