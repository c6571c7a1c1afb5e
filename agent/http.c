/*
 * http.c - one HTTP request at a time over libcurl, politely.
 *
 * The easy handle is reset and set up afresh for every request:
 * curl_easy_reset() keeps live connections, so keep-alive still works,
 * and no option of one request (a body, a method) can leak into the
 * next.  Request headers carry credentials, so they never reach a
 * message or a log line, and their copies are wiped before being freed.
 */
#include "autoconf.h"

#include <sys/random.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pace.h"

#define HTTP_CONNECT_TIMEOUT	10	/* seconds, at most */
#define HTTP_READ_BUFFER	(64L * 1024)	/* bytes curl reads at a time */
#define HTTP_DEFAULT_TIMEOUT	30	/* when the caller gives none */
#define HTTP_SLEEP_SLICE_MS	100	/* how often a sleep looks at cancel */

struct http_client {
	CURL	*curl;
	char	*user_agent;
	char	*ca_file;
	double	 max_rps;
	int	 timeout;
	size_t	 max_body;
	volatile sig_atomic_t *cancel;
	const char *api;	/* static string: metrics.h label */
	struct pace *pace;	/* shared with other processes, or NULL */
	int64_t	 last_start_ns;	/* monotonic; valid when started */
	int	 started;
	/* State of the transfer in progress, for the callbacks: */
	struct http_response *resp;
	http_sink_fn sink;	/* where a 2xx body goes, or NULL: resp */
	void	*sink_arg;
	int	 write_rc;	/* EFBIG, ENOMEM or the sink's error */
	char	 errbuf[CURL_ERROR_SIZE];
};

static int	http_request_body(struct http_client *, const char *,
		    const char *, const struct http_header *, size_t,
		    const char *, struct http_response *, char *, size_t);

static pthread_once_t http_global_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_FAILED_INIT;

