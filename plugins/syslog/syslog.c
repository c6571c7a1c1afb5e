/*
 * syslog.c - the "syslog" output plugin: one RFC 5424 message
 * per event.
 *
 *	[plugin syslog]
 *	facility = daemon		; kern user mail daemon auth syslog lpr
 *					; news uucp cron authpriv ftp local0-7
 *	ident    = flagsync		; APP-NAME: 1-48 printable characters
 *	socket   = /dev/log		; a Unix datagram socket (default), or
 *	server   = logs.example:514	; UDP: HOST[:PORT] or [ADDR][:PORT]
 *
 * A message reads
 *
 *	<29>1 2026-11-29T22:50:15Z host flagsync 812 flag.rollout_changed -
 *	    Default/new_checkout: rollout 25% on -> 50% on [issues SHOP-1]
 *
 * (on one line): PRI is facility * 8 + severity (warning for flag.killed
 * and flag.deleted, notice otherwise), TIMESTAMP the event's "time",
 * MSGID the event type, no structured data, and MSG the change in words,
 * with " (replay)" for replayed events.  Messages stop at 2048 bytes, the
 * size RFC 5424 §6.1 says receivers should accept, without splitting a
 * UTF-8 sequence; control characters from names become '?' so a name
 * cannot forge a second log line.
 *
 * Sending never blocks: a full receiver (EAGAIN, ENOBUFS) or a missing
 * one (ENOENT, ECONNREFUSED) is RETRY, and anything but a full receiver
 * also reconnects before the next try.  A document that is not an event
 * is FAIL.
 *
 * Ownership: the context owns its socket; ident, socket and server point
 * into the host's config, valid until shutdown() returns.
 */
/* For the GNU strerror_r(), which returns the text; the tree passes
 * -D_GNU_SOURCE but the plugin also builds on its own. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <flagsync/plugin.h>

#include "plugutil.h"

#define SYSLOG_MSG_MAX		2048
#define SYSLOG_SOCKET		"/dev/log"
#define SYSLOG_PORT		"514"
#define SYSLOG_IDENT		"flagsync"
#define SYSLOG_FACILITY		3	/* daemon */
#define SYSLOG_APPNAME_MAX	48	/* RFC 5424 §6 */
#define SYSLOG_MSGID_MAX	32
#define SYSLOG_TIME_MAX		64
#define SYSLOG_HOSTNAME_MAX	255
#define SYSLOG_WARNING		4
#define SYSLOG_NOTICE		5

struct syslog_conf {
	int		 facility;
	const char	*ident;
	const char	*socket;	/* NULL when sending over UDP */
	const char	*server;	/* as configured, for messages */
	char		 host[256];	/* server's host, brackets removed */
	char		 port[8];
};

struct syslog_ctx {
	const struct flagsync_host_api *api;
	struct flagsync_host *host;
	struct syslog_conf conf;
	const char	*dest;		/* socket or server, for messages */
	int		 fd;		/* -1: connect before the next send */
	char		 hostname[SYSLOG_HOSTNAME_MAX + 1];
	char		 msg[SYSLOG_MSG_MAX];
	size_t		 msglen;
};

/* A bounded message under construction. */
struct syslog_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 full;		/* something did not fit: append nothing more */
};

static const struct {
	const char	*name;
	int		 code;
} syslog_facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 },
	{ "auth", 4 }, { "syslog", 5 }, { "lpr", 6 }, { "news", 7 },
	{ "uucp", 8 }, { "cron", 9 }, { "authpriv", 10 }, { "ftp", 11 },
	{ "local0", 16 }, { "local1", 17 }, { "local2", 18 },
	{ "local3", 19 }, { "local4", 20 }, { "local5", 21 },
	{ "local6", 22 }, { "local7", 23 },
};

enum syslog_kind {
	SY_WORD,	/* the words alone */
	SY_FIELD,	/* WORDS BEFORE -> AFTER, of a flag-view key */
	SY_CREATED,	/* created (ROLLOUT) */
	SY_LINKED,	/* linked ISSUE (SOURCES) */
	SY_UNLINKED,	/* unlinked ISSUE */
	SY_FINDING,	/* finding opened: DETAIL (or TYPE) */
	SY_FINDING_CLOSED /* finding closed: TYPE, DETAIL */
};

