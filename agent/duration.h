/*
 * duration.h - the one parser of time values: flagsync.ini's time keys
 * and the duration keys plugins read through the host API.
 *
 * A duration is "N" (seconds) or N followed by s, m, h or d (w, weeks,
 * is read too, for files that used it); nothing else, no sign, no space.
 */
#ifndef FLAGSYNC_DURATION_H
#define FLAGSYNC_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* What a message about a value that is not a duration says it takes. */
#define DURATION_FORMS	"N (seconds), Ns, Nm, Nh or Nd"

/*
 * Parses s into *secs.  Returns 0, EINVAL (not a duration) or ERANGE
 * (more than max seconds); *secs is left alone on error.
 */
int	duration_parse(const char *s, int64_t max, int64_t *secs);

/* secs in the largest unit that divides it ("0", "45s", "1h", "3650d")
 * into out, always terminated. */
void	duration_show(char *out, size_t len, int64_t secs);

#endif
