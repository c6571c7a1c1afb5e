/* metrics.c - request counters and the Prometheus exposition. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "metrics.h"

#define METRICS_NAPI	3
#define METRICS_NCODE	600	/* 0 (no answer) and 100..599 */

static const char *const metrics_apis[METRICS_NAPI] = {
	METRICS_API_ADMIN, METRICS_API_SDK, METRICS_API_JIRA
};

static atomic_uint_least64_t metrics_requests[METRICS_NAPI][METRICS_NCODE];
static atomic_uint_least64_t metrics_waits[METRICS_NAPI];
static atomic_uint_least64_t metrics_wait_ms[METRICS_NAPI];

static int
metrics_api_index(const char *api)
{
	int i;

	for (i = 0; api != NULL && i < METRICS_NAPI; i++)
		if (strcmp(api, metrics_apis[i]) == 0)
			return i;
	return -1;
}

void
metrics_count_request(const char *api, long status)
{
	int i;

	if ((i = metrics_api_index(api)) < 0 || status < 0 ||
	    status >= METRICS_NCODE)
		return;
	atomic_fetch_add_explicit(&metrics_requests[i][status], 1,
	    memory_order_relaxed);
}

void
metrics_count_wait(const char *api, int64_t ms)
{
	int i;

	if ((i = metrics_api_index(api)) < 0)
		return;
	atomic_fetch_add_explicit(&metrics_waits[i], 1, memory_order_relaxed);
	if (ms > 0)
		atomic_fetch_add_explicit(&metrics_wait_ms[i], (uint64_t)ms,
		    memory_order_relaxed);
}

void
metrics_reset(void)
{
	int i, j;

	for (i = 0; i < METRICS_NAPI; i++) {
		for (j = 0; j < METRICS_NCODE; j++)
			atomic_store(&metrics_requests[i][j], 0);
		atomic_store(&metrics_waits[i], 0);
		atomic_store(&metrics_wait_ms[i], 0);
	}
}

/* ------------------------------------------------------------ rendering */

/* The first error sticks; every later write is skipped. */
struct expo {
	struct buf *out;
	int	 rc;
};

