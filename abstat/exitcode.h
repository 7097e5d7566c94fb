/*
 * abstat's exit codes, as abstat.1 documents them: one list for every
 * command.
 */

#ifndef ABSTAT_EXITCODE_H
#define ABSTAT_EXITCODE_H

#define EXIT_INPUT      1       /* a file could not be read; report written */
#define EXIT_USAGE      2
#define EXIT_INTERNAL   3       /* out of memory, output or spool failure */
#define EXIT_LOCKED     4       /* --no-wait and another run holds --state */
#define EXIT_STATE      5       /* --state file unusable or not written */
#define EXIT_BAD_INPUT  6       /* a file without one valid line, or bad
                                   lines over --max-bad; report written */
#define EXIT_SRM        10      /* --fail-on srm: an SRM alert */
#define EXIT_GUARDRAIL  11      /* --fail-on guardrail: a guardrail regressed */
#define EXIT_BOTH       12      /* both of the above */
#define EXIT_DRIFT      13      /* --fail-on drift: the audit found a
                                   mismatch; wins over 10 to 12 */

#endif /* ABSTAT_EXITCODE_H */
