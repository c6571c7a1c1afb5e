/* httpd.c - the local HTTP surface over libmicrohttpd (flagsync.ini(5)). */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "buf.h"
#include "clock.h"
#include "error.h"
#include "findq.h"
#include "httpd.h"
#include "log.h"
#include "maxlen.h"
#include "metrics.h"
#include "query.h"

#define HTTPD_JSON	"application/json"
#define HTTPD_JSONL	"application/x-ndjson"
#define HTTPD_PROM	"text/plain; version=0.0.4; charset=utf-8"
#define HTTPD_STACK	(512u * 1024)	/* a connection thread's stack */
#define HTTPD_REAP_MS	250		/* how often slow requests are looked for */
#define HTTPD_NICE	10		/* connection threads' nice increment */

/*
 * A connection, for the request deadline: libmicrohttpd's own timeout
 * ends idle connections only, and a client that sends a byte every few
 * seconds is never idle.  The reaper shuts down the socket of a request
 * that has not arrived whole HTTPD_REQUEST_TIMEOUT_S after it began.
 */
struct httpd_slot {
	int	 fd;		/* -1: free */
	int64_t	 since;		/* ms the pending request began; 0: none */
};

struct httpd {
	struct MHD_Daemon *mhd;
	struct cache	*c;
	char		*listen;	/* the address it serves, as configured */

	pthread_rwlock_t cfg_lock;	/* written only by httpd_reload() */
	const struct config *cfg;

	pthread_mutex_t	 mtx;		/* slots, quit */
	pthread_cond_t	 cv;
	struct httpd_slot slots[HTTPD_MAX_CONNECTIONS];
	int		 quit;
	int		 reaper_running;
	pthread_t	 reaper;
};

/* An answer being built. */
struct reply {
	unsigned int	 status;
	struct buf	 body;
	const char	*type;
	int		 allow;		/* 405: say which methods */
	int		 challenge;	/* 401: WWW-Authenticate */
};

/* ------------------------------------------------------------ replies */

