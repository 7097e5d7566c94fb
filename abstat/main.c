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

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ab_core.h"
#include "confhist.h"
#include "audit.h"
#include "expdef.h"
#include "fold.h"
#include "guardrail.h"
#include "exitcode.h"
#include "readcheck.h"
#include "ingest.h"
#include "map.h"
#include "reduce.h"
#include "shard.h"
#include "line.h"
#include "names.h"
#include "nginx_conf.h"
#include "persist.h"
#include "prune.h"
#include "reader.h"
#include "retain.h"
#include "sanity.h"
#include "render.h"
#include "partial.h"
#include "report.h"
#include "roles.h"
#include "state.h"
#include "timefmt.h"

#define ABSTAT_VERSION  "0.1.0"

enum { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_PROM, FMT_HTML };

enum { FAIL_SRM = 1, FAIL_GUARDRAIL = 2, FAIL_DRIFT = 4 };

enum { OPT_CAP = 256, OPT_EVENTS, OPT_STATE, OPT_NO_WAIT, OPT_LATE,
       OPT_SINCE, OPT_UNTIL, OPT_FAIL_ON, OPT_BUCKET, OPT_TABLE,
       OPT_THREADS, OPT_RETAIN, OPT_MAX_BAD, OPT_WIDTH, OPT_PRIMARY,
       OPT_MDE, OPT_GUARD_MARGIN, OPT_MAX_SHARE, OPT_SEQ, OPT_NO_SEQ,
       OPT_SEQ_TUNING, OPT_CUPED, OPT_NO_CUPED, OPT_CUPED_LOOKBACK,
       OPT_CONFIG_HISTORY,
       OPT_BY, OPT_BY_TOP, OPT_SHARDS, OPT_TAG, OPT_ORDERS };

typedef struct {
    int             format;
    ab_input_t      in;         /* how the input is read */
    ab_config_t     cfg;        /* how it is analysed */
    const char    **events;
    size_t          nevents;
    ab_expdef_t    *conf;       /* --nginx-conf FILE; NULL: not given */
    size_t          nconf;
    ab_node_conf_t *node_conf;  /* --nginx-conf NODE=FILE */
    size_t          nnode_conf;
    ab_expdef_t    *weights;
    size_t          nweights;
    ab_confhist_t   history;    /* --config-history; n 0: none */
    const char     *state;      /* --state */
    int             no_wait;
    double          late;       /* --late, seconds */
    double          retain;     /* --retain, seconds */
    double          max_bad;    /* --max-bad, percent of lines */
    size_t          width;      /* --width: text columns, 0 no limit */
    const char     *since_arg, *until_arg;
    const char     *output;     /* --output */
    int             fail_on;    /* FAIL_* */
    int             trend_table;        /* --table trend */
    int             segments_table;     /* --table segments */
    char          **primary;    /* --primary */
    size_t          nprimary;
    int             sequential; /* -1 unless --sequential/--no-sequential */
    ab_by_t         by;         /* --by, --by-top */
    size_t          shards;     /* map: --shards */
    const char     *tag;        /* map: --tag */
    const char     *not_map;    /* an option given that map does not take */
    const char     *not_reduce; /* the same for reduce --orders */
    const char     *not_merge;  /* the first reading option: merge's input
                                   was read by reduce */
    int             by_top_given;
    const char     *not_visitor_round;  /* what reduce's visitor round
                                           cannot keep in a partial yet */
    int             orders;     /* reduce: --orders */
} opts_t;

/* Short on purpose: abstat(1) is the one option reference. */
static const char  usage_text[] =
    "Usage: abstat report [OPTIONS] [FILE...]\n"
    "       abstat state prune --state FILE --experiment NAME [OPTIONS]\n"
    "       abstat map|reduce|merge ... (abstat map --help, and so on)\n"
    "\n"
    "Reads A/B module access logs (JSON lines, plain or gzip; '-' or no\n"
    "FILE: stdin) and reports every experiment against its baseline.\n"
    "\n"
    "Output:      -f, --format text|json|csv|html|prom  -o, --output FILE\n"
    "             --width N  --bucket day|hour  --table metrics|trend|segments\n"
    "             -q, --quiet\n"
    "Selection:   -e, --experiment NAME  --since TIME  --until TIME\n"
    "             --events FILE\n"
    "Design:      -b, --baseline VAR  -w, --weights EXP=VAR:W,...\n"
    "             -c, --nginx-conf [NODE=]FILE  --config-history FILE\n"
    "Statistics:  -a, --alpha A  --primary METRIC[,...]  --mde PCT\n"
    "             --sequential  --no-sequential  --sequential-tuning N\n"
    "             --cuped  --no-cuped  --cuped-lookback DURATION\n"
    "             --cap-revenue PCT  --max-visitor-share PCT\n"
    "             --guardrail-margin PCT\n"
    "Segments:    --by device|visitor|field:NAME|day|hour  --by-top N\n"
    "Alerts:      --fail-on srm,guardrail,drift  --max-bad PCT\n"
    "Incremental: --state FILE  --no-wait  --late SECONDS  --retain DURATION\n"
    "Reading:     --threads N  -h, --help  -V, --version\n"
    "Fleet:       map --shards P --tag T, reduce --orders (shard FILEs)\n"
    "\n"
    "Every option, the metrics and the exit codes: man abstat\n"
    "(abstat/abstat.1 in the source). Exit status: 0 ok, 1 a file could\n"
    "not be read, 2 usage, 3 memory or output, 4 --state locked, 5 --state\n"
    "unusable, 6 bad input, 10/11/12 --fail-on srm/guardrail/both,\n"
    "13 --fail-on drift.\n";


static const char  usage_state_text[] =
    "Usage: abstat state prune --state FILE --experiment NAME [OPTIONS]\n"
    "\n"
    "Writes the final report of experiment NAME from the --state FILE (to\n"
    "stdout or --output, in --format; the report options apply), then\n"
    "removes NAME's records from FILE, atomically, under FILE's lock.\n"
    "\n"
    "Options: --state FILE, -e/--experiment NAME (once), --no-wait, -f,\n"
    "-o, -a, -w, -c, -b, --cap-revenue, --primary, --mde, --bucket,\n"
    "--table, --width, -q; see man abstat.\n";


static const char  usage_reduce_text[] =
    "Usage: abstat reduce --orders --output DIR [--tag T] SHARD...\n"
    "       abstat reduce --output PARTIAL [READING OPTIONS] SHARD...\n"
    "\n"
    "The visitor round: reads the visitor shard files of a group of\n"
    "shards and their resolved orders as report does, and writes the\n"
    "additive sums of their report to PARTIAL, for abstat merge; with\n"
    "--by (map's dimensions), a cell for every value.\n"
    "\n"
    "The order round (docs/fleet.md): reads the order shard files of\n"
    "abstat map (.o), all of one or more order shards, resolves every\n"
    "order id (the earliest purchase, duplicates counted, refunds\n"
    "summed) and writes P files of resolved orders (.r) into DIR, each\n"
    "order with the visitor shard of its visitor. abstat report reads\n"
    "them as it reads the order files they replace.\n";


static const char  usage_merge_text[] =
    "Usage: abstat merge [REPORT OPTIONS] PARTIAL...\n"
    "\n"
    "Adds up the partials of abstat reduce and prints the report: the\n"
    "bytes abstat report prints over the same files. The reading\n"
    "options (--by among them) belong to reduce; --by-top pools the\n"
    "segments here. See man abstat and docs/fleet.md.\n";


static const char  usage_map_text[] =
    "Usage: abstat map --shards P --output DIR [OPTIONS] [FILE...]\n"
    "\n"
    "Reads logs as report does and writes each sound line, in a compact\n"
    "binary form, to the shard of its visitor (purchases and refunds with\n"
    "an order id to the shard of the order): 2 x P files in DIR, named by\n"
    "--tag. 'abstat report' reads shard files as it reads logs, with the\n"
    "same report.\n"
    "\n"
    "Options: --shards P (1 to 4096), -o/--output DIR, --tag T, --state\n"
    "FILE, --no-wait, --events FILE, --by DIM, --threads N, --max-bad\n"
    "PCT, -q; see man abstat and docs/fleet.md.\n";