static void __attribute__((format(printf, 2, 3)))
expo_printf(struct expo *e, const char *fmt, ...)
{
	va_list ap;
	char line[1024];
	int n;

	if (e->rc != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		e->rc = EFBIG;
	else
		e->rc = buf_puts(e->out, line);
}

/* A family's HELP and TYPE lines, which precede its samples. */
static void
expo_family(struct expo *e, const char *name, const char *type,
    const char *help)
{
	expo_printf(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and line feeds escaped (format 0.0.4). */
static void
expo_label(struct expo *e, const char *s)
{
	for (; e->rc == 0 && s && *s; s++) {
		if (*s == '\\')
			e->rc = buf_puts(e->out, "\\\\");
		else if (*s == '"')
			e->rc = buf_puts(e->out, "\\\"");
		else if (*s == '\n')
			e->rc = buf_puts(e->out, "\\n");
		else
			e->rc = buf_putc(e->out, *s);
	}
}

/* NAME{LABEL="VALUE"} (no braces when label is NULL), then the value. */
static void
expo_sample(struct expo *e, const char *name, const char *label,
    const char *value, const char *num)
{
	expo_printf(e, "%s", name);
	if (label) {
		expo_printf(e, "{%s=\"", label);
		expo_label(e, value);
		expo_printf(e, "\"}");
	}
	expo_printf(e, " %s\n", num);
}

static void
expo_int(struct expo *e, const char *name, const char *label,
    const char *value, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	expo_sample(e, name, label, value, num);
}

static json_object *
jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static int64_t
jint(json_object *o, const char *key)
{
	return json_object_get_int64(jget(o, key));
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

/* An RFC 3339 UTC time as status writes it, as Unix seconds; -1 if none. */
static int64_t
expo_time(const char *s)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) ==
	    NULL || strcmp(rest, "Z") != 0)
		return -1;
	return (int64_t)timegm(&tm);
}

/* How a source's status field becomes a sample value. */
enum expo_kind {
	EXPO_BOOL,	/* true/false/null -> 1/0 */
	EXPO_TIME,	/* RFC 3339 -> Unix seconds; no sample when null */
	EXPO_SECS	/* seconds, 3 decimals; no sample when null */
};

static void
expo_source_sample(struct expo *e, const char *name, enum expo_kind kind,
    const char *source, json_object *v)
{
	char num[64];
	int64_t t;

	switch (kind) {
	case EXPO_BOOL:
		expo_int(e, name, "source", source, json_object_get_boolean(v));
		break;
	case EXPO_TIME:
		if ((t = expo_time(json_object_get_string(v))) >= 0)
			expo_int(e, name, "source", source, t);
		break;
	case EXPO_SECS:
		if (v == NULL)
			break;
		snprintf(num, sizeof(num), "%.3f", json_object_get_double(v));
		expo_sample(e, name, "source", source, num);
		break;
	}
}

/*
 * The poll sources: the rows of status that carry "healthy" (the
 * configured ones; output instances have their own family below).
 * Outputs are labelled "output", not "instance": Prometheus keeps that
 * name for the scrape target.
 */
static void
expo_sources(struct expo *e, json_object *status)
{
	static const struct {
		const char *name, *help, *key;
		enum expo_kind kind;
	} fam[] = {
		{ "flagsync_source_up",
		    "Whether the source's last poll succeeded (1) or not (0).",
		    "ok", EXPO_BOOL },
		{ "flagsync_source_healthy",
		    "Whether the source succeeded less than 3 x interval ago.",
		    "healthy", EXPO_BOOL },
		{ "flagsync_source_last_success_timestamp_seconds",
		    "When the source's poll last succeeded, Unix time.",
		    "last_ok", EXPO_TIME },
		{ "flagsync_source_last_poll_timestamp_seconds",
		    "When the source was last polled, Unix time.",
		    "last_poll", EXPO_TIME },
		{ "flagsync_source_poll_duration_seconds",
		    "How long the source's last poll took.",
		    "duration", EXPO_SECS },
	};
	json_object *rows = jget(status, "sources"), *o;
	size_t f, i;

	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		expo_family(e, fam[f].name, "gauge", fam[f].help);
		for (i = 0; i < json_object_array_length(rows); i++) {
			o = json_object_array_get_idx(rows, i);
			if (jget(o, "healthy") != NULL)
				expo_source_sample(e, fam[f].name, fam[f].kind,
				    jstr(o, "source"), jget(o, fam[f].key));
		}
	}
}

static void
expo_requests(struct expo *e)
{
	uint64_t n;
	char num[32];
	int i, code;

	expo_family(e, "flagsync_http_requests_total", "counter",
	    "Requests this process made to Split's Admin API (admin), "
	    "Split's SDK API (sdk) and Jira (jira), by answer status; "
	    "code 0: no answer.");
	for (i = 0; i < METRICS_NAPI; i++)
		for (code = 0; code < METRICS_NCODE; code++) {
			n = atomic_load_explicit(&metrics_requests[i][code],
			    memory_order_relaxed);
			if (n == 0)
				continue;
			expo_printf(e, "flagsync_http_requests_total{api=\"%s\","
			    "code=\"%d\"} %llu\n", metrics_apis[i], code,
			    (unsigned long long)n);
		}
	expo_family(e, "flagsync_ratelimit_waits_total", "counter",
	    "Waits that a 429 answer imposed, by API.");
	for (i = 0; i < METRICS_NAPI; i++)
		expo_int(e, "flagsync_ratelimit_waits_total", "api",
		    metrics_apis[i], (int64_t)atomic_load_explicit(
		    &metrics_waits[i], memory_order_relaxed));
	expo_family(e, "flagsync_ratelimit_wait_seconds_total", "counter",
	    "Time spent waiting after 429 answers, by API.");
	for (i = 0; i < METRICS_NAPI; i++) {
		snprintf(num, sizeof(num), "%.3f", (double)atomic_load_explicit(
		    &metrics_wait_ms[i], memory_order_relaxed) / 1000.0);
		expo_sample(e, "flagsync_ratelimit_wait_seconds_total", "api",
		    metrics_apis[i], num);
	}
}

