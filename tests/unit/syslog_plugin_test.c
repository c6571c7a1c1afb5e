/*
 * syslog_plugin_test.c - the syslog output plugin, against the mock host
 * and real receiving sockets: every message is checked byte for byte.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <flagsync/plugin.h>

#include "plugin_host_mock.h"

/* The plugin under test, compiled into this program. */
extern const struct flagsync_plugin flagsync_plugin;

#define LOCAL3		19
#define WARNING		4
#define NOTICE		5
#define IDENT		"flagsync-test"
#define TIME		"2026-11-29T22:50:15Z"
#define TIME_MS		INT64_C(1795992615000)

/* A flag view with the fields the words come from; killed is
 * the bare word true or false. */
#define ACTIVE_true	"false"
#define ACTIVE_false	"true"
#define VIEW(killed, dt, traffic, rules, rollout, treatments)		\
	"{\"project\":\"Default\",\"environment\":\"Production\","	\
	"\"flag\":\"new_checkout\",\"active\":" ACTIVE_##killed	\
	",\"killed\":" #killed ","					\
	"\"default_treatment\":\"" dt "\",\"traffic_allocation\":"	\
	traffic ",\"default_rule\":[],\"rules\":" rules ","		\
	"\"rollout\":" rollout ",\"treatments\":" treatments ","	\
	"\"last_updated\":\"2023-11-14T22:21:40Z\","			\
	"\"url\":\"https://app.split.io/x\",\"issues\":[\"SHOP-1\"]}"

#define R25ON	"{\"percentage\":25,\"treatment\":\"on\"}"
#define R50ON	"{\"percentage\":50,\"treatment\":\"on\"}"
#define R75OFF	"{\"percentage\":75,\"treatment\":\"off\"}"
#define ONOFF	"[\"on\",\"off\"]"
#define BASE	VIEW(false, "off", "100", "0", R25ON, ONOFF)

#define FLAGEV(issues, before, after)					\
	"\"issues\":" issues ",\"before\":" before ",\"after\":" after

struct fixture {
	char		 dir[256];
	char		 sock[300];
	int		 rx;		/* the receiving socket */
	struct flagsync_host *h;
	void		*ctx;
	char		 err[512];
	char		 hostname[256];
};

struct ev_case {
	const char	*type;
	const char	*rest;		/* the document after "flag" */
	int		 severity;
	const char	*msg;		/* what MSG must be */
};

