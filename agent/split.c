/*
 * split.c - the Split (Harness FME) Admin API client.
 *
 * Every request goes through split_get(), the one place that knows the
 * retry policy, so a poll never hangs (flagsync(8)): 5xx, timeouts and
 * connection errors get SPLIT_MAX_RETRIES retries with backoff, a 429
 * waits what the rate limit headers say, everything else ends the
 * request at once.  Listings are walked page by page, each page's JSON
 * tree freed before the next is fetched.
 *
 * The Admin API key is a secret: it only ever travels in the
 * Authorization header, and an error body that echoes it is masked
 * before it reaches a message.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "error.h"
#include "http.h"
#include "jscan.h"
#include "log.h"
#include "maxlen.h"
#include "metrics.h"
#include "pace.h"
#include "split.h"
#include "utf8.h"

#define SPLIT_WS_PAGE		50	/* workspaces per page */
#define SPLIT_BACKOFF_MS	1000	/* default backoff_base_ms */
#define SPLIT_BACKOFF_CAP_MS	30000
#define SPLIT_SNIPPET		200	/* bytes of an error body we quote */
#define SPLIT_ENV_LIST_MAX	300	/* bytes of environment names quoted */
#define SPLIT_WHAT_MAX		512
#define SPLIT_REASON_MAX	1024
#define SPLIT_HOST_MAX		128	/* Location host bytes quoted */
/* Nesting a Split answer may have: definitions go about ten deep, and
 * json-c recurses per level, so 100,000 levels must stop early. */
#define SPLIT_JSON_DEPTH	64
#define SPLIT_DEFAULT_TIMEOUT	30	/* s, as http.c's default */
/* A 429 is waited out at most this many timeouts per request. */
#define SPLIT_429_BUDGET	3
#define SPLIT_429_MIN_MS	1000	/* "reset in 0 s": still wait */

/* Internal return values, never seen outside this file. */
#define SPLIT_AGAIN		INT_MIN		/* send the request again */
#define SPLIT_FOUND		(INT_MIN + 1)	/* stop paging: found it */

struct split_client {
	struct http_client *hc;
	char	*api_url;	/* no trailing slash */
	char	*key;		/* secret; kept to mask it out of messages */
	char	*auth;		/* "Bearer KEY" or "KEY"; secret */
	const char *auth_header;	/* "Authorization" or "x-api-key" */
	int64_t	 backoff_base_ms;
	int64_t	 wait_budget_ms;	/* for 429s, per request */
	volatile sig_atomic_t *cancel;
	uint64_t nrequests;
};

/* What one split_get() has spent of its retry budget. */
struct split_try {
	int	 retries;	/* 5xx, timeouts, network errors */
	int	 waits;		/* 429 */
	int64_t	 waited_ms;	/* 429 waits so far */
};

/* One paged listing: api_url + path + "?offset=N&limit=L" + query. */
struct split_walk {
	const char *path;	/* escaped */
	const char *query;	/* "&name=..." or "" */
	int	 limit;
	const char *what;	/* "project 'Shop'", for a 404 */
	int	(*each)(void *arg, const struct jnode *o, const char *url,
		    char *err, size_t errlen);
	void	*arg;
	bool	 tree;		/* every page as a json-c tree */
	struct jscan scan;	/* reused from page to page */
};

struct split_ws_find {
	const char *name;
	char	*id;		/* the exact match */
	char	*near;		/* a match but for case, for the hint */
};

struct split_flags_ctx {
	split_flag_cb cb;
	void	*arg;
	const char **tags;	/* reused from flag to flag */
	size_t	 tagcap;
	char	 why[SPLIT_WHAT_MAX];	/* split_flag.invalid */
};

struct split_defs_ctx {
	split_def_cb cb;	/* one of these */
	split_defnode_cb nodecb;
	void	*arg;
};

static int split_malformed(char *err, size_t errlen, const char *url,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
split_err_clear(char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
}

static int
split_malformed(char *err, size_t errlen, const char *url, const char *fmt,
    ...)
{
	char why[SPLIT_WHAT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "GET %s: malformed answer: %s", url, why);
	return FS_EPROTO;
}

static void
split_zfree(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Harness tokens (pat./sat.) go in x-api-key; Admin API keys in Bearer. */
static int
split_x_api_key(const struct split_options *o)
{
	if (o->auth != SPLIT_AUTH_AUTO)
		return o->auth == SPLIT_AUTH_X_API_KEY;
	return strncmp(o->admin_key, "pat.", 4) == 0 ||
	    strncmp(o->admin_key, "sat.", 4) == 0;
}

int
split_client_create(struct split_client **out, const struct split_options *o)
{
	struct http_options ho;
	struct split_client *sc;
	char *pace = NULL;
	size_t n;
	int rc = ENOMEM;

	*out = NULL;
	if (o->api_url == NULL || o->admin_key == NULL)
		return EINVAL;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return ENOMEM;
	sc->auth_header = split_x_api_key(o) ? "x-api-key" : "Authorization";
	if ((sc->api_url = strdup(o->api_url)) == NULL ||
	    (sc->key = strdup(o->admin_key)) == NULL ||
	    asprintf(&sc->auth, "%s%s", split_x_api_key(o) ? "" : "Bearer ",
	    o->admin_key) < 0) {
		sc->auth = NULL;
		goto client_free;
	}
	n = strlen(sc->api_url);
	while (n > 0 && sc->api_url[n - 1] == '/')
		sc->api_url[--n] = '\0';
	memset(&ho, 0, sizeof(ho));
	ho.max_rps = o->max_rps;
	ho.timeout = o->timeout;
	ho.ca_file = o->ca_file;
	ho.max_body = o->max_body;
	ho.cancel = o->cancel;
	ho.api = METRICS_API_ADMIN;
	if (o->pace_dir != NULL && asprintf(&pace, "%s/" PACE_FILE_NAME,
	    o->pace_dir) < 0)
		goto client_free;
	ho.pace_file = pace;
	rc = http_client_create(&sc->hc, &ho);
	free(pace);
	if (rc != 0)
		goto client_free;
	sc->backoff_base_ms = o->backoff_base_ms > 0 ?
	    o->backoff_base_ms : SPLIT_BACKOFF_MS;
	sc->wait_budget_ms = (int64_t)(o->timeout > 0 ? o->timeout :
	    SPLIT_DEFAULT_TIMEOUT) * SPLIT_429_BUDGET * 1000;
	sc->cancel = o->cancel;
	*out = sc;
	return 0;

client_free:
	split_client_free(sc);
	return rc;
}

void
split_client_free(struct split_client *sc)
{
	if (sc == NULL)
		return;
	http_client_free(sc->hc);
	free(sc->api_url);
	split_zfree(sc->key);
	split_zfree(sc->auth);
	free(sc);
}

uint64_t
split_request_count(const struct split_client *sc)
{
	return sc->nrequests;
}

/*
 * The first SPLIT_SNIPPET bytes of an error body, printable only, with
 * the admin key masked should the server echo it.  out has room for
 * SPLIT_SNIPPET + 4 bytes.
 */
static void
split_snippet(const struct split_client *sc, const struct buf *body,
    char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)buf_str(body);
	size_t i = 0, o = 0, klen = strlen(sc->key);

	while (i < body->len && i < SPLIT_SNIPPET && o + 4 < outlen) {
		if (klen && body->len - i >= klen &&
		    memcmp(p + i, sc->key, klen) == 0) {
			memcpy(out + o, "***", 3);
			o += 3;
			i += klen;
			continue;
		}
		if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			out[o++] = ' ';
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			out[o++] = (char)p[i];
		else
			out[o++] = '?';
		i++;
	}
	out[o] = '\0';
}

/*
 * The host of a Location value, printable ASCII only, at most
 * SPLIT_HOST_MAX bytes; "" for a relative one (same host).
 */
static void
split_location_host(const char *loc, char *out, size_t outlen)
{
	const char *p, *at, *end;
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (loc == NULL || (p = strstr(loc, "://")) == NULL)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	/* user:password@ is not the host, and may be a secret. */
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL)
		p = at + 1;
	for (; p < end && o + 1 < outlen && o < SPLIT_HOST_MAX; p++)
		out[o++] = *p > 0x20 && *p < 0x7f ? *p : '?';
	out[o] = '\0';
}

