/*
 * split_test.c - the Split client and the HTTP layer against a fake curl.
 *
 * The program is linked with -Wl,--wrap for curl_easy_setopt,
 * curl_easy_perform and curl_easy_getinfo: setopt records what http.c
 * configures (and forwards to the real libcurl, so bad options still
 * fail), perform answers from a script keyed by URL through the very
 * callbacks http.c installed, and getinfo reports the scripted status.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "error.h"
#include "http.h"
#include "log.h"
#include "maxlen.h"
#include "split.h"

#define API	"http://split.test/internal/api/v2"
#define KEY	"sk-SECRET-0123456789"
#define NFAKE	128

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
	char	*curl_err;	/* what curl would put in its error buffer */
	int	 cancel;	/* raise the cancel flag mid-transfer */
	int	 used;
};

/* What one perform saw of the handle's configuration. */
struct fake_request {
	char	*url;
	char	*headers;	/* request header lines, "\n"-joined */
	char	*user_agent;
	char	*protocols;
	int	 cainfo_set;
	long	 verifypeer, verifyhost, follow, timeout, ctimeout;
	long	 nosignal, noprogress;
	char	*method;	/* "GET", "POST", or CURLOPT_CUSTOMREQUEST */
	char	*body;		/* CURLOPT_POSTFIELDS, or NULL */
};

/* Options set since the last perform (http.c resets the handle). */
static struct {
	char	*url;
	char	*user_agent;
	char	*protocols;
	int	 cainfo_set;
	curl_write_callback wfn;
	void	*wdata;
	curl_write_callback hfn;
	void	*hdata;
	curl_xferinfo_callback xfn;
	void	*xdata;
	struct curl_slist *hdrs;
	char	*errbuf;
	long	 verifypeer, verifyhost, follow, timeout, ctimeout;
	long	 nosignal, noprogress;
	char	*customrequest;
	char	*postfields;
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
	case CURLOPT_USERAGENT:
		fake_capture_string(&fc.user_agent, p);
		break;
#if LIBCURL_VERSION_NUM >= 0x075500
	case CURLOPT_PROTOCOLS_STR:
		fake_capture_string(&fc.protocols, p);
		break;
#endif
	case CURLOPT_CAINFO:
		fc.cainfo_set = 1;
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
	case CURLOPT_ERRORBUFFER:
		fc.errbuf = p;
		break;
	case CURLOPT_CUSTOMREQUEST:
		fake_capture_string(&fc.customrequest, p);
		break;
	case CURLOPT_POSTFIELDS:
		fake_capture_string(&fc.postfields, p);
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
	case CURLOPT_FOLLOWLOCATION:
		fc.follow = v;
		break;
	case CURLOPT_TIMEOUT:
		fc.timeout = v;
		break;
	case CURLOPT_CONNECTTIMEOUT:
		fc.ctimeout = v;
		break;
	case CURLOPT_NOSIGNAL:
		fc.nosignal = v;
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
	va_list ap;
	CURLcode cc;
	long l;
	void *p;
	curl_off_t off;
	curl_write_callback wfn;
	curl_xferinfo_callback xfn;

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
		/* No other callback is expected from http.c. */
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
	buf_init(&b, 0);
	for (l = fc.hdrs; l != NULL; l = l->next)
		assert_int_equal(buf_printf(&b, "%s\n", l->data), 0);
	q->headers = buf_detach(&b);
	q->user_agent = xstrdup(fc.user_agent);
	q->protocols = xstrdup(fc.protocols);
	q->cainfo_set = fc.cainfo_set;
	q->verifypeer = fc.verifypeer;
	q->verifyhost = fc.verifyhost;
	q->follow = fc.follow;
	q->timeout = fc.timeout;
	q->ctimeout = fc.ctimeout;
	q->nosignal = fc.nosignal;
	q->noprogress = fc.noprogress;
	q->method = xstrdup(fc.customrequest ? fc.customrequest :
	    fc.postfields ? "POST" : "GET");
	q->body = xstrdup(fc.postfields);
}

/* Forgets the options: the next request must set them again. */
static void
fake_forget_options(void)
{
	free(fc.url);
	free(fc.user_agent);
	free(fc.protocols);
	free(fc.customrequest);
	free(fc.postfields);
	memset(&fc, 0, sizeof(fc));
	fc.verifypeer = fc.verifyhost = fc.follow = -1;
	fc.timeout = fc.ctimeout = fc.nosignal = fc.noprogress = -1;
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

/* Feeds the header block line by line, as curl does. */
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

/* Sends the body in 1000-byte pieces, as a network would. */
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
		if (a->curl_err && fc.errbuf)
			snprintf(fc.errbuf, CURL_ERROR_SIZE, "%s", a->curl_err);
		cc = a->cc;
		goto done;
	}
	if (a->cancel)
		cancel_flag = 1;
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
fake_add_cc(const char *url, CURLcode cc, const char *curl_err)
{
	struct fake_answer *a;

	a = fake_add(url, 0, NULL, NULL);
	a->cc = cc;
	a->curl_err = xstrdup(curl_err);
}

