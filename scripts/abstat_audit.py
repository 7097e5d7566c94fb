"""Nodes and the assignment audit of abstat's JSON report, computed
independently of the C code (abstat/audit.c, abstat/assigndef.c) for
scripts/abstat-reference.

The assignment is docs/assignment.md's, written here from the document
with the Python xxhash package: holdout, then the layer range, then
traffic, then the variant bucket. A visitor counts for the node of the
line of their earliest exposure to the experiment (at equal times the
smallest node name: Python compares str by code point, which is UTF-8's
byte order), in their variant, unless they saw two variants.
"""
import xxhash

BUCKETS = 10000
SKIPS = ("forced", "sticky", "not_configured")
NO_NODE = "(unknown)"


def bucket(s):
    return (xxhash.xxh3_64_intdigest(s.encode()) * BUCKETS) >> 64


def expect(d, holdout, uid):
    """The variant name, or why the visitor is not enrolled."""
    if holdout > 0 and bucket("ab:holdout:" + uid) < holdout:
        return "(not enrolled: holdout)"
    if d["layer"]:
        name, lo, hi = d["layer"]
        if not lo <= bucket(name + ":layer:" + uid) < hi:
            return "(not enrolled: layer range)"
    if d["traffic"] < BUCKETS and \
            bucket(d["salt"] + ":traffic:" + uid) >= d["traffic"]:
        return "(not enrolled: traffic)"
    b = bucket(d["salt"] + ":variant:" + uid)
    ws = [w for _, w in d["variants"]]
    acc = 0
    for (name, w) in d["variants"][:-1]:
        acc += w
        if b < BUCKETS * acc // sum(ws):
            return name
    return d["variants"][-1][0]


class Audit:
    def __init__(self):
        self.named = False
        self.node = NO_NODE
        self.line_ctx = None
        self.exposures = []     # (exp, var, node, t, uid)
        self.forced = []        # (exp, node)
        self.conf = None

    def line(self, node, t, uid, inside, forced):
        if node:
            self.named = True
        self.line_ctx = (node or NO_NODE, t, uid)
        if inside:
            self.forced.extend(forced)

    def exposure(self, exp, var):
        node, t, uid = self.line_ctx
        self.exposures.append((exp, var, node, t, uid))

    def configure(self, weights, specs):
        """weights: exp -> [(variant, weight)] (--conf-weights); specs:
        --conf-assign."""
        self.holdout = 0
        self.conf = {e: {"variants": [(v, round(w)) for v, w in vs],
                         "salt": e, "traffic": BUCKETS, "layer": None,
                         "sticky": False}
                     for e, vs in weights.items()}
        for spec in specs:
            key, _, val = spec.partition("=")
            if key == "holdout":
                self.holdout = int(val)
                continue
            what, _, rest = val.partition(":")
            d = self.conf[key]
            if what == "salt":
                d["salt"] = rest
            elif what == "traffic":
                d["traffic"] = int(rest)
            elif what == "layer":
                name, lo, hi = rest.split(":")
                d["layer"] = (name, int(lo), int(hi))
            elif what == "sticky":
                d["sticky"] = True


def _audit(a, exp, iso):
    out = {"checked": 0, "mismatches": 0}
    skipped = dict.fromkeys(SKIPS, 0)
    skipped["forced"] = sum(1 for e in a.forced if e == exp)
    by_node, examples = {}, []
    d = a.conf.get(exp)
    for e, var, node, t, uid in a.exposures:
        if e != exp:
            continue
        if d is None:
            skipped["not_configured"] += 1
            continue
        if d["sticky"]:
            skipped["sticky"] += 1
            continue
        out["checked"] += 1
        n = by_node.setdefault(node, [0, 0])
        n[0] += 1
        want = expect(d, a.holdout, uid)
        if want != var:
            out["mismatches"] += 1
            n[1] += 1
            examples.append((t, uid, var, want, node))
    # the five least, whatever the order of the lines (abstat's audit.c)
    examples = [{"time": iso(t), "node": node, "uid": uid, "logged": var,
                 "expected": want}
                for t, uid, var, want, node in
                sorted(examples, key=lambda x: x[:4] + (x[4] or "",))[:5]]
    out["skipped"] = sum(skipped.values())
    out["skipped_by_reason"] = skipped
    out["by_node"] = [{"node": k, "checked": c, "mismatches": m}
                      for k, (c, m) in sorted(by_node.items())]
    out["examples"] = examples
    return out


def report(out, exp, a, variants, w, srm_test, iso):
    """Adds "nodes" (when the log has nodes) and "audit" (with the
    configuration) to the experiment's object out."""
    if a.named:
        # a visitor entered at the node of its earliest exposure (at
        # the same time the smaller node name), unless multi-variant
        first, seen = {}, {}    # uid -> (t, node, var); uid -> variants
        for e, var, node, t, uid in a.exposures:
            if e != exp:
                continue
            seen.setdefault(uid, set()).add(var)
            if uid not in first or (t, node) < first[uid][:2]:
                first[uid] = (t, node, var)
        counts = {}
        for uid, (_, node, var) in first.items():
            if len(seen[uid]) == 1:
                c = counts.setdefault(node, {})
                c[var] = c.get(var, 0) + 1
        total = sum(sum(c.get(v, 0) for v in variants)
                    for c in counts.values())
        nodes = []
        for node in sorted(counts):
            obs = [counts[node].get(v, 0) for v in variants]
            if sum(obs) == 0:
                continue
            chi2, p = srm_test(obs, w)
            nodes.append({
                "node": node, "visitors": sum(obs),
                "share": sum(obs) / total,
                "srm": {"expected": out["srm"]["expected"],
                        "weights_source": out["srm"]["weights_source"],
                        "chi2": chi2, "p_value": p,
                        "alert": p is not None and p < 0.001}})
        out["nodes"] = nodes
    if a.conf is not None:
        out["audit"] = _audit(a, exp, iso)
