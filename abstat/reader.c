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

/*
 * A gzip stream is inflated here rather than through gzread(): gzread
 * drops what it had inflated into the caller's buffer when a later member
 * turns out corrupt (699 lines in issue 12's test) and ignores bytes after
 * the last member. Here every byte inflate gives is handed out before the
 * error is, and the error names the offset of the compressed byte.
 */
typedef enum {
    SRC_PLAIN = 0,              /* read(2), whatever the file */
    SRC_UNKNOWN,                /* a pipe, not looked at yet */
    SRC_GZIP
} src_kind_t;

struct ab_reader_s {
    int      fd;
    src_kind_t  kind;
    z_stream zs;                /* SRC_GZIP */
    unsigned char  *in;         /* compressed bytes, or a pipe's first */
    size_t   in_len;            /* bytes in in (next_in..in + in_len left) */
    uint64_t in_off;            /* file offset of in[0] */
    int      in_eof;
    int      member_end;        /* inflate ended a member */
    int      pending;           /* an error to report at the next read */
    uint64_t pos;               /* stream bytes handed out by read_some */
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

#define IN_BLOCK  (READ_BLOCK / 2)


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


static ssize_t
read_fd(ab_reader_t *r, void *buf, size_t n)
{
    ssize_t  got;

    do {
        got = read(r->fd, buf, n);
    } while (got < 0 && errno == EINTR);

    if (got < 0) {
        snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
    }

    return got;
}


/* More compressed bytes after those not yet inflated: 0 at EOF. */
static int
refill(ab_reader_t *r)
{
    size_t   left = r->kind == SRC_GZIP ? r->zs.avail_in : 0;
    ssize_t  got;

    if (left > 0) {
        memmove(r->in, r->zs.next_in, left);
    }
    r->in_off += r->in_len - left;
    r->in_len = left;

    got = read_fd(r, r->in + left, IN_BLOCK - left);
    if (got < 0) {
        return -1;
    }
    r->in_len += (size_t) got;
    r->in_eof = got == 0;
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt) r->in_len;

    return got > 0;
}


/* The file offset of the next compressed byte. */
static uint64_t
in_at(const ab_reader_t *r)
{
    return r->in_off + (uint64_t) (r->zs.next_in - r->in);
}


static void
gz_error(ab_reader_t *r, const char *what)
{
    snprintf(r->err, sizeof(r->err), "%s at compressed byte %llu "
             "(%llu bytes inflated before it were read)", what,
             (unsigned long long) in_at(r), (unsigned long long) r->pos);
    r->pending = 1;
}


/* Whether another gzip member follows the one just ended; bytes that are
 * not one are an error, not silently dropped as gzread drops them. */
static int
next_member(ab_reader_t *r)
{
    while (r->zs.avail_in < 2 && !r->in_eof) {
        if (refill(r) < 0) {
            return -1;
        }
    }
    if (r->zs.avail_in == 0) {
        return 0;
    }
    if (r->zs.avail_in < 2 || r->zs.next_in[0] != 0x1f
        || r->zs.next_in[1] != 0x8b)
    {
        gz_error(r, "bytes after the last gzip member that are not gzip");
        return -1;
    }
    if (inflateReset(&r->zs) != Z_OK) {
        gz_error(r, "inflateReset failed");
        return -1;
    }
    r->member_end = 0;

    return 1;
}


static int
inflate_some(ab_reader_t *r, char *buf, size_t n)
{
    int  rc;

    if (r->pending) {
        return -1;
    }

    r->zs.next_out = (Bytef *) buf;
    r->zs.avail_out = (uInt) n;

    while (r->zs.avail_out == n) {
        if (r->member_end) {
            rc = next_member(r);
            if (rc <= 0) {
                return rc;
            }
        }
        if (r->zs.avail_in == 0 && !r->in_eof && refill(r) < 0) {
            return -1;
        }

        rc = inflate(&r->zs, Z_NO_FLUSH);

        if (rc == Z_STREAM_END) {
            r->member_end = 1;
        } else if (rc == Z_BUF_ERROR && r->zs.avail_in == 0 && r->in_eof) {
            gz_error(r, "unexpected end of file");
            break;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            gz_error(r, r->zs.msg ? r->zs.msg : "corrupt gzip data");
            break;
        }
    }

    /* what was inflated before an error is handed out first */
    n -= r->zs.avail_out;
    if (n == 0 && r->pending) {
        return -1;
    }

    return (int) n;
}


