#include "bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE  ((uintptr_t) 2 * 1024 * 1024)


void
ab_huge_pages(void *p, size_t len)
{
#if defined(MADV_HUGEPAGE)
    uintptr_t  start = ((uintptr_t) p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t  end = ((uintptr_t) p + len) & ~(HUGE_PAGE - 1);

    if (p != NULL && end > start) {
        /* advice only: a kernel without THP says EINVAL, and the table
         * works the same on small pages */
        (void) madvise((void *) start, end - start, MADV_HUGEPAGE);
    }
#else
    (void) p;
    (void) len;
#endif
}
