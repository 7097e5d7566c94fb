"""Segment breakdowns of abstat's JSON report (`--by DIM`), computed
independently of the C code (abstat/segment*.c, abstat/device.c) for
scripts/abstat-reference.

A visitor's segment is read off their entry line into the experiment
(the earliest exposure line, the first read among equal times). Each
segment's variants, metrics and SRM are the experiment's own computed
over the segment's visitors only (the caller's `compute`); the
heterogeneity test is Cochran's Q of a meta-analysis, written out here
and checked against statsmodels' combine_effects when it is importable:

    w_i = 1 / v_i,  theta = sum(w_i e_i) / sum(w_i),
    Q = sum(w_i (e_i - theta)^2),  p = P(chi2(k - 1) > Q)

over the k segments with at least two visitors in each arm and v_i > 0.
"""
import datetime

import numpy as np
from scipy import stats

try:
    from statsmodels.stats.meta_analysis import combine_effects
except ImportError:     # older statsmodels: the check below is skipped
    combine_effects = None

DIMENSIONS = ("device", "visitor", "day", "hour")
# the report's words (segmentation.note), as abstat prints them
NOTE = ("segment results are exploratory: they are in no Holm family, and "
        "with S segments x M metric rows at alpha about alpha x S x M rows "
        "are flagged by chance alone")
OTHER = "other"
NONE = "(none)"

# docs/abstat.md, "--by device": the first rule with a token in the
# User-Agent (ASCII case ignored) decides; no User-Agent is a bot.
DEVICE_RULES = [
    ("bot", ("bot", "crawl", "spider", "slurp", "archiver", "headless",
             "phantomjs", "lighthouse", "facebookexternalhit", "preview",
             "feedfetcher", "curl/", "wget/", "python-", "go-http-client",
             "java/", "libwww", "httpclient", "scrapy", "axios/",
             "node-fetch")),
    ("tablet", ("ipad", "tablet", "kindle", "silk/", "playbook")),
    ("mobile", ("mobi", "iphone", "ipod", "windows phone", "blackberry",
                "bb10", "opera mini")),
    ("tablet", ("android",)),
    ("desktop", ("windows nt", "macintosh", "x11", "cros", "linux")),
]


def check_dimension(dim):
    if dim in DIMENSIONS:
        return dim
    if dim.startswith("field:") and len(dim) > len("field:"):
        return dim
    raise ValueError("--by " + dim)


def device_of(ua):
    # type(), not isinstance(): the reference reads JSON numbers as str
    if type(ua) is not str or ua == "":
        return "bot"
    # ASCII case only: bytes.lower() leaves every other byte alone
    low = ua.encode("utf-8", "surrogateescape").lower()
    for name, tokens in DEVICE_RULES:
        if any(t.encode() in low for t in tokens):
            return name
    return "other"


