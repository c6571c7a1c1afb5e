/*
 * jira.c - the Jira Cloud REST API v3 client.
 *
 * Every request goes through jira_request(), the one place that knows the
 * retry policy (see jira.h), so a poll never hangs.  The search walks
 * nextPageToken pages, each page's JSON tree freed before the next one is
 * fetched.
 *
 * The API token is a secret: it lives only in the Authorization header
 * (and its copies are wiped before they are freed); text quoted from an
 * answer is masked should the server echo the token.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "error.h"
#include "http.h"
#include "jira.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "utf8.h"

#define JIRA_BACKOFF_MS		1000	/* default backoff_base_ms */
#define JIRA_BACKOFF_CAP_MS	30000
#define JIRA_DETAIL_MAX		400	/* bytes of an error body we quote */
#define JIRA_REASON_MAX		1024
#define JIRA_SEARCH_PATH	"/rest/api/3/search/jql"
#define JIRA_TOKEN_HINT		"check [jira] api_token_file / " \
	"$FLAGSYNC_JIRA_API_TOKEN / the jira-api-token credential"

/* Internal return value, never seen outside this file. */
#define JIRA_AGAIN		INT_MIN		/* send the request again */

struct jira_client {
	struct http_client *hc;
	char	*url;		/* no trailing slash */
	char	*email;
	char	*token;		/* secret; kept to mask it out of messages */
	char	*auth;		/* "Basic base64(email:token)"; secret */
	char	*auth_json;	/* its base64 as JSON may write it ("\/") */
	int64_t	 backoff_base_ms;
	volatile sig_atomic_t *cancel;
	uint64_t nrequests;
};

/* What one jira_request() has spent of its retry budget. */
struct jira_try {
	int	 retries;	/* 5xx, timeouts, network errors */
	int	 waits;		/* 429 */
};

/* One request in flight, for the helpers that report on it. */
struct jira_call {
	const char *method;
	const char *url;
	const char *body;
	struct http_response r;
	struct jira_try t;
};

/* The tokens a search was given, to stop a server that loops. */
struct jira_tokens {
	char	**v;
	size_t	 n, cap;
};