static void
http_global_init(void)
{
	/* Once per process and before any handle: not thread-safe before
	 * curl 7.84, hence pthread_once. */
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t
http_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The shared pacing file, when there is one; alone without it. */
static void
http_pace_open(struct http_client *hc, const char *path)
{
	int rc;

	if (path == NULL || hc->max_rps <= 0)
		return;
	if ((rc = pace_open(&hc->pace, path, hc->max_rps)) != 0)
		log_warnx("cannot open the pacing file %s (%s): max_rps counts "
		    "this process's requests only", path, strerror(rc));
}

int
http_client_create(struct http_client **out, const struct http_options *o)
{
	struct http_client *hc;
	const char *ua;
	int rc = ENOMEM;

	*out = NULL;
	pthread_once(&http_global_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		return http_global_rc == CURLE_OUT_OF_MEMORY ? ENOMEM : EIO;
	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		return ENOMEM;
	ua = o->user_agent ? o->user_agent : "flagsync/" PACKAGE_VERSION;
	if ((hc->user_agent = strdup(ua)) == NULL)
		goto client_free;
	if (o->ca_file && (hc->ca_file = strdup(o->ca_file)) == NULL)
		goto client_free;
	if ((hc->curl = curl_easy_init()) == NULL)
		goto client_free;
	hc->max_rps = o->max_rps > 0 ? o->max_rps : 0;
	hc->timeout = o->timeout > 0 ? o->timeout : HTTP_DEFAULT_TIMEOUT;
	hc->max_body = o->max_body ? o->max_body : HTTP_MAX_BODY;
	hc->cancel = o->cancel;
	hc->api = o->api;
	http_pace_open(hc, o->pace_file);
	*out = hc;
	return 0;

client_free:
	http_client_free(hc);
	return rc;
}

void
http_client_free(struct http_client *hc)
{
	if (hc == NULL)
		return;
	if (hc->curl)
		curl_easy_cleanup(hc->curl);
	pace_close(hc->pace);
	free(hc->user_agent);
	free(hc->ca_file);
	free(hc);
}

void
http_response_init(struct http_response *r)
{
	r->status = 0;
	buf_init(&r->body, 0);
	r->retry_after = NULL;
	r->rl_reset_org = NULL;
	r->rl_reset_ip = NULL;
	r->content_type = NULL;
	r->location = NULL;
}

static void
http_response_drop_headers(struct http_response *r)
{
	free(r->retry_after);
	free(r->rl_reset_org);
	free(r->rl_reset_ip);
	free(r->content_type);
	free(r->location);
	r->retry_after = r->rl_reset_org = r->rl_reset_ip = NULL;
	r->content_type = r->location = NULL;
}

void
http_response_release(struct http_response *r)
{
	http_response_drop_headers(r);
	buf_release(&r->body);
	r->status = 0;
}

/*
 * A body of known length gets its memory at once: a page of definitions
 * grown by doubling was copied about once more on its way in.  A length
 * over the cap is left to buf_append() to refuse.
 */
static void
http_body_presize(struct http_client *hc)
{
	struct buf *b = &hc->resp->body;
	curl_off_t len = -1;

	if (curl_easy_getinfo(hc->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
	    &len) != CURLE_OK || len <= 0 ||
	    (b->max != 0 && (uint64_t)len > b->max))
		return;
	if (buf_resize(b, (size_t)len) == 0)
		buf_reset(b);
}

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_client *hc = arg;
	size_t n = size * nmemb;
	long status = 0;
	int rc;

	if (hc->sink != NULL &&
	    curl_easy_getinfo(hc->curl, CURLINFO_RESPONSE_CODE, &status) ==
	    CURLE_OK && status >= 200 && status < 300)
		rc = hc->sink(hc->sink_arg, ptr, n);
	else {
		if (hc->resp->body.cap == 0)
			http_body_presize(hc);
		rc = buf_append(&hc->resp->body, ptr, n);
	}
	if (rc != 0) {
		hc->write_rc = rc;
		return 0;	/* any short count makes curl abort */
	}
	return n;
}

static int
http_name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Where a kept header's value goes, or NULL for a header we drop. */
static char **
http_header_slot(struct http_response *r, const char *name, size_t len)
{
	if (http_name_is(name, len, "Retry-After"))
		return &r->retry_after;
	if (http_name_is(name, len, "X-RateLimit-Reset-Seconds-Org"))
		return &r->rl_reset_org;
	if (http_name_is(name, len, "X-RateLimit-Reset-Seconds-IP"))
		return &r->rl_reset_ip;
	if (http_name_is(name, len, "Content-Type"))
		return &r->content_type;
	if (http_name_is(name, len, "Location"))
		return &r->location;
	return NULL;
}

static int
http_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t
http_header_cb(char *line, size_t size, size_t nitems, void *arg)
{
	struct http_client *hc = arg;
	size_t n = size * nitems, nlen, vlen;
	char **slot, *colon, *v, *copy;

	/* A status line opens a new header block (after a 100 Continue,
	 * say): only the last block describes the answer. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		http_response_drop_headers(hc->resp);
		return n;
	}
	if ((colon = memchr(line, ':', n)) == NULL)
		return n;
	nlen = (size_t)(colon - line);
	if ((slot = http_header_slot(hc->resp, line, nlen)) == NULL)
		return n;
	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen > 0 && http_is_space(*v)) {
		v++;
		vlen--;
	}
	while (vlen > 0 && http_is_space(v[vlen - 1]))
		vlen--;
	if ((copy = strndup(v, vlen)) == NULL) {
		hc->write_rc = ENOMEM;
		return 0;
	}
	free(*slot);
	*slot = copy;
	return n;
}

static int
http_xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_client *hc = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return hc->cancel != NULL && *hc->cancel != 0;
}

/* Wipes each string before freeing the list: they hold credentials. */
static void
http_slist_free(struct curl_slist *list)
{
	struct curl_slist *l;

	for (l = list; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

static int
http_slist_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *l;

	if ((l = curl_slist_append(*list, line)) == NULL)
		return ENOMEM;
	*list = l;
	return 0;
}

static int
http_has_header(const struct http_header *hdrs, size_t nhdrs, const char *name)
{
	size_t i;

	for (i = 0; i < nhdrs; i++)
		if (strcasecmp(hdrs[i].name, name) == 0)
			return 1;
	return 0;
}

/* Rejects CR and LF, which would let a value smuggle in a header. */
static int
http_header_ok(const struct http_header *h)
{
	return h->name[0] != '\0' && strpbrk(h->name, "\r\n: \t") == NULL &&
	    strpbrk(h->value, "\r\n") == NULL;
}

static int
http_headers_build(const struct http_header *hdrs, size_t nhdrs,
    const char *body, struct curl_slist **out)
{
	struct curl_slist *list = NULL;
	struct buf line;
	size_t i;
	int rc = 0;

	buf_init(&line, 0);
	if (!http_has_header(hdrs, nhdrs, "Accept"))
		rc = http_slist_add(&list, "Accept: application/json");
	if (rc == 0 && body && !http_has_header(hdrs, nhdrs, "Content-Type"))
		rc = http_slist_add(&list, "Content-Type: application/json");
	/* No "Expect: 100-continue" wait on bodies: servers answer fast. */
	if (rc == 0 && body)
		rc = http_slist_add(&list, "Expect:");
	for (i = 0; rc == 0 && i < nhdrs; i++) {
		if (!http_header_ok(&hdrs[i])) {
			rc = EINVAL;
			break;
		}
		buf_reset(&line);
		/* "Name;" is curl's way to send a header with no value. */
		if (hdrs[i].value[0] == '\0')
			rc = buf_printf(&line, "%s;", hdrs[i].name);
		else
			rc = buf_printf(&line, "%s: %s", hdrs[i].name,
			    hdrs[i].value);
		if (rc == 0)
			rc = http_slist_add(&list, buf_str(&line));
	}
	if (line.data)
		explicit_bzero(line.data, line.cap);
	buf_release(&line);
	if (rc != 0) {
		http_slist_free(list);
		list = NULL;
	}
	*out = list;
	return rc;
}

#define HTTP_SETOPT(c, cc, opt, val) do {				\
	if ((cc) == CURLE_OK)						\
		(cc) = curl_easy_setopt((c), (opt), (val));		\
} while (0)

static CURLcode
http_setup_transport(struct http_client *hc, const char *url)
{
	CURL *c = hc->curl;
	CURLcode cc = CURLE_OK;
	long t = hc->timeout;

	HTTP_SETOPT(c, cc, CURLOPT_URL, url);
	HTTP_SETOPT(c, cc, CURLOPT_NOSIGNAL, 1L);
	/* a page of 50 flags is 20 to 30 KB: with curl's 16 KB default each
	 * took two or three reads, callbacks and polls; the curl tool reads
	 * with the same 100 KB */
	HTTP_SETOPT(c, cc, CURLOPT_BUFFERSIZE, HTTP_READ_BUFFER);
	HTTP_SETOPT(c, cc, CURLOPT_TIMEOUT, t);
	HTTP_SETOPT(c, cc, CURLOPT_CONNECTTIMEOUT,
	    t < HTTP_CONNECT_TIMEOUT ? t : (long)HTTP_CONNECT_TIMEOUT);
	HTTP_SETOPT(c, cc, CURLOPT_SSL_VERIFYPEER, 1L);
	HTTP_SETOPT(c, cc, CURLOPT_SSL_VERIFYHOST, 2L);
	if (hc->ca_file)
		HTTP_SETOPT(c, cc, CURLOPT_CAINFO, hc->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
	HTTP_SETOPT(c, cc, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	HTTP_SETOPT(c, cc, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	HTTP_SETOPT(c, cc, CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SETOPT(c, cc, CURLOPT_USERAGENT, hc->user_agent);
	HTTP_SETOPT(c, cc, CURLOPT_ACCEPT_ENCODING, "");
	/* A sink bounds what it keeps itself; the cap is for buffers. */
	if (hc->sink == NULL)
		HTTP_SETOPT(c, cc, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)(hc->max_body > (size_t)INT64_MAX ?
		    INT64_MAX : (int64_t)hc->max_body));
	HTTP_SETOPT(c, cc, CURLOPT_WRITEFUNCTION, http_write_cb);
	HTTP_SETOPT(c, cc, CURLOPT_WRITEDATA, hc);
	HTTP_SETOPT(c, cc, CURLOPT_HEADERFUNCTION, http_header_cb);
	HTTP_SETOPT(c, cc, CURLOPT_HEADERDATA, hc);
	HTTP_SETOPT(c, cc, CURLOPT_NOPROGRESS, 0L);
	HTTP_SETOPT(c, cc, CURLOPT_XFERINFOFUNCTION, http_xferinfo_cb);
	HTTP_SETOPT(c, cc, CURLOPT_XFERINFODATA, hc);
	HTTP_SETOPT(c, cc, CURLOPT_ERRORBUFFER, hc->errbuf);
	return cc;
}

static CURLcode
http_setup_method(struct http_client *hc, const char *method,
    const char *body, struct curl_slist *list)
{
	CURL *c = hc->curl;
	CURLcode cc = CURLE_OK;

	HTTP_SETOPT(c, cc, CURLOPT_HTTPHEADER, list);
	if (strcmp(method, "GET") == 0 && body == NULL) {
		HTTP_SETOPT(c, cc, CURLOPT_HTTPGET, 1L);
		return cc;
	}
	if (body) {
		HTTP_SETOPT(c, cc, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
		HTTP_SETOPT(c, cc, CURLOPT_POSTFIELDS, body);
	} else if (strcmp(method, "POST") == 0) {
		HTTP_SETOPT(c, cc, CURLOPT_POSTFIELDSIZE, 0L);
		HTTP_SETOPT(c, cc, CURLOPT_POSTFIELDS, "");
	}
	if (strcmp(method, "POST") != 0)
		HTTP_SETOPT(c, cc, CURLOPT_CUSTOMREQUEST, method);
	return cc;
}

static int
http_method_ok(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0;
}

/*
 * Keeps requests 1/max_rps apart, measured from start to start, plus 2 %:
 * the server counts arrivals, which jitter by a few milliseconds, and a
 * window that sees max_rps + 1 of them is a 429 for an exact pacing.
 */
#define HTTP_PACE_MARGIN	1.02

/*
 * The gap is worked out in seconds and clamped before it becomes an
 * integer: max_rps = 1e-300 would otherwise overflow the conversion
 * (undefined) or ask for a pause of centuries.
 */
static int64_t
http_pace_gap_ns(double max_rps)
{
	double gap_s = HTTP_PACE_MARGIN / max_rps;

	/* Also catches NaN, which compares false. */
	if (!(gap_s < HTTP_PACE_MAX_GAP_S))
		gap_s = HTTP_PACE_MAX_GAP_S;
	return (int64_t)(gap_s * 1e9);
}

static int
http_cancelled(void *arg)
{
	const struct http_client *hc = arg;

	return hc->cancel != NULL && *hc->cancel != 0;
}

/* The turn the shared file gives; 1 when it cannot (pace alone). */
static int
http_pace_shared(struct http_client *hc)
{
	int rc;

	if (hc->pace == NULL)
		return 1;
	if ((rc = pace_take(hc->pace, http_cancelled, hc)) == ECANCELED)
		return FS_ECANCELED;
	if (rc != 0) {
		log_warnx("the pacing file failed (%s): max_rps counts this "
		    "process's requests only", strerror(rc));
		pace_close(hc->pace);
		hc->pace = NULL;
		return 1;
	}
	hc->last_start_ns = http_mono_ns();
	hc->started = 1;
	return 0;
}

static int
http_pace(struct http_client *hc)
{
	int64_t gap_ns, now, wait_ns;
	int rc;

	if ((rc = http_pace_shared(hc)) != 1)
		return rc;
	if (hc->max_rps > 0 && hc->started) {
		gap_ns = http_pace_gap_ns(hc->max_rps);
		now = http_mono_ns();
		wait_ns = hc->last_start_ns + gap_ns - now;
		if (wait_ns > 0) {
			rc = http_sleep_ms((wait_ns + 999999) / 1000000,
			    hc->cancel);
			if (rc != 0)
				return rc;
		}
	}
	hc->last_start_ns = http_mono_ns();
	hc->started = 1;
	return 0;
}

/* Curl's own words: the error buffer when it has them. */
static const char *
http_curl_words(const struct http_client *hc, CURLcode cc)
{
	return hc->errbuf[0] ? hc->errbuf : curl_easy_strerror(cc);
}

static int
http_timeout_error(const struct http_client *hc, const char *method,
    const char *url, char *err, size_t errlen)
{
	int connect;

	/* curl says "Connection timed out" / "Resolving timed out" when
	 * the shorter connect limit struck. */
	connect = strncmp(hc->errbuf, "Connection", 10) == 0 ||
	    strncmp(hc->errbuf, "Resolving", 9) == 0;
	snprintf(err, errlen, "%s %s: %s after %d s", method, url,
	    connect ? "connection timed out" : "timed out",
	    connect && hc->timeout > HTTP_CONNECT_TIMEOUT ?
	    HTTP_CONNECT_TIMEOUT : hc->timeout);
	return FS_ETIMEOUT;
}

static int
http_map_error(const struct http_client *hc, CURLcode cc, const char *method,
    const char *url, char *err, size_t errlen)
{
	if (hc->write_rc == EFBIG || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, errlen, "%s %s: answer larger than %zu bytes "
		    "(the cap for one answer)", method, url, hc->max_body);
		return EFBIG;
	}
	if (hc->write_rc == ENOMEM || cc == CURLE_OUT_OF_MEMORY) {
		snprintf(err, errlen, "%s %s: out of memory", method, url);
		return ENOMEM;
	}
	if (hc->write_rc != 0) {
		snprintf(err, errlen, "%s %s: the answer was refused by its "
		    "reader", method, url);
		return hc->write_rc;
	}
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return http_timeout_error(hc, method, url, err, errlen);
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(err, errlen, "%s %s: canceled", method, url);
		return FS_ECANCELED;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_NOT_BUILT_IN:
		snprintf(err, errlen, "%s %s: %s", method, url,
		    http_curl_words(hc, cc));
		return EINVAL;
	default:
		/* DNS, connect, TLS, send, receive, empty answer... */
		snprintf(err, errlen, "%s %s: %s", method, url,
		    http_curl_words(hc, cc));
		return FS_ENETWORK;
	}
}

static int
http_perform(struct http_client *hc, const char *method, const char *url,
    struct http_response *r, char *err, size_t errlen)
{
	CURLcode cc;
	long status = 0;

	hc->resp = r;
	hc->write_rc = 0;
	hc->errbuf[0] = '\0';
	cc = curl_easy_perform(hc->curl);
	hc->resp = NULL;
	if (cc == CURLE_OK && hc->write_rc == 0) {
		cc = curl_easy_getinfo(hc->curl, CURLINFO_RESPONSE_CODE,
		    &status);
		if (cc == CURLE_OK) {
			r->status = status;
			metrics_count_request(hc->api, status);
			return 0;
		}
	}
	metrics_count_request(hc->api, 0);
	buf_reset(&r->body);
	return http_map_error(hc, cc, method, url, err, errlen);
}

int
http_request(struct http_client *hc, const char *method, const char *url,
    const struct http_header *hdrs, size_t nhdrs, const char *body,
    struct http_response *r, char *err, size_t errlen)
{
	hc->sink = NULL;
	hc->sink_arg = NULL;
	return http_request_body(hc, method, url, hdrs, nhdrs, body, r, err,
	    errlen);
}

int
http_request_stream(struct http_client *hc, const char *url,
    const struct http_header *hdrs, size_t nhdrs, http_sink_fn sink,
    void *arg, struct http_response *r, char *err, size_t errlen)
{
	int rc;

	hc->sink = sink;
	hc->sink_arg = arg;
	rc = http_request_body(hc, "GET", url, hdrs, nhdrs, NULL, r, err,
	    errlen);
	hc->sink = NULL;
	hc->sink_arg = NULL;
	return rc;
}

static int
http_request_body(struct http_client *hc, const char *method, const char *url,
    const struct http_header *hdrs, size_t nhdrs, const char *body,
    struct http_response *r, char *err, size_t errlen)
{
	struct curl_slist *list = NULL;
	CURLcode cc;
	int rc;

	http_response_release(r);
	buf_init(&r->body, hc->max_body);
	if (errlen)
		err[0] = '\0';
	if (!http_method_ok(method)) {
		snprintf(err, errlen, "%s %s: unsupported method", method, url);
		return EINVAL;
	}
	if (hc->cancel != NULL && *hc->cancel != 0)
		rc = FS_ECANCELED;
	else
		rc = http_pace(hc);
	if (rc != 0) {
		snprintf(err, errlen, "%s %s: canceled", method, url);
		return rc;
	}
	if ((rc = http_headers_build(hdrs, nhdrs, body, &list)) != 0) {
		snprintf(err, errlen, "%s %s: %s", method, url, rc == EINVAL ?
		    "a request header holds a line break" : strerror(rc));
		return rc;
	}
	curl_easy_reset(hc->curl);
	cc = http_setup_transport(hc, url);
	if (cc == CURLE_OK)
		cc = http_setup_method(hc, method, body, list);
	if (cc != CURLE_OK) {
		rc = cc == CURLE_OUT_OF_MEMORY ? ENOMEM : EINVAL;
		snprintf(err, errlen, "%s %s: %s", method, url,
		    curl_easy_strerror(cc));
		goto list_free;
	}
	rc = http_perform(hc, method, url, r, err, errlen);
list_free:
	/* The handle must not point at the list once it is freed. */
	curl_easy_setopt(hc->curl, CURLOPT_HTTPHEADER,
	    (struct curl_slist *)NULL);
	http_slist_free(list);
	return rc;
}

static uint64_t
http_random(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	/* splitmix64 over the clock and pid: jitter, not secrecy. */
	v = (uint64_t)http_mono_ns() ^ ((uint64_t)getpid() << 32);
	v += 0x9e3779b97f4a7c15ULL;
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
	return v ^ (v >> 31);
}

/*
 * The jittered value is clamped to cap_ms as well, so callers can rely
 * on the cap; 0 when base_ms or cap_ms is not positive.
 */
int64_t
http_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms)
{
	int64_t d, lo, r;
	int i;

	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	d = base_ms < cap_ms ? base_ms : cap_ms;
	for (i = 0; i < attempt && d < cap_ms; i++)
		d = d > cap_ms / 2 ? cap_ms : d * 2;
	/* d - 25 % ... d + 25 %, without overflowing near INT64_MAX. */
	lo = d - d / 4;
	r = (int64_t)(http_random() % ((uint64_t)(d / 2) + 1));
	return r > cap_ms - lo ? cap_ms : lo + r;
}

int
http_sleep_ms(int64_t ms, volatile sig_atomic_t *cancel)
{
	struct timespec ts;
	int64_t end, left;

	/* A week is as good as forever and keeps the sum from overflowing. */
	if (ms > 7 * 24 * 3600 * 1000LL)
		ms = 7 * 24 * 3600 * 1000LL;
	end = http_mono_ns() + (ms > 0 ? ms : 0) * 1000000;
	for (;;) {
		if (cancel != NULL && *cancel != 0)
			return FS_ECANCELED;
		left = end - http_mono_ns();
		if (left <= 0)
			return 0;
		if (left > HTTP_SLEEP_SLICE_MS * 1000000LL)
			left = HTTP_SLEEP_SLICE_MS * 1000000LL;
		ts.tv_sec = (time_t)(left / 1000000000);
		ts.tv_nsec = (long)(left % 1000000000);
		/* EINTR just means look at cancel sooner. */
		nanosleep(&ts, NULL);
	}
}

/* Appends to out; keeps RFC 3986 unreserved characters as they are. */
int
http_escape(const char *s, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char enc[3];
	int rc = 0;

	for (p = (const unsigned char *)s; rc == 0 && *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			rc = buf_putc(out, (char)*p);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 15];
		rc = buf_append(out, enc, 3);
	}
	return rc;
}
