/* needs: abstat */
/*
 * libFuzzer target: one line of an access log and of a back-office
 * events file, as abstat reads them (abstat/jsonl.c + abstat/line.c).
 * The input is one line (the reader splits at '\n'; embedded NUL bytes
 * are possible). Properties: no crash, no sanitizer report, and a line
 * is either applied or counted bad (exactly one bad_lines increment at
 * most per call, never an out-of-memory return on small input). Every
 * other state, the first one too, reads with --by device, visitor and
 * field:country, so that the segment values of a line are taken too, and
 * audits the lines (audit.c) against experiment "e" of a holdout, a layer
 * and a traffic share.
 */

#include "assigndef.h"
#include "expdef.h"
#include "line.h"
#include "state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static ab_state_t  st;
static ab_input_t  quiet;       /* every experiment, no bad-line samples */
static ab_by_t     by;
static int         ready;
static unsigned    calls;
static ab_expdef_t *conf;
static size_t       nconf;


/* What --nginx-conf would give for e, once. */
static void
audit_conf(void)
{
    char  *salt[] = { "salt", "fuzz-e" }, *traffic[] = { "traffic", "70%" };
    char  *layer[] = { "layer", "l", "10-90%" };
    ab_expdef_t  *d = ab_expdef_new(&conf, &nconf, "e", 1);

    if (d == NULL || ab_expdef_variant(d, "a", 1, "2", 1) != NULL
        || ab_expdef_variant(d, "b", 1, "1", 1) != NULL
        || ab_assigndef_directive(d, salt, 2) != NULL
        || ab_assigndef_directive(d, traffic, 2) != NULL
        || ab_assigndef_directive(d, layer, 3) != NULL
        || ab_assigndef_finish(d) != NULL)
    {
        abort();
    }
    ab_assigndef_holdout(conf, nconf, 500);
}


/* One reading of the input through fn, on a writable, NUL-terminated
 * copy as the reader hands it over. */
static void
one(int (*fn)(ab_state_t *, const ab_input_t *, char *, size_t,
    const char *, uint64_t), char *line, const uint8_t *data, size_t size)
{
    uint64_t  bad = st.bad_lines;

    memcpy(line, data, size);
    line[size] = '\0';

    if (fn(&st, &quiet, line, size, "fuzz", 1) != 0 && !st.oom) {
        abort();
    }
    if (st.bad_lines > bad + 1) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char  *line;

    /* a fresh state now and then: bounded memory and spool size, and the
     * per-state limits (4096 experiments...) reached only by design */
    if (!ready || ++calls % 4096 == 0) {
        if (ready) {
            ab_state_free(&st);
        }
        if (ab_state_init(&st) != 0) {
            abort();
        }
        ab_input_default(&quiet);
        quiet.quiet = 1;
        if (conf == NULL) {
            audit_conf();
        }
        if (calls / 4096 % 2 == 0) {
            memset(&by, 0, sizeof(by));
            by.top = AB_BY_TOP_DEFAULT;
            if (ab_by_add(&by, "device") || ab_by_add(&by, "visitor")
                || ab_by_add(&by, "field:country"))
            {
                abort();
            }
            ab_line_by(&by);
            quiet.by = &by;
            if (ab_state_by(&st, &by) != 0) {
                abort();
            }
            quiet.conf = conf;
            quiet.nconf = nconf;
        }
        ready = 1;
    }

    line = malloc(size + 1);
    if (line == NULL) {
        abort();
    }

    one(ab_line_log, line, data, size);
    one(ab_line_event, line, data, size);

    free(line);

    return 0;
}
