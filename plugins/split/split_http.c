/*
 * split_http.c - the split plugin's own Admin API client: one libcurl
 * easy handle (connections reused), TLS verified, no redirect followed
 * (the request carries the key), answers kept up to SO_BODY_MAX, every
 * request paced against [split] max_rps together with the agent's poll
 * (pace.h), 429 waited out as Split's rate-limit headers say.
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

#include <curl/curl.h>
#include <json-c/json.h>

#include "pace.h"
#include "plughttp.h"
#include "splitout.h"

#define SO_USER_AGENT		"flagsync-split/1.0"
#define SO_CONNECT_MS		10000L
#define SO_SLICE_MS		100	/* how often a wait asks cancelled */

static int
so_cancelled(const struct so_http *sh)
{
	return sh->cancelled != NULL && sh->cancelled(sh->cancel_arg);
}

/* Sleeps ms unless cancelled (asked every SO_SLICE_MS): 0 or -1. */
static int
so_sleep_ms(struct so_http *sh, int64_t ms)
{
	struct timespec ts;
	int64_t slice;

	while (ms > 0) {
		if (so_cancelled(sh))
			return -1;
		slice = ms < SO_SLICE_MS ? ms : SO_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)slice * 1000000L;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return so_cancelled(sh) ? -1 : 0;
}

/* The credential's header line, added then wiped from our copy. */
static int
so_auth_add(struct so_http *sh, const char *key, int x_api_key)
{
	char *line;
	int rc;

	if (asprintf(&line, "%s%s", x_api_key ? "x-api-key: " :
	    "Authorization: Bearer ", key) < 0)
		return ENOMEM;
	rc = plughttp_header_add(&sh->headers, line);
	explicit_bzero(line, strlen(line));
	free(line);
	return rc;
}