/* A 3xx: never followed, since the request carries the Admin key. */
static int
split_redirect_error(const char *url, const struct http_response *r,
    char *err, size_t errlen)
{
	char host[SPLIT_HOST_MAX + 1];

	split_location_host(r->location, host, sizeof(host));
	snprintf(err, errlen, "GET %s: HTTP %ld redirect to %s%s%s not "
	    "followed: the Admin API key goes to api_url's host only; fix "
	    "[split] api_url", url, r->status, host[0] ? "host '" : "",
	    host[0] ? host : r->location ? "the same host" : "nowhere",
	    host[0] ? "'" : "");
	return FS_EHTTP;
}

static int
split_status_error(const struct split_client *sc, const char *url,
    const char *what, const struct http_response *r, char *err,
    size_t errlen)
{
	char snip[SPLIT_SNIPPET + 4];

	if (r->status >= 300 && r->status < 400)
		return split_redirect_error(url, r, err, errlen);
	switch (r->status) {
	case 401:
		snprintf(err, errlen, "Split rejected the Admin API key (401) "
		    "at %s: check admin_key_file / admin_key / "
		    "$FLAGSYNC_SPLIT_ADMIN_KEY in [split], and auth (it went "
		    "as %s)", url, sc->auth_header);
		return FS_EAUTH;
	case 403:
		snprintf(err, errlen, "Split refused the Admin API key (403) "
		    "at %s: its role or scope does not allow reading %s",
		    url, what);
		return FS_EAUTH;
	case 404:
		snprintf(err, errlen, "%s not found or not visible to the "
		    "Admin API key (404): grant the key access in Split's "
		    "project view permissions (GET %s)", what, url);
		return FS_ENOTFOUND;
	default:
		split_snippet(sc, &r->body, snip, sizeof(snip));
		snprintf(err, errlen, "GET %s: HTTP %ld%s%s", url, r->status,
		    snip[0] ? ": " : "", snip);
		return FS_EHTTP;
	}
}

/* Sleeps before the next try; reason is one line naming the URL. */
static int
split_retry(struct split_client *sc, struct split_try *t, int rc,
    const char *reason, char *err, size_t errlen)
{
	int64_t ms;

	if (t->retries >= SPLIT_MAX_RETRIES) {
		snprintf(err, errlen, "%s (gave up after %d retries)", reason,
		    SPLIT_MAX_RETRIES);
		return rc;
	}
	ms = http_backoff_ms(t->retries, sc->backoff_base_ms,
	    SPLIT_BACKOFF_CAP_MS);
	t->retries++;
	log_warnx("split: %s; retry %d of %d in %lld ms", reason, t->retries,
	    SPLIT_MAX_RETRIES, (long long)ms);
	if (http_sleep_ms(ms, sc->cancel) != 0) {
		snprintf(err, errlen, "%s; canceled while waiting to retry",
		    reason);
		return FS_ECANCELED;
	}
	return SPLIT_AGAIN;
}

/* A non-negative number of seconds, or -1. */
static double
split_seconds(const char *s)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0)
		return -1;
	return v;
}

/*
 * Split documents max(X-RateLimit-Reset-Seconds-Org, -IP); Retry-After
 * is not documented but honoured when those are missing.
 */
static int64_t
split_429_delay_ms(const struct split_client *sc,
    const struct http_response *r, int wait, const char **why)
{
	double org, ip, s;
	int64_t ms;

	org = split_seconds(r->rl_reset_org);
	ip = split_seconds(r->rl_reset_ip);
	s = org > ip ? org : ip;
	*why = "X-RateLimit-Reset-Seconds";
	if (s < 0) {
		s = split_seconds(r->retry_after);
		*why = "Retry-After";
	}
	if (s < 0) {
		*why = "no reset header, backing off";
		return http_backoff_ms(wait, sc->backoff_base_ms,
		    SPLIT_MAX_WAIT_S * 1000);
	}
	if (s > SPLIT_MAX_WAIT_S)
		s = SPLIT_MAX_WAIT_S;
	/* Round up: Split says wait at least this long. */
	ms = (int64_t)(s * 1000);
	if ((double)ms < s * 1000)
		ms++;
	/* A reset "in 0 s" that still refused would be asked again at
	 * once, and refused again: give the window a second. */
	return ms < SPLIT_429_MIN_MS ? SPLIT_429_MIN_MS : ms;
}

