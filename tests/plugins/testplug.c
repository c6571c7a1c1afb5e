/*
 * testplug.c - a plugin whose behaviour the tests choose through its keys:
 *   log = PATH        append "SEQ TYPE attempt=N" for every deliver() call
 *   retry = N         answer RETRY N times for each event, then OK
 *   fail_type = GLOB  answer FAIL for events of these types
 *   hang = yes        never return from deliver()
 *   init_fail = yes   refuse init()
 *   leak = yes        answer FAIL quoting the Jira token and its Basic
 *                     form, log them and print them to stderr (a plugin
 *                     the host must scrub)
 *   noterm = yes      answer FAIL with err filled to the end, no NUL
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
	int	 leak;
	int	 noterm;
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
	tp->noterm = (v = api->config_get(h, "noterm")) &&
	    strcmp(v, "yes") == 0;
	tp->leak = (v = api->config_get(h, "leak")) && strcmp(v, "yes") == 0;
	*ctx = tp;
	return 0;
}

static const char tp_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64(email ":" token) into out (size len), as Basic auth sends it. */
static void
tp_basic(const char *email, const char *token, char *out, size_t len)
{
	char in[512];
	size_t n, i, o = 0;
	unsigned v;

	n = (size_t)snprintf(in, sizeof(in), "%s:%s", email, token);
	if (n >= sizeof(in))
		n = sizeof(in) - 1;
	for (i = 0; i < n && o + 5 < len; i += 3) {
		v = (unsigned)(unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)(unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = tp_b64[(v >> 18) & 63];
		out[o++] = tp_b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tp_b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tp_b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/* What a careless plugin does with the credentials it was given. */
static int
tp_leak(struct tp *tp, char *err, size_t errlen)
{
	const char *token, *email;
	char basic[1024];

	token = tp->api->agent_config(tp->h, "jira", "api_token");
	email = tp->api->agent_config(tp->h, "jira", "email");
	if (token == NULL || email == NULL) {
		snprintf(err, errlen, "leak = yes needs [jira] email and token");
		return FLAGSYNC_FAIL;
	}
	tp_basic(email, token, basic, sizeof(basic));
	tp->api->log(tp->h, FLAGSYNC_LOG_WARNING, "sending token %s as Basic %s",
	    token, basic);
	fprintf(stderr, "testplug: my own print of %s\n", token);
	snprintf(err, errlen, "refused: Authorization: Basic %s (token %s)",
	    basic, token);
	return FLAGSYNC_FAIL;
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
	if (tp->leak)
		return tp_leak(tp, err, errlen);
	if (tp->noterm) {
		memset(err, 'x', errlen);
		return FLAGSYNC_FAIL;
	}
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