def utc(us, fmt):
    return datetime.datetime.fromtimestamp(
        us // 10**6, datetime.timezone.utc).strftime(fmt)


def raw_value(dim, line, t):
    """A line's value of dim (entering at t) before --by-top pools field
    values. `line` is the reference's parse: strings are str, JSON
    numbers Num (a str subclass keeping their text)."""
    if dim == "device":
        return device_of(line.get("ua"))
    if dim == "visitor":
        v = line.get("uid_new")
        return "new" if v is True or (type(v) is str and v in ("1", "true")) \
            else "returning"
    if dim == "day":
        return utc(t, "%Y-%m-%d")
    if dim == "hour":
        return utc(t, "%Y-%m-%dT%H")
    v = line.get(dim[len("field:"):])
    if not isinstance(v, str):      # null, true, an object: no value
        return NONE
    # values are C strings there: an escaped NUL ends one
    v = v.split("\0")[0]
    return v if v != "" else NONE


def byte_key(value):
    return value.encode("utf-8", "surrogateescape")


def entry_values(dims, line, t, have=None):
    """The dimensions' values of an entry line; on a tie with the values
    `have` of another line entering at the same time, the bytewise
    smaller of each, so that the order of lines does not matter."""
    vals = {d: raw_value(d, line, t) for d in dims}
    if have is not None:
        vals = {d: min(vals[d], have[d], key=byte_key) for d in dims}
    return vals


def sort_key(value):
    """Values bytewise, `other` and then `(none)` last."""
    return ({OTHER: 1, NONE: 2}.get(value, 0), byte_key(value))


def fold_top(seen, count, top):
    """The name of each seen value: a field's `top` most frequent by
    visitors (ties by value, bytewise) their own, the others `other`;
    `(none)` (and a value `other`) always their own."""
    ranked = sorted((v for v in seen if v not in (OTHER, NONE)),
                    key=lambda v: (-count.get(v, 0), byte_key(v)))
    kept = set(ranked[:top]) | {OTHER, NONE}
    return {v: (v if v in kept else OTHER) for v in seen}


def test_interval(m):
    """The interval a row's verdict is on (docs/abstat-json.md, `flag`):
    the sequence with --sequential, else CUPED's where it adjusted the
    row, else the row's own; relative or absolute as its `test`."""
    rel = m["test"] == "relative"
    if "sequential" in m:
        return m["sequential"]["rel_ci" if rel else "ci"]
    if m.get("cuped") and not m["small_counts"]:
        return m["cuped"]["rel_ci" if rel else "ci"]
    return m["rel_ci" if rel else "abs_ci"]


def exploratory(m):
    """A segment's row: its flag, and in no Holm family."""
    lo, hi = test_interval(m)
    m["flag"] = lo is not None and hi is not None and (lo > 0 or hi < 0)
    m["p_value_adjusted"] = None
    m["ci_adjusted"] = m["ci_adjusted_level"] = m["power"] = None
    if "sequential" in m:
        m["sequential"]["p_value_adjusted"] = None


def cochran_q(effects, variances):
    """Q, its degrees of freedom and p, over the pairs with v > 0."""
    pts = [(e, v) for e, v in zip(effects, variances)
           if e is not None and v is not None and v > 0]
    if len(pts) < 2:
        return None, len(pts), None
    w = [1 / v for _, v in pts]
    theta = sum(wi * e for wi, (e, _) in zip(w, pts)) / sum(w)
    q = sum(wi * (e - theta) ** 2 for wi, (e, _) in zip(w, pts))
    p = float(stats.chi2.sf(q, len(pts) - 1))
    if combine_effects is not None:
        sq, sp = combine_effects(np.array([e for e, _ in pts]),
                                 np.array([v for _, v in pts])) \
            .test_homogeneity().tuple
        assert abs(sq - q) <= 1e-9 * q + 1e-300, (sq, q)
        assert abs(sp - p) <= 1e-8 * p + 1e-300, (sp, p)
    return q, len(pts), p


def heterogeneity(dim, rows, segs):
    """Cochran's Q per metric row (metric, variant) of the experiment,
    in its order, over one dimension's segments; segs: each segment's
    (effect, variance, treatment visitors, baseline visitors) by row."""
    out = []
    for key in rows:
        eff, var = [], []
        for est in segs:
            e = est.get(key)
            if e is None or e[0] is None or e[2] < 2 or e[3] < 2:
                continue
            eff.append(e[0])
            var.append(e[1])
        q, k, p = cochran_q(eff, var)
        out.append({"dimension": dim, "metric": key[0], "variant": key[1],
                    "q": q, "df": k - 1 if k >= 2 else None, "segments": k,
                    "p_value": p})
    return out


def segments(e, members, entry_vals, multi_pairs, rows, dims, top, alpha,
             compute):
    """The `segments`, `heterogeneity` and `segment_multiplicity` of
    experiment e.

    members: (uid, e) -> variant of the experiment's visitors;
    multi_pairs: (uid, e) -> variants of those exposed to several;
    entry_vals: (uid, e) -> the dimensions' values of its entry line;
    rows: the experiment's metric rows (metric, variant) in order;
    compute(sub_members, sub_multi) -> (variants, metrics, srm, het)
    the experiment's own over a subset of visitors, het its rows'
    (effect, variance, nt, nc) for the heterogeneity test."""
    out, het = [], []
    keys = [k for k in members if k[1] == e]
    mkeys = [k for k in multi_pairs if k[1] == e]
    for dim in dims:
        value = {k: entry_vals[k][dim] for k in keys + mkeys}
        if dim.startswith("field:"):
            count = {}
            for k in keys:
                count[value[k]] = count.get(value[k], 0) + 1
            name = fold_top(set(value.values()), count, top)
            value = {k: name[v] for k, v in value.items()}
        segs = []
        for v in sorted(set(value.values()), key=sort_key):
            sub = {k: members[k] for k in keys if value[k] == v}
            sub_multi = {}
            for k in mkeys:
                if value[k] == v:
                    for var in multi_pairs[k]:
                        sub_multi[(e, var)] = sub_multi.get((e, var), 0) + 1
            variants, metrics, srm, est = compute(sub, sub_multi)
            for m in metrics:
                exploratory(m)
            out.append({"dimension": dim, "value": v, "visitors": len(sub),
                        "variants": variants, "metrics": metrics,
                        "srm": srm})
            segs.append(est)
        het.extend(heterogeneity(dim, rows, segs))
    tests = sum(len(s["metrics"]) for s in out)
    multiplicity = {
        "segments": len(out), "tests": tests,
        "flags": sum(m["flag"] for s in out for m in s["metrics"]),
        "expected_flags": alpha * tests}
    return out, het, multiplicity
