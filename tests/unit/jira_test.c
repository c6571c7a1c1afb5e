/*
 * jira_test.c - the Jira client and the jira-field link source against a
 * fake curl.
 *
 * As in split_test.c, the program is linked with -Wl,--wrap for
 * curl_easy_setopt, curl_easy_perform and curl_easy_getinfo: setopt
 * records what http.c configures (the POST body included) and forwards to
 * the real libcurl, perform answers from a script keyed by URL through
 * the callbacks http.c installed, and getinfo reports the scripted
 * status.  The source tests run the real jira-field source over a real
 * LMDB cache and config file in a mkdtemp() directory.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "cache.h"
#include "commit.h"
#include "config.h"
#include "error.h"
#include "jira.h"
#include "keys.h"
#include "linkset.h"
#include "log.h"
#include "source.h"

#define SITE	"http://jira.test"
#define SEARCH	SITE "/rest/api/3/search/jql"
#define EMAIL	"bot@example.com"
#define TOKEN	"tok-SECRET-0123456789"
#define AUTH	"Authorization: Basic " \
	"Ym90QGV4YW1wbGUuY29tOnRvay1TRUNSRVQtMDEyMzQ1Njc4OQ=="
#define NFAKE	64

CURLcode __wrap_curl_easy_setopt(CURL *h, CURLoption opt, ...);
CURLcode __real_curl_easy_setopt(CURL *h, CURLoption opt, ...);
CURLcode __wrap_curl_easy_perform(CURL *h);
CURLcode __wrap_curl_easy_getinfo(CURL *h, CURLINFO info, ...);
CURLcode __real_curl_easy_getinfo(CURL *h, CURLINFO info, ...);

/* A scripted answer, served once to the first request for its URL. */
struct fake_answer {
	char	*url;
	long	 status;
	char	*headers;	/* "Name: value\r\n" lines */
	char	*body;
	CURLcode cc;		/* non-zero: fail the transfer so */
	int	 used;
};

/* What one perform saw of the handle's configuration. */
struct fake_request {
	char	*url;
	char	*method;	/* CUSTOMREQUEST, else POST with a body */
	char	*body;
	char	*headers;	/* request header lines, "\n"-joined */
	long	 verifypeer, verifyhost, timeout;
};

/* Options set since the last perform (http.c resets the handle). */
static struct {
	char	*url;
	char	*custom;
	char	*postfields;
	curl_write_callback wfn;
	void	*wdata;
	curl_write_callback hfn;
	void	*hdata;
	curl_xferinfo_callback xfn;
	void	*xdata;
	struct curl_slist *hdrs;
	long	 verifypeer, verifyhost, timeout, noprogress;
} fc;

static struct fake_answer answers[NFAKE];
static size_t nanswers;
static struct fake_request requests[NFAKE];
static size_t nrequests;
static int unexpected;		/* requests no answer was scripted for */
static long last_status;
static volatile sig_atomic_t cancel_flag;

static char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	assert_non_null(p);
	return p;
}

static void
fake_capture_string(char **slot, const char *s)
{
	free(*slot);
	*slot = xstrdup(s);
}

static void
fake_capture_object(CURLoption opt, void *p)
{
	switch (opt) {
	case CURLOPT_URL:
		fake_capture_string(&fc.url, p);
		break;
	case CURLOPT_CUSTOMREQUEST:
		fake_capture_string(&fc.custom, p);
		break;
	case CURLOPT_POSTFIELDS:
		fake_capture_string(&fc.postfields, p);
		break;
	case CURLOPT_WRITEDATA:
		fc.wdata = p;
		break;
	case CURLOPT_HEADERDATA:
		fc.hdata = p;
		break;
	case CURLOPT_XFERINFODATA:
		fc.xdata = p;
		break;
	case CURLOPT_HTTPHEADER:
		fc.hdrs = p;
		break;
	default:
		break;
	}
}

static void
fake_capture_long(CURLoption opt, long v)
{
	switch (opt) {
	case CURLOPT_SSL_VERIFYPEER:
		fc.verifypeer = v;
		break;
	case CURLOPT_SSL_VERIFYHOST:
		fc.verifyhost = v;
		break;
	case CURLOPT_TIMEOUT:
		fc.timeout = v;
		break;
	case CURLOPT_NOPROGRESS:
		fc.noprogress = v;
		break;
	default:
		break;
	}
}

CURLcode
__wrap_curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	curl_xferinfo_callback xfn;
	curl_write_callback wfn;
	curl_off_t off;
	va_list ap;
	CURLcode cc;
	void *p;
	long l;

	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT) {
		l = va_arg(ap, long);
		fake_capture_long(opt, l);
		cc = __real_curl_easy_setopt(h, opt, l);
	} else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
		p = va_arg(ap, void *);
		fake_capture_object(opt, p);
		cc = __real_curl_easy_setopt(h, opt, p);
	} else if (opt == CURLOPT_WRITEFUNCTION ||
	    opt == CURLOPT_HEADERFUNCTION) {
		wfn = va_arg(ap, curl_write_callback);
		if (opt == CURLOPT_WRITEFUNCTION)
			fc.wfn = wfn;
		else
			fc.hfn = wfn;
		cc = __real_curl_easy_setopt(h, opt, wfn);
	} else if (opt == CURLOPT_XFERINFOFUNCTION) {
		xfn = va_arg(ap, curl_xferinfo_callback);
		fc.xfn = xfn;
		cc = __real_curl_easy_setopt(h, opt, xfn);
	} else if (opt < CURLOPTTYPE_OFF_T) {
		fail_msg("unexpected callback option %d", (int)opt);
		cc = CURLE_UNKNOWN_OPTION;
	} else if (opt < CURLOPTTYPE_BLOB) {
		off = va_arg(ap, curl_off_t);
		cc = __real_curl_easy_setopt(h, opt, off);
	} else {
		p = va_arg(ap, void *);
		cc = __real_curl_easy_setopt(h, opt, p);
	}
	va_end(ap);
	return cc;
}

CURLcode
__wrap_curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	void *p;

	va_start(ap, info);
	p = va_arg(ap, void *);
	va_end(ap);
	if (info == CURLINFO_RESPONSE_CODE) {
		*(long *)p = last_status;
		return CURLE_OK;
	}
	return __real_curl_easy_getinfo(h, info, p);
}

static void
fake_record(void)
{
	struct fake_request *q;
	struct curl_slist *l;
	struct buf b;

	assert_true(nrequests < NFAKE);
	q = &requests[nrequests++];
	memset(q, 0, sizeof(*q));
	q->url = xstrdup(fc.url);
	q->method = xstrdup(fc.custom ? fc.custom : fc.postfields ? "POST" :
	    "GET");
	q->body = xstrdup(fc.postfields);
	buf_init(&b, 0);
	for (l = fc.hdrs; l != NULL; l = l->next)
		assert_int_equal(buf_printf(&b, "%s\n", l->data), 0);
	q->headers = buf_detach(&b);
	q->verifypeer = fc.verifypeer;
	q->verifyhost = fc.verifyhost;
	q->timeout = fc.timeout;
}

static void
fake_forget_options(void)
{
	free(fc.url);
	free(fc.custom);
	free(fc.postfields);
	memset(&fc, 0, sizeof(fc));
	fc.verifypeer = fc.verifyhost = fc.timeout = fc.noprogress = -1;
}

static struct fake_answer *
fake_find(const char *url)
{
	size_t i;

	for (i = 0; url != NULL && i < nanswers; i++)
		if (!answers[i].used && strcmp(answers[i].url, url) == 0)
			return &answers[i];
	return NULL;
}

static int
fake_send_headers(const struct fake_answer *a)
{
	char line[512];
	const char *p, *nl;
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "HTTP/1.1 %ld Fake\r\n",
	    a->status);
	if (fc.hfn(line, 1, n, fc.hdata) != n)
		return -1;
	for (p = a->headers ? a->headers : ""; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		n = (size_t)(nl - p + 1);
		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		if (fc.hfn(line, 1, n, fc.hdata) != n)
			return -1;
	}
	memcpy(line, "\r\n", 2);
	return fc.hfn(line, 1, 2, fc.hdata) == 2 ? 0 : -1;
}