static void __attribute__((format(printf, 3, 4)))
reply_error(struct reply *r, unsigned int status, const char *fmt, ...)
{
	json_object *o;
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->type = HTTPD_JSON;
	buf_reset(&r->body);
	if ((o = json_object_new_object()) == NULL)
		return;
	json_object_object_add(o, "error", json_object_new_string(msg));
	if (buf_puts(&r->body, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == 0)
		buf_putc(&r->body, '\n');
	json_object_put(o);
}

/* A document function's failure, as an answer. */
static void
reply_failed(struct reply *r, int rc, const char *err)
{
	if (err && err[0] && (rc == FS_ENOTFOUND || rc == EINVAL))
		reply_error(r, rc == EINVAL ? 400 : 404, "%s", err);
	else if (rc == EFBIG)
		reply_error(r, 500, "the answer would pass %u MiB: ask for "
		    "less (limit=N)", HTTPD_ANSWER_MAX / (1024 * 1024));
	else
		reply_error(r, 500, "%s", fs_strerror(rc));
}

static void
reply_ok(struct reply *r, const char *type)
{
	r->status = 200;
	r->type = type;
}

/* ------------------------------------------------------------ handlers */

/*
 * /healthz shows counts, never names from Split or Jira: the skipped
 * items and the unmatched Jira names leave, their numbers stay.
 */
static void
healthz_redact(json_object *status)
{
	json_object *rows, *o, *v;
	int64_t n;
	size_t i;

	if (!json_object_object_get_ex(status, "sources", &rows))
		return;
	for (i = 0; i < json_object_array_length(rows); i++) {
		o = json_object_array_get_idx(rows, i);
		json_object_object_del(o, "skipped");
		if (json_object_object_get_ex(o, "unmatched", &v)) {
			n = (int64_t)json_object_array_length(v);
			if (json_object_object_get_ex(o, "unmatched_more", &v))
				n += json_object_get_int64(v);
			json_object_object_del(o, "unmatched");
			json_object_object_del(o, "unmatched_more");
			json_object_object_add(o, "unmatched_count",
			    json_object_new_int64(n));
		}
	}
}

static void
get_healthz(struct httpd *h, struct reply *r)
{
	json_object *st, *v;
	int rc;

	if ((rc = query_status_json(h->cfg, h->c, &st)) != 0) {
		reply_failed(r, rc, NULL);
		return;
	}
	healthz_redact(st);
	if ((rc = buf_puts(&r->body, json_object_to_json_string_ext(st,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))) == 0)
		rc = buf_putc(&r->body, '\n');
	if (rc != 0)
		reply_failed(r, rc, NULL);
	else {
		reply_ok(r, HTTPD_JSON);
		if (!json_object_object_get_ex(st, "healthy", &v) ||
		    !json_object_get_boolean(v))
			r->status = 503;
	}
	json_object_put(st);
}

static void
get_metrics(struct httpd *h, struct reply *r)
{
	json_object *st;
	int rc;

	if ((rc = query_status_json(h->cfg, h->c, &st)) == 0) {
		rc = metrics_render(st, &r->body);
		json_object_put(st);
	}
	if (rc != 0)
		reply_failed(r, rc, NULL);
	else
		reply_ok(r, HTTPD_PROM);
}

static const char *
arg(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static void
get_flags(struct httpd *h, struct MHD_Connection *conn, struct reply *r)
{
	struct query_flags_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.project = arg(conn, "project");
	if ((rc = query_doc_flags(h->c, &a, &r->body)) != 0)
		reply_failed(r, rc, NULL);
	else
		reply_ok(r, HTTPD_JSON);
}

/* /v1/flags/PROJECT/FLAG: rest is "PROJECT/FLAG". */
static void
get_flag(struct httpd *h, const char *rest, struct reply *r)
{
	const char *slash = strchr(rest, '/');
	char project[FS_PROJECT_MAX + 1], err[512];
	int rc;

	if (slash == NULL || slash == rest || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL ||
	    (size_t)(slash - rest) >= sizeof(project)) {
		reply_error(r, 404, "not found: use /v1/flags/PROJECT/FLAG");
		return;
	}
	memcpy(project, rest, (size_t)(slash - rest));
	project[slash - rest] = '\0';
	if ((rc = query_doc_flag(h->cfg, h->c, slash + 1, project, &r->body,
	    err, sizeof(err))) != 0)
		reply_failed(r, rc, err);
	else
		reply_ok(r, HTTPD_JSON);
}

/* An issue no flag is linked to gets the same document, as a 404. */
static void
get_issue(struct httpd *h, const char *key, struct reply *r)
{
	size_t n;
	int rc;

	if (*key == '\0' || strchr(key, '/') != NULL) {
		reply_error(r, 404, "not found: use /v1/issues/KEY");
		return;
	}
	if ((rc = query_doc_issue(h->c, key, &r->body, &n)) != 0) {
		reply_failed(r, rc, NULL);
		return;
	}
	reply_ok(r, HTTPD_JSON);
	if (n == 0)
		r->status = 404;
}

static void
get_events(struct httpd *h, struct MHD_Connection *conn, struct reply *r)
{
	struct query_events_args a;
	char err[512];
	int rc;

	memset(&a, 0, sizeof(a));
	a.since = arg(conn, "since");
	a.limit = arg(conn, "limit");
	a.flag = arg(conn, "flag");
	a.issue = arg(conn, "issue");
	a.type = arg(conn, "type");
	a.project = arg(conn, "project");
	err[0] = '\0';
	if ((rc = query_doc_events(h->c, &a, &r->body, NULL, err,
	    sizeof(err))) != 0)
		reply_failed(r, rc, err);
	else
		reply_ok(r, HTTPD_JSONL);
}

/* `findings --json`; ?type=GLOB, ?state=open|closed. */
static void
get_findings(struct httpd *h, struct MHD_Connection *conn, struct reply *r)
{
	struct findq_args a = { NULL, true, true };
	const char *state = arg(conn, "state");
	int rc;

	if (!h->cfg->findings) {
		reply_error(r, 404, "no findings: %s has no [findings] section",
		    h->cfg->path);
		return;
	}
	a.type = arg(conn, "type");
	if (state != NULL && strcmp(state, "open") != 0 &&
	    strcmp(state, "closed") != 0) {
		reply_error(r, 400, "state is open or closed");
		return;
	}
	if (state != NULL) {
		a.open = strcmp(state, "open") == 0;
		a.closed = !a.open;
	}
	if ((rc = findq_doc_cache(h->c, &a, &r->body)) != 0 ||
	    (rc = buf_putc(&r->body, '\n')) != 0)
		reply_failed(r, rc, NULL);
	else
		reply_ok(r, HTTPD_JSON);
}

/* ------------------------------------------------------------ routing */

/* Equal in time independent of where they differ (the token's length
 * aside). */
static int
token_equal(const char *given, const char *token)
{
	size_t i, glen = strlen(given), tlen = strlen(token);
	unsigned char d = glen != tlen;

	for (i = 0; i < tlen; i++)
		d |= (unsigned char)token[i] ^
		    (unsigned char)(i < glen ? given[i] : 0);
	return d == 0;
}

static int
authorized(const struct httpd *h, struct MHD_Connection *conn)
{
	const char *v;

	if (h->cfg->http_token == NULL)
		return 1;
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return 0;
	for (v += 7; *v == ' '; v++)
		;
	return token_equal(v, h->cfg->http_token);
}

static void
route_v1(struct httpd *h, struct MHD_Connection *conn, const char *path,
    struct reply *r)
{
	if (!authorized(h, conn)) {
		reply_error(r, 401, "/v1/ needs Authorization: Bearer TOKEN "
		    "([http] token_file)");
		r->challenge = 1;
	} else if (strcmp(path, "flags") == 0)
		get_flags(h, conn, r);
	else if (strncmp(path, "flags/", 6) == 0)
		get_flag(h, path + 6, r);
	else if (strncmp(path, "issues/", 7) == 0)
		get_issue(h, path + 7, r);
	else if (strcmp(path, "events") == 0)
		get_events(h, conn, r);
	else if (strcmp(path, "findings") == 0)
		get_findings(h, conn, r);
	else
		reply_error(r, 404, "not found: /v1/%s", path);
}

static void
route(struct httpd *h, struct MHD_Connection *conn, const char *method,
    const char *url, struct reply *r)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		reply_error(r, 405, "%s: only GET and HEAD are served",
		    method);
		r->allow = 1;
	} else if (strcmp(url, "/healthz") == 0)
		get_healthz(h, r);
	else if (strcmp(url, "/metrics") == 0)
		get_metrics(h, r);
	else if (strncmp(url, "/v1/", 4) == 0)
		route_v1(h, conn, url + 4, r);
	else
		reply_error(r, 404, "not found: %s", url);
}

