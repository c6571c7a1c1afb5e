/*
 * testplug.c - a plugin whose behaviour the tests choose through its keys:
 *   log = PATH        append "SEQ TYPE attempt=N" for every deliver() call
 *   retry = N         answer RETRY N times for each event, then OK
 *   fail_type = GLOB  answer FAIL for events of these types
 *   hang = yes        never return from deliver()
 *   init_fail = yes   refuse init()
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <flagsync/plugin.h>

struct tp {
	const struct flagsync_host_api *api;
	struct flagsync_host *h;
	FILE	*log;
	int	 retry;
	const char *fail_type;
	int	 hang;
	uint64_t seq;		/* the event being retried */
	int	 attempt;
};

static int
tp_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	const char *v;
	struct tp *tp;

	if ((v = api->config_get(h, "init_fail")) && strcmp(v, "yes") == 0) {
		snprintf(err, errlen, "init_fail is set: refusing to start");
		return 1;
	}
	if ((tp = calloc(1, sizeof(*tp))) == NULL)
		return 1;
	tp->api = api;
	tp->h = h;
	if ((v = api->config_get(h, "log")) && (tp->log = fopen(v, "a")) ==
	    NULL) {
		snprintf(err, errlen, "cannot open %s", v);
		free(tp);
		return 1;
	}
	if ((v = api->config_get(h, "retry")))
		tp->retry = atoi(v);
	tp->fail_type = api->config_get(h, "fail_type");
	tp->hang = (v = api->config_get(h, "hang")) && strcmp(v, "yes") == 0;
	*ctx = tp;
	return 0;
}

static int
tp_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct tp *tp = ctx;

	if (ev->seq != tp->seq) {
		tp->seq = ev->seq;
		tp->attempt = 0;
	}
	tp->attempt++;
	if (tp->log) {
		fprintf(tp->log, "%llu %s attempt=%d%s\n",
		    (unsigned long long)ev->seq, ev->type, tp->attempt,
		    ev->replay ? " replay" : "");
		fflush(tp->log);
	}
	while (tp->hang)
		pause();
	if (tp->fail_type && fnmatch(tp->fail_type, ev->type, 0) == 0) {
		snprintf(err, errlen, "%s events are not welcome here",
		    ev->type);
		return FLAGSYNC_FAIL;
	}
	if (tp->attempt <= tp->retry) {
		snprintf(err, errlen, "not yet (attempt %d)", tp->attempt);
		return FLAGSYNC_RETRY;
	}
	return FLAGSYNC_OK;
}

static void
tp_shutdown(void *ctx)
{
	struct tp *tp = ctx;

	if (tp->log)
		fclose(tp->log);
	free(tp);
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "testplug",
	.version = "1",
	.init = tp_init,
	.deliver = tp_deliver,
	.shutdown = tp_shutdown,
);