static void
fake_reset(void)
{
	size_t i;

	for (i = 0; i < nanswers; i++) {
		free(answers[i].url);
		free(answers[i].headers);
		free(answers[i].body);
		free(answers[i].curl_err);
	}
	for (i = 0; i < nrequests; i++) {
		free(requests[i].url);
		free(requests[i].headers);
		free(requests[i].user_agent);
		free(requests[i].protocols);
		free(requests[i].method);
		free(requests[i].body);
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

/* ---- fixtures ---------------------------------------------------- */

struct fixture {
	struct split_client *sc;
	char	 err[1024];
};

static int
client_setup_opts(void **state, size_t max_body, int timeout)
{
	struct split_options o;
	struct fixture *f;

	fake_reset();
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	memset(&o, 0, sizeof(o));
	o.api_url = API "/";	/* the trailing slash must not double */
	o.admin_key = KEY;
	o.timeout = timeout;
	o.max_body = max_body;
	o.backoff_base_ms = 1;
	o.cancel = &cancel_flag;
	if (split_client_create(&f->sc, &o) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
client_setup(void **state)
{
	return client_setup_opts(state, 0, 5);
}

/* timeout = 30 s: a 60 s wait fits the 90 s budget. */
static int
client_setup_t30(void **state)
{
	return client_setup_opts(state, 0, 30);
}

/* timeout = 1 s: a request may wait out 429s for 3 s in all. */
static int
client_setup_t1(void **state)
{
	return client_setup_opts(state, 0, 1);
}

static int
client_setup_small(void **state)
{
	return client_setup_opts(state, 1000, 5);
}

static int
fake_teardown(void **state)
{
	(void)state;
	fake_reset();
	return 0;
}

static int
client_teardown(void **state)
{
	struct fixture *f = *state;

	split_client_free(f->sc);
	free(f);
	fake_reset();
	return 0;
}

/* ---- page builders ----------------------------------------------- */

/* Flags start .. start+n-1; descriptions cycle null / text / absent. */
static char *
flags_page(int start, int n, int total)
{
	struct buf b;
	int i, k;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "{\"objects\":["), 0);
	for (i = 0; i < n; i++) {
		k = start + i;
		assert_int_equal(buf_printf(&b, "%s{\"id\":\"id-%d\","
		    "\"name\":\"flag_%d\",%s\"creationTime\":%lld,"
		    "\"tags\":[{\"name\":\"SHOP-%d\"},{\"name\":\"t%d\"}]}",
		    i ? "," : "", k, k, k % 3 == 0 ? "\"description\":null," :
		    k % 3 == 1 ? "\"description\":\"see SHOP-1\"," : "",
		    1700000000000LL + k, k, k), 0);
	}
	assert_int_equal(buf_printf(&b, "],\"offset\":%d,\"limit\":50,"
	    "\"totalCount\":%d}", start, total), 0);
	return buf_detach(&b);
}

static void
fake_add_flags_page(const char *url, int start, int n, int total)
{
	char *body = flags_page(start, n, total);

	fake_add(url, 200, "Content-Type: application/json\r\n", body);
	free(body);
}

static int
page_url_is(size_t i, const char *want)
{
	return i < nrequests && strcmp(requests[i].url, want) == 0;
}

/* ---- callbacks --------------------------------------------------- */

struct flag_seen {
	int	 n;
	int	 stop_at;	/* return 42 on this flag (1-based), 0 never */
	int	 order_ok;
	char	 tag0[32], tag1[32];	/* of flag_7 */
	size_t	 ntags7;
	char	 desc0[32], desc1[32], desc2[32];
	int64_t	 ctime7;
};

static int
flag_cb(void *arg, const struct split_flag *fl)
{
	struct flag_seen *s = arg;
	char want[32];

	snprintf(want, sizeof(want), "flag_%d", s->n);
	if (strcmp(fl->name, want) != 0)
		s->order_ok = 0;
	if (s->n == 7) {
		s->ntags7 = fl->ntags;
		if (fl->ntags == 2) {
			snprintf(s->tag0, sizeof(s->tag0), "%s", fl->tags[0]);
			snprintf(s->tag1, sizeof(s->tag1), "%s", fl->tags[1]);
		}
		s->ctime7 = fl->creation_time;
	}
	if (s->n == 0)
		snprintf(s->desc0, sizeof(s->desc0), "%s", fl->description);
	if (s->n == 1)
		snprintf(s->desc1, sizeof(s->desc1), "%s", fl->description);
	if (s->n == 2)
		snprintf(s->desc2, sizeof(s->desc2), "%s", fl->description);
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

struct def_seen {
	int	 n;
	int	 killed;
	char	 last[32];
};

static int
def_cb(void *arg, json_object *def)
{
	struct def_seen *s = arg;
	json_object *v;

	s->n++;
	if (json_object_object_get_ex(def, "killed", &v) &&
	    json_object_get_boolean(v))
		s->killed++;
	if (json_object_object_get_ex(def, "name", &v))
		snprintf(s->last, sizeof(s->last), "%s",
		    json_object_get_string(v));
	return 0;
}

static char *
run_flags(struct fixture *f, int *rc, struct flag_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->order_ok = 1;
	*rc = split_list_flags(f->sc, "ws1", "Shop", flag_cb, s, f->err,
	    sizeof(f->err));
	return f->err;
}

/* ---- workspaces and environments --------------------------------- */

static void
test_workspace_exact_match(void **state)
{
	struct fixture *f = *state;
	char *ws = NULL;

	fake_add(API "/workspaces?offset=0&limit=50&name=Shop", 200, NULL,
	    "{\"objects\":[{\"id\":\"w1\",\"name\":\"Shop Beta\"},"
	    "{\"id\":\"w2\",\"name\":\"shop\"},"
	    "{\"id\":\"w3\",\"name\":\"Shop\"},"
	    "{\"id\":\"w4\",\"name\":\"Shop2\"}],"
	    "\"offset\":0,\"limit\":50,\"totalCount\":4}");
	assert_int_equal(split_resolve_workspace(f->sc, "Shop", &ws, f->err,
	    sizeof(f->err)), 0);
	assert_string_equal(ws, "w3");
	assert_int_equal(unexpected, 0);
	assert_int_equal(split_request_count(f->sc), 1);
	free(ws);
}

static void
test_workspace_second_page_escaped(void **state)
{
	struct fixture *f = *state;
	struct buf b;
	char *ws = NULL, *body;
	int i;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "{\"objects\":["), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(buf_printf(&b, "%s{\"id\":\"x%d\","
		    "\"name\":\"My Shop %d\"}", i ? "," : "", i, i), 0);
	assert_int_equal(buf_puts(&b, "],\"totalCount\":51}"), 0);
	body = buf_detach(&b);
	fake_add(API "/workspaces?offset=0&limit=50&name=My%20Shop%2F%C3%A9",
	    200, NULL, body);
	free(body);
	fake_add(API "/workspaces?offset=50&limit=50&name=My%20Shop%2F%C3%A9",
	    200, NULL, "{\"objects\":[{\"id\":\"w9\","
	    "\"name\":\"My Shop/\xc3\xa9\"}],\"totalCount\":51}");
	assert_int_equal(split_resolve_workspace(f->sc, "My Shop/\xc3\xa9",
	    &ws, f->err, sizeof(f->err)), 0);
	assert_string_equal(ws, "w9");
	assert_int_equal(nrequests, 2);
	assert_int_equal(unexpected, 0);
	free(ws);
}

static void
test_workspace_not_found(void **state)
{
	struct fixture *f = *state;
	char *ws = (char *)"untouched";

	fake_add(API "/workspaces?offset=0&limit=50&name=Shop", 200, NULL,
	    "{\"objects\":[{\"id\":\"w2\",\"name\":\"shop\"}],"
	    "\"totalCount\":1}");
	assert_int_equal(split_resolve_workspace(f->sc, "Shop", &ws, f->err,
	    sizeof(f->err)), FS_ENOTFOUND);
	assert_null(ws);
	assert_non_null(strstr(f->err, "project 'Shop' not found"));
	assert_non_null(strstr(f->err, "project view permissions"));
	assert_non_null(strstr(f->err, "Split has 'shop'"));
	assert_null(strstr(f->err, KEY));
}

static void
env_setup_answer(void)
{
	fake_add(API "/environments/ws/w3", 200, NULL,
	    "[{\"id\":\"e1\",\"name\":\"Production\",\"production\":true},"
	    "{\"id\":\"e2\",\"name\":\"Staging\",\"production\":false}]");
}

static void
test_environment_by_name(void **state)
{
	struct fixture *f = *state;
	char *id = NULL, *name = NULL;

	env_setup_answer();
	assert_int_equal(split_resolve_environment(f->sc, "w3", "Shop",
	    "Staging", &id, &name, f->err, sizeof(f->err)), 0);
	assert_string_equal(id, "e2");
	assert_string_equal(name, "Staging");
	assert_int_equal(unexpected, 0);
	free(id);
	free(name);
}

static void
test_environment_by_id(void **state)
{
	struct fixture *f = *state;
	char *id = NULL, *name = NULL;

	env_setup_answer();
	assert_int_equal(split_resolve_environment(f->sc, "w3", "Shop", "e1",
	    &id, &name, f->err, sizeof(f->err)), 0);
	assert_string_equal(id, "e1");
	assert_string_equal(name, "Production");
	free(id);
	free(name);
}

static void
test_environment_not_found(void **state)
{
	struct fixture *f = *state;
	char *id = NULL, *name = NULL;

	env_setup_answer();
	assert_int_equal(split_resolve_environment(f->sc, "w3", "Shop",
	    "production", &id, &name, f->err, sizeof(f->err)), FS_ENOTFOUND);
	assert_null(id);
	assert_null(name);
	assert_non_null(strstr(f->err, "environment 'production'"));
	assert_non_null(strstr(f->err, "project 'Shop'"));
	assert_non_null(strstr(f->err, "Production, Staging"));
}

static void
test_environment_not_array(void **state)
{
	struct fixture *f = *state;
	char *id = NULL, *name = NULL;

	fake_add(API "/environments/ws/w3", 200, NULL,
	    "{\"objects\":[],\"totalCount\":0}");
	assert_int_equal(split_resolve_environment(f->sc, "w3", "Shop", "e1",
	    &id, &name, f->err, sizeof(f->err)), FS_EPROTO);
	assert_null(id);
	assert_non_null(strstr(f->err, "GET " API "/environments/ws/w3: "
	    "malformed answer"));
}

/* ---- paging ------------------------------------------------------ */

static void
test_flags_three_pages(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 50, 120);
	fake_add_flags_page(API "/splits/ws/ws1?offset=50&limit=50", 50, 50,
	    120);
	fake_add_flags_page(API "/splits/ws/ws1?offset=100&limit=50", 100, 20,
	    120);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 120);
	assert_true(s.order_ok);
	assert_int_equal(s.ntags7, 2);
	assert_string_equal(s.tag0, "SHOP-7");
	assert_string_equal(s.tag1, "t7");
	assert_int_equal(s.ctime7, 1700000000007LL);
	assert_string_equal(s.desc0, "");		/* null */
	assert_string_equal(s.desc1, "see SHOP-1");
	assert_string_equal(s.desc2, "");		/* absent */
	assert_int_equal(nrequests, 3);
	assert_true(page_url_is(0, API "/splits/ws/ws1?offset=0&limit=50"));
	assert_true(page_url_is(1, API "/splits/ws/ws1?offset=50&limit=50"));
	assert_true(page_url_is(2, API "/splits/ws/ws1?offset=100&limit=50"));
	assert_int_equal(split_request_count(f->sc), 3);
	assert_int_equal(unexpected, 0);
}

/* A server that serves fewer than asked (20 a page) is followed. */
static void
test_short_pages(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 20, 45);
	fake_add_flags_page(API "/splits/ws/ws1?offset=20&limit=50", 20, 20,
	    45);
	fake_add_flags_page(API "/splits/ws/ws1?offset=40&limit=50", 40, 5, 45);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 45);
	assert_true(s.order_ok);
	assert_int_equal(nrequests, 3);
	assert_int_equal(unexpected, 0);
}

