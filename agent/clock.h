/*
 * clock.h - wall-clock milliseconds since the epoch: the unit of every time
 * the agent stores (event times, status, dead letters, last errors, issue
 * status times).
 */
#ifndef FLAGSYNC_CLOCK_H
#define FLAGSYNC_CLOCK_H

#include <stdint.h>

/*
 * Now, in ms since the epoch.  In a build with test hooks
 * (--enable-test-hooks), a valid FLAGSYNC_TEST_NOW (what clock_parse_ms()
 * reads) is returned instead: tests drive time-based logic (how long an
 * issue has been Done, how long a flag has been at 100%) without waiting.
 * An unreadable value is warned about once and the real clock used.
 * Thread-safe (the environment is only read).
 */
int64_t	clock_now_ms(void);

/*
 * A time as ms since the epoch: all digits (ms), or RFC 3339 / ISO 8601
 * "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|+HHMM]" (Jira writes
 * "2025-10-16T11:37:51.743-0300").  A date timegm() would have to
 * normalise (February 30) is refused.  0, or EINVAL.
 */
int	clock_parse_ms(const char *s, int64_t *ms);

#endif