static int
split_wait_429(struct split_client *sc, struct split_try *t,
    const char *method, const char *url, const struct http_response *r,
    char *err, size_t errlen)
{
	const char *why;
	int64_t ms;

	if (t->waits >= SPLIT_MAX_429) {
		snprintf(err, errlen, "%s %s: still rate limited (429) after "
		    "%d waits", method, url, SPLIT_MAX_429);
		return FS_ERATELIMIT;
	}
	ms = split_429_delay_ms(sc, r, t->waits, &why);
	/* However Split asks, one request never waits more than a few
	 * timeouts: the next cycle comes soon enough. */
	if (t->waited_ms + ms > sc->wait_budget_ms) {
		snprintf(err, errlen, "%s %s: still rate limited (429) after "
		    "waiting %lld ms; the next wait (%lld ms) would pass the "
		    "%lld ms a request may wait (%d x timeout)", method, url,
		    (long long)t->waited_ms, (long long)ms,
		    (long long)sc->wait_budget_ms, SPLIT_429_BUDGET);
		return FS_ERATELIMIT;
	}
	t->waits++;
	t->waited_ms += ms;
	log_info("split: %s %s: rate limited (429), waiting %lld ms (%s; "
	    "%d of %d)", method, url, (long long)ms, why, t->waits,
	    SPLIT_MAX_429);
	metrics_count_wait(METRICS_API_ADMIN, ms);
	if (http_sleep_ms(ms, sc->cancel) != 0) {
		snprintf(err, errlen, "%s %s: canceled while rate limited",
		    method, url);
		return FS_ECANCELED;
	}
	return SPLIT_AGAIN;
}

/*
 * One request: 0 for a 2xx answer in r, SPLIT_AGAIN, or an error.  A
 * write (body not NULL, sent as JSON) also gets 0 for any other answer
 * but a 429 or 5xx: its refusals carry Split's message, the caller's to
 * word.
 */
static int
split_try_once(struct split_client *sc, const char *method, const char *url,
    const char *body, const char *what, struct http_response *r,
    struct split_try *t, char *err, size_t errlen)
{
	struct http_header hdrs[2] = {
		{ sc->auth_header, sc->auth },
		{ "Content-Type", "application/json" },
	};
	char reason[SPLIT_REASON_MAX], snip[SPLIT_SNIPPET + 4];
	int rc;

	sc->nrequests++;
	rc = http_request(sc->hc, method, url, hdrs, body ? 2 : 1, body, r,
	    err, errlen);
	if (rc == FS_ETIMEOUT || rc == FS_ENETWORK) {
		snprintf(reason, sizeof(reason), "%s", errlen ? err : url);
		return split_retry(sc, t, rc, reason, err, errlen);
	}
	if (rc != 0)
		return rc;
	if (r->status >= 200 && r->status < 300)
		return 0;
	if (r->status == 429)
		return split_wait_429(sc, t, method, url, r, err, errlen);
	if (r->status >= 500 && r->status < 600) {
		split_snippet(sc, &r->body, snip, sizeof(snip));
		snprintf(reason, sizeof(reason), "%s %s: HTTP %ld%s%s", method,
		    url, r->status, snip[0] ? ": " : "", snip);
		return split_retry(sc, t, FS_EHTTP, reason, err, errlen);
	}
	if (body != NULL)
		return 0;
	return split_status_error(sc, url, what, r, err, errlen);
}

static size_t
split_parse_end(struct json_tokener *tok)
{
#if JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
	return json_tokener_get_parse_end(tok);
#else
	return (size_t)tok->char_offset;
#endif
}

static int
split_trailing_junk(const struct buf *body, size_t end)
{
	for (; end < body->len; end++)
		if (strchr(" \t\r\n", body->data[end]) == NULL)
			return 1;
	return 0;
}

/* Parses a whole body as one strict JSON value. */
static int
split_parse(const char *url, const struct buf *body, json_object **root,
    char *err, size_t errlen)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *o;
	const char *why = NULL;
	size_t end;

	*root = NULL;
	if (body->len > INT_MAX)
		return split_malformed(err, errlen, url, "over %d bytes",
		    INT_MAX);
	if ((tok = json_tokener_new_ex(SPLIT_JSON_DEPTH)) == NULL)
		return ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf_str(body), (int)body->len);
	jerr = json_tokener_get_error(tok);
	end = split_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue)
		why = "empty or truncated JSON";
	else if (jerr != json_tokener_success)
		why = json_tokener_error_desc(jerr);
	else if (o == NULL)
		why = "null instead of a JSON object or array";
	else if (split_trailing_junk(body, end))
		why = "data after the JSON value";
	if (why) {
		json_object_put(o);
		return split_malformed(err, errlen, url, "%s", why);
	}
	*root = o;
	return 0;
}

/*
 * Replaces every byte that starts no valid UTF-8 sequence with U+FFFD,
 * so that names and descriptions are stored, and later printed as JSON,
 * as valid text.  JSON's own syntax is ASCII, so this never changes the
 * structure of the answer.  b is left alone when it is valid already.
 */
static int
split_utf8_fix(struct buf *b)
{
	struct buf out;
	int rc;

	if (utf8_valid(b->data, b->len))
		return 0;
	buf_init(&out, 0);
	if ((rc = utf8_repair(b->data, b->len, &out)) != 0) {
		buf_release(&out);
		return rc;
	}
	buf_release(b);
	*b = out;
	return 0;
}

/*
 * Sends one request (a GET, or a POST of JSON body) under the retry and
 * 429 policy; the writes are idempotent (a create retried after a lost
 * answer gets 409, a tag list written twice is the same list), so
 * sending again is safe.  The answer, whatever its status, is left in r.
 */
static int
split_send(struct split_client *sc, const char *method, const char *url,
    const char *body, const char *what, struct http_response *r, char *err,
    size_t errlen)
{
	struct split_try t = { 0, 0, 0 };
	int rc;

	do {
		rc = split_try_once(sc, method, url, body, what, r, &t, err,
		    errlen);
	} while (rc == SPLIT_AGAIN);
	if (rc == 0)
		split_err_clear(err, errlen);
	return rc;
}

/*
 * GETs url into r (the caller releases it), retrying as the header
 * describes; the 2xx body is not read yet.  what names the object for a
 * 404.
 */
static int
split_fetch(struct split_client *sc, const char *url, const char *what,
    struct http_response *r, char *err, size_t errlen)
{
	return split_send(sc, "GET", url, NULL, what, r, err, errlen);
}

/* The body as a json-c tree, made valid UTF-8 first. */
static int
split_tree(const char *url, struct buf *body, json_object **root, char *err,
    size_t errlen)
{
	int rc;

	if ((rc = split_utf8_fix(body)) != 0) {
		snprintf(err, errlen, "GET %s: %s", url, strerror(rc));
		return rc;
	}
	return split_parse(url, body, root, err, errlen);
}

/*
 * GETs url and parses the 2xx answer into *root (the caller puts it),
 * retrying as the header describes.  what names the object for a 404.
 */
