/*
 * A tokenizer close enough to nginx's (words, quotes, escapes, comments,
 * ';', '{', '}') to find ab_experiment blocks anywhere in the tree. Other
 * directives are skipped unread: abstat needs only the variants, and
 * whether the experiment is sticky.
 * Relative include paths resolve against the directory of the file given
 * to --nginx-conf, as nginx resolves them against its conf prefix.
 */

#include "nginx_conf.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ab_core.h"
#include "assigndef.h"
#include "expdef.h"

#define MAX_WORDS     8
#define MAX_INCLUDES  16

typedef struct {
    char      *text;
    size_t     len;
    size_t     pos;
    unsigned   line;
    const char *path;
} src_t;

typedef struct {
    ab_expdef_t  **list;
    size_t        *n;
    char           prefix[4096];
    char          *err;
    size_t         errlen;
    int32_t        holdout;     /* ab_holdout; -1 until given */
} ctx_t;

/* A statement: its words and what ended it (';', '{', '}' or 0 at EOF). */
typedef struct {
    char      *w[MAX_WORDS];
    size_t     nw;
    char       buf[8192];
    size_t     used;
    int        end;
    unsigned   line;
} stmt_t;


static int read_file(ctx_t *c, const char *path, int depth);


static int
fail(ctx_t *c, const src_t *s, unsigned line, const char *what)
{
    snprintf(c->err, c->errlen, "%s:%u: %s", s->path, line, what);

    return -1;
}


static void
skip_space(src_t *s)
{
    while (s->pos < s->len) {
        char  ch = s->text[s->pos];

        if (ch == '#') {
            while (s->pos < s->len && s->text[s->pos] != '\n') {
                s->pos++;
            }
        } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
            s->line += ch == '\n';
            s->pos++;
        } else {
            return;
        }
    }
}


/* The next word, unquoted and unescaped into the statement's buffer.
 * Words that do not fit are cut short: no directive abstat reads has long
 * words, and the others are skipped anyway. */
static char *
next_word(src_t *s, stmt_t *st)
{
    char    *out, quote = 0, ch;
    size_t   room, k = 0;

    if (st->used > sizeof(st->buf) - 1) {
        st->used = sizeof(st->buf) - 1;
    }
    out = st->buf + st->used;
    room = sizeof(st->buf) - 1 - st->used;

    if (s->pos < s->len && (s->text[s->pos] == '"' || s->text[s->pos] == '\''))
    {
        quote = s->text[s->pos++];
    }

    while (s->pos < s->len) {
        ch = s->text[s->pos];

        if (!quote && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'
                       || ch == ';' || ch == '{' || ch == '}'))
        {
            break;
        }

        s->pos++;
        if (quote && ch == quote) {
            break;
        }
        if (ch == '\\' && s->pos < s->len) {
            ch = s->text[s->pos++];
        }
        s->line += ch == '\n';
        if (k < room) {
            out[k++] = ch;
        }
    }

    out[k] = '\0';
    st->used += k + 1;

    return out;
}


static int
next_stmt(src_t *s, stmt_t *st)
{
    char  ch;

    st->nw = 0;
    st->end = 0;
    st->used = 0;

    for ( ;; ) {
        skip_space(s);
        if (s->pos >= s->len) {
            return 0;
        }
        if (st->nw == 0) {
            st->line = s->line;
        }

        ch = s->text[s->pos];
        if (ch == ';' || ch == '{' || ch == '}') {
            s->pos++;
            st->end = ch;
            return 0;
        }

        if (st->nw == MAX_WORDS) {
            /* Long directives (log_format...) are of no interest. */
            st->used = sizeof(st->buf) - 1;
            (void) next_word(s, st);
            continue;
        }
        st->w[st->nw++] = next_word(s, st);
    }
}


static int
do_include(ctx_t *c, const src_t *s, const stmt_t *st, int depth)
{
    char     pattern[8192], what[8300];
    glob_t   g;
    size_t   i;
    int      rc;

    if (st->nw != 2 || st->end != ';') {
        return fail(c, s, st->line, "include takes one argument");
    }

    snprintf(pattern, sizeof(pattern), "%s%s",
             st->w[1][0] == '/' ? "" : c->prefix, st->w[1]);

    rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        /* nginx: a pattern may match nothing, a plain path must exist. */
        globfree(&g);
        if (strpbrk(st->w[1], "*?[") != NULL) {
            return 0;
        }
        snprintf(what, sizeof(what), "include %s: no such file", pattern);
        return fail(c, s, st->line, what);
    }
    if (rc != 0) {
        globfree(&g);
        return fail(c, s, st->line, "include: cannot expand pattern");
    }

    for (i = 0; i < g.gl_pathc; i++) {
        if (read_file(c, g.gl_pathv[i], depth + 1) != 0) {
            globfree(&g);
            return -1;
        }
    }
    globfree(&g);

    return 0;
}