/* The command whose --help a usage error points to. */
static const char  *usage_cmd = "report";


static void
usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "abstat: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'abstat %s --help'.\n", usage_cmd);
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


/* --retain, --cuped-lookback (opt): seconds, or a number with s, m, h,
 * d or w. */
static double
parse_duration(const char *s, const char *opt)
{
    static const char    units[] = "smhdw";
    static const double  mult[] = { 1, 60, 3600, 86400, 7 * 86400 };
    char                *end;
    const char          *u;
    double               v;
    char                 msg[128];

    errno = 0;
    v = strtod(s, &end);
    snprintf(msg, sizeof(msg), "bad %s '%%s' (seconds, or a number with s, "
             "m, h, d or w)", opt);
    if (errno || end == s || !(v >= 0)) {
        usage_error(msg, s);
    }
    if (*end != '\0') {
        if (end[1] != '\0' || (u = strchr(units, *end)) == NULL) {
            usage_error(msg, s);
        }
        v *= mult[u - units];
    }
    if (v > 1e10) {
        snprintf(msg, sizeof(msg), "%s '%%s' is beyond 300 years", opt);
        usage_error(msg, s);
    }

    return v;
}


static int
parse_fail_on(const char *arg)
{
    const char  *p = arg, *comma;
    size_t       len;
    int          mask = 0;

    for ( ;; ) {
        comma = strchr(p, ',');
        len = comma ? (size_t) (comma - p) : strlen(p);
        if (len == 3 && memcmp(p, "srm", 3) == 0) {
            mask |= FAIL_SRM;
        } else if (len == 9 && memcmp(p, "guardrail", 9) == 0) {
            mask |= FAIL_GUARDRAIL;
        } else if (len == 5 && memcmp(p, "drift", 5) == 0) {
            mask |= FAIL_DRIFT;
        } else {
            usage_error("bad --fail-on '%s' (srm, guardrail, drift, or a "
                        "list of them)", arg);
        }
        if (comma == NULL) {
            return mask;
        }
        p = comma + 1;
    }
}


/* The option getopt_long() just refused, as the user typed it. */
static const char *
typed_option(char **argv)
{
    static char  shortopt[3];
    const char  *arg = argv[optind - 1];

    if (optopt == 0 || strncmp(arg, "--", 2) == 0) {
        return arg;
    }
    shortopt[0] = '-';
    shortopt[1] = (char) optopt;

    return shortopt;
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


/* getopt_long()'s: ':' first, so that a missing value is told apart */
#define OPTSTRING  ":f:e:a:w:c:b:o:qhV"

static const struct option  longopts[] = {
    { "format",      required_argument, NULL, 'f' },
    { "experiment",  required_argument, NULL, 'e' },
    { "alpha",       required_argument, NULL, 'a' },
    { "weights",     required_argument, NULL, 'w' },
    { "nginx-conf",  required_argument, NULL, 'c' },
    { "config-history", required_argument, NULL, OPT_CONFIG_HISTORY },
    { "baseline",    required_argument, NULL, 'b' },
    { "cap-revenue", required_argument, NULL, OPT_CAP },
    { "events",      required_argument, NULL, OPT_EVENTS },
    { "output",      required_argument, NULL, 'o' },
    { "fail-on",     required_argument, NULL, OPT_FAIL_ON },
    { "bucket",      required_argument, NULL, OPT_BUCKET },
    { "table",       required_argument, NULL, OPT_TABLE },
    { "state",       required_argument, NULL, OPT_STATE },
    { "no-wait",     no_argument,       NULL, OPT_NO_WAIT },
    { "late",        required_argument, NULL, OPT_LATE },
    { "since",       required_argument, NULL, OPT_SINCE },
    { "until",       required_argument, NULL, OPT_UNTIL },
    { "threads",     required_argument, NULL, OPT_THREADS },
    { "retain",      required_argument, NULL, OPT_RETAIN },
    { "max-bad",     required_argument, NULL, OPT_MAX_BAD },
    { "width",       required_argument, NULL, OPT_WIDTH },
    { "primary",     required_argument, NULL, OPT_PRIMARY },
    { "mde",         required_argument, NULL, OPT_MDE },
    { "guardrail-margin", required_argument, NULL, OPT_GUARD_MARGIN },
    { "max-visitor-share", required_argument, NULL, OPT_MAX_SHARE },
    { "sequential",  no_argument,       NULL, OPT_SEQ },
    { "no-sequential", no_argument,     NULL, OPT_NO_SEQ },
    { "sequential-tuning", required_argument, NULL, OPT_SEQ_TUNING },
    { "cuped",       no_argument,       NULL, OPT_CUPED },
    { "no-cuped",    no_argument,       NULL, OPT_NO_CUPED },
    { "cuped-lookback", required_argument, NULL, OPT_CUPED_LOOKBACK },
    { "by",          required_argument, NULL, OPT_BY },
    { "by-top",      required_argument, NULL, OPT_BY_TOP },
    { "shards",      required_argument, NULL, OPT_SHARDS },
    { "tag",         required_argument, NULL, OPT_TAG },
    { "orders",      no_argument,       NULL, OPT_ORDERS },
    { "quiet",       no_argument,       NULL, 'q' },
    { "help",        no_argument,       NULL, 'h' },
    { "version",     no_argument,       NULL, 'V' },
    { NULL, 0, NULL, 0 }
};


/* "--name" of option c, for messages. */
static const char *
long_name(int c)
{
    static char  buf[64];
    size_t       i;

    for (i = 0; longopts[i].name != NULL; i++) {
        if (longopts[i].val == c) {
            snprintf(buf, sizeof(buf), "--%s", longopts[i].name);
            return buf;
        }
    }

    return "?";
}


/* The options reduce takes. */
static int
reduce_option(int c)
{
    return c == 'o' || c == 'q' || c == 'h' || c == 'V' || c == OPT_TAG
           || c == OPT_ORDERS;
}


/* The options of reading, which merge takes from its partials. */
static int
reading_option(int c)
{
    switch (c) {
    case 'e': case OPT_SINCE: case OPT_UNTIL: case OPT_EVENTS: case OPT_STATE:
    case OPT_BY: case OPT_CUPED: case OPT_NO_CUPED:
    case OPT_CUPED_LOOKBACK: case OPT_RETAIN:
    case OPT_LATE: case OPT_NO_WAIT: case OPT_MAX_BAD:
        return 1;
    }

    return 0;
}


/* The options map takes (parse_options() reads both commands'). */
static int
map_option(int c)
{
    switch (c) {
    case 'o': case 'q': case 'h': case 'V':
    case OPT_SHARDS: case OPT_TAG: case OPT_STATE: case OPT_NO_WAIT:
    case OPT_EVENTS: case OPT_BY: case OPT_BY_TOP: case OPT_THREADS:
    case OPT_MAX_BAD:
        return 1;
    }

    return 0;
}


/*
 * Whether --help (or -h) is among the options, wherever it stands: it
 * wins before any option is judged (abstat report --since x --help).
 * Read with the same table as the options themselves, so that a value
 * ("-o -h") is a value; '-' first keeps argv in order, a word that is
 * no option coming as 1. *state: the command word is "state".
 */
static int
asks_help(int argc, char **argv, int *state)
{
    int  c, help = 0, words = 0;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "-" OPTSTRING, longopts, NULL)) != -1)
    {
        if (c == 1 && words++ == 0) {
            *state = strcmp(optarg, "state") == 0 ? 1
                     : strcmp(optarg, "map") == 0 ? 2
                     : strcmp(optarg, "reduce") == 0 ? 3
                     : strcmp(optarg, "merge") == 0 ? 4 : 0;
        }
        help |= c == 'h';
    }
    /* the real parse starts afresh */
    optind = 0;

    return help;
}


/* One file of --nginx-conf into *list: exits 2 when it cannot be read;
 * a file without the module's blocks is said, and kept as given. */
