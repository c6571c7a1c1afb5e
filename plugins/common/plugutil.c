/*
 * plugutil.c - helpers every bundled output plugin uses (plugutil.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <flagsync/plugin.h>

#include "plugutil.h"

void
plug_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void *
plug_ctx_new(size_t size, char *err, size_t errlen)
{
	void *ctx;

	if ((ctx = calloc(1, size)) == NULL)
		plug_err(err, errlen, "out of memory");
	return ctx;
}

int
plug_oom(char *err, size_t errlen)
{
	plug_err(err, errlen, "out of memory");
	return FLAGSYNC_RETRY;
}

int
plug_refuse(const struct flagsync_host_api *api, struct flagsync_host *h,
    const char *key, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (FLAGSYNC_HOST_HAS(api, config_error))
		api->config_error(h, key, "%s", msg);
	plug_err(err, errlen, "%s", msg);
	return EINVAL;
}

const char *
plug_strerror(int e, char *buf, size_t len)
{
	return strerror_r(e, buf, len);
}

int
plug_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

long
plug_seconds(const char *s, long def)
{
	char *end;
	long v;

	if (s == NULL)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < 1 || v > 3600)
		return def;
	return v;
}
