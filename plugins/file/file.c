/*
 * file.c - the "file" output plugin: appends each event's JSON
 * document, verbatim, as one line of a file.
 *
 *	[plugin audit]
 *	module = file
 *	path   = /var/lib/flagsync/events.jsonl	; required, absolute
 *	fsync  = no				; yes: flush each line to disk
 *
 * Each line goes out in one write(2) of the whole buffer on an O_APPEND
 * descriptor, so readers (tail -f, log shippers) only ever see whole
 * lines.  A short write is cut back with ftruncate(2) before RETRY: a
 * full disk never leaves half a line for the next one to run into.
 * Open and write errors are RETRY, so events wait rather than vanish.
 * reopen() follows logrotate's rename-then-SIGHUP.
 *
 * Ownership: the context owns its descriptor and line buffer; `path`
 * points into the host's config, valid until shutdown() returns.
 */
/* For the GNU strerror_r(), which returns the text; the tree passes
 * -D_GNU_SOURCE but the plugin also builds on its own. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <flagsync/plugin.h>

#include "plugutil.h"

#define FILE_MODE	0640
#define FILE_LINE_MIN	4096

struct file_ctx {
	const struct flagsync_host_api *api;
	struct flagsync_host *host;
	const char	*path;
	int		 sync;		/* fsync = yes */
	int		 fd;		/* -1: open before the next line */
	int		 stale;		/* reopen() waits for a pending cut */
	off_t		 cut_to;	/* -1, or where a partial line starts */
	char		*line;		/* the event's JSON and '\n' */
	size_t		 linecap;
};

/* file's own keys; a host older than ABI 1.1 also lists its own. */
static const char *const file_keys[] = {
	"path", "fsync", "module", "events", "timeout", NULL
};

static int
file_known(const char *key)
{
	size_t i;

	for (i = 0; file_keys[i] != NULL; i++)
		if (strcmp(key, file_keys[i]) == 0)
			return 1;
	return 0;
}

/* Reads and checks the instance's keys.  0, or EINVAL with err set. */
static int
file_config(const struct flagsync_host_api *api, struct flagsync_host *h,
    const char **path, int *sync, char *err, size_t errlen)
{
	const char *key, *value;
	size_t i;

	for (i = 0; (key = api->config_key(h, i, &value)) != NULL; i++)
		if (!file_known(key))
			return plug_refuse(api, h, key, err, errlen,
			    "unknown key \"%s\" (the file module knows path "
			    "and fsync)", key);
	*path = api->config_get(h, "path");
	if (*path == NULL || **path == '\0')
		return plug_refuse(api, h, "path", err, errlen, "path is "
		    "required: the file to append events to");
	if (**path != '/')
		return plug_refuse(api, h, "path", err, errlen, "path \"%s\" "
		    "is not absolute", *path);
	*sync = 0;
	/* the host's getter words its own refusal, naming the line */
	if (FLAGSYNC_HOST_HAS(api, config_bool)) {
		if (api->config_bool(h, "fsync", 0, sync) != 0) {
			plug_err(err, errlen, "fsync: use yes or no");
			return EINVAL;
		}
		return 0;
	}
	value = api->config_get(h, "fsync");
	if (value != NULL && plug_bool(value, sync) != 0) {
		plug_err(err, errlen, "fsync = \"%s\": use yes or no", value);
		return EINVAL;
	}
	return 0;
}

/*
 * A file O_CREAT just made survives a crash only once its directory
 * entry is on disk too.  Best effort: some file systems refuse fsync on
 * a directory, and the lines themselves are synced regardless.
 */
static void
file_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if ((dir = strndup(path, slash == path ? 1 : (size_t)(slash - path))) ==
	    NULL)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Returns 0 or an errno value. */
static int
file_open(struct file_ctx *fc)
{
	int fd;

	fd = open(fc->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, FILE_MODE);
	if (fd == -1)
		return errno;
	fc->fd = fd;
	if (fc->sync)
		file_sync_dir(fc->path);
	return 0;
}

static void
file_close(struct file_ctx *fc)
{
	if (fc->fd != -1)
		close(fc->fd);
	fc->fd = -1;
	fc->stale = 0;
}

/* Removes the pending partial line.  0 or an errno value. */
static int
file_cut(struct file_ctx *fc)
{
	if (ftruncate(fc->fd, fc->cut_to) == -1)
		return errno;
	fc->cut_to = -1;
	return 0;
}

/*
 * The last n bytes written are a line that must not stay.  With O_APPEND
 * the offset after a write is the end of what it wrote, so the line
 * starts n bytes before it.  0 or an errno value (the cut is then
 * pending and retried before anything else is written).
 */
static int
file_undo(struct file_ctx *fc, size_t n)
{
	off_t end;

	if ((end = lseek(fc->fd, 0, SEEK_CUR)) == -1)
		return errno;
	fc->cut_to = end - (off_t)n;
	return file_cut(fc);
}