static enum MHD_Result
httpd_queue(struct MHD_Connection *conn, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = r->body.len;
	char *data = buf_detach(&r->body);

	resp = MHD_create_response_from_buffer(len, data ? data : (char *)"",
	    data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    "GET, HEAD");
	if (r->challenge)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"flagsync\"");
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Under a flood of requests the documents' CPU must not starve the poll
 * loop: each connection thread lowers its own priority once (Linux
 * applies nice per thread).  Failing that it runs as it is.
 */
static void
httpd_thread_nice(void)
{
	static __thread int done;

	if (done)
		return;
	done = 1;
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), HTTPD_NICE);
}

static enum MHD_Result
httpd_answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct httpd_slot *slot;
	struct reply r;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	httpd_thread_nice();
	/* the request's head is in: its deadline no longer applies */
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && (slot = ci->socket_context) != NULL) {
		pthread_mutex_lock(&h->mtx);
		slot->since = 0;
		pthread_mutex_unlock(&h->mtx);
	}
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, HTTPD_ANSWER_MAX);
	pthread_rwlock_rdlock(&h->cfg_lock);
	route(h, conn, method, url, &r);
	pthread_rwlock_unlock(&h->cfg_lock);
	log_debug("http: %s %s: %u", method, url, r.status);
	ret = httpd_queue(conn, &r);
	buf_release(&r.body);
	return ret;
}

