/* feed.c - the splitChanges client: requests, retries, rounds. */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "feed.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "scrub.h"

#define FEED_BACKOFF_MS		1000
#define FEED_BACKOFF_CAP_MS	30000
#define FEED_SNIPPET		200
#define FEED_AGAIN		(-1)	/* internal: send the request again */

struct feed_client {
	struct http_client *hc;
	char	*url;		/* sdk_url without trailing slash */
	char	*auth;		/* "Bearer KEY"; secret */
	char	*project;
	int64_t	 backoff_base_ms;
	volatile sig_atomic_t *cancel;
	uint64_t nrequests;
};

/* One answer being streamed into the parser. */
struct feed_round {
	struct feedparse fp;
};

static void
feed_zfree(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
feed_client_create(struct feed_client **out, const struct feed_options *o)
{
	struct http_options ho;
	struct feed_client *fc;
	size_t n;
	int rc = ENOMEM;

	*out = NULL;
	if (o->sdk_url == NULL || o->sdk_key == NULL)
		return EINVAL;
	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return ENOMEM;
	if ((fc->url = strdup(o->sdk_url)) == NULL ||
	    (fc->project = strdup(o->project ? o->project : "")) == NULL ||
	    asprintf(&fc->auth, "Bearer %s", o->sdk_key) < 0) {
		fc->auth = NULL;
		goto client_free;
	}
	n = strlen(fc->url);
	while (n > 0 && fc->url[n - 1] == '/')
		fc->url[--n] = '\0';
	memset(&ho, 0, sizeof(ho));
	ho.timeout = o->timeout;
	ho.ca_file = o->ca_file;
	ho.cancel = o->cancel;
	/* not rate limited (reference section 3): no max_rps */
	ho.api = METRICS_API_SDK;
	if ((rc = http_client_create(&fc->hc, &ho)) != 0)
		goto client_free;
	fc->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms :
	    FEED_BACKOFF_MS;
	fc->cancel = o->cancel;
	*out = fc;
	return 0;

client_free:
	feed_client_free(fc);
	return rc;
}

void
feed_client_free(struct feed_client *fc)
{
	if (fc == NULL)
		return;
	http_client_free(fc->hc);
	free(fc->url);
	free(fc->project);
	feed_zfree(fc->auth);
	free(fc);
}

uint64_t
feed_request_count(const struct feed_client *fc)
{
	return fc->nrequests;
}

static int
feed_sink(void *arg, const char *data, size_t len)
{
	struct feed_round *r = arg;

	return feedparse_push(&r->fp, data, len);
}

/* The start of an error body, printable, with any secret masked. */
static void
feed_snippet(const struct buf *body, char *out, size_t outlen)
{
	char raw[FEED_SNIPPET + 1];
	size_t i, n = body->len < FEED_SNIPPET ? body->len : FEED_SNIPPET;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)body->data[i];
		raw[i] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	raw[n] = '\0';
	scrub_copy(out, outlen, raw);
}

static int
feed_status_error(struct feed_client *fc, const char *url,
    const struct http_response *r, char *err, size_t errlen)
{
	char snip[FEED_SNIPPET + 1];

	if (r->status == 401 || r->status == 403) {
		snprintf(err, errlen, "Split refused the SDK key (%ld) at %s: "
		    "give [project %s] sdk_key_file (or its split-sdk-key "
		    "credential) a server-side SDK key of the project's "
		    "primary environment", r->status, url, fc->project);
		return FS_EAUTH;
	}
	if (r->status >= 300 && r->status < 400) {
		snprintf(err, errlen, "GET %s: HTTP %ld redirect not "
		    "followed: the SDK key goes to sdk_url's host only; fix "
		    "[split] sdk_url", url, r->status);
		return FS_EHTTP;
	}
	feed_snippet(&r->body, snip, sizeof(snip));
	snprintf(err, errlen, "GET %s: HTTP %ld%s%s", url, r->status,
	    snip[0] ? ": " : "", snip);
	return FS_EHTTP;
}