static int
fake_send_body(const struct fake_answer *a)
{
	size_t len, off, n;

	len = a->body ? strlen(a->body) : 0;
	for (off = 0; off < len; off += n) {
		n = len - off < 1000 ? len - off : 1000;
		if (fc.wfn(a->body + off, 1, n, fc.wdata) != n)
			return -1;
	}
	return 0;
}

CURLcode
__wrap_curl_easy_perform(CURL *h)
{
	struct fake_answer *a;
	CURLcode cc = CURLE_OK;

	(void)h;
	fake_record();
	last_status = 0;
	if ((a = fake_find(fc.url)) == NULL) {
		unexpected++;
		cc = CURLE_COULDNT_CONNECT;
		goto done;
	}
	a->used = 1;
	if (a->cc != CURLE_OK) {
		cc = a->cc;
		goto done;
	}
	if (fc.noprogress == 0 && fc.xfn(fc.xdata, 0, 0, 0, 0) != 0) {
		cc = CURLE_ABORTED_BY_CALLBACK;
		goto done;
	}
	if (fake_send_headers(a) != 0 || fake_send_body(a) != 0) {
		cc = CURLE_WRITE_ERROR;
		goto done;
	}
	last_status = a->status;
done:
	fake_forget_options();
	return cc;
}

static struct fake_answer *
fake_add(const char *url, long status, const char *headers, const char *body)
{
	struct fake_answer *a;

	assert_true(nanswers < NFAKE);
	a = &answers[nanswers++];
	memset(a, 0, sizeof(*a));
	a->url = xstrdup(url);
	a->status = status;
	a->headers = xstrdup(headers);
	a->body = xstrdup(body);
	return a;
}

static void
fake_add_cc(const char *url, CURLcode cc)
{
	fake_add(url, 0, NULL, NULL)->cc = cc;
}

static void
fake_reset(void)
{
	size_t i;

	for (i = 0; i < nanswers; i++) {
		free(answers[i].url);
		free(answers[i].headers);
		free(answers[i].body);
	}
	for (i = 0; i < nrequests; i++) {
		free(requests[i].url);
		free(requests[i].method);
		free(requests[i].body);
		free(requests[i].headers);
	}
	nanswers = nrequests = 0;
	unexpected = 0;
	cancel_flag = 0;
	fake_forget_options();
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- client fixture ---------------------------------------------- */

struct fixture {
	struct jira_client *jc;
	char	 err[1024];
};

static struct jira_client *
client_new(const char *url, int64_t backoff_ms)
{
	struct jira_options o;
	struct jira_client *jc;

	memset(&o, 0, sizeof(o));
	o.url = url;
	o.email = EMAIL;
	o.api_token = TOKEN;
	o.timeout = 7;
	o.backoff_base_ms = backoff_ms;
	o.cancel = &cancel_flag;
	assert_int_equal(jira_client_create(&jc, &o), 0);
	return jc;
}

static int
client_setup(void **state)
{
	struct fixture *f;

	fake_reset();
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	f->jc = client_new(SITE "/", 1);	/* the slash must not double */
	*state = f;
	return 0;
}

static int
client_teardown(void **state)
{
	struct fixture *f = *state;

	jira_client_free(f->jc);
	free(f);
	fake_reset();
	return 0;
}

/* A request for path that should fail: its return code. */
static int
run_request(struct fixture *f, const char *method, const char *path,
    long *status)
{
	json_object *json = (json_object *)1;
	int rc;

	rc = jira_request(f->jc, method, path, NULL, status, &json, f->err,
	    sizeof(f->err));
	if (rc != 0)
		assert_null(json);
	json_object_put(json);
	return rc;
}

/* ---- requests and errors ----------------------------------------- */

static void
test_request_shape(void **state)
{
	struct fixture *f = *state;
	json_object *json, *v;
	long status;

	fake_add(SITE "/rest/api/3/issue/SHOP-1", 200, NULL,
	    "{\"key\":\"SHOP-1\"}");
	fake_add(SITE "/rest/api/3/issue/SHOP-1/properties/p", 204, NULL, "");
	assert_int_equal(jira_request(f->jc, "GET", "/rest/api/3/issue/SHOP-1",
	    NULL, &status, &json, f->err, sizeof(f->err)), 0);
	assert_int_equal(status, 200);
	assert_true(json_object_object_get_ex(json, "key", &v));
	assert_string_equal(json_object_get_string(v), "SHOP-1");
	json_object_put(json);
	assert_int_equal(jira_request(f->jc, "PUT",
	    "/rest/api/3/issue/SHOP-1/properties/p", "{\"a\":1}", &status,
	    &json, f->err, sizeof(f->err)), 0);
	assert_int_equal(status, 204);
	assert_null(json);		/* an empty body */
	assert_int_equal(nrequests, 2);
	assert_string_equal(requests[0].method, "GET");
	assert_null(requests[0].body);
	assert_non_null(strstr(requests[0].headers, AUTH "\n"));
	assert_non_null(strstr(requests[0].headers,
	    "Accept: application/json\n"));
	assert_int_equal(requests[0].verifypeer, 1);
	assert_int_equal(requests[0].verifyhost, 2);
	assert_int_equal(requests[0].timeout, 7);
	assert_string_equal(requests[1].method, "PUT");
	assert_string_equal(requests[1].body, "{\"a\":1}");
	assert_non_null(strstr(requests[1].headers,
	    "Content-Type: application/json\n"));
	assert_int_equal(jira_request_count(f->jc), 2);
	assert_int_equal(unexpected, 0);
}

/* The gateway URL of scoped tokens takes the same paths. */
static void
test_gateway_url(void **state)
{
	struct jira_client *jc;
	json_object *json;
	char err[256];
	long status;

	(void)state;
	fake_reset();
	jc = client_new("https://api.atlassian.com/ex/jira/1324a887-45db", 1);
	fake_add("https://api.atlassian.com/ex/jira/1324a887-45db"
	    "/rest/api/3/myself", 200, NULL, "{}");
	assert_int_equal(jira_request(jc, "GET", "/rest/api/3/myself", NULL,
	    &status, &json, err, sizeof(err)), 0);
	assert_int_equal(unexpected, 0);
	json_object_put(json);
	jira_client_free(jc);
	fake_reset();
}

/* 301 two-byte characters, then an invalid byte: 400 bytes quoted. */
static void
expect_cut(struct fixture *f)
{
	char body[1024], want[1024];
	long status;
	int i, n;

	for (i = 0, n = 0; i < 301; i++)
		n += snprintf(body + n, sizeof(body) - n, "\xc3\xa9");
	snprintf(body + n, sizeof(body) - n, "\xff");
	n = snprintf(want, sizeof(want), "Jira: 410 at %s/rest/api/3/v: ",
	    SITE);
	for (i = 0; i < 200; i++)
		n += snprintf(want + n, sizeof(want) - n, "\xc3\xa9");
	snprintf(want + n, sizeof(want) - n, "...");
	fake_add(SITE "/rest/api/3/v", 410, NULL, body);
	assert_int_equal(run_request(f, "GET", "/rest/api/3/v", &status),
	    FS_EHTTP);
	assert_string_equal(f->err, want);
}

static void
test_error_body_formatting(void **state)
{
	struct fixture *f = *state;
	long status;

	fake_add(SEARCH, 400, NULL, "{\"errorMessages\":[\"Error in the JQL "
	    "Query: Expecting ')' before the end of the query.\"],"
	    "\"errors\":{\"title\":\"'title' is required.\"}}");
	assert_int_equal(run_request(f, "POST", "/rest/api/3/search/jql",
	    &status), FS_EHTTP);
	assert_int_equal(status, 400);
	assert_string_equal(f->err, "Jira: 400 at " SEARCH ": Error in the "
	    "JQL Query: Expecting ')' before the end of the query.; title: "
	    "'title' is required.");
	assert_int_equal(nrequests, 1);		/* a 400 is not retried */

	fake_add(SITE "/rest/api/3/issue/NOPE-1", 404, NULL,
	    "{\"errorMessages\":[\"Issue does not exist or you do not have "
	    "permission to see it.\"],\"errors\":{}}");
	assert_int_equal(run_request(f, "GET", "/rest/api/3/issue/NOPE-1",
	    &status), FS_ENOTFOUND);
	assert_string_equal(f->err, "Jira: 404 at " SITE "/rest/api/3/issue/"
	    "NOPE-1: Issue does not exist or you do not have permission to "
	    "see it.");

	/* Not Jira's shape: the text, one line, the token masked. */
	fake_add(SITE "/rest/api/3/x", 410, NULL,
	    "Gone\nfor " TOKEN " \x01 good");
	assert_int_equal(run_request(f, "GET", "/rest/api/3/x", &status),
	    FS_EHTTP);
	assert_string_equal(f->err, "Jira: 410 at " SITE "/rest/api/3/x: "
	    "Gone for *** ? good");

	/* UTF-8 passes; a long text is cut between characters. */
	fake_add(SITE "/rest/api/3/u", 400, NULL,
	    "{\"errorMessages\":[\"Feld \\u00fcberpr\xc3\xbc" "ft\"]}");
	assert_int_equal(run_request(f, "GET", "/rest/api/3/u", &status),
	    FS_EHTTP);
	assert_string_equal(f->err, "Jira: 400 at " SITE "/rest/api/3/u: "
	    "Feld \xc3\xbc" "berpr\xc3\xbc" "ft");
	expect_cut(f);

	/* The shape with nothing in it says nothing more. */
	fake_add(SITE "/rest/api/3/y", 409, NULL,
	    "{\"errorMessages\":[],\"errors\":{}}");
	assert_int_equal(run_request(f, "GET", "/rest/api/3/y", &status),
	    FS_EHTTP);
	assert_string_equal(f->err, "Jira: 409 at " SITE "/rest/api/3/y");
	assert_int_equal(unexpected, 0);
}

/* An overlong form or a surrogate is not UTF-8: '?', never passed on. */
static void
test_error_body_invalid_utf8(void **state)
{
	struct fixture *f = *state;
	long status;

	fake_add(SITE "/rest/api/3/w", 400, NULL,
	    "a\xe0\x80\xaf" "b\xed\xa0\x80" "c\xf4\x90\x80\x80" "d");
	assert_int_equal(run_request(f, "GET", "/rest/api/3/w", &status),
	    FS_EHTTP);
	assert_string_equal(f->err, "Jira: 400 at " SITE "/rest/api/3/w: "
	    "a???b???c????d");
}

static void
test_401_names_email_not_token(void **state)
{
	struct fixture *f = *state;
	long status;

	fake_add(SEARCH, 401, NULL, "{\"errorMessages\":[\"Client must be "
	    "authenticated to access this resource.\"],\"errors\":{}}");
	assert_int_equal(run_request(f, "POST", "/rest/api/3/search/jql",
	    &status), FS_EAUTH);
	assert_int_equal(status, 401);
	assert_non_null(strstr(f->err, EMAIL));
	assert_non_null(strstr(f->err, "[jira] api_token_file"));
	assert_non_null(strstr(f->err, "$FLAGSYNC_JIRA_API_TOKEN"));
	assert_non_null(strstr(f->err, "jira-api-token credential"));
	assert_null(strstr(f->err, TOKEN));
	assert_null(strstr(f->err, "Ym90QGV4"));
	assert_int_equal(nrequests, 1);		/* never retried */
}

static void
test_403_names_email(void **state)
{
	struct fixture *f = *state;
	long status;

	fake_add(SEARCH, 403, NULL, "{\"errorMessages\":[\"You do not have "
	    "permission (" TOKEN ").\"]}");
	assert_int_equal(run_request(f, "POST", "/rest/api/3/search/jql",
	    &status), FS_EAUTH);
	assert_non_null(strstr(f->err, "Jira refused " EMAIL " (403 at "));
	assert_non_null(strstr(f->err, "You do not have permission (***)."));
	assert_non_null(strstr(f->err, "[jira] api_token_file"));
	assert_null(strstr(f->err, TOKEN));
	assert_int_equal(nrequests, 1);
}

static void
test_malformed_2xx(void **state)
{
	struct fixture *f = *state;
	long status;

	fake_add(SITE "/rest/api/3/z", 200, NULL, "{\"a\":1} {");
	assert_int_equal(run_request(f, "GET", "/rest/api/3/z", &status),
	    FS_EPROTO);
	assert_non_null(strstr(f->err, "Jira: GET " SITE "/rest/api/3/z: "
	    "malformed answer"));
	assert_int_equal(nrequests, 1);
}

/* ---- retries ----------------------------------------------------- */

static void
test_429_waits_retry_after(void **state)
{
	struct fixture *f = *state;
	json_object *json;
	int64_t t0, dt;
	long status;

	fake_add(SEARCH, 429, "Retry-After: 0.3\r\n"
	    "X-RateLimit-Reset: 2030-01-01T00:00Z\r\n", "");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[],\"isLast\":true}");
	t0 = now_ms();
	assert_int_equal(jira_request(f->jc, "POST", "/rest/api/3/search/jql",
	    "{}", &status, &json, f->err, sizeof(f->err)), 0);
	dt = now_ms() - t0;
	json_object_put(json);
	assert_int_equal(status, 200);
	assert_int_equal(nrequests, 2);
	/* never earlier than told, and not the 1 ms backoff */
	assert_true(dt >= 300);
	assert_true(dt < 3000);
}