static const struct ev_case cases[] = {
	{ "flag.rollout_changed", FLAGEV("[\"SHOP-1\",\"SHOP-7\"]", BASE,
	    VIEW(false, "off", "100", "0", R50ON, ONOFF)), NOTICE,
	    "Default/new_checkout: rollout 25% on -> 50% on "
	    "[issues SHOP-1,SHOP-7]" },
	{ "flag.rollout_changed", FLAGEV("[\"SHOP-1\"]",
	    VIEW(false, "off", "100", "0", R75OFF, ONOFF),
	    VIEW(false, "off", "100", "2", "{\"rules\":2}", ONOFF)), NOTICE,
	    "Default/new_checkout: rollout 75% off -> 2 rules "
	    "[issues SHOP-1]" },
	{ "flag.rollout_changed", FLAGEV("[]",
	    VIEW(false, "off", "100", "1", "{\"rules\":1}", ONOFF), BASE),
	    NOTICE, "Default/new_checkout: rollout 1 rule -> 25% on" },
	{ "flag.killed", FLAGEV("[\"SHOP-1\"]", BASE,
	    VIEW(true, "off", "100", "0", R25ON, ONOFF)), WARNING,
	    "Default/new_checkout: killed [issues SHOP-1]" },
	{ "flag.restored", FLAGEV("[\"SHOP-1\"]",
	    VIEW(true, "off", "100", "0", R25ON, ONOFF), BASE), NOTICE,
	    "Default/new_checkout: restored [issues SHOP-1]" },
	{ "flag.created", FLAGEV("[]", "null",
	    VIEW(false, "off", "100", "0", R50ON, ONOFF)), NOTICE,
	    "Default/new_checkout: created (50% on)" },
	{ "flag.created", FLAGEV("[]", "null",
	    VIEW(false, "off", "100", "3", "{\"rules\":3}", ONOFF)), NOTICE,
	    "Default/new_checkout: created (3 rules)" },
	{ "flag.created", FLAGEV("[]", "null",
	    VIEW(false, "off", "100", "0", "null", ONOFF)), NOTICE,
	    "Default/new_checkout: created" },
	{ "flag.deleted", FLAGEV("[\"SHOP-2\"]", BASE, "null"), WARNING,
	    "Default/new_checkout: deleted [issues SHOP-2]" },
	{ "flag.rules_changed", FLAGEV("[\"SHOP-1\"]", BASE,
	    VIEW(false, "off", "100", "1", "{\"rules\":1}", ONOFF)), NOTICE,
	    "Default/new_checkout: rules 0 -> 1 [issues SHOP-1]" },
	{ "flag.default_treatment_changed", FLAGEV("[\"SHOP-1\"]", BASE,
	    VIEW(false, "on", "100", "0", R25ON, ONOFF)), NOTICE,
	    "Default/new_checkout: default treatment off -> on "
	    "[issues SHOP-1]" },
	{ "flag.traffic_changed", FLAGEV("[\"SHOP-1\"]", BASE,
	    VIEW(false, "off", "40", "0", R25ON, ONOFF)), NOTICE,
	    "Default/new_checkout: traffic 100% -> 40% [issues SHOP-1]" },
	{ "flag.treatments_changed", FLAGEV("[\"SHOP-1\"]", BASE,
	    VIEW(false, "off", "100", "0", R25ON,
	    "[\"on\",\"off\",\"v2\"]")), NOTICE,
	    "Default/new_checkout: treatments on,off -> on,off,v2 "
	    "[issues SHOP-1]" },
	{ "flag.updated", FLAGEV("[\"SHOP-1\"]", BASE, BASE), NOTICE,
	    "Default/new_checkout: saved [issues SHOP-1]" },
	{ "link.added", "\"issue\":\"SHOP-7\",\"sources\":[\"split-tag\"],"
	    "\"issues\":[\"SHOP-1\",\"SHOP-7\"]", NOTICE,
	    "Default/new_checkout: linked SHOP-7 (split-tag) "
	    "[issues SHOP-1,SHOP-7]" },
	{ "link.added", "\"issue\":\"SHOP-7\",\"sources\":[\"split-tag\","
	    "\"links-file\"],\"issues\":[\"SHOP-7\"]", NOTICE,
	    "Default/new_checkout: linked SHOP-7 (split-tag,links-file) "
	    "[issues SHOP-7]" },
	{ "link.removed", "\"issue\":\"SHOP-7\",\"sources\":[\"split-tag\"],"
	    "\"issues\":[\"SHOP-1\"]", NOTICE,
	    "Default/new_checkout: unlinked SHOP-7 [issues SHOP-1]" },
	{ "link.removed", "\"issue\":\"SHOP-7\",\"sources\":[],"
	    "\"issues\":[]", NOTICE,
	    "Default/new_checkout: unlinked SHOP-7" },
	/* Findings: the detail flagsync words, or the type alone. */
	{ "finding.opened", "\"finding\":\"done-but-partial\","
	    "\"issue\":\"SHOP-12\",\"since\":\"2026-01-01T00:00:00Z\","
	    "\"detail\":\"SHOP-12 Done 21 days, new_checkout still 50% on\","
	    "\"issues\":[\"SHOP-12\"]", WARNING,
	    "Default/new_checkout: finding opened: SHOP-12 Done 21 days, "
	    "new_checkout still 50% on [issues SHOP-12]" },
	{ "finding.closed", "\"finding\":\"fully-rolled-out\","
	    "\"issue\":null,\"detail\":\"new_checkout now 60% on\","
	    "\"issues\":[]", NOTICE,
	    "Default/new_checkout: finding closed: fully-rolled-out, "
	    "new_checkout now 60% on" },
	{ "finding.opened", "\"finding\":\"unlinked\",\"issue\":null,"
	    "\"detail\":null,\"issues\":[]", WARNING,
	    "Default/new_checkout: finding opened: unlinked" },
	/* A type this plugin does not know yet is said by name. */
	{ "flag.renamed", FLAGEV("[]", BASE, BASE), NOTICE,
	    "Default/new_checkout: flag.renamed" },
};

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

