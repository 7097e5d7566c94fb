/* needs: abstat */
/*
 * libFuzzer target: abstat's nginx configuration reader
 * (abstat/nginx_conf.c, --nginx-conf), which follows include directives.
 * The input is written as main.conf into a private directory that also
 * holds a few fixed files (an experiment, a file that includes itself, a
 * file that includes every file). '/' is mapped to '_' so that includes
 * stay inside that directory. Properties: no crash, no sanitizer report,
 * no hang (libFuzzer's -timeout), an error always has a message, and the
 * experiments read all have a valid name and at least two variants.
 */

#include "nginx_conf.h"
#include "expdef.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char  dir[256];
static char  main_path[300];


static void
put(const char *name, const char *text)
{
    char   path[300];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        abort();
    }
}


static void
setup(void)
{
    const char  *tmp = getenv("TMPDIR");

    /* a file is written per input: in memory when possible */
    if (access("/dev/shm", W_OK) == 0) {
        tmp = "/dev/shm";
    }

    snprintf(dir, sizeof(dir), "%s/abfuzz-conf-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);

    put("inc.conf", "ab_experiment inc { variant a 50%; variant b 50%; }\n");
    put("self.conf", "include self.conf;\n");
    put("all.conf", "include *.conf;\n");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ab_expdef_t  *list = NULL;
    size_t        n = 0, i;
    char          err[512];
    char         *text;
    FILE         *f;
    int           rc;

    if (dir[0] == '\0') {
        setup();
    }

    text = malloc(size + 1);
    if (text == NULL) {
        abort();
    }
    for (i = 0; i < size; i++) {
        text[i] = data[i] == '/' ? '_' : (char) data[i];
    }

    f = fopen(main_path, "wb");
    if (f == NULL || fwrite(text, 1, size, f) != size || fclose(f) != 0) {
        abort();
    }
    free(text);

    err[0] = '\0';
    rc = ab_nginx_conf_read(main_path, &list, &n, err, sizeof(err));

    if (rc != 0 && err[0] == '\0') {
        abort();
    }

    if (rc == 0) {
        for (i = 0; i < n; i++) {
            if (list[i].name == NULL || list[i].nvars < 2) {
                abort();
            }
        }
    }

    ab_expdef_free(list, n);
    free(list);

    return 0;
}