/* The inside of one ab_experiment block, up to its closing brace. */
static int
do_experiment(ctx_t *c, src_t *s, const stmt_t *head)
{
    ab_expdef_t  *d;
    stmt_t        st;
    const char   *err;
    char          msg[256];

    if (head->nw != 2 || head->end != '{'
        || !ab_valid_experiment_name(head->w[1], strlen(head->w[1])))
    {
        return fail(c, s, head->line, "ab_experiment needs a valid name");
    }

    if (ab_expdef_find(*c->list, *c->n, head->w[1]) != NULL) {
        return fail(c, s, head->line, "duplicate ab_experiment");
    }

    d = ab_expdef_new(c->list, c->n, head->w[1], strlen(head->w[1]));
    if (d == NULL) {
        return fail(c, s, head->line, "out of memory");
    }

    for ( ;; ) {
        if (next_stmt(s, &st) != 0) {
            return fail(c, s, s->line, "bad token");
        }
        if (st.end == '}' && st.nw == 0) {
            break;
        }
        if (st.end != ';') {
            return fail(c, s, st.line, "unexpected block or end of file in "
                        "ab_experiment");
        }
        if (st.nw == 0) {
            continue;
        }
        if (strcmp(st.w[0], "variant") != 0) {
            if (st.nw == 2 && strcmp(st.w[0], "sticky") == 0) {
                /* the SRM test then needs the weights of each entry */
                d->sticky = strcmp(st.w[1], "on") == 0;
            }
            /* salt, traffic, layer, sticky, version for the audit;
             * anything later versions add is skipped */
            if ((err = ab_assigndef_directive(d, st.w, st.nw)) != NULL) {
                snprintf(msg, sizeof(msg), "%s: %s", st.w[0], err);
                return fail(c, s, st.line, msg);
            }
            continue;
        }
        if (st.nw != 3) {
            return fail(c, s, st.line, "variant takes a name and a weight");
        }
        err = ab_expdef_variant(d, st.w[1], strlen(st.w[1]), st.w[2],
                                strlen(st.w[2]));
        if (err != NULL) {
            snprintf(msg, sizeof(msg), "variant %s: %s", st.w[1], err);
            return fail(c, s, st.line, msg);
        }
    }

    if (d->nvars == 1) {
        /* the module refuses it too ("needs at least 2 variants") */
        snprintf(msg, sizeof(msg), "ab_experiment %s: needs at least 2 "
                 "variants", d->name);
        return fail(c, s, head->line, msg);
    }

    if ((err = ab_expdef_check(d)) != NULL
        || (err = ab_assigndef_finish(d)) != NULL)
    {
        snprintf(msg, sizeof(msg), "ab_experiment %s: %s", d->name, err);
        return fail(c, s, head->line, msg);
    }

    return 0;
}


static int
parse(ctx_t *c, src_t *s, int depth)
{
    stmt_t  st;

    for ( ;; ) {
        if (next_stmt(s, &st) != 0) {
            return fail(c, s, s->line, "bad token");
        }

        if (st.end == 0) {
            if (st.nw != 0) {
                return fail(c, s, st.line, "unexpected end of file");
            }
            return 0;
        }

        if (st.end == '}') {
            if (st.nw != 0) {
                return fail(c, s, st.line, "missing ';'");
            }
            /* Block nesting outside ab_experiment does not matter here
             * (nginx itself checks it): any block may hold the include
             * that brings the experiments in. */
            continue;
        }

        if (st.nw == 0) {
            if (st.end == '{') {
                return fail(c, s, st.line, "block without a name");
            }
            continue;
        }

        if (strcmp(st.w[0], "ab_experiment") == 0) {
            if (do_experiment(c, s, &st) != 0) {
                return -1;
            }
            continue;
        }

        if (strcmp(st.w[0], "include") == 0) {
            if (do_include(c, s, &st, depth) != 0) {
                return -1;
            }
            continue;
        }

        if (strcmp(st.w[0], "ab_holdout") == 0) {
            if (st.nw != 2 || st.end != ';' || c->holdout != -1
                || (c->holdout = ab_parse_percent(st.w[1], strlen(st.w[1])))
                   < 0)
            {
                return fail(c, s, st.line, "ab_holdout takes one percent, "
                            "once");
            }
            continue;
        }

    }
}


static int
read_file(ctx_t *c, const char *path, int depth)
{
    FILE         *f;
    src_t         s;
    long          size;
    int           rc;
    struct stat   sb;

    if (depth > MAX_INCLUDES) {
        snprintf(c->err, c->errlen, "%s: includes nested too deep", path);
        return -1;
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(c->err, c->errlen, "%s: %s", path, strerror(errno));
        return -1;
    }

    /* a directory opens fine and "is" LONG_MAX bytes long (include of an
     * empty word or of a pattern matching a directory) */
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(c->err, c->errlen, "%s: not a regular file", path);
        fclose(f);
        return -1;
    }

    memset(&s, 0, sizeof(s));
    s.path = path;
    s.line = 1;

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0
        || (s.text = malloc((size_t) size + 1)) == NULL
        || fread(s.text, 1, (size_t) size, f) != (size_t) size)
    {
        snprintf(c->err, c->errlen, "%s: cannot read", path);
        fclose(f);
        free(s.text);
        return -1;
    }
    fclose(f);

    s.len = (size_t) size;
    s.text[s.len] = '\0';

    rc = parse(c, &s, depth);
    free(s.text);

    return rc;
}


int
ab_nginx_conf_read(const char *path, ab_expdef_t **list, size_t *n,
    char *err, size_t errlen)
{
    ctx_t        c;
    const char  *slash = strrchr(path, '/');

    memset(&c, 0, sizeof(c));
    c.list = list;
    c.n = n;
    c.err = err;
    c.errlen = errlen;
    c.holdout = -1;

    if (slash != NULL) {
        snprintf(c.prefix, sizeof(c.prefix), "%.*s/", (int) (slash - path),
                 path);
    }

    if (read_file(&c, path, 0) != 0) {
        return -1;
    }
    ab_assigndef_holdout(*list, *n, c.holdout > 0 ? c.holdout : 0);

    return 0;
}