/* Gets the descriptor ready for a line.  0, or -1 with err set. */
static int
file_ready(struct file_ctx *fc, char *err, size_t errlen)
{
	char ebuf[128];
	int e;

	if (fc->cut_to != -1 && (e = file_cut(fc)) != 0) {
		plug_err(err, errlen, "cannot remove a partial line from %s: "
		    "%s", fc->path, plug_strerror(e, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fc->stale)
		file_close(fc);
	if (fc->fd == -1 && (e = file_open(fc)) != 0) {
		plug_err(err, errlen, "cannot open %s: %s", fc->path,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
		return -1;
	}
	return 0;
}

/* Puts json and '\n' in the line buffer.  0 or ENOMEM. */
static int
file_line(struct file_ctx *fc, const char *json, size_t len)
{
	size_t cap;
	char *p;

	if (len >= fc->linecap) {
		cap = fc->linecap > 0 ? fc->linecap : FILE_LINE_MIN;
		while (cap <= len) {
			if (cap > SIZE_MAX / 2)
				return ENOMEM;
			cap *= 2;
		}
		if ((p = realloc(fc->line, cap)) == NULL)
			return ENOMEM;
		fc->line = p;
		fc->linecap = cap;
	}
	memcpy(fc->line, json, len);
	fc->line[len] = '\n';
	return 0;
}

/* A write stopped short after n of len bytes: take them back. */
static int
file_short(struct file_ctx *fc, size_t n, size_t len, char *err,
    size_t errlen)
{
	char ebuf[128];
	int e;

	if ((e = file_undo(fc, n)) != 0)
		plug_err(err, errlen, "short write to %s (%zu of %zu bytes), "
		    "cannot remove the partial line yet: %s", fc->path, n, len,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
	else
		plug_err(err, errlen, "short write to %s (%zu of %zu bytes, "
		    "file system full or file too large?); the partial line "
		    "was removed", fc->path, n, len);
	return FLAGSYNC_RETRY;
}

/* A line is out but not on disk: take it back, it comes again. */
static int
file_sync_failed(struct file_ctx *fc, int e, size_t len, char *err,
    size_t errlen)
{
	char ebuf[128], ebuf2[128];
	int e2;

	if ((e2 = file_undo(fc, len)) != 0)
		plug_err(err, errlen, "cannot fsync %s: %s (and cannot remove "
		    "the line yet: %s)", fc->path,
		    plug_strerror(e, ebuf, sizeof(ebuf)),
		    plug_strerror(e2, ebuf2, sizeof(ebuf2)));
	else
		plug_err(err, errlen, "cannot fsync %s: %s", fc->path,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
	return FLAGSYNC_RETRY;
}

static int
file_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct file_ctx *fc = ctx;
	char ebuf[128];
	size_t len;
	ssize_t n;
	int e;

	if (ev->json == NULL) {
		plug_err(err, errlen, "event %llu has no JSON document",
		    (unsigned long long)ev->seq);
		return FLAGSYNC_FAIL;
	}
	if (file_ready(fc, err, errlen) != 0)
		return FLAGSYNC_RETRY;
	if (file_line(fc, ev->json, ev->json_len) != 0) {
		plug_err(err, errlen, "out of memory for a %zu-byte line",
		    ev->json_len + 1);
		return FLAGSYNC_RETRY;
	}
	len = ev->json_len + 1;
	do
		n = write(fc->fd, fc->line, len);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		e = errno;
		/* Nothing was written; a new descriptor may fare better. */
		file_close(fc);
		plug_err(err, errlen, "cannot write to %s: %s", fc->path,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
		return FLAGSYNC_RETRY;
	}
	if ((size_t)n < len)
		return file_short(fc, (size_t)n, len, err, errlen);
	/* Data and size are what a reader needs; mtime can wait. */
	if (fc->sync && fdatasync(fc->fd) == -1)
		return file_sync_failed(fc, errno, len, err, errlen);
	return FLAGSYNC_OK;
}

static int
file_check_config(const struct flagsync_host_api *api,
    struct flagsync_host *h, char *err, size_t errlen)
{
	const char *path;
	int sync;

	return file_config(api, h, &path, &sync, err, errlen);
}

static int
file_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct file_ctx *fc;
	char ebuf[128];
	const char *path;
	int sync, e;

	if ((e = file_config(api, h, &path, &sync, err, errlen)) != 0)
		return e;
	if ((fc = plug_ctx_new(sizeof(*fc), err, errlen)) == NULL)
		return ENOMEM;
	fc->api = api;
	fc->host = h;
	fc->path = path;
	fc->sync = sync;
	fc->fd = -1;
	fc->cut_to = -1;
	/* Not fatal: the events wait until the file can be opened. */
	if ((e = file_open(fc)) != 0)
		api->log(h, FLAGSYNC_LOG_WARNING, "cannot open %s: %s; events "
		    "wait until it can be", path,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
	else
		api->log(h, FLAGSYNC_LOG_DEBUG, "appending events to %s%s",
		    path, sync ? " (fsync)" : "");
	*ctx = fc;
	return 0;
}

static void
file_reopen(void *ctx)
{
	struct file_ctx *fc = ctx;
	char ebuf[128];
	int e;

	/* A partial line goes before the old file is let go. */
	if (fc->cut_to != -1 && file_cut(fc) != 0) {
		fc->stale = 1;
		return;
	}
	file_close(fc);
	if ((e = file_open(fc)) != 0)
		fc->api->log(fc->host, FLAGSYNC_LOG_WARNING, "cannot reopen "
		    "%s: %s; events wait until it can be", fc->path,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
}

static void
file_shutdown(void *ctx)
{
	struct file_ctx *fc = ctx;

	if (fc == NULL)
		return;
	if (fc->cut_to != -1 && file_cut(fc) != 0)
		fc->api->log(fc->host, FLAGSYNC_LOG_WARNING, "a partial line "
		    "remains at the end of %s", fc->path);
	file_close(fc);
	free(fc->line);
	free(fc);
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "file",
	.version = "1.0",
	.check_config = file_check_config,
	.init = file_init,
	.deliver = file_deliver,
	.reopen = file_reopen,
	.shutdown = file_shutdown,
);