/* A Unix datagram socket bound at path. */
static int
bind_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int
setup(void **state)
{
	struct fixture *fx;
	const char *tmp;
	int n;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	fx->rx = -1;
	/* Short: a Unix socket path has room for 107 bytes only. */
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0' ||
	    strlen(tmp) > 60)
		tmp = "/tmp";
	n = snprintf(fx->dir, sizeof(fx->dir), "%s/syslog_test.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(fx->dir) || mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->sock, sizeof(fx->sock), "%s/log", fx->dir);
	if (gethostname(fx->hostname, sizeof(fx->hostname)) != 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->ctx != NULL)
		flagsync_plugin.shutdown(fx->ctx);
	mock_host_free(fx->h);
	if (fx->rx != -1)
		close(fx->rx);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Starts an instance with facility local3 and ident IDENT, sending to
 * socket = fx->sock, or to server when it is not NULL. */
static void
start(struct fixture *fx, const char *server)
{
	struct mock_config keys[] = {
		{ "module", "syslog" },
		{ "facility", "local3" },
		{ "ident", IDENT },
		{ server != NULL ? "server" : "socket",
		    server != NULL ? server : fx->sock },
	};

	fx->h = mock_host_create("syslog", keys, 4);
	assert_non_null(fx->h);
	assert_int_equal(flagsync_plugin.check_config(mock_host_api(), fx->h,
	    fx->err, sizeof(fx->err)), 0);
	assert_int_equal(flagsync_plugin.init(mock_host_api(), fx->h,
	    &fx->ctx, fx->err, sizeof(fx->err)), 0);
	assert_non_null(fx->ctx);
}

static int
deliver_json(struct fixture *fx, const char *json, int replay)
{
	struct flagsync_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.struct_size = sizeof(ev);
	ev.seq = 42;
	ev.time_ms = TIME_MS;
	ev.type = "flag.updated";
	ev.project = "Default";
	ev.flag = "new_checkout";
	ev.json = json;
	ev.json_len = strlen(json);
	ev.replay = replay;
	fx->err[0] = '\0';
	return flagsync_plugin.deliver(fx->ctx, &ev, fx->err,
	    sizeof(fx->err));
}

/* Delivers the event of type with the rest of the document; replay 1
 * marks it in the document ("replay": true), 2 in the struct as well. */
static int
deliver(struct fixture *fx, const char *type, const char *flag,
    const char *rest, int replay)
{
	char *json;
	int rc;

	assert_true(asprintf(&json, "{\"seq\":42,\"time\":\"" TIME "\","
	    "\"type\":\"%s\",\"project\":\"Default\","
	    "\"environment\":\"Production\",\"flag\":\"%s\",%s%s}", type, flag,
	    rest, replay ? ",\"replay\":true" : "") > 0);
	rc = deliver_json(fx, json, replay > 1);
	free(json);
	return rc;
}

/* The next datagram on fd, NUL-terminated; its length. */
static size_t
receive(int fd, char *buf, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 5000), 1);
	n = recv(fd, buf, cap - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void
assert_nothing_sent(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 0), 0);
}

/* Receives one message and checks all of it. */
static void
expect(struct fixture *fx, int fd, int severity, const char *msgid,
    const char *msg)
{
	char got[4096], *want;

	assert_true(asprintf(&want, "<%d>1 " TIME " %s " IDENT " %ld %s - %s",
	    LOCAL3 * 8 + severity, fx->hostname, (long)getpid(), msgid,
	    msg) > 0);
	receive(fd, got, sizeof(got));
	assert_string_equal(got, want);
	free(want);
}