static int
split_get(struct split_client *sc, const char *url, const char *what,
    json_object **root, char *err, size_t errlen)
{
	struct http_response r;
	int rc;

	*root = NULL;
	http_response_init(&r);
	if ((rc = split_fetch(sc, url, what, &r, err, errlen)) == 0)
		rc = split_tree(url, &r.body, root, err, errlen);
	http_response_release(&r);
	return rc;
}

static int
split_get_str(json_object *o, const char *key, const char **out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

static int
split_node_str(const struct jnode *o, const char *key, const char **out)
{
	struct jnode v;

	if (!jnode_get(o, key, &v) || jnode_type(&v) != json_type_string)
		return -1;
	*out = jnode_str(&v);
	return 0;
}

/* The paging envelope: {"objects": [...], "totalCount": N, ...}. */
static int
split_page_open(const char *url, const struct jnode *root,
    struct jnode *objs, int64_t *total, char *err, size_t errlen)
{
	struct jnode tc;

	if (jnode_type(root) != json_type_object ||
	    !jnode_get(root, "objects", objs) ||
	    jnode_type(objs) != json_type_array)
		return split_malformed(err, errlen, url,
		    "no 'objects' array");
	if (!jnode_get(root, "totalCount", &tc) ||
	    jnode_type(&tc) != json_type_int || jnode_int64(&tc) < 0)
		return split_malformed(err, errlen, url,
		    "no non-negative integer 'totalCount'");
	*total = jnode_int64(&tc);
	return 0;
}

/*
 * A page read: scanned without a tree when jscan takes it, else a json-c
 * tree as before (*tree, which the caller puts).  Either way *root is
 * the same JSON.
 */
static int
split_page_read(struct split_walk *w, const char *url, struct buf *body,
    struct jnode *root, json_object **tree, char *err, size_t errlen)
{
	int rc;

	*tree = NULL;
	if (!w->tree) {
		rc = jscan_parse(&w->scan, body->data, body->len);
		/* json-c's NULL for a bare null has its own message */
		if (rc == 0 && w->scan.t[0].type == json_type_null)
			rc = JSCAN_FALLBACK;
		if (rc == 0) {
			root->json = NULL;
			root->scan = &w->scan;
			root->tok = 0;
			return 0;
		}
		if (rc != JSCAN_FALLBACK) {
			snprintf(err, errlen, "GET %s: %s", url, strerror(rc));
			return rc;
		}
	}
	if ((rc = split_tree(url, body, tree, err, errlen)) != 0)
		return rc;
	jnode_json(root, *tree);
	return 0;
}

/* Whether the page's objects can be the listing it claims to be. */
static int
split_page_check(const struct split_walk *w, const char *url, size_t n,
    int64_t offset, int64_t tc, char *err, size_t errlen)
{
	/*
	 * A page that holds more than was asked, or more than totalCount
	 * leaves room for, is not the listing it claims to be: taking it
	 * would stop paging early and read every flag not yet seen as
	 * deleted.
	 */
	if (n > (size_t)w->limit)
		return split_malformed(err, errlen, url, "%zu objects on a "
		    "page of at most %d", n, w->limit);
	if ((int64_t)n > tc - offset)
		return split_malformed(err, errlen, url, "%zu objects at "
		    "offset %lld, beyond totalCount %lld", n,
		    (long long)offset, (long long)tc);
	if (n == 0 && offset < tc)
		/* Going on would ask for the same page forever. */
		return split_malformed(err, errlen, url, "empty page "
		    "although totalCount is %lld", (long long)tc);
	return 0;
}

static int
split_walk_page(struct split_client *sc, struct split_walk *w,
    const char *url, int64_t *offset, int64_t *total, char *err,
    size_t errlen)
{
	struct http_response r;
	struct jnode root, objs, o;
	struct jnode_iter it;
	json_object *tree = NULL;
	int64_t tc = 0;
	size_t n;
	int rc;

	http_response_init(&r);
	if ((rc = split_fetch(sc, url, w->what, &r, err, errlen)) != 0 ||
	    (rc = split_page_read(w, url, &r.body, &root, &tree, err,
	    errlen)) != 0)
		goto response_release;
	if ((rc = split_page_open(url, &root, &objs, &tc, err, errlen)) != 0)
		goto tree_put;
	if (*total >= 0 && tc != *total) {
		snprintf(err, errlen, "GET %s: totalCount changed from %lld "
		    "to %lld while paging; the listing is retried next cycle",
		    url, (long long)*total, (long long)tc);
		rc = FS_EPROTO;
		goto tree_put;
	}
	*total = tc;
	n = jnode_len(&objs);
	if ((rc = split_page_check(w, url, n, *offset, tc, err,
	    errlen)) != 0)
		goto tree_put;
	jnode_iter_init(&it, &objs);
	while (rc == 0 && jnode_iter_next(&it, &o))
		rc = w->each(w->arg, &o, url, err, errlen);
	*offset += (int64_t)n;
tree_put:
	json_object_put(tree);
response_release:
	http_response_release(&r);
	return rc;
}

static int
split_walk_pages(struct split_client *sc, struct split_walk *w,
    char *err, size_t errlen)
{
	struct buf url;
	int64_t offset = 0, total = -1;
	int rc;

	buf_init(&url, 0);
	do {
		buf_reset(&url);
		rc = buf_printf(&url, "%s%s?offset=%lld&limit=%d%s",
		    sc->api_url, w->path, (long long)offset, w->limit,
		    w->query);
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", sc->api_url,
			    strerror(rc));
			break;
		}
		rc = split_walk_page(sc, w, buf_str(&url), &offset, &total,
		    err, errlen);
	} while (rc == 0 && offset < total);
	buf_release(&url);
	jscan_release(&w->scan);
	return rc;
}

/* Builds a path from a literal prefix and an escaped segment or two. */
static int
split_path(struct buf *b, const char *fmt1, const char *seg1,
    const char *fmt2, const char *seg2)
{
	int rc;

	rc = buf_puts(b, fmt1);
	if (rc == 0)
		rc = http_escape(seg1, b);
	if (rc == 0 && fmt2)
		rc = buf_puts(b, fmt2);
	if (rc == 0 && seg2)
		rc = http_escape(seg2, b);
	return rc;
}

static int
split_ws_each(void *arg, const struct jnode *o, const char *url, char *err,
    size_t errlen)
{
	struct split_ws_find *f = arg;
	const char *id, *name;

	if (split_node_str(o, "id", &id) != 0 ||
	    split_node_str(o, "name", &name) != 0)
		return split_malformed(err, errlen, url,
		    "a workspace without string 'id' and 'name'");
	if (strcmp(name, f->name) == 0) {
		if ((f->id = strdup(id)) == NULL)
			return ENOMEM;
		return SPLIT_FOUND;
	}
	if (f->near == NULL && strcasecmp(name, f->name) == 0 &&
	    (f->near = strdup(name)) == NULL)
		return ENOMEM;
	return 0;
}

