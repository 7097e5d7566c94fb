"""CUPED rows of abstat's JSON report, computed independently of the C
code (abstat/cuped.c) for scripts/abstat-reference.

Means: theta is the slope of an ordinary least squares fit (statsmodels)
of the metric on the visitor's pre-entry value over both variants, the
adjusted values y - theta * x are compared by Welch's t-test (scipy).
Ratios: each visitor's value is linearised (m - R d) / mean(d), before
and after entry; theta is the pooled within-variant covariance over the
pooled variance of the pre-entry part, the adjusted linear values are
compared with Welch's degrees of freedom. The relative effect's variance
is gbstats' (docs/abstat.md gives the formulas).
"""
import math
from fractions import Fraction

import numpy as np
import statsmodels.api as sm
from scipy import stats

RATIO_THETA_MIN = 1e-8


def _var(a):
    return float(np.var(a, ddof=1))


def _cov(a, b):
    return float(np.cov(a, b, ddof=1)[0, 1])


def _result(adj_t, adj_c, raw_t, raw_c, value, rel_lin_t, rel_lin_c, den,
            theta, alpha, t_quantile):
    """Welch comparison of adjusted per-visitor values (their means are
    value apart), relative effect from the linear terms rel_lin_*."""
    nt, nc = len(adj_t), len(adj_c)
    vt, vc = _var(adj_t) / nt, _var(adj_c) / nc
    out = {"value": value, "ci": [None, None], "rel_effect": None,
           "rel_ci": [None, None], "p_value": None, "rel_p_value": None,
           "df": None, "theta": theta, "variance_reduction": None,
           "_var": None, "_rel_var": None}
    raw = _var(raw_t) / nt + _var(raw_c) / nc
    if raw > 0:
        out["variance_reduction"] = 1 - (vt + vc) / raw
    if not vt + vc > 0:
        return out
    df = (vt + vc) ** 2 / (vt ** 2 / (nt - 1) + vc ** 2 / (nc - 1))
    q = t_quantile(1 - alpha / 2, df)
    se = math.sqrt(vt + vc)
    out["_var"] = vt + vc
    out["df"] = df
    out["ci"] = [value - q * se, value + q * se]
    out["p_value"] = float(2 * stats.t.sf(abs(value / se), df))
    if den == 0:
        return out
    rel = value / den
    out["rel_effect"] = rel
    out["_rel_var"] = _var(rel_lin_t) / nt + _var(rel_lin_c) / nc
    se_r = math.sqrt(out["_rel_var"])
    if se_r > 0:
        out["rel_ci"] = [rel - q * se_r, rel + q * se_r]
        out["rel_p_value"] = float(2 * stats.t.sf(abs(rel / se_r), df))
    return out


def mean_row(ty, tx, cy, cx, alpha, t_quantile):
    """CUPED of a mean metric: treatment (ty, tx), baseline (cy, cx) as
    arrays of post and pre-entry values; None when nothing adjusts."""
    if len(ty) < 2 or len(cy) < 2:
        return None
    y = np.concatenate([ty, cy])
    x = np.concatenate([tx, cx])
    if np.var(x) == 0 or np.var(y) == 0:
        return None
    fit = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    theta = float(fit.params[1])
    at, ac = ty - theta * tx, cy - theta * cx
    value = float(np.mean(at) - np.mean(ac))
    my_c, my_t = float(np.mean(cy)), float(np.mean(ty))
    den = abs(my_c)
    if den > 0:
        # gbstats: the baseline's post term scaled by the treatment's
        # unadjusted mean
        lin_t = at / den
        lin_c = -cy * my_t / my_c ** 2 + theta * cx / den
    else:
        lin_t = lin_c = None
    return _result(at, ac, ty, cy, value, lin_t, lin_c, den, theta, alpha,
                   t_quantile)


def _lin(m, d):
    md = float(np.mean(d))
    r = float(np.mean(m)) / md
    return r, (m - r * d) / md


def exactly_flat(m, d):
    """Whether every residual m_i - R d_i (R = sum m / sum d) is 0 in
    exact arithmetic, m and d the integer (or rational) units: the
    linearised values then have no variance at all."""
    sm, sd = sum(m), sum(d)
    return all(Fraction(mi) * sd == Fraction(di) * sm
               for mi, di in zip(m, d))


def ratio_row(t, c, alpha, t_quantile):
    """CUPED of a ratio metric; t and c are (m, d, m_pre, d_pre) arrays."""
    tm, td, tmp, tdp = t
    cm, cd, cmp_, cdp = c
    if len(tm) < 2 or len(cm) < 2:
        return None
    if np.mean(td) == 0 or np.mean(cd) == 0 or np.mean(tdp) == 0 \
            or np.mean(cdp) == 0:
        return None
    rt, lt = _lin(tm, td)
    rc, lc = _lin(cm, cd)
    rpt, lpt = _lin(tmp, tdp)
    rpc, lpc = _lin(cmp_, cdp)
    den_theta = _var(lpt) + _var(lpc)
    if not den_theta > 0:
        return None
    theta = (_cov(lt, lpt) + _cov(lc, lpc)) / den_theta
    if abs(theta) < RATIO_THETA_MIN:
        return None
    at, ac = lt - theta * lpt, lc - theta * lpc
    value = (rt - theta * rpt) - (rc - theta * rpc)
    den = abs(rc)
    if den > 0:
        md = float(np.mean(cd))
        k = den + value
        lin_t = at / den
        lin_c = (-k / (md * den ** 2)) * cm \
            + (float(np.mean(cm)) * k / (md ** 2 * den ** 2)) * cd \
            + theta * lpc / den
    else:
        lin_t = lin_c = None
    return _result(at, ac, lt, lc, value, lin_t, lin_c, den, theta, alpha,
                   t_quantile)


def strip(row):
    """Drops the variances that only the sequences read (abstat's JSON
    does not print them)."""
    if row is not None:
        row.pop("_var", None)
        row.pop("_rel_var", None)


def history(entry, lookback, t):
    """Whether time t is in the lookback before entry (all microseconds)."""
    return entry - lookback <= t < entry
