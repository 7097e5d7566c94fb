/*
 * What every command that reads logs says about them once they are read
 * (report, map): a file that is not the module's log, too many bad lines.
 */

#include "readcheck.h"

#include <stdio.h>

#include "exitcode.h"


/*
 * After a file is read: a file none of whose lines was sound is not the
 * module's log (a combined log, the wrong access_log): said even with
 * -q, since the report would only look empty. 0 or EXIT_BAD_INPUT.
 */
int
ab_check_file(const char *path, int events, uint64_t lines, uint64_t bad)
{
    if (lines == 0 || bad < lines) {
        return 0;
    }

    if (events) {
        fprintf(stderr, "abstat: %s: none of its %llu line(s) is a "
                "back-office event (JSON objects with time, event, order, "
                "revenue)\n", path, (unsigned long long) lines);
    } else {
        fprintf(stderr, "abstat: %s: none of its %llu line(s) is an ab_json "
                "log line (JSON objects with time, uid, exposures: the A/B "
                "module's log_format ab_json)\n", path,
                (unsigned long long) lines);
    }

    return EXIT_BAD_INPUT;
}


int
ab_check_bad(double max_bad, uint64_t lines, uint64_t bad)
{
    if (lines == 0 || (double) bad * 100 <= max_bad * (double) lines) {
        return 0;
    }

    fprintf(stderr, "abstat: %llu of %llu line(s) read are bad (%.2f%%), "
            "over --max-bad %g%%\n", (unsigned long long) bad,
            (unsigned long long) lines, 100.0 * (double) bad / (double) lines,
            max_bad);

    return EXIT_BAD_INPUT;
}