static void
test_every_event_type(void **state)
{
	struct fixture *fx = *state;
	char *msg;
	size_t i;

	fx->rx = bind_unix(fx->sock);
	start(fx, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(deliver(fx, cases[i].type, "new_checkout",
		    cases[i].rest, 0), FLAGSYNC_OK);
		expect(fx, fx->rx, cases[i].severity, cases[i].type,
		    cases[i].msg);
	}
	/* The same events again, as `flagsync replay` sends them. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(deliver(fx, cases[i].type, "new_checkout",
		    cases[i].rest, 1), FLAGSYNC_OK);
		assert_true(asprintf(&msg, "%s (replay)", cases[i].msg) > 0);
		expect(fx, fx->rx, cases[i].severity, cases[i].type, msg);
		free(msg);
	}
	assert_int_equal(mock_host_outstanding(fx->h), 0);
}

/* Names from Split could carry a newline and forge a second line. */
static void
test_control_characters(void **state)
{
	struct fixture *fx = *state;

	fx->rx = bind_unix(fx->sock);
	start(fx, NULL);
	assert_int_equal(deliver(fx, "flag.killed", "new\\ncheck\\u0007out",
	    FLAGEV("[\"SHOP-1\"]", BASE, BASE), 0), FLAGSYNC_OK);
	expect(fx, fx->rx, WARNING, "flag.killed",
	    "Default/new?check?out: killed [issues SHOP-1]");
	/* UTF-8 passes as it is. */
	assert_int_equal(deliver(fx, "flag.updated", "caf\xc3\xa9",
	    FLAGEV("[]", BASE, BASE), 0), FLAGSYNC_OK);
	expect(fx, fx->rx, NOTICE, "flag.updated",
	    "Default/caf\xc3\xa9: saved");
}

/* Without "time" the commit time of the event is used. */
static void
test_time_fallback(void **state)
{
	struct fixture *fx = *state;
	char got[4096], want[512];

	fx->rx = bind_unix(fx->sock);
	start(fx, NULL);
	assert_int_equal(deliver_json(fx, "{\"seq\":42,"
	    "\"type\":\"flag.killed\",\"project\":\"Default\","
	    "\"flag\":\"f\"}", 0), FLAGSYNC_OK);
	receive(fx->rx, got, sizeof(got));
	snprintf(want, sizeof(want), "<%d>1 2026-11-29T22:50:15.000Z %s "
	    IDENT " %ld flag.killed - Default/f: killed",
	    LOCAL3 * 8 + WARNING, fx->hostname, (long)getpid());
	assert_string_equal(got, want);
}

#define EURO	"\xe2\x82\xac"
#define EUROS	EURO EURO EURO EURO EURO EURO EURO EURO EURO EURO

/* Messages stop at 2048 bytes, between two UTF-8 characters. */
static void
test_truncation(void **state)
{
	struct fixture *fx = *state;
	char issues[16384], full[16384], got[4096], flag[16], *rest;
	size_t i, len, n, cut = 0;
	int k;

	fx->rx = bind_unix(fx->sock);
	start(fx, NULL);
	/* 200 issues of ten 3-byte characters and at most 5 ASCII bytes. */
	for (i = 0, len = 0; i < 200; i++)
		len += (size_t)snprintf(issues + len, sizeof(issues) - len,
		    "%s\"" EUROS "-%zu\"", i ? "," : "", i);
	assert_true(asprintf(&rest, "\"issues\":[%s]", issues) > 0);
	/* Flag names of 1-8 bytes move the cut over 8 bytes in a row,
	 * some of them inside a character whatever the hostname. */
	for (k = 1; k <= 8; k++) {
		snprintf(flag, sizeof(flag), "%.*s", k, "ffffffff");
		assert_int_equal(deliver(fx, "flag.updated", flag, rest, 0),
		    FLAGSYNC_OK);
		n = receive(fx->rx, got, sizeof(got));
		len = (size_t)snprintf(full, sizeof(full),
		    "<%d>1 " TIME " %s " IDENT " %ld flag.updated - "
		    "Default/%s: saved [issues ", LOCAL3 * 8 + NOTICE,
		    fx->hostname, (long)getpid(), flag);
		for (i = 0; i < 200; i++)
			len += (size_t)snprintf(full + len, sizeof(full) - len,
			    "%s" EUROS "-%zu", i ? "," : "", i);
		assert_true(len > 2048);
		assert_true(n <= 2048 && n > 2048 - 3);
		assert_memory_equal(got, full, n);
		/* What follows the cut starts a character. */
		assert_int_not_equal((unsigned char)full[n] & 0xc0, 0x80);
		if (n < 2048)
			cut++;
	}
	assert_true(cut > 0);
	free(rest);
}

static void
test_udp_server(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	char server[64];

	fx->rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fx->rx != -1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fx->rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fx->rx, (struct sockaddr *)&sa, &salen),
	    0);
	snprintf(server, sizeof(server), "127.0.0.1:%u",
	    (unsigned)ntohs(sa.sin_port));
	start(fx, server);
	assert_int_equal(deliver(fx, cases[0].type, "new_checkout",
	    cases[0].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[0].severity, cases[0].type, cases[0].msg);
	assert_int_equal(deliver(fx, cases[3].type, "new_checkout",
	    cases[3].rest, 2), FLAGSYNC_OK);
	expect(fx, fx->rx, WARNING, "flag.killed",
	    "Default/new_checkout: killed [issues SHOP-1] (replay)");
}

