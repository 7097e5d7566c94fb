/*
 * The small-count statistics of exact.h. Fisher's test walks the
 * hypergeometric distribution by the ratio of neighbouring terms, scaled
 * to its mode, so it neither overflows for large n nor loses the tail to
 * lgamma's rounding.
 */

#include "exact.h"

#include <math.h>


/* P(Z <= z) = q for the standard normal, by Newton's method on erfc from
 * a logistic start (a handful of steps reach the last bit). */
static double
norm_quantile(double q)
{
    double  z = log(q / (1 - q)) / 1.702, f, pdf;
    int     i;

    for (i = 0; i < 50; i++) {
        f = 0.5 * erfc(-z / sqrt(2.0)) - q;
        pdf = exp(-z * z / 2) / sqrt(2 * M_PI);
        if (pdf == 0) {
            break;
        }
        z -= f / pdf;
        if (fabs(f / pdf) < 1e-15 * (fabs(z) > 1 ? fabs(z) : 1)) {
            break;
        }
    }

    return z;
}


/*
 * The hypergeometric law of the treatment's successes x given the
 * margins: lo..hi is its support; w(x) relative to the mode. Calls
 * visit(x, w) on every x; returns the sum of w.
 */
typedef struct {
    double  lo, hi, mode;
    double  nt, k, n;           /* treatment size, successes, total */
} hyper_t;


static hyper_t
hyper(double kt, double nt, double kc, double nc)
{
    hyper_t  h;

    h.nt = nt;
    h.k = kt + kc;
    h.n = nt + nc;
    h.lo = h.k - nc > 0 ? h.k - nc : 0;
    h.hi = h.k < nt ? h.k : nt;
    h.mode = floor((nt + 1) * (h.k + 1) / (h.n + 2));
    if (h.mode < h.lo) {
        h.mode = h.lo;
    }
    if (h.mode > h.hi) {
        h.mode = h.hi;
    }

    return h;
}


/* w(x + 1) / w(x) */
static double
up(const hyper_t *h, double x)
{
    return (h->nt - x) * (h->k - x)
           / ((x + 1) * (h->n - h->nt - h->k + x + 1));
}


/*
 * Sums of w over the support: *all of it, *below (w <= cut, or x >= from
 * when cut is NaN). Walking outward from the mode, where w = 1, every
 * term is a product of ratios below 1, so nothing overflows; terms that
 * underflow are below any p that matters.
 */
static void
hyper_sums(const hyper_t *h, double cut, double from, double *all,
    double *sel)
{
    double  x, w;

    *all = 0;
    *sel = 0;

    for (x = h->mode, w = 1; x <= h->hi; w *= up(h, x), x++) {
        *all += w;
        if (isnan(cut) ? x >= from : w <= cut) {
            *sel += w;
        }
        if (w == 0) {
            break;
        }
    }
    for (x = h->mode - 1, w = 1; x >= h->lo; x--) {
        w /= up(h, x);
        if (w == 0 || isinf(w)) {
            break;
        }
        *all += w;
        if (isnan(cut) ? x >= from : w <= cut) {
            *sel += w;
        }
    }
}


/* w(x) relative to the mode. */
static double
hyper_w(const hyper_t *h, double x)
{
    double  w = 1, i;

    for (i = h->mode; i < x; i++) {
        w *= up(h, i);
    }
    for (i = h->mode - 1; i >= x; i--) {
        w /= up(h, i);
    }

    return w;
}


static int
valid(double kt, double nt, double kc, double nc)
{
    return nt > 0 && nc > 0 && kt >= 0 && kc >= 0 && kt <= nt && kc <= nc;
}


/* Two-sided: the tables no likelier than the observed one (ties within
 * rounding count as no likelier: scipy allows 1e-14 of its pmf, the
 * ratios here carry a little more error). One-sided: x >= kt. */
static double
fisher(double kt, double nt, double kc, double nc, int two_sided)
{
    hyper_t  h;
    double   all, sel, p;

    if (!valid(kt, nt, kc, nc)) {
        return NAN;
    }

    h = hyper(kt, nt, kc, nc);
    hyper_sums(&h, two_sided ? hyper_w(&h, kt) * (1 + 1e-7) : NAN, kt, &all,
               &sel);
    p = sel / all;

    return p > 1 ? 1 : p;
}


double
ab_fisher_two_sided(double kt, double nt, double kc, double nc)
{
    return fisher(kt, nt, kc, nc, 1);
}


double
ab_fisher_greater(double kt, double nt, double kc, double nc)
{
    return fisher(kt, nt, kc, nc, 0);
}


void
ab_wilson(double k, double n, double alpha, double *lo, double *hi)
{
    double  z, c, h, p;

    if (!(n > 0) || k < 0 || k > n) {
        *lo = *hi = NAN;
        return;
    }

    z = norm_quantile(1 - alpha / 2);
    p = k / n;
    c = (p + z * z / (2 * n)) / (1 + z * z / n);
    h = z / (1 + z * z / n) * sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    *lo = k == 0 ? 0 : c - h;
    *hi = k == n ? 1 : c + h;
}


int
ab_small_counts(double kt, double nt, double kc, double nc)
{
    return kt < AB_SMALL_COUNT || nt - kt < AB_SMALL_COUNT
           || kc < AB_SMALL_COUNT || nc - kc < AB_SMALL_COUNT;
}


ab_effect_t
ab_compare_exact(double kt, double nt, double kc, double nc, double alpha)
{
    ab_effect_t  e;
    double       pt = kt / nt, pc = kc / nc, lt, ut, lc, uc;

    /* No relative interval: the delta method's is what fails here, and
     * Wilson-based ones for a ratio (MOVER-R) break down below 5 too. */

    e.value = nt > 0 ? pt : NAN;
    e.baseline_value = nc > 0 ? pc : NAN;
    e.abs_effect = e.value - e.baseline_value;
    e.df = NAN;
    e.p_value = ab_fisher_two_sided(kt, nt, kc, nc);

    ab_wilson(kt, nt, alpha, &lt, &ut);
    ab_wilson(kc, nc, alpha, &lc, &uc);

    /* Newcombe's hybrid score interval (his method 10). */
    e.abs_lo = e.abs_effect - sqrt((pt - lt) * (pt - lt)
                                   + (uc - pc) * (uc - pc));
    e.abs_hi = e.abs_effect + sqrt((ut - pt) * (ut - pt)
                                   + (pc - lc) * (pc - lc));

    if (!(pc > 0) || isnan(pt)) {
        e.rel_effect = e.rel_lo = e.rel_hi = e.rel_p_value = NAN;
        return e;
    }

    e.rel_effect = (pt - pc) / pc;
    e.rel_p_value = e.p_value;
    e.rel_lo = e.rel_hi = NAN;

    return e;
}
