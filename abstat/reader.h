/*
 * Line reader over a plain or gzip file, or stdin. gzip is recognised by
 * its magic bytes (zlib's transparent mode), never by the file name, and
 * concatenated gzip members are read as one stream.
 */

#ifndef ABSTAT_READER_H
#define ABSTAT_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

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

/*
 * Block mode, for callers that split lines themselves (abstat's reading
 * threads): the next run of whole lines, read straight into dst, which
 * holds AB_BLOCK_MAX bytes; *base is the stream offset of dst[0]. After
 * a call ab_reader_tell() is the offset after the last newline read.
 * AB_BLOCK_LAST: the last line has no newline (EOF). AB_BLOCK_TOO_LONG: a
 * line of more than AB_LINE_MAX bytes starts at *base and has no newline
 * within AB_BLOCK_MAX bytes: it is skipped up to its newline, and the
 * next call goes on after it. A line over AB_LINE_MAX that does end
 * within a block is in it, for the caller to refuse.
 */
#define AB_BLOCK_MAX  (AB_LINE_MAX + 256 * 1024)

typedef enum {
    AB_BLOCK_LINES = 1,
    AB_BLOCK_LAST,
    AB_BLOCK_TOO_LONG,
    AB_BLOCK_EOF = 0,
    AB_BLOCK_ERROR = -1         /* see ab_reader_error() */
} ab_block_t;

ab_block_t ab_reader_block(ab_reader_t *r, char *dst, size_t *n,
    uint64_t *base);

/*
 * For incremental runs (--state). ab_reader_prefix: the first bytes of
 * the (decompressed) stream, up to want, without consuming them; call it
 * before any line. ab_reader_skip: continue at stream offset off (in a
 * gzip file, of the decompressed bytes). ab_reader_tell: the stream offset
 * just after the last newline read, where a later run resumes.
 * ab_reader_unterminated: the line just returned ended at EOF without a
 * newline (a line still being written). ab_reader_stat: the file as
 * opened.
 */
int ab_reader_prefix(ab_reader_t *r, size_t want, const char **p,
    size_t *got);
int ab_reader_skip(ab_reader_t *r, uint64_t off);
uint64_t ab_reader_tell(const ab_reader_t *r);
int ab_reader_unterminated(const ab_reader_t *r);
const struct stat *ab_reader_stat(const ab_reader_t *r);
/* Whether the stream is gzip (valid once something was read). */
int ab_reader_compressed(ab_reader_t *r);

const char *ab_reader_error(ab_reader_t *r);

void ab_reader_close(ab_reader_t *r);

#endif /* ABSTAT_READER_H */