static void
jira_zfree(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static const char jira_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "Basic " and base64(email ":" token), wiped and freed by the caller. */
static char *
jira_basic_auth(const char *email, const char *token)
{
	size_t elen = strlen(email), tlen = strlen(token), n, i, o;
	unsigned char *in;
	char *out;
	uint32_t v;

	n = elen + 1 + tlen;
	if ((in = malloc(n)) == NULL)
		return NULL;
	memcpy(in, email, elen);
	in[elen] = ':';
	memcpy(in + elen + 1, token, tlen);
	if ((out = malloc(6 + (n + 2) / 3 * 4 + 1)) == NULL)
		goto in_free;
	memcpy(out, "Basic ", 6);
	for (i = 0, o = 6; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = jira_b64[(v >> 18) & 63];
		out[o++] = jira_b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? jira_b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? jira_b64[v & 63] : '=';
	}
	out[o] = '\0';
in_free:
	explicit_bzero(in, n);
	free(in);
	return out;
}

/* s with every '/' written "\/"; wiped and freed by the caller. */
static char *
jira_slash_escape(const char *s)
{
	size_t n = strlen(s), i, o;
	char *out;

	if ((out = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = 0, o = 0; i < n; i++) {
		if (s[i] == '/')
			out[o++] = '\\';
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

int
jira_client_create(struct jira_client **out, const struct jira_options *o)
{
	struct http_options ho;
	struct jira_client *jc;
	size_t n;
	int rc = ENOMEM;

	*out = NULL;
	if (o->url == NULL || o->email == NULL || o->api_token == NULL)
		return EINVAL;
	if ((jc = calloc(1, sizeof(*jc))) == NULL)
		return ENOMEM;
	if ((jc->url = strdup(o->url)) == NULL ||
	    (jc->email = strdup(o->email)) == NULL ||
	    (jc->token = strdup(o->api_token)) == NULL ||
	    (jc->auth = jira_basic_auth(o->email, o->api_token)) == NULL ||
	    (jc->auth_json = jira_slash_escape(jc->auth + 6)) == NULL)
		goto client_free;
	n = strlen(jc->url);
	while (n > 0 && jc->url[n - 1] == '/')
		jc->url[--n] = '\0';
	memset(&ho, 0, sizeof(ho));
	ho.timeout = o->timeout;
	ho.ca_file = o->ca_file;
	ho.max_body = o->max_body ? o->max_body : JIRA_MAX_BODY;
	ho.cancel = o->cancel;
	ho.api = METRICS_API_JIRA;
	if ((rc = http_client_create(&jc->hc, &ho)) != 0)
		goto client_free;
	jc->backoff_base_ms = o->backoff_base_ms > 0 ?
	    o->backoff_base_ms : JIRA_BACKOFF_MS;
	jc->cancel = o->cancel;
	*out = jc;
	return 0;

client_free:
	jira_client_free(jc);
	return rc;
}

void
jira_client_free(struct jira_client *jc)
{
	if (jc == NULL)
		return;
	http_client_free(jc->hc);
	free(jc->url);
	free(jc->email);
	jira_zfree(jc->token);
	jira_zfree(jc->auth);
	jira_zfree(jc->auth_json);
	free(jc);
}

uint64_t
jira_request_count(const struct jira_client *jc)
{
	return jc->nrequests;
}

/* ------------------------------------------------------------ messages */

/*
 * The length of the secret that starts at p (at most n bytes), 0 when
 * none does: the token, or the base64 credential of the Authorization
 * header, which a server echoing the request would quote.  The
 * base64 is tried first: it may contain the token's own bytes.
 */
static size_t
jira_secret_at(const struct jira_client *jc, const unsigned char *p,
    size_t n)
{
	const char *const secrets[] = { jc->auth + 6, jc->auth_json,
	    jc->token };
	size_t i, len;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		len = strlen(secrets[i]);
		if (len > 0 && n >= len && memcmp(p, secrets[i], len) == 0)
			return len;
	}
	return 0;
}

/*
 * Appends s as one printable line of at most JIRA_DETAIL_MAX bytes in
 * all, the secrets masked, never cutting a UTF-8 character (the line may
 * end up in JSON).  A buf error only shortens the message.
 */
static void
jira_clean(const struct jira_client *jc, const char *s, size_t len,
    struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len && out->len < JIRA_DETAIL_MAX) {
		if ((n = jira_secret_at(jc, p + i, len - i)) > 0) {
			buf_puts(out, "***");
			i += n;
			continue;
		}
		/* strict: overlong forms and surrogates are not UTF-8 */
		n = p[i] >= 0x80 ? utf8_decode(p + i, len - i, &cp) : 1;
		if (n > 1 && out->len + n > JIRA_DETAIL_MAX)
			break;
		if (n > 1)
			buf_append(out, p + i, n);
		else if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			buf_putc(out, ' ');
		else if (n == 1 && p[i] >= 0x20 && p[i] != 0x7f)
			buf_putc(out, (char)p[i]);
		else
			buf_putc(out, '?');
		i += n ? n : 1;
	}
	if (i < len)
		buf_puts(out, "...");
}

static void
jira_sep(struct buf *b)
{
	if (b->len)
		buf_puts(b, "; ");
}

/*
 * Jira's error shape, {"errorMessages": [...], "errors": {field: msg}},
 * as "msg; field: msg".  Returns 0 when the body had that shape.
 */
static int
jira_error_words(json_object *root, struct buf *b)
{
	json_object *msgs, *errs, *m;
	size_t i, n;
	int shaped = -1;

	if (!json_object_is_type(root, json_type_object))
		return -1;
	if (json_object_object_get_ex(root, "errorMessages", &msgs) &&
	    json_object_is_type(msgs, json_type_array)) {
		shaped = 0;
		n = json_object_array_length(msgs);
		for (i = 0; i < n; i++) {
			m = json_object_array_get_idx(msgs, i);
			if (m == NULL)
				continue;
			jira_sep(b);
			buf_puts(b, json_object_get_string(m));
		}
	}
	if (json_object_object_get_ex(root, "errors", &errs) &&
	    json_object_is_type(errs, json_type_object)) {
		shaped = 0;
		json_object_object_foreach(errs, field, val) {
			if (val == NULL)
				continue;
			jira_sep(b);
			buf_printf(b, "%s: %s", field,
			    json_object_get_string(val));
		}
	}
	return shaped;
}

/*
 * What Jira said in an error body: its messages, nothing when it gave
 * none, or the body's text when it is not Jira's error shape.
 */
static void
jira_detail(const struct jira_client *jc, const struct buf *body,
    struct buf *out)
{
	json_object *root;
	struct buf words;

	buf_init(&words, 0);
	root = json_tokener_parse(buf_str(body));
	if (root == NULL || jira_error_words(root, &words) != 0) {
		buf_reset(&words);
		buf_append(&words, buf_str(body), body->len);
	}
	json_object_put(root);
	jira_clean(jc, buf_str(&words), words.len, out);
	buf_release(&words);
}

/* "Jira: 400 at URL: what Jira said" */
static void
jira_status_line(const struct jira_client *jc, const struct jira_call *c,
    char *out, size_t outlen)
{
	struct buf d;

	buf_init(&d, 0);
	jira_detail(jc, &c->r.body, &d);
	snprintf(out, outlen, "Jira: %ld at %s%s%s", c->r.status, c->url,
	    d.len ? ": " : "", buf_str(&d));
	buf_release(&d);
}

static int
jira_auth_error(const struct jira_client *jc, const struct jira_call *c,
    char *err, size_t errlen)
{
	struct buf d;

	buf_init(&d, 0);
	if (c->r.status == 401)
		snprintf(err, errlen, "Jira rejected the API token of %s "
		    "(401 at %s): %s, and [jira] email; a scoped token "
		    "works only with url = https://api.atlassian.com/ex/jira/"
		    "CLOUD_ID", jc->email, c->url, JIRA_TOKEN_HINT);
	else {
		jira_detail(jc, &c->r.body, &d);
		snprintf(err, errlen, "Jira refused %s (403 at %s)%s%s: the "
		    "account lacks the permission, or the token is not its "
		    "own: %s", jc->email, c->url, d.len ? ": " : "",
		    buf_str(&d), JIRA_TOKEN_HINT);
	}
	buf_release(&d);
	return FS_EAUTH;
}

static int
jira_status_error(const struct jira_client *jc, const struct jira_call *c,
    char *err, size_t errlen)
{
	if (c->r.status == 401 || c->r.status == 403)
		return jira_auth_error(jc, c, err, errlen);
	jira_status_line(jc, c, err, errlen);
	return c->r.status == 404 ? FS_ENOTFOUND : FS_EHTTP;
}

/* ------------------------------------------------------------ retries */

/*
 * Retry-After in milliseconds, rounded up (Jira says a retry before then
 * fails again): delta-seconds, fractions tolerated, or an HTTP date.  -1
 * when absent or unreadable.
 */
static int64_t
jira_retry_after_ms(const char *s)
{
	time_t when, now;
	char *end;
	double v;
	int64_t ms;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0') {
		if (errno != 0 || !isfinite(v) || v < 0 || v > 1e9)
			return -1;
		ms = (int64_t)(v * 1000);
		return (double)ms < v * 1000 ? ms + 1 : ms;
	}
	if ((when = curl_getdate(s, NULL)) == -1)
		return -1;
	now = time(NULL);
	if (when <= now)
		return 0;
	/* A date ages ahead must not overflow the product: the callers
	 * refuse any wait this long anyway, as for a number over 1e9. */
	if ((int64_t)when - (int64_t)now > 1000000000)
		return (int64_t)1000000000 * 1000;
	return ((int64_t)when - (int64_t)now) * 1000;
}

static int
jira_sleep(struct jira_client *jc, int64_t ms, const char *reason, char *err,
    size_t errlen)
{
	if (http_sleep_ms(ms, jc->cancel) != 0) {
		snprintf(err, errlen, "%s; canceled while waiting to retry",
		    reason);
		return FS_ECANCELED;
	}
	return JIRA_AGAIN;
}

/*
 * A wait Jira asks for that is longer than we ever wait: trying earlier
 * would fail again, so the request fails now and the next cycle retries.
 */
static int
jira_too_long(const char *reason, int64_t ms, int rc, char *err,
    size_t errlen)
{
	snprintf(err, errlen, "%s; Jira asks to wait %lld s (Retry-After), "
	    "longer than the %d s flagsync waits at a time: trying again "
	    "next cycle", reason, (long long)((ms + 999) / 1000),
	    JIRA_MAX_WAIT_S);
	return rc;
}

/* 5xx, timeouts, network errors: backoff, or Retry-After on a 503. */
static int
jira_retry(struct jira_client *jc, struct jira_call *c, int rc,
    const char *reason, char *err, size_t errlen)
{
	int64_t ms = -1;

	if (c->t.retries >= JIRA_MAX_RETRIES) {
		snprintf(err, errlen, "%s (gave up after %d retries)", reason,
		    JIRA_MAX_RETRIES);
		return rc;
	}
	if (c->r.status == 503)
		ms = jira_retry_after_ms(c->r.retry_after);
	if (ms > (int64_t)JIRA_MAX_WAIT_S * 1000)
		return jira_too_long(reason, ms, rc, err, errlen);
	if (ms < 0)
		ms = http_backoff_ms(c->t.retries, jc->backoff_base_ms,
		    JIRA_BACKOFF_CAP_MS);
	c->t.retries++;
	log_warnx("%s; retry %d of %d in %lld ms", reason, c->t.retries,
	    JIRA_MAX_RETRIES, (long long)ms);
	return jira_sleep(jc, ms, reason, err, errlen);
}

static int
jira_wait_429(struct jira_client *jc, struct jira_call *c, char *err,
    size_t errlen)
{
	char reason[JIRA_REASON_MAX];
	const char *why = "Retry-After";
	int64_t ms;

	snprintf(reason, sizeof(reason), "Jira: 429 at %s: rate limited",
	    c->url);
	if (c->t.waits >= JIRA_MAX_429) {
		snprintf(err, errlen, "%s, still after %d waits", reason,
		    JIRA_MAX_429);
		return FS_ERATELIMIT;
	}
	ms = jira_retry_after_ms(c->r.retry_after);
	if (ms > (int64_t)JIRA_MAX_WAIT_S * 1000)
		return jira_too_long(reason, ms, FS_ERATELIMIT, err, errlen);
	if (ms < 0) {
		why = "no Retry-After, backing off";
		ms = http_backoff_ms(c->t.waits, jc->backoff_base_ms,
		    (int64_t)JIRA_MAX_WAIT_S * 1000);
	}
	c->t.waits++;
	log_info("%s, waiting %lld ms (%s; %d of %d)", reason, (long long)ms,
	    why, c->t.waits, JIRA_MAX_429);
	metrics_count_wait(METRICS_API_JIRA, ms);
	return jira_sleep(jc, ms, reason, err, errlen);
}

/* One request: 0 for a 2xx answer in c->r, JIRA_AGAIN, or an error. */
static int
jira_try_once(struct jira_client *jc, struct jira_call *c, char *err,
    size_t errlen)
{
	struct http_header auth = { "Authorization", jc->auth };
	char reason[JIRA_REASON_MAX];
	int rc;

	jc->nrequests++;
	rc = http_request(jc->hc, c->method, c->url, &auth, 1, c->body, &c->r,
	    err, errlen);
	if (rc == FS_ETIMEOUT || rc == FS_ENETWORK) {
		/* http.c's words name method and URL, not the service */
		snprintf(reason, sizeof(reason), "Jira: %s", errlen ? err :
		    c->url);
		return jira_retry(jc, c, rc, reason, err, errlen);
	}
	if (rc != 0)
		return rc;
	if (c->r.status >= 200 && c->r.status < 300)
		return 0;
	if (c->r.status == 429)
		return jira_wait_429(jc, c, err, errlen);
	if (c->r.status >= 500 && c->r.status < 600) {
		jira_status_line(jc, c, reason, sizeof(reason));
		return jira_retry(jc, c, FS_EHTTP, reason, err, errlen);
	}
	return jira_status_error(jc, c, err, errlen);
}

/* ------------------------------------------------------------ parsing */

static int
jira_malformed(char *err, size_t errlen, const char *method, const char *url,
    const char *why)
{
	snprintf(err, errlen, "Jira: %s %s: malformed answer: %s", method, url,
	    why);
	return FS_EPROTO;
}

static size_t
jira_parse_end(struct json_tokener *tok)
{
#if JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
	return json_tokener_get_parse_end(tok);
#else
	return (size_t)tok->char_offset;
#endif
}

static bool
jira_blank(const char *s, size_t from, size_t len)
{
	for (; from < len; from++)
		if (strchr(" \t\r\n", s[from]) == NULL)
			return false;
	return true;
}

/* The whole body as one strict JSON value; NULL for an empty body. */
static int
jira_parse(const struct jira_call *c, json_object **root, char *err,
    size_t errlen)
{
	const struct buf *body = &c->r.body;
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	const char *why = NULL;
	json_object *o;
	size_t end;

	*root = NULL;
	if (jira_blank(buf_str(body), 0, body->len))
		return 0;
	if (body->len > INT_MAX)
		return jira_malformed(err, errlen, c->method, c->url,
		    "too large");
	if ((tok = json_tokener_new()) == NULL)
		return ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf_str(body), (int)body->len);
	jerr = json_tokener_get_error(tok);
	end = jira_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue)
		why = "truncated JSON";
	else if (jerr != json_tokener_success)
		why = json_tokener_error_desc(jerr);
	else if (!jira_blank(buf_str(body), end, body->len))
		why = "data after the JSON value";
	if (why) {
		json_object_put(o);
		return jira_malformed(err, errlen, c->method, c->url, why);
	}
	*root = o;
	return 0;
}

