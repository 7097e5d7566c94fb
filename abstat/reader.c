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
#include <sys/stat.h>

#include <zlib.h>

#define READ_BLOCK  (256 * 1024)

/* a block's bytes after its last newline are kept in buf: they fit */
#if AB_BLOCK_MAX > AB_LINE_MAX + READ_BLOCK
#error "AB_BLOCK_MAX must fit in the reader's buffer"
#endif

struct ab_reader_s {
    gzFile   gz;                /* NULL for a plain regular file */
    int      fd;                /* a plain file's */
    char    *buf;
    size_t   start;             /* first byte not yet handed out */
    size_t   end;               /* bytes in buf */
    uint64_t base;              /* stream offset of buf[0] */
    uint64_t done;              /* stream offset after the last newline */
    int      eof;
    int      skipping;          /* inside an over-long line */
    int      unterminated;      /* the last line had no newline */
    int      failed;            /* block mode: a read failed after lines */
    struct stat  st;            /* of the file as opened */
    char     err[256];
};


/*
 * A regular file that does not start with the gzip magic is read with
 * read(2), straight into the caller's buffer: zlib's transparent mode
 * would copy every byte through a buffer of its own. Pipes (stdin) go
 * through zlib, which can look at their first bytes and keep them.
 */
static int
is_plain(int fd, const struct stat *st)
{
    unsigned char  magic[2];
    ssize_t        n;

    if (!S_ISREG(st->st_mode)) {
        return 0;
    }
    n = pread(fd, magic, sizeof(magic), 0);

    return n >= 0 && !(n == 2 && magic[0] == 0x1f && magic[1] == 0x8b);
}


/* Whether a read that returned n failed (n < 0, or 0 with the stream in
 * error rather than at its end); if so, says why in r->err. */
static int
gz_failed(ab_reader_t *r, int n)
{
    int          zerr;
    const char  *msg;

    if (n > 0) {
        return 0;
    }
    msg = gzerror(r->gz, &zerr);
    if (n == 0 && zerr == Z_OK) {
        return 0;
    }
    snprintf(r->err, sizeof(r->err), "%s",
             zerr == Z_ERRNO ? strerror(errno) : msg);

    return 1;
}


/* Up to n bytes into buf: their count, 0 at the end, -1 on an error
 * (said in r->err). */
static int
read_some(ab_reader_t *r, char *buf, size_t n)
{
    ssize_t  got;

    if (r->gz != NULL) {
        got = gzread(r->gz, buf, (unsigned) n);
        return gz_failed(r, (int) got) ? -1 : (int) got;
    }

    do {
        got = read(r->fd, buf, n);
    } while (got < 0 && errno == EINTR);

    if (got < 0) {
        snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
        return -1;
    }

    return (int) got;
}


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

    if (r != NULL && fstat(fd, &r->st) != 0) {
        free(r->buf);
        free(r);
        r = NULL;
    }

    if (r != NULL && r->buf != NULL && is_plain(fd, &r->st)) {
        r->fd = fd;
        return r;
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

    /* zlib inflates straight into the caller's buffer only when asked
     * for at least twice its own buffer */
    gzbuffer(r->gz, READ_BLOCK / 2);

    return r;
}


/* Reads more bytes after the unconsumed ones; 0 at EOF, -1 on error. */
static int
fill(ab_reader_t *r)
{
    int  n;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->base += r->start;
        r->start = 0;
    }

    n = read_some(r, r->buf + r->end, READ_BLOCK);
    if (n < 0) {
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
            r->done = r->base + r->start;
            r->unterminated = 0;

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

        /* more than AB_LINE_MAX bytes without a newline: too long
         * wherever the reads ended (the buffer holds one more block) */
        if (scanned > AB_LINE_MAX) {
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
        r->unterminated = 1;
        return *len > AB_LINE_MAX ? AB_READ_TOO_LONG : AB_READ_LINE;
    }

    return AB_READ_EOF;
}