static void
nginx_conf_file(const char *path, ab_expdef_t **list, size_t *n)
{
    char  msg[512];

    if (ab_nginx_conf_read(path, list, n, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "abstat: --nginx-conf: %s\n", msg);
        exit(EXIT_USAGE);
    }
    if (*list == NULL) {
        /* perhaps the wrong file, or a missing include */
        fprintf(stderr, "abstat: warning: --nginx-conf %s: no "
                "ab_experiment block (includes followed)\n", path);
        if ((*list = calloc(1, sizeof(**list))) == NULL) {
            fprintf(stderr, "abstat: out of memory\n");
            exit(EXIT_INTERNAL);
        }
    }
}


/*
 * --nginx-conf FILE, the configuration of every node, or NODE=FILE, the
 * one node NODE serves (a node's $hostname, the log's `node`): NODE=
 * when the text before the first '=' is a name without '/', so that a
 * path such as ./a=b.conf stays a path.
 */
static void
nginx_conf_opt(opts_t *o, const char *arg)
{
    const char      *eq = strchr(arg, '=');
    ab_node_conf_t  *nc;
    size_t           len;

    if (eq == NULL || memchr(arg, '/', (size_t) (eq - arg)) != NULL) {
        if (o->conf != NULL) {
            usage_error("--nginx-conf FILE given twice (one for every "
                        "node, NODE=FILE for each other one)%s", "");
        }
        nginx_conf_file(arg, &o->conf, &o->nconf);
        return;
    }
    len = (size_t) (eq - arg);
    if (len == 0 || eq[1] == '\0') {
        usage_error("--nginx-conf '%s': NODE=FILE needs both", arg);
    }
    if (ab_node_conf_find(o->node_conf, o->nnode_conf, arg, len) >= 0) {
        usage_error("--nginx-conf '%s': that node's configuration "
                    "given twice", arg);
    }
    nc = realloc(o->node_conf, (o->nnode_conf + 1) * sizeof(*nc));
    if (nc == NULL || (nc[o->nnode_conf].node = strndup(arg, len)) == NULL) {
        fprintf(stderr, "abstat: out of memory\n");
        exit(EXIT_INTERNAL);
    }
    o->node_conf = nc;
    nc = &nc[o->nnode_conf++];
    nc->conf = NULL;
    nc->nconf = 0;
    nginx_conf_file(eq + 1, &nc->conf, &nc->nconf);
}


static void
parse_options(int argc, char **argv, opts_t *o)
{
    const char  *err;
    char         msg[512];
    double       d;
    int          c;

    /* getopt's own messages would name argv[0], the command word */
    opterr = 0;

    while ((c = getopt_long(argc, argv, OPTSTRING, longopts, NULL)) != -1)
    {
        if (!map_option(c) && c != ':' && c != '?' && o->not_map == NULL) {
            o->not_map = long_name(c);
        }
        if (!reduce_option(c) && c != ':' && c != '?'
            && o->not_reduce == NULL)
        {
            o->not_reduce = long_name(c);
        }
        if (reading_option(c) && o->not_merge == NULL) {
            o->not_merge = long_name(c);
        }
        if (c == OPT_STATE && o->not_visitor_round == NULL) {
            o->not_visitor_round = long_name(c);
        }
        switch (c) {
        case OPT_SHARDS:
            d = parse_double(optarg, "bad --shards '%s'");
            if (!(d >= 1 && d <= AB_SHARD_MAX && d == (double) (size_t) d)) {
                usage_error("--shards must be a whole number 1 to 4096, not "
                            "'%s'", optarg);
            }
            o->shards = (size_t) d;
            break;
        case OPT_ORDERS:
            o->orders = 1;
            break;
        case OPT_TAG:
            if (!ab_map_valid_tag(optarg)) {
                usage_error("bad --tag '%s' (1 to 200 of A-Z a-z 0-9 _ - "
                            "+, not first '-')", optarg);
            }
            o->tag = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0) {
                o->format = FMT_TEXT;
            } else if (strcmp(optarg, "json") == 0) {
                o->format = FMT_JSON;
            } else if (strcmp(optarg, "csv") == 0) {
                o->format = FMT_CSV;
            } else if (strcmp(optarg, "prom") == 0) {
                o->format = FMT_PROM;
            } else if (strcmp(optarg, "html") == 0) {
                o->format = FMT_HTML;
            } else {
                usage_error("unknown format '%s' (text, json, csv, html or "
                            "prom)", optarg);
            }
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_BUCKET:
            if (strcmp(optarg, "day") == 0) {
                o->cfg.bucket = AB_BUCKET_DAY;
            } else if (strcmp(optarg, "hour") == 0) {
                o->cfg.bucket = AB_BUCKET_HOUR;
            } else {
                usage_error("unknown --bucket '%s' (day or hour)", optarg);
            }
            break;
        case OPT_TABLE:
            if (strcmp(optarg, "trend") == 0) {
                o->trend_table = 1;
            } else if (strcmp(optarg, "segments") == 0) {
                o->segments_table = 1;
            } else if (strcmp(optarg, "metrics") != 0) {
                usage_error("unknown --table '%s' (metrics, trend or "
                            "segments)", optarg);
            }
            break;
        case OPT_FAIL_ON:
            o->fail_on = parse_fail_on(optarg);
            break;
        case 'e':
            if (!ab_valid_experiment_name(optarg, strlen(optarg))) {
                usage_error("bad experiment name '%s'", optarg);
            }
            o->in.only = push(o->in.only, &o->in.nonly, optarg);
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
            nginx_conf_opt(o, optarg);
            break;
        case OPT_CONFIG_HISTORY:
            if (o->history.n > 0) {
                usage_error("--config-history given twice%s", "");
            }
            if (ab_confhist_read(optarg, &o->history, msg, sizeof(msg)) != 0)
            {
                fprintf(stderr, "abstat: --config-history: %s\n", msg);
                exit(EXIT_USAGE);
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
        case OPT_GUARD_MARGIN:
            o->cfg.guardrail_margin = parse_double(optarg,
                                          "bad --guardrail-margin '%s'") / 100;
            if (!(o->cfg.guardrail_margin >= 0
                  && o->cfg.guardrail_margin <= 10))
            {
                usage_error("--guardrail-margin must be 0 to 1000 (percent), "
                            "not '%s'", optarg);
            }
            break;
        case OPT_MAX_SHARE:
            o->cfg.max_visitor_share = parse_double(optarg,
                                           "bad --max-visitor-share '%s'") / 100;
            if (!(o->cfg.max_visitor_share > 0
                  && o->cfg.max_visitor_share <= 1))
            {
                usage_error("--max-visitor-share must be in (0, 100], "
                            "not '%s'", optarg);
            }
            break;
        case OPT_EVENTS:
            o->events = push(o->events, &o->nevents, optarg);
            break;
        case OPT_PRIMARY:
            if ((err = ab_primary_add(&o->primary, &o->nprimary, optarg))) {
                snprintf(msg, sizeof(msg), "--primary '%%s': %s", err);
                usage_error(msg, optarg);
            }
            break;
        case OPT_MDE:
            o->cfg.mde = parse_double(optarg, "bad --mde '%s'") / 100;
            if (!(o->cfg.mde > 0 && o->cfg.mde <= 10)) {
                usage_error("--mde must be a percent in (0, 1000], not '%s'",
                            optarg);
            }
            break;
        case OPT_STATE:
            o->state = optarg;
            break;
        case OPT_NO_WAIT:
            o->no_wait = 1;
            break;
        case OPT_LATE:
            o->late = parse_double(optarg, "bad --late '%s'");
            if (!(o->late >= 0 && o->late <= 1e7)) {
                usage_error("--late must be 0 to 10000000 seconds, not '%s'",
                            optarg);
            }
            break;
        case OPT_RETAIN:
            o->retain = parse_duration(optarg, "--retain");
            break;
        case OPT_CUPED:
            o->cfg.cuped = 1;
            break;
        case OPT_NO_CUPED:
            o->cfg.cuped = 0;
            break;
        case OPT_CUPED_LOOKBACK:
            o->cfg.cuped_lookback =
                (int64_t) (parse_duration(optarg, "--cuped-lookback") * 1e6);
            break;
        case OPT_WIDTH:
            d = parse_double(optarg, "bad --width '%s' (columns, 0 for no "
                             "limit)");
            if (!(d == 0 || (d >= 20 && d <= 10000)) || d != (size_t) d) {
                usage_error("--width must be 0 or 20 to 10000 columns, not "
                            "'%s'", optarg);
            }
            o->width = (size_t) d;
            break;
        case OPT_MAX_BAD:
            o->max_bad = parse_double(optarg, "bad --max-bad '%s' (a percent "
                                      "of lines, 0 to 100)");
            if (!(o->max_bad >= 0 && o->max_bad <= 100)) {
                usage_error("--max-bad must be 0 to 100, not '%s'", optarg);
            }
            break;
        case OPT_SEQ:
        case OPT_NO_SEQ:
            o->sequential = c == OPT_SEQ;
            break;
        case OPT_SEQ_TUNING:
            o->cfg.seq_tuning = parse_double(optarg,
                                             "bad --sequential-tuning '%s'");
            if (!(o->cfg.seq_tuning >= 1 && o->cfg.seq_tuning <= 1e12)) {
                usage_error("--sequential-tuning must be 1 to 1e12 visitors, "
                            "not '%s'", optarg);
            }
            break;
        case OPT_SINCE:
            if (ab_time_parse(optarg, &o->in.since) != 0) {
                usage_error("bad --since '%s' (ISO 8601 or epoch seconds)",
                            optarg);
            }
            o->since_arg = optarg;
            break;
        case OPT_UNTIL:
            if (ab_time_parse(optarg, &o->in.until) != 0) {
                usage_error("bad --until '%s' (ISO 8601 or epoch seconds)",
                            optarg);
            }
            o->until_arg = optarg;
            break;
        case OPT_THREADS:
            if (optarg[0] >= '0' && optarg[0] <= '8' && optarg[1] == '\0') {
                o->in.threads = optarg[0] - '0';
            } else {
                usage_error("bad --threads '%s' (0 to 8)", optarg);
            }
            break;
        case OPT_BY:
            if ((err = ab_by_add(&o->by, optarg)) != NULL) {
                snprintf(msg, sizeof(msg), "--by '%%s': %s", err);
                usage_error(msg, optarg);
            }
            break;
        case OPT_BY_TOP:
            d = parse_double(optarg, "bad --by-top '%s'");
            if (!(d >= 1 && d <= AB_BY_TOP_MAX && d == (double) (size_t) d)) {
                usage_error("--by-top must be a whole number 1 to 1000, not "
                            "'%s'", optarg);
            }
            o->by.top = (size_t) d;
            o->by_top_given = 1;
            break;
        case 'q':
            o->in.quiet = 1;
            break;
        case 'V':
            printf("abstat %s\n", ABSTAT_VERSION);
            exit(0);
        case ':':
            usage_error("option '%s' needs a value", typed_option(argv));
            break;
        default:
            usage_error("unknown option '%s'", typed_option(argv));
        }
    }
}