/*
 * jira_request(); when errbody is not NULL and Jira answered 400, the
 * answer's body is appended to it (the key search reads which keys Jira
 * named).
 */
static int
jira_request_body(struct jira_client *jc, const char *method,
    const char *path, const char *body, long *status, json_object **json,
    struct buf *errbody, char *err, size_t errlen)
{
	struct jira_call c;
	struct buf url;
	int rc;

	*status = 0;
	*json = NULL;
	if (errlen)
		err[0] = '\0';
	if (path[0] != '/') {
		snprintf(err, errlen, "Jira: %s: not a path", path);
		return EINVAL;
	}
	buf_init(&url, 0);
	if ((rc = buf_printf(&url, "%s%s", jc->url, path)) != 0) {
		snprintf(err, errlen, "Jira: %s: %s", path, strerror(rc));
		goto url_release;
	}
	memset(&c, 0, sizeof(c));
	c.method = method;
	c.url = buf_str(&url);
	c.body = body;
	http_response_init(&c.r);
	do {
		rc = jira_try_once(jc, &c, err, errlen);
	} while (rc == JIRA_AGAIN);
	*status = c.r.status;
	if (rc == 0) {
		if (errlen)
			err[0] = '\0';
		rc = jira_parse(&c, json, err, errlen);
	} else if (rc == FS_EHTTP && c.r.status == 400 && errbody != NULL &&
	    buf_append(errbody, c.r.body.data, c.r.body.len) != 0)
		rc = ENOMEM;
	http_response_release(&c.r);
url_release:
	buf_release(&url);
	return rc;
}