static const struct syslog_change {
	const char	*type;
	enum syslog_kind kind;
	const char	*words;
	const char	*key;
	const char	*unit;
	int		 severity;
} syslog_changes[] = {
	{ "flag.created", SY_CREATED, "created", "rollout", "",
	    SYSLOG_NOTICE },
	{ "flag.deleted", SY_WORD, "deleted", NULL, "", SYSLOG_WARNING },
	{ "flag.killed", SY_WORD, "killed", NULL, "", SYSLOG_WARNING },
	{ "flag.restored", SY_WORD, "restored", NULL, "", SYSLOG_NOTICE },
	{ "flag.rollout_changed", SY_FIELD, "rollout", "rollout", "",
	    SYSLOG_NOTICE },
	{ "flag.rules_changed", SY_FIELD, "rules", "rules", "",
	    SYSLOG_NOTICE },
	{ "flag.default_treatment_changed", SY_FIELD, "default treatment",
	    "default_treatment", "", SYSLOG_NOTICE },
	{ "flag.traffic_changed", SY_FIELD, "traffic", "traffic_allocation",
	    "%", SYSLOG_NOTICE },
	{ "flag.treatments_changed", SY_FIELD, "treatments", "treatments", "",
	    SYSLOG_NOTICE },
	{ "flag.updated", SY_WORD, "saved", NULL, "", SYSLOG_NOTICE },
	{ "link.added", SY_LINKED, "linked", NULL, "", SYSLOG_NOTICE },
	{ "link.removed", SY_UNLINKED, "unlinked", NULL, "", SYSLOG_NOTICE },
	{ "finding.opened", SY_FINDING, "finding opened: ", NULL, "",
	    SYSLOG_WARNING },
	{ "finding.closed", SY_FINDING_CLOSED, "finding closed: ", NULL, "",
	    SYSLOG_NOTICE },
};

/* Keys the host handles for every instance; syslog ignores them. */
static const char *const syslog_keys[] = {
	"socket", "server", "facility", "ident",
	"module", "events", "timeout", NULL
};

/* An RFC 5424 header field: 1..max of PRINTUSASCII (33-126). */
static int
syslog_token_ok(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i == max || (unsigned char)s[i] < 33 ||
		    (unsigned char)s[i] > 126)
			return 0;
	return 1;
}

/* ------------------------------------------------------------ config */

static int
syslog_known(const char *key)
{
	size_t i;

	for (i = 0; syslog_keys[i] != NULL; i++)
		if (strcmp(key, syslog_keys[i]) == 0)
			return 1;
	return 0;
}

static int
syslog_facility(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(syslog_facilities) /
	    sizeof(syslog_facilities[0]); i++)
		if (strcasecmp(name, syslog_facilities[i].name) == 0)
			return syslog_facilities[i].code;
	return -1;
}

/* PORT: a number from 1 to 65535.  Names would need /etc/services. */
static int
syslog_port(const char *s, char *out, size_t outlen)
{
	size_t i;
	long v = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v < 1 || v > 65535)
		return -1;
	snprintf(out, outlen, "%ld", v);
	return 0;
}

/* HOST[:PORT] or [ADDR][:PORT] into c->host and c->port.  0 or -1. */
static int
syslog_server(const char *s, struct syslog_conf *c)
{
	const char *host = s, *end, *port = NULL;

	if (s[0] == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL)
			return -1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		if ((end = strchr(s, ':')) != NULL) {
			/* Which colon would start the port of "::1:514"? */
			if (strchr(end + 1, ':') != NULL)
				return -1;
			port = end + 1;
		} else
			end = s + strlen(s);
	}
	if (end == host || (size_t)(end - host) >= sizeof(c->host))
		return -1;
	memcpy(c->host, host, (size_t)(end - host));
	c->host[end - host] = '\0';
	return syslog_port(port != NULL ? port : SYSLOG_PORT, c->port,
	    sizeof(c->port));
}

static int
syslog_config_dest(const struct flagsync_host_api *api,
    struct flagsync_host *h, struct syslog_conf *c, char *err, size_t errlen)
{
	struct sockaddr_un sa;

	c->socket = api->config_get(h, "socket");
	c->server = api->config_get(h, "server");
	if (c->socket != NULL && c->server != NULL)
		return plug_refuse(api, h, "server", err, errlen, "socket "
		    "and server are exclusive: set one");
	if (c->server != NULL) {
		if (syslog_server(c->server, c) != 0)
			return plug_refuse(api, h, "server", err, errlen,
			    "server = \"%s\": use HOST:PORT or [ADDR]:PORT, "
			    "PORT 1-65535", c->server);
		return 0;
	}
	if (c->socket == NULL)
		c->socket = SYSLOG_SOCKET;
	if (c->socket[0] != '/')
		return plug_refuse(api, h, "socket", err, errlen, "socket = "
		    "\"%s\" is not an absolute path", c->socket);
	if (strlen(c->socket) >= sizeof(sa.sun_path))
		return plug_refuse(api, h, "socket", err, errlen, "socket = "
		    "\"%s\" is longer than a Unix socket path can be (%zu "
		    "bytes)", c->socket, sizeof(sa.sun_path) - 1);
	return 0;
}