/* ------------------------------------------------------------ deadline */

static void
httpd_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct httpd_slot *slot = *socket_context;
	size_t i;

	pthread_mutex_lock(&h->mtx);
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED && slot != NULL) {
		slot->fd = -1;
		slot->since = 0;
		*socket_context = NULL;
	} else if (toe == MHD_CONNECTION_NOTIFY_STARTED &&
	    (ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL) {
		for (i = 0; i < HTTPD_MAX_CONNECTIONS; i++)
			if (h->slots[i].fd == -1)
				break;
		/* over the limit libmicrohttpd refuses it anyway */
		if (i < HTTPD_MAX_CONNECTIONS) {
			h->slots[i].fd = ci->connect_fd;
			h->slots[i].since = clock_now_ms();
			*socket_context = &h->slots[i];
		}
	}
	pthread_mutex_unlock(&h->mtx);
}

/* After an answer, a kept-alive connection's next request has its own
 * deadline. */
static void
httpd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct httpd_slot *slot;

	(void)req_cls;
	(void)toe;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (slot = ci->socket_context) == NULL)
		return;
	pthread_mutex_lock(&h->mtx);
	if (slot->fd != -1)
		slot->since = clock_now_ms();
	pthread_mutex_unlock(&h->mtx);
}

static void *
httpd_reap(void *arg)
{
	struct httpd *h = arg;
	struct timespec ts;
	int64_t now;
	size_t i;

	pthread_mutex_lock(&h->mtx);
	while (!h->quit) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += HTTPD_REAP_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&h->cv, &h->mtx, &ts);
		now = clock_now_ms();
		for (i = 0; i < HTTPD_MAX_CONNECTIONS; i++) {
			struct httpd_slot *s = &h->slots[i];

			if (s->fd == -1 || s->since == 0 || now - s->since <
			    HTTPD_REQUEST_TIMEOUT_S * 1000)
				continue;
			/* the connection's thread sees the end of its
			 * stream and closes it; the fd stays its own */
			shutdown(s->fd, SHUT_RDWR);
			s->since = 0;
			log_info("http: dropped a request not received "
			    "within %d s", HTTPD_REQUEST_TIMEOUT_S);
		}
	}
	pthread_mutex_unlock(&h->mtx);
	return NULL;
}

/* ------------------------------------------------------------ start, stop */

static void
httpd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

/* HOST:PORT or [V6]:PORT (config.c checked the shape) into an address. */
static int
httpd_resolve(const char *listen, struct addrinfo **ai, char *err,
    size_t errlen)
{
	struct addrinfo hints;
	char host[NI_MAXHOST];
	const char *colon;
	size_t n;
	int rc;

	const char *start = listen;

	colon = strrchr(listen, ':');
	n = colon ? (size_t)(colon - listen) : 0;
	if (n > 1 && listen[0] == '[' && listen[n - 1] == ']') {
		start = listen + 1;	/* [V6] without its brackets */
		n -= 2;
	}
	if (colon == NULL || n == 0 || n >= sizeof(host)) {
		snprintf(err, errlen, "[http] listen: \"%s\" is not HOST:PORT",
		    listen);
		return EINVAL;
	}
	memcpy(host, start, n);
	host[n] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, ai)) != 0) {
		snprintf(err, errlen, "[http] listen: cannot resolve %s: %s",
		    listen, gai_strerror(rc));
		return EINVAL;
	}
	return 0;
}