/* 0, or the errno of the failed write */
static int
render_to(FILE *out, const opts_t *o, const ab_report_t *rep)
{
    int  rc;

    errno = 0;

    switch (o->format) {
    case FMT_JSON:
        rc = ab_render_json(out, rep);
        break;
    case FMT_CSV:
        rc = o->trend_table ? ab_render_csv_trend(out, rep)
             : o->segments_table ? ab_render_csv_segments(out, rep)
             : ab_render_csv(out, rep);
        break;
    case FMT_PROM:
        rc = ab_render_prom(out, rep);
        break;
    case FMT_HTML:
        rc = ab_render_html(out, rep);
        break;
    default:
        rc = ab_render_text(out, rep, o->width);
        break;
    }

    if (rc != 0 || fflush(out) != 0 || ferror(out)) {
        /* the renderers stop at the first failed write, so errno still
         * says why (ENOSPC, EPIPE, EIO...) */
        return errno != 0 ? errno : EIO;
    }

    return 0;
}


/* The report on stdout, or in --output FILE: written to a temporary file
 * in the same directory and renamed over FILE, so that a reader (the
 * textfile collector, a web server) never sees half a report. Says what
 * failed and why on stderr; 0 or -1. */
static int
render(const opts_t *o, const ab_report_t *rep)
{
    size_t   len;
    char    *tmp;
    int      fd, err;
    FILE    *f;

    if (o->output == NULL) {
        if ((err = render_to(stdout, o, rep)) != 0) {
            fprintf(stderr, "abstat: cannot write the report to standard "
                    "output: %s\n", strerror(err));
            return -1;
        }
        return 0;
    }

    len = strlen(o->output);
    if ((tmp = malloc(len + 16)) == NULL) {
        fprintf(stderr, "abstat: out of memory\n");
        return -1;
    }
    memcpy(tmp, o->output, len);
    memcpy(tmp + len, ".tmp.XXXXXX", 12);

    if ((fd = mkstemp(tmp)) < 0) {
        fprintf(stderr, "abstat: %s: cannot create a temporary file beside "
                "it: %s\n", o->output, strerror(errno));
        free(tmp);
        return -1;
    }
    /* mkstemp makes it private; a report is for others to read. */
    (void) fchmod(fd, 0644);

    if ((f = fdopen(fd, "w")) == NULL) {
        err = errno;
        close(fd);
    } else {
        err = render_to(f, o, rep);
        if (err == 0 && fsync(fileno(f)) != 0) {
            err = errno;
        }
        if (fclose(f) != 0 && err == 0) {
            err = errno;
        }
    }

    if (err == 0 && rename(tmp, o->output) != 0) {
        err = errno;
    }
    if (err != 0) {
        fprintf(stderr, "abstat: cannot write the report to %s: %s\n",
                o->output, strerror(err));
        unlink(tmp);
    }
    free(tmp);

    return err != 0 ? -1 : 0;
}


/* --fail-on: what fired, said on stderr (cron mails it, the journal
 * keeps it), as an exit code, or 0. A guardrail regresses as
 * guardrail.h says. */
static int
alerts(int fail_on, const ab_report_t *rep)
{
    size_t    i, j;
    int       srm = 0, guard = 0;
    uint64_t  drift;

    for (i = 0; i < rep->nexps; i++) {
        const ab_rexp_t  *x = &rep->exps[i];

        if (x->srm_alert && (fail_on & FAIL_SRM)) {
            srm = 1;
            fprintf(stderr, "abstat: SRM alert: %s: visitors do not split "
                    "as expected (p = %.3g)\n", x->name, x->srm_p);
        }
        for (j = 0; j < x->nmetrics; j++) {
            const ab_rmetric_t  *m = &x->metrics[j];

            if ((fail_on & FAIL_GUARDRAIL)
                && ab_metric_regressed(m, rep->alpha))
            {
                guard = 1;
                fprintf(stderr, "abstat: guardrail regressed: %s: %s of %s "
                        "is %.4g against %.4g (%s p = %.3g)\n",
                        x->name, m->metric, x->variants[m->variant].name,
                        m->e.value, m->e.baseline_value,
                        rep->sequential ? "always-valid" : "one-sided",
                        ab_verdict_p(m));
            }
        }
    }

    if ((fail_on & FAIL_DRIFT) && (drift = ab_audit_mismatches(rep)) > 0) {
        /* a node that assigns otherwise than its configuration makes
         * every other figure suspect: this code wins */
        fprintf(stderr, "abstat: assignment drift: %llu logged "
                "exposure(s) differ from what --nginx-conf assigns\n",
                (unsigned long long) drift);
        return EXIT_DRIFT;
    }

    return srm && guard ? EXIT_BOTH : srm ? EXIT_SRM
           : guard ? EXIT_GUARDRAIL : 0;
}


/* The lock of --state, held to the end of the run, and the temporary
 * files of killed runs removed. 0 or an exit code. */
static int
state_lock(const opts_t *o)
{
    if (ab_state_lock(o->state, o->no_wait) < 0) {
        if (errno == EWOULDBLOCK) {
            fprintf(stderr, "abstat: %s is in use by another abstat run "
                    "(--no-wait: not waiting)\n", o->state);
            return EXIT_LOCKED;
        }
        fprintf(stderr, "abstat: %s.lock: %s\n", o->state, strerror(errno));
        return EXIT_STATE;
    }

    ab_state_clean(o->state);

    return 0;
}


/* --state: the lock, then the saved state, which must have been made
 * with the same options that decide what is read (--experiment, --since,
 * --until). Returns 0 or an exit code. */