int
jira_request(struct jira_client *jc, const char *method, const char *path,
    const char *body, long *status, json_object **json, char *err,
    size_t errlen)
{
	return jira_request_body(jc, method, path, body, status, json, NULL,
	    err, errlen);
}

/* ------------------------------------------------------------ search */

static void
jira_tokens_release(struct jira_tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
}

static bool
jira_tokens_has(const struct jira_tokens *t, const char *tok)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i], tok) == 0)
			return true;
	return false;
}

static int
jira_tokens_add(struct jira_tokens *t, const char *tok)
{
	int rc;

	if ((rc = ARRAY_GROW(t->v, t->cap, t->n + 1)) != 0)
		return rc;
	if ((t->v[t->n] = strdup(tok)) == NULL)
		return ENOMEM;
	t->n++;
	return 0;
}

/* The POST body of one page; NULL when out of memory. */
static char *
jira_search_body(const char *jql, const char *const *fields, size_t nfields,
    const char *token)
{
	json_object *o;
	char *s = NULL;
	int rc;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	rc = jsonw_str(o, "jql", jql);
	if (rc == 0)
		rc = jsonw_put(o, "fields", jsonw_strv(fields, nfields));
	if (rc == 0)
		rc = jsonw_put(o, "maxResults",
		    json_object_new_int(JIRA_SEARCH_PAGE));
	if (rc == 0 && token)
		rc = jsonw_str(o, "nextPageToken", token);
	if (rc == 0)
		s = strdup(json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

struct jira_page {
	const char *url;
	struct buf *errbody;	/* a 400's body goes here; may be NULL */
	jira_issue_cb cb;
	void	*arg;
	int	 is_last;	/* 1, 0, or -1 when absent */
	const char *next;	/* into the page's tree; NULL when none */
};

static int
jira_page_issues(struct jira_page *p, json_object *issues, char *err,
    size_t errlen)
{
	json_object *is, *key, *fields;
	size_t i, n;
	int rc = 0;

	n = json_object_array_length(issues);
	for (i = 0; rc == 0 && i < n; i++) {
		is = json_object_array_get_idx(issues, i);
		if (!json_object_object_get_ex(is, "key", &key) ||
		    !json_object_is_type(key, json_type_string))
			return jira_malformed(err, errlen, "POST", p->url,
			    "an issue without a string 'key'");
		if (!json_object_object_get_ex(is, "fields", &fields) ||
		    !json_object_is_type(fields, json_type_object))
			fields = NULL;
		rc = p->cb(p->arg, json_object_get_string(key), fields);
	}
	return rc;
}

static int
jira_page_read(struct jira_page *p, json_object *root, char *err,
    size_t errlen)
{
	json_object *issues, *v;

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "issues", &issues) ||
	    !json_object_is_type(issues, json_type_array))
		return jira_malformed(err, errlen, "POST", p->url,
		    "no 'issues' array");
	p->is_last = -1;
	if (json_object_object_get_ex(root, "isLast", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean))
			return jira_malformed(err, errlen, "POST", p->url,
			    "'isLast' is not a boolean");
		p->is_last = json_object_get_boolean(v);
	}
	p->next = NULL;
	if (json_object_object_get_ex(root, "nextPageToken", &v) &&
	    v != NULL) {
		if (!json_object_is_type(v, json_type_string))
			return jira_malformed(err, errlen, "POST", p->url,
			    "'nextPageToken' is not a string");
		if (json_object_get_string_len(v) > 0)
			p->next = json_object_get_string(v);
	}
	return jira_page_issues(p, issues, err, errlen);
}