static void
test_udp6_server(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in6 sa;
	socklen_t salen = sizeof(sa);
	char server[64];

	fx->rx = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_loopback;
	if (fx->rx == -1 ||
	    bind(fx->rx, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* No IPv6 loopback here; the bracket form is checked by
		 * test_check_config. */
		print_message("no IPv6 loopback: [::1] delivery not tried\n");
		return;
	}
	assert_int_equal(getsockname(fx->rx, (struct sockaddr *)&sa, &salen),
	    0);
	snprintf(server, sizeof(server), "[::1]:%u",
	    (unsigned)ntohs(sa.sin6_port));
	start(fx, server);
	assert_int_equal(deliver(fx, cases[0].type, "new_checkout",
	    cases[0].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[0].severity, cases[0].type, cases[0].msg);
}

/* No receiver: RETRY naming the socket; once it is there, delivery. */
static void
test_missing_socket_retry(void **state)
{
	struct fixture *fx = *state;

	start(fx, NULL);
	assert_true(mock_host_log_has(fx->h, FLAGSYNC_LOG_WARNING, fx->sock));
	assert_int_equal(deliver(fx, cases[3].type, "new_checkout",
	    cases[3].rest, 0), FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, fx->sock));
	assert_non_null(strstr(fx->err, strerror(ENOENT)));

	fx->rx = bind_unix(fx->sock);
	assert_int_equal(deliver(fx, cases[3].type, "new_checkout",
	    cases[3].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[3].severity, cases[3].type, cases[3].msg);
}

/* The receiver restarts (journald does): RETRY, then reconnect. */
static void
test_receiver_restart(void **state)
{
	struct fixture *fx = *state;

	fx->rx = bind_unix(fx->sock);
	start(fx, NULL);
	assert_int_equal(deliver(fx, cases[0].type, "new_checkout",
	    cases[0].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[0].severity, cases[0].type, cases[0].msg);

	close(fx->rx);
	fx->rx = -1;
	assert_int_equal(unlink(fx->sock), 0);
	assert_int_equal(deliver(fx, cases[0].type, "new_checkout",
	    cases[0].rest, 0), FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, fx->sock));
	assert_non_null(strstr(fx->err, strerror(ECONNREFUSED)));

	fx->rx = bind_unix(fx->sock);
	assert_int_equal(deliver(fx, cases[0].type, "new_checkout",
	    cases[0].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[0].severity, cases[0].type, cases[0].msg);

	/* SIGHUP reconnects at once, with no failed send first. */
	close(fx->rx);
	assert_int_equal(unlink(fx->sock), 0);
	fx->rx = bind_unix(fx->sock);
	flagsync_plugin.reopen(fx->ctx);
	assert_int_equal(deliver(fx, cases[3].type, "new_checkout",
	    cases[3].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[3].severity, cases[3].type, cases[3].msg);
}

/* A receiver that does not read: RETRY at once, never a blocked send. */
static void
test_full_receiver(void **state)
{
	struct fixture *fx = *state;
	char got[4096];
	int i, rc = FLAGSYNC_OK, sent = 0;

	fx->rx = bind_unix(fx->sock);
	start(fx, NULL);
	/* A send that blocks would hang here: let it kill the test. */
	alarm(30);
	for (i = 0; i < 100000 && rc == FLAGSYNC_OK; i++)
		if ((rc = deliver(fx, cases[0].type, "new_checkout",
		    cases[0].rest, 0)) == FLAGSYNC_OK)
			sent++;
	alarm(0);
	assert_int_equal(rc, FLAGSYNC_RETRY);
	assert_true(sent > 0);
	assert_non_null(strstr(fx->err, fx->sock));
	assert_non_null(strstr(fx->err, strerror(EAGAIN)));
	while (sent-- > 0)
		receive(fx->rx, got, sizeof(got));
	assert_int_equal(deliver(fx, cases[3].type, "new_checkout",
	    cases[3].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[3].severity, cases[3].type, cases[3].msg);
}

/* What is not an event is a dead letter, and nothing is sent. */
static void
test_malformed_fail(void **state)
{
	static const struct {
		const char	*json;
		const char	*want;
	} bad[] = {
		{ "{\"seq\":42,\"type\":", "is malformed" },
		{ "{not json}", "is malformed" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"seq\":42} trailing", "text after the JSON document" },
		{ "{\"type\":\"flag.killed\",\"flag\":\"f\"}",
		    "no \"project\" string" },
		{ "{\"type\":\"flag.killed\",\"project\":\"P\"}",
		    "no \"flag\" string" },
		{ "{\"type\":7,\"project\":\"P\",\"flag\":\"f\"}",
		    "no \"type\" string" },
		{ "{\"type\":\"link.added\",\"project\":\"P\",\"flag\":\"f\","
		    "\"sources\":[]}", "no \"issue\" string" },
		{ "", "is malformed" },
	};
	struct fixture *fx = *state;
	size_t i;

	fx->rx = bind_unix(fx->sock);
	start(fx, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(deliver_json(fx, bad[i].json, 0),
		    FLAGSYNC_FAIL);
		assert_non_null(strstr(fx->err, "event 42"));
		assert_non_null(strstr(fx->err, bad[i].want));
	}
	assert_nothing_sent(fx->rx);
	/* And a good one still goes through. */
	assert_int_equal(deliver(fx, cases[3].type, "new_checkout",
	    cases[3].rest, 0), FLAGSYNC_OK);
	expect(fx, fx->rx, cases[3].severity, cases[3].type, cases[3].msg);
}

struct config_case {
	const char	*key;
	const char	*value;
	const char	*key2;		/* a second key, or NULL */
	const char	*value2;
	const char	*want;		/* in err; NULL: accepted */
};

static void
check_config_case(const struct config_case *c)
{
	struct mock_config keys[] = {
		{ "module", "syslog" },
		{ "events", "flag.*, link.*" },
		{ c->key, c->value },
		{ c->key2, c->value2 },
	};
	struct flagsync_host *h;
	char err[256] = "";
	void *ctx = NULL;
	int rc;

	h = mock_host_create("syslog", keys, c->key2 != NULL ? 4 : 3);
	assert_non_null(h);
	rc = flagsync_plugin.check_config(mock_host_api(), h, err,
	    sizeof(err));
	if (c->want == NULL) {
		assert_int_equal(rc, 0);
	} else {
		if (rc == 0 || strstr(err, c->want) == NULL)
			print_error("%s = %s: got %d \"%s\"\n", c->key,
			    c->value, rc, err);
		assert_int_not_equal(rc, 0);
		assert_non_null(strstr(err, c->want));
		err[0] = '\0';
		assert_int_not_equal(flagsync_plugin.init(mock_host_api(), h,
		    &ctx, err, sizeof(err)), 0);
		assert_null(ctx);
		assert_non_null(strstr(err, c->want));
	}
	mock_host_free(h);
}

static void
test_check_config(void **state)
{
	static const struct config_case cases_cfg[] = {
		{ "facility", "local9", NULL, NULL, "facility = \"local9\"" },
		{ "facility", "", NULL, NULL, "facility = \"\"" },
		{ "facility", "local3", NULL, NULL, NULL },
		{ "facility", "AUTHPRIV", NULL, NULL, NULL },
		{ "facility", "kern", NULL, NULL, NULL },
		{ "facilty", "daemon", NULL, NULL, "unknown key \"facilty\"" },
		{ "socket", "/run/log", "server", "h:514", "exclusive" },
		{ "socket", "dev/log", NULL, NULL, "not an absolute path" },
		{ "socket", "/run/a-socket-path-that-is-far-too-long-to-fit-"
		    "in-sun-path-because-that-holds-only-one-hundred-and-seven-"
		    "bytes", NULL, NULL, "longer than" },
		{ "socket", "/run/systemd/journal/dev-log", NULL, NULL, NULL },
		{ "server", "logs.example.com:514", NULL, NULL, NULL },
		{ "server", "logs.example.com", NULL, NULL, NULL },
		{ "server", "10.0.0.1:1514", NULL, NULL, NULL },
		{ "server", "[::1]:514", NULL, NULL, NULL },
		{ "server", "[fe80::1]", NULL, NULL, NULL },
		{ "server", "::1:514", NULL, NULL, "[ADDR]:PORT" },
		{ "server", "h:0", NULL, NULL, "server = \"h:0\"" },
		{ "server", "h:65536", NULL, NULL, "server = \"h:65536\"" },
		{ "server", "h:syslog", NULL, NULL, "server = \"h:syslog\"" },
		{ "server", "h:", NULL, NULL, "server = \"h:\"" },
		{ "server", ":514", NULL, NULL, "server = \":514\"" },
		{ "server", "[::1", NULL, NULL, "server = \"[::1\"" },
		{ "server", "[::1]514", NULL, NULL, "server = \"[::1]514\"" },
		{ "server", "[]:514", NULL, NULL, "server = \"[]:514\"" },
		{ "server", "", NULL, NULL, "server = \"\"" },
		{ "ident", "my app", NULL, NULL, "ident = \"my app\"" },
		{ "ident", "", NULL, NULL, "ident = \"\"" },
		{ "ident", "a23456789012345678901234567890123456789012345678",
		    NULL, NULL, NULL },
		{ "ident", "a234567890123456789012345678901234567890123456789",
		    NULL, NULL, "ident = " },
		{ "timeout", "10", NULL, NULL, NULL },
		{ "path", "/x", NULL, NULL, "unknown key \"path\"" },
	};
	struct flagsync_host *h;
	char err[256] = "";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases_cfg) / sizeof(cases_cfg[0]); i++)
		check_config_case(&cases_cfg[i]);
	/* Nothing set: /dev/log, daemon, flagsync. */
	h = mock_host_create("syslog", NULL, 0);
	assert_non_null(h);
	assert_int_equal(flagsync_plugin.check_config(mock_host_api(), h,
	    err, sizeof(err)), 0);
	mock_host_free(h);
}

static void
test_descriptor(void **state)
{
	(void)state;
	assert_int_equal(flagsync_plugin.abi_major, FLAGSYNC_PLUGIN_ABI_MAJOR);
	assert_int_equal(flagsync_plugin.abi_minor, FLAGSYNC_PLUGIN_ABI_MINOR);
	assert_int_equal(flagsync_plugin.struct_size,
	    sizeof(struct flagsync_plugin));
	assert_string_equal(flagsync_plugin.name, "syslog");
	assert_non_null(flagsync_plugin.reopen);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		T(test_every_event_type),
		T(test_control_characters),
		T(test_time_fallback),
		T(test_truncation),
		T(test_udp_server),
		T(test_udp6_server),
		T(test_missing_socket_retry),
		T(test_receiver_restart),
		T(test_full_receiver),
		T(test_malformed_fail),
		cmocka_unit_test(test_check_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
