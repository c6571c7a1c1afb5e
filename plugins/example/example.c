/*
 * example.c - a small flagsync output plugin, to copy and adapt.
 *
 * For every change event it appends one line to a file,
 *
 *	42 flag.rollout_changed Default/new_checkout
 *
 * and keeps a count of its deliveries in the host's key/value store,
 * which survives restarts.  Configure an instance in flagsync.ini:
 *
 *	[plugin myexample]
 *	module = example
 *	path   = /var/lib/flagsync/example.log
 *
 * The whole contract is <flagsync/plugin.h>: read its comments.  The
 * plugin includes nothing else of flagsync's and exports one symbol,
 * `flagsync_plugin` (FLAGSYNC_PLUGIN_DEFINE at the end).  Build it with
 * -fvisibility=hidden so everything else stays private (see Makefile).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <flagsync/plugin.h>

#define COUNT_KEY	"delivered"

/* One instance: init() makes it, the host hands it back, shutdown() frees
 * it.  `path` is the host's string, valid until shutdown() returns. */
struct example {
	const struct flagsync_host_api *api;
	struct flagsync_host *host;
	const char	*path;
	int		 fd;		/* -1: open again before writing */
	unsigned long long delivered;
};

static int
example_open(struct example *ex)
{
	ex->fd = open(ex->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	return ex->fd == -1 ? -1 : 0;
}

/*
 * `flagsync check-config` calls this, and init() below.  Reject unknown
 * keys so a typo is reported instead of silently ignored; the host's own
 * keys (module, events, timeout, start, credentials) are not listed.
 * config_error() words the refusal as the host does, naming the file and
 * the key's own line: "flagsync.ini:12: [plugin myexample] path: ...".
 */
static int
example_check_config(const struct flagsync_host_api *api,
    struct flagsync_host *h, char *err, size_t errlen)
{
	const char *key, *value, *path;
	size_t i;

	(void)err;
	(void)errlen;
	for (i = 0; (key = api->config_key(h, i, &value)) != NULL; i++)
		if (strcmp(key, "path") != 0)
			return api->config_error(h, key, "unknown key \"%s\" "
			    "(example knows path)", key);
	path = api->config_get(h, "path");
	if (path == NULL || path[0] != '/')
		return api->config_error(h, "path", "path must be set to an "
		    "absolute file name");
	return 0;
}

/* The count stored so far; 0 the first time (FLAGSYNC_ENOTFOUND). */
static unsigned long long
example_load_count(struct example *ex)
{
	unsigned long long n = 0;
	char buf[32];
	void *value;
	size_t len;

	if (ex->api->kv_get(ex->host, COUNT_KEY, &value, &len) != 0)
		return 0;
	if (len < sizeof(buf)) {
		memcpy(buf, value, len);
		buf[len] = '\0';
		n = strtoull(buf, NULL, 10);
	}
	/* Buffers from the host go back to the host. */
	ex->api->release(ex->host, value);
	return n;
}

static void
example_store_count(struct example *ex)
{
	char num[32];
	int len, rc;

	len = snprintf(num, sizeof(num), "%llu", ex->delivered);
	rc = ex->api->kv_put(ex->host, COUNT_KEY, num, (size_t)len);
	/* The event itself went out: a lost count is only worth a line. */
	if (rc != 0)
		ex->api->log(ex->host, FLAGSYNC_LOG_WARNING, "cannot store "
		    "the delivery count: %s", rc > 0 ? strerror(rc) :
		    "not found");
}

static int
example_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct example *ex;

	if (example_check_config(api, h, err, errlen) != 0)
		return -1;
	if ((ex = calloc(1, sizeof(*ex))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ex->api = api;
	ex->host = h;
	ex->path = api->config_get(h, "path");
	if (example_open(ex) != 0) {
		snprintf(err, errlen, "cannot open %s: %s", ex->path,
		    strerror(errno));
		free(ex);
		return -1;
	}
	ex->delivered = example_load_count(ex);
	api->log(h, FLAGSYNC_LOG_INFO, "writing events to %s (%llu "
	    "delivered so far)", ex->path, ex->delivered);
	*ctx = ex;
	return 0;
}

/*
 * Called once per event, in seq order.  OK moves on; RETRY has the host
 * offer the same event again later (the file may come back); FAIL makes
 * it a dead letter.  Delivery is at least once: after a crash an event
 * may come twice, and ev->seq tells them apart.
 */
static int
example_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct example *ex = ctx;
	char line[1024];
	ssize_t n;
	int len;

	if (ex->fd == -1 && example_open(ex) != 0) {
		snprintf(err, errlen, "cannot open %s: %s", ex->path,
		    strerror(errno));
		return FLAGSYNC_RETRY;
	}
	len = snprintf(line, sizeof(line), "%" PRIu64 " %s %s/%s\n", ev->seq,
	    ev->type, ev->project != NULL ? ev->project : "-",
	    ev->flag != NULL ? ev->flag : "-");
	if (len < 0 || (size_t)len >= sizeof(line)) {
		snprintf(err, errlen, "event %" PRIu64 " makes a line longer "
		    "than %zu bytes", ev->seq, sizeof(line));
		return FLAGSYNC_FAIL;
	}
	/* One write per line; the file plugin also takes back the partial
	 * line a full disk leaves. */
	n = write(ex->fd, line, (size_t)len);
	if (n != len) {
		snprintf(err, errlen, "cannot write to %s: %s", ex->path,
		    n == -1 ? strerror(errno) : "short write");
		return FLAGSYNC_RETRY;
	}
	ex->delivered++;
	example_store_count(ex);
	return FLAGSYNC_OK;
}

/* After SIGHUP: logrotate has moved the file away, start a new one. */
static void
example_reopen(void *ctx)
{
	struct example *ex = ctx;

	if (ex->fd != -1)
		close(ex->fd);
	/* On failure fd stays -1 and the next deliver() says why. */
	(void)example_open(ex);
}

static void
example_shutdown(void *ctx)
{
	struct example *ex = ctx;

	if (ex->fd != -1)
		close(ex->fd);
	free(ex);
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "example",
	.version = "1.1",
	.check_config = example_check_config,
	.init = example_init,
	.deliver = example_deliver,
	.reopen = example_reopen,
	.shutdown = example_shutdown,
);
