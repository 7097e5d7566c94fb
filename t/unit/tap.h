/*
 * Minimal TAP producer for the C unit tests, read by prove.
 * Header-only so every test is a single file.
 */

#ifndef AB_TAP_H
#define AB_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int  tap_count;
static int  tap_failed;

static inline int
tap_ok(int pass, const char *fmt, ...)
{
    va_list  ap;

    tap_count++;
    printf("%sok %d - ", pass ? "" : "not ", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");

    if (!pass) {
        tap_failed++;
    }

    return pass;
}

static inline void
tap_diag(const char *fmt, ...)
{
    va_list  ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Relative closeness, for numbers checked against a reference. */
static inline int
tap_close(double got, double want, double rel, const char *what)
{
    double  tol = rel * (fabs(want) > 1 ? fabs(want) : 1);
    int     pass = fabs(got - want) <= tol;

    tap_ok(pass, "%s", what);
    if (!pass) {
        tap_diag("got %.17g, want %.17g", got, want);
    }

    return pass;
}

/* splitmix64: reproducible values for the tests that make up their
 * input, from a state of the test's own. */
static inline uint64_t
tap_splitmix64(uint64_t *state)
{
    uint64_t  z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}

static inline int
tap_done(void)
{
    printf("1..%d\n", tap_count);
    fflush(stdout);

    return tap_failed ? 1 : 0;
}

#endif /* AB_TAP_H */
