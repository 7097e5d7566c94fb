/*
 * Formatting shared by the renderers. %.17g always reads back exactly
 * but prints the binary expansion's noise (0.050000000000000003); the
 * shortest precision that reads back is what a person or a diff wants.
 */

#include "repfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"


void
ab_fmt_double(char *buf, size_t len, double v)
{
    int  prec = 1, e;

    /* %g writes an exponent when it is at least the precision: 300 at
     * precision 1 is 3e+02, so numbers under 1e17 start with all their
     * integer digits */
    if (v != 0 && isfinite(v)) {
        e = (int) floor(log10(fabs(v)));
        if (e >= 0 && e < 17) {
            prec = e + 1;
        }
    }

    for ( /* void */ ; prec < 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            return;
        }
    }

    snprintf(buf, len, "%.17g", v);
}


const char *
ab_metric_unit(const char *metric)
{
    return strcmp(metric, "mean_latency") == 0 ? "s" : NULL;
}


const char *
ab_fmt_time(int64_t us, char *buf, size_t len, const char *none)
{
    if (us == AB_TIME_UNKNOWN) {
        return none;
    }
    ab_time_format(us, buf, len);

    return buf;
}
