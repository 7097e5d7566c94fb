/*
 * One buffer of AB_LINE_MAX plus a read block; lines are handed out as
 * pointers into it, so reading allocates nothing per line.
 */

#include "reader.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#define READ_BLOCK  (256 * 1024)

struct ab_reader_s {
    gzFile   gz;
    char    *buf;
    size_t   start;             /* first byte not yet handed out */
    size_t   end;               /* bytes in buf */
    int      eof;
    int      skipping;          /* inside an over-long line */
    char     err[256];
};


ab_reader_t *
ab_reader_open(const char *path)
{
    ab_reader_t  *r;
    int           fd, saved;

    fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY);
    if (fd < 0) {
        return NULL;
    }

    r = calloc(1, sizeof(*r));
    if (r != NULL) {
        r->buf = malloc(AB_LINE_MAX + READ_BLOCK + 1);
    }

    if (r == NULL || r->buf == NULL || (r->gz = gzdopen(fd, "rb")) == NULL) {
        saved = errno ? errno : ENOMEM;
        if (r) {
            free(r->buf);
        }
        free(r);
        close(fd);
        errno = saved;
        return NULL;
    }

    gzbuffer(r->gz, READ_BLOCK);

    return r;
}


/* Reads more bytes after the unconsumed ones; 0 at EOF, -1 on error. */
static int
fill(ab_reader_t *r)
{
    int          n;
    int          zerr;
    const char  *msg;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }

    n = gzread(r->gz, r->buf + r->end, READ_BLOCK);
    if (n < 0 || (n == 0 && (msg = gzerror(r->gz, &zerr)) && zerr != Z_OK)) {
        msg = gzerror(r->gz, &zerr);
        snprintf(r->err, sizeof(r->err), "%s",
                 zerr == Z_ERRNO ? strerror(errno) : msg);
        return -1;
    }

    if (n == 0) {
        r->eof = 1;
        return 0;
    }

    r->end += (size_t) n;

    return 1;
}


ab_read_t
ab_reader_next(ab_reader_t *r, char **line, size_t *len)
{
    char    *nl;
    size_t   scanned = 0;

    for ( ;; ) {
        nl = memchr(r->buf + r->start + scanned, '\n',
                    r->end - r->start - scanned);

        if (nl != NULL) {
            *line = r->buf + r->start;
            *len = (size_t) (nl - *line);
            *nl = '\0';
            r->start += *len + 1;

            if (r->skipping) {
                r->skipping = 0;
                scanned = 0;
                continue;
            }

            /* The buffer can hold a little more than AB_LINE_MAX; the
             * limit must not depend on where a read happened to end. */
            return *len > AB_LINE_MAX ? AB_READ_TOO_LONG : AB_READ_LINE;
        }

        scanned = r->end - r->start;

        if (scanned >= AB_LINE_MAX) {
            /* Drop what we have and the rest of this line when found. */
            int  first = !r->skipping;

            r->start = r->end;
            scanned = 0;
            r->skipping = 1;
            if (first) {
                return AB_READ_TOO_LONG;
            }
        }

        if (r->eof) {
            break;
        }

        switch (fill(r)) {
        case -1:
            return AB_READ_ERROR;
        case 0:
            break;
        default:
            continue;
        }
    }

    /* A last line without a newline. */
    if (r->end > r->start && !r->skipping) {
        *line = r->buf + r->start;
        *len = r->end - r->start;
        (*line)[*len] = '\0';
        r->start = r->end;
        return *len > AB_LINE_MAX ? AB_READ_TOO_LONG : AB_READ_LINE;
    }

    return AB_READ_EOF;
}


const char *
ab_reader_error(ab_reader_t *r)
{
    return r->err;
}


void
ab_reader_close(ab_reader_t *r)
{
    if (r == NULL) {
        return;
    }

    gzclose_r(r->gz);
    free(r->buf);
    free(r);
}
