/*
 * `location = /ab/status { ab_status; }`: the live counters of ab_zone as
 * JSON, or in the Prometheus text format with ?format=prometheus, with a
 * chi-square sample-ratio-mismatch test per experiment on new visitors
 * against the configured weights.
 */

#include "ngx_http_ab_module.h"
#include "ab_dist.h"

#include <math.h>
#include <stdio.h>


/* A generous bound of one output line (two names, an event, a number). */
#define NGX_HTTP_AB_LINE_MAX  (3 * AB_NAME_MAX_LEN + AB_EVENT_NAME_MAX + 128)

#define NGX_HTTP_AB_SRM_ALERT  0.001

/* room for "%.17g": a sign, 17 digits, a point and "e-308", and more */
#define NGX_HTTP_AB_DOUBLE_LEN  32


typedef struct {
    double      chi2;
    double      p_value;                /* NaN when undefined */
    size_t      df;
} ngx_http_ab_srm_t;


/* The SRM test of ab_dist.h on new visitors against the weights. */
static void
ngx_http_ab_srm(ngx_http_ab_main_conf_t *mcf, ngx_uint_t e,
    ngx_http_ab_srm_t *srm)
{
    double                     observed[AB_MAX_VARIANTS];
    double                     weights[AB_MAX_VARIANTS];
    ngx_uint_t                 k;
    ngx_http_ab_variant_t     *var;
    ngx_http_ab_experiment_t  *exp;

    exp = (ngx_http_ab_experiment_t *) mcf->experiments.elts + e;
    var = exp->variants.elts;

    for (k = 0; k < exp->variants.nelts; k++) {
        observed[k] = (double) mcf->counters[e][k]->new_visitors;
        weights[k] = var[k].weight;
    }

    srm->p_value = ab_srm_test(observed, weights, exp->variants.nelts,
                               &srm->chi2, &srm->df);
}


/* JSON has no NaN or Infinity: `undefined` ("null") stands for both
 * there; Prometheus writes NaN, +Inf. */
static u_char *
ngx_http_ab_double(u_char *p, double v, const char *undefined)
{
    if (isnan(v) || (isinf(v) && undefined[0] == 'n')) {
        return ngx_sprintf(p, "%s", undefined);
    }

    if (isinf(v)) {
        return ngx_sprintf(p, "%s", v > 0 ? "+Inf" : "-Inf");
    }

    return p + snprintf((char *) p, NGX_HTTP_AB_DOUBLE_LEN, "%.17g", v);
}


static u_char *
ngx_http_ab_status_json(ngx_http_ab_main_conf_t *mcf, u_char *p)
{
    ngx_uint_t                 e, k, s;
    ngx_http_ab_srm_t          srm;
    ngx_http_ab_counter_t     *c;
    ngx_http_ab_variant_t     *var;
    ngx_http_ab_experiment_t  *exp;
    double                     weights;

    exp = mcf->experiments.elts;

    p = ngx_sprintf(p, "{\"zone\":\"%V\",", &mcf->zone->shm.name);
    p = ngx_http_ab_zone_status(mcf, p, 0);
    p = ngx_cpymem(p, "\"experiments\":[", sizeof("\"experiments\":[") - 1);

    for (e = 0; e < mcf->experiments.nelts; e++) {
        ngx_http_ab_srm(mcf, e, &srm);
        var = exp[e].variants.elts;

        p = ngx_sprintf(p, "%s{\"name\":\"%V\",\"srm\":{\"chi2\":",
                        e ? "," : "", &exp[e].name);
        p = ngx_http_ab_double(p, srm.df ? srm.chi2 : NAN, "null");
        p = ngx_sprintf(p, ",\"df\":%uz,\"p_value\":", srm.df);
        p = ngx_http_ab_double(p, srm.p_value, "null");
        p = ngx_sprintf(p, ",\"alert\":%s},\"variants\":[",
                        srm.p_value < NGX_HTTP_AB_SRM_ALERT ? "true"
                                                            : "false");

        weights = 0;
        for (k = 0; k < exp[e].variants.nelts; k++) {
            weights += var[k].weight;
        }

        for (k = 0; k < exp[e].variants.nelts; k++) {
            c = mcf->counters[e][k];

            p = ngx_sprintf(p, "%s{\"name\":\"%V\",\"weight\":",
                            k ? "," : "", &var[k].name);
            p = ngx_http_ab_double(p, var[k].weight / weights, "null");
            p = ngx_sprintf(p, ",\"exposures\":%uA,\"new_visitors\":%uA,"
                            "\"events\":{", c->exposures, c->new_visitors);

            for (s = 0; s < NGX_HTTP_AB_EVENT_SLOTS && c->events[s].used;
                 s++)
            {
                p = ngx_sprintf(p, "%s\"%*s\":%uA", s ? "," : "",
                                (size_t) c->events[s].len, c->events[s].name,
                                c->events[s].count);
            }

            p = ngx_sprintf(p, "},\"events_other\":%uA}", c->events_other);
        }

        p = ngx_sprintf(p, "]}");
    }

    return ngx_sprintf(p, "]}\n");
}


static u_char *
ngx_http_ab_prom_family(u_char *p, const char *name, const char *type,
    const char *help)
{
    return ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}


