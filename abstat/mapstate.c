/*
 * map's --state file (mapstate.h): small, so read and written whole.
 */

#include "mapstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#define MAGIC   "ABMAPST"       /* and its NUL: 8 bytes */
#define NHEAD   7               /* words after the magic */


static int
fail(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "%s: %s", path, what);

    return -1;
}


int
ab_mapstate_load(const char *path, ab_incr_t *inc, ab_map_totals_t *t,
    char *err, size_t errlen)
{
    FILE         *f = fopen(path, "rb");
    struct stat   sb;
    uint64_t      h[NHEAD], sum;
    char          magic[8];
    size_t        n, size;
    unsigned char *buf;

    memset(t, 0, sizeof(*t));
    inc->run = 0;
    if (f == NULL) {
        return errno == ENOENT ? 0 : fail(err, errlen, path, strerror(errno));
    }
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)
        || sb.st_size < (off_t) (8 + sizeof(h) + 8))
    {
        fclose(f);
        return fail(err, errlen, path, "not a map state file");
    }
    size = (size_t) sb.st_size;
    buf = malloc(size);
    if (buf == NULL || fread(buf, 1, size, f) != size) {
        free(buf);
        fclose(f);
        return fail(err, errlen, path, "cannot read it");
    }
    fclose(f);

    memcpy(magic, buf, 8);
    memcpy(h, buf + 8, sizeof(h));
    memcpy(&sum, buf + size - 8, 8);
    if (memcmp(magic, MAGIC, 8) != 0) {
        free(buf);
        return fail(err, errlen, path, "not a map state file (abstat map "
                    "--state keeps read positions only; report's state "
                    "files are another format)");
    }
    if (h[0] != AB_MAPSTATE_VERSION || h[1] != sizeof(ab_fentry_t)) {
        free(buf);
        return fail(err, errlen, path, "map state file of another version "
                    "or machine; remove it to map everything again");
    }
    n = (size_t) h[6];
    if (sum != XXH3_64bits(buf, size - 8)
        || n > (size - 8 - sizeof(h) - 8) / sizeof(ab_fentry_t)
        || size != 8 + sizeof(h) + n * sizeof(ab_fentry_t) + 8)
    {
        free(buf);
        return fail(err, errlen, path, "map state file damaged; remove it "
                    "to map everything again");
    }

    inc->run = h[2];
    t->files = h[3];
    t->lines = h[4];
    t->bad_lines = h[5];
    inc->files = malloc((n ? n : 1) * sizeof(ab_fentry_t));
    if (inc->files == NULL) {
        free(buf);
        return fail(err, errlen, path, "out of memory");
    }
    memcpy(inc->files, buf + 8 + sizeof(h), n * sizeof(ab_fentry_t));
    inc->nfiles = inc->capfiles = n;
    free(buf);

    return 0;
}


static int
write_all(int fd, const void *p, size_t len, XXH3_state_t *hs)
{
    const char  *c = p;
    ssize_t      w;

    XXH3_64bits_update(hs, p, len);
    while (len > 0) {
        w = write(fd, c, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        c += w;
        len -= (size_t) w;
    }

    return 0;
}


int
ab_mapstate_save(const char *path, const ab_incr_t *inc,
    const ab_map_totals_t *t, char *err, size_t errlen)
{
    XXH3_state_t  *hs = XXH3_createState();
    uint64_t       h[NHEAD], sum;
    char           tmp[8192];
    size_t         i, n = 0;
    int            fd, rc = 0;

    for (i = 0; i < inc->nfiles; i++) {
        /* persist.h's rule: a file unseen for many runs is forgotten */
        n += inc->files[i].last_run + AB_FILE_KEEP_RUNS > inc->run;
    }
    h[0] = AB_MAPSTATE_VERSION;
    h[1] = sizeof(ab_fentry_t);
    h[2] = inc->run;
    h[3] = t->files;
    h[4] = t->lines;
    h[5] = t->bad_lines;
    h[6] = n;

    if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path)
        >= sizeof(tmp) || hs == NULL)
    {
        XXH3_freeState(hs);
        return fail(err, errlen, path, "name too long or out of memory");
    }
    if ((fd = mkstemp(tmp)) < 0) {
        XXH3_freeState(hs);
        return fail(err, errlen, path, strerror(errno));
    }
    XXH3_64bits_reset(hs);
    rc |= write_all(fd, MAGIC, 8, hs);
    rc |= write_all(fd, h, sizeof(h), hs);
    for (i = 0; i < inc->nfiles; i++) {
        if (inc->files[i].last_run + AB_FILE_KEEP_RUNS > inc->run) {
            rc |= write_all(fd, &inc->files[i], sizeof(ab_fentry_t), hs);
        }
    }
    sum = XXH3_64bits_digest(hs);
    XXH3_freeState(hs);
    rc |= write(fd, &sum, 8) != 8;
    rc |= fsync(fd);
    rc |= close(fd);
    if (rc != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write it: %s", path,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}