/*
 * CUPED with --state reads the history the state keeps: a new state
 * keeps --cuped-lookback of it (none with --no-cuped); an older one
 * keeps what it was made with, and a run that asks for other history
 * goes without CUPED rather than report a covariate it cannot have.
 */
static void
state_cuped(opts_t *o, ab_state_t *st, int fresh)
{
    if (fresh) {
        st->hist_lookback = o->cfg.cuped ? o->cfg.cuped_lookback : 0;
        return;
    }
    if (o->cfg.cuped && st->hist_lookback != o->cfg.cuped_lookback) {
        if (!o->in.quiet) {
            fprintf(stderr, "abstat: %s keeps %g s of history before entry, "
                    "not the %g s of --cuped-lookback: no CUPED in this "
                    "report (give --cuped-lookback %g, or start a new "
                    "state)\n", o->state, (double) st->hist_lookback / 1e6,
                    (double) o->cfg.cuped_lookback / 1e6,
                    (double) st->hist_lookback / 1e6);
        }
        o->cfg.cuped = 0;
    }
}


/* The --by set of st: this run's for a new state; a state made with
 * another set cannot be continued (its visitors' values of the other
 * dimensions were never taken). 0, EXIT_STATE or EXIT_INTERNAL. */
static int
state_by(const opts_t *o, ab_state_t *st, int fresh)
{
    char  spec[AB_SEG_SPEC_MAX];

    if (fresh) {
        if (ab_state_by(st, o->in.by) != 0) {
            fprintf(stderr, "abstat: out of memory\n");
            return EXIT_INTERNAL;
        }
        return 0;
    }

    ab_by_spec(o->in.by, spec, sizeof(spec));
    if (strcmp(spec, st->seg_spec) != 0) {
        fprintf(stderr, "abstat: %s was made with --by '%s', this run asks "
                "for --by '%s'; give the same --by options in the same order "
                "or use another state file\n", o->state,
                st->seg_spec[0] ? st->seg_spec : "(none)",
                spec[0] ? spec : "(none)");
        return EXIT_STATE;
    }

    return 0;
}


static int
state_open(opts_t *o, ab_state_t *st, ab_incr_t *inc)
{
    char    err[1024];
    size_t  i, j;
    int     same, rc;

    if ((rc = state_lock(o)) != 0) {
        return rc;
    }

    if (ab_state_load(o->state, st, inc, err, sizeof(err)) != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_STATE;
    }

    state_cuped(o, st, inc->run == 0);
    if ((rc = state_by(o, st, inc->run == 0)) != 0) {
        return rc;
    }

    if (inc->run == 0) {
        inc->since = o->in.since;
        inc->until = o->in.until;
        inc->only = calloc(o->in.nonly + 1, sizeof(char *));
        for (i = 0; inc->only && i < o->in.nonly; i++) {
            if ((inc->only[inc->nonly++] = strdup(o->in.only[i])) == NULL) {
                break;
            }
        }
        if (inc->only == NULL || inc->nonly < o->in.nonly) {
            fprintf(stderr, "abstat: out of memory\n");
            return EXIT_INTERNAL;
        }
    } else {
        same = inc->since == o->in.since && inc->until == o->in.until
               && inc->nonly == o->in.nonly;
        for (i = 0; same && i < o->in.nonly; i++) {
            for (j = 0; j < inc->nonly; j++) {
                if (strcmp(o->in.only[i], inc->only[j]) == 0) {
                    break;
                }
            }
            same = j < inc->nonly;
        }
        if (!same) {
            fprintf(stderr, "abstat: %s was made with other --experiment, "
                    "--since or --until options; give the same ones or use "
                    "another state file\n", o->state);
            return EXIT_STATE;
        }
    }

    inc->run++;

    return 0;
}


/* --state: folds what is old enough and writes the state. */
static int
state_close(const opts_t *o, ab_state_t *st, ab_incr_t *inc,
    uint64_t late_before)
{
    char     err[1024];
    int64_t  late_us = (int64_t) (o->late * 1e6);

    if (st->late_exposures > late_before && !o->in.quiet) {
        fprintf(stderr, "abstat: %s: %llu exposure(s) older than what an "
                "earlier run already folded (more than --late %g s out of "
                "order); the report may differ from a full run\n", o->state,
                (unsigned long long) (st->late_exposures - late_before),
                o->late);
    }

    if (ab_fold(st, st->max_time - late_us) != 0
        || ab_forget(st, st->fold_wm - (int64_t) (o->retain * 1e6)) < 0)
    {
        fprintf(stderr, "abstat: out of memory or spool failure\n");
        return EXIT_INTERNAL;
    }

    /* the hourly run that finds nothing new leaves the file as it is:
     * rewriting and syncing it would be most of that run's time */
    if (ab_state_unchanged(st, inc)) {
        return 0;
    }
    if (ab_state_save(o->state, st, inc, err, sizeof(err)) != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_STATE;
    }

    return 0;
}


/* When the report is made, us: $SOURCE_DATE_EPOCH when set (a report
 * that can be made again byte for byte, as for reproducible builds),
 * else now, to the second. */
static int64_t
generated_at(void)
{
    const char  *sde = getenv("SOURCE_DATE_EPOCH");
    char        *end;
    long long    s;

    if (sde != NULL && *sde != '\0') {
        errno = 0;
        s = strtoll(sde, &end, 10);
        if (errno == 0 && *end == '\0' && s >= 0 && s < 253402300800LL) {
            return (int64_t) s * 1000000;
        }
        fprintf(stderr, "abstat: warning: SOURCE_DATE_EPOCH '%s' is not "
                "epoch seconds; using the clock\n", sde);
    }

    return (int64_t) time(NULL) * 1000000;
}


/* The analysis of st, written as o says; the caller frees rep. 0, or
 * EXIT_INTERNAL said on stderr. */
static int
report(const opts_t *o, ab_state_t *st, ab_report_t *rep)
{
    int  any;

    if (ab_analyze(st, &o->cfg, rep) != 0) {
        fprintf(stderr, "abstat: out of memory or spool read failed\n");
        return EXIT_INTERNAL;
    }

    any = st->has_min_time || st->max_time > 0;
    rep->first_time = st->has_min_time ? st->min_time : AB_TIME_UNKNOWN;
    rep->last_time = any ? st->max_time : AB_TIME_UNKNOWN;
    rep->generated = generated_at();

    return render(o, rep) != 0 ? EXIT_INTERNAL : 0;
}


static void
opts_free(opts_t *o)
{
    size_t  i;

    for (i = 0; i < o->nnode_conf; i++) {
        ab_expdef_free(o->node_conf[i].conf, o->node_conf[i].nconf);
        free(o->node_conf[i].conf);
        free((char *) o->node_conf[i].node);
    }
    free(o->node_conf);
    ab_expdef_free(o->conf, o->nconf);
    ab_expdef_free(o->weights, o->nweights);
    ab_confhist_free(&o->history);
    free(o->conf);
    free(o->weights);
    free(o->in.only);
    free(o->events);
    while (o->nprimary > 0) {
        free(o->primary[--o->nprimary]);
    }
    free(o->primary);
}


/* The HTML page's charts are over time: day buckets unless --bucket
 * says otherwise (report, merge and state prune alike). */
static void
html_buckets(opts_t *o)
{
    if (o->format == FMT_HTML && o->cfg.bucket == AB_BUCKET_NONE) {
        o->cfg.bucket = AB_BUCKET_DAY;
    }
}


