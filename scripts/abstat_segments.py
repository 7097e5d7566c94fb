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


def fields_read(dims):
    """The log keys the dimensions read off the entry line."""
    keys = set()
    for d in dims:
        if d == "device":
            keys.add("ua")
        elif d == "visitor":
            keys.add("uid_new")
        elif d.startswith("field:"):
            keys.add(d[len("field:"):])
    return keys


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


def raw_value(dim, line, entry):
    """A visitor's value of dim before --by-top folds field values."""
    if dim == "device":
        return device_of(line.get("ua"))
    if dim == "visitor":
        return "new" if line.get("uid_new") == "1" else "returning"
    if dim == "day":
        return utc(entry, "%Y-%m-%d")
    if dim == "hour":
        return utc(entry, "%Y-%m-%dT%H")
    v = line.get(dim[len("field:"):])
    return v if type(v) is str else NONE


def sort_key(value):
    """Values bytewise, `other` and then `(none)` last."""
    last = {OTHER: 1, NONE: 2}.get(value, 0)
    return (last, value.encode("utf-8", "surrogateescape"))


def fold_top(values, top):
    """values: key -> raw value. Field values beyond the `top` most
    frequent (by visitors, ties by value bytewise) become `other`."""
    count = {}
    for v in values.values():
        count[v] = count.get(v, 0) + 1
    ranked = sorted(count, key=lambda v: (-count[v],
                                          v.encode("utf-8", "surrogateescape")))
    kept = set(ranked[:top])
    return {k: (v if v in kept else OTHER) for k, v in values.items()}


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


def heterogeneity(dim, segs):
    """Cochran's Q per metric and variant of one dimension's segments;
    segs: list of (segment, its rows' estimates (mt, vt, nt, mc, vc, nc)
    by (metric, variant))."""
    out = []
    keys = []
    for _, est in segs:
        for k in est:
            if k not in keys:
                keys.append(k)
    for metric, variant in keys:
        eff, var = [], []
        for _, est in segs:
            e = est.get((metric, variant))
            if e is None:
                continue
            mt, vt, nt, mc, vc, nc = e
            if nt < 2 or nc < 2 or mt is None or mc is None:
                continue
            eff.append(mt - mc)
            var.append(None if vt is None or vc is None else vt + vc)
        q, k, p = cochran_q(eff, var)
        out.append({"dimension": dim, "metric": metric, "variant": variant,
                    "q": q, "df": k - 1 if k >= 2 else None, "segments": k,
                    "p_value": p})
    return out


def segments(e, members, entry, entry_line, multi_pairs, dims, top, compute):
    """The `segments` and `heterogeneity` of experiment e.

    members: (uid, e) -> variant of the experiment's visitors;
    multi_pairs: (uid, e) -> variants of those exposed to several;
    entry / entry_line: (uid, e) -> entry time / entry line's keys;
    compute(sub_members, sub_multi) -> (variants, metrics, srm, estimates)
    the experiment's own over a subset of visitors."""
    out, het = [], []
    for dim in dims:
        keys = [k for k in members if k[1] == e]
        mkeys = [k for k in multi_pairs if k[1] == e]
        value = {k: raw_value(dim, entry_line[k], entry[k])
                 for k in keys + mkeys}
        if dim.startswith("field:"):
            # ranked by the experiment's visitors
            kept = fold_top({k: value[k] for k in keys}, top)
            names = set(kept.values())
            value = {k: (kept[k] if k in kept else
                         value[k] if value[k] in names else OTHER)
                     for k in value}
        segs = []
        for v in sorted(set(value[k] for k in keys), key=sort_key):
            sub = {k: members[k] for k in keys if value[k] == v}
            sub_multi = {}
            for k in mkeys:
                if value[k] == v:
                    for var in multi_pairs[k]:
                        sub_multi[(e, var)] = sub_multi.get((e, var), 0) + 1
            variants, metrics, srm, est = compute(sub, sub_multi)
            for m in metrics:
                lo, hi = m["abs_ci"]
                if lo is not None and (lo > 0 or hi < 0):
                    m["flag"] = True
            seg = {"dimension": dim, "value": v, "visitors": len(sub),
                   "variants": variants, "metrics": metrics, "srm": srm}
            out.append(seg)
            segs.append((seg, est))
        het.extend(heterogeneity(dim, segs))
    return out, het