static void
test_429_backoff_without_retry_after(void **state)
{
	struct jira_client *jc;
	json_object *json;
	int64_t t0, dt;
	char err[512];
	long status;

	(void)state;
	fake_reset();
	jc = client_new(SITE, 100);
	fake_add(SEARCH, 429, NULL, "");
	fake_add(SEARCH, 429, "Retry-After: soon\r\n", "");
	fake_add(SEARCH, 200, NULL, "{}");
	t0 = now_ms();
	assert_int_equal(jira_request(jc, "POST", "/rest/api/3/search/jql",
	    "{}", &status, &json, err, sizeof(err)), 0);
	dt = now_ms() - t0;
	json_object_put(json);
	assert_int_equal(nrequests, 3);
	/* 100 ms then 200 ms, each -25 % at worst */
	assert_true(dt >= 75 + 150);
	assert_true(dt < 3000);
	jira_client_free(jc);
	fake_reset();
}

static void
test_429_gives_up(void **state)
{
	struct fixture *f = *state;
	long status;
	int i;

	for (i = 0; i < JIRA_MAX_429 + 1; i++)
		fake_add(SEARCH, 429, "Retry-After: 0\r\n", "");
	fake_add(SEARCH, 200, NULL, "{}");
	assert_int_equal(run_request(f, "POST", "/rest/api/3/search/jql",
	    &status), FS_ERATELIMIT);
	assert_int_equal(status, 429);
	assert_int_equal(nrequests, JIRA_MAX_429 + 1);
	assert_non_null(strstr(f->err, "429"));
}

/* Over 60 s: not waited, and not retried early either. */
static void
test_429_retry_after_too_long(void **state)
{
	struct fixture *f = *state;
	int64_t t0;
	long status;

	fake_add(SEARCH, 429, "Retry-After: 120\r\n", "");
	fake_add(SEARCH, 200, NULL, "{}");
	t0 = now_ms();
	assert_int_equal(run_request(f, "POST", "/rest/api/3/search/jql",
	    &status), FS_ERATELIMIT);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(f->err, "wait 120 s"));
	assert_non_null(strstr(f->err, "next cycle"));
}

static void
test_503_retry_after(void **state)
{
	struct fixture *f = *state;
	json_object *json;
	int64_t t0, dt;
	long status;

	fake_add(SEARCH, 503, "Retry-After: 0.25\r\n", "busy");
	fake_add(SEARCH, 200, NULL, "{}");
	t0 = now_ms();
	assert_int_equal(jira_request(f->jc, "POST", "/rest/api/3/search/jql",
	    "{}", &status, &json, f->err, sizeof(f->err)), 0);
	dt = now_ms() - t0;
	json_object_put(json);
	assert_int_equal(nrequests, 2);
	assert_true(dt >= 250);
	assert_true(dt < 3000);
}