/* The options of the analysis, once the command line is read. */
static void
cfg_from_opts(opts_t *o)
{
    const char  *why;
    char         msg[512];
    size_t       i;

    for (i = 0; i < o->nprimary; i++) {
        if ((why = ab_primary_check(o->primary[i], o->cfg.cap_pct > 0))) {
            snprintf(msg, sizeof(msg), "--primary '%%s': %s", why);
            usage_error(msg, o->primary[i]);
        }
    }
    o->cfg.primary = (const char *const *) o->primary;
    o->cfg.nprimary = o->nprimary;
    o->cfg.input = &o->in;
    /* experiments are reported side by side by the main thread and
     * as many more */
    o->cfg.threads = o->in.threads + 1;
    o->cfg.conf = o->conf;
    o->cfg.nconf = o->nconf;
    /* the audit reads every line against them */
    o->in.conf = o->conf;
    o->in.nconf = o->nconf;
    o->in.node_conf = o->node_conf;
    o->in.nnode_conf = o->nnode_conf;
    o->in.audited = o->conf != NULL || o->nnode_conf > 0;
    if ((o->fail_on & FAIL_DRIFT) && !o->in.audited) {
        usage_error("--fail-on drift needs --nginx-conf: the audit is "
                    "against its assignment%s", "");
    }
    o->cfg.weights = o->weights;
    o->cfg.nweights = o->nweights;
    o->cfg.history = o->history.n > 0 ? &o->history : NULL;
    /* an incremental run is a repeated look by design */
    o->cfg.sequential = o->sequential >= 0 ? o->sequential : o->state != NULL;
    if (o->by.n > 0) {
        ab_line_by(&o->by);
        o->in.by = &o->by;
        o->cfg.by = &o->by;
    }
}


static void
opts_default(opts_t *o)
{
    long  ncpu;

    memset(o, 0, sizeof(*o));
    ab_input_default(&o->in);
    o->cfg.alpha = 0.05;
    o->cfg.max_visitor_share = AB_MAX_VISITOR_SHARE;
    o->cfg.seq_tuning = AB_SEQ_TUNING_DEFAULT;
    o->sequential = -1;
    o->cfg.cuped = 1;
    o->cfg.cuped_lookback = (int64_t) 14 * 86400 * 1000000;
    o->late = 3600;
    o->retain = AB_RETAIN_DEFAULT;
    o->max_bad = 1;
    o->width = 80;
    o->by.top = AB_BY_TOP_DEFAULT;
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* the main thread parses too while it waits for the workers: one
     * worker fewer than CPUs keeps every CPU busy without a third thread
     * taking turns with the main one on two CPUs */
    o->in.threads = ncpu <= 2 ? 1 : ncpu > 5 ? 4 : (int) ncpu - 1;
}


static void
state_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "abstat: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\n%s", usage_state_text);
    exit(EXIT_USAGE);
}


/* Loads --state under its lock (taken by the caller). 0 or an exit code. */
static int
prune_load(opts_t *o, ab_state_t *st, ab_incr_t *inc)
{
    char  err[1024];

    memset(inc, 0, sizeof(*inc));
    ab_state_init(st);
    if (ab_state_load(o->state, st, inc, err, sizeof(err)) != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_STATE;
    }
    if (inc->run == 0) {
        fprintf(stderr, "abstat: %s: no such state file\n", o->state);
        return EXIT_STATE;
    }
    if (state_by(o, st, 0) != 0) {
        return EXIT_STATE;
    }
    if (o->cfg.cuped) {
        o->cfg.cuped = st->hist_lookback > 0;
        o->cfg.cuped_lookback = st->hist_lookback;
    }

    return 0;
}


/*
 * abstat state prune: the experiment's report from the state as it is,
 * then the state without it. The lock is held from before the report to
 * after the rename, so no run adds lines in between; the report is
 * computed on a loaded copy (the analysis consumes the folded totals),
 * the state pruned from a second load.
 */
