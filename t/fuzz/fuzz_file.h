/*
 * For the targets of checksummed files (the state file, shard files):
 * the input is the file without its trailer, written to a file of this
 * process with the right XXH3_64 trailer appended, so that what is
 * fuzzed is everything a consistent file can hold.
 */

#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

/* The file's path (in /dev/shm when it can be: no disk per input). */
static const char *
fuzz_file_write(const uint8_t *data, size_t size, const char *what)
{
    static char  path[300];
    uint64_t     sum;
    const char  *tmp;
    FILE        *f;

    if (path[0] == '\0') {
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof(path), "%s/abfuzz-%s-%ld", tmp, what,
                 (long) getpid());
    }

    sum = XXH3_64bits(data, size);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size
        || fwrite(&sum, 8, 1, f) != 1 || fclose(f) != 0)
    {
        abort();
    }

    return path;
}

#endif /* FUZZ_FILE_H */
