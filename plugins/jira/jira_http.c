/*
 * jira_http.c - the jira plugin's own Jira REST client: one libcurl easy
 * handle per instance (connections are reused between calls), basic
 * auth with the account's email and API token, TLS verified, answers
 * kept up to 1 MiB, and 429/503 waited out as Jira's rate-limiting
 * guide says: Retry-After seconds when sent, otherwise a doubling delay
 * with jitter, never past the delivery's time budget.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "jira.h"
#include "plughttp.h"

#define JIRA_USER_AGENT		"flagsync-jira/1.0"
#define JIRA_CONNECT_MS		10000L
#define JIRA_WORDS_MAX		4096	/* of an error body, before masking */

/* Jira's words about an error, before the secrets are masked out. */
struct jira_words {
	char	 text[JIRA_WORDS_MAX];
	size_t	 len;
	int	 cut;		/* more came than text holds */
};

/* Appends n bytes of p, as many as fit. */
static void
jira_words_put(struct jira_words *w, const char *p, size_t n)
{
	if (n > sizeof(w->text) - w->len) {
		n = sizeof(w->text) - w->len;
		w->cut = 1;
	}
	memcpy(w->text + w->len, p, n);
	w->len += n;
}

int64_t
jira_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
jira_sleep_ms(int64_t ms)
{
	struct timespec ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

static const char jira_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of n bytes at in, into out (4 * ((n + 2) / 3) + 1 bytes). */
static void
jira_base64(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
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
}

static void
jira_zfree(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * The forms of the credential a server that echoes the request could
 * quote: the Authorization value's base64 (also with JSON's "\/"),
 * "email:token" and the token.  Longest first, so the masking of one
 * does not leave the rest of a longer one.
 */
static int
jira_secrets_make(struct jira_http *jh)
{
	size_t el = strlen(jh->email), tl = strlen(jh->token), n, i, o;
	char *b64;

	n = el + 1 + tl;
	if ((jh->secret[2] = malloc(n + 1)) == NULL ||
	    (b64 = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return ENOMEM;
	jh->secret[0] = b64;
	snprintf(jh->secret[2], n + 1, "%s:%s", jh->email, jh->token);
	jira_base64((const unsigned char *)jh->secret[2], n, b64);
	if ((jh->secret[1] = malloc(2 * strlen(b64) + 1)) == NULL)
		return ENOMEM;
	for (i = 0, o = 0; b64[i] != '\0'; i++) {
		if (b64[i] == '/')
			jh->secret[1][o++] = '\\';
		jh->secret[1][o++] = b64[i];
	}
	jh->secret[1][o] = '\0';
	return (jh->secret[3] = strdup(jh->token)) == NULL ? ENOMEM : 0;
}

int
jira_http_init(struct jira_http *jh, const char *url, const char *email,
    const char *token, const char *ca_file, long timeout_s, char *err,
    size_t errlen)
{
	memset(jh, 0, sizeof(*jh));
	jh->retry_after = -1;
	jh->email = email;
	jh->token = token;
	jh->ca_file = ca_file;
	jh->timeout_ms = timeout_s * 1000;
	jh->seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	jh->answer.max = JIRA_BODY_MAX;
	if ((jh->base = plughttp_base(url)) == NULL ||
	    jira_secrets_make(jh) != 0)
		goto nomem;
	if (plughttp_header_add(&jh->headers,
	    "Accept: application/json") != 0 ||
	    plughttp_header_add(&jh->headers,
	    "Content-Type: application/json") != 0 ||
	    plughttp_header_add(&jh->headers, "Expect:") != 0)
		goto nomem;
	if ((jh->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot make a curl handle");
		jira_http_release(jh);
		return ENOMEM;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	jira_http_release(jh);
	return ENOMEM;
}

void
jira_http_release(struct jira_http *jh)
{
	size_t i;

	if (jh->curl != NULL)
		curl_easy_cleanup(jh->curl);
	curl_slist_free_all(jh->headers);
	free(jh->base);
	plughttp_answer_reset(&jh->answer);
	for (i = 0; i < JIRA_SECRETS; i++)
		jira_zfree(jh->secret[i]);
	memset(jh, 0, sizeof(*jh));
}

void
jira_http_begin(struct jira_http *jh, int64_t budget_ms)
{
	jh->deadline = jira_now_ms() + budget_ms;
}

int64_t
jira_http_left(const struct jira_http *jh)
{
	return jh->deadline - jira_now_ms();
}

char *
jira_http_escape(struct jira_http *jh, const char *s)
{
	return plughttp_escape(jh->curl, s);
}

/* Retry-After: delta-seconds, or an HTTP-date (RFC 9110 §10.2.3). */
static long
jira_retry_after(const char *v, size_t n)
{
	char text[64];
	long secs;
	time_t when;

	if (plughttp_header_text(v, n, text, sizeof(text)) != 0)
		return -1;
	if (plughttp_number(text, &secs) == 0)
		return secs < 0 ? 0 : secs;
	if ((when = curl_getdate(text, NULL)) == -1)
		return -1;
	return when > time(NULL) ? (long)(when - time(NULL)) : 0;
}

static size_t
jira_header_cb(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = "retry-after:";
	struct jira_http *jh = arg;
	size_t len = size * n, vlen;
	const char *v;

	/* A new status line (after a 100 Continue) starts afresh. */
	if (plughttp_header_status(p, len))
		jh->retry_after = -1;
	else if ((v = plughttp_header_field(p, len, name, &vlen)) != NULL)
		jh->retry_after = jira_retry_after(v, vlen);
	return len;
}

#define JIRA_SETOPT(jh, cc, opt, val) do {				\
	if ((cc) == CURLE_OK)						\
		(cc) = curl_easy_setopt((jh)->curl, (opt), (val));	\
} while (0)

static CURLcode
jira_setup(struct jira_http *jh, const char *method, const char *url,
    const char *body, long timeout_ms)
{
	struct plughttp_call c = {
		.method = method,
		.url = url,
		.body = body,
		.timeout_ms = timeout_ms,
		.connect_ms = JIRA_CONNECT_MS,
		.ca_file = jh->ca_file,
		.user_agent = JIRA_USER_AGENT,
		.headers = jh->headers,
		.answer = &jh->answer,
		.header_cb = jira_header_cb,
		.header_arg = jh,
		.errbuf = jh->errbuf,
	};
	CURLcode cc;

	cc = plughttp_setup(jh->curl, &c);
	JIRA_SETOPT(jh, cc, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	JIRA_SETOPT(jh, cc, CURLOPT_USERNAME, jh->email);
	JIRA_SETOPT(jh, cc, CURLOPT_PASSWORD, jh->token);
	return cc;
}

/* One exchange.  0 with jh->status set, or -1 with err set. */
static int
jira_send(struct jira_http *jh, const char *method, const char *url,
    const char *body, char *err, size_t errlen)
{
	int64_t left = jira_http_left(jh);
	long timeout_ms = jh->timeout_ms;
	CURLcode cc;

	if (left < JIRA_MIN_CALL_MS) {
		snprintf(err, errlen, "the delivery's time budget ran out "
		    "before %s %s; the rest waits for the next attempt",
		    method, url);
		return -1;
	}
	if (left < timeout_ms)
		timeout_ms = (long)left;
	plughttp_answer_reset(&jh->answer);
	jh->status = 0;
	jh->retry_after = -1;
	jh->errbuf[0] = '\0';
	if ((cc = jira_setup(jh, method, url, body, timeout_ms)) == CURLE_OK)
		cc = curl_easy_perform(jh->curl);
	curl_easy_getinfo(jh->curl, CURLINFO_RESPONSE_CODE, &jh->status);
	/* A status with an answer cut at 1 MiB still says how it went. */
	if (plughttp_answered(cc, &jh->answer, jh->status))
		return 0;
	snprintf(err, errlen, "cannot reach Jira (%s %s): %s", method, url,
	    jh->errbuf[0] != '\0' ? jh->errbuf : curl_easy_strerror(cc));
	return -1;
}

/* How long to wait before sending again after a 429 or 503. */
static int64_t
jira_wait_ms(struct jira_http *jh, int attempt, int *told)
{
	int64_t ms;
	double jitter;

	*told = jh->retry_after >= 0;
	if (*told) {
		ms = (int64_t)jh->retry_after * 1000;
		return ms > JIRA_WAIT_CAP_MS ? JIRA_WAIT_CAP_MS : ms;
	}
	ms = (int64_t)JIRA_BACKOFF_BASE_MS << attempt;
	if (ms > JIRA_BACKOFF_CAP_MS)
		ms = JIRA_BACKOFF_CAP_MS;
	/* 0.7 to 1.3, as Atlassian's rate-limit guide suggests. */
	jitter = 0.7 + 0.6 * ((double)rand_r(&jh->seed) / RAND_MAX);
	return (int64_t)((double)ms * jitter);
}

enum jira_outcome
jira_http_request(struct jira_http *jh, const char *method, const char *path,
    const char *body, void (*wait)(void *, const char *, const char *, long,
    int64_t, int), void *arg, char *err, size_t errlen)
{
	int64_t ms;
	char *url;
	int attempt, told;
	enum jira_outcome out = JIRA_UNREACHED;

	if (asprintf(&url, "%s%s", jh->base, path) < 0) {
		snprintf(err, errlen, "out of memory");
		return JIRA_UNREACHED;
	}
	for (attempt = 0;; attempt++) {
		if (jira_send(jh, method, url, body, err, errlen) != 0)
			goto url_free;
		if ((jh->status != 429 && jh->status != 503) ||
		    attempt == JIRA_WAIT_RETRIES)
			break;
		ms = jira_wait_ms(jh, attempt, &told);
		/* Sending before the wait is over only earns a longer one. */
		if (ms + JIRA_MIN_CALL_MS > jira_http_left(jh))
			break;
		if (wait != NULL)
			wait(arg, method, path, jh->status, ms, told);
		jira_sleep_ms(ms);
	}
	out = JIRA_ANSWERED;
url_free:
	free(url);
	return out;
}

/* Appends s to b, with "; " between parts; a full buffer only cuts. */
static void
jira_words_add(struct jira_words *w, const char *s)
{
	size_t n = strlen(s);

	if (w->len > 0)
		jira_words_put(w, "; ", 2);
	jira_words_put(w, s, n);
}

static void
jira_words_add_raw(struct jira_words *w, const char *s)
{
	jira_words_put(w, s, strlen(s));
}

static void
jira_words_json(json_object *doc, struct jira_words *w)
{
	json_object *msgs, *errs, *v;
	size_t i;

	msgs = jira_doc_get(doc, "errorMessages");
	if (json_object_is_type(msgs, json_type_array))
		for (i = 0; i < json_object_array_length(msgs); i++) {
			v = json_object_array_get_idx(msgs, i);
			if (json_object_is_type(v, json_type_string))
				jira_words_add(w, json_object_get_string(v));
		}
	errs = jira_doc_get(doc, "errors");
	if (json_object_is_type(errs, json_type_object)) {
		json_object_object_foreach(errs, key, val) {
			jira_words_add(w, key);
			jira_words_put(w, ": ", 2);
			/* a JSON null is a NULL object */
			jira_words_add_raw(w, val != NULL ?
			    json_object_get_string(val) : "null");
		}
	}
}

/* The length of the secret that starts at p, 0 when none does. */
static size_t
jira_secret_at(const struct jira_http *jh, const char *p, size_t n)
{
	size_t i, len;

	for (i = 0; i < JIRA_SECRETS; i++) {
		if (jh->secret[i] == NULL)
			continue;
		len = strlen(jh->secret[i]);
		if (len > 0 && n >= len && memcmp(p, jh->secret[i], len) == 0)
			return len;
	}
	return 0;
}

/*
 * The length of the valid UTF-8 character at p (n bytes there), 0 when
 * it is not one: overlong forms, surrogates and code points past U+10FFFF
 * are not.  (The plugin links nothing of flagsync's utf8.c.)
 */
static size_t
jira_utf8_len(const unsigned char *p, size_t n)
{
	uint32_t c, min;
	size_t len, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
	    c <= 0x9f)		/* C1 controls */
		return 0;
	return len;
}

/*
 * The words into out as one line: every form of the credential masked
 * (before any cut, so no part of one is left at the end), control
 * characters and bytes that are not UTF-8 as '?' (the line ends up in
 * JSON), never cutting a character.
 */
static void
jira_words_clean(const struct jira_http *jh, const struct jira_words *w,
    char *out, size_t outlen)
{
	size_t i = 0, o = 0, k, n, end = w->len, longest = 0;
	const unsigned char *c;

	for (k = 0; k < JIRA_SECRETS; k++)
		if (jh->secret[k] != NULL && strlen(jh->secret[k]) > longest)
			longest = strlen(jh->secret[k]);
	/* A cut may have left the start of a secret at the end. */
	if (w->cut)
		end = end > longest ? end - longest : 0;
	while (i < end && o + 1 < outlen) {
		if ((k = jira_secret_at(jh, w->text + i, w->len - i)) > 0) {
			if (o + 3 >= outlen)
				break;
			memcpy(out + o, "***", 3);
			o += 3;
			i += k;
			continue;
		}
		c = (const unsigned char *)w->text + i;
		n = c[0] < 0x80 ? 1 : jira_utf8_len(c, end - i);
		if (n > 1 && o + n >= outlen)
			break;
		if (n > 1)
			memcpy(out + o, c, n);
		else
			out[o] = n == 0 || c[0] < 0x20 || c[0] == 0x7f ? '?' :
			    (char)c[0];
		o += n ? n : 1;
		i += n ? n : 1;
	}
	out[o] = '\0';
}

void
jira_http_error_words(const struct jira_http *jh, char *out, size_t outlen)
{
	struct jira_words w;
	json_object *doc = NULL;

	memset(&w, 0, sizeof(w));
	out[0] = '\0';
	if (jh->answer.body != NULL &&
	    (doc = json_tokener_parse(jh->answer.body)) != NULL)
		jira_words_json(doc, &w);
	json_object_put(doc);
	if (w.len == 0 && (jh->answer.body == NULL || jh->answer.len == 0)) {
		snprintf(out, outlen, "no details in the answer");
		return;
	}
	/* Not Jira's JSON shape: the start of whatever came. */
	if (w.len == 0)
		jira_words_put(&w, jh->answer.body, jh->answer.len);
	jira_words_clean(jh, &w, out, outlen);
	explicit_bzero(w.text, sizeof(w.text));
}