static void
split_ws_not_found(const struct split_ws_find *f, char *err, size_t errlen)
{
	snprintf(err, errlen, "project '%s' not found or not visible to the "
	    "Admin API key: grant the key access in Split's project view "
	    "permissions%s%s%s", f->name, f->near ? " (Split has '" : "",
	    f->near ? f->near : "", f->near ? "'; names are case-sensitive)" :
	    "");
}

int
split_resolve_workspace(struct split_client *sc, const char *name,
    char **ws_id, char *err, size_t errlen)
{
	struct split_ws_find f = { name, NULL, NULL };
	struct split_walk w;
	struct buf query;
	char what[SPLIT_WHAT_MAX];
	int rc;

	*ws_id = NULL;
	split_err_clear(err, errlen);
	buf_init(&query, 0);
	rc = buf_puts(&query, "&name=");
	if (rc == 0)
		rc = http_escape(name, &query);
	if (rc != 0)
		goto query_release;
	snprintf(what, sizeof(what), "project '%s'", name);
	memset(&w, 0, sizeof(w));
	w.path = "/workspaces";
	w.query = buf_str(&query);
	w.limit = SPLIT_WS_PAGE;
	w.what = what;
	w.each = split_ws_each;
	w.arg = &f;
	rc = split_walk_pages(sc, &w, err, errlen);
	if (rc == SPLIT_FOUND) {
		*ws_id = f.id;
		f.id = NULL;
		rc = 0;
	} else if (rc == 0) {
		split_ws_not_found(&f, err, errlen);
		rc = FS_ENOTFOUND;
	}
	free(f.id);
	free(f.near);
query_release:
	buf_release(&query);
	return rc;
}

/*
 * Finds env by id or exact name in the bare array of environments;
 * *hit_id stays NULL when none matches.
 */
static int
split_env_find(const char *url, json_object *arr, const char *env,
    const char **hit_id, const char **hit_name, struct buf *names, char *err,
    size_t errlen)
{
	json_object *o;
	const char *id, *name;
	size_t i, n;
	int full = 0;

	*hit_id = *hit_name = NULL;
	if (!json_object_is_type(arr, json_type_array))
		return split_malformed(err, errlen, url,
		    "not an array of environments");
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (split_get_str(o, "id", &id) != 0 ||
		    split_get_str(o, "name", &name) != 0)
			return split_malformed(err, errlen, url,
			    "an environment without string 'id' and 'name'");
		if (*hit_id == NULL &&
		    (strcmp(id, env) == 0 || strcmp(name, env) == 0)) {
			*hit_id = id;
			*hit_name = name;
		}
		/* Only for the message: a full buffer ends the list. */
		if (!full && buf_printf(names, "%s%s", i ? ", " : "", name))
			full = 1;
	}
	return 0;
}

int
split_resolve_environment(struct split_client *sc, const char *ws_id,
    const char *project, const char *env, char **env_id, char **env_name,
    char *err, size_t errlen)
{
	struct buf url, names;
	json_object *root = NULL;
	const char *id = NULL, *name = NULL;
	char what[SPLIT_WHAT_MAX];
	int rc;

	*env_id = *env_name = NULL;
	split_err_clear(err, errlen);
	buf_init(&url, 0);
	buf_init(&names, SPLIT_ENV_LIST_MAX);
	rc = buf_puts(&url, sc->api_url);
	if (rc == 0)
		rc = split_path(&url, "/environments/ws/", ws_id, NULL, NULL);
	if (rc != 0)
		goto bufs_release;
	snprintf(what, sizeof(what), "project '%s'", project ? project : ws_id);
	rc = split_get(sc, buf_str(&url), what, &root, err, errlen);
	if (rc == 0)
		rc = split_env_find(buf_str(&url), root, env, &id, &name,
		    &names, err, errlen);
	if (rc != 0)
		goto root_put;
	if (id == NULL) {
		snprintf(err, errlen, "environment '%s' not found in %s or not "
		    "visible to the Admin API key: grant the key access in "
		    "Split's project view permissions (the key sees: %s)", env,
		    what, names.len ? buf_str(&names) : "none");
		rc = FS_ENOTFOUND;
		goto root_put;
	}
	if ((*env_id = strdup(id)) == NULL ||
	    (*env_name = strdup(name)) == NULL) {
		free(*env_id);
		*env_id = NULL;
		rc = ENOMEM;
	}
root_put:
	json_object_put(root);
bufs_release:
	buf_release(&names);
	buf_release(&url);
	return rc;
}

/* Marks f unusable, saying why (the listing goes on). */
static int
split_flag_invalid(struct split_flags_ctx *c, struct split_flag *f,
    const char *why)
{
	snprintf(c->why, sizeof(c->why), "%s", why);
	f->invalid = c->why;
	return 0;
}

/*
 * The members of a flag-list entry that split_flag_each() reads, found
 * in one walk over a scanned entry's keys (an entry has ten, and a
 * jnode_get() a member walked most of them back to the first, 'id'); a
 * json-c node is looked up key by key, as before.
 */
enum split_flag_key {
	SPLIT_F_ID, SPLIT_F_NAME, SPLIT_F_DESC, SPLIT_F_CTIME, SPLIT_F_TAGS,
	SPLIT_F_N	/* none of them */
};

static const char *const split_flag_keys[SPLIT_F_N] = {
	"id", "name", "description", "creationTime", "tags",
};

struct split_flag_members {
	struct jnode v[SPLIT_F_N];
	bool	 found[SPLIT_F_N];	/* present, JSON null included */
};

/* Which member the key of len bytes is: its length picks at most two
 * candidates, compared with constant sizes (no call to memcmp). */
static enum split_flag_key
split_flag_key(const char *key, size_t len)
{
	switch (len) {
	case 2:
		return memcmp(key, "id", 2) == 0 ? SPLIT_F_ID : SPLIT_F_N;
	case 4:
		if (memcmp(key, "name", 4) == 0)
			return SPLIT_F_NAME;
		return memcmp(key, "tags", 4) == 0 ? SPLIT_F_TAGS : SPLIT_F_N;
	case 11:
		return memcmp(key, "description", 11) == 0 ? SPLIT_F_DESC :
		    SPLIT_F_N;
	case 12:
		return memcmp(key, "creationTime", 12) == 0 ? SPLIT_F_CTIME :
		    SPLIT_F_N;
	default:
		return SPLIT_F_N;
	}
}