/* Reads and checks the instance's keys.  0, or EINVAL with err set. */
static int
syslog_config(const struct flagsync_host_api *api, struct flagsync_host *h,
    struct syslog_conf *c, char *err, size_t errlen)
{
	const char *key, *value;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; (key = api->config_key(h, i, &value)) != NULL; i++)
		if (!syslog_known(key))
			return plug_refuse(api, h, key, err, errlen,
			    "unknown key \"%s\" (the syslog module knows "
			    "socket, server, facility and ident)", key);
	c->facility = SYSLOG_FACILITY;
	if ((value = api->config_get(h, "facility")) != NULL)
		c->facility = syslog_facility(value);
	if (c->facility == -1)
		return plug_refuse(api, h, "facility", err, errlen,
		    "facility = \"%s\": use kern, user, mail, daemon, auth, "
		    "syslog, lpr, news, uucp, cron, authpriv, ftp or local0 "
		    "to local7", value);
	if ((c->ident = api->config_get(h, "ident")) == NULL)
		c->ident = SYSLOG_IDENT;
	if (!syslog_token_ok(c->ident, SYSLOG_APPNAME_MAX))
		return plug_refuse(api, h, "ident", err, errlen, "ident = "
		    "\"%s\": use 1 to %d printable ASCII characters, no "
		    "spaces", c->ident, SYSLOG_APPNAME_MAX);
	return syslog_config_dest(api, h, c, err, errlen);
}

/* --------------------------------------------------------- transport */

static void
syslog_close(struct syslog_ctx *sc)
{
	if (sc->fd != -1)
		close(sc->fd);
	sc->fd = -1;
}

static int
syslog_connect_unix(struct syslog_ctx *sc, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	char ebuf[128];
	int fd, e;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sc->conf.socket, strlen(sc->conf.socket) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		if (fd != -1)
			close(fd);
		plug_err(err, errlen, "cannot connect to %s: %s", sc->dest,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
		return -1;
	}
	sc->fd = fd;
	return 0;
}

