/*
 * See segment.h: the --by set and what a line gives each dimension.
 */

#include "segment.h"

#include <stdio.h>
#include <string.h>

#include "timefmt.h"

static const struct {
    const char  *name;
    int          kind;
} plain_dims[] = {
    { "device", AB_DIM_DEVICE }, { "visitor", AB_DIM_VISITOR },
    { "day", AB_DIM_DAY }, { "hour", AB_DIM_HOUR }
};


/* A field name as the log writes keys: what a JSON key can be, kept to
 * printable ASCII without quotes and commas, so that it reads back from
 * a --state spec and prints as a label everywhere. */
static int
valid_field(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > AB_SEG_FIELD_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == ','
            || s[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}


const char *
ab_by_add(ab_by_t *by, const char *arg)
{
    ab_dim_t  *d;
    size_t     i;

    if (by->n == AB_BY_MAX) {
        return "at most 3 --by dimensions";
    }

    d = &by->dims[by->n];
    memset(d, 0, sizeof(*d));

    for (i = 0; i < sizeof(plain_dims) / sizeof(plain_dims[0]); i++) {
        if (strcmp(arg, plain_dims[i].name) == 0) {
            d->kind = plain_dims[i].kind;
            break;
        }
    }
    if (i == sizeof(plain_dims) / sizeof(plain_dims[0])) {
        if (strncmp(arg, "field:", 6) != 0) {
            return "unknown --by dimension (device, visitor, field:NAME, "
                   "day or hour)";
        }
        if (!valid_field(arg + 6, strlen(arg + 6))) {
            return "bad field name in --by field:NAME";
        }
        d->kind = AB_DIM_FIELD;
    }

    snprintf(d->name, sizeof(d->name), "%s", arg);
    for (i = 0; i < by->n; i++) {
        if (strcmp(by->dims[i].name, d->name) == 0) {
            return "--by dimension given twice";
        }
    }
    if (d->kind == AB_DIM_FIELD) {
        d->field = d->name + 6;
        d->field_len = strlen(d->field);
    }
    by->n++;

    return NULL;
}


/* The index of key (name, len) in by->keys, added when new. */
static size_t
key_at(ab_by_t *by, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < by->nkeys; i++) {
        if (by->keys[i].len == len && memcmp(by->keys[i].name, name, len) == 0)
        {
            return i;
        }
    }
    by->keys[by->nkeys].name = name;
    by->keys[by->nkeys].len = len;

    return by->nkeys++;
}


void
ab_by_keys(ab_by_t *by, const ab_json_key_t *base, size_t nbase)
{
    ab_dim_t  *d;
    size_t     i;

    memcpy(by->keys, base, nbase * sizeof(*base));
    by->nkeys = nbase;

    for (i = 0; i < by->n; i++) {
        d = &by->dims[i];
        switch (d->kind) {
        case AB_DIM_DEVICE:  d->key = key_at(by, "ua", 2); break;
        case AB_DIM_VISITOR: d->key = key_at(by, "uid_new", 7); break;
        case AB_DIM_FIELD:   d->key = key_at(by, d->field, d->field_len);
                             break;
        default:             d->key = 0; break;
        }
    }
}


void
ab_by_spec(const ab_by_t *by, char *buf, size_t len)
{
    size_t  i, at = 0;

    buf[0] = '\0';
    for (i = 0; by != NULL && i < by->n && at < len; i++) {
        at += (size_t) snprintf(buf + at, len - at, "%s%s", i ? "," : "",
                                by->dims[i].name);
    }
}


ab_segtext_t
ab_seg_text(const ab_dim_t *d, const ab_jv_t *f)
{
    const ab_jv_t  *v = &f[d->key];
    ab_segtext_t    t = { AB_SEG_NONE, sizeof(AB_SEG_NONE) - 1 };

    switch (d->kind) {
    case AB_DIM_DEVICE:
        /* the User-Agent itself, classified when the line is applied,
         * by the visitor's exposures only (ab_device_cached()); none at
         * all, "", is a bot (device.h) */
        t.s = v->type == AB_JV_STRING ? v->s : "";
        t.len = v->type == AB_JV_STRING ? v->len : 0;
        break;

    case AB_DIM_VISITOR:
        if ((v->type == AB_JV_STRING
             && ((v->len == 1 && v->s[0] == '1')
                 || (v->len == 4 && memcmp(v->s, "true", 4) == 0)))
            || (v->type == AB_JV_OTHER && v->s[0] == 't'))
        {
            t.s = "new";
            t.len = 3;
        } else {
            t.s = "returning";
            t.len = 9;
        }
        break;

    case AB_DIM_FIELD:
        if ((v->type == AB_JV_STRING || v->type == AB_JV_NUMBER)
            && v->len > 0)
        {
            /* up to a NUL (an escaped \u0000): values are C strings in
             * the report and the state file */
            t.s = v->s;
            t.len = strnlen(v->s, v->len);
        }
        if (t.len == 0) {
            t.s = AB_SEG_NONE;
            t.len = sizeof(AB_SEG_NONE) - 1;
        }
        break;
    }

    return t;
}


size_t
ab_seg_time(int kind, int64_t t, char *buf)
{
    char    iso[32];
    size_t  n = kind == AB_DIM_HOUR ? 13 : 10;

    /* "2026-11-23T10:00:00Z": the day is its first 10 bytes, the hour
     * its first 13 */
    ab_time_format(t, iso, sizeof(iso));
    memcpy(buf, iso, n);
    buf[n] = '\0';

    return n;
}