static int
feed_retry(struct feed_client *fc, int *retries, int rc, char *err,
    size_t errlen)
{
	int64_t ms;

	if (*retries >= FEED_MAX_RETRIES) {
		size_t n = strlen(err);
		snprintf(err + n, errlen - n, " (gave up after %d retries)",
		    FEED_MAX_RETRIES);
		return rc;
	}
	ms = http_backoff_ms(*retries, fc->backoff_base_ms,
	    FEED_BACKOFF_CAP_MS);
	(*retries)++;
	log_warnx("split feed: %s; retry %d of %d in %lld ms", err, *retries,
	    FEED_MAX_RETRIES, (long long)ms);
	if (http_sleep_ms(ms, fc->cancel) != 0)
		return FS_ECANCELED;
	return FEED_AGAIN;
}

/* One GET, streamed through the parser; 0 when it parsed whole. */
static int
feed_try(struct feed_client *fc, const char *url, struct feed_round *r,
    feed_change_cb cb, void *arg, int64_t *since, int64_t *till,
    int *again, char *err, size_t errlen)
{
	struct http_header hdrs[2] = {
		{ "Authorization", fc->auth },
		{ "Cache-Control", "no-cache" },
	};
	struct http_response resp;
	int rc;

	feedparse_init(&r->fp, cb, arg);
	http_response_init(&resp);
	fc->nrequests++;
	rc = http_request_stream(fc->hc, url, hdrs, 2, feed_sink, r, &resp,
	    err, errlen);
	if (rc == 0 && (resp.status < 200 || resp.status >= 300)) {
		rc = feed_status_error(fc, url, &resp, err, errlen);
		*again = resp.status >= 500 || resp.status == 429;
		goto resp_release;
	}
	*again = rc == FS_ETIMEOUT || rc == FS_ENETWORK;
	if (rc == 0)
		rc = feedparse_finish(&r->fp, since, till);
	if (rc != 0 && r->fp.rc != 0 && r->fp.err[0])
		snprintf(err, errlen, "GET %s: malformed answer: %s", url,
		    r->fp.err);
resp_release:
	http_response_release(&resp);
	return rc;
}

static int
feed_get(struct feed_client *fc, const char *url, feed_change_cb cb,
    void *arg, int64_t *since, int64_t *till, char *err, size_t errlen)
{
	struct feed_round r;
	int rc, again, retries = 0;

	do {
		rc = feed_try(fc, url, &r, cb, arg, since, till, &again, err,
		    errlen);
		if (rc != 0 && again)
			rc = feed_retry(fc, &retries, rc, err, errlen);
	} while (rc == FEED_AGAIN);
	return rc;
}

int
feed_read(struct feed_client *fc, int64_t since, feed_change_cb cb,
    void *arg, int64_t *till, char *err, size_t errlen)
{
	struct buf url;
	int64_t s, t;
	int rc = 0, round;

	*till = since;
	if (errlen)
		err[0] = '\0';
	buf_init(&url, 0);
	for (round = 0; round < FEED_MAX_ROUNDS; round++) {
		buf_reset(&url);
		if ((rc = buf_printf(&url, "%s/splitChanges?s=%s&since=%" PRId64,
		    fc->url, FEED_SPEC, since)) != 0)
			break;
		rc = feed_get(fc, buf_str(&url), cb, arg, &s, &t, err, errlen);
		if (rc != 0)
			break;
		if (s != since || t < since) {
			snprintf(err, errlen, "GET %s: malformed answer: since "
			    "%" PRId64 " till %" PRId64 " for since %" PRId64,
			    buf_str(&url), s, t, since);
			rc = FS_EPROTO;
			break;
		}
		*till = t;
		if (t == since)
			break;
		since = t;
	}
	if (rc == 0 && round == FEED_MAX_ROUNDS) {
		snprintf(err, errlen, "the change feed was still moving after "
		    "%d answers", FEED_MAX_ROUNDS);
		rc = FS_EPROTO;
	}
	buf_release(&url);
	return rc;
}