static void
httpd_log_bound(const struct httpd *h, const struct addrinfo *ai)
{
	const union MHD_DaemonInfo *di;
	char host[NI_MAXHOST];

	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "?");
	log_info(ai->ai_family == AF_INET6 ? "http: listening on [%s]:%u%s" :
	    "http: listening on %s:%u%s", host, di ? di->port : 0,
	    h->cfg->http_token ? " (/v1/ needs the bearer token)" : "");
}

static int
httpd_mhd_start(struct httpd *h, const struct addrinfo *ai, char *err,
    size_t errlen)
{
	unsigned int flags;

	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
	    | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, httpd_answer, h,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)HTTPD_REQUEST_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_REQUEST_MAX,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTPD_STACK,
	    MHD_OPTION_NOTIFY_CONNECTION, httpd_connection, h,
	    MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, h,
	    MHD_OPTION_EXTERNAL_LOGGER, httpd_log, h,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "[http] listen: cannot serve %s: %s",
		    h->listen, errno ? strerror(errno) :
		    "libmicrohttpd refused to start");
		return errno ? errno : EADDRNOTAVAIL;
	}
	return 0;
}

static void
httpd_free(struct httpd *h)
{
	pthread_rwlock_destroy(&h->cfg_lock);
	pthread_mutex_destroy(&h->mtx);
	pthread_cond_destroy(&h->cv);
	free(h->listen);
	free(h);
}

int
httpd_start(struct httpd **out, const struct config *cfg, struct cache *c,
    char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	struct httpd *h;
	size_t i;
	int rc;

	*out = NULL;
	if (cfg->http_listen == NULL)
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ENOMEM;
	pthread_rwlock_init(&h->cfg_lock, NULL);
	pthread_mutex_init(&h->mtx, NULL);
	pthread_cond_init(&h->cv, NULL);
	for (i = 0; i < HTTPD_MAX_CONNECTIONS; i++)
		h->slots[i].fd = -1;
	h->cfg = cfg;
	h->c = c;
	if ((h->listen = strdup(cfg->http_listen)) == NULL) {
		rc = ENOMEM;
		goto httpd_free;
	}
	if ((rc = httpd_resolve(h->listen, &ai, err, errlen)) != 0)
		goto httpd_free;
	if ((rc = pthread_create(&h->reaper, NULL, httpd_reap, h)) != 0) {
		snprintf(err, errlen, "http: cannot start a thread: %s",
		    strerror(rc));
		goto ai_free;
	}
	h->reaper_running = 1;
	if ((rc = httpd_mhd_start(h, ai, err, errlen)) != 0)
		goto reaper_stop;
	httpd_log_bound(h, ai);
	freeaddrinfo(ai);
	*out = h;
	return 0;

reaper_stop:
	freeaddrinfo(ai);
	httpd_stop(h);
	return rc;
ai_free:
	freeaddrinfo(ai);
httpd_free:
	httpd_free(h);
	return rc;
}

int
httpd_reload(struct httpd **h, const struct config *cfg, struct cache *c,
    char *err, size_t errlen)
{
	if (*h != NULL && cfg->http_listen != NULL &&
	    strcmp((*h)->listen, cfg->http_listen) == 0) {
		pthread_rwlock_wrlock(&(*h)->cfg_lock);
		(*h)->cfg = cfg;
		pthread_rwlock_unlock(&(*h)->cfg_lock);
		return 0;
	}
	httpd_stop(*h);
	*h = NULL;
	return httpd_start(h, cfg, c, err, errlen);
}

void
httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	/* every connection is closed when it returns */
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	if (h->reaper_running) {
		pthread_mutex_lock(&h->mtx);
		h->quit = 1;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mtx);
		pthread_join(h->reaper, NULL);
	}
	httpd_free(h);
}
