/*
 * The exact per-variant sums of msums.h.
 */

#include "msums.h"

#include <math.h>
#include <string.h>

/* where the product of values i <= j is kept */
#define PIDX(i, j)  ((i) * AB_MV_N - (i) * ((i) - 1) / 2 + ((j) - (i)))


static void
values(ab_i128_t *v, const ab_vagg_t *a)
{
    v[AB_MV_CONVERTED] = a->orders >= 1;
    v[AB_MV_ORDERS] = a->orders;
    v[AB_MV_REVENUE] = a->revenue;
    v[AB_MV_REPEAT] = a->orders >= 2;
    v[AB_MV_ERRORS] = a->errors;
    v[AB_MV_REQUESTS] = a->requests;
    v[AB_MV_LATENCY] = a->request_time;
}


static inline void
sum_add(ab_msum_t *m, ab_i128_t v)
{
    ab_i128_t  t;

    if (__builtin_add_overflow(m->fast, v, &t)) {
        ab_w256_add_i128(&m->spill, m->fast);
        t = v;
    }
    m->fast = t;
}


static ab_wide_t
sum_wide(const ab_msum_t *m)
{
    ab_w256_t  t = m->spill;

    ab_w256_add_i128(&t, m->fast);

    return ab_wide_of(&t);
}


static void
sum_merge(ab_msum_t *a, const ab_msum_t *b)
{
    ab_w256_add(&a->spill, &b->spill);
    sum_add(a, b->fast);
}


void
ab_msums_add(ab_msums_t *const *to, size_t nto, const ab_vagg_t *post,
    const ab_vagg_t *pre)
{
    ab_i128_t    v[AB_MV_N], pv[AB_MP_N];
    int          nz[AB_MV_N], pi[AB_MP_N], k = 0, np = 0, i, a, b, narrow = 1;
    size_t       t;
    ab_msums_t  *s;

    values(v, post);
    if (pre != NULL) {
        values(v + AB_MV_POST, pre);
    } else {
        memset(v + AB_MV_POST, 0, AB_MV_POST * sizeof(v[0]));
    }

    /* most values of most visitors are 0 (no order, no history, no
     * error): only the others add to any sum */
    for (i = 0; i < AB_MV_N; i++) {
        if (v[i] != 0) {
            nz[k++] = i;
            narrow &= v[i] == (int64_t) v[i];
        }
    }
    /* the products once for every target; 64-bit values (all but a
     * revenue past 9.2 million) make 128-bit products */
    for (a = 0; narrow && a < k; a++) {
        for (b = a; b < k; b++) {
            pi[np] = PIDX(nz[a], nz[b]);
            pv[np++] = v[nz[a]] * v[nz[b]];
        }
    }

    for (t = 0; t < nto; t++) {
        s = to[t];
        s->n++;
        if (post->revenue > s->top) {
            s->top = post->revenue;
        }
        for (a = 0; a < k; a++) {
            sum_add(&s->s[nz[a]], v[nz[a]]);
        }
        if (narrow) {
            for (i = 0; i < np; i++) {
                sum_add(&s->p[pi[i]], pv[i]);
            }
            continue;
        }
        for (a = 0; a < k; a++) {
            for (b = a; b < k; b++) {
                ab_w256_add_prod(&s->p[PIDX(nz[a], nz[b])].spill, v[nz[a]],
                                 v[nz[b]]);
            }
        }
    }
}


void
ab_msums_merge(ab_msums_t *a, const ab_msums_t *b)
{
    size_t  i;

    a->n += b->n;
    if (b->top > a->top) {
        a->top = b->top;
    }
    for (i = 0; i < AB_MV_N; i++) {
        sum_merge(&a->s[i], &b->s[i]);
    }
    for (i = 0; i < AB_MP_N; i++) {
        sum_merge(&a->p[i], &b->p[i]);
    }
}


static ab_wide_t
wide_n(const ab_msums_t *s)
{
    ab_w256_t  n = { { s->n, 0, 0, 0 } };

    return ab_wide_of(&n);
}


ab_wide_t
ab_msums_sum(const ab_msums_t *s, int i)
{
    return i == AB_MV_ONE ? wide_n(s) : sum_wide(&s->s[i]);
}


ab_wide_t
ab_msums_prod(const ab_msums_t *s, int i, int j)
{
    if (i == AB_MV_ONE) {
        return ab_msums_sum(s, j);
    }
    if (j == AB_MV_ONE) {
        return ab_msums_sum(s, i);
    }

    return sum_wide(&s->p[i <= j ? PIDX(i, j) : PIDX(j, i)]);
}


uint64_t
ab_msums_count(const ab_msums_t *s, int i)
{
    ab_wide_t  w = ab_msums_sum(s, i);

    return w.w[0];
}


long double
ab_msums_mean(const ab_msums_t *s, int i)
{
    ab_wide_t  sum = ab_msums_sum(s, i);

    return s->n > 0 ? ab_wide_ld(&sum) / s->n : NAN;
}


long double
ab_msums_cov(const ab_msums_t *s, int i, int j)
{
    ab_wide_t  n = wide_n(s), si = ab_msums_sum(s, i), sj = ab_msums_sum(s, j);
    ab_wide_t  sij = ab_msums_prod(s, i, j), a, b, num;

    if (s->n < 2) {
        return NAN;
    }
    /* n sum(ij) - sum(i) sum(j) = n (n - 1) cov, exactly */
    a = ab_wide_mul(&n, &sij);
    b = ab_wide_mul(&si, &sj);
    num = ab_wide_sub(&a, &b);

    return ab_wide_ld(&num) / s->n / (s->n - 1);
}


long double
ab_msums_ratio_resid(const ab_msums_t *s, int x, int y)
{
    ab_wide_t  ux = ab_msums_sum(s, x), uy = ab_msums_sum(s, y);
    ab_wide_t  sxx = ab_msums_prod(s, x, x), sxy = ab_msums_prod(s, x, y);
    ab_wide_t  syy = ab_msums_prod(s, y, y), t1, t2, a, b, c;

    /* uy^2 sxx - 2 ux uy sxy + ux^2 syy = uy (uy sxx - ux sxy)
     * - ux (uy sxy - ux syy) */
    t1 = ab_wide_mul(&uy, &sxx);
    t2 = ab_wide_mul(&ux, &sxy);
    a = ab_wide_sub(&t1, &t2);
    t1 = ab_wide_mul(&uy, &sxy);
    t2 = ab_wide_mul(&ux, &syy);
    b = ab_wide_sub(&t1, &t2);
    t1 = ab_wide_mul(&uy, &a);
    t2 = ab_wide_mul(&ux, &b);
    c = ab_wide_sub(&t1, &t2);

    return ab_wide_ld(&c);
}