static void
test_definitions_pages(void **state)
{
	struct fixture *f = *state;
	struct def_seen s;
	struct buf b;
	char *body;
	int i;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "{\"objects\":["), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(buf_printf(&b, "%s{\"name\":\"d%d\","
		    "\"killed\":%s,\"treatments\":[{\"name\":\"on\"}]}",
		    i ? "," : "", i, i % 10 == 0 ? "true" : "false"), 0);
	assert_int_equal(buf_puts(&b, "],\"offset\":0,\"limit\":50,"
	    "\"totalCount\":51}"), 0);
	body = buf_detach(&b);
	fake_add(API "/splits/ws/w3/environments/e1?offset=0&limit=50", 200,
	    NULL, body);
	free(body);
	fake_add(API "/splits/ws/w3/environments/e1?offset=50&limit=50", 200,
	    NULL, "{\"objects\":[{\"name\":\"d50\",\"killed\":true}],"
	    "\"offset\":50,\"limit\":50,\"totalCount\":51}");
	memset(&s, 0, sizeof(s));
	assert_int_equal(split_list_definitions(f->sc, "w3", "Shop", "e1",
	    def_cb, &s, f->err, sizeof(f->err)), 0);
	assert_int_equal(s.n, 51);
	assert_int_equal(s.killed, 6);
	assert_string_equal(s.last, "d50");
	assert_int_equal(nrequests, 2);
	assert_int_equal(unexpected, 0);
}

static void
test_empty_listing(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200, NULL,
	    "{\"objects\":[],\"offset\":0,\"limit\":50,\"totalCount\":0}");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(nrequests, 1);
}

static void
test_total_count_drift(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 50, 60);
	fake_add_flags_page(API "/splits/ws/ws1?offset=50&limit=50", 50, 11,
	    61);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EPROTO);
	assert_non_null(strstr(f->err, "totalCount changed from 60 to 61"));
	assert_non_null(strstr(f->err, "offset=50"));
}

static void
test_empty_page_before_total(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 50, 60);
	fake_add(API "/splits/ws/ws1?offset=50&limit=50", 200, NULL,
	    "{\"objects\":[],\"totalCount\":60}");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EPROTO);
	assert_non_null(strstr(f->err, "empty page"));
	assert_int_equal(nrequests, 2);
}

static void
test_malformed_json(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200, NULL,
	    "{\"objects\":[{\"id\":\"a\",\"name\":\"b\"}");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EPROTO);
	assert_non_null(strstr(f->err, "GET " API
	    "/splits/ws/ws1?offset=0&limit=50: malformed answer"));
	assert_int_equal(s.n, 0);
	/* Malformed answers are not retried. */
	assert_int_equal(nrequests, 1);
}

static void
test_wrong_shapes(void **state)
{
	static const char *const bodies[] = {
		"{\"objects\":{},\"totalCount\":1}",
		"{\"objects\":[],\"totalCount\":\"1\"}",
		"{\"objects\":[]}",
		"[1,2]",
		"{\"objects\":[{\"id\":\"a\"}],\"totalCount\":1}",
		"{\"objects\":[{\"id\":5,\"name\":\"b\"}],\"totalCount\":1}",
		"{\"objects\":[],\"totalCount\":0} trailing",
		"{\"objects\":[],\"totalCount\":0,}",	/* strict JSON */
		"",
	};
	struct fixture *f = *state;
	struct flag_seen s;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200, NULL,
		    bodies[i]);
		run_flags(f, &rc, &s);
		assert_int_equal(rc, FS_EPROTO);
		assert_non_null(strstr(f->err, "malformed answer"));
		assert_int_equal(s.n, 0);
	}
}

/*
 * Bodies json-c reads in its own way keep json-c's words (the page
 * scanner leaves them to it): a bare null, a number or literal that ends
 * the text.  fuzz_split_defs found the first reading differently.
 */
static void
test_bare_values(void **state)
{
	static const struct {
		const char *body, *why;
	} cases[] = {
		{ " null \r\n", "malformed answer: null instead of a JSON "
		    "object or array" },
		{ "0", "malformed answer: empty or truncated JSON" },
		{ "true", "malformed answer: empty or truncated JSON" },
		{ "5 ", "malformed answer: no 'objects' array" },
	};
	struct fixture *f = *state;
	struct flag_seen s;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200, NULL,
		    cases[i].body);
		run_flags(f, &rc, &s);
		assert_int_equal(rc, FS_EPROTO);
		if (strstr(f->err, cases[i].why) == NULL)
			fail_msg("%s: %s", cases[i].body, f->err);
	}
}

/* ---- hostile answers --------------------------------------------- */

/* More objects than limit: not the page asked for, nothing is taken. */
static void
test_page_over_limit(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 51, 51);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EPROTO);
	assert_non_null(strstr(f->err, "51 objects on a page of at most 50"));
	assert_non_null(strstr(f->err, API "/splits/ws/ws1?offset=0"));
	assert_int_equal(s.n, 0);
}

/* totalCount lower than what the page holds would end paging early. */
static void
test_total_below_objects(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 50, 3);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EPROTO);
	assert_non_null(strstr(f->err, "beyond totalCount 3"));
	assert_int_equal(s.n, 0);

	/* on a later page as well */
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 50, 60);
	fake_add_flags_page(API "/splits/ws/ws1?offset=50&limit=50", 50, 20,
	    60);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EPROTO);
	assert_non_null(strstr(f->err, "20 objects at offset 50, beyond "
	    "totalCount 60"));
}

static void
test_429_zero_reset_waits_a_second(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int64_t t0, dt;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 429,
	    "X-RateLimit-Reset-Seconds-Org: 0\r\n"
	    "X-RateLimit-Reset-Seconds-IP: 0\r\n", "{}");
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 2, 2);
	t0 = now_ms();
	run_flags(f, &rc, &s);
	dt = now_ms() - t0;
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(nrequests, 2);
	assert_true(dt >= 999);
}

/* timeout 1 s: 429s are waited out for 3 s at most, not 10 times. */
static void
test_429_total_wait_bounded(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int64_t t0, dt;
	int i, rc;

	for (i = 0; i < SPLIT_MAX_429 + 1; i++)
		fake_add(API "/splits/ws/ws1?offset=0&limit=50", 429,
		    "X-RateLimit-Reset-Seconds-Org: 1\r\n", "{}");
	t0 = now_ms();
	run_flags(f, &rc, &s);
	dt = now_ms() - t0;
	assert_int_equal(rc, FS_ERATELIMIT);
	assert_int_equal(nrequests, 4);
	assert_true(dt >= 2990);
	assert_true(dt < 4500);
	assert_non_null(strstr(f->err, "429"));
	assert_non_null(strstr(f->err, "3000 ms"));
}

/* A redirect is not followed and names where it pointed. */
static void
test_redirect_not_followed(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 302,
	    "Location: http://user:pw@evil.test:8080/steal?x=1\r\n", "");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EHTTP);
	assert_int_equal(nrequests, 1);
	assert_int_equal(requests[0].follow, 0);
	assert_non_null(strstr(f->err, "HTTP 302 redirect to host "
	    "'evil.test:8080' not followed"));
	assert_non_null(strstr(f->err, API "/splits/ws/ws1?offset=0"));
	assert_null(strstr(f->err, "pw"));
	assert_null(strstr(f->err, KEY));

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 307,
	    "Location: /elsewhere\r\n", "");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EHTTP);
	assert_non_null(strstr(f->err, "307 redirect to the same host"));
}

/* 100,000 levels of nesting end early, without blowing the stack. */
static void
test_deep_nesting(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	struct buf b;
	char *body;
	int64_t t0;
	int i, rc;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "{\"objects\":"), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, '['), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, ']'), 0);
	assert_int_equal(buf_puts(&b, ",\"totalCount\":1}"), 0);
	body = buf_detach(&b);
	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200, NULL, body);
	free(body);
	t0 = now_ms();
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EPROTO);
	assert_true(now_ms() - t0 < 2000);
	assert_non_null(strstr(f->err, "malformed answer"));
	assert_non_null(strstr(f->err, "too deep"));
}

struct utf8_seen {
	int	 n;
	char	 name[64], desc[64], tag[64];
};

static int
utf8_cb(void *arg, const struct split_flag *fl)
{
	struct utf8_seen *u = arg;

	u->n++;
	snprintf(u->name, sizeof(u->name), "%s", fl->name);
	snprintf(u->desc, sizeof(u->desc), "%s", fl->description);
	if (fl->ntags)
		snprintf(u->tag, sizeof(u->tag), "%s", fl->tags[0]);
	return 0;
}

