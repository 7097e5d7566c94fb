/*
 * abstat: reads the A/B module's JSON access logs and reports each
 * experiment's metrics against its baseline. See abstat.1 and
 * docs/abstat.md.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_core.h"
#include "expdef.h"
#include "line.h"
#include "nginx_conf.h"
#include "reader.h"
#include "render.h"
#include "report.h"
#include "state.h"

#define ABSTAT_VERSION  "0.1.0"

/* Exit codes, as abstat.1 documents them. */
#define EXIT_INPUT      1       /* a file could not be read; report written */
#define EXIT_USAGE      2
#define EXIT_INTERNAL   3       /* out of memory, output or spool failure */

enum { FMT_TEXT, FMT_JSON, FMT_CSV };

enum { OPT_CAP = 256, OPT_EVENTS };

typedef struct {
    int             format;
    ab_config_t     cfg;
    const char    **only;
    size_t          nonly;
    const char    **events;
    size_t          nevents;
    ab_expdef_t    *conf;
    size_t          nconf;
    ab_expdef_t    *weights;
    size_t          nweights;
    int             quiet;
} opts_t;

static const char  usage_text[] =
    "Usage: abstat report [OPTIONS] [FILE...]\n"
    "\n"
    "Reads A/B module access logs (JSON lines, plain or gzip, '-' or no\n"
    "FILE for stdin) and reports every experiment against its baseline.\n"
    "\n"
    "Options:\n"
    "  -f, --format FMT        text (default), json or csv\n"
    "  -e, --experiment NAME   report only NAME (repeatable)\n"
    "  -a, --alpha A           significance level, 0 < A < 1 (default 0.05)\n"
    "  -w, --weights EXP=VAR:W,VAR:W\n"
    "                          expected split for the SRM test (repeatable);\n"
    "                          W is a percent (50%) or a relative integer\n"
    "  -c, --nginx-conf FILE   read ab_experiment blocks (following include)\n"
    "                          for expected weights and baselines\n"
    "  -b, --baseline VAR      baseline variant (or EXP=VAR)\n"
    "      --cap-revenue PCT   also report revenue winsorized at the PCT-th\n"
    "                          percentile of non-zero visitor revenues\n"
    "      --events FILE       back-office events (refunds), JSON lines\n"
    "                          (repeatable)\n"
    "  -q, --quiet             no bad-line samples on stderr\n"
    "  -h, --help              this help\n"
    "  -V, --version           version\n"
    "\n"
    "Exit status: 0 ok, 1 a file could not be read (the report covers the\n"
    "others), 2 usage error, 3 out of memory or output error.\n";


static void
usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "abstat: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'abstat report --help'.\n");
    exit(EXIT_USAGE);
}


static double
parse_double(const char *s, const char *what)
{
    char    *end;
    double   v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end != '\0') {
        usage_error(what, s);
    }

    return v;
}


static const char **
push(const char **arr, size_t *n, const char *s)
{
    arr = realloc(arr, (*n + 1) * sizeof(*arr));
    if (arr == NULL) {
        fprintf(stderr, "abstat: out of memory\n");
        exit(EXIT_INTERNAL);
    }
    arr[(*n)++] = s;

    return arr;
}


static void
parse_options(int argc, char **argv, opts_t *o)
{
    static const struct option  longopts[] = {
        { "format",      required_argument, NULL, 'f' },
        { "experiment",  required_argument, NULL, 'e' },
        { "alpha",       required_argument, NULL, 'a' },
        { "weights",     required_argument, NULL, 'w' },
        { "nginx-conf",  required_argument, NULL, 'c' },
        { "baseline",    required_argument, NULL, 'b' },
        { "cap-revenue", required_argument, NULL, OPT_CAP },
        { "events",      required_argument, NULL, OPT_EVENTS },
        { "quiet",       no_argument,       NULL, 'q' },
        { "help",        no_argument,       NULL, 'h' },
        { "version",     no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    const char  *err;
    char         msg[512];
    int          c;

    while ((c = getopt_long(argc, argv, "f:e:a:w:c:b:qhV", longopts, NULL))
           != -1)
    {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "text") == 0) {
                o->format = FMT_TEXT;
            } else if (strcmp(optarg, "json") == 0) {
                o->format = FMT_JSON;
            } else if (strcmp(optarg, "csv") == 0) {
                o->format = FMT_CSV;
            } else {
                usage_error("unknown format '%s' (text, json or csv)", optarg);
            }
            break;
        case 'e':
            if (!ab_valid_experiment_name(optarg, strlen(optarg))) {
                usage_error("bad experiment name '%s'", optarg);
            }
            o->only = push(o->only, &o->nonly, optarg);
            break;
        case 'a':
            o->cfg.alpha = parse_double(optarg, "bad --alpha '%s'");
            if (!(o->cfg.alpha > 0 && o->cfg.alpha < 1)) {
                usage_error("--alpha must be between 0 and 1, not '%s'",
                            optarg);
            }
            break;
        case 'w':
            err = ab_expdef_parse_weights(&o->weights, &o->nweights, optarg);
            if (err != NULL) {
                snprintf(msg, sizeof(msg), "--weights '%%s': %s", err);
                usage_error(msg, optarg);
            }
            break;
        case 'c':
            if (o->conf != NULL) {
                usage_error("--nginx-conf given twice%s", "");
            }
            if (ab_nginx_conf_read(optarg, &o->conf, &o->nconf, msg,
                                   sizeof(msg)) != 0)
            {
                fprintf(stderr, "abstat: --nginx-conf: %s\n", msg);
                exit(EXIT_USAGE);
            }
            if (o->conf == NULL) {
                /* Remember that it was given, even without experiments. */
                o->conf = calloc(1, sizeof(*o->conf));
            }
            break;
        case 'b':
            o->cfg.baseline = optarg;
            break;
        case OPT_CAP:
            o->cfg.cap_pct = parse_double(optarg, "bad --cap-revenue '%s'");
            if (!(o->cfg.cap_pct > 0 && o->cfg.cap_pct <= 100)) {
                usage_error("--cap-revenue must be in (0, 100], not '%s'",
                            optarg);
            }
            break;
        case OPT_EVENTS:
            o->events = push(o->events, &o->nevents, optarg);
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case 'V':
            printf("abstat %s\n", ABSTAT_VERSION);
            exit(0);
        default:
            fprintf(stderr, "Try 'abstat report --help'.\n");
            exit(EXIT_USAGE);
        }
    }
}