static int
state_main(int argc, char **argv)
{
    opts_t       o;
    ab_state_t   st;
    ab_incr_t    inc;
    ab_report_t  rep;
    char         err[1024];
    size_t       i, j;
    long         removed;
    int          rc, exp;

    if (argc < 2 || strcmp(argv[1], "prune") != 0) {
        state_usage("unknown state command '%s' (prune)",
                    argc < 2 ? "" : argv[1]);
    }
    opts_default(&o);
    parse_options(argc - 1, argv + 1, &o);
    if (optind < argc - 1) {
        state_usage("state prune reads no log files ('%s')",
                    argv[1 + optind]);
    }
    if (o.state == NULL) {
        state_usage("state prune needs --state FILE%s", "");
    }
    if (o.in.nonly != 1) {
        state_usage("state prune needs one --experiment NAME%s", "");
    }
    if (o.trend_table && (o.format != FMT_CSV || !o.cfg.bucket)) {
        state_usage("--table trend needs --format csv and --bucket%s", "");
    }
    html_buckets(&o);
    cfg_from_opts(&o);

    if ((rc = state_lock(&o)) != 0) {
        opts_free(&o);
        return rc;
    }

    if ((rc = prune_load(&o, &st, &inc)) != 0) {
        goto done;
    }
    if (ab_names_check_baseline(&st, &o.cfg) != 0) {
        rc = EXIT_USAGE;
        goto done;
    }
    exp = ab_intern_find(&st.exps, o.in.only[0], strlen(o.in.only[0]));
    if (exp < 0) {
        fprintf(stderr, "abstat: %s has no experiment '%s'\n", o.state,
                o.in.only[0]);
        rc = EXIT_USAGE;
        goto done;
    }

    /* the report of the state as if it held NAME alone: the others
     * leave this copy, so that only NAME is reported */
    for (i = st.exps.n; i-- > 0; ) {
        if ((int) i != exp && ab_state_prune(&st, (int) i) < 0) {
            fprintf(stderr, "abstat: out of memory\n");
            rc = EXIT_INTERNAL;
            goto done;
        }
    }
    rc = report(&o, &st, &rep);
    ab_report_free(&rep);
    if (rc != 0) {
        /* no report written, nothing removed */
        goto done;
    }

    ab_state_free(&st);
    ab_incr_free(&inc);
    if ((rc = prune_load(&o, &st, &inc)) != 0) {
        goto done;
    }
    if ((removed = ab_state_prune(&st, exp)) < 0) {
        fprintf(stderr, "abstat: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    ab_audit_forget(st.audit, o.in.only[0]);
    /* a state made with --experiment NAME ... no longer holds NAME */
    for (i = 0, j = 0; i < inc.nonly; i++) {
        if (strcmp(inc.only[i], o.in.only[0]) == 0) {
            free(inc.only[i]);
        } else {
            inc.only[j++] = inc.only[i];
        }
    }
    inc.nonly = j;

    if (ab_state_save(o.state, &st, &inc, err, sizeof(err)) != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        rc = EXIT_STATE;
        goto done;
    }
    if (!o.in.quiet) {
        fprintf(stderr, "abstat: %s: experiment %s pruned (%ld "
                "membership(s))\n", o.state, o.in.only[0], removed);
    }

done:
    ab_state_free(&st);
    ab_incr_free(&inc);
    opts_free(&o);

    return rc;
}


/* abstat map: options as report's (those map takes), then map.c. */
static int
map_main(int argc, char **argv)
{
    opts_t         o;
    ab_map_args_t  a;
    int            rc, i;

    usage_cmd = "map";
    opts_default(&o);
    parse_options(argc, argv, &o);
    if (o.not_map != NULL) {
        fprintf(stderr, "abstat: map does not take %s (the report that "
                "reads the shards does)\n\n%s", o.not_map, usage_map_text);
        exit(EXIT_USAGE);
    }
    if (o.shards == 0 || o.output == NULL) {
        fprintf(stderr, "abstat: map needs --shards P and --output DIR\n\n%s",
                usage_map_text);
        exit(EXIT_USAGE);
    }
    cfg_from_opts(&o);

    memset(&a, 0, sizeof(a));
    a.in = o.in;
    a.files = argv + optind;
    a.nfiles = (size_t) (argc - optind);
    /* a task may map a back-office file alone: stdin only when there
     * is nothing else to read */
    if (a.nfiles == 0 && o.nevents == 0) {
        static char  *stdin_only[] = { "-", NULL };

        a.files = stdin_only;
        a.nfiles = 1;
    }
    for (i = 0; o.state != NULL && i < (int) (a.nfiles + o.nevents); i++) {
        if (strcmp(i < (int) a.nfiles ? a.files[i]
                   : o.events[i - (int) a.nfiles], "-") == 0)
        {
            usage_error("--state cannot follow stdin: give the log files%s",
                        "");
        }
    }
    a.events = o.events;
    a.nevents = o.nevents;
    a.output = o.output;
    a.state = o.state;
    a.tag = o.tag;
    a.shards = o.shards;
    a.no_wait = o.no_wait;
    a.max_bad = o.max_bad;

    rc = ab_map_run(&a);
    opts_free(&o);

    return rc;
}


static int check_names(const opts_t *o, const ab_state_t *st,
    char *const *files, int nfiles);


/* abstat reduce without --orders, the visitor round: the pass over the
 * shards read, written as a partial (partial.h) to --output. */
static int
write_partial(const opts_t *o, ab_state_t *st)
{
    ab_report_t  rep;
    ab_pass_t    p;
    char         err[1024];
    int          rc;

    /* the lookback the pass made the history with, for merge */
    st->hist_lookback = o->cfg.cuped ? o->cfg.cuped_lookback : 0;
    ab_report_init(&rep, st, &o->cfg);
    if (ab_pass_make(st, &o->cfg, &p, &rep) != 0) {
        ab_pass_free(&p);
        fprintf(stderr, "abstat: out of memory or spool read failed\n");
        return EXIT_INTERNAL;
    }
    rc = ab_partial_save(o->output, st, &p, &rep, err, sizeof(err));
    ab_pass_free(&p);
    if (rc != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_INTERNAL;
    }

    return 0;
}


/* abstat merge: the partials added up, then the report of them. */
static int
merge_main(int argc, char **argv)
{
    opts_t        o;
    ab_state_t    st;
    ab_report_t   rep;
    ab_pass_t     p;
    ab_merged_t  *m = NULL;
    char          err[1024];
    int64_t       lookback;
    int           status = 0, rc, n;
    char *const  *files;

    usage_cmd = "merge";
    opts_default(&o);
    parse_options(argc, argv, &o);
    files = argv + optind;
    n = argc - optind;
    if (n <= 0) {
        usage_error("merge needs partial files (abstat reduce --output)%s",
                    "");
    }
    if (o.shards > 0 || o.tag != NULL || o.orders) {
        usage_error("--shards, --tag and --orders are options of abstat map "
                    "and reduce%s", "");
    }
    if (o.not_merge != NULL) {
        usage_error("merge reads what reduce read: give %s to abstat "
                    "reduce", o.not_merge);
    }
    if (o.trend_table && (o.format != FMT_CSV || !o.cfg.bucket)) {
        usage_error("--table trend needs --format csv and --bucket%s", "");
    }
    html_buckets(&o);
    /* what the partials were reduced with: their CUPED and --by */
    if (ab_partial_head(files[0], &lookback, &o.by, err, sizeof(err)) != 0) {
        fprintf(stderr, "abstat: %s\n", err);
        opts_free(&o);
        return EXIT_INPUT;
    }
    if (o.segments_table && (o.format != FMT_CSV || o.by.n == 0)) {
        usage_error("--table segments needs --format csv and partials "
                    "reduced with --by%s", "");
    }
    o.cfg.cuped = lookback > 0;
    o.cfg.cuped_lookback = lookback;
    cfg_from_opts(&o);

    memset(&p, 0, sizeof(p));
    if (ab_state_init(&st) != 0 || ab_state_by(&st, o.cfg.by) != 0) {
        fprintf(stderr, "abstat: out of memory\n");
        return EXIT_INTERNAL;
    }
    ab_report_init(&rep, &st, &o.cfg);
    m = ab_partial_merge(files, (size_t) n, &st, &o.cfg, &p, &rep, err,
                         sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "abstat: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }
    if ((rc = check_names(&o, &st, files, n)) != 0) {
        status = rc;
        goto done;
    }
    if (ab_report_pass(&p, &rep) != 0) {
        fprintf(stderr, "abstat: out of memory\n");
        status = EXIT_INTERNAL;
        goto done;
    }
    rep.first_time = st.has_min_time ? st.min_time : AB_TIME_UNKNOWN;
    rep.last_time = st.has_min_time || st.max_time > 0 ? st.max_time
                                                       : AB_TIME_UNKNOWN;
    rep.generated = generated_at();
    if (render(&o, &rep) != 0) {
        status = EXIT_INTERNAL;
    } else if ((rc = alerts(o.fail_on, &rep)) != 0) {
        status = rc;
    }

done:
    ab_report_free(&rep);
    ab_pass_free(&p);
    ab_merged_free(m, &p);
    ab_state_free(&st);
    opts_free(&o);

    return status;
}


/* Whether argv asks for reduce's order round. */
static int
asks_orders(int argc, char **argv)
{
    int  i;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--orders") == 0) {
            return 1;
        }
    }

    return 0;
}


/* abstat reduce --orders: the order round (reduce.c). */
static int
reduce_main(int argc, char **argv)
{
    opts_t            o;
    ab_reduce_args_t  a;
    int               rc;

    usage_cmd = "reduce";
    opts_default(&o);
    parse_options(argc, argv, &o);
    if (o.not_reduce != NULL || !o.orders || o.output == NULL
        || optind >= argc)
    {
        if (o.not_reduce != NULL) {
            fprintf(stderr, "abstat: reduce does not take %s\n\n",
                    o.not_reduce);
        } else {
            fprintf(stderr, "abstat: reduce needs --orders, --output DIR and "
                    "order shard files\n\n");
        }
        fputs(usage_reduce_text, stderr);
        exit(EXIT_USAGE);
    }

    memset(&a, 0, sizeof(a));
    a.files = argv + optind;
    a.nfiles = (size_t) (argc - optind);
    a.output = o.output;
    a.tag = o.tag;
    rc = ab_reduce_orders(&a);
    opts_free(&o);

    return rc;
}


/* What --nginx-conf NODE=FILE leaves out: the nodes whose exposures
 * had no configuration to be audited against, and (whole: a report
 * read every line) a NODE no line names, a typo that would leave the
 * node it meant unaudited in silence. */
static void
warn_nodes(const opts_t *o, const ab_state_t *st, int whole)
{
    const char  *names[5];
    size_t       n, i;

    n = ab_audit_unconfigured(st->audit, &o->in, names, 5);
    if (n > 0) {
        fprintf(stderr, "abstat: warning: --nginx-conf: no configuration "
                "for %zu node(s), whose exposures are not audited (skipped "
                "as not_configured):", n);
        for (i = 0; i < n && i < 5; i++) {
            fprintf(stderr, " %s", names[i]);
        }
        fprintf(stderr, "%s\n", n > 5 ? " ..." : "");
    }
    for (i = 0; whole && i < o->nnode_conf; i++) {
        const char  *node = o->node_conf[i].node;

        if (st->audit == NULL
            || ab_intern_find(&st->audit->nodes, node, strlen(node)) < 0)
        {
            fprintf(stderr, "abstat: warning: --nginx-conf %s=...: no line "
                    "of node %s was read\n", node, node);
        }
    }
}


/* The command word is missing or unknown: what was meant, if it can be
 * guessed (a log file or an option where the command should be). */
static int
no_command(int argc, char **argv)
{
    int  i;

    if (argc < 2) {
        fprintf(stderr, "abstat: missing command (report, map, reduce, merge or state); try "
                "'abstat --help'\n");
    } else if (argv[1][0] == '-' || strpbrk(argv[1], "./") != NULL
               || access(argv[1], F_OK) == 0)
    {
        fprintf(stderr, "abstat: missing command (did you mean 'abstat "
                "report");
        for (i = 1; i < argc; i++) {
            fprintf(stderr, " %s", argv[i]);
        }
        fprintf(stderr, "'?)\n");
    } else {
        fprintf(stderr, "abstat: unknown command '%s' (report, map, reduce, merge or state); "
                "try 'abstat --help'\n", argv[1]);
    }

    return EXIT_USAGE;
}


/*
 * A shard file among report's inputs (abstat map, shard.h): its records
 * replayed. Not with --state, whose read positions are of logs. 0,
 * EXIT_INPUT (a damaged or foreign shard: said, nothing of it counted),
 * EXIT_USAGE or EXIT_INTERNAL.
 */
static int
replay(const opts_t *o, ab_state_t *st, const char *path,
    ab_shard_names_t *names)
{
    char  err[1024];
    int   rc;

    if (o->state != NULL) {
        fprintf(stderr, "abstat: %s is a shard file: --state reads logs "
                "only\n", path);
        return EXIT_USAGE;
    }
    rc = ab_shard_replay(st, &o->in, path, names, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "abstat: out of memory\n");
        return EXIT_INTERNAL;
    }
    if (rc > 0) {
        fprintf(stderr, "abstat: %s\n", err);
        return EXIT_INPUT;
    }

    return 0;
}