/*
 * Whether paging goes on after this page: 0 done, 1 go on with p->next,
 * or FS_EPROTO when it cannot go on safely.
 */
static int
jira_page_next(const struct jira_page *p, const struct jira_tokens *seen,
    char *err, size_t errlen)
{
	if (p->is_last == 1)
		return 0;
	if (p->next == NULL) {
		/* Nothing to ask for next: the end, as Atlassian's own
		 * client takes it, rather than no links at all. */
		if (p->is_last == 0)
			log_warnx("Jira: POST %s: isLast is false but there is "
			    "no nextPageToken; taking this page as the last",
			    p->url);
		return 0;
	}
	if (jira_tokens_has(seen, p->next))
		return jira_malformed(err, errlen, "POST", p->url,
		    "a nextPageToken given before came again; paging would "
		    "never end");
	return 1;
}

/* One page: 0 when it was the last, 1 to go on, or an error. */
static int
jira_search_page(struct jira_client *jc, const char *jql,
    const char *const *fields, size_t nfields, struct jira_page *p,
    struct jira_tokens *seen, char *err, size_t errlen)
{
	const char *token = seen->n ? seen->v[seen->n - 1] : NULL;
	json_object *root;
	char *body;
	long status;
	int rc;

	if ((body = jira_search_body(jql, fields, nfields, token)) == NULL)
		return ENOMEM;
	rc = jira_request_body(jc, "POST", JIRA_SEARCH_PATH, body, &status,
	    &root, p->errbody, err, errlen);
	free(body);
	if (rc != 0)
		return rc;
	rc = jira_page_read(p, root, err, errlen);
	if (rc == 0)
		rc = jira_page_next(p, seen, err, errlen);
	if (rc == 1 && jira_tokens_add(seen, p->next) != 0)
		rc = ENOMEM;
	p->next = NULL;		/* it pointed into root */
	json_object_put(root);
	return rc;
}

