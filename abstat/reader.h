/*
 * Line reader over a plain or gzip file, or stdin. gzip is recognised by
 * its magic bytes (zlib's transparent mode), never by the file name, and
 * concatenated gzip members are read as one stream.
 */

#ifndef ABSTAT_READER_H
#define ABSTAT_READER_H

#include <stddef.h>

/* Longer lines are reported as such and skipped, not buffered whole. */
#define AB_LINE_MAX  (1024 * 1024)

typedef struct ab_reader_s ab_reader_t;

typedef enum {
    AB_READ_LINE = 1,
    AB_READ_TOO_LONG,           /* a line over AB_LINE_MAX, skipped */
    AB_READ_EOF = 0,
    AB_READ_ERROR = -1          /* see ab_reader_error() */
} ab_read_t;

/* "-" is stdin. NULL with errno set when the file cannot be opened. */
ab_reader_t *ab_reader_open(const char *path);

/*
 * The next line, without its newline (a trailing '\r' is kept: JSON
 * readers treat it as white space), NUL-terminated and writable in place
 * until the next call.
 */
ab_read_t ab_reader_next(ab_reader_t *r, char **line, size_t *len);

const char *ab_reader_error(ab_reader_t *r);

void ab_reader_close(ab_reader_t *r);

#endif /* ABSTAT_READER_H */
