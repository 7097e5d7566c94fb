/*
 * The nodes and the assignment audit of an experiment (audit.h) in each
 * format that shows them: JSON, text and HTML. Each renderer calls in
 * with its own number and escaping helpers, so that these sections look
 * like the rest of its output.
 */

#include "render_audit.h"

#include <math.h>
#include <stdio.h>

#include "texttab.h"
#include "timefmt.h"


static uint64_t
skipped(const ab_raudit_t *r)
{
    uint64_t  n = 0;
    size_t    k;

    for (k = 0; k < AB_SKIP_N; k++) {
        n += r->skipped[k];
    }

    return n;
}


static const char *
node_name(const ab_raudit_t *r, uint32_t node)
{
    return node < r->node_names->n ? r->node_names->names[node]
           : AB_AUDIT_NO_NODE;
}


static cJSON *
audit_json(const ab_raudit_t *r)
{
    cJSON   *o = cJSON_CreateObject(), *a, *s, *v;
    char     t[32];
    size_t   i;

    cJSON_AddNumberToObject(o, "checked", (double) r->checked);
    cJSON_AddNumberToObject(o, "mismatches", (double) r->mismatches);
    cJSON_AddNumberToObject(o, "skipped", (double) skipped(r));
    s = cJSON_AddObjectToObject(o, "skipped_by_reason");
    for (i = 0; i < AB_SKIP_N; i++) {
        cJSON_AddNumberToObject(s, ab_audit_skip_name((int) i),
                                (double) r->skipped[i]);
    }

    a = cJSON_AddArrayToObject(o, "by_node");
    for (i = 0; i < r->nnodes; i++) {
        if (r->nodes[i].checked == 0) {
            continue;
        }
        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "node", r->nodes[i].node);
        cJSON_AddNumberToObject(v, "checked", (double) r->nodes[i].checked);
        cJSON_AddNumberToObject(v, "mismatches",
                                (double) r->nodes[i].mismatches);
        cJSON_AddItemToArray(a, v);
    }

    a = cJSON_AddArrayToObject(o, "examples");
    for (i = 0; i < r->nex; i++) {
        const ab_audit_example_t  *x = &r->ex[i];

        v = cJSON_CreateObject();
        ab_time_format(x->time, t, sizeof(t));
        cJSON_AddStringToObject(v, "time", t);
        cJSON_AddStringToObject(v, "node", node_name(r, x->node));
        cJSON_AddStringToObject(v, "uid", x->uid);
        cJSON_AddStringToObject(v, "logged", x->logged);
        cJSON_AddStringToObject(v, "expected", x->expected);
        cJSON_AddItemToArray(a, v);
    }

    return o;
}


void
ab_audit_json(cJSON *o, const ab_rexp_t *x, cJSON *(*num)(double))
{
    const ab_raudit_t  *r = x->audit;
    cJSON              *a, *v, *srm, *exp;
    size_t              i, j;

    if (r == NULL) {
        return;
    }
    if (r->named) {
        a = cJSON_AddArrayToObject(o, "nodes");
        for (i = 0; i < r->nnodes; i++) {
            const ab_rnode_t  *n = &r->nodes[i];

            if (n->visitors == 0) {
                continue;
            }
            v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "node", n->node);
            cJSON_AddNumberToObject(v, "visitors", (double) n->visitors);
            cJSON_AddItemToObject(v, "share", num(n->share));
            srm = cJSON_AddObjectToObject(v, "srm");
            exp = cJSON_AddObjectToObject(srm, "expected");
            for (j = 0; j < x->nvariants; j++) {
                cJSON_AddItemToObject(exp, x->variants[j].name,
                                      num(x->variants[j].expected));
            }
            cJSON_AddStringToObject(srm, "weights_source", x->weights_source);
            cJSON_AddItemToObject(srm, "chi2", num(n->chi2));
            cJSON_AddItemToObject(srm, "p_value", num(n->srm_p));
            cJSON_AddBoolToObject(srm, "alert", n->srm_alert);
            cJSON_AddItemToArray(a, v);
        }
    }
    if (r->audited) {
        cJSON_AddItemToObject(o, "audit", audit_json(r));
    }
}


/* "p = 0.5" or "not testable" */
static void
fmt_srm(char *buf, size_t size, const ab_rnode_t *n)
{
    if (isnan(n->srm_p)) {
        snprintf(buf, size, "not testable");
    } else {
        snprintf(buf, size, "%.4g%s", n->srm_p, n->srm_alert ? " ALERT" : "");
    }
}


static int
nodes_text(FILE *out, const ab_raudit_t *r, size_t width)
{
    static const char *const  head[] = { "node", "visitors", "share",
                                         "SRM p", "checked", "mismatches" };
    ab_ttab_t                 t;
    size_t                    i, k, row;

    ab_ttab_init(&t, r->audited ? 6 : 4, 1);
    t.left[0] = 1;
    row = ab_ttab_row(&t);
    for (k = 0; row != (size_t) -1 && k < t.ncols; k++) {
        snprintf(ab_ttab_cell(&t, row, k), AB_CELL_MAX, "%s", head[k]);
    }
    for (i = 0; i < r->nnodes; i++) {
        const ab_rnode_t  *n = &r->nodes[i];

        if ((row = ab_ttab_row(&t)) == (size_t) -1) {
            break;
        }
        snprintf(ab_ttab_cell(&t, row, 0), AB_CELL_MAX, "%s", n->node);
        snprintf(ab_ttab_cell(&t, row, 1), AB_CELL_MAX, "%llu",
                 (unsigned long long) n->visitors);
        if (isnan(n->share)) {
            snprintf(ab_ttab_cell(&t, row, 2), AB_CELL_MAX, "-");
        } else {
            snprintf(ab_ttab_cell(&t, row, 2), AB_CELL_MAX, "%.1f%%",
                     100 * n->share);
        }
        fmt_srm(ab_ttab_cell(&t, row, 3), AB_CELL_MAX, n);
        if (r->audited) {
            snprintf(ab_ttab_cell(&t, row, 4), AB_CELL_MAX, "%llu",
                     (unsigned long long) n->checked);
            snprintf(ab_ttab_cell(&t, row, 5), AB_CELL_MAX, "%llu",
                     (unsigned long long) n->mismatches);
        }
    }

    return ab_ttab_print(out, &t, width);
}