/* Invalid UTF-8 becomes U+FFFD; valid text and controls stay as sent. */
static void
test_invalid_utf8_replaced(void **state)
{
	struct fixture *f = *state;
	struct utf8_seen u;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200, NULL,
	    "{\"objects\":[{\"id\":\"i\",\"name\":\"bad\xff\","
	    "\"description\":\"caf\xc3 \xc3\xa9 \xed\xa0\x80 \xc0\xaf\\u0007\","
	    "\"tags\":[{\"name\":\"t\xe2\x82\"}]}],\"totalCount\":1}");
	memset(&u, 0, sizeof(u));
	assert_int_equal(split_list_flags(f->sc, "ws1", "Shop", utf8_cb, &u,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.name, "bad\xef\xbf\xbd");
	assert_string_equal(u.desc, "caf\xef\xbf\xbd \xc3\xa9 "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\x07");
	assert_string_equal(u.tag, "t\xef\xbf\xbd\xef\xbf\xbd");
}

struct invalid_seen {
	int	 n, ninvalid;
	char	 why[128], name[32];
};

static int
invalid_cb(void *arg, const struct split_flag *fl)
{
	struct invalid_seen *v = arg;

	v->n++;
	if (fl->invalid) {
		v->ninvalid++;
		snprintf(v->why, sizeof(v->why), "%s", fl->invalid);
		snprintf(v->name, sizeof(v->name), "%s", fl->name);
		assert_int_equal(fl->ntags, 0);
	}
	return 0;
}

/* A wrong-typed field fails its flag, not the listing. */
static void
test_wrong_typed_flag_field(void **state)
{
	static const char *const fields[] = {
		"\"description\":5", "\"creationTime\":\"x\"",
		"\"tags\":{}", "\"tags\":[{\"name\":[1]}]",
	};
	static const char *const words[] = {
		"'description' is not a string",
		"'creationTime' is not a number",
		"'tags' is not an array", "a tag without a string 'name'",
	};
	struct fixture *f = *state;
	struct invalid_seen v;
	char body[256];
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(body, sizeof(body), "{\"objects\":[{\"id\":\"1\","
		    "\"name\":\"good\"},{\"id\":\"2\",\"name\":\"bad\",%s}],"
		    "\"totalCount\":2}", fields[i]);
		fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200, NULL,
		    body);
		memset(&v, 0, sizeof(v));
		assert_int_equal(split_list_flags(f->sc, "ws1", "Shop",
		    invalid_cb, &v, f->err, sizeof(f->err)), 0);
		assert_int_equal(v.n, 2);
		assert_int_equal(v.ninvalid, 1);
		assert_string_equal(v.name, "bad");
		assert_string_equal(v.why, words[i]);
	}
}

/* One flag's fields as split_list_flags() gave them. */
struct entry_seen {
	int	 n;
	char	 text[512];
};

static int
entry_cb(void *arg, const struct split_flag *fl)
{
	struct entry_seen *e = arg;
	size_t i, len;

	e->n++;
	len = (size_t)snprintf(e->text, sizeof(e->text), "%s|%s|%s|%lld|%s|",
	    fl->id, fl->name, fl->description, (long long)fl->creation_time,
	    fl->invalid ? fl->invalid : "-");
	for (i = 0; i < fl->ntags && len < sizeof(e->text); i++)
		len += (size_t)snprintf(e->text + len, sizeof(e->text) - len,
		    "%s,", fl->tags[i]);
	return 0;
}

/*
 * A key given twice reads as json-c reads it (its last value), and keys
 * of the same lengths as the ones read are not taken for them; the same
 * whether the page is scanned or (with a fraction in it, which the
 * scanner leaves to json-c) parsed by json-c.
 */
static void
test_flag_fields_twice(void **state)
{
	static const struct {
		const char *fields, *want;
	} c[] = {
		{ "\"id\":\"1\",\"name\":\"a\",\"id\":\"2\",\"name\":\"b\"",
		    "2|b||0|-|" },
		{ "\"ix\":\"9\",\"id\":\"1\",\"nama\":\"z\",\"name\":\"a\","
		    "\"tagz\":[{\"name\":\"q\"}],\"descriptioN\":\"no\","
		    "\"creationTimE\":5", "1|a||0|-|" },
		{ "\"id\":\"1\",\"name\":\"a\",\"description\":5,"
		    "\"description\":\"ok\"", "1|a|ok|0|-|" },
		{ "\"id\":\"1\",\"name\":\"a\",\"description\":\"ok\","
		    "\"description\":5", "1|a||0|'description' is not a string|" },
		{ "\"id\":\"1\",\"name\":\"a\",\"creationTime\":\"x\","
		    "\"creationTime\":7,\"description\":null",
		    "1|a||7|-|" },
		{ "\"tags\":[{\"name\":\"t1\"}],\"id\":\"1\",\"name\":\"a\","
		    "\"tags\":[{\"name\":\"t2\"},{\"name\":\"t3\"}]",
		    "1|a||0|-|t2,t3," },
		{ "\"tags\":[{\"name\":\"t1\"}],\"id\":\"1\",\"name\":\"a\","
		    "\"tags\":null", "1|a||0|-|" },
	};
	struct fixture *f = *state;
	struct entry_seen e;
	char body[512];
	size_t i, json_c;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (json_c = 0; json_c < 2; json_c++) {
			snprintf(body, sizeof(body), "{\"objects\":[{%s}],"
			    "\"totalCount\":1%s}", c[i].fields,
			    json_c ? ",\"x\":1.5" : "");
			fake_add(API "/splits/ws/ws1?offset=0&limit=50", 200,
			    NULL, body);
			memset(&e, 0, sizeof(e));
			assert_int_equal(split_list_flags(f->sc, "ws1",
			    "Shop", entry_cb, &e, f->err, sizeof(f->err)), 0);
			assert_int_equal(e.n, 1);
			assert_string_equal(e.text, c[i].want);
		}
}

/* ---- retries and errors ------------------------------------------ */

static void
test_429_waits_for_reset(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int64_t t0, dt;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 429,
	    "X-RateLimit-Remaining-Org: 0\r\n"
	    "x-ratelimit-reset-seconds-org: 0.2\r\n"
	    "X-RateLimit-Reset-Seconds-IP:  0.35 \r\n", "{}");
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 2, 2);
	t0 = now_ms();
	run_flags(f, &rc, &s);
	dt = now_ms() - t0;
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(nrequests, 2);
	/* max(Org, IP), not the first nor the smaller one */
	assert_true(dt >= 345);
	assert_true(dt < 3000);
}

static void
test_429_without_headers_backs_off(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 429,
	    "X-RateLimit-Reset-Seconds-Org: soon\r\n", "{}");
	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 429, NULL, "{}");
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 1, 1);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(nrequests, 3);
}

static void
test_429_gives_up(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int i, rc;

	/* No reset header: backoff from 1 ms, well inside the budget. */
	for (i = 0; i < SPLIT_MAX_429 + 1; i++)
		fake_add(API "/splits/ws/ws1?offset=0&limit=50", 429, NULL,
		    "{}");
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 1, 1);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_ERATELIMIT);
	assert_int_equal(nrequests, SPLIT_MAX_429 + 1);
	assert_non_null(strstr(f->err, "429"));
}

static void *
cancel_later(void *arg)
{
	struct timespec ts = { 0, 150 * 1000000L };

	(void)arg;
	nanosleep(&ts, NULL);
	cancel_flag = 1;
	return NULL;
}

/* Reads what log lines went to stderr while fn ran. */
static char *
capture_stderr(void (*fn)(void *), void *arg)
{
	char dir[] = "/tmp/split_test.XXXXXX", path[64];
	char *text;
	FILE *fp;
	long n;
	int fd, saved;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_true(dup2(fd, 2) >= 0);
	close(fd);
	fn(arg);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	assert_non_null(fp = fopen(path, "r"));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(text = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	unlink(path);
	rmdir(dir);
	return text;
}

struct cancel_run {
	struct fixture *f;
	int	 rc;
	int64_t	 ms;
};

static void
run_flags_cancelled(void *arg)
{
	struct cancel_run *cr = arg;
	struct flag_seen s;
	pthread_t t;
	int64_t t0;

	assert_int_equal(pthread_create(&t, NULL, cancel_later, NULL), 0);
	t0 = now_ms();
	run_flags(cr->f, &cr->rc, &s);
	cr->ms = now_ms() - t0;
	pthread_join(t, NULL);
}

static void
test_429_wait_capped_and_cancellable(void **state)
{
	struct cancel_run cr;
	char *log;

	cr.f = *state;
	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 429,
	    "X-RateLimit-Reset-Seconds-Org: 100000\r\n", "{}");
	log_set_level(LOG_INFO);
	log = capture_stderr(run_flags_cancelled, &cr);
	log_set_level(LOG_ERR);
	assert_int_equal(cr.rc, FS_ECANCELED);
	assert_true(cr.ms < 2000);
	assert_non_null(strstr(log, "waiting 60000 ms"));
	assert_null(strstr(log, KEY));
	assert_int_equal(nrequests, 1);
	free(log);
}