static int
jira_search_run(struct jira_client *jc, const char *jql,
    const char *const *fields, size_t nfields, jira_issue_cb cb, void *arg,
    struct buf *errbody, char *err, size_t errlen)
{
	struct jira_tokens seen = { NULL, 0, 0 };
	struct jira_page p;
	struct buf url;
	int rc;

	if (errlen)
		err[0] = '\0';
	buf_init(&url, 0);
	if ((rc = buf_printf(&url, "%s%s", jc->url, JIRA_SEARCH_PATH)) != 0)
		goto url_release;
	memset(&p, 0, sizeof(p));
	p.url = buf_str(&url);
	p.cb = cb;
	p.arg = arg;
	p.errbody = errbody;
	do {
		if (jc->cancel != NULL && *jc->cancel != 0) {
			snprintf(err, errlen, "Jira: POST %s: canceled", p.url);
			rc = FS_ECANCELED;
			break;
		}
		rc = jira_search_page(jc, jql, fields, nfields, &p, &seen, err,
		    errlen);
	} while (rc == 1);
	jira_tokens_release(&seen);
url_release:
	buf_release(&url);
	return rc;
}

int
jira_search(struct jira_client *jc, const char *jql,
    const char *const *fields, size_t nfields, jira_issue_cb cb, void *arg,
    char *err, size_t errlen)
{
	return jira_search_run(jc, jql, fields, nfields, cb, arg, NULL, err,
	    errlen);
}

