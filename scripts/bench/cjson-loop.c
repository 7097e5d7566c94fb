/*
 * The "parse every line with cJSON" baseline of scripts/bench-abstat:
 * reads JSON lines from a file, parses each with cJSON and touches the uid,
 * nothing else. What a straightforward processor pays before any work.
 */

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
    FILE    *fp = argc > 1 ? fopen(argv[1], "r") : stdin;
    char    *line = NULL;
    size_t   cap = 0, lines = 0, with_uid = 0;
    ssize_t  n;

    if (fp == NULL) {
        perror(argv[1]);
        return 1;
    }

    while ((n = getline(&line, &cap, fp)) > 0) {
        cJSON  *j = cJSON_ParseWithLength(line, (size_t) n);

        lines++;
        if (j && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "uid"))) {
            with_uid++;
        }
        cJSON_Delete(j);
    }

    printf("%zu lines, %zu with a uid\n", lines, with_uid);
    free(line);

    return 0;
}