/* A pipe's first bytes tell gzip from plain text; kept in r->in. */
static int
sniff(ab_reader_t *r)
{
    ssize_t  got;

    while (r->in_len < 2) {
        got = read_fd(r, r->in + r->in_len, IN_BLOCK - r->in_len);
        if (got < 0) {
            return -1;
        }
        if (got == 0) {
            break;
        }
        r->in_len += (size_t) got;
    }
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt) r->in_len;

    if (r->in_len >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b) {
        if (inflateInit2(&r->zs, 15 + 16) != Z_OK) {
            snprintf(r->err, sizeof(r->err), "cannot start inflating");
            return -1;
        }
        r->kind = SRC_GZIP;
    } else {
        r->kind = SRC_PLAIN;
    }

    return 0;
}


/* Up to n bytes into buf: their count, 0 at the end, -1 on an error
 * (said in r->err). */
static int
read_some(ab_reader_t *r, char *buf, size_t n)
{
    ssize_t  got;
    size_t   k;

    if (r->kind == SRC_UNKNOWN && sniff(r) != 0) {
        return -1;
    }

    if (r->kind == SRC_GZIP) {
        got = inflate_some(r, buf, n);
    } else if (r->zs.avail_in > 0) {
        /* a plain pipe's first bytes, read to look at them */
        k = r->zs.avail_in < n ? r->zs.avail_in : n;
        memcpy(buf, r->zs.next_in, k);
        r->zs.next_in += k;
        r->zs.avail_in -= (uInt) k;
        got = (ssize_t) k;
    } else {
        got = read_fd(r, buf, n);
    }

    if (got > 0) {
        r->pos += (uint64_t) got;
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
        r->fd = fd;
        r->buf = malloc(AB_LINE_MAX + READ_BLOCK + 1);
        r->in = malloc(IN_BLOCK);
    }

    if (r == NULL || r->buf == NULL || r->in == NULL
        || fstat(fd, &r->st) != 0)
    {
        saved = errno ? errno : ENOMEM;
        if (r) {
            free(r->buf);
            free(r->in);
        }
        free(r);
        close(fd);
        errno = saved;
        return NULL;
    }

    r->kind = is_plain(fd, &r->st) ? SRC_PLAIN : SRC_UNKNOWN;

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


/* Stream offset off, forwards only: a plain file seeks, a gzip stream or
 * a pipe is read and dropped up to it (through buf, empty by then). */
static int
discard_to(ab_reader_t *r, uint64_t off)
{
    int  got;

    if (r->kind == SRC_PLAIN && S_ISREG(r->st.st_mode)
        && r->zs.avail_in == 0)
    {
        if (lseek(r->fd, (off_t) off, SEEK_SET) < 0) {
            snprintf(r->err, sizeof(r->err), "cannot seek to %llu",
                     (unsigned long long) off);
            return -1;
        }
        r->pos = off;
        return 0;
    }

    if (off < r->pos) {
        snprintf(r->err, sizeof(r->err), "cannot seek back to %llu",
                 (unsigned long long) off);
        return -1;
    }

    while (r->pos < off) {
        got = read_some(r, r->buf, off - r->pos < READ_BLOCK
                                   ? (size_t) (off - r->pos) : READ_BLOCK);
        if (got <= 0) {
            if (got == 0) {
                snprintf(r->err, sizeof(r->err), "cannot seek to %llu: "
                         "the stream ends at %llu", (unsigned long long) off,
                         (unsigned long long) r->pos);
            }
            return -1;
        }
    }

    return 0;
}


int
ab_reader_skip(ab_reader_t *r, uint64_t off)
{
    uint64_t  pos = r->base + r->start;

    if (off >= pos && off - pos <= r->end - r->start) {
        r->start += (size_t) (off - pos);
    } else {
        if (discard_to(r, off) != 0) {
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
    if (r->kind == SRC_UNKNOWN) {
        (void) sniff(r);
    }

    return r->kind == SRC_GZIP;
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

    if (r->kind == SRC_GZIP) {
        inflateEnd(&r->zs);
    }
    close(r->fd);
    free(r->in);
    free(r->buf);
    free(r);
}