static void
test_5xx_three_retries(void **state)
{
	struct fixture *f = *state;
	json_object *json;
	long status;
	int i;

	for (i = 0; i < 3; i++)
		fake_add(SEARCH, 500 + i, NULL, "{\"errorMessages\":[\"oops\"]}");
	fake_add(SEARCH, 200, NULL, "{}");
	assert_int_equal(jira_request(f->jc, "POST", "/rest/api/3/search/jql",
	    "{}", &status, &json, f->err, sizeof(f->err)), 0);
	json_object_put(json);
	assert_int_equal(nrequests, 4);
	assert_int_equal(f->err[0], '\0');

	fake_reset();
	for (i = 0; i < 5; i++)
		fake_add(SEARCH, 500, NULL, "{\"errorMessages\":[\"oops\"]}");
	assert_int_equal(run_request(f, "POST", "/rest/api/3/search/jql",
	    &status), FS_EHTTP);
	assert_int_equal(nrequests, 1 + JIRA_MAX_RETRIES);
	assert_string_equal(f->err, "Jira: 500 at " SEARCH ": oops (gave up "
	    "after 3 retries)");
}

static void
test_timeouts_and_network(void **state)
{
	struct fixture *f = *state;
	json_object *json;
	long status;

	fake_add_cc(SEARCH, CURLE_OPERATION_TIMEDOUT);
	fake_add_cc(SEARCH, CURLE_COULDNT_CONNECT);
	fake_add(SEARCH, 200, NULL, "{}");
	assert_int_equal(jira_request(f->jc, "POST", "/rest/api/3/search/jql",
	    "{}", &status, &json, f->err, sizeof(f->err)), 0);
	json_object_put(json);
	assert_int_equal(nrequests, 3);

	fake_reset();
	fake_add_cc(SEARCH, CURLE_OPERATION_TIMEDOUT);
	fake_add_cc(SEARCH, CURLE_OPERATION_TIMEDOUT);
	fake_add_cc(SEARCH, CURLE_OPERATION_TIMEDOUT);
	fake_add_cc(SEARCH, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(run_request(f, "POST", "/rest/api/3/search/jql",
	    &status), FS_ETIMEOUT);
	assert_int_equal(status, 0);
	assert_int_equal(nrequests, 4);
	assert_non_null(strstr(f->err, "timed out"));
	assert_non_null(strstr(f->err, "gave up after 3 retries"));
}

/* ---- search ------------------------------------------------------ */

struct seen {
	char	 keys[16][16];
	int	 n;
	int	 with_fields;
	int	 stop_at;	/* return 42 on this issue (1-based) */
};

static int
seen_cb(void *arg, const char *key, json_object *fields)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
	if (fields != NULL)
		s->with_fields++;
	return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static int
run_search(struct fixture *f, struct seen *s)
{
	static const char *const fields[] = { "customfield_10050" };
	int stop_at = s->stop_at;

	memset(s, 0, sizeof(*s));
	s->stop_at = stop_at;
	return jira_search(f->jc, "cf[10050] is not EMPTY ORDER BY key ASC",
	    fields, 1, seen_cb, s, f->err, sizeof(f->err));
}

/* The POST body of request i as a JSON object (the caller puts it). */
static json_object *
request_json(size_t i)
{
	json_object *o;

	assert_true(i < nrequests);
	assert_non_null(requests[i].body);
	o = json_tokener_parse(requests[i].body);
	assert_non_null(o);
	return o;
}

static const char *
json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static void
test_search_pages(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .stop_at = 0 };
	json_object *o;

	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"id\":\"1\",\"key\":"
	    "\"SHOP-1\",\"fields\":{\"customfield_10050\":\"a\"}},{\"key\":"
	    "\"SHOP-2\",\"fields\":{}}],\"nextPageToken\":\"t1\","
	    "\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"SHOP-3\"}],"
	    "\"nextPageToken\":\"t2\",\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[],\"nextPageToken\":\"t3\","
	    "\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"SHOP-4\","
	    "\"fields\":{}}],\"nextPageToken\":null,\"isLast\":true}");
	assert_int_equal(run_search(f, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.keys[0], "SHOP-1");
	assert_string_equal(s.keys[2], "SHOP-3");
	assert_string_equal(s.keys[3], "SHOP-4");
	assert_int_equal(s.with_fields, 3);	/* SHOP-3 had none */
	assert_int_equal(nrequests, 4);
	assert_int_equal(unexpected, 0);

	o = request_json(0);
	assert_string_equal(requests[0].method, "POST");
	assert_string_equal(json_str(o, "jql"),
	    "cf[10050] is not EMPTY ORDER BY key ASC");
	assert_string_equal(json_object_to_json_string_ext(
	    json_object_object_get(o, "fields"), JSON_C_TO_STRING_PLAIN),
	    "[\"customfield_10050\"]");
	assert_int_equal(json_object_get_int(json_object_object_get(o,
	    "maxResults")), 100);
	assert_null(json_str(o, "nextPageToken"));	/* not on page 1 */
	json_object_put(o);
	o = request_json(1);
	assert_string_equal(json_str(o, "nextPageToken"), "t1");
	json_object_put(o);
	o = request_json(3);
	assert_string_equal(json_str(o, "nextPageToken"), "t3");
	json_object_put(o);
}

static void
test_search_without_is_last(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .stop_at = 0 };

	/* a token and no isLast: go on; neither: the end */
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-1\"}],"
	    "\"nextPageToken\":\"n1\"}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-2\"}]}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-3\"}]}");
	assert_int_equal(run_search(f, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(nrequests, 2);

	/* isLast true wins over a token */
	fake_reset();
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-1\"}],"
	    "\"nextPageToken\":\"n1\",\"isLast\":true}");
	assert_int_equal(run_search(f, &s), 0);
	assert_int_equal(nrequests, 1);
}

static void
test_search_repeated_token(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .stop_at = 0 };

	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-1\"}],"
	    "\"nextPageToken\":\"t1\",\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-2\"}],"
	    "\"nextPageToken\":\"t2\",\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-1\"}],"
	    "\"nextPageToken\":\"t1\",\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[],\"isLast\":true}");
	assert_int_equal(run_search(f, &s), FS_EPROTO);
	assert_int_equal(nrequests, 3);
	assert_non_null(strstr(f->err, "nextPageToken given before"));
}

static void
test_search_is_last_false_no_token(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .stop_at = 0 };

	/* As Atlassian's own client does: the end, with a warning. */
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-1\"}],"
	    "\"isLast\":false}");
	assert_int_equal(run_search(f, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.keys[0], "A-1");
	assert_int_equal(nrequests, 1);
	assert_int_equal(unexpected, 0);
	/* the same after a page that had a token */
	fake_reset();
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-1\"}],"
	    "\"nextPageToken\":\"t1\",\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-2\"}],"
	    "\"nextPageToken\":\"\",\"isLast\":false}");
	assert_int_equal(run_search(f, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(nrequests, 2);
}

/*
 * A server that echoes the request's credentials in its error body: the
 * token, the base64 of email:token and the Authorization value are all
 * masked, in Jira's error shape and in plain text alike.
 */
static void
test_error_body_echoes_credentials(void **state)
{
	static const char *const paths[] = { "/rest/api/3/a", "/rest/api/3/b",
	    "/rest/api/3/c", "/rest/api/3/d" };
	struct fixture *f = *state;
	char url[256];
	long status;
	size_t i;

	snprintf(url, sizeof(url), SITE "%s", paths[0]);
	fake_add(url, 400, NULL, "{\"errorMessages\":[\"bad header "
	    AUTH "\"],\"errors\":{\"token\":\"" TOKEN "\"}}");
	snprintf(url, sizeof(url), SITE "%s", paths[1]);
	fake_add(url, 400, NULL, "you sent " AUTH " and " EMAIL ":" TOKEN);
	snprintf(url, sizeof(url), SITE "%s", paths[2]);
	fake_add(url, 403, NULL, "{\"errorMessages\":[\"" AUTH "\"]}");
	/* JSON may escape the slashes of base64 */
	snprintf(url, sizeof(url), SITE "%s", paths[3]);
	fake_add(url, 400, NULL, "{\"errorMessages\":[\"Basic "
	    "Ym90QGV4YW1wbGUuY29tOnRvay1TRUNSRVQtMDEyMzQ1Njc4OQ==\"]}");
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_not_equal(run_request(f, "GET", paths[i], &status),
		    0);
		assert_null(strstr(f->err, TOKEN));
		assert_null(strstr(f->err, "Ym90QGV4YW1wbGUuY29tOnRvay1TRUNS"));
		assert_null(strstr(f->err, "SECRET"));
		assert_non_null(strstr(f->err, "***"));
	}
	assert_int_equal(unexpected, 0);
}

