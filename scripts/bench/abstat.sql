-- The per-visitor aggregation abstat does, in DuckDB SQL, for
-- scripts/bench-abstat: entry time per visitor and experiment (visitors
-- seen in several variants dropped), purchases deduplicated by order id
-- (earliest wins), refunds subtracted, events before entry ignored, then
-- per variant: visitors, converters, orders, revenue and its mean and
-- variance per visitor. {{LOG}} is replaced by the log's path.
WITH l AS (
    SELECT CAST("time" AS DOUBLE) AS t, uid, exposures, events
    FROM read_json('{{LOG}}', format = 'newline_delimited',
                   columns = {"time": 'VARCHAR', uid: 'VARCHAR',
                              exposures: 'VARCHAR', events: 'VARCHAR'})
),
pairs AS (
    SELECT uid, t, unnest(string_split(exposures, ',')) AS p
    FROM l WHERE uid <> '' AND exposures <> ''
),
vis AS (
    SELECT uid, split_part(p, ':', 1) AS experiment,
           any_value(split_part(p, ':', 2)) AS variant, min(t) AS entry
    FROM pairs
    GROUP BY uid, experiment
    HAVING count(DISTINCT split_part(p, ':', 2)) = 1
),
ev AS (
    SELECT uid, t, unnest(string_split(events, ',')) AS e
    FROM l WHERE events <> ''
),
purchases AS (
    SELECT regexp_extract(e, 'order=([^;]+)', 1) AS ord,
           arg_min(uid, t) AS uid, min(t) AS t,
           arg_min(CAST(regexp_extract(e, 'revenue=([^;]+)', 1) AS DOUBLE), t)
               AS revenue
    FROM ev WHERE e LIKE 'purchase;%' AND uid <> ''
    GROUP BY ord
),
refunds AS (
    SELECT regexp_extract(e, 'order=([^;]+)', 1) AS ord,
           sum(abs(CAST(regexp_extract(e, 'revenue=([^;]+)', 1) AS DOUBLE)))
               AS amount
    FROM ev WHERE e LIKE 'refund;%'
    GROUP BY ord
),
per_visitor AS (
    SELECT v.experiment, v.variant, v.uid, count(p.ord) AS orders,
           coalesce(sum(p.revenue - coalesce(r.amount, 0)), 0) AS revenue
    FROM vis v
    LEFT JOIN purchases p ON p.uid = v.uid AND p.t >= v.entry
    LEFT JOIN refunds r ON r.ord = p.ord
    GROUP BY ALL
)
SELECT experiment, variant, count(*) AS visitors,
       count(*) FILTER (WHERE orders > 0) AS converters,
       sum(orders) AS orders, sum(revenue) AS revenue,
       avg(revenue) AS revenue_per_visitor,
       var_samp(revenue) AS revenue_variance
FROM per_visitor
GROUP BY ALL
ORDER BY ALL;