ab_block_t
ab_reader_block(ab_reader_t *r, char *dst, size_t *n, uint64_t *base)
{
    size_t   have, keep;
    char    *nl;
    int      got;

    if (r->failed) {
        return AB_BLOCK_ERROR;
    }

    /* the rest of a line found too long: dropped up to its newline */
    while (r->skipping) {
        nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl != NULL) {
            r->start = (size_t) (nl - r->buf) + 1;
            r->done = r->base + r->start;
            r->skipping = 0;
            break;
        }
        r->start = r->end;
        if (r->eof) {
            *n = 0;
            return AB_BLOCK_EOF;
        }
        if (fill(r) < 0) {
            return AB_BLOCK_ERROR;
        }
    }

    /* what the buffer holds, then reads straight into dst */
    have = r->end - r->start;
    memcpy(dst, r->buf + r->start, have);
    *base = r->base + r->start;
    r->base += r->end;
    r->start = r->end = 0;

    /* READ_BLOCK at a time, as ab_reader_next() reads: a failing read
     * then loses the same bytes in both modes */
    while (have <= AB_LINE_MAX && !r->eof) {
        got = read_some(r, dst + have, READ_BLOCK);
        if (got < 0) {
            r->failed = 1;
            break;
        }
        if (got == 0) {
            r->eof = 1;
            break;
        }
        have += (size_t) got;
    }
    r->base = *base + have;

    nl = have > 0 ? memrchr(dst, '\n', have) : NULL;

    if (r->failed && nl == NULL) {
        return AB_BLOCK_ERROR;
    }

    if (nl != NULL) {
        /* whole lines; what follows the last newline waits in buf */
        keep = (size_t) (nl - dst) + 1;
        memcpy(r->buf, dst + keep, have - keep);
        r->end = have - keep;
        r->base = *base + keep;
        r->done = *base + keep;
        *n = keep;
        return AB_BLOCK_LINES;
    }

    if (r->eof) {
        *n = have;
        return have > 0 ? AB_BLOCK_LAST : AB_BLOCK_EOF;
    }

    /* more than AB_LINE_MAX bytes and no newline */
    r->skipping = 1;
    *n = 0;

    return AB_BLOCK_TOO_LONG;
}


int
ab_reader_prefix(ab_reader_t *r, size_t want, const char **p, size_t *got)
{
    if (want > READ_BLOCK) {
        want = READ_BLOCK;
    }

    while (r->end - r->start < want && !r->eof) {
        if (fill(r) < 0) {
            return -1;
        }
    }

    *p = r->buf + r->start;
    *got = r->end - r->start < want ? r->end - r->start : want;

    return 0;
}


int
ab_reader_skip(ab_reader_t *r, uint64_t off)
{
    uint64_t  pos = r->base + r->start;

    if (off >= pos && off - pos <= r->end - r->start) {
        r->start += (size_t) (off - pos);
    } else {
        /* gzseek decompresses and discards up to off in a gzip stream,
         * and seeks in a plain one. */
        if (r->gz != NULL ? gzseek(r->gz, (z_off_t) off, SEEK_SET) < 0
                          : lseek(r->fd, (off_t) off, SEEK_SET) < 0)
        {
            snprintf(r->err, sizeof(r->err), "cannot seek to %llu",
                     (unsigned long long) off);
            return -1;
        }
        r->base = off;
        r->start = r->end = 0;
        r->eof = 0;
    }

    r->done = off;

    return 0;
}


uint64_t
ab_reader_tell(const ab_reader_t *r)
{
    return r->done;
}


int
ab_reader_unterminated(const ab_reader_t *r)
{
    return r->unterminated;
}


int
ab_reader_compressed(ab_reader_t *r)
{
    return r->gz != NULL && !gzdirect(r->gz);
}


const struct stat *
ab_reader_stat(const ab_reader_t *r)
{
    return &r->st;
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

    if (r->gz != NULL) {
        gzclose_r(r->gz);
    } else {
        close(r->fd);
    }
    free(r->buf);
    free(r);
}
