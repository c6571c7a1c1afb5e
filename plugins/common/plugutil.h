/*
 * plugutil.h - the small helpers every bundled output plugin had its own
 * copy of: the err line, a refused configuration key, thread-safe
 * strerror, the yes/no words and the timeout seconds of flagsync.ini.
 * Compiled into each plugin module (the modules link nothing of
 * flagsync's) and not exported: the modules are -fvisibility=hidden.
 */
#ifndef FLAGSYNC_PLUGUTIL_H
#define FLAGSYNC_PLUGUTIL_H

#include <stddef.h>

#include <flagsync/plugin.h>

/* Formats the one-line message into err (nothing when err is NULL or
 * errlen 0). */
void	plug_err(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* An instance's zeroed context of size bytes (free() it), or NULL with
 * "out of memory" in err. */
void	*plug_ctx_new(size_t size, char *err, size_t errlen);
/* "out of memory" into err: FLAGSYNC_RETRY, the event waits. */
int	plug_oom(char *err, size_t errlen);
/*
 * Refuses key's value: with config_error() (ABI 1.1), so that the message
 * names the key's own file:line, and in err either way (an older host
 * has only that).  Returns EINVAL.
 */
int	plug_refuse(const struct flagsync_host_api *api,
	    struct flagsync_host *h, const char *key, char *err,
	    size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* strerror(3) is not thread-safe and instances run in parallel. */
const char *plug_strerror(int e, char *buf, size_t len);
/* The yes/no words the rest of flagsync.ini accepts: 0 with *out, or
 * -1 when s is neither. */
int	plug_bool(const char *s, int *out);
/* Seconds from 1 to 3600, or def when s is NULL or not such a number. */
long	plug_seconds(const char *s, long def);

#endif