static void
test_503_three_times_then_ok(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int i, rc;

	for (i = 0; i < 3; i++)
		fake_add(API "/splits/ws/ws1?offset=0&limit=50", 503, NULL,
		    "busy");
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 3, 3);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(nrequests, 4);
	assert_string_equal(f->err, "");
}

static void
test_503_four_times_fails(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int i, rc;

	for (i = 0; i < 4; i++)
		fake_add(API "/splits/ws/ws1?offset=0&limit=50", 503, NULL,
		    "busy");
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 3, 3);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EHTTP);
	assert_int_equal(s.n, 0);
	assert_int_equal(nrequests, 4);
	assert_non_null(strstr(f->err, "HTTP 503: busy"));
	assert_non_null(strstr(f->err, "gave up after 3 retries"));
}

static void
test_timeouts_and_network_errors(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int i, rc;

	for (i = 0; i < 4; i++)
		fake_add_cc(API "/splits/ws/ws1?offset=0&limit=50",
		    CURLE_OPERATION_TIMEDOUT, "Operation timed out after "
		    "5001 milliseconds with 0 bytes received");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_ETIMEOUT);
	assert_int_equal(nrequests, 4);
	assert_non_null(strstr(f->err, "GET " API
	    "/splits/ws/ws1?offset=0&limit=50: timed out after 5 s"));

	fake_reset();
	fake_add_cc(API "/splits/ws/ws1?offset=0&limit=50",
	    CURLE_COULDNT_CONNECT, NULL);
	fake_add_cc(API "/splits/ws/ws1?offset=0&limit=50",
	    CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host: split.test");
	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 1, 1);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, 0);
	assert_int_equal(nrequests, 3);

	fake_reset();
	for (i = 0; i < 4; i++)
		fake_add_cc(API "/splits/ws/ws1?offset=0&limit=50",
		    CURLE_COULDNT_CONNECT, NULL);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_ENETWORK);
	assert_non_null(strstr(f->err, "Couldn't connect to server"));
}

static void
test_401_auth(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 401, NULL,
	    "{\"code\":401,\"message\":\"Invalid key " KEY "\"}");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EAUTH);
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(f->err, "(401)"));
	assert_non_null(strstr(f->err, "admin_key_file"));
	assert_null(strstr(f->err, KEY));
}

static void
test_403_auth(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 403, NULL, "{}");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EAUTH);
	assert_non_null(strstr(f->err, "(403)"));
}

static void
test_404_names_project_and_env(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	struct def_seen d;
	int rc;

	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 404, NULL,
	    "{\"code\":404}");
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_ENOTFOUND);
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(f->err, "project 'Shop' not found or not "
	    "visible to the Admin API key (404)"));
	assert_non_null(strstr(f->err, "project view permissions"));
	assert_null(strstr(f->err, KEY));

	fake_add(API "/splits/ws/ws1/environments/e9?offset=0&limit=50", 404,
	    NULL, "");
	memset(&d, 0, sizeof(d));
	assert_int_equal(split_list_definitions(f->sc, "ws1", "Shop", "e9",
	    def_cb, &d, f->err, sizeof(f->err)), FS_ENOTFOUND);
	assert_non_null(strstr(f->err, "environment 'e9' of project 'Shop'"));
}

static void
test_other_4xx_masks_key(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	struct buf b;
	char *body;
	int i, rc;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "{\"error\":\"bad\nrequest\","
	    "\"echo\":\"Bearer " KEY "\",\"pad\":\""), 0);
	for (i = 0; i < 500; i++)
		assert_int_equal(buf_putc(&b, 'x'), 0);
	assert_int_equal(buf_puts(&b, "\"}"), 0);
	body = buf_detach(&b);
	fake_add(API "/splits/ws/ws1?offset=0&limit=50", 400, NULL, body);
	free(body);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, FS_EHTTP);
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(f->err, "HTTP 400: {\"error\":\"bad request\""));
	assert_non_null(strstr(f->err, "Bearer ***"));
	assert_null(strstr(f->err, KEY));
	assert_null(strstr(f->err, "sk-SECRET"));
	/* The URL, the status and at most 200 bytes of body. */
	assert_true(strlen(f->err) < sizeof(API) + 60 + 200);
	assert_null(strchr(f->err, '\n'));
}

static void
test_body_over_cap(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 50, 50);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, EFBIG);
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(f->err, API "/splits/ws/ws1?offset=0&limit=50"));
	assert_non_null(strstr(f->err, "1000 bytes"));
	assert_int_equal(s.n, 0);
}

static void
test_callback_stop_propagates(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 50, 120);
	fake_add_flags_page(API "/splits/ws/ws1?offset=50&limit=50", 50, 50,
	    120);
	memset(&s, 0, sizeof(s));
	s.order_ok = 1;
	s.stop_at = 3;
	rc = split_list_flags(f->sc, "ws1", "Shop", flag_cb, &s, f->err,
	    sizeof(f->err));
	assert_int_equal(rc, 42);
	assert_int_equal(s.n, 3);
	assert_int_equal(nrequests, 1);
}

static void
test_request_options(void **state)
{
	struct fixture *f = *state;
	struct flag_seen s;
	struct fake_request *q;
	int rc;

	fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0, 1, 1);
	run_flags(f, &rc, &s);
	assert_int_equal(rc, 0);
	assert_int_equal(nrequests, 1);
	q = &requests[0];
	assert_non_null(strstr(q->headers, "Authorization: Bearer " KEY "\n"));
	assert_non_null(strstr(q->headers, "Accept: application/json\n"));
	assert_null(strstr(q->headers, "Content-Type"));
	assert_string_equal(q->user_agent, "flagsync/" PACKAGE_VERSION);
	assert_int_equal(q->verifypeer, 1);
	assert_int_equal(q->verifyhost, 2);
	assert_int_equal(q->follow, 0);
	assert_int_equal(q->timeout, 5);
	assert_int_equal(q->ctimeout, 5);
	assert_int_equal(q->nosignal, 1);
	assert_int_equal(q->noprogress, 0);
	assert_int_equal(q->cainfo_set, 0);
#if LIBCURL_VERSION_NUM >= 0x075500
	assert_string_equal(q->protocols, "http,https");
#endif
}

/* auth = bearer | x-api-key | auto: Harness pat./sat. tokens go in
 * x-api-key, and no request carries the key twice. */
static void
test_auth_header_kinds(void **state)
{
	static const struct {
		const char *key;
		int	 auth;
		const char *want;
		const char *not;
	} cases[] = {
		{ KEY, SPLIT_AUTH_AUTO, "Authorization: Bearer " KEY "\n",
		    "x-api-key" },
		{ "pat.abc.def", SPLIT_AUTH_AUTO, "x-api-key: pat.abc.def\n",
		    "Authorization" },
		{ "sat.abc.def", SPLIT_AUTH_AUTO, "x-api-key: sat.abc.def\n",
		    "Authorization" },
		{ "pat.abc.def", SPLIT_AUTH_BEARER,
		    "Authorization: Bearer pat.abc.def\n", "x-api-key" },
		{ KEY, SPLIT_AUTH_X_API_KEY, "x-api-key: " KEY "\n",
		    "Authorization" },
	};
	struct split_options o;
	struct split_client *sc;
	struct flag_seen s;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_reset();
		fake_add_flags_page(API "/splits/ws/ws1?offset=0&limit=50", 0,
		    1, 1);
		memset(&o, 0, sizeof(o));
		o.api_url = API;
		o.admin_key = cases[i].key;
		o.auth = cases[i].auth;
		o.timeout = 5;
		o.backoff_base_ms = 1;
		assert_int_equal(split_client_create(&sc, &o), 0);
		memset(&s, 0, sizeof(s));
		assert_int_equal(split_list_flags(sc, "ws1", "Shop", flag_cb,
		    &s, err, sizeof(err)), 0);
		assert_int_equal(nrequests, 1);
		if (strstr(requests[0].headers, cases[i].want) == NULL ||
		    strstr(requests[0].headers, cases[i].not) != NULL)
			fail_msg("case %zu: headers \"%s\"", i,
			    requests[0].headers);
		split_client_free(sc);
	}
}