/* jnode_get()'s walk (jscan.h: an object's num is its last key, a key's
 * n the key before it, its value the token after it) for all of them:
 * the first met from the end is the value json-c keeps of a key given
 * twice. */
static void
split_flag_members(const struct jnode *o, struct split_flag_members *m)
{
	const struct jscan_tok *t;
	enum split_flag_key i;
	int left = SPLIT_F_N;
	uint32_t k;

	memset(m->found, 0, sizeof(m->found));
	if (o->scan == NULL) {
		for (i = 0; i < SPLIT_F_N; i++)
			m->found[i] = jnode_get(o, split_flag_keys[i],
			    &m->v[i]);
		return;
	}
	t = o->scan->t;
	if (t[o->tok].type != json_type_object)
		return;
	for (k = (uint32_t)t[o->tok].num; k != 0 && left > 0; k = t[k].n) {
		i = split_flag_key(o->scan->text + t[k].start, t[k].len);
		if (i == SPLIT_F_N || m->found[i])
			continue;
		m->v[i] = *o;
		m->v[i].tok = k + 1;
		m->found[i] = true;
		left--;
	}
}

/* Member i when present and not JSON null, else NULL. */
static const struct jnode *
split_flag_member(const struct split_flag_members *m, enum split_flag_key i)
{
	if (!m->found[i] || jnode_type(&m->v[i]) == json_type_null)
		return NULL;
	return &m->v[i];
}

/* Member i's string, or NULL when it is none. */
static const char *
split_flag_str(const struct split_flag_members *m, enum split_flag_key i)
{
	return m->found[i] ? jnode_str(&m->v[i]) : NULL;
}

static int
split_flag_tags(struct split_flags_ctx *c, const struct jnode *tags,
    struct split_flag *f)
{
	struct jnode t;
	struct jnode_iter it;
	size_t i, n;
	int rc;

	if (tags == NULL)
		return 0;
	if (jnode_type(tags) != json_type_array)
		return split_flag_invalid(c, f, "'tags' is not an array");
	/* most flags have none: no call to grow for them */
	n = jnode_len(tags);
	if (n > 0 && (rc = ARRAY_GROW(c->tags, c->tagcap, n)) != 0)
		return rc;
	jnode_iter_init(&it, tags);
	for (i = 0; jnode_iter_next(&it, &t); i++)
		if (split_node_str(&t, "name", &c->tags[i]) != 0)
			return split_flag_invalid(c, f,
			    "a tag without a string 'name'");
	f->tags = c->tags;
	f->ntags = n;
	return 0;
}

static int
split_flag_each(void *arg, const struct jnode *o, const char *url, char *err,
    size_t errlen)
{
	struct split_flags_ctx *c = arg;
	struct split_flag_members m;
	struct split_flag f;
	const struct jnode *v;
	int rc;

	memset(&f, 0, sizeof(f));
	split_flag_members(o, &m);
	if ((f.id = split_flag_str(&m, SPLIT_F_ID)) == NULL ||
	    (f.name = split_flag_str(&m, SPLIT_F_NAME)) == NULL)
		return split_malformed(err, errlen, url,
		    "a flag without string 'id' and 'name'");
	f.description = "";
	/* A JSON null is the same as absent. */
	if ((v = split_flag_member(&m, SPLIT_F_DESC)) != NULL) {
		if (jnode_type(v) != json_type_string)
			split_flag_invalid(c, &f,
			    "'description' is not a string");
		else
			f.description = jnode_str(v);
	}
	if ((v = split_flag_member(&m, SPLIT_F_CTIME)) != NULL) {
		if (jnode_type(v) != json_type_int &&
		    jnode_type(v) != json_type_double)
			split_flag_invalid(c, &f,
			    "'creationTime' is not a number");
		else
			f.creation_time = jnode_int64(v);
	}
	if (f.invalid == NULL && (rc = split_flag_tags(c,
	    split_flag_member(&m, SPLIT_F_TAGS), &f)) != 0)
		return rc;
	if (f.invalid != NULL) {
		f.tags = NULL;
		f.ntags = 0;
	}
	return c->cb(c->arg, &f);
}

int
split_list_flags(struct split_client *sc, const char *ws_id,
    const char *project, split_flag_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct split_flags_ctx c = { cb, arg, NULL, 0, "" };
	struct split_walk w;
	struct buf path;
	char what[SPLIT_WHAT_MAX];
	int rc;

	split_err_clear(err, errlen);
	buf_init(&path, 0);
	if ((rc = split_path(&path, "/splits/ws/", ws_id, NULL, NULL)) != 0)
		goto path_release;
	snprintf(what, sizeof(what), "project '%s'", project ? project : ws_id);
	memset(&w, 0, sizeof(w));
	w.path = buf_str(&path);
	w.query = "";
	w.limit = SPLIT_FLAGS_PAGE;
	w.what = what;
	w.each = split_flag_each;
	w.arg = &c;
	rc = split_walk_pages(sc, &w, err, errlen);
	free(c.tags);
path_release:
	buf_release(&path);
	return rc;
}

static int
split_def_each(void *arg, const struct jnode *o, const char *url, char *err,
    size_t errlen)
{
	struct split_defs_ctx *c = arg;
	const char *name;

	if (split_node_str(o, "name", &name) != 0)
		return split_malformed(err, errlen, url,
		    "a definition without a string 'name'");
	if (c->nodecb != NULL)
		return c->nodecb(c->arg, name, o);
	return c->cb(c->arg, o->json);
}

static int
split_walk_definitions(struct split_client *sc, const char *ws_id,
    const char *project, const char *env_id, struct split_defs_ctx *c,
    char *err, size_t errlen)
{
	struct split_walk w;
	struct buf path;
	char what[SPLIT_WHAT_MAX];
	int rc;

	split_err_clear(err, errlen);
	buf_init(&path, 0);
	if ((rc = split_path(&path, "/splits/ws/", ws_id, "/environments/",
	    env_id)) != 0)
		goto path_release;
	snprintf(what, sizeof(what), "environment '%s' of project '%s'",
	    env_id, project ? project : ws_id);
	memset(&w, 0, sizeof(w));
	w.path = buf_str(&path);
	w.query = "";
	w.limit = SPLIT_DEFS_PAGE;
	w.what = what;
	w.each = split_def_each;
	w.arg = c;
	/* split_def_cb wants json-c objects */
	w.tree = c->nodecb == NULL;
	jscan_init(&w.scan);
	rc = split_walk_pages(sc, &w, err, errlen);
path_release:
	buf_release(&path);
	return rc;
}