int
so_http_init(struct so_http *sh, const char *url, const char *key,
    int x_api_key, const char *ca_file, long timeout_s, double max_rps,
    const char *pace_file, char *warn, size_t warnlen, char *err,
    size_t errlen)
{
	int rc;

	memset(sh, 0, sizeof(*sh));
	if (warnlen > 0)
		warn[0] = '\0';
	sh->key = key;
	sh->ca_file = ca_file;
	sh->timeout_ms = timeout_s * 1000;
	sh->reset_org = sh->reset_ip = -1;
	sh->answer.max = SO_BODY_MAX;
	if ((sh->base = plughttp_base(url)) == NULL ||
	    plughttp_header_add(&sh->headers,
	    "Accept: application/json") != 0 ||
	    plughttp_header_add(&sh->headers,
	    "Content-Type: application/json") != 0 ||
	    plughttp_header_add(&sh->headers, "Expect:") != 0 ||
	    so_auth_add(sh, key, x_api_key) != 0 ||
	    (sh->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		so_http_release(sh);
		return ENOMEM;
	}
	if (max_rps > 0) {
		sh->gap_ns = pace_gap_ns(max_rps);
		if (pace_file != NULL &&
		    (rc = pace_open(&sh->pace, pace_file, max_rps)) != 0)
			snprintf(warn, warnlen, "cannot open the pacing file %s "
			    "(%s): max_rps counts this output's requests only",
			    pace_file, strerror(rc));
	}
	return 0;
}

void
so_http_release(struct so_http *sh)
{
	struct curl_slist *l;

	if (sh->curl != NULL)
		curl_easy_cleanup(sh->curl);
	for (l = sh->headers; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(sh->headers);
	pace_close(sh->pace);
	free(sh->base);
	plughttp_answer_reset(&sh->answer);
	memset(sh, 0, sizeof(*sh));
}

char *
so_http_escape(struct so_http *sh, const char *s)
{
	return plughttp_escape(sh->curl, s);
}

static int
so_pace_cancelled(void *arg)
{
	return so_cancelled(arg);
}

/* Waits this request's turn: shared when the file is there, else
 * alone.  0, or -1 when cancelled. */
static int
so_turn(struct so_http *sh)
{
	int64_t wait_ns;
	int rc;

	if (sh->gap_ns == 0)
		return 0;
	if (sh->pace != NULL) {
		if ((rc = pace_take(sh->pace, so_pace_cancelled, sh)) == 0)
			return 0;
		if (rc == ECANCELED)
			return -1;
		/* the file failed: pace alone from now on */
		pace_close(sh->pace);
		sh->pace = NULL;
	}
	wait_ns = sh->last_start + sh->gap_ns - pace_now_ns();
	if (sh->last_start > 0 && wait_ns > 0 &&
	    so_sleep_ms(sh, (wait_ns + 999999) / 1000000) != 0)
		return -1;
	sh->last_start = pace_now_ns();
	return 0;
}

/* A whole number of seconds from a header value; -1 when it is not. */
static long
so_seconds(const char *v, size_t n)
{
	char text[32];
	long secs;

	if (plughttp_header_text(v, n, text, sizeof(text)) != 0 ||
	    plughttp_number(text, &secs) != 0 || secs < 0)
		return -1;
	return secs;
}

static size_t
so_header_cb(char *p, size_t size, size_t n, void *arg)
{
	static const char org[] = "x-ratelimit-reset-seconds-org:";
	static const char ip[] = "x-ratelimit-reset-seconds-ip:";
	struct so_http *sh = arg;
	size_t len = size * n, vlen;
	const char *v;

	/* a new status line (after a 100 Continue) starts afresh */
	if (plughttp_header_status(p, len))
		sh->reset_org = sh->reset_ip = -1;
	else if ((v = plughttp_header_field(p, len, org, &vlen)) != NULL)
		sh->reset_org = so_seconds(v, vlen);
	else if ((v = plughttp_header_field(p, len, ip, &vlen)) != NULL)
		sh->reset_ip = so_seconds(v, vlen);
	return len;
}

static CURLcode
so_setup(struct so_http *sh, const char *method, const char *url,
    const char *body)
{
	struct plughttp_call c = {
		.method = method,
		.url = url,
		.body = body,
		.timeout_ms = sh->timeout_ms,
		.connect_ms = SO_CONNECT_MS,
		.ca_file = sh->ca_file,
		.user_agent = SO_USER_AGENT,
		.headers = sh->headers,
		.answer = &sh->answer,
		.header_cb = so_header_cb,
		.header_arg = sh,
		.errbuf = sh->errbuf,
	};
	CURLcode cc;

	if ((cc = plughttp_setup(sh->curl, &c)) != CURLE_OK)
		return cc;
	return curl_easy_setopt(sh->curl, CURLOPT_ACCEPT_ENCODING, "");
}

/* One exchange.  0 with sh->status set, or -1 with err set. */
static int
so_send(struct so_http *sh, const char *method, const char *url,
    const char *body, char *err, size_t errlen)
{
	CURLcode cc;

	plughttp_answer_reset(&sh->answer);
	sh->status = 0;
	sh->reset_org = sh->reset_ip = -1;
	sh->errbuf[0] = '\0';
	if ((cc = so_setup(sh, method, url, body)) == CURLE_OK)
		cc = curl_easy_perform(sh->curl);
	curl_easy_getinfo(sh->curl, CURLINFO_RESPONSE_CODE, &sh->status);
	/* a status with an answer cut at the cap still says how it went */
	if (plughttp_answered(cc, &sh->answer, sh->status))
		return 0;
	sh->status = 0;
	snprintf(err, errlen, "cannot reach Split (%s %s): %s", method, url,
	    sh->errbuf[0] != '\0' ? sh->errbuf : curl_easy_strerror(cc));
	return -1;
}

/* A 429's wait: the later of the two resets, within the bounds. */
static int64_t
so_wait_429(const struct so_http *sh)
{
	long secs = sh->reset_org > sh->reset_ip ? sh->reset_org :
	    sh->reset_ip;
	int64_t ms = secs > 0 ? (int64_t)secs * 1000 : 0;

	if (ms < SO_WAIT_MIN_MS)
		ms = SO_WAIT_MIN_MS;
	return ms > SO_WAIT_MAX_MS ? SO_WAIT_MAX_MS : ms;
}

enum so_outcome
so_http_request(struct so_http *sh, const char *method, const char *path,
    const char *body, char *err, size_t errlen)
{
	enum so_outcome out = SO_CANCELLED;
	int64_t ms;
	char *url;
	int tries = 0, sent;

	if (asprintf(&url, "%s%s", sh->base, path) < 0) {
		snprintf(err, errlen, "out of memory");
		return SO_UNREACHED;
	}
	for (;;) {
		if (so_turn(sh) != 0)
			break;
		sent = so_send(sh, method, url, body, err, errlen) == 0;
		if (sent && sh->status == 429)
			ms = so_wait_429(sh);
		else if (!sent || sh->status >= 500) {
			if (tries == SO_RETRIES) {
				out = sent ? SO_ANSWERED : SO_UNREACHED;
				break;
			}
			ms = (int64_t)SO_BACKOFF_MS << tries++;
		} else {
			out = SO_ANSWERED;
			break;
		}
		if (sh->on_wait != NULL)
			sh->on_wait(sh->wait_arg, method, path, sh->status, ms);
		if (so_sleep_ms(sh, ms) != 0)
			break;
	}
	if (out == SO_CANCELLED)
		snprintf(err, errlen, "%s %s: given up for now (the agent is "
		    "stopping or the delivery ran past its timeout)%s", method,
		    url, sh->status == 429 ? " while Split still rate-limited "
		    "it (429)" : "");
	free(url);
	return out;
}

/*
 * Copies s into out as one printable line, every occurrence of the key
 * as "***": Split may quote the request back.
 */
static void
so_clean(const struct so_http *sh, const char *s, size_t n, char *out,
    size_t outlen)
{
	size_t i = 0, o = 0, kl = sh->key ? strlen(sh->key) : 0;

	while (i < n && o + 1 < outlen) {
		if (kl > 0 && n - i >= kl && memcmp(s + i, sh->key, kl) == 0) {
			if (o + 4 > outlen)
				break;
			memcpy(out + o, "***", 3);
			o += 3;
			i += kl;
			continue;
		}
		out[o++] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
		i++;
	}
	out[o] = '\0';
}

void
so_http_words(const struct so_http *sh, char *out, size_t outlen)
{
	json_object *doc = NULL, *m;
	const char *s;

	out[0] = '\0';
	if (sh->answer.body == NULL || sh->answer.len == 0)
		return;
	if ((doc = json_tokener_parse(sh->answer.body)) != NULL &&
	    json_object_is_type(doc, json_type_object) &&
	    json_object_object_get_ex(doc, "message", &m) &&
	    json_object_is_type(m, json_type_string)) {
		s = json_object_get_string(m);
		so_clean(sh, s, strlen(s), out, outlen);
	} else
		so_clean(sh, sh->answer.body, sh->answer.len < 200 ?
		    sh->answer.len : 200, out, outlen);
	json_object_put(doc);
}