/* ---- the HTTP layer on its own ----------------------------------- */

static struct http_client *
http_setup_client(double max_rps, size_t max_body, const char *ca)
{
	struct http_options o;
	struct http_client *hc = NULL;

	fake_reset();
	memset(&o, 0, sizeof(o));
	o.max_rps = max_rps;
	o.timeout = 30;
	o.ca_file = ca;
	o.max_body = max_body;
	o.cancel = &cancel_flag;
	assert_int_equal(http_client_create(&hc, &o), 0);
	return hc;
}

static void
test_http_response_headers(void **state)
{
	struct http_client *hc;
	struct http_response r;
	struct http_header h[] = { { "X-Token", "abc" } };
	char err[256];

	(void)state;
	hc = http_setup_client(0, 0, "/nonexistent/ca.pem");
	fake_add("https://h.test/a", 201,
	    "retry-after:   7  \r\nCONTENT-TYPE: application/json\r\n"
	    "X-RateLimit-Reset-Seconds-IP:\t3\r\nX-Other: 1\r\n",
	    "{\"ok\":true}");
	http_response_init(&r);
	assert_int_equal(http_request(hc, "POST", "https://h.test/a", h, 1,
	    "{}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(buf_str(&r.body), "{\"ok\":true}");
	assert_string_equal(r.retry_after, "7");
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.rl_reset_ip, "3");
	assert_null(r.rl_reset_org);
	assert_non_null(strstr(requests[0].headers, "X-Token: abc\n"));
	assert_non_null(strstr(requests[0].headers,
	    "Content-Type: application/json\n"));
	assert_int_equal(requests[0].cainfo_set, 1);

	/* A reused response starts empty: no header of the last answer. */
	fake_add("https://h.test/b", 204, NULL, NULL);
	assert_int_equal(http_request(hc, "DELETE", "https://h.test/b", NULL,
	    0, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 204);
	assert_null(r.retry_after);
	assert_int_equal(r.body.len, 0);

	/* Only the last header block counts (after a 100 Continue). */
	fake_add("https://h.test/d", 100, "Retry-After: 9\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", "x");
	assert_int_equal(http_request(hc, "PUT", "https://h.test/d", NULL,
	    0, "{}", &r, err, sizeof(err)), 0);
	assert_null(r.retry_after);
	assert_string_equal(r.content_type, "text/plain");

	/* Header injection is refused before anything is sent. */
	h[0].value = "abc\r\nX-Evil: 1";
	assert_int_equal(http_request(hc, "GET", "https://h.test/c", h, 1,
	    NULL, &r, err, sizeof(err)), EINVAL);
	assert_null(strstr(err, "abc"));
	assert_int_equal(nrequests, 3);
	assert_int_equal(http_request(hc, "PATCH", "https://h.test/c", NULL,
	    0, NULL, &r, err, sizeof(err)), EINVAL);
	http_response_release(&r);
	http_client_free(hc);
}

static void
test_http_timeout_words(void **state)
{
	struct http_client *hc;
	struct http_response r;
	char err[256];

	(void)state;
	hc = http_setup_client(0, 0, NULL);
	fake_add_cc("http://h.test/slow", CURLE_OPERATION_TIMEDOUT,
	    "Operation timed out after 30000 milliseconds");
	fake_add_cc("http://h.test/slow", CURLE_OPERATION_TIMEDOUT,
	    "Connection timed out after 10001 milliseconds");
	fake_add_cc("http://h.test/slow", CURLE_SSL_CONNECT_ERROR, NULL);
	http_response_init(&r);
	assert_int_equal(http_request(hc, "GET", "http://h.test/slow", NULL,
	    0, NULL, &r, err, sizeof(err)), FS_ETIMEOUT);
	assert_string_equal(err, "GET http://h.test/slow: timed out after "
	    "30 s");
	assert_int_equal(r.status, 0);
	assert_int_equal(http_request(hc, "GET", "http://h.test/slow", NULL,
	    0, NULL, &r, err, sizeof(err)), FS_ETIMEOUT);
	assert_string_equal(err, "GET http://h.test/slow: connection timed "
	    "out after 10 s");
	assert_int_equal(http_request(hc, "GET", "http://h.test/slow", NULL,
	    0, NULL, &r, err, sizeof(err)), FS_ENETWORK);
	assert_non_null(strstr(err, "GET http://h.test/slow: SSL connect"));
	http_response_release(&r);
	http_client_free(hc);
}

static void
test_http_rate_ceiling(void **state)
{
	struct http_client *hc;
	struct http_response r;
	char err[256];
	int64_t t0, dt;
	int i;

	(void)state;
	hc = http_setup_client(20, 0, NULL);
	http_response_init(&r);
	t0 = now_ms();
	for (i = 0; i < 5; i++) {
		fake_add("http://h.test/r", 200, NULL, "{}");
		assert_int_equal(http_request(hc, "GET", "http://h.test/r",
		    NULL, 0, NULL, &r, err, sizeof(err)), 0);
	}
	dt = now_ms() - t0;
	/* Five starts at 20 per second: four gaps of 50 ms at least. */
	assert_true(dt >= 199);
	assert_true(dt < 2000);
	http_response_release(&r);
	http_client_free(hc);
}

/* max_rps = 1e-300: no overflow, and the pause is capped (and can be
 * cancelled) rather than lasting forever. */
static void *
cancel_after_300ms(void *arg)
{
	struct timespec ts = { 0, 300 * 1000000L };

	(void)arg;
	nanosleep(&ts, NULL);
	cancel_flag = 1;
	return NULL;
}

static void
test_http_tiny_rps(void **state)
{
	struct http_client *hc;
	struct http_response r;
	pthread_t t;
	char err[256];
	int64_t t0;

	(void)state;
	hc = http_setup_client(1e-300, 0, NULL);
	http_response_init(&r);
	fake_add("http://h.test/r", 200, NULL, "{}");
	assert_int_equal(http_request(hc, "GET", "http://h.test/r", NULL, 0,
	    NULL, &r, err, sizeof(err)), 0);
	/* The second waits (HTTP_PACE_MAX_GAP_S at most) until canceled. */
	fake_add("http://h.test/r", 200, NULL, "{}");
	cancel_flag = 0;
	assert_int_equal(pthread_create(&t, NULL, cancel_after_300ms, NULL),
	    0);
	t0 = now_ms();
	assert_int_equal(http_request(hc, "GET", "http://h.test/r", NULL, 0,
	    NULL, &r, err, sizeof(err)), FS_ECANCELED);
	assert_true(now_ms() - t0 >= 250);
	assert_true(now_ms() - t0 < 2000);
	pthread_join(t, NULL);
	cancel_flag = 0;
	assert_int_equal(nrequests, 1);
	http_response_release(&r);
	http_client_free(hc);
}

static void
test_http_cancel(void **state)
{
	struct http_client *hc;
	struct http_response r;
	pthread_t t;
	char err[256];
	int64_t t0;

	(void)state;
	hc = http_setup_client(0, 0, NULL);
	http_response_init(&r);

	/* Raised during the transfer: the progress callback aborts it. */
	fake_add("http://h.test/x", 200, NULL, "{}")->cancel = 1;
	assert_int_equal(http_request(hc, "GET", "http://h.test/x", NULL, 0,
	    NULL, &r, err, sizeof(err)), FS_ECANCELED);
	assert_int_equal(r.status, 0);

	/* Already raised: nothing is sent. */
	assert_int_equal(http_request(hc, "GET", "http://h.test/x", NULL, 0,
	    NULL, &r, err, sizeof(err)), FS_ECANCELED);
	assert_int_equal(nrequests, 1);
	assert_int_equal(http_sleep_ms(10, &cancel_flag), FS_ECANCELED);

	/* A long sleep ends soon after the flag goes up. */
	cancel_flag = 0;
	assert_int_equal(pthread_create(&t, NULL, cancel_later, NULL), 0);
	t0 = now_ms();
	assert_int_equal(http_sleep_ms(10000, &cancel_flag), FS_ECANCELED);
	assert_true(now_ms() - t0 < 1000);
	pthread_join(t, NULL);

	cancel_flag = 0;
	t0 = now_ms();
	assert_int_equal(http_sleep_ms(120, NULL), 0);
	assert_true(now_ms() - t0 >= 119);
	http_response_release(&r);
	http_client_free(hc);
}

static void
test_http_body_cap(void **state)
{
	struct http_client *hc;
	struct http_response r;
	char err[256], body[102];

	(void)state;
	hc = http_setup_client(0, 100, NULL);
	memset(body, 'a', 100);
	body[100] = '\0';
	fake_add("http://h.test/exact", 200, NULL, body);
	body[100] = 'a';	/* one byte over the cap */
	body[101] = '\0';
	fake_add("http://h.test/big", 200, NULL, body);
	http_response_init(&r);
	assert_int_equal(http_request(hc, "GET", "http://h.test/exact", NULL,
	    0, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.body.len, 100);
	assert_int_equal(http_request(hc, "GET", "http://h.test/big", NULL, 0,
	    NULL, &r, err, sizeof(err)), EFBIG);
	assert_string_equal(err, "GET http://h.test/big: answer larger than "
	    "100 bytes (the cap for one answer)");
	assert_int_equal(r.status, 0);
	http_response_release(&r);
	http_client_free(hc);
}

static void
test_backoff_bounds(void **state)
{
	int64_t d, v, lo, hi, min, max;
	int a, i;

	(void)state;
	for (a = 0; a < 12; a++) {
		d = 100LL << a;
		if (d > 5000)
			d = 5000;
		lo = d - d / 4;
		hi = d + d / 4 > 5000 ? 5000 : d + d / 4;
		min = INT64_MAX;
		max = 0;
		for (i = 0; i < 300; i++) {
			v = http_backoff_ms(a, 100, 5000);
			assert_true(v >= lo);
			assert_true(v <= hi);
			min = v < min ? v : min;
			max = v > max ? v : max;
		}
		/* There is jitter: 300 draws are not all the same. */
		assert_true(min < max);
	}
	assert_true(http_backoff_ms(1000, 1000, 30000) <= 30000);
	assert_true(http_backoff_ms(1000, 1000, 30000) >= 22500);
	assert_true(http_backoff_ms(0, 90000, 30000) <= 30000);
	assert_true(http_backoff_ms(62, INT64_MAX / 2, INT64_MAX) > 0);
	assert_int_equal(http_backoff_ms(3, 0, 30000), 0);
	assert_int_equal(http_backoff_ms(3, 10, 0), 0);
	v = http_backoff_ms(-1, 100, 5000);
	assert_true(v >= 75 && v <= 125);
}

static void
test_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "name="), 0);
	assert_int_equal(http_escape("a b/c&d=\xc3\xa9-._~Z9?#%", &b), 0);
	assert_string_equal(buf_str(&b),
	    "name=a%20b%2Fc%26d%3D%C3%A9-._~Z9%3F%23%25");
	buf_release(&b);
	buf_init(&b, 4);
	assert_int_equal(http_escape("a b", &b), EFBIG);
	buf_release(&b);
}