int
split_list_definitions(struct split_client *sc, const char *ws_id,
    const char *project, const char *env_id, split_def_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct split_defs_ctx c = { cb, NULL, arg };

	return split_walk_definitions(sc, ws_id, project, env_id, &c, err,
	    errlen);
}

int
split_list_definition_nodes(struct split_client *sc, const char *ws_id,
    const char *project, const char *env_id, split_defnode_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct split_defs_ctx c = { NULL, cb, arg };

	return split_walk_definitions(sc, ws_id, project, env_id, &c, err,
	    errlen);
}

/* api_url/splits/ws/{ws}/{name}[/environments/{env}] */
static int
split_flag_url(struct split_client *sc, struct buf *url, const char *ws_id,
    const char *name, const char *env_id)
{
	int rc;

	rc = buf_puts(url, sc->api_url);
	if (rc == 0)
		rc = split_path(url, "/splits/ws/", ws_id, "/", name);
	if (rc == 0 && env_id)
		rc = split_path(url, "/environments/", env_id, NULL, NULL);
	return rc;
}

/* One object, GET and handed to each (a flag or a definition reader). */
static int
split_get_one(struct split_client *sc, const char *url, const char *what,
    const char *kind, int (*each)(void *, const struct jnode *, const char *,
    char *, size_t), void *ctx, char *err, size_t errlen)
{
	json_object *root = NULL;
	struct jnode node;
	int rc;

	rc = split_get(sc, url, what, &root, err, errlen);
	if (rc == 0 && !json_object_is_type(root, json_type_object))
		rc = split_malformed(err, errlen, url, "not a %s object",
		    kind);
	if (rc == 0) {
		jnode_json(&node, root);
		rc = each(ctx, &node, url, err, errlen);
	}
	json_object_put(root);
	return rc;
}

int
split_get_flag(struct split_client *sc, const char *ws_id,
    const char *project, const char *name, split_flag_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct split_flags_ctx c = { cb, arg, NULL, 0, "" };
	char what[SPLIT_WHAT_MAX];
	struct buf url;
	int rc;

	split_err_clear(err, errlen);
	buf_init(&url, 0);
	snprintf(what, sizeof(what), "flag '%s' of project '%s'", name,
	    project ? project : ws_id);
	if ((rc = split_flag_url(sc, &url, ws_id, name, NULL)) == 0)
		rc = split_get_one(sc, buf_str(&url), what, "flag",
		    split_flag_each, &c, err, errlen);
	free(c.tags);
	buf_release(&url);
	return rc;
}

int
split_get_definition(struct split_client *sc, const char *ws_id,
    const char *project, const char *name, const char *env_id,
    split_defnode_cb cb, void *arg, char *err, size_t errlen)
{
	struct split_defs_ctx c = { NULL, cb, arg };
	char what[SPLIT_WHAT_MAX];
	struct buf url;
	int rc;

	split_err_clear(err, errlen);
	buf_init(&url, 0);
	snprintf(what, sizeof(what), "definition of flag '%s' in environment "
	    "'%s' of project '%s'", name, env_id, project ? project : ws_id);
	if ((rc = split_flag_url(sc, &url, ws_id, name, env_id)) == 0)
		rc = split_get_one(sc, buf_str(&url), what, "definition",
		    split_def_each, &c, err, errlen);
	buf_release(&url);
	return rc;
}

/* ---- writes: creating a flag, writing its tags ------------------- */

/*
 * Split's rule, as its console words a refusal: a name "must start with
 * a letter and can contain -_ a-z A-Z 0-9".  ASCII only, whatever the
 * locale.  Split documents no length limit; FS_FLAG_MAX is flagsync's.
 */
bool
split_name_valid(const char *name)
{
	size_t i;
	char c;

	if (name == NULL)
		return false;
	for (i = 0; (c = name[i]) != '\0'; i++) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		if (i == 0)
			return false;
		if ((c >= '0' && c <= '9') || c == '-' || c == '_')
			continue;
		return false;
	}
	return i > 0 && i <= FS_FLAG_MAX;
}

/*
 * What Split said in a refusal: the body's "message" when it is a JSON
 * object with one, else the start of the body; printable, the key
 * masked, at most SPLIT_SNIPPET bytes.
 */
static void
split_refusal(const struct split_client *sc, const char *url,
    const struct buf *body, char *out, size_t outlen)
{
	json_object *root = NULL, *m;
	char scratch[SPLIT_WHAT_MAX];
	struct buf msg;

	buf_init(&msg, 0);
	if (split_parse(url, body, &root, scratch, sizeof(scratch)) == 0 &&
	    json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "message", &m) &&
	    json_object_is_type(m, json_type_string) &&
	    buf_puts(&msg, json_object_get_string(m)) == 0)
		split_snippet(sc, &msg, out, outlen);
	else
		split_snippet(sc, body, out, outlen);
	json_object_put(root);
	buf_release(&msg);
}

/*
 * The answer to a write: 0 for a 2xx; else one line naming the request,
 * the object and Split's own words.  409 -> EEXIST, 404 -> FS_ENOTFOUND,
 * 401/403 -> FS_EAUTH, another 4xx (400: Split refused the values) ->
 * EINVAL, anything else -> FS_EHTTP.  A refusal is thus never mistaken
 * for an outage (a 5xx after its retries is FS_EHTTP): the caller backs
 * off the one and waits out the other.
 */
static int
split_write_status(const struct split_client *sc, const char *url,
    const char *what, const struct http_response *r, char *err,
    size_t errlen)
{
	char said[SPLIT_SNIPPET + 4];
	const char *sep;

	if (r->status >= 200 && r->status < 300)
		return 0;
	if (r->status == 401)
		return split_status_error(sc, url, what, r, err, errlen);
	split_refusal(sc, url, &r->body, said, sizeof(said));
	sep = said[0] ? ": Split says: " : "";
	switch (r->status) {
	case 409:
		snprintf(err, errlen, "%s already exists (409, POST %s)%s%s",
		    what, url, sep, said);
		return EEXIST;
	case 404:
		snprintf(err, errlen, "%s not found or not visible to the "
		    "Admin API key (404, POST %s)%s%s", what, url, sep, said);
		return FS_ENOTFOUND;
	case 403:
		snprintf(err, errlen, "Split refused the Admin API key (403) "
		    "at POST %s: its role or scope does not allow editing %s "
		    "(needs API_ALL_GRANTED or API_FEATURE_FLAG_EDITOR)%s%s",
		    url, what, sep, said);
		return FS_EAUTH;
	default:
		snprintf(err, errlen, "Split refused %s (HTTP %ld, POST %s)%s%s",
		    what, r->status, url, sep, said);
		return r->status >= 400 && r->status < 500 ? EINVAL : FS_EHTTP;
	}
}