static void
test_search_wrong_shapes(void **state)
{
	static const char *const bodies[] = {
		"{\"isLast\":true}",
		"{\"issues\":{},\"isLast\":true}",
		"{\"issues\":[{\"id\":\"1\"}],\"isLast\":true}",
		"{\"issues\":[{\"key\":7}],\"isLast\":true}",
		"{\"issues\":[],\"isLast\":\"yes\"}",
		"{\"issues\":[],\"nextPageToken\":5}",
		"[]",
		"{\"issues\":[],",
		"",
	};
	struct fixture *f = *state;
	struct seen s = { .stop_at = 0 };
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		fake_reset();
		fake_add(SEARCH, 200, NULL, bodies[i]);
		assert_int_equal(run_search(f, &s), FS_EPROTO);
		assert_non_null(strstr(f->err, "malformed answer"));
		assert_int_equal(nrequests, 1);		/* not retried */
	}
}

static void
test_search_callback_stops(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .stop_at = 2 };

	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"A-1\"},"
	    "{\"key\":\"A-2\"},{\"key\":\"A-3\"}],\"nextPageToken\":\"x\"}");
	assert_int_equal(run_search(f, &s), 42);
	assert_int_equal(s.n, 2);
	assert_int_equal(nrequests, 1);
}

static void
test_search_canceled(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .stop_at = 0 };

	cancel_flag = 1;
	fake_add(SEARCH, 200, NULL, "{\"issues\":[],\"isLast\":true}");
	assert_int_equal(run_search(f, &s), FS_ECANCELED);
	assert_int_equal(nrequests, 0);
}

/* ---- the JQL and field values ------------------------------------ */