/* ---- writes: creating flags, writing tags (issue 13) ------------- */

#define CREATE_URL	API "/splits/ws/ws%201/trafficTypes/user"
#define TAGS_URL	API "/tags/ws/ws1/object/new_flag_x/objecttype/Split"
#define NEW_FLAG	"{\"id\":\"f-9\",\"name\":\"new_flag_x\",\"description\":" \
	"\"Created from SHOP-1 by flagsync\",\"trafficType\":{\"id\":\"tt\"," \
	"\"name\":\"user\"},\"creationTime\":1700000000000,\"tags\":[]}"

struct created {
	char	*id;
	char	*name;
	char	*description;
	size_t	 ntags;
	int	 calls;
};

static int
created_cb(void *arg, const struct split_flag *fl)
{
	struct created *c = arg;

	c->calls++;
	c->id = xstrdup(fl->id);
	c->name = xstrdup(fl->name);
	c->description = xstrdup(fl->description);
	c->ntags = fl->ntags;
	return 0;
}

static void
created_free(struct created *c)
{
	free(c->id);
	free(c->name);
	free(c->description);
}

static void
test_name_valid(void **state)
{
	char longest[FS_FLAG_MAX + 2];

	(void)state;
	assert_true(split_name_valid("a"));
	assert_true(split_name_valid("new_flag_x"));
	assert_true(split_name_valid("Z-9_x-"));
	assert_false(split_name_valid(NULL));
	assert_false(split_name_valid(""));
	assert_false(split_name_valid("1flag"));
	assert_false(split_name_valid("_flag"));
	assert_false(split_name_valid("-flag"));
	assert_false(split_name_valid("has space"));
	assert_false(split_name_valid("dot.ted"));
	assert_false(split_name_valid("shop/flag"));
	assert_false(split_name_valid("caf\xc3\xa9"));
	assert_false(split_name_valid("\xc3\xa9t\xc3\xa9"));
	memset(longest, 'a', FS_FLAG_MAX);
	longest[FS_FLAG_MAX] = '\0';
	assert_true(split_name_valid(longest));
	longest[FS_FLAG_MAX] = 'a';
	longest[FS_FLAG_MAX + 1] = '\0';
	assert_false(split_name_valid(longest));
}

static void
test_create_flag_posts_json(void **state)
{
	struct fixture *f = *state;
	struct created c = { 0 };

	fake_add(CREATE_URL, 200, NULL, NEW_FLAG);
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "Created from SHOP-1 by \"flagsync\"", created_cb,
	    &c, f->err, sizeof(f->err)), 0);
	assert_int_equal(nrequests, 1);
	assert_string_equal(requests[0].method, "POST");
	assert_string_equal(requests[0].url, CREATE_URL);
	assert_string_equal(requests[0].body, "{\"name\":\"new_flag_x\","
	    "\"description\":\"Created from SHOP-1 by \\\"flagsync\\\"\"}");
	assert_non_null(strstr(requests[0].headers,
	    "Content-Type: application/json"));
	assert_non_null(strstr(requests[0].headers, "Bearer " KEY));
	assert_int_equal(c.calls, 1);
	assert_string_equal(c.id, "f-9");
	assert_string_equal(c.name, "new_flag_x");
	assert_string_equal(c.description, "Created from SHOP-1 by flagsync");
	assert_int_equal(c.ntags, 0);
	assert_string_equal(f->err, "");
	created_free(&c);

	/* No callback: the answer is not needed. */
	fake_add(CREATE_URL, 200, NULL, "");
	assert_int_equal(split_create_flag(f->sc, "ws 1", NULL, "user",
	    "other", NULL, NULL, NULL, f->err, sizeof(f->err)), 0);
	assert_string_equal(requests[1].body,
	    "{\"name\":\"other\",\"description\":\"\"}");
}

static void
test_create_flag_409_is_eexist(void **state)
{
	struct fixture *f = *state;
	struct created c = { 0 };

	fake_add(CREATE_URL, 409, NULL, "{\"code\":409,\"message\":"
	    "\"Feature flag new_flag_x already exists\"}");
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "d", created_cb, &c, f->err, sizeof(f->err)),
	    EEXIST);
	assert_int_equal(c.calls, 0);
	assert_int_equal(nrequests, 1);
	assert_non_null(strstr(f->err, "flag 'new_flag_x'"));
	assert_non_null(strstr(f->err, "project 'Shop'"));
	assert_non_null(strstr(f->err,
	    "Split says: Feature flag new_flag_x already exists"));
	assert_null(strchr(f->err, '\n'));
}

static void
test_create_flag_refusals_quote_split(void **state)
{
	struct fixture *f = *state;

	fake_add(CREATE_URL, 400, NULL, "{\"code\":400,\"message\":\"Name "
	    "too long for " KEY "\"}");
	/* a refusal of the values, apart from a 5xx outage (FS_EHTTP) */
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "d", NULL, NULL, f->err, sizeof(f->err)), EINVAL);
	assert_non_null(strstr(f->err, "HTTP 400"));
	assert_non_null(strstr(f->err, "Split says: Name too long for ***"));
	assert_null(strstr(f->err, KEY));

	fake_add(CREATE_URL, 404, NULL, "{\"code\":404,\"message\":\"The "
	    "resource does not exists or the Admin API key has no access\"}");
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "d", NULL, NULL, f->err, sizeof(f->err)),
	    FS_ENOTFOUND);
	assert_non_null(strstr(f->err, "traffic type 'user'"));
	assert_non_null(strstr(f->err, "does not exists"));

	fake_add(CREATE_URL, 403, NULL, "role is insufficient");
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "d", NULL, NULL, f->err, sizeof(f->err)), FS_EAUTH);
	assert_non_null(strstr(f->err, "403"));
	assert_non_null(strstr(f->err, "Split says: role is insufficient"));

	fake_add(CREATE_URL, 401, NULL, "{}");
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "d", NULL, NULL, f->err, sizeof(f->err)), FS_EAUTH);
	assert_int_equal(nrequests, 4);
	assert_null(strstr(f->err, KEY));
}