/* The created flag, handed to cb as a listing would hand it. */
static int
split_created_flag(struct buf *body, const char *url, split_flag_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct split_flags_ctx c = { cb, arg, NULL, 0, "" };
	json_object *root = NULL;
	struct jnode node;
	int rc;

	rc = split_tree(url, body, &root, err, errlen);
	if (rc == 0 && !json_object_is_type(root, json_type_object))
		rc = split_malformed(err, errlen, url, "not a flag object");
	if (rc == 0) {
		jnode_json(&node, root);
		rc = split_flag_each(&c, &node, url, err, errlen);
	}
	free(c.tags);
	json_object_put(root);
	return rc;
}

/* Adds key: string to o; ENOMEM when json-c cannot. */
static int
split_json_add_str(json_object *o, const char *key, const char *s)
{
	json_object *v;

	if ((v = json_object_new_string(s)) == NULL)
		return ENOMEM;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return ENOMEM;
	}
	return 0;
}

/* The JSON text of o, copied into out. */
static int
split_json_text(json_object *o, struct buf *out)
{
	const char *s;

	if ((s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN))
	    == NULL)
		return ENOMEM;
	return buf_puts(out, s);
}

static int
split_create_body(const char *name, const char *description, struct buf *out)
{
	json_object *o;
	int rc;

	if ((o = json_object_new_object()) == NULL)
		return ENOMEM;
	rc = split_json_add_str(o, "name", name);
	if (rc == 0)
		rc = split_json_add_str(o, "description",
		    description ? description : "");
	if (rc == 0)
		rc = split_json_text(o, out);
	json_object_put(o);
	return rc;
}

/* A refused name, quoted on one line: printable ASCII, '?' for the rest,
 * at most SPLIT_SNIPPET bytes. */
static void
split_printable(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; s != NULL && *s && o + 1 < outlen && o < SPLIT_SNIPPET; s++)
		out[o++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
	out[o] = '\0';
}

int
split_create_flag(struct split_client *sc, const char *ws_id,
    const char *project, const char *traffic_type, const char *name,
    const char *description, split_flag_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct http_response r;
	struct buf url, body;
	char what[SPLIT_WHAT_MAX], shown[SPLIT_SNIPPET + 4];
	int rc;

	split_err_clear(err, errlen);
	if (!split_name_valid(name)) {
		split_printable(name, shown, sizeof(shown));
		snprintf(err, errlen, "flag name '%s' breaks Split's naming "
		    "rule: a letter first, then only letters, digits, '-' and "
		    "'_', at most %d bytes", shown, FS_FLAG_MAX);
		return EINVAL;
	}
	if (description && strlen(description) > FS_DESC_MAX) {
		snprintf(err, errlen, "flag '%s': description over %d bytes",
		    name, FS_DESC_MAX);
		return EINVAL;
	}
	snprintf(what, sizeof(what), "flag '%s' (traffic type '%s') in "
	    "project '%s'", name, traffic_type, project ? project : ws_id);
	http_response_init(&r);
	buf_init(&url, 0);
	buf_init(&body, 0);
	rc = buf_puts(&url, sc->api_url);
	if (rc == 0)
		rc = split_path(&url, "/splits/ws/", ws_id, "/trafficTypes/",
		    traffic_type);
	if (rc == 0)
		rc = split_create_body(name, description, &body);
	if (rc == 0)
		rc = split_send(sc, "POST", buf_str(&url), buf_str(&body),
		    what, &r, err, errlen);
	if (rc == 0)
		rc = split_write_status(sc, buf_str(&url), what, &r, err,
		    errlen);
	if (rc == 0 && cb != NULL)
		rc = split_created_flag(&r.body, buf_str(&url), cb, arg, err,
		    errlen);
	buf_release(&body);
	buf_release(&url);
	http_response_release(&r);
	return rc;
}

/* tags[i] appeared before i: Split keeps a set, so it is sent once. */
static bool
split_tag_seen(const char *const *tags, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(tags[j], tags[i]) == 0)
			return true;
	return false;
}

static int
split_tags_body(const char *const *tags, size_t n, struct buf *out)
{
	json_object *a, *v;
	size_t i;
	int rc = 0;

	if ((a = json_object_new_array()) == NULL)
		return ENOMEM;
	for (i = 0; i < n && rc == 0; i++) {
		if (split_tag_seen(tags, i))
			continue;
		if ((v = json_object_new_string(tags[i])) == NULL)
			rc = ENOMEM;
		else if (json_object_array_add(a, v) != 0) {
			json_object_put(v);
			rc = ENOMEM;
		}
	}
	if (rc == 0)
		rc = split_json_text(a, out);
	json_object_put(a);
	return rc;
}

int
split_set_flag_tags(struct split_client *sc, const char *ws_id,
    const char *project, const char *name, const char *const *tags,
    size_t n, char *err, size_t errlen)
{
	struct http_response r;
	struct buf url, body;
	char what[SPLIT_WHAT_MAX];
	size_t i, len;
	int rc;

	split_err_clear(err, errlen);
	for (i = 0; i < n; i++) {
		len = tags[i] ? strlen(tags[i]) : 0;
		if (len == 0 || len > FS_TAG_MAX) {
			snprintf(err, errlen, "flag '%s': tag %zu is %s; a tag "
			    "has 1 to %d bytes", name, i + 1, len ? "too long" :
			    "empty", FS_TAG_MAX);
			return EINVAL;
		}
	}
	snprintf(what, sizeof(what), "the tags of flag '%s' in project '%s'",
	    name, project ? project : ws_id);
	http_response_init(&r);
	buf_init(&url, 0);
	buf_init(&body, 0);
	rc = buf_puts(&url, sc->api_url);
	if (rc == 0)
		rc = split_path(&url, "/tags/ws/", ws_id, "/object/", name);
	if (rc == 0)
		rc = buf_puts(&url, "/objecttype/Split");
	if (rc == 0)
		rc = split_tags_body(tags, n, &body);
	if (rc == 0)
		rc = split_send(sc, "POST", buf_str(&url), buf_str(&body),
		    what, &r, err, errlen);
	if (rc == 0)
		rc = split_write_status(sc, buf_str(&url), what, &r, err,
		    errlen);
	buf_release(&body);
	buf_release(&url);
	http_response_release(&r);
	return rc;
}