static void
expect_jql(const char *field, const char *jql, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(jira_field_jql(field, jql, &b), 0);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void
test_field_jql(void **state)
{
	(void)state;
	expect_jql("customfield_10050", NULL,
	    "cf[10050] is not EMPTY ORDER BY key ASC");
	expect_jql("customfield_10050", "project in (SHOP, PAY)",
	    "cf[10050] is not EMPTY AND (project in (SHOP, PAY)) "
	    "ORDER BY key ASC");
	expect_jql("labels", NULL, "labels is not EMPTY ORDER BY key ASC");
	expect_jql("labels", "status != Done",
	    "labels is not EMPTY AND (status != Done) ORDER BY key ASC");
	expect_jql("customfield_", NULL,
	    "customfield_ is not EMPTY ORDER BY key ASC");
	expect_jql("Feature \"flags\"", NULL,
	    "\"Feature \\\"flags\\\"\" is not EMPTY ORDER BY key ASC");
}

struct names {
	struct buf b;		/* "name|name|!bad|" */
	int	 stop_after;
	int	 n;
};

static int
names_cb(void *arg, const char *name, int bad)
{
	struct names *nm = arg;

	assert_int_equal(buf_printf(&nm->b, "%s%s|", bad ? "!" : "", name), 0);
	nm->n++;
	return nm->stop_after && nm->n == nm->stop_after ? 7 : 0;
}

static void
expect_names(const char *json, const char *want)
{
	struct names nm;
	json_object *v;

	memset(&nm, 0, sizeof(nm));
	buf_init(&nm.b, 0);
	v = json_tokener_parse(json);
	if (strcmp(json, "null") != 0)
		assert_non_null(v);
	assert_int_equal(jira_field_names(v, names_cb, &nm), 0);
	assert_string_equal(buf_str(&nm.b), want);
	json_object_put(v);
	buf_release(&nm.b);
}

static void
test_field_value_shapes(void **state)
{
	(void)state;
	/* text: commas and/or white space */
	expect_names("\"new_checkout, search_v2\"", "new_checkout|search_v2|");
	expect_names("\" a,b  c\\n\\tShop/d ,, \"", "a|b|c|Shop/d|");
	expect_names("\"\"", "");
	/* labels */
	expect_names("[\"new_checkout\",\"Shop/pay\"]", "new_checkout|Shop/pay|");
	/* multi-select options, and objects named by "name" */
	expect_names("[{\"self\":\"u\",\"value\":\"x\",\"id\":\"1\"},"
	    "{\"value\":\" My Shop/y \"},{\"name\":\"z\"}]",
	    "x|My Shop/y|z|");
	/* one option (single select) */
	expect_names("{\"value\":\"only\",\"id\":\"3\"}", "only|");
	/* a rich text area (API v3 ADF): blocks split, marks do not */
	expect_names("{\"type\":\"doc\",\"version\":1,\"content\":["
	    "{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"new_\"},{\"type\":\"text\",\"text\":\"checkout\","
	    "\"marks\":[{\"type\":\"strong\"}]}]},"
	    "{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"a\"},{\"type\":\"hardBreak\"},{\"type\":\"text\","
	    "\"text\":\"b,c\"}]}]}", "new_checkout|a|b|c|");
	/* nothing, and what cannot be a name */
	expect_names("null", "");
	expect_names("[]", "");
	expect_names("42", "!a number|");
	expect_names("true", "!a boolean|");
	expect_names("{\"id\":\"1\"}",
	    "!an object without a string \"value\" or \"name\"|");
	expect_names("[\"ok\",3,null,[\"x\"],{\"value\":\"  \"}]",
	    "ok|!a number|!an array inside a list|");
}

static void
test_field_names_stop(void **state)
{
	struct names nm;
	json_object *v;

	(void)state;
	memset(&nm, 0, sizeof(nm));
	buf_init(&nm.b, 0);
	nm.stop_after = 2;
	v = json_tokener_parse("\"a b c d\"");
	assert_int_equal(jira_field_names(v, names_cb, &nm), 7);
	assert_string_equal(buf_str(&nm.b), "a|b|");
	json_object_put(v);
	buf_release(&nm.b);
}

/* ---- the jira-field source --------------------------------------- */

struct src_fixture {
	char	 dir[64];
	struct config *cfg;
	struct cache *c;
	struct keys keys;
	struct changeset cs;
	struct source_env env;
	const struct source *src;
	struct linkset out;
	json_object *details;
	char	 err[1024];
};

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static const char *const cached_flags[][2] = {
	{ "Default", "new_checkout" },
	{ "Default", "search_v2" },
	{ "Default", "old_banner" },
	{ "Shop", "search_v2" },
	{ "Shop", "pay_button" },
};

static int
put_flags(struct cache_txn *t, void *arg)
{
	size_t i;
	int rc = 0;

	(void)arg;
	for (i = 0; rc == 0 && i < sizeof(cached_flags) /
	    sizeof(cached_flags[0]); i++)
		rc = cache_flag_put(t, cached_flags[i][0], cached_flags[i][1],
		    "rec", 3);
	return rc;
}

static void
src_config_field(struct src_fixture *x, const char *field, const char *extra)
{
	char path[128], tok[128], text[2048];

	snprintf(tok, sizeof(tok), "%s/jira-token", x->dir);
	write_file(tok, TOKEN "\n", 0600);
	snprintf(text, sizeof(text), "[agent]\nstate_dir = %s/state\n"
	    "[project Default]\nenvironment = Production\n"
	    "[project Shop]\nenvironment = Prod\n"
	    "[links]\njira_field = %s\n%s"
	    "[jira]\nurl = " SITE "/\nemail = " EMAIL "\n"
	    "api_token_file = %s\ntimeout = 9\n", x->dir, field, extra, tok);
	snprintf(path, sizeof(path), "%s/flagsync.ini", x->dir);
	write_file(path, text, 0600);
	config_free(x->cfg);
	x->cfg = NULL;
	assert_int_equal(config_load(path, &x->cfg, x->err, sizeof(x->err)),
	    0);
	x->env.cfg = x->cfg;
}

static void
src_config(struct src_fixture *x, const char *extra)
{
	src_config_field(x, "customfield_10050", extra);
}

static int
src_setup(void **state)
{
	struct src_fixture *x;
	char path[128];
	size_t i;

	fake_reset();
	unsetenv("FLAGSYNC_JIRA_API_TOKEN");
	unsetenv("CREDENTIALS_DIRECTORY");
	setenv("FLAGSYNC_TEST_BACKOFF_MS", "1", 1);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "%s/jira_test.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(x->dir));
	src_config(x, "jira_jql = project in (SHOP)\n");
	snprintf(path, sizeof(path), "%s/state", x->dir);
	assert_int_equal(cache_open(&x->c, path, 0, x->err, sizeof(x->err)),
	    0);
	assert_int_equal(cache_write(x->c, put_flags, NULL), 0);
	assert_int_equal(keys_init(&x->keys, KEYS_DEFAULT_PATTERN, x->err,
	    sizeof(x->err)), 0);
	/* this cycle: Split shows a new flag and has deleted old_banner */
	changeset_init(&x->cs);
	assert_int_equal(changeset_add_flag(&x->cs, "Shop", "fresh_flag",
	    "rec", 3), 0);
	assert_int_equal(changeset_add_flag(&x->cs, "Default", "old_banner",
	    NULL, 0), 0);
	x->env.keys = &x->keys;
	x->env.c = x->c;
	x->env.cs = &x->cs;
	x->env.cancel = &cancel_flag;
	for (i = 0; sources[i] != NULL; i++)
		if (sources[i]->id == LINK_SRC_JIRA_FIELD)
			x->src = sources[i];
	assert_non_null(x->src);
	assert_string_equal(x->src->status_name, "jira-field");
	linkset_init(&x->out);
	x->details = json_object_new_object();
	*state = x;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
src_teardown(void **state)
{
	struct src_fixture *x = *state;

	json_object_put(x->details);
	linkset_release(&x->out);
	changeset_release(&x->cs);
	keys_release(&x->keys);
	cache_close(x->c);
	config_free(x->cfg);
	nftw(x->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(x);
	fake_reset();
	return 0;
}

static int
src_gather(struct src_fixture *x)
{
	x->err[0] = '\0';
	return x->src->gather(&x->env, &x->out, x->details, x->err,
	    sizeof(x->err));
}

/* The links gathered, "project/flag issue" a line, sorted. */
static char *
links_text(struct linkset *s)
{
	struct buf b;
	size_t i;

	linkset_sort(s);
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, ""), 0);
	for (i = 0; i < s->n; i++)
		assert_int_equal(buf_printf(&b, "%s/%s %s\n", s->v[i].project,
		    s->v[i].flag, s->v[i].issue), 0);
	return buf_detach(&b);
}

static const char src_page[] = "{\"issues\":["
    /* text: one flag of Default, one in both projects */
    "{\"key\":\"SHOP-1\",\"fields\":{\"customfield_10050\":"
    "\"new_checkout, search_v2\"}},"
    /* labels: project/flag, and a flag new this cycle */
    "{\"key\":\"SHOP-2\",\"fields\":{\"customfield_10050\":"
    "[\"Shop/pay_button\",\"fresh_flag\"]}},"
    /* multi-select: unknown, and a flag of the other project */
    "{\"key\":\"SHOP-3\",\"fields\":{\"customfield_10050\":"
    "[{\"value\":\"nope_flag\"},{\"value\":\"Default/pay_button\"},"
    "{\"value\":\"nope_flag\"}]}},"
    /* a flag deleted this cycle, by single select */
    "{\"key\":\"SHOP-4\",\"fields\":{\"customfield_10050\":"
    "{\"value\":\"old_banner\"}}},"
    /* not an issue key: skipped */
    "{\"key\":\"shop-5\",\"fields\":{\"customfield_10050\":"
    "\"new_checkout\"}},"
    /* no such project; a number */
    "{\"key\":\"SHOP-6\",\"fields\":{\"customfield_10050\":"
    "\"Nowhere/new_checkout Shop/\"}},"
    "{\"key\":\"SHOP-7\",\"fields\":{\"customfield_10050\":7}},"
    /* the field went empty since the search */
    "{\"key\":\"SHOP-8\",\"fields\":{\"customfield_10050\":null}},"
    "{\"key\":\"SHOP-9\",\"fields\":{}}"
    "],\"isLast\":true}";

static void
test_source_links_and_unmatched(void **state)
{
	struct src_fixture *x = *state;
	json_object *o, *v;
	char *text;

	fake_add(SEARCH, 200, NULL, src_page);
	assert_int_equal(src_gather(x), 0);
	assert_int_equal(unexpected, 0);
	text = links_text(&x->out);
	assert_string_equal(text,
	    "Default/new_checkout SHOP-1\n"
	    "Default/search_v2 SHOP-1\n"
	    "Shop/fresh_flag SHOP-2\n"
	    "Shop/pay_button SHOP-2\n"
	    "Shop/search_v2 SHOP-1\n");
	free(text);
	assert_string_equal(json_object_to_json_string_ext(x->details,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"unmatched\":[\"SHOP-3: Default/pay_button\","
	    "\"SHOP-3: nope_flag\",\"SHOP-4: old_banner\","
	    "\"SHOP-6: Nowhere/new_checkout\",\"SHOP-6: Shop/\","
	    "\"SHOP-7: unreadable value (a number)\"]}");

	/* what was asked: the field only, the JQL with the restriction */
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(requests[0].headers, AUTH "\n"));
	assert_int_equal(requests[0].timeout, 9);
	o = request_json(0);
	assert_string_equal(json_str(o, "jql"), "cf[10050] is not EMPTY AND "
	    "(project in (SHOP)) ORDER BY key ASC");
	assert_true(json_object_object_get_ex(o, "fields", &v));
	assert_string_equal(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN), "[\"customfield_10050\"]");
	json_object_put(o);
}

static void
test_source_without_jql(void **state)
{
	struct src_fixture *x = *state;
	json_object *o;

	src_config(x, "");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[],\"isLast\":true}");
	assert_int_equal(src_gather(x), 0);
	assert_int_equal(x->out.n, 0);
	assert_string_equal(json_object_to_json_string_ext(x->details,
	    JSON_C_TO_STRING_PLAIN), "{\"unmatched\":[]}");
	o = request_json(0);
	assert_string_equal(json_str(o, "jql"),
	    "cf[10050] is not EMPTY ORDER BY key ASC");
	json_object_put(o);
}

/* Names in the changeset only: the cache alone knows no fresh_flag. */
static void
test_source_without_changeset(void **state)
{
	struct src_fixture *x = *state;
	char *text;

	x->env.cs = NULL;
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"SHOP-2\","
	    "\"fields\":{\"customfield_10050\":[\"fresh_flag\","
	    "\"old_banner\"]}}],\"isLast\":true}");
	assert_int_equal(src_gather(x), 0);
	text = links_text(&x->out);
	assert_string_equal(text, "Default/old_banner SHOP-2\n");
	free(text);
	assert_string_equal(json_object_to_json_string_ext(x->details,
	    JSON_C_TO_STRING_PLAIN), "{\"unmatched\":[\"SHOP-2: fresh_flag\"]}");
}

static void
test_source_unmatched_capped(void **state)
{
	struct src_fixture *x = *state;
	json_object *v;
	struct buf b;
	char *body;
	int i;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "{\"issues\":[{\"key\":\"SHOP-1\","
	    "\"fields\":{\"customfield_10050\":\""), 0);
	for (i = 0; i < 130; i++)
		assert_int_equal(buf_printf(&b, "nope%03d ", i), 0);
	assert_int_equal(buf_puts(&b, "\"}}],\"isLast\":true}"), 0);
	body = buf_detach(&b);
	fake_add(SEARCH, 200, NULL, body);
	free(body);
	assert_int_equal(src_gather(x), 0);
	assert_true(json_object_object_get_ex(x->details, "unmatched", &v));
	assert_int_equal(json_object_array_length(v), SOURCE_UNMATCHED_MAX);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(v, 0)), "SHOP-1: nope000");
	assert_true(json_object_object_get_ex(x->details, "unmatched_more",
	    &v));
	assert_int_equal(json_object_get_int(v), 30);
}