static void
test_create_flag_bad_name_sends_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "1-bad name", "d", NULL, NULL, f->err, sizeof(f->err)), EINVAL);
	assert_non_null(strstr(f->err, "'1-bad name'"));
	assert_non_null(strstr(f->err, "naming rule"));
	/* A name from a Jira field may hold anything: one line still. */
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "evil\nname\x1b[2J", "d", NULL, NULL, f->err, sizeof(f->err)),
	    EINVAL);
	assert_non_null(strstr(f->err, "'evil?name?[2J'"));
	assert_int_equal(nrequests, 0);
}

/* A 429 is waited out; a 5xx retried, and the retry's 409 means the
 * first try created it: idempotent by construction. */
static void
test_create_flag_retry_policy(void **state)
{
	struct fixture *f = *state;
	int64_t t0;

	fake_add(CREATE_URL, 429, "X-RateLimit-Reset-Seconds-Org: 0\r\n"
	    "X-RateLimit-Reset-Seconds-IP: 0\r\n", "{}");
	fake_add(CREATE_URL, 200, NULL, NEW_FLAG);
	t0 = now_ms();
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "d", NULL, NULL, f->err, sizeof(f->err)), 0);
	assert_true(now_ms() - t0 >= 1000);
	assert_int_equal(nrequests, 2);
	assert_string_equal(requests[1].method, "POST");
	assert_string_equal(requests[1].body, requests[0].body);

	fake_add(CREATE_URL, 503, NULL, "busy");
	fake_add(CREATE_URL, 409, NULL, "{\"message\":\"exists\"}");
	assert_int_equal(split_create_flag(f->sc, "ws 1", "Shop", "user",
	    "new_flag_x", "d", NULL, NULL, f->err, sizeof(f->err)), EEXIST);
	assert_int_equal(nrequests, 4);
	assert_int_equal(unexpected, 0);
}

static void
test_set_tags_writes_whole_list(void **state)
{
	struct fixture *f = *state;
	const char *tags[] = { "SHOP-1", "mine", "SHOP-1", "a \"q\"" };

	fake_add(TAGS_URL, 200, NULL, "");
	assert_int_equal(split_set_flag_tags(f->sc, "ws1", "Shop",
	    "new_flag_x", tags, 4, f->err, sizeof(f->err)), 0);
	assert_int_equal(nrequests, 1);
	assert_string_equal(requests[0].method, "POST");
	assert_string_equal(requests[0].url, TAGS_URL);
	assert_string_equal(requests[0].body,
	    "[\"SHOP-1\",\"mine\",\"a \\\"q\\\"\"]");
	assert_non_null(strstr(requests[0].headers,
	    "Content-Type: application/json"));

	/* None left: the empty list removes them all. */
	fake_add(TAGS_URL, 200, NULL, "[]");
	assert_int_equal(split_set_flag_tags(f->sc, "ws1", "Shop",
	    "new_flag_x", NULL, 0, f->err, sizeof(f->err)), 0);
	assert_string_equal(requests[1].body, "[]");
}

static void
test_set_tags_refusals_and_retries(void **state)
{
	struct fixture *f = *state;
	const char *tags[] = { "SHOP-1" };
	const char *bad[] = { "ok", "" };
	char longtag[FS_TAG_MAX + 2];
	const char *toolong[] = { longtag };

	fake_add(TAGS_URL, 404, NULL, "{\"code\":404,\"message\":\"gone\"}");
	assert_int_equal(split_set_flag_tags(f->sc, "ws1", "Shop",
	    "new_flag_x", tags, 1, f->err, sizeof(f->err)), FS_ENOTFOUND);
	assert_non_null(strstr(f->err, "flag 'new_flag_x'"));
	assert_non_null(strstr(f->err, "Split says: gone"));

	fake_add(TAGS_URL, 400, NULL, "{\"message\":\"bad tag\"}");
	assert_int_equal(split_set_flag_tags(f->sc, "ws1", "Shop",
	    "new_flag_x", tags, 1, f->err, sizeof(f->err)), EINVAL);
	assert_non_null(strstr(f->err, "Split says: bad tag"));

	fake_add(TAGS_URL, 429, "X-RateLimit-Reset-Seconds-Org: 0\r\n", "{}");
	fake_add(TAGS_URL, 502, NULL, "");
	fake_add(TAGS_URL, 200, NULL, "");
	assert_int_equal(split_set_flag_tags(f->sc, "ws1", "Shop",
	    "new_flag_x", tags, 1, f->err, sizeof(f->err)), 0);
	assert_int_equal(nrequests, 5);
	assert_string_equal(requests[4].body, "[\"SHOP-1\"]");

	assert_int_equal(split_set_flag_tags(f->sc, "ws1", "Shop",
	    "new_flag_x", bad, 2, f->err, sizeof(f->err)), EINVAL);
	assert_non_null(strstr(f->err, "tag 2 is empty"));
	memset(longtag, 't', FS_TAG_MAX + 1);
	longtag[FS_TAG_MAX + 1] = '\0';
	assert_int_equal(split_set_flag_tags(f->sc, "ws1", "Shop",
	    "new_flag_x", toolong, 1, f->err, sizeof(f->err)), EINVAL);
	assert_int_equal(nrequests, 5);
	assert_int_equal(unexpected, 0);
}

#define SPLIT_TEST(fn)	cmocka_unit_test_setup_teardown(fn, client_setup, \
	client_teardown)
#define HTTP_TEST(fn)	cmocka_unit_test_teardown(fn, fake_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SPLIT_TEST(test_workspace_exact_match),
		SPLIT_TEST(test_workspace_second_page_escaped),
		SPLIT_TEST(test_workspace_not_found),
		SPLIT_TEST(test_environment_by_name),
		SPLIT_TEST(test_environment_by_id),
		SPLIT_TEST(test_environment_not_found),
		SPLIT_TEST(test_environment_not_array),
		SPLIT_TEST(test_flags_three_pages),
		SPLIT_TEST(test_short_pages),
		SPLIT_TEST(test_definitions_pages),
		SPLIT_TEST(test_empty_listing),
		SPLIT_TEST(test_total_count_drift),
		SPLIT_TEST(test_empty_page_before_total),
		SPLIT_TEST(test_malformed_json),
		SPLIT_TEST(test_bare_values),
		SPLIT_TEST(test_wrong_shapes),
		SPLIT_TEST(test_page_over_limit),
		SPLIT_TEST(test_total_below_objects),
		SPLIT_TEST(test_429_zero_reset_waits_a_second),
		cmocka_unit_test_setup_teardown(test_429_total_wait_bounded,
		    client_setup_t1, client_teardown),
		SPLIT_TEST(test_redirect_not_followed),
		SPLIT_TEST(test_deep_nesting),
		SPLIT_TEST(test_invalid_utf8_replaced),
		SPLIT_TEST(test_wrong_typed_flag_field),
		SPLIT_TEST(test_flag_fields_twice),
		SPLIT_TEST(test_429_waits_for_reset),
		SPLIT_TEST(test_429_without_headers_backs_off),
		SPLIT_TEST(test_429_gives_up),
		cmocka_unit_test_setup_teardown(
		    test_429_wait_capped_and_cancellable, client_setup_t30,
		    client_teardown),
		SPLIT_TEST(test_503_three_times_then_ok),
		SPLIT_TEST(test_503_four_times_fails),
		SPLIT_TEST(test_timeouts_and_network_errors),
		SPLIT_TEST(test_401_auth),
		SPLIT_TEST(test_403_auth),
		SPLIT_TEST(test_404_names_project_and_env),
		SPLIT_TEST(test_other_4xx_masks_key),
		cmocka_unit_test_setup_teardown(test_body_over_cap,
		    client_setup_small, client_teardown),
		SPLIT_TEST(test_callback_stop_propagates),
		SPLIT_TEST(test_request_options),
		cmocka_unit_test(test_auth_header_kinds),
		HTTP_TEST(test_http_response_headers),
		HTTP_TEST(test_http_timeout_words),
		HTTP_TEST(test_http_rate_ceiling),
		HTTP_TEST(test_http_tiny_rps),
		HTTP_TEST(test_http_cancel),
		HTTP_TEST(test_http_body_cap),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_name_valid),
		SPLIT_TEST(test_create_flag_posts_json),
		SPLIT_TEST(test_create_flag_409_is_eexist),
		SPLIT_TEST(test_create_flag_refusals_quote_split),
		SPLIT_TEST(test_create_flag_bad_name_sends_nothing),
		SPLIT_TEST(test_create_flag_retry_policy),
		SPLIT_TEST(test_set_tags_writes_whole_list),
		SPLIT_TEST(test_set_tags_refusals_and_retries),
	};

	log_init("split_test", LOG_ERR);
	fake_forget_options();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