/* Reads one file line by line into the state. Returns 0, 1 when the
 * file could not be (wholly) read, -1 on a fatal error. */
static int
read_file(ab_state_t *st, const char *path, int events)
{
    ab_reader_t  *r = ab_reader_open(path);
    char         *line;
    size_t        len;
    uint64_t      lineno = 0;
    int           rc = 0;
    ab_read_t     got;

    if (r == NULL) {
        fprintf(stderr, "abstat: %s: %s\n", path, strerror(errno));
        return 1;
    }

    st->files++;

    while ((got = ab_reader_next(r, &line, &len)) != AB_READ_EOF) {
        if (got == AB_READ_ERROR) {
            fprintf(stderr, "abstat: %s: read error after line %llu: %s\n",
                    path, (unsigned long long) lineno, ab_reader_error(r));
            rc = 1;
            break;
        }

        lineno++;
        st->lines++;

        if (got == AB_READ_TOO_LONG) {
            ab_state_bad(st, path, lineno, "line too long");
            continue;
        }

        if ((events ? ab_line_event(st, line, len, path, lineno)
                    : ab_line_log(st, line, len, path, lineno)) != 0)
        {
            rc = -1;
            break;
        }
    }

    ab_reader_close(r);

    return rc;
}


static int
render(int format, const ab_report_t *rep)
{
    int  rc;

    switch (format) {
    case FMT_JSON:
        rc = ab_render_json(stdout, rep);
        break;
    case FMT_CSV:
        rc = ab_render_csv(stdout, rep);
        break;
    default:
        rc = ab_render_text(stdout, rep);
        break;
    }

    return rc != 0 || fflush(stdout) != 0 || ferror(stdout) ? -1 : 0;
}


int
main(int argc, char **argv)
{
    opts_t       o;
    ab_state_t   st;
    ab_report_t  rep;
    int          i, status = 0, rc;
    const char  *stdin_only[] = { "-" };
    char *const *files;
    int          nfiles;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0
                     || strcmp(argv[1], "-h") == 0))
    {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--version") == 0
                     || strcmp(argv[1], "-V") == 0))
    {
        printf("abstat %s\n", ABSTAT_VERSION);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "report") != 0) {
        fprintf(stderr, "%s", usage_text);
        return EXIT_USAGE;
    }

    memset(&o, 0, sizeof(o));
    o.cfg.alpha = 0.05;
    parse_options(argc - 1, argv + 1, &o);

    o.cfg.only = o.only;
    o.cfg.nonly = o.nonly;
    o.cfg.conf = o.conf;
    o.cfg.nconf = o.nconf;
    o.cfg.weights = o.weights;
    o.cfg.nweights = o.nweights;

    if (ab_state_init(&st) != 0) {
        fprintf(stderr, "abstat: out of memory\n");
        return EXIT_INTERNAL;
    }
    st.only = o.only;
    st.nonly = o.nonly;
    st.quiet = o.quiet;

    files = argv + 1 + optind;
    nfiles = argc - 1 - optind;
    if (nfiles == 0) {
        files = (char *const *) stdin_only;
        nfiles = 1;
    }

    for (i = 0; i < nfiles + (int) o.nevents; i++) {
        rc = i < nfiles ? read_file(&st, files[i], 0)
                        : read_file(&st, o.events[i - nfiles], 1);
        if (rc < 0 || st.oom) {
            if (st.spool_failed) {
                fprintf(stderr, "abstat: cannot write the spool file in "
                        "$TMPDIR (or /tmp): %s\n", strerror(errno));
            } else {
                fprintf(stderr, "abstat: out of memory\n");
            }
            return EXIT_INTERNAL;
        }
        if (rc > 0) {
            status = EXIT_INPUT;
        }
    }

    if (st.bad_lines > 0 && !o.quiet) {
        fprintf(stderr, "abstat: %llu bad line(s) skipped\n",
                (unsigned long long) st.bad_lines);
    }

    if (ab_analyze(&st, &o.cfg, &rep) != 0) {
        fprintf(stderr, "abstat: out of memory or spool read failed\n");
        return EXIT_INTERNAL;
    }

    if (render(o.format, &rep) != 0) {
        fprintf(stderr, "abstat: cannot write the report\n");
        status = EXIT_INTERNAL;
    }

    ab_report_free(&rep);
    ab_state_free(&st);
    ab_expdef_free(o.conf, o.nconf);
    ab_expdef_free(o.weights, o.nweights);
    free(o.conf);
    free(o.weights);
    free(o.only);
    free(o.events);

    return status;
}
