/*
 * v11plug.c - a plugin that uses what ABI 1.1 added, for the tests:
 *   check_config and init read every key through the typed getters and
 *   refuse, through config_error(), a bad value and any key they do not
 *   know (the host's own keys must not be listed to them):
 *     log = PATH       "SEQ TYPE time=TIME_MS" for every event, written
 *                      out by flush() ("flush N" after the N events)
 *     batch = yes|no   keep events until flush() (default yes)
 *     limit = N        an integer, 1..100 (read, not used)
 *     pause = DURATION a duration (read, not used)
 *     grants = PATH    at init, which agent secrets it can read: "jira_url
 *                      set|null jira_token set|null split_url set|null
 *                      split_key set|null" (never the values)
 *     stall = yes      the first attempt of each event waits until
 *                      cancelled() and answers RETRY ("cancelled SEQ")
 *     flush_fail = N   flush() answers RETRY N times
 *   load() and unload() append "load" / "unload" to $V11PLUG_LOADLOG when
 *   set; load() refuses when $V11PLUG_LOAD_FAIL is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <flagsync/plugin.h>

struct v11 {
	const struct flagsync_host_api *api;
	struct flagsync_host *h;
	FILE	*log;
	int	 batch;
	int	 stall;
	int64_t	 flush_fail;
	uint64_t stalled;	/* the last seq whose first attempt stalled */
	char	*pending;	/* lines waiting for flush() */
	size_t	 npending, len;
};

static const char *const v11_keys[] = { "log", "batch", "limit", "pause",
	"grants", "stall", "flush_fail", NULL };

/* Every key known and well-formed; 0 or 1 after a config_error(). */
static int
v11_keys_check(const struct flagsync_host_api *api, struct flagsync_host *h)
{
	const char *key, *val;
	int64_t n;
	size_t i, k;
	int b;

	for (i = 0; (key = api->config_key(h, i, &val)) != NULL; i++) {
		for (k = 0; v11_keys[k] != NULL; k++)
			if (strcmp(v11_keys[k], key) == 0)
				break;
		if (v11_keys[k] == NULL)
			return api->config_error(h, key, "unknown key");
	}
	if (api->config_bool(h, "batch", 1, &b) != 0 ||
	    api->config_bool(h, "stall", 0, &b) != 0 ||
	    api->config_int(h, "limit", 10, 1, 100, &n) != 0 ||
	    api->config_int(h, "flush_fail", 0, 0, 1000, &n) != 0 ||
	    api->config_duration(h, "pause", 0, &n) != 0)
		return 1;
	if ((val = api->config_get(h, "log")) != NULL && val[0] != '/')
		return api->config_error(h, "log", "give an absolute path");
	return 0;
}

static int
v11_check_config(const struct flagsync_host_api *api, struct flagsync_host *h,
    char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return v11_keys_check(api, h);
}

static const char *
v11_set(const char *v)
{
	return v ? "set" : "null";
}

static int
v11_grants(const struct flagsync_host_api *api, struct flagsync_host *h,
    const char *path)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return api->config_error(h, "grants", "cannot open %s", path);
	fprintf(f, "jira_url %s jira_token %s split_url %s split_key %s\n",
	    v11_set(api->agent_config(h, "jira", "url")),
	    v11_set(api->agent_config(h, "jira", "api_token")),
	    v11_set(api->agent_config(h, "split", "api_url")),
	    v11_set(api->agent_config(h, "split", "admin_key")));
	fclose(f);
	return 0;
}

static int
v11_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	const char *v;
	struct v11 *p;

	if (!FLAGSYNC_HOST_HAS(api, cancelled)) {
		snprintf(err, errlen, "needs a host with ABI 1.1");
		return 1;
	}
	if (v11_keys_check(api, h) != 0)
		return 1;
	if ((v = api->config_get(h, "grants")) != NULL &&
	    v11_grants(api, h, v) != 0)
		return 1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return 1;
	p->api = api;
	p->h = h;
	api->config_bool(h, "batch", 1, &p->batch);
	api->config_bool(h, "stall", 0, &p->stall);
	api->config_int(h, "flush_fail", 0, 0, 1000, &p->flush_fail);
	if ((v = api->config_get(h, "log")) && (p->log = fopen(v, "a")) ==
	    NULL) {
		free(p);
		return api->config_error(h, "log", "cannot open %s", v);
	}
	*ctx = p;
	return 0;
}

/* Appends one line to the batch; 0 or -1 (out of memory). */
static int
v11_pend(struct v11 *p, const char *line)
{
	size_t n = strlen(line);
	char *s;

	if ((s = realloc(p->pending, p->len + n + 1)) == NULL)
		return -1;
	memcpy(s + p->len, line, n + 1);
	p->pending = s;
	p->len += n;
	p->npending++;
	return 0;
}

static int
v11_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct v11 *p = ctx;
	char line[256];

	if (p->stall && ev->seq != p->stalled) {
		p->stalled = ev->seq;
		while (!p->api->cancelled(p->h))
			nanosleep(&ts, NULL);
		if (p->log) {
			fprintf(p->log, "cancelled %llu\n",
			    (unsigned long long)ev->seq);
			fflush(p->log);
		}
		snprintf(err, errlen, "cancelled by the host");
		return FLAGSYNC_RETRY;
	}
	snprintf(line, sizeof(line), "%llu %s time=%lld\n",
	    (unsigned long long)ev->seq, ev->type, (long long)ev->time_ms);
	if (!p->batch) {
		if (p->log) {
			fputs(line, p->log);
			fflush(p->log);
		}
		return FLAGSYNC_OK;
	}
	if (v11_pend(p, line) != 0) {
		snprintf(err, errlen, "out of memory");
		return FLAGSYNC_RETRY;
	}
	return FLAGSYNC_OK;
}

static int
v11_flush(void *ctx, char *err, size_t errlen)
{
	struct v11 *p = ctx;

	if (p->flush_fail > 0) {
		p->flush_fail--;
		/* what was batched is lost, as in a crash: it comes again */
		free(p->pending);
		p->pending = NULL;
		p->len = p->npending = 0;
		snprintf(err, errlen, "flush refused (test)");
		return FLAGSYNC_RETRY;
	}
	if (p->log && p->npending) {
		fputs(p->pending, p->log);
		fprintf(p->log, "flush %zu\n", p->npending);
		fflush(p->log);
	}
	free(p->pending);
	p->pending = NULL;
	p->len = p->npending = 0;
	return FLAGSYNC_OK;
}

static void
v11_shutdown(void *ctx)
{
	struct v11 *p = ctx;

	if (p->log)
		fclose(p->log);
	free(p->pending);
	free(p);
}

static void
v11_loadlog(const char *what)
{
	const char *path = getenv("V11PLUG_LOADLOG");
	FILE *f;

	if (path && (f = fopen(path, "a")) != NULL) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

static int
v11_load(char *err, size_t errlen)
{
	if (getenv("V11PLUG_LOAD_FAIL") != NULL) {
		snprintf(err, errlen, "V11PLUG_LOAD_FAIL is set");
		return 1;
	}
	v11_loadlog("load");
	return 0;
}

static void
v11_unload(void)
{
	v11_loadlog("unload");
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "v11plug",
	.version = "1.1.7",
	.check_config = v11_check_config,
	.init = v11_init,
	.deliver = v11_deliver,
	.shutdown = v11_shutdown,
	.flush = v11_flush,
	.load = v11_load,
	.unload = v11_unload,
);