int
ab_audit_text(FILE *out, const ab_rexp_t *x, size_t width)
{
    const ab_raudit_t  *r = x->audit;
    char                buf[1024], t[32];
    size_t              i;

    if (r == NULL || (!r->audited && r->nnodes == 0)) {
        return 0;
    }
    fputc('\n', out);
    if (r->audited) {
        snprintf(buf, sizeof(buf), "Assignment audit against --nginx-conf: "
                 "%llu exposure(s) checked, %llu mismatch(es)%s; %llu "
                 "skipped (%llu forced, %llu sticky, %llu not in the "
                 "configuration)", (unsigned long long) r->checked,
                 (unsigned long long) r->mismatches,
                 r->mismatches ? " (DRIFT: a node assigns otherwise than "
                 "the configuration)" : "",
                 (unsigned long long) skipped(r),
                 (unsigned long long) r->skipped[AB_SKIP_FORCED],
                 (unsigned long long) r->skipped[AB_SKIP_STICKY],
                 (unsigned long long) r->skipped[AB_SKIP_UNCONFIGURED]);
        ab_ttab_wrap(out, width, buf);
    } else {
        ab_ttab_wrap(out, width, "Nodes (visitors by the node of their "
                     "earliest exposure; SRM against the expected split):");
    }
    if (r->nnodes > 0 && nodes_text(out, r, width) != 0) {
        return -1;
    }
    for (i = 0; i < r->nex; i++) {
        const ab_audit_example_t  *e = &r->ex[i];

        ab_time_format(e->time, t, sizeof(t));
        snprintf(buf, sizeof(buf), "  %s %s uid %s: logged %s, expected %s",
                 t, node_name(r, e->node), e->uid, e->logged, e->expected);
        ab_ttab_wrap(out, width, buf);
    }

    return 0;
}


void
ab_audit_html(FILE *out, const ab_rexp_t *x,
    void (*esc)(FILE *out, const char *s))
{
    const ab_raudit_t  *r = x->audit;
    char                buf[64], t[32];
    size_t              i;

    if (r == NULL || (!r->audited && r->nnodes == 0)) {
        return;
    }
    fputs("<h3>Nodes</h3>", out);
    if (r->audited) {
        fprintf(out, "<div class=\"verdict%s audit\"><ul><li>Assignment audit "
                "against the nginx configuration: %llu exposure(s) checked, "
                "<b>%llu mismatch(es)</b>, %llu skipped (forced, sticky or "
                "not configured).</li></ul></div>",
                r->mismatches ? " warn" : "",
                (unsigned long long) r->checked,
                (unsigned long long) r->mismatches,
                (unsigned long long) skipped(r));
    }
    fputs("<div class=\"scroll\"><table class=\"nodes\"><tr><th>node</th>"
          "<th>visitors</th><th>share</th><th>SRM p</th>", out);
    if (r->audited) {
        fputs("<th>checked</th><th>mismatches</th>", out);
    }
    fputs("</tr>", out);
    for (i = 0; i < r->nnodes; i++) {
        const ab_rnode_t  *n = &r->nodes[i];

        fprintf(out, "<tr%s><td>", n->srm_alert || n->mismatches
                ? " class=\"sig\"" : "");
        esc(out, n->node);
        fprintf(out, "</td><td>%llu</td><td>", (unsigned long long) n->visitors);
        if (!isnan(n->share)) {
            fprintf(out, "%.1f%%", 100 * n->share);
        }
        fmt_srm(buf, sizeof(buf), n);
        fprintf(out, "</td><td>%s</td>", buf);
        if (r->audited) {
            fprintf(out, "<td>%llu</td><td>%llu</td>",
                    (unsigned long long) n->checked,
                    (unsigned long long) n->mismatches);
        }
        fputs("</tr>", out);
    }
    fputs("</table></div>", out);
    if (r->nex == 0) {
        return;
    }
    fputs("<div class=\"scroll\"><table class=\"examples\"><tr><th>time</th>"
          "<th class=\"l\">node</th><th class=\"l\">uid</th>"
          "<th class=\"l\">logged</th><th class=\"l\">expected</th></tr>",
          out);
    for (i = 0; i < r->nex; i++) {
        const ab_audit_example_t  *e = &r->ex[i];

        ab_time_format(e->time, t, sizeof(t));
        fprintf(out, "<tr><td>%s</td><td class=\"l\">", t);
        esc(out, node_name(r, e->node));
        fputs("</td><td class=\"l\">", out);
        esc(out, e->uid);
        fputs("</td><td class=\"l\">", out);
        esc(out, e->logged);
        fputs("</td><td class=\"l\">", out);
        esc(out, e->expected);
        fputs("</td></tr>", out);
    }
    fputs("</table></div>", out);
}