/*
 * The key one of Jira's 400 messages names, into out: the first quoted
 * word of a message about the field 'key' ("An issue with key 'X' does
 * not exist for field 'key'.").  0, or -1 when it names none.
 */
static int
jira_named_key(const char *msg, char *out, size_t outlen)
{
	const char *a, *b;

	if (strstr(msg, "field 'key'") == NULL &&
	    strstr(msg, "field 'issuekey'") == NULL)
		return -1;
	if ((a = strchr(msg, '\'')) == NULL ||
	    (b = strchr(a + 1, '\'')) == NULL || b == a + 1 ||
	    (size_t)(b - a - 1) >= outlen)
		return -1;
	memcpy(out, a + 1, (size_t)(b - a - 1));
	out[b - a - 1] = '\0';
	/* "for field 'key'" itself is no key */
	return strcmp(out, "key") == 0 ? -1 : 0;
}

/* Calls gone() for each key the 400 body names; how many, or -1. */
static int
jira_gone_keys(const struct buf *body, jira_key_cb gone, void *arg)
{
	json_object *root, *msgs, *m;
	char key[JIRA_KEY_MAX];
	size_t i, n;
	int named = 0, rc = 0;

	if ((root = json_tokener_parse(buf_str(body))) == NULL)
		return 0;
	if (json_object_object_get_ex(root, "errorMessages", &msgs) &&
	    json_object_is_type(msgs, json_type_array)) {
		n = json_object_array_length(msgs);
		for (i = 0; i < n && rc == 0; i++) {
			m = json_object_array_get_idx(msgs, i);
			if (!json_object_is_type(m, json_type_string) ||
			    jira_named_key(json_object_get_string(m), key,
			    sizeof(key)) != 0)
				continue;
			if ((rc = gone(arg, key)) == 0)
				named++;
		}
	}
	json_object_put(root);
	return rc != 0 ? -1 : named;
}

int
jira_search_keys(struct jira_client *jc, const char *jql,
    const char *const *fields, size_t nfields, jira_issue_cb cb,
    jira_key_cb gone, void *arg, char *err, size_t errlen)
{
	struct buf body;
	int rc, named;

	buf_init(&body, 0);
	rc = jira_search_run(jc, jql, fields, nfields, cb, arg, &body, err,
	    errlen);
	if (rc == FS_ENOTFOUND)
		rc = FS_EHTTP;	/* a 404: no search there, no key named */
	if (rc == FS_EHTTP && body.len > 0) {
		if ((named = jira_gone_keys(&body, gone, arg)) < 0)
			rc = ENOMEM;
		else if (named > 0)
			rc = FS_ENOTFOUND;
	}
	buf_release(&body);
	return rc;
}

/* ------------------------------------------------------------ fields */

static bool
jira_is_word(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.')
			return false;
	return true;
}

int
jira_field_jql(const char *field, const char *jql, struct buf *out)
{
	const char *num = field + strlen("customfield_");
	int rc;

	if (strncmp(field, "customfield_", strlen("customfield_")) == 0 &&
	    *num != '\0' && strspn(num, "0123456789") == strlen(num))
		rc = buf_printf(out, "cf[%s]", num);
	else if (jira_is_word(field))
		rc = buf_puts(out, field);
	else {
		/* A field name with spaces or quotes: a JQL string. */
		rc = buf_putc(out, '"');
		for (; rc == 0 && *field; field++) {
			if (*field == '"' || *field == '\\')
				rc = buf_putc(out, '\\');
			if (rc == 0)
				rc = buf_putc(out, *field);
		}
		if (rc == 0)
			rc = buf_putc(out, '"');
	}
	if (rc == 0)
		rc = buf_puts(out, " is not EMPTY");
	if (rc == 0 && jql != NULL)
		rc = buf_printf(out, " AND (%s)", jql);
	if (rc == 0)
		rc = buf_puts(out, " ORDER BY key ASC");
	return rc;
}

