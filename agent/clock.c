/*
 * clock.c - the agent's one wall clock, and the one parser for the times
 * it is given (Jira's dates, the tests' injected now).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

/* n digits at p, or -1. */
static int
clock_num(const char *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static int
clock_all_digits(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* "Z", "+HH:MM", "+HHMM" or "-..." as seconds east of UTC; EINVAL. */
static int
clock_zone(const char *p, long *off)
{
	int h, m, sign;

	if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		*off = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return EINVAL;
	sign = *p == '-' ? -1 : 1;
	p++;
	if ((h = clock_num(p, 2)) < 0 || h > 23)
		return EINVAL;
	p += 2;
	if (*p == ':')
		p++;
	if ((m = clock_num(p, 2)) < 0 || m > 59 || p[2] != '\0')
		return EINVAL;
	*off = sign * (h * 3600L + m * 60L);
	return 0;
}

/* The fraction after the seconds as ms (extra digits dropped); advances *pp. */
static int
clock_fraction(const char **pp)
{
	const char *p = *pp;
	int ms = 0, i;

	if (*p != '.')
		return 0;
	p++;
	for (i = 0; *p >= '0' && *p <= '9'; p++, i++)
		if (i < 3)
			ms = ms * 10 + (*p - '0');
	for (; i < 3 && i > 0; i++)
		ms *= 10;
	*pp = p;
	return i == 0 ? -1 : ms;
}

int
clock_parse_ms(const char *s, int64_t *ms)
{
	struct tm tm, want;
	const char *p;
	time_t sec;
	long off;
	int frac;

	if (s == NULL)
		return EINVAL;
	if (clock_all_digits(s)) {
		errno = 0;
		*ms = strtoll(s, NULL, 10);
		return errno ? EINVAL : 0;
	}
	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return EINVAL;
	memset(&want, 0, sizeof(want));
	if ((want.tm_year = clock_num(s, 4)) < 0 ||
	    (want.tm_mon = clock_num(s + 5, 2)) < 0 ||
	    (want.tm_mday = clock_num(s + 8, 2)) < 0 ||
	    (want.tm_hour = clock_num(s + 11, 2)) < 0 ||
	    (want.tm_min = clock_num(s + 14, 2)) < 0 ||
	    (want.tm_sec = clock_num(s + 17, 2)) < 0)
		return EINVAL;
	want.tm_year -= 1900;
	want.tm_mon -= 1;
	p = s + 19;
	if ((frac = clock_fraction(&p)) < 0 || clock_zone(p, &off) != 0)
		return EINVAL;
	tm = want;
	errno = 0;
	sec = timegm(&tm);
	if ((sec == (time_t)-1 && errno != 0) || tm.tm_mday != want.tm_mday ||
	    tm.tm_mon != want.tm_mon || tm.tm_hour != want.tm_hour ||
	    tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
		return EINVAL;
	*ms = ((int64_t)sec - off) * 1000 + frac;
	return 0;
}

int64_t
clock_now_ms(void)
{
	struct timespec ts;
#ifdef FLAGSYNC_TEST_HOOKS
	static int warned;
	const char *s;
	int64_t ms;

	if ((s = getenv("FLAGSYNC_TEST_NOW")) != NULL && *s != '\0') {
		if (clock_parse_ms(s, &ms) == 0)
			return ms;
		if (!warned) {
			warned = 1;
			log_warnx("FLAGSYNC_TEST_NOW=%s: not ms or RFC 3339; "
			    "using the real clock", s);
		}
	}
#endif
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