static u_char *
ngx_http_ab_status_prometheus(ngx_http_ab_main_conf_t *mcf, u_char *p)
{
    double                     weights;
    ngx_uint_t                 e, k, s, which;
    ngx_http_ab_srm_t          srm;
    ngx_http_ab_counter_t     *c;
    ngx_http_ab_variant_t     *var;
    ngx_http_ab_experiment_t  *exp;

    static const char  *counters[][2] = {
        { "ab_exposures_total",
          "Exposures recorded at the edge (enrolled, not forced)." },
        { "ab_new_visitors_total",
          "Visitors exposed to the experiment for the first time "
          "(each visitor's first exposure)." },
    };

    exp = mcf->experiments.elts;

    /* a family's samples must follow its HELP and TYPE lines */
    for (which = 0; which < 2; which++) {
        p = ngx_http_ab_prom_family(p, counters[which][0], "counter",
                                    counters[which][1]);

        for (e = 0; e < mcf->experiments.nelts; e++) {
            var = exp[e].variants.elts;

            for (k = 0; k < exp[e].variants.nelts; k++) {
                c = mcf->counters[e][k];
                p = ngx_sprintf(p, "%s{experiment=\"%V\",variant=\"%V\"} "
                                "%uA\n", counters[which][0], &exp[e].name,
                                &var[k].name,
                                which ? c->new_visitors : c->exposures);
            }
        }
    }

    p = ngx_http_ab_prom_family(p, "ab_events_total", "counter",
                                "Events of enrolled visitors by name; names "
                                "past the first 16 count as _other.");

    for (e = 0; e < mcf->experiments.nelts; e++) {
        var = exp[e].variants.elts;

        for (k = 0; k < exp[e].variants.nelts; k++) {
            c = mcf->counters[e][k];

            for (s = 0; s < NGX_HTTP_AB_EVENT_SLOTS && c->events[s].used;
                 s++)
            {
                p = ngx_sprintf(p, "ab_events_total{experiment=\"%V\","
                                "variant=\"%V\",event=\"%*s\"} %uA\n",
                                &exp[e].name, &var[k].name,
                                (size_t) c->events[s].len, c->events[s].name,
                                c->events[s].count);
            }

            if (c->events_other) {
                p = ngx_sprintf(p, "ab_events_total{experiment=\"%V\","
                                "variant=\"%V\",event=\"_other\"} %uA\n",
                                &exp[e].name, &var[k].name,
                                c->events_other);
            }
        }
    }

    p = ngx_http_ab_prom_family(p, "ab_variant_weight", "gauge",
                                "Configured share of the variant.");

    for (e = 0; e < mcf->experiments.nelts; e++) {
        var = exp[e].variants.elts;
        weights = 0;

        for (k = 0; k < exp[e].variants.nelts; k++) {
            weights += var[k].weight;
        }

        for (k = 0; k < exp[e].variants.nelts; k++) {
            p = ngx_sprintf(p, "ab_variant_weight{experiment=\"%V\","
                            "variant=\"%V\"} ", &exp[e].name, &var[k].name);
            p = ngx_http_ab_double(p, var[k].weight / weights, "NaN");
            *p++ = '\n';
        }
    }

    p = ngx_http_ab_prom_family(p, "ab_srm_chi2", "gauge",
                                "Chi-square of new visitors per variant "
                                "against the configured weights.");

    for (e = 0; e < mcf->experiments.nelts; e++) {
        ngx_http_ab_srm(mcf, e, &srm);
        p = ngx_sprintf(p, "ab_srm_chi2{experiment=\"%V\"} ", &exp[e].name);
        p = ngx_http_ab_double(p, srm.df ? srm.chi2 : NAN, "NaN");
        *p++ = '\n';
    }

    p = ngx_http_ab_prom_family(p, "ab_srm_p_value", "gauge",
                                "p-value of the sample ratio mismatch test "
                                "(NaN before any new visitor).");

    for (e = 0; e < mcf->experiments.nelts; e++) {
        ngx_http_ab_srm(mcf, e, &srm);
        p = ngx_sprintf(p, "ab_srm_p_value{experiment=\"%V\"} ",
                        &exp[e].name);
        p = ngx_http_ab_double(p, srm.p_value, "NaN");
        *p++ = '\n';
    }

    return ngx_http_ab_zone_status(mcf, p, 1);
}


static ngx_int_t
ngx_http_ab_status_handler(ngx_http_request_t *r)
{
    size_t                     len;
    ngx_int_t                  rc, prometheus;
    ngx_str_t                  format;
    ngx_buf_t                 *b;
    ngx_uint_t                 e, lines = 16;
    ngx_http_ab_main_conf_t   *mcf;
    ngx_http_ab_experiment_t  *exp;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_ab_module);

    prometheus = ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
                 && format.len == 10
                 && ngx_strncmp(format.data, "prometheus", 10) == 0;

    /* bound the output, then allocate once */
    exp = mcf->experiments.elts;
    for (e = 0; e < mcf->experiments.nelts; e++) {
        lines += 8 + exp[e].variants.nelts * (4 + NGX_HTTP_AB_EVENT_SLOTS);
    }

    len = lines * NGX_HTTP_AB_LINE_MAX;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = prometheus ? ngx_http_ab_status_prometheus(mcf, b->last)
                         : ngx_http_ab_status_json(mcf, b->last);

    return ngx_http_ab_send_uncached(r, NGX_HTTP_OK,
                                     prometheus
                                     ? "text/plain; version=0.0.4; "
                                       "charset=utf-8"
                                     : "application/json", b);
}


char *
ngx_http_ab_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_ab_main_conf_t   *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ab_module);

    if (mcf->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ab_status\" requires \"ab_zone\" in the http "
                           "block before it");
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ab_status_handler;

    return NGX_CONF_OK;
}