/* A failed search fails the source, which adds nothing. */
static void
test_source_fails(void **state)
{
	struct src_fixture *x = *state;
	int i;

	for (i = 0; i < 4; i++)
		fake_add(SEARCH, 500, NULL, "");
	assert_int_equal(src_gather(x), FS_EHTTP);
	assert_int_equal(x->out.n, 0);
	assert_string_equal(x->err, "jira-field: Jira: 500 at " SEARCH
	    " (gave up after 3 retries)");
	assert_int_equal(json_object_object_length(x->details), 0);

	/* a page after a good one */
	fake_reset();
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"SHOP-1\","
	    "\"fields\":{\"customfield_10050\":\"new_checkout\"}}],"
	    "\"nextPageToken\":\"p2\",\"isLast\":false}");
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"nokey\":1}]}");
	assert_int_equal(src_gather(x), FS_EPROTO);
	assert_int_equal(x->out.n, 0);
	assert_non_null(strstr(x->err, "jira-field: Jira: POST " SEARCH
	    ": malformed answer"));

	fake_reset();
	fake_add(SEARCH, 401, NULL, "");
	assert_int_equal(src_gather(x), FS_EAUTH);
	assert_non_null(strstr(x->err, EMAIL));
	assert_null(strstr(x->err, TOKEN));
}

static void
test_source_no_token(void **state)
{
	struct src_fixture *x = *state;
	char *saved;

	saved = x->cfg->jira_api_token;
	x->cfg->jira_api_token = NULL;
	assert_int_equal(src_gather(x), FS_EAUTH);
	x->cfg->jira_api_token = saved;
	assert_int_equal(nrequests, 0);
	assert_non_null(strstr(x->err, "jira-field: no Jira API token for "
	    EMAIL));
	assert_non_null(strstr(x->err, "api_token_file"));
	assert_non_null(strstr(x->err, "$FLAGSYNC_JIRA_API_TOKEN"));
}

static void
test_source_enabled(void **state)
{
	struct src_fixture *x = *state;
	char *saved;

	assert_true(x->src->enabled(x->cfg));
	saved = x->cfg->jira_field;
	x->cfg->jira_field = NULL;
	assert_false(x->src->enabled(x->cfg));
	x->cfg->jira_field = saved;
}

/* GET /rest/api/3/field, as Atlassian documents it. */
#define FIELDS	SITE "/rest/api/3/field"
static const char field_list[] = "["
    "{\"id\":\"summary\",\"key\":\"summary\",\"name\":\"Summary\","
    "\"custom\":false,\"clauseNames\":[\"summary\"],"
    "\"schema\":{\"type\":\"string\",\"system\":\"summary\"}},"
    "{\"id\":\"labels\",\"key\":\"labels\",\"name\":\"Labels\","
    "\"custom\":false,\"schema\":{\"type\":\"array\"}},"
    "{\"id\":\"customfield_10050\",\"key\":\"customfield_10050\","
    "\"name\":\"Feature flags\",\"custom\":true,"
    "\"clauseNames\":[\"cf[10050]\",\"Feature flags\"],"
    "\"schema\":{\"type\":\"string\",\"customId\":10050}},"
    "{\"id\":\"customfield_10060\",\"key\":\"customfield_10060\","
    "\"name\":\"Twin\",\"custom\":true},"
    "{\"id\":\"customfield_10061\",\"key\":\"customfield_10061\","
    "\"name\":\"Twin\",\"custom\":true},"
    "{\"id\":\"customfield_10070\",\"key\":\"customfield_10070\","
    "\"name\":\"feature Flags\\u001b[2J\",\"custom\":true}"
    "]";

/*
 * A jira_field given by display name: resolved to the field's id through
 * /rest/api/3/field, once for the process; the search asks for the id.
 */
static void
test_source_field_by_name(void **state)
{
	struct src_fixture *x = *state;
	json_object *o, *v;
	char *text;

	src_config_field(x, "Feature flags", "");
	fake_add(FIELDS, 200, NULL, field_list);
	fake_add(SEARCH, 200, NULL, "{\"issues\":[{\"key\":\"SHOP-1\","
	    "\"fields\":{\"customfield_10050\":\"new_checkout\"}}],"
	    "\"isLast\":true}");
	assert_int_equal(src_gather(x), 0);
	assert_int_equal(unexpected, 0);
	assert_int_equal(nrequests, 2);
	assert_string_equal(requests[0].method, "GET");
	assert_string_equal(requests[0].url, FIELDS);
	text = links_text(&x->out);
	assert_string_equal(text, "Default/new_checkout SHOP-1\n");
	free(text);
	o = request_json(1);
	assert_string_equal(json_str(o, "jql"),
	    "cf[10050] is not EMPTY ORDER BY key ASC");
	assert_true(json_object_object_get_ex(o, "fields", &v));
	assert_string_equal(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN), "[\"customfield_10050\"]");
	json_object_put(o);

	/* the next cycle asks Jira for the fields no more */
	fake_reset();
	linkset_release(&x->out);
	linkset_init(&x->out);
	fake_add(SEARCH, 200, NULL, "{\"issues\":[],\"isLast\":true}");
	assert_int_equal(src_gather(x), 0);
	assert_int_equal(nrequests, 1);
	assert_string_equal(requests[0].url, SEARCH);
	assert_int_equal(unexpected, 0);
}

/* A system field's id needs no resolving beyond the list. */
static void
test_source_field_system_id(void **state)
{
	struct src_fixture *x = *state;
	json_object *o;

	src_config_field(x, "labels", "");
	fake_add(FIELDS, 200, NULL, field_list);
	fake_add(SEARCH, 200, NULL, "{\"issues\":[],\"isLast\":true}");
	assert_int_equal(src_gather(x), 0);
	assert_int_equal(unexpected, 0);
	o = request_json(nrequests - 1);
	assert_string_equal(json_str(o, "jql"),
	    "labels is not EMPTY ORDER BY key ASC");
	json_object_put(o);
}

/* Several fields of the name, or none: the source fails, naming them. */
static void
test_source_field_ambiguous_or_unknown(void **state)
{
	struct src_fixture *x = *state;

	src_config_field(x, "Twin", "");
	fake_add(FIELDS, 200, NULL, field_list);
	assert_int_equal(src_gather(x), FS_ECONFIG);
	assert_int_equal(nrequests, 1);		/* no search */
	assert_int_equal(x->out.n, 0);
	assert_non_null(strstr(x->err, "jira-field: "));
	assert_non_null(strstr(x->err, "[links] jira_field"));
	assert_non_null(strstr(x->err, "customfield_10060"));
	assert_non_null(strstr(x->err, "customfield_10061"));

	fake_reset();
	src_config_field(x, "Feature Flags", "");
	fake_add(FIELDS, 200, NULL, field_list);
	assert_int_equal(src_gather(x), FS_ECONFIG);
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(x->err, "[links] jira_field"));
	assert_non_null(strstr(x->err, "\"Feature Flags\""));
	/* the near misses, their names escaped */
	assert_non_null(strstr(x->err, "Feature flags (customfield_10050)"));
	assert_non_null(strstr(x->err, "feature Flags\\x1b[2J "
	    "(customfield_10070)"));
	assert_null(strchr(x->err, '\x1b'));

	/* nothing close: the custom fields there are */
	fake_reset();
	src_config_field(x, "Nothing like it", "");
	fake_add(FIELDS, 200, NULL, field_list);
	assert_int_equal(src_gather(x), FS_ECONFIG);
	assert_non_null(strstr(x->err, "its custom fields: Feature flags "
	    "(customfield_10050), Twin (customfield_10060), Twin "
	    "(customfield_10061), feature Flags\\x1b[2J (customfield_10070)"));

	/* Jira refusing the list fails the source too */
	fake_reset();
	src_config_field(x, "Other name", "");
	fake_add(FIELDS, 500, NULL, "");
	fake_add(FIELDS, 500, NULL, "");
	fake_add(FIELDS, 500, NULL, "");
	fake_add(FIELDS, 500, NULL, "");
	assert_int_equal(src_gather(x), FS_EHTTP);
	assert_non_null(strstr(x->err, "jira-field: "));
	assert_int_equal(x->out.n, 0);
}

