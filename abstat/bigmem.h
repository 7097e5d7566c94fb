/*
 * Big tables read at random (visitors, memberships, their totals) span
 * thousands of 4 KiB pages: more than the TLB holds, so most lookups
 * also walk the page tables (twice over in a virtual machine). Asking
 * for transparent huge pages on them turns 512 of those pages into one.
 */

#ifndef ABSTAT_BIGMEM_H
#define ABSTAT_BIGMEM_H

#include <stddef.h>

/* Advises huge pages for the whole 2 MiB pages inside [p, p + len);
 * nothing for smaller blocks, nothing where the system has none. */
void ab_huge_pages(void *p, size_t len);

#endif /* ABSTAT_BIGMEM_H */