static void
expo_cache(struct expo *e, json_object *status)
{
	json_object *flags = jget(status, "flags"), *ev = jget(status,
	    "events");

	expo_family(e, "flagsync_events_total", "counter",
	    "Change events recorded: the last event's sequence number.");
	expo_int(e, "flagsync_events_total", NULL, NULL, jint(ev, "last"));
	expo_family(e, "flagsync_events_retained", "gauge",
	    "Events the event log still holds, by type.");
	if (jget(ev, "by_type")) {
		json_object_object_foreach(jget(ev, "by_type"), type, n)
			expo_int(e, "flagsync_events_retained", "type", type,
			    json_object_get_int64(n));
	}
	expo_family(e, "flagsync_flags", "gauge",
	    "Flags in the cache by state in the primary environment.");
	expo_int(e, "flagsync_flags", "state", "active", jint(flags, "active"));
	expo_int(e, "flagsync_flags", "state", "killed", jint(flags, "killed"));
	expo_int(e, "flagsync_flags", "state", "undefined",
	    jint(flags, "undefined"));
	expo_family(e, "flagsync_links", "gauge",
	    "Links between flags and issues.");
	expo_int(e, "flagsync_links", NULL, NULL, jint(status, "links"));
	expo_family(e, "flagsync_issues", "gauge",
	    "Issues linked to at least one flag.");
	expo_int(e, "flagsync_issues", NULL, NULL, jint(status, "issues"));
	/* open flag-hygiene findings, only with [findings] */
	if (jget(status, "findings_open")) {
		expo_family(e, "flagsync_findings_open", "gauge",
		    "Open flag-hygiene findings, by type.");
		json_object_object_foreach(jget(status, "findings_open"),
		    type, n)
			expo_int(e, "flagsync_findings_open", "type", type,
			    json_object_get_int64(n));
	}
}

static void
expo_outputs(struct expo *e, json_object *status)
{
	static const struct {
		const char *name, *type, *help, *key;
	} fam[] = {
		{ "flagsync_output_cursor", "gauge",
		    "The last event seq the output instance took.", "cursor" },
		{ "flagsync_output_backlog", "gauge",
		    "Events waiting for the output instance.", "backlog" },
		{ "flagsync_output_dead_letters", "gauge",
		    "Dead letters the output instance holds.", "dead_letters" },
		{ "flagsync_output_restarts_total", "counter",
		    "Restarts of the output instance's process.", "restarts" },
	};
	json_object *rows = jget(status, "plugins"), *o;
	size_t f, i;

	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		expo_family(e, fam[f].name, fam[f].type, fam[f].help);
		for (i = 0; i < json_object_array_length(rows); i++) {
			o = json_object_array_get_idx(rows, i);
			expo_int(e, fam[f].name, "output", jstr(o, "name"),
			    jint(o, fam[f].key));
		}
	}
	expo_family(e, "flagsync_output_state", "gauge",
	    "1 for the output instance's state: running, retrying, stuck, "
	    "crashed, refused or idle.");
	for (i = 0; i < json_object_array_length(rows); i++) {
		o = json_object_array_get_idx(rows, i);
		expo_printf(e, "flagsync_output_state{output=\"");
		expo_label(e, jstr(o, "name"));
		expo_printf(e, "\",state=\"");
		expo_label(e, jstr(o, "state"));
		expo_printf(e, "\"} 1\n");
	}
}

int
metrics_render(json_object *status, struct buf *out)
{
	struct expo e = { out, 0 };

	expo_family(&e, "flagsync_healthy", "gauge",
	    "1 when every configured source succeeded less than 3 x interval "
	    "ago and no output is stuck or crashed (as GET /healthz).");
	expo_int(&e, "flagsync_healthy", NULL, NULL,
	    json_object_get_boolean(jget(status, "healthy")));
	expo_sources(&e, status);
	expo_requests(&e);
	expo_cache(&e, status);
	expo_outputs(&e, status);
	return e.rc;
}
