/* duration.c - "90d", "1m", "30": the one parser of time values. */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "duration.h"

static const struct { char unit; int64_t secs; } duration_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	{ 'w', 7 * 86400 },
};
#define DURATION_NUNITS	(sizeof(duration_units) / sizeof(duration_units[0]))

int
duration_parse(const char *s, int64_t max, int64_t *secs)
{
	int64_t mult = 1;
	long long n;
	char *end;
	size_t i;

	/* strtoll would take a sign and leading space: a duration has none */
	if (!isdigit((unsigned char)s[0]))
		return EINVAL;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (*end != '\0') {
		for (i = 0; i < DURATION_NUNITS; i++)
			if (end[0] == duration_units[i].unit && end[1] == '\0')
				break;
		if (i == DURATION_NUNITS)
			return EINVAL;
		mult = duration_units[i].secs;
	}
	if (errno == ERANGE || n > max / mult)
		return ERANGE;
	*secs = (int64_t)n * mult;
	return 0;
}

void
duration_show(char *out, size_t len, int64_t secs)
{
	size_t i = DURATION_NUNITS - 1;	/* up to d: "2w" reads oddly */

	if (secs <= 0) {
		snprintf(out, len, "%lld", (long long)secs);
		return;
	}
	while (i > 1 && secs % duration_units[i - 1].secs != 0)
		i--;
	snprintf(out, len, "%lld%c", (long long)(secs /
	    duration_units[i - 1].secs), duration_units[i - 1].unit);
}