/*
 * Names from the field: one too long for a flag or project is skipped and
 * listed, shortened; control characters are escaped and invalid UTF-8
 * becomes U+FFFD in the listing; the other names are used.
 */
static void
test_source_names_checked(void **state)
{
	struct src_fixture *x = *state;
	json_object *v;
	struct buf b;
	char *body, *text, flag[300], project[200];
	size_t n;

	memset(flag, 'f', 256);
	flag[256] = '\0';
	memset(project, 'p', 129);
	project[129] = '\0';
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "{\"issues\":[{\"key\":\"SHOP-1\","
	    "\"fields\":{\"customfield_10050\":[\"%s\",\"Shop/%s\","
	    "\"%s/new_checkout\",\"new_checkout\",\"bad\\u001b[2J\\u0007"
	    "\\rname\",\"caf\xff\\\\\"]}},{\"key\":\"SHOP-%s\","
	    "\"fields\":{\"customfield_10050\":\"new_checkout\"}}],"
	    "\"isLast\":true}", flag, flag, project,
	    "1111111111222222222233333333334444444444555555555566666666667777"), 0);
	body = buf_detach(&b);
	fake_add(SEARCH, 200, NULL, body);
	free(body);
	assert_int_equal(src_gather(x), 0);
	text = links_text(&x->out);
	assert_string_equal(text, "Default/new_checkout SHOP-1\n");
	free(text);
	assert_true(json_object_object_get_ex(x->details, "unmatched", &v));
	n = json_object_array_length(v);
	assert_int_equal(n, 6);
	text = strdup(json_object_to_json_string_ext(x->details,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	assert_non_null(text);
	/* every entry is valid UTF-8 without a control character */
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\x07'));
	assert_null(strstr(text, "\xff"));
	assert_non_null(strstr(text, "\"SHOP-1: bad\\\\x1b[2J\\\\x07\\\\x0dname\""));
	assert_non_null(strstr(text, "\"SHOP-1: caf\xef\xbf\xbd\\\\\\\\\""));
	assert_non_null(strstr(text, "\"SHOP-1: fffff"));
	assert_non_null(strstr(text, "... (a flag name longer than 255 "
	    "bytes)\""));
	assert_non_null(strstr(text, "\"SHOP-1: Shop/fff"));
	assert_non_null(strstr(text, "\"SHOP-1: ppppp"));
	assert_non_null(strstr(text, "... (a project name longer than 128 "
	    "bytes)\""));
	/* an issue key longer than FS_ISSUE_MAX: listed, its links unused */
	assert_non_null(strstr(text, "\"SHOP-1111111111222222222233333333334444"
	    "444444555555555566666666667777 (an issue key longer than 64 bytes)\""));
	/* shortened: no entry quotes the whole name */
	assert_null(strstr(text, flag));
	assert_null(strstr(text, project));
	free(text);
}


/* ---- key searches ------------------------------------------------- */

struct gone_keys {
	char	 keys[8][32];
	size_t	 n;
};

static int
gone_cb(void *arg, const char *key)
{
	struct gone_keys *g = arg;

	assert_true(g->n < 8);
	snprintf(g->keys[g->n++], sizeof(g->keys[0]), "%s", key);
	return 0;
}

static int
gone_issue_cb(void *arg, const char *key, json_object *fields)
{
	(void)arg;
	(void)key;
	(void)fields;
	return 0;
}

/* Jira's 400 for keys it cannot find names each: every wording seen. */
static void
test_search_keys_400_names_keys(void **state)
{
	static const char *const fields[] = { "status" };
	struct fixture *f = *state;
	struct gone_keys g;

	memset(&g, 0, sizeof(g));
	fake_add(SEARCH, 400, NULL, "{\"errorMessages\":[\"An issue with key "
	    "'SHOP-9' does not exist for field 'key'.\",\"The value 'OPS-1' "
	    "does not exist for the field 'key'.\",\"The issue key 'x1' for "
	    "field 'key' is invalid.\",\"Something else.\"],\"errors\":{}}");
	assert_int_equal(jira_search_keys(f->jc, "key in (SHOP-9, OPS-1, x1)",
	    fields, 1, gone_issue_cb, gone_cb, &g, f->err, sizeof(f->err)),
	    FS_ENOTFOUND);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.keys[0], "SHOP-9");
	assert_string_equal(g.keys[1], "OPS-1");
	assert_string_equal(g.keys[2], "x1");
	assert_int_equal(nrequests, 1);	/* a 400 is not retried */

	/* a 400 about something else is the search's failure */
	memset(&g, 0, sizeof(g));
	fake_add(SEARCH, 400, NULL, "{\"errorMessages\":[\"Error in the JQL "
	    "Query: 'x' (line 1, character 2).\"],\"errors\":{}}");
	assert_int_equal(jira_search_keys(f->jc, "key in (SHOP-1)", fields, 1,
	    gone_issue_cb, gone_cb, &g, f->err, sizeof(f->err)), FS_EHTTP);
	assert_int_equal(g.n, 0);
	assert_non_null(strstr(f->err, "Jira: 400 at"));
	/* and so is a 404, however its body reads */
	fake_add(SEARCH, 404, NULL, "{\"errorMessages\":[\"An issue with key "
	    "'SHOP-9' does not exist for field 'key'.\"]}");
	assert_int_equal(jira_search_keys(f->jc, "key in (SHOP-9)", fields, 1,
	    gone_issue_cb, gone_cb, &g, f->err, sizeof(f->err)), FS_EHTTP);
	assert_int_equal(g.n, 0);	/* a 404 names no key: not gone */
	assert_int_equal(unexpected, 0);
}

#define JIRA_TEST(fn)	cmocka_unit_test_setup_teardown(fn, client_setup, \
	client_teardown)
#define SRC_TEST(fn)	cmocka_unit_test_setup_teardown(fn, src_setup, \
	src_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		JIRA_TEST(test_request_shape),
		JIRA_TEST(test_search_keys_400_names_keys),
		cmocka_unit_test(test_gateway_url),
		JIRA_TEST(test_error_body_formatting),
		JIRA_TEST(test_error_body_invalid_utf8),
		JIRA_TEST(test_401_names_email_not_token),
		JIRA_TEST(test_403_names_email),
		JIRA_TEST(test_malformed_2xx),
		JIRA_TEST(test_429_waits_retry_after),
		cmocka_unit_test(test_429_backoff_without_retry_after),
		JIRA_TEST(test_429_gives_up),
		JIRA_TEST(test_429_retry_after_too_long),
		JIRA_TEST(test_503_retry_after),
		JIRA_TEST(test_5xx_three_retries),
		JIRA_TEST(test_timeouts_and_network),
		JIRA_TEST(test_search_pages),
		JIRA_TEST(test_search_without_is_last),
		JIRA_TEST(test_search_repeated_token),
		JIRA_TEST(test_search_is_last_false_no_token),
		JIRA_TEST(test_error_body_echoes_credentials),
		JIRA_TEST(test_search_wrong_shapes),
		JIRA_TEST(test_search_callback_stops),
		JIRA_TEST(test_search_canceled),
		cmocka_unit_test(test_field_jql),
		cmocka_unit_test(test_field_value_shapes),
		cmocka_unit_test(test_field_names_stop),
		SRC_TEST(test_source_links_and_unmatched),
		SRC_TEST(test_source_without_jql),
		SRC_TEST(test_source_without_changeset),
		SRC_TEST(test_source_unmatched_capped),
		SRC_TEST(test_source_fails),
		SRC_TEST(test_source_no_token),
		SRC_TEST(test_source_enabled),
		SRC_TEST(test_source_field_by_name),
		SRC_TEST(test_source_field_system_id),
		SRC_TEST(test_source_field_ambiguous_or_unknown),
		SRC_TEST(test_source_names_checked),
	};

	log_init("jira_test", LOG_ERR);
	fake_forget_options();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