static bool
jira_is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* Each name of a comma and/or space separated list. */
static int
jira_names_split(const char *s, jira_name_cb cb, void *arg)
{
	char *copy, *p, *start;
	int rc = 0;

	if ((copy = strdup(s)) == NULL)
		return ENOMEM;
	for (p = copy; rc == 0 && *p; ) {
		while (*p && jira_is_sep(*p))
			p++;
		start = p;
		while (*p && !jira_is_sep(*p))
			p++;
		if (*p)
			*p++ = '\0';
		if (*start)
			rc = cb(arg, start, 0);
	}
	free(copy);
	return rc;
}

static bool
jira_is_space(char c)
{
	return c != ',' && jira_is_sep(c);
}

/* One name that may carry white space around it (a label, an option). */
static int
jira_name_one(const char *s, jira_name_cb cb, void *arg)
{
	size_t n;
	char *copy;
	int rc;

	while (*s && jira_is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && jira_is_space(s[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if ((copy = strndup(s, n)) == NULL)
		return ENOMEM;
	rc = cb(arg, copy, 0);
	free(copy);
	return rc;
}

static const char *
jira_type_words(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
	case json_type_double:
		return "a number";
	case json_type_array:
		return "an array inside a list";
	case json_type_object:
		return "an object without a string \"value\" or \"name\"";
	default:
		return "a value of an unknown type";
	}
}

/* The text of a rich text (ADF) node, blocks on lines of their own. */
static int
jira_adf_text(json_object *node, struct buf *b)
{
	json_object *text, *content;
	size_t i, n;
	int rc = 0;

	if (!json_object_is_type(node, json_type_object))
		return 0;
	if (json_object_object_get_ex(node, "text", &text) &&
	    json_object_is_type(text, json_type_string))
		return buf_puts(b, json_object_get_string(text));
	if (!json_object_object_get_ex(node, "content", &content) ||
	    !json_object_is_type(content, json_type_array))
		return buf_putc(b, '\n');	/* hardBreak and the like */
	n = json_object_array_length(content);
	for (i = 0; rc == 0 && i < n; i++)
		rc = jira_adf_text(json_object_array_get_idx(content, i), b);
	return rc == 0 ? buf_putc(b, '\n') : rc;
}

static bool
jira_is_adf(json_object *o)
{
	json_object *t;

	return json_object_object_get_ex(o, "type", &t) &&
	    json_object_is_type(t, json_type_string) &&
	    strcmp(json_object_get_string(t), "doc") == 0 &&
	    json_object_object_get_ex(o, "content", &t);
}

/* A string, or an object's string "value" or "name"; NULL otherwise. */
static const char *
jira_option_name(json_object *v)
{
	json_object *s;

	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (!json_object_is_type(v, json_type_object))
		return NULL;
	if (json_object_object_get_ex(v, "value", &s) &&
	    json_object_is_type(s, json_type_string))
		return json_object_get_string(s);
	if (json_object_object_get_ex(v, "name", &s) &&
	    json_object_is_type(s, json_type_string))
		return json_object_get_string(s);
	return NULL;
}

static int
jira_names_array(json_object *value, jira_name_cb cb, void *arg)
{
	const char *name;
	json_object *v;
	size_t i, n;
	int rc = 0;

	n = json_object_array_length(value);
	for (i = 0; rc == 0 && i < n; i++) {
		v = json_object_array_get_idx(value, i);
		if (v == NULL)
			continue;
		if ((name = jira_option_name(v)) != NULL)
			rc = jira_name_one(name, cb, arg);
		else
			rc = cb(arg, jira_type_words(v), 1);
	}
	return rc;
}

int
jira_field_names(json_object *value, jira_name_cb cb, void *arg)
{
	const char *name;
	struct buf text;
	int rc;

	if (value == NULL)
		return 0;
	if (json_object_is_type(value, json_type_string))
		return jira_names_split(json_object_get_string(value), cb, arg);
	if (json_object_is_type(value, json_type_array))
		return jira_names_array(value, cb, arg);
	if (json_object_is_type(value, json_type_object) &&
	    jira_is_adf(value)) {
		buf_init(&text, JIRA_MAX_BODY);
		rc = jira_adf_text(value, &text);
		if (rc == 0)
			rc = jira_names_split(buf_str(&text), cb, arg);
		buf_release(&text);
		return rc == EFBIG ? ENOMEM : rc;
	}
	if ((name = jira_option_name(value)) != NULL)
		return jira_name_one(name, cb, arg);
	return cb(arg, jira_type_words(value), 1);
}