/* Connects to the first address of the server that takes it. */
static int
syslog_connect_udp(struct syslog_ctx *sc, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char ebuf[128];
	int fd = -1, rc, e = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(sc->conf.host, sc->conf.port, &hints, &res);
	if (rc != 0) {
		plug_err(err, errlen, "cannot resolve %s: %s", sc->dest,
		    rc == EAI_SYSTEM ? plug_strerror(errno, ebuf,
		    sizeof(ebuf)) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		plug_err(err, errlen, "cannot connect to %s: %s", sc->dest,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
		return -1;
	}
	sc->fd = fd;
	return 0;
}

static int
syslog_connect(struct syslog_ctx *sc, char *err, size_t errlen)
{
	if (sc->conf.socket != NULL)
		return syslog_connect_unix(sc, err, errlen);
	return syslog_connect_udp(sc, err, errlen);
}

/* Sends sc->msg.  FLAGSYNC_OK or FLAGSYNC_RETRY with err set. */
static int
syslog_send(struct syslog_ctx *sc, char *err, size_t errlen)
{
	char ebuf[128];
	ssize_t n;
	int e;

	if (sc->fd == -1 && syslog_connect(sc, err, errlen) != 0)
		return FLAGSYNC_RETRY;
	do
		n = send(sc->fd, sc->msg, sc->msglen,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		e = errno;
		/* A full receiver drains; anything else wants a new socket. */
		if (e != EAGAIN && e != EWOULDBLOCK && e != ENOBUFS)
			syslog_close(sc);
		plug_err(err, errlen, "cannot send to %s: %s", sc->dest,
		    plug_strerror(e, ebuf, sizeof(ebuf)));
		return FLAGSYNC_RETRY;
	}
	if ((size_t)n != sc->msglen) {
		plug_err(err, errlen, "short send to %s (%zd of %zu bytes)",
		    sc->dest, n, sc->msglen);
		return FLAGSYNC_RETRY;
	}
	return FLAGSYNC_OK;
}

/* RFC 5424 wants the name of the machine; "-" when it has no good one. */
static void
syslog_hostname(struct syslog_ctx *sc)
{
	if (gethostname(sc->hostname, sizeof(sc->hostname)) == -1)
		sc->hostname[0] = '\0';
	sc->hostname[sizeof(sc->hostname) - 1] = '\0';
	if (!syslog_token_ok(sc->hostname, SYSLOG_HOSTNAME_MAX))
		snprintf(sc->hostname, sizeof(sc->hostname), "-");
}

/* ----------------------------------------------------------- message */

/* Appends what fits, stopping before a character that would not. */
static void
syslog_put(struct syslog_buf *b, const char *s, size_t n)
{
	if (b->full)
		return;
	if (n > b->cap - b->len) {
		n = b->cap - b->len;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		b->full = 1;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
syslog_puts(struct syslog_buf *b, const char *s)
{
	syslog_put(b, s, strlen(s));
}

/* Text from the event: control characters could start a forged line. */
static void
syslog_text(struct syslog_buf *b, const char *s)
{
	size_t n;

	while (*s != '\0') {
		for (n = 0; s[n] != '\0' && (unsigned char)s[n] >= 0x20 &&
		    s[n] != 0x7f; n++)
			;
		syslog_put(b, s, n);
		s += n;
		if (*s != '\0') {
			syslog_puts(b, "?");
			s++;
		}
	}
}

static void syslog_printf(struct syslog_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* For numbers and other short ASCII. */
static void
syslog_printf(struct syslog_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		syslog_put(b, tmp, strlen(tmp));
}

static json_object *
syslog_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *
syslog_str(json_object *o, const char *key)
{
	json_object *v = syslog_get(o, key);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void syslog_value(struct syslog_buf *, json_object *, const char *);

/* A rollout: "75% off" or "3 rules". */
static void
syslog_rollout(struct syslog_buf *b, json_object *r)
{
	json_object *v;
	int64_t n;

	if ((v = syslog_get(r, "percentage")) != NULL) {
		syslog_value(b, v, "%");
		syslog_puts(b, " ");
		syslog_value(b, syslog_get(r, "treatment"), "");
	} else if ((v = syslog_get(r, "rules")) != NULL) {
		n = json_object_get_int64(v);
		syslog_printf(b, "%" PRId64 " %s", n,
		    n == 1 ? "rule" : "rules");
	} else
		syslog_puts(b, "?");
}

/* A flag-view value in words; lists joined with ','. */
static void
syslog_value(struct syslog_buf *b, json_object *v, const char *unit)
{
	size_t i;

	switch (json_object_get_type(v)) {
	case json_type_null:
		syslog_puts(b, "none");
		break;
	case json_type_boolean:
		syslog_puts(b, json_object_get_boolean(v) ? "yes" : "no");
		break;
	case json_type_int:
		syslog_printf(b, "%" PRId64 "%s", json_object_get_int64(v),
		    unit);
		break;
	case json_type_double:
		syslog_printf(b, "%g%s", json_object_get_double(v), unit);
		break;
	case json_type_string:
		syslog_text(b, json_object_get_string(v));
		break;
	case json_type_array:
		for (i = 0; i < json_object_array_length(v); i++) {
			if (i > 0)
				syslog_puts(b, ",");
			syslog_value(b, json_object_array_get_idx(v, i), unit);
		}
		break;
	case json_type_object:
		syslog_rollout(b, v);
		break;
	}
}

static const struct syslog_change *
syslog_change(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(syslog_changes) / sizeof(syslog_changes[0]);
	    i++)
		if (strcmp(type, syslog_changes[i].type) == 0)
			return &syslog_changes[i];
	return NULL;
}

/* The change in words: "rollout 25% on -> 50% on", "linked SHOP-7". */
static void
syslog_words(struct syslog_buf *b, const struct syslog_change *ch,
    json_object *doc)
{
	json_object *v;

	syslog_puts(b, ch->words);
	switch (ch->kind) {
	case SY_WORD:
		break;
	case SY_FIELD:
		syslog_puts(b, " ");
		syslog_value(b, syslog_get(syslog_get(doc, "before"), ch->key),
		    ch->unit);
		syslog_puts(b, " -> ");
		syslog_value(b, syslog_get(syslog_get(doc, "after"), ch->key),
		    ch->unit);
		break;
	case SY_CREATED:
		v = syslog_get(syslog_get(doc, "after"), ch->key);
		if (v != NULL && !json_object_is_type(v, json_type_null)) {
			syslog_puts(b, " (");
			syslog_value(b, v, ch->unit);
			syslog_puts(b, ")");
		}
		break;
	case SY_LINKED:
	case SY_UNLINKED:
		syslog_puts(b, " ");
		syslog_text(b, syslog_str(doc, "issue"));
		v = syslog_get(doc, "sources");
		if (ch->kind == SY_LINKED &&
		    json_object_is_type(v, json_type_array) &&
		    json_object_array_length(v) > 0) {
			syslog_puts(b, " (");
			syslog_value(b, v, "");
			syslog_puts(b, ")");
		}
		break;
	case SY_FINDING:
	case SY_FINDING_CLOSED:
		/* flagsync words the finding ("SHOP-12 Done 21 days,
		 * new_checkout still 50% on"); an opened one says it alone */
		if (ch->kind == SY_FINDING_CLOSED ||
		    syslog_str(doc, "detail") == NULL)
			syslog_text(b, syslog_str(doc, "finding"));
		if (ch->kind == SY_FINDING_CLOSED &&
		    syslog_str(doc, "detail") != NULL)
			syslog_puts(b, ", ");
		if (syslog_str(doc, "detail") != NULL)
			syslog_text(b, syslog_str(doc, "detail"));
		break;
	}
}

/* Everything up to MSG. */
static void
syslog_header(struct syslog_ctx *sc, struct syslog_buf *b, int severity,
    const char *type, json_object *doc, int64_t time_ms)
{
	const char *when = syslog_str(doc, "time");
	char stamp[40];
	struct tm tm;
	time_t t;

	syslog_printf(b, "<%d>1 ", sc->conf.facility * 8 + severity);
	if (syslog_token_ok(when, SYSLOG_TIME_MAX))
		syslog_puts(b, when);
	else {
		/* No usable "time": the commit time the host gave. */
		t = (time_t)(time_ms / 1000);
		if (gmtime_r(&t, &tm) != NULL &&
		    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) >
		    0)
			syslog_printf(b, "%s.%03dZ", stamp,
			    (int)(time_ms % 1000));
		else
			syslog_puts(b, "-");
	}
	syslog_printf(b, " %s %s %ld %s - ", sc->hostname, sc->conf.ident,
	    (long)getpid(), syslog_token_ok(type, SYSLOG_MSGID_MAX) ? type :
	    "-");
}

/* The field an event cannot do without that doc lacks, or NULL. */
static const char *
syslog_missing(json_object *doc, const struct syslog_change *ch)
{
	if (syslog_str(doc, "type") == NULL)
		return "type";
	if (syslog_str(doc, "project") == NULL)
		return "project";
	if (syslog_str(doc, "flag") == NULL)
		return "flag";
	if (ch != NULL && (ch->kind == SY_LINKED || ch->kind == SY_UNLINKED) &&
	    syslog_str(doc, "issue") == NULL)
		return "issue";
	if (ch != NULL && (ch->kind == SY_FINDING ||
	    ch->kind == SY_FINDING_CLOSED) &&
	    syslog_str(doc, "finding") == NULL)
		return "finding";
	return NULL;
}

/* Formats the message into sc->msg.  FLAGSYNC_OK or FLAGSYNC_FAIL. */
static int
syslog_format(struct syslog_ctx *sc, const struct flagsync_event *ev,
    json_object *doc, char *err, size_t errlen)
{
	struct syslog_change other = {
		NULL, SY_WORD, NULL, NULL, "", SYSLOG_NOTICE
	};
	struct syslog_buf b = { sc->msg, 0, sizeof(sc->msg), 0 };
	const struct syslog_change *ch = NULL;
	const char *type, *missing;
	json_object *issues, *replay;

	type = syslog_str(doc, "type");
	if (type != NULL)
		ch = syslog_change(type);
	if ((missing = syslog_missing(doc, ch)) != NULL) {
		plug_err(err, errlen, "event %" PRIu64 " is malformed: no "
		    "\"%s\" string", ev->seq, missing);
		return FLAGSYNC_FAIL;
	}
	/* A type newer than this plugin is said by name. */
	if (ch == NULL) {
		other.type = other.words = type;
		ch = &other;
	}
	syslog_header(sc, &b, ch->severity, type, doc, ev->time_ms);
	syslog_text(&b, syslog_str(doc, "project"));
	syslog_puts(&b, "/");
	syslog_text(&b, syslog_str(doc, "flag"));
	syslog_puts(&b, ": ");
	syslog_words(&b, ch, doc);
	issues = syslog_get(doc, "issues");
	if (json_object_is_type(issues, json_type_array) &&
	    json_object_array_length(issues) > 0) {
		syslog_puts(&b, " [issues ");
		syslog_value(&b, issues, "");
		syslog_puts(&b, "]");
	}
	replay = syslog_get(doc, "replay");
	if (ev->replay || (json_object_is_type(replay, json_type_boolean) &&
	    json_object_get_boolean(replay)))
		syslog_puts(&b, " (replay)");
	sc->msglen = b.len;
	return FLAGSYNC_OK;
}

/* Parses ev->json.  FLAGSYNC_OK, or FAIL / RETRY (no memory), err set. */
static int
syslog_parse(const struct flagsync_event *ev, json_object **doc, char *err,
    size_t errlen)
{
	struct json_tokener *tok;
	enum json_tokener_error je;
	size_t end;

	*doc = NULL;
	if (ev->json == NULL || ev->json_len > INT_MAX) {
		plug_err(err, errlen, "event %" PRIu64 " has no usable JSON "
		    "document", ev->seq);
		return FLAGSYNC_FAIL;
	}
	if ((tok = json_tokener_new()) == NULL) {
		plug_err(err, errlen, "out of memory");
		return FLAGSYNC_RETRY;
	}
	*doc = json_tokener_parse_ex(tok, ev->json, (int)ev->json_len);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (je == json_tokener_success && end < ev->json_len &&
	    strchr(" \t\r\n", ev->json[end]) != NULL)
		end++;
	if (je == json_tokener_success && end == ev->json_len &&
	    json_object_is_type(*doc, json_type_object))
		return FLAGSYNC_OK;
	plug_err(err, errlen, "event %" PRIu64 " is malformed: %s", ev->seq,
	    je == json_tokener_continue ? "the JSON document is cut short" :
	    je != json_tokener_success ? json_tokener_error_desc(je) :
	    end < ev->json_len ? "text after the JSON document" :
	    "not a JSON object");
	json_object_put(*doc);
	*doc = NULL;
	return FLAGSYNC_FAIL;
}

/* ------------------------------------------------------------ plugin */

static int
syslog_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct syslog_ctx *sc = ctx;
	json_object *doc;
	int rc;

	if ((rc = syslog_parse(ev, &doc, err, errlen)) != FLAGSYNC_OK)
		return rc;
	rc = syslog_format(sc, ev, doc, err, errlen);
	json_object_put(doc);
	if (rc != FLAGSYNC_OK)
		return rc;
	return syslog_send(sc, err, errlen);
}

static int
syslog_check_config(const struct flagsync_host_api *api,
    struct flagsync_host *h, char *err, size_t errlen)
{
	struct syslog_conf c;

	return syslog_config(api, h, &c, err, errlen);
}

static int
syslog_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct syslog_ctx *sc;
	char cerr[256];
	int rc;

	if ((sc = plug_ctx_new(sizeof(*sc), err, errlen)) == NULL)
		return ENOMEM;
	if ((rc = syslog_config(api, h, &sc->conf, err, errlen)) != 0) {
		free(sc);
		return rc;
	}
	sc->api = api;
	sc->host = h;
	sc->fd = -1;
	sc->dest = sc->conf.socket != NULL ? sc->conf.socket : sc->conf.server;
	syslog_hostname(sc);
	/* Not fatal: the receiver may come up later; events wait. */
	if (syslog_connect(sc, cerr, sizeof(cerr)) != 0)
		api->log(h, FLAGSYNC_LOG_WARNING, "%s; events wait", cerr);
	else
		api->log(h, FLAGSYNC_LOG_DEBUG, "sending events to %s",
		    sc->dest);
	*ctx = sc;
	return 0;
}

static void
syslog_reopen(void *ctx)
{
	struct syslog_ctx *sc = ctx;
	char cerr[256];

	syslog_close(sc);
	syslog_hostname(sc);
	if (syslog_connect(sc, cerr, sizeof(cerr)) != 0)
		sc->api->log(sc->host, FLAGSYNC_LOG_WARNING, "%s; events wait",
		    cerr);
}

static void
syslog_shutdown(void *ctx)
{
	struct syslog_ctx *sc = ctx;

	if (sc == NULL)
		return;
	syslog_close(sc);
	free(sc);
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "syslog",
	.version = "1.0",
	.check_config = syslog_check_config,
	.init = syslog_init,
	.deliver = syslog_deliver,
	.reopen = syslog_reopen,
	.shutdown = syslog_shutdown,
);