/*
 * --experiment names that exist, --baseline a variant that does: a typo
 * gives exit 2 and the names there are. The experiments --experiment
 * did not select were not kept: they are found by reading the logs
 * again, on this error path only. 0 or EXIT_USAGE.
 */
static int
check_names(const opts_t *o, const ab_state_t *st, char *const *files,
    int nfiles)
{
    const char  *missing = ab_names_missing_experiment(st, &o->cfg);
    ab_state_t   all;
    ab_input_t   every;
    int          i, ok = 1;

    if (missing != NULL) {
        ab_state_init(&all);
        ab_input_default(&every);
        every.quiet = 1;
        every.threads = o->in.threads;
        for (i = 0; i < nfiles && ok; i++) {
            ok = strcmp(files[i], "-") != 0
                 && ab_ingest_file(&all, &every, NULL, files[i], 0) >= 0;
        }
        ab_names_say_experiments(missing, ok ? &all : NULL, &o->cfg);
        ab_state_free(&all);
        return EXIT_USAGE;
    }

    return ab_names_check_baseline(st, &o->cfg) != 0 ? EXIT_USAGE : 0;
}


int
main(int argc, char **argv)
{
    opts_t       o;
    ab_state_t   st;
    ab_report_t  rep;
    ab_incr_t    inc;
    ab_shard_names_t  names;
    uint64_t     late_before, lines0, bad0, flines, fbad;
    int          i, status = 0, rc, bad_input = 0, state = 0;
    int          visitor_round = 0;
    const char  *stdin_only[] = { "-" };
    char *const *files;
    int          nfiles;

    if (asks_help(argc, argv, &state)) {
        fputs(state == 1 ? usage_state_text
              : state == 2 ? usage_map_text
              : state == 3 ? usage_reduce_text
              : state == 4 ? usage_merge_text : usage_text, stdout);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--version") == 0
                     || strcmp(argv[1], "-V") == 0))
    {
        printf("abstat %s\n", ABSTAT_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "state") == 0) {
        return state_main(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "map") == 0) {
        return map_main(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "merge") == 0) {
        return merge_main(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "reduce") == 0) {
        if (asks_orders(argc, argv)) {
            return reduce_main(argc - 1, argv + 1);
        }
        /* the visitor round: the report's reading, then a partial */
        visitor_round = 1;
        usage_cmd = "reduce";
    } else if (argc < 2 || strcmp(argv[1], "report") != 0) {
        return no_command(argc, argv);
    }

    memset(&inc, 0, sizeof(inc));
    memset(&names, 0, sizeof(names));
    opts_default(&o);
    parse_options(argc - 1, argv + 1, &o);
    if (o.shards > 0 || o.tag != NULL || o.orders) {
        usage_error("--shards, --tag and --orders are options of abstat map "
                    "and reduce%s", "");
    }
    if (visitor_round) {
        if (o.output == NULL || argc - 1 - optind <= 0) {
            usage_error("reduce needs --output PARTIAL and the shard files "
                        "of a group of visitor shards (and their resolved "
                        "orders)%s", "");
        }
        if (o.by_top_given) {
            usage_error("--by-top pools the segments of every partial: give "
                        "it to abstat merge%s", "");
        }
        if (o.not_visitor_round != NULL) {
            usage_error("partials do not keep what %s needs yet: report "
                        "over the shard files instead", o.not_visitor_round);
        }
        /* the trend's purchases, by day and by hour in the partial */
        o.cfg.bucket = AB_BUCKET_DAY;
        o.in.visitor_round = 1;
    }

    if (o.trend_table && (o.format != FMT_CSV || !o.cfg.bucket)) {
        usage_error("--table trend needs --format csv and --bucket%s", "");
    }
    if (o.segments_table && (o.format != FMT_CSV || o.by.n == 0)) {
        usage_error("--table segments needs --format csv and --by%s", "");
    }
    html_buckets(&o);
    cfg_from_opts(&o);

    if (ab_state_init(&st) != 0
        || (o.state == NULL && ab_state_by(&st, o.in.by) != 0))
    {
        fprintf(stderr, "abstat: out of memory\n");
        return EXIT_INTERNAL;
    }

    files = argv + 1 + optind;
    nfiles = argc - 1 - optind;
    if (nfiles == 0) {
        files = (char *const *) stdin_only;
        nfiles = 1;
    }

    if (o.state != NULL) {
        if (o.cfg.cuped && (double) o.cfg.cuped_lookback > o.retain * 1e6) {
            usage_error("--cuped-lookback is longer than --retain: with "
                        "--state a forgotten visitor's history is gone "
                        "(give --no-cuped or a shorter lookback)%s", "");
        }
        for (i = 0; i < nfiles + (int) o.nevents; i++) {
            if (strcmp(i < nfiles ? files[i] : o.events[i - nfiles], "-")
                == 0)
            {
                usage_error("--state cannot follow stdin: give the log "
                            "files%s", "");
            }
        }
        if ((rc = state_open(&o, &st, &inc)) != 0) {
            status = rc;
            goto done;
        }
    }
    late_before = st.late_exposures;
    lines0 = st.lines;
    bad0 = st.bad_lines;

    for (i = 0; i < nfiles + (int) o.nevents; i++) {
        flines = st.lines;
        fbad = st.bad_lines;
        if (i < nfiles && strcmp(files[i], "-") != 0
            && ab_shard_is(files[i]) == 1)
        {
            if ((rc = replay(&o, &st, files[i], &names)) == EXIT_INPUT) {
                status = EXIT_INPUT;
                continue;
            }
            if (rc != 0) {
                status = rc;
                goto done;
            }
            continue;
        }
        rc = i < nfiles
             ? ab_ingest_file(&st, &o.in, o.state ? &inc : NULL, files[i], 0)
             : ab_ingest_file(&st, &o.in, o.state ? &inc : NULL,
                              o.events[i - nfiles], 1);
        if (rc < 0 || st.oom) {
            if (st.spool_failed) {
                fprintf(stderr, "abstat: cannot write the spool file in "
                        "$TMPDIR (or /tmp): %s\n", strerror(errno));
            } else {
                fprintf(stderr, "abstat: out of memory\n");
            }
            status = EXIT_INTERNAL;
            goto done;
        }
        if (rc > 0) {
            status = EXIT_INPUT;
        }
        if (ab_check_file(i < nfiles ? files[i] : o.events[i - nfiles],
                       i >= nfiles, st.lines - flines, st.bad_lines - fbad))
        {
            bad_input = 1;
        }
    }

    if (st.bad_lines > 0 && !o.in.quiet) {
        fprintf(stderr, "abstat: %llu bad line(s) skipped\n",
                (unsigned long long) st.bad_lines);
    }
    if (ab_check_bad(o.max_bad, st.lines - lines0, st.bad_lines - bad0)) {
        bad_input = 1;
    }
    warn_nodes(&o, &st, !visitor_round);
    if (bad_input) {
        /* above an unreadable file (1): the report may look sound */
        status = EXIT_BAD_INPUT;
    }

    /* nothing is saved or written for a name that does not exist */
    if ((rc = check_names(&o, &st, files, nfiles)) != 0) {
        status = rc;
        goto done;
    }

    /* The state is saved before the report is written: a run killed in
     * between has read its lines, and the next one reports them. */
    if (o.state != NULL && (rc = state_close(&o, &st, &inc, late_before))) {
        status = rc;
        goto done;
    }

    if (visitor_round) {
        if ((rc = write_partial(&o, &st)) != 0) {
            status = rc;
        }
        goto done;
    }

    if ((rc = report(&o, &st, &rep)) != 0) {
        status = rc;
    } else if ((rc = alerts(o.fail_on, &rep)) != 0) {
        /* An alert matters more than an unreadable file (exit 1). */
        status = rc;
    }

    ab_report_free(&rep);

done:
    ab_state_free(&st);
    opts_free(&o);
    ab_incr_free(&inc);
    ab_shard_names_free(&names);

    return status;
}
