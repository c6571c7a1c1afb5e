/*
 * jira_plugin_test.c - the jira output plugin against the mock host and
 * the real Jira simulator (tests/sim/jira_sim.py, started here on a free
 * port): what Jira ends up holding, and how many calls it took, are read
 * back from the simulator's control API.
 */
#include "autoconf.h"

#include <errno.h>
#include <ftw.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include <flagsync/plugin.h>

#include "plugin_host_mock.h"
#include "../../plugins/jira/jira.h"

/* The plugin under test, compiled into this program. */
extern const struct flagsync_plugin flagsync_plugin;

#define EMAIL		"flagsync-bot@example.com"
#define TOKEN		"sim-jira-token"
#define PROP		"flagsync.flags"
#define URL_BASE	"https://app.split.io/org/acme/ws/w/splits/"
#define R75OFF		"{\"percentage\":75,\"treatment\":\"off\"}"
#define R50ON		"{\"percentage\":50,\"treatment\":\"on\"}"
#define R3RULES		"{\"rules\":3}"
#define MIDDOT		"\xc2\xb7"

/* The simulator, one for the whole run. */
static struct {
	pid_t	 pid;
	char	 dir[256];
	char	 url[64];
} sim = { -1, "", "" };

struct fixture {
	struct flagsync_host *h;
	void		*ctx;
	char		 err[1024];
};

/* ------------------------------------------------------ the simulator */

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

/* tests/sim/jira_sim.py, from $SRCDIR or this file's own path. */
static char *
sim_script(void)
{
	const char *src = getenv("SRCDIR"), *me = __FILE__, *tail;
	char *path;

	if (src != NULL && src[0] != '\0') {
		if (asprintf(&path, "%s/tests/sim/jira_sim.py", src) < 0)
			return NULL;
		return path;
	}
	tail = strstr(me, "tests/unit/jira_plugin_test.c");
	if (asprintf(&path, "%.*stests/sim/jira_sim.py",
	    tail != NULL ? (int)(tail - me) : 0, me) < 0)
		return NULL;
	return path;
}

static int
sim_wait_port(const char *portfile)
{
	FILE *f;
	int port = 0, i;

	for (i = 0; i < 300 && port == 0; i++) {
		if ((f = fopen(portfile, "r")) != NULL) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (port == 0)
			usleep(50000);
	}
	return port;
}

static int
sim_start(void **state)
{
	const char *tmp;
	char portfile[300], *script;
	int port;

	(void)state;
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(sim.dir, sizeof(sim.dir), "%s/jira_plugin_test.XXXXXX", tmp);
	if (mkdtemp(sim.dir) == NULL || (script = sim_script()) == NULL)
		return -1;
	snprintf(portfile, sizeof(portfile), "%s/port", sim.dir);
	if ((sim.pid = fork()) == 0) {
		execlp("python3", "python3", script, "--port", "0",
		    "--port-file", portfile, "--quiet", (char *)NULL);
		_exit(127);
	}
	free(script);
	if (sim.pid == -1 || (port = sim_wait_port(portfile)) == 0) {
		fprintf(stderr, "the Jira simulator did not start\n");
		return -1;
	}
	snprintf(sim.url, sizeof(sim.url), "http://127.0.0.1:%d", port);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
sim_stop(void **state)
{
	(void)state;
	if (sim.pid > 0) {
		kill(sim.pid, SIGTERM);
		waitpid(sim.pid, NULL, 0);
	}
	nftw(sim.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
	return 0;
}

static size_t
sim_write(char *p, size_t size, size_t n, void *arg)
{
	char **buf = arg;
	size_t old = *buf != NULL ? strlen(*buf) : 0;
	char *b;

	if ((b = realloc(*buf, old + size * n + 1)) == NULL)
		return 0;
	memcpy(b + old, p, size * n);
	b[old + size * n] = '\0';
	*buf = b;
	return size * n;
}

/* METHOD /_sim/WHAT (or an API path with auth); the answer, parsed. */
static json_object *
sim_http(const char *method, const char *path, const char *body, int auth)
{
	struct curl_slist *hdr;
	json_object *doc;
	char url[512], *answer = NULL;
	CURL *c;

	snprintf(url, sizeof(url), "%s%s", sim.url, path);
	assert_non_null(c = curl_easy_init());
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
	if (auth)
		curl_easy_setopt(c, CURLOPT_USERPWD, EMAIL ":" TOKEN);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	doc = answer != NULL ? json_tokener_parse(answer) : NULL;
	free(answer);
	return doc;
}

static void
sim_do(const char *method, const char *path, const char *body)
{
	json_object_put(sim_http(method, path, body, 0));
}

/* A fresh Jira: these issues, no faults, an empty request log. */
static void
sim_reset(void)
{
	sim_do("POST", "/_sim/state", "{\"issues\":[{\"key\":\"SHOP-1\"},"
	    "{\"key\":\"SHOP-7\"},{\"key\":\"PAY-42\"},"
	    "{\"key\":\"SHOP-300\"}],\"remotelink_cap\":1000}");
	sim_do("DELETE", "/_sim/fault", NULL);
	sim_do("DELETE", "/_sim/requests", NULL);
}

static json_object *
sim_requests(void)
{
	json_object *doc, *list;

	doc = sim_http("GET", "/_sim/requests", NULL, 0);
	assert_true(json_object_object_get_ex(doc, "requests", &list));
	json_object_get(list);
	json_object_put(doc);
	return list;
}

/* Logged API requests with this method (NULL: any) whose path and query
 * contain part (NULL: any). */
static size_t
sim_count(const char *method, const char *part)
{
	json_object *list = sim_requests(), *r;
	char target[1024];
	size_t i, n = 0;

	for (i = 0; i < json_object_array_length(list); i++) {
		r = json_object_array_get_idx(list, i);
		snprintf(target, sizeof(target), "%s?%s",
		    jira_doc_str(r, "path"), jira_doc_str(r, "query"));
		if ((method == NULL || strcmp(method, jira_doc_str(r,
		    "method")) == 0) && (part == NULL ||
		    strstr(target, part) != NULL))
			n++;
	}
	json_object_put(list);
	return n;
}

/* The issue as the simulator holds it. */
static json_object *
sim_issue(const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), "/_sim/issue?key=%s", key);
	return sim_http("GET", path, NULL, 0);
}

/* The property value on an issue, or NULL. */
static json_object *
sim_property(const char *key)
{
	json_object *issue = sim_issue(key), *props, *v = NULL;

	if (json_object_object_get_ex(issue, "properties", &props) &&
	    json_object_object_get_ex(props, PROP, &v))
		json_object_get(v);
	json_object_put(issue);
	return v;
}

/* The remote link with globalId gid on an issue (a new reference), or
 * NULL; *n gets how many links the issue has. */
static json_object *
sim_link(const char *key, const char *gid, size_t *n)
{
	json_object *issue = sim_issue(key), *links, *l, *found = NULL;
	const char *g;
	size_t i;

	*n = 0;
	if (json_object_object_get_ex(issue, "remotelinks", &links)) {
		*n = json_object_array_length(links);
		for (i = 0; i < *n; i++) {
			l = json_object_array_get_idx(links, i);
			g = jira_doc_str(l, "globalId");
			if (g != NULL && strcmp(g, gid) == 0)
				found = json_object_get(l);
		}
	}
	json_object_put(issue);
	return found;
}

/* ------------------------------------------------------ flags, events */

/* A flag view (url NULL: none); a string to free. */
static char *
view(const char *flag, const char *state, const char *rollout,
    const char *url, const char *updated)
{
	int killed = strcmp(state, "killed") == 0;
	int active = strcmp(state, "on") == 0;
	char *v, urlq[256];

	if (url != NULL)
		snprintf(urlq, sizeof(urlq), "\"%s\"", url);
	else
		snprintf(urlq, sizeof(urlq), "null");
	assert_true(asprintf(&v, "{\"project\":\"Default\",\"environment\":"
	    "\"Production\",\"flag\":\"%s\",\"active\":%s,\"killed\":%s,"
	    "\"default_treatment\":\"off\",\"traffic_allocation\":100,"
	    "\"default_rule\":[{\"treatment\":\"on\",\"size\":25},"
	    "{\"treatment\":\"off\",\"size\":75}],\"rules\":0,"
	    "\"rollout\":%s,\"treatments\":[\"on\",\"off\"],"
	    "\"last_updated\":\"%s\",\"url\":%s,\"tags\":[\"checkout\","
	    "\"SHOP-1\"],\"description\":\"New checkout flow, see SHOP-7\","
	    "\"issues\":[\"SHOP-1\",\"SHOP-7\"]}", flag,
	    active ? "true" : "false", killed ? "true" : "false", rollout,
	    updated, urlq) > 0);
	return v;
}

/* `flagsync issue KEY --json` of the given views (consumed). */
static void
set_issue(struct flagsync_host *h, const char *issue, size_t n, ...)
{
	va_list ap;
	char *doc, *list = strdup(""), *v, *next;
	size_t i, active = 0;

	assert_non_null(list);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		v = va_arg(ap, char *);
		if (strstr(v, "\"active\":true") != NULL)
			active++;
		assert_true(asprintf(&next, "%s%s%s", list, i > 0 ? "," : "",
		    v) > 0);
		free(list);
		free(v);
		list = next;
	}
	va_end(ap);
	assert_true(asprintf(&doc, "{\"issue\":\"%s\",\"count\":%zu,"
	    "\"active\":%zu,\"flags\":[%s]}", issue, n, active, list) > 0);
	assert_int_equal(mock_host_set_issue_flags(h, issue, doc), 0);
	free(doc);
	free(list);
}

static int
deliver(struct fixture *fx, uint64_t seq, const char *type,
    const char *issue, const char *issues)
{
	struct flagsync_event ev;
	char *json;
	int rc;

	if (issue != NULL)
		assert_true(asprintf(&json, "{\"seq\":%llu,\"time\":"
		    "\"2026-11-29T22:50:15Z\",\"type\":\"%s\",\"project\":"
		    "\"Default\",\"environment\":\"Production\",\"flag\":"
		    "\"new_checkout\",\"issue\":\"%s\",\"sources\":["
		    "\"split-tag\"],\"issues\":%s}", (unsigned long long)seq,
		    type, issue, issues) > 0);
	else
		assert_true(asprintf(&json, "{\"seq\":%llu,\"time\":"
		    "\"2026-11-29T22:50:15Z\",\"type\":\"%s\",\"project\":"
		    "\"Default\",\"environment\":\"Production\",\"flag\":"
		    "\"new_checkout\",\"issues\":%s,\"before\":null,"
		    "\"after\":null}", (unsigned long long)seq, type,
		    issues) > 0);
	memset(&ev, 0, sizeof(ev));
	ev.struct_size = sizeof(ev);
	ev.seq = seq;
	ev.time_ms = INT64_C(1795992615000);
	ev.type = type;
	ev.project = "Default";
	ev.flag = "new_checkout";
	ev.issue = issue;
	ev.json = json;
	ev.json_len = strlen(json);
	fx->err[0] = '\0';
	rc = flagsync_plugin.deliver(fx->ctx, &ev, fx->err, sizeof(fx->err));
	free(json);
	return rc;
}

/* ------------------------------------------------------------ fixture */

static struct flagsync_host *
host_make(const struct mock_config *keys, size_t n, const char *token)
{
	struct flagsync_host *h;

	assert_non_null(h = mock_host_create("jira", keys, n));
	assert_int_equal(mock_host_set_agent_config(h, "jira", "url",
	    sim.url), 0);
	assert_int_equal(mock_host_set_agent_config(h, "jira", "email",
	    EMAIL), 0);
	if (token != NULL)
		assert_int_equal(mock_host_set_agent_config(h, "jira",
		    "api_token", token), 0);
	assert_int_equal(mock_host_set_agent_config(h, "jira", "timeout",
	    "5"), 0);
	return h;
}

static void
start_with(struct fixture *fx, const struct mock_config *keys, size_t n,
    const char *token)
{
	fx->h = host_make(keys, n, token);
	assert_int_equal(flagsync_plugin.check_config(mock_host_api(), fx->h,
	    fx->err, sizeof(fx->err)), 0);
	assert_int_equal(flagsync_plugin.init(mock_host_api(), fx->h,
	    &fx->ctx, fx->err, sizeof(fx->err)), 0);
}

static void
start(struct fixture *fx)
{
	static const struct mock_config keys[] = {
		{ "module", "jira" },
		{ "events", "*" },
		{ "timeout", "10" },
	};

	start_with(fx, keys, 3, TOKEN);
}

static int
setup(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	sim_reset();
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->ctx != NULL)
		flagsync_plugin.shutdown(fx->ctx);
	if (fx->h != NULL)
		assert_int_equal(mock_host_outstanding(fx->h), 0);
	mock_host_free(fx->h);
	free(fx);
	return 0;
}

/* new_checkout (75% off) alone on SHOP-1, SHOP-7 and PAY-42. */
static void
three_issues(struct fixture *fx, const char *rollout)
{
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", rollout,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	set_issue(fx->h, "SHOP-7", 1, view("new_checkout", "on", rollout,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	set_issue(fx->h, "PAY-42", 1, view("new_checkout", "on", rollout,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
}

#define THREE	"[\"SHOP-1\",\"SHOP-7\",\"PAY-42\"]"

/* -------------------------------------------------------------- tests */

static void
test_descriptor(void **state)
{
	(void)state;
	assert_int_equal(flagsync_plugin.abi_major, FLAGSYNC_PLUGIN_ABI_MAJOR);
	assert_string_equal(flagsync_plugin.name, "jira");
	assert_non_null(flagsync_plugin.check_config);
	assert_non_null(flagsync_plugin.init);
	assert_non_null(flagsync_plugin.deliver);
	assert_non_null(flagsync_plugin.shutdown);
}

static void
check_refused(const struct mock_config *keys, size_t n, const char *token,
    const char *drop, const char *want)
{
	struct flagsync_host *h = host_make(keys, n, token);
	char err[512] = "";

	if (drop != NULL)
		assert_int_equal(mock_host_set_agent_config(h, "jira", drop,
		    NULL), 0);
	assert_int_not_equal(flagsync_plugin.check_config(mock_host_api(), h,
	    err, sizeof(err)), 0);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, want);
	mock_host_free(h);
}

static void
test_check_config(void **state)
{
	static const struct mock_config good[] = {
		{ "module", "jira" }, { "events", "flag.*" },
		{ "timeout", "20" }, { "property", "acme.flags" },
		{ "web_links", "no" },
	};
	static const struct mock_config typo[] = {
		{ "web_link", "yes" },
	};
	static const struct mock_config badbool[] = {
		{ "web_links", "sometimes" },
	};
	struct flagsync_host *h;
	char err[512] = "";

	(void)state;
	h = host_make(good, 5, TOKEN);
	assert_int_equal(flagsync_plugin.check_config(mock_host_api(), h, err,
	    sizeof(err)), 0);
	mock_host_free(h);
	check_refused(typo, 1, TOKEN, NULL, "unknown key \"web_link\"");
	check_refused(badbool, 1, TOKEN, NULL, "web_links = \"sometimes\"");
	check_refused(good, 0, TOKEN, "url", "[jira] url");
	check_refused(good, 0, TOKEN, "email", "[jira] email");
	check_refused(good, 0, NULL, NULL, "[jira] api_token_file");
}

/* One change, three issues: three PUTs and three upserts; again: none. */
static void
test_three_issues(void **state)
{
	struct fixture *fx = *state;
	json_object *link;
	size_t n;

	start(fx);
	three_issues(fx, R75OFF);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("PUT", "/properties/" PROP), 3);
	assert_int_equal(sim_count("POST", "/remotelink"), 3);
	assert_int_equal(sim_count(NULL, NULL), 6);

	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count(NULL, NULL), 0);

	three_issues(fx, R50ON);
	assert_int_equal(deliver(fx, 2, "flag.rollout_changed", NULL, THREE),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("PUT", "/properties/" PROP), 3);
	assert_int_equal(sim_count("POST", "/remotelink"), 3);
	assert_int_equal(sim_count(NULL, NULL), 6);
	link = sim_link("SHOP-7", "flagsync:Default:new_checkout", &n);
	assert_non_null(link);
	assert_int_equal(n, 1);
	json_object_put(link);

	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 2, "flag.rollout_changed", NULL, THREE),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count(NULL, NULL), 0);
}

static void
assert_rfc3339(const char *s)
{
	regex_t re;

	assert_non_null(s);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, s, 0, NULL, 0) != 0)
		fail_msg("\"%s\" is not RFC 3339 UTC", s);
	regfree(&re);
}

/* The property: count, active, flags without tags/description/issues in
 * the given order, updated; no "truncated" when all fit. */
static void
test_property_shape(void **state)
{
	struct fixture *fx = *state;
	json_object *p, *flags, *f;
	static const char *const keys[] = { "count", "active", "flags",
	    "updated" };
	size_t i;

	start(fx);
	set_issue(fx->h, "SHOP-1", 2,
	    view("new_checkout", "on", R75OFF, URL_BASE "nc",
	    "2023-11-14T22:21:40Z"),
	    view("old_banner", "killed", R75OFF, URL_BASE "ob",
	    "2023-11-14T22:25:00Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	assert_non_null(p = sim_property("SHOP-1"));
	i = 0;
	json_object_object_foreach(p, key, val) {
		(void)val;
		assert_true(i < 4);
		assert_string_equal(key, keys[i]);
		i++;
	}
	assert_int_equal(i, 4);
	assert_int_equal(json_object_get_int(jira_doc_get(p, "count")), 2);
	assert_int_equal(json_object_get_int(jira_doc_get(p, "active")), 1);
	assert_rfc3339(jira_doc_str(p, "updated"));
	flags = jira_doc_get(p, "flags");
	assert_int_equal(json_object_array_length(flags), 2);
	f = json_object_array_get_idx(flags, 0);
	assert_string_equal(jira_doc_str(f, "flag"), "new_checkout");
	assert_string_equal(jira_doc_str(json_object_array_get_idx(flags, 1),
	    "flag"), "old_banner");
	assert_null(jira_doc_get(f, "tags"));
	assert_null(jira_doc_get(f, "description"));
	assert_null(jira_doc_get(f, "issues"));
	assert_string_equal(jira_doc_str(f, "url"), URL_BASE "nc");
	assert_int_equal(json_object_get_int(jira_doc_get(jira_doc_get(f,
	    "rollout"), "percentage")), 75);
	assert_non_null(jira_doc_get(f, "default_rule"));
	assert_non_null(jira_doc_str(f, "last_updated"));
	json_object_put(p);
	/* Kept in the store without "updated", to compare. */
	assert_int_equal(mock_host_kv_count(fx->h), 4);
}

/* 300 flags: under 32 KB, "truncated", the full count, the first kept. */
static void
test_truncated_300(void **state)
{
	struct fixture *fx = *state;
	static const struct mock_config keys[] = {
		{ "web_links", "no" },
	};
	json_object *p, *flags, *reqs, *r;
	char name[64], *list = strdup(""), *v, *next, *doc;
	size_t i, kept, bytes = 0;

	start_with(fx, keys, 1, TOKEN);
	assert_non_null(list);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "flag_%05zu_with_a_long_name", i);
		v = view(name, i < 200 ? "on" : "off", i < 200 ? R75OFF :
		    "null", URL_BASE "some/long/path/to/the/definition",
		    "2023-11-14T22:21:40Z");
		assert_true(asprintf(&next, "%s%s%s", list, i > 0 ? "," : "",
		    v) > 0);
		free(list);
		free(v);
		list = next;
	}
	assert_true(asprintf(&doc, "{\"issue\":\"SHOP-300\",\"count\":300,"
	    "\"active\":200,\"flags\":[%s]}", list) > 0);
	assert_true(strlen(doc) > 3 * 32768);
	assert_int_equal(mock_host_set_issue_flags(fx->h, "SHOP-300", doc), 0);
	free(doc);
	free(list);
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-300",
	    "[\"SHOP-300\"]"), FLAGSYNC_OK);
	assert_string_equal(fx->err, "");

	reqs = sim_requests();
	assert_int_equal(json_object_array_length(reqs), 1);
	r = json_object_array_get_idx(reqs, 0);
	assert_int_equal(json_object_get_int(jira_doc_get(r, "status")), 201);
	bytes = (size_t)json_object_get_int(jira_doc_get(r, "body_bytes"));
	json_object_put(reqs);
	assert_true(bytes <= 32768);
	assert_true(bytes > 30000);

	assert_non_null(p = sim_property("SHOP-300"));
	assert_int_equal(json_object_get_int(jira_doc_get(p, "count")), 300);
	assert_int_equal(json_object_get_int(jira_doc_get(p, "active")), 200);
	assert_true(json_object_get_boolean(jira_doc_get(p, "truncated")));
	flags = jira_doc_get(p, "flags");
	kept = json_object_array_length(flags);
	assert_true(kept > 10 && kept < 300);
	for (i = 0; i < kept; i++) {
		snprintf(name, sizeof(name), "flag_%05zu_with_a_long_name", i);
		assert_string_equal(jira_doc_str(json_object_array_get_idx(
		    flags, i), "flag"), name);
	}
	json_object_put(p);
}

/* The last flag leaves: the property and the link go; a 404 is done. */
static void
test_no_flags_left(void **state)
{
	struct fixture *fx = *state;
	json_object *p, *link;
	size_t n;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	assert_non_null(p = sim_property("SHOP-1"));
	json_object_put(p);

	assert_int_equal(mock_host_set_issue_flags(fx->h, "SHOP-1", NULL), 0);
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("DELETE", "/properties/" PROP), 1);
	assert_int_equal(sim_count("DELETE",
	    "/remotelink?globalId=flagsync%3ADefault%3Anew_checkout"), 1);
	assert_int_equal(sim_count(NULL, NULL), 2);
	assert_null(sim_property("SHOP-1"));
	link = sim_link("SHOP-1", "flagsync:Default:new_checkout", &n);
	assert_null(link);
	assert_int_equal(n, 0);
	assert_int_equal(mock_host_kv_count(fx->h), 0);

	/* Nothing written, nothing left: no call. */
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count(NULL, NULL), 0);

	/* Someone removed the property behind flagsync's back: 404 is done. */
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 3, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"SHOP-1\",\"properties\":"
	    "{\"" PROP "\":null}}");
	assert_int_equal(mock_host_set_issue_flags(fx->h, "SHOP-1", NULL), 0);
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 4, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("DELETE", "/properties/" PROP), 1);
	assert_int_equal(mock_host_kv_count(fx->h), 0);
}

/* One of two flags is unlinked: its link goes, the other stays. */
static void
test_unlink_removes_link(void **state)
{
	struct fixture *fx = *state;
	json_object *link, *p;
	size_t n;

	start(fx);
	set_issue(fx->h, "SHOP-1", 2,
	    view("new_checkout", "on", R75OFF, URL_BASE "nc",
	    "2023-11-14T22:21:40Z"),
	    view("search_v2", "on", R3RULES, URL_BASE "s2",
	    "2023-11-14T22:20:00Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	link = sim_link("SHOP-1", "flagsync:Default:search_v2", &n);
	assert_non_null(link);
	assert_int_equal(n, 2);
	json_object_put(link);

	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("DELETE",
	    "/rest/api/3/issue/SHOP-1/remotelink?globalId="
	    "flagsync%3ADefault%3Asearch_v2"), 1);
	assert_int_equal(sim_count("PUT", "/properties/" PROP), 1);
	assert_int_equal(sim_count("POST", NULL), 0);
	assert_null(sim_link("SHOP-1", "flagsync:Default:search_v2", &n));
	assert_int_equal(n, 1);
	assert_non_null(p = sim_property("SHOP-1"));
	assert_int_equal(json_object_get_int(jira_doc_get(p, "count")), 1);
	json_object_put(p);
}

/* A missing issue is FAIL naming it; the other issues are still written. */
static void
test_missing_issue_fails(void **state)
{
	struct fixture *fx = *state;
	json_object *p;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	set_issue(fx->h, "SHOP-9", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 1, "flag.killed", NULL,
	    "[\"SHOP-9\",\"SHOP-1\"]"), FLAGSYNC_FAIL);
	assert_string_equal(fx->err, "SHOP-9: 404 on PUT property " PROP ": "
	    "the issue does not exist or is not visible to " EMAIL);
	assert_non_null(p = sim_property("SHOP-1"));
	json_object_put(p);
}

/* 401: RETRY, an ERR line naming the account, never the token. */
static void
test_unauthorised_retry(void **state)
{
	struct fixture *fx = *state;
	static const struct mock_config keys[] = {
		{ "module", "jira" },
	};
	size_t i;
	int level;
	const char *line;

	start_with(fx, keys, 1, "not-the-token-s3cr3t");
	three_issues(fx, R75OFF);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_true(mock_host_log_has(fx->h, FLAGSYNC_LOG_ERR,
	    "Jira rejected " EMAIL " (401): check [jira] email and "
	    "api_token_file"));
	assert_non_null(strstr(fx->err, EMAIL));
	assert_null(strstr(fx->err, "s3cr3t"));
	for (i = 0; (line = mock_host_log_line(fx->h, i, &level)) != NULL;
	    i++)
		assert_null(strstr(line, "s3cr3t"));
	/* Nothing was written, so nothing is remembered. */
	assert_int_equal(mock_host_kv_count(fx->h), 0);
	assert_int_equal(sim_count("PUT", NULL), 1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 429 with Retry-After: 1: waits a second, then succeeds. */
static void
test_ratelimit_obeyed(void **state)
{
	struct fixture *fx = *state;
	json_object *reqs, *a, *b, *p;
	double t0, took, gap;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	sim_do("POST", "/_sim/fault", "{\"match\":\"^PUT \",\"kind\":"
	    "\"ratelimit\",\"retry_after\":1,\"count\":1}");
	t0 = now_s();
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	took = now_s() - t0;
	assert_true(took >= 1.0);
	reqs = sim_requests();
	assert_true(json_object_array_length(reqs) >= 2);
	a = json_object_array_get_idx(reqs, 0);
	b = json_object_array_get_idx(reqs, 1);
	assert_int_equal(json_object_get_int(jira_doc_get(a, "status")), 429);
	assert_int_equal(json_object_get_int(jira_doc_get(b, "status")), 201);
	gap = json_object_get_double(jira_doc_get(b, "time")) -
	    json_object_get_double(jira_doc_get(a, "time"));
	assert_true(gap >= 1.0);
	json_object_put(reqs);
	assert_non_null(p = sim_property("SHOP-1"));
	json_object_put(p);
	assert_true(mock_host_log_has(fx->h, FLAGSYNC_LOG_INFO,
	    "as its Retry-After says"));
}

/* No Retry-After: a backoff of about a second (0.7 to 1.3 s). */
static void
test_ratelimit_backoff(void **state)
{
	struct fixture *fx = *state;
	double t0, took;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	sim_do("POST", "/_sim/fault", "{\"match\":\"^PUT \",\"kind\":"
	    "\"status\",\"status\":503,\"count\":1}");
	t0 = now_s();
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	took = now_s() - t0;
	assert_true(took >= 0.7);
	assert_true(took < 3.0);
	assert_int_equal(sim_count("PUT", NULL), 2);
}

/* A wait past the time budget is not waited: RETRY at once. */
static void
test_ratelimit_past_budget(void **state)
{
	struct fixture *fx = *state;
	static const struct mock_config keys[] = {
		{ "timeout", "5" },
	};
	double t0;

	start_with(fx, keys, 1, TOKEN);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	sim_do("POST", "/_sim/fault", "{\"match\":\"^PUT \",\"kind\":"
	    "\"ratelimit\",\"retry_after\":30,\"count\":-1}");
	t0 = now_s();
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_RETRY);
	assert_true(now_s() - t0 < 2.0);
	assert_non_null(strstr(fx->err, "429"));
	assert_int_equal(mock_host_kv_count(fx->h), 0);

	/* Five waits at most, then RETRY. */
	sim_do("DELETE", "/_sim/fault", NULL);
	sim_do("DELETE", "/_sim/requests", NULL);
	sim_do("POST", "/_sim/fault", "{\"match\":\"^PUT \",\"kind\":"
	    "\"ratelimit\",\"retry_after\":0,\"count\":-1}");
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_RETRY);
	assert_int_equal(sim_count("PUT", NULL), 6);
}

/* RETRY half way: the next attempt makes only the calls still missing. */
static void
test_retry_resumes(void **state)
{
	struct fixture *fx = *state;

	start(fx);
	three_issues(fx, R75OFF);
	sim_do("POST", "/_sim/fault", "{\"match\":\"^POST .*SHOP-7\","
	    "\"kind\":\"status\",\"status\":500,\"count\":1}");
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "500"));
	/* SHOP-1 done; SHOP-7's property done, its link not; PAY-42 not. */
	assert_int_equal(sim_count(NULL, NULL), 4);

	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("POST", "/SHOP-7/remotelink"), 1);
	assert_int_equal(sim_count("PUT", "/PAY-42/properties/"), 1);
	assert_int_equal(sim_count("POST", "/PAY-42/remotelink"), 1);
	assert_int_equal(sim_count(NULL, NULL), 3);
}

/* ------------------------------------------- refused and missing issues */

/* The plugin's count of 403s for an issue ("SEQ N"), or NULL. */
static char *
refusals(struct fixture *fx, const char *issue)
{
	char key[128], *out;
	void *v;
	size_t len;

	snprintf(key, sizeof(key), "refused:%s", issue);
	if (mock_host_api()->kv_get(fx->h, key, &v, &len) != 0)
		return NULL;
	assert_non_null(out = strndup(v, len));
	mock_host_api()->release(fx->h, v);
	return out;
}

static void
assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

/*
 * A closed issue (not editable) among others: the others are written on
 * the first attempt, the closed one is refused three times and the event
 * then fails naming it; the next event for the others flows, and a later
 * event touching the closed issue tries it again.
 */
static void
test_closed_issue_dead_letter(void **state)
{
	struct fixture *fx = *state;
	json_object *p;
	char *n;

	start(fx);
	three_issues(fx, R75OFF);
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"SHOP-7\","
	    "\"editable\":false}");
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_prefix(fx->err, "SHOP-7: 403 Forbidden on PUT property "
	    PROP ": " EMAIL " cannot edit this issue (closed?)");
	assert_non_null(strstr(fx->err, "attempt 1 of 3"));
	assert_non_null(p = sim_property("SHOP-1"));
	json_object_put(p);
	assert_non_null(p = sim_property("PAY-42"));
	json_object_put(p);
	assert_null(sim_property("SHOP-7"));
	assert_non_null(n = refusals(fx, "SHOP-7"));
	assert_string_equal(n, "1 1");
	free(n);

	/* Again: only the closed issue is tried. */
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "attempt 2 of 3"));
	assert_int_equal(sim_count("PUT", "/SHOP-7/"), 1);
	assert_int_equal(sim_count(NULL, NULL), 1);

	/* The count survives a restart; the third refusal is the end. */
	flagsync_plugin.shutdown(fx->ctx);
	fx->ctx = NULL;
	assert_int_equal(flagsync_plugin.init(mock_host_api(), fx->h,
	    &fx->ctx, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_FAIL);
	assert_prefix(fx->err, "SHOP-7: 403 Forbidden on PUT property "
	    PROP ": " EMAIL " cannot edit this issue (closed?)");
	assert_non_null(strstr(fx->err, "refused 3 times"));
	assert_null(strstr(fx->err, "SHOP-1"));
	/* Kept: another attempt of this event fails at once (see
	 * test_refusals_staggered). */
	n = refusals(fx, "SHOP-7");
	assert_string_equal(n, "1 3");
	free(n);

	/* The next event for the other issues flows. */
	three_issues(fx, R50ON);
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 2, "flag.rollout_changed", NULL,
	    "[\"SHOP-1\",\"PAY-42\"]"), FLAGSYNC_OK);
	assert_int_equal(sim_count("PUT", "/properties/" PROP), 2);

	/* A later event touching the closed issue tries it afresh. */
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 3, "flag.rollout_changed", NULL,
	    "[\"SHOP-7\"]"), FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "attempt 1 of 3"));
	assert_int_equal(sim_count("PUT", "/SHOP-7/"), 1);
	n = refusals(fx, "SHOP-7");
	assert_string_equal(n, "3 1");
	free(n);

	/* Reopened: written, and the count is gone. */
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"SHOP-7\","
	    "\"editable\":true}");
	assert_int_equal(deliver(fx, 3, "flag.rollout_changed", NULL,
	    "[\"SHOP-7\"]"), FLAGSYNC_OK);
	assert_non_null(p = sim_property("SHOP-7"));
	json_object_put(p);
	assert_null(refusals(fx, "SHOP-7"));
}

/* Two refused issues: the dead letter names both. A 403 on the link. */
static void
test_refused_link_and_two_issues(void **state)
{
	struct fixture *fx = *state;
	int i;

	start(fx);
	three_issues(fx, R75OFF);
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"PAY-42\","
	    "\"editable\":false}");
	sim_do("POST", "/_sim/fault", "{\"match\":\"^POST .*/SHOP-1/remotelink"
	    "\",\"kind\":\"status\",\"status\":403,\"count\":-1}");
	for (i = 1; i <= 2; i++) {
		assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
		    FLAGSYNC_RETRY);
		assert_non_null(strstr(fx->err, "SHOP-1: 403 Forbidden on "
		    "POST remote link flagsync:Default:new_checkout"));
		assert_non_null(strstr(fx->err, "PAY-42: 403 Forbidden on PUT "
		    "property"));
	}
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_FAIL);
	assert_non_null(strstr(fx->err, "SHOP-1: 403 Forbidden on POST remote "
	    "link flagsync:Default:new_checkout: " EMAIL " may not link this "
	    "issue"));
	assert_non_null(strstr(fx->err, "PAY-42: 403 Forbidden on PUT "
	    "property"));
	assert_null(strstr(fx->err, "SHOP-7"));
	assert_int_equal(sim_count("PUT", "/SHOP-7/properties/"), 1);
	assert_int_equal(sim_count("POST", "/SHOP-7/remotelink"), 1);
}

/*
 * Two refused issues whose counts are out of step (a 500 stopped the
 * first attempt before the second): the event still ends, once each was
 * refused three times, and is not retried for ever.
 */
static void
test_refusals_staggered(void **state)
{
	struct fixture *fx = *state;
	int i;

	start(fx);
	three_issues(fx, R75OFF);
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"SHOP-7\","
	    "\"editable\":false}");
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"PAY-42\","
	    "\"editable\":false}");
	sim_do("POST", "/_sim/fault", "{\"match\":\"^PUT .*/PAY-42/\","
	    "\"kind\":\"status\",\"status\":500,\"count\":1}");
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "500"));
	for (i = 0; i < 2; i++)
		assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
		    FLAGSYNC_RETRY);
	/* SHOP-7 has had its three, PAY-42 two. */
	assert_non_null(strstr(fx->err, "SHOP-7: 403"));
	assert_non_null(strstr(fx->err, "refused 3 times"));
	assert_non_null(strstr(fx->err, "attempt 2 of 3"));
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_FAIL);
	assert_non_null(strstr(fx->err, "SHOP-7: 403"));
	assert_non_null(strstr(fx->err, "PAY-42: 403"));
}

/* A 401 is never counted and never a dead letter. */
static void
test_unauthorised_never_fails(void **state)
{
	struct fixture *fx = *state;
	int i;

	start(fx);
	three_issues(fx, R75OFF);
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"SHOP-1\","
	    "\"editable\":false}");
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "attempt 1 of 3"));
	sim_do("POST", "/_sim/fault", "{\"match\":\".*\",\"kind\":"
	    "\"status\",\"status\":401,\"count\":6}");
	for (i = 0; i < 6; i++) {
		assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
		    FLAGSYNC_RETRY);
		assert_non_null(strstr(fx->err, "check [jira] email and "
		    "api_token_file"));
	}
	assert_true(mock_host_log_has(fx->h, FLAGSYNC_LOG_ERR,
	    "Jira rejected " EMAIL " (401)"));
	/* The 401s did not count: this is the second refusal. */
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "attempt 2 of 3"));
}

/* DELETE 404 on an issue that exists: no property, done. */
static void
test_delete_404_existing_issue(void **state)
{
	struct fixture *fx = *state;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	/* Property and link removed behind flagsync's back. */
	sim_do("POST", "/_sim/issue", "{\"key\":\"SHOP-1\",\"properties\":{},"
	    "\"remotelinks\":[]}");
	assert_int_equal(mock_host_set_issue_flags(fx->h, "SHOP-1", NULL), 0);
	sim_do("DELETE", "/_sim/requests", NULL);
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("DELETE", "/properties/" PROP), 1);
	assert_int_equal(sim_count("DELETE", "/remotelink?globalId="), 1);
	/* Each 404 was checked against the issue itself. */
	assert_int_equal(sim_count("GET", "/rest/api/3/issue/SHOP-1?"), 2);
	assert_int_equal(mock_host_kv_count(fx->h), 0);
}

/* Written, then the issue goes (how: a control request), then unlinked. */
static void
delete_after(struct fixture *fx, const char *issue, const char *method,
    const char *ctl, const char *body)
{
	char one[64], want[256];

	snprintf(one, sizeof(one), "[\"%s\"]", issue);
	set_issue(fx->h, issue, 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 1, "link.added", issue, one),
	    FLAGSYNC_OK);
	sim_do(method, ctl, body);
	assert_int_equal(mock_host_set_issue_flags(fx->h, issue, NULL), 0);
	assert_int_equal(deliver(fx, 2, "link.removed", issue, "[]"),
	    FLAGSYNC_FAIL);
	snprintf(want, sizeof(want), "%s: 404 on DELETE property " PROP ": "
	    "the issue does not exist or is not visible to " EMAIL, issue);
	assert_string_equal(fx->err, want);
}

/* DELETE 404 on an issue that is gone or hidden: FAIL naming it. */
static void
test_delete_404_missing_issue(void **state)
{
	struct fixture *fx = *state;

	start(fx);
	delete_after(fx, "SHOP-7", "PATCH", "/_sim/issue",
	    "{\"key\":\"SHOP-7\",\"visible\":false}");
	delete_after(fx, "PAY-42", "DELETE", "/_sim/issue?key=PAY-42", NULL);
	/* Nothing forgotten (property, link, link set of each): a later
	 * event tries again. */
	assert_int_equal(mock_host_kv_count(fx->h), 6);
}

/* A link DELETE answered 404 on an issue that vanished meanwhile. */
static void
test_link_delete_404_missing_issue(void **state)
{
	struct fixture *fx = *state;

	start(fx);
	set_issue(fx->h, "SHOP-1", 2,
	    view("new_checkout", "on", R75OFF, URL_BASE "nc",
	    "2023-11-14T22:21:40Z"),
	    view("search_v2", "on", R3RULES, URL_BASE "s2",
	    "2023-11-14T22:20:00Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	/* The property PUT goes through; then the issue is gone. */
	sim_do("POST", "/_sim/fault", "{\"match\":\"^DELETE .*/remotelink\","
	    "\"kind\":\"status\",\"status\":404,\"count\":1}");
	sim_do("POST", "/_sim/fault", "{\"match\":\"^GET /rest/api/3/issue/"
	    "SHOP-1\\\\?\",\"kind\":\"status\",\"status\":404,\"count\":1}");
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_FAIL);
	assert_string_equal(fx->err, "SHOP-1: 404 on DELETE remote link "
	    "flagsync:Default:search_v2: the issue does not exist or is not "
	    "visible to " EMAIL);
	assert_int_equal(sim_count("GET", "/rest/api/3/issue/SHOP-1?"), 1);
}

/* DELETE 404 on a closed issue that still has the property: refused. */
static void
test_delete_404_closed_issue(void **state)
{
	struct fixture *fx = *state;
	json_object *p;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	sim_do("PATCH", "/_sim/issue", "{\"key\":\"SHOP-1\","
	    "\"editable\":false}");
	assert_int_equal(mock_host_set_issue_flags(fx->h, "SHOP-1", NULL), 0);
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_RETRY);
	assert_prefix(fx->err, "SHOP-1: 404 on DELETE property " PROP
	    ", yet the issue still has it: " EMAIL " cannot edit this issue "
	    "(closed?)");
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_RETRY);
	assert_int_equal(deliver(fx, 2, "link.removed", "SHOP-1", "[]"),
	    FLAGSYNC_FAIL);
	assert_non_null(strstr(fx->err, "refused 3 times"));
	assert_non_null(p = sim_property("SHOP-1"));
	json_object_put(p);
}

/* Other 4xx: FAIL with Jira's own words. */
static void
test_bad_request_fails(void **state)
{
	struct fixture *fx = *state;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF,
	    URL_BASE "nc", "2023-11-14T22:21:40Z"));
	sim_do("POST", "/_sim/fault", "{\"match\":\"^PUT \",\"kind\":"
	    "\"status\",\"status\":400,\"count\":1}");
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_FAIL);
	assert_non_null(strstr(fx->err, "(400): simulated fault"));
}

/* Summaries in words, and the link as Jira shows it. */
static void
test_summaries(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char	*state;
		const char	*rollout;
		const char	*want;
	} cases[] = {
		{ "on", R75OFF, "ON in Production " MIDDOT " 75% off" },
		{ "on", R3RULES, "ON in Production " MIDDOT " 3 rules" },
		{ "on", "{\"rules\":1}", "ON in Production " MIDDOT " 1 rule" },
		{ "killed", R75OFF, "KILLED in Production" },
		{ "off", "null", "OFF in Production" },
	};
	json_object *v, *link, *obj;
	char out[256], *text;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = view("f", cases[i].state, cases[i].rollout, NULL,
		    "2023-11-14T22:21:40Z");
		assert_non_null(v = json_tokener_parse(text));
		jira_doc_summary(v, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
		json_object_put(v);
		free(text);
	}

	start(fx);
	set_issue(fx->h, "SHOP-1", 2,
	    view("new_checkout", "on", R75OFF, URL_BASE "nc",
	    "2023-11-14T22:21:40Z"),
	    view("old_banner", "killed", R75OFF, URL_BASE "ob",
	    "2023-11-14T22:25:00Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	link = sim_link("SHOP-1", "flagsync:Default:old_banner", &n);
	assert_non_null(link);
	obj = jira_doc_get(link, "object");
	assert_string_equal(jira_doc_str(obj, "summary"),
	    "KILLED in Production");
	assert_string_equal(jira_doc_str(obj, "title"), "old_banner");
	assert_string_equal(jira_doc_str(obj, "url"), URL_BASE "ob");
	assert_true(json_object_get_boolean(jira_doc_get(jira_doc_get(obj,
	    "status"), "resolved")));
	assert_string_equal(jira_doc_str(link, "relationship"),
	    "feature flag");
	assert_string_equal(jira_doc_str(jira_doc_get(link, "application"),
	    "type"), "io.split");
	json_object_put(link);
	link = sim_link("SHOP-1", "flagsync:Default:new_checkout", &n);
	assert_non_null(link);
	obj = jira_doc_get(link, "object");
	assert_string_equal(jira_doc_str(obj, "summary"),
	    "ON in Production " MIDDOT " 75% off");
	assert_false(json_object_get_boolean(jira_doc_get(jira_doc_get(obj,
	    "status"), "resolved")));
	json_object_put(link);
}

/* A flag without a URL: the property, no link, one info line. */
static void
test_no_url(void **state)
{
	struct fixture *fx = *state;
	json_object *p;
	size_t i, lines = 0;
	const char *line;

	start(fx);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R75OFF, NULL,
	    "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 1, "link.added", "SHOP-1", "[\"SHOP-1\"]"),
	    FLAGSYNC_OK);
	set_issue(fx->h, "SHOP-1", 1, view("new_checkout", "on", R50ON, NULL,
	    "2023-11-14T22:21:40Z"));
	assert_int_equal(deliver(fx, 2, "flag.rollout_changed", NULL,
	    "[\"SHOP-1\"]"), FLAGSYNC_OK);
	assert_int_equal(sim_count("PUT", NULL), 2);
	assert_int_equal(sim_count("POST", NULL), 0);
	assert_non_null(p = sim_property("SHOP-1"));
	json_object_put(p);
	for (i = 0; (line = mock_host_log_line(fx->h, i, NULL)) != NULL; i++)
		if (strstr(line, "Default:new_checkout has no URL") != NULL)
			lines++;
	assert_int_equal(lines, 1);
}

/* web_links = no and another property key. */
static void
test_no_web_links(void **state)
{
	struct fixture *fx = *state;
	static const struct mock_config keys[] = {
		{ "web_links", "no" }, { "property", "acme.flags" },
	};

	start_with(fx, keys, 2, TOKEN);
	three_issues(fx, R75OFF);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_OK);
	assert_int_equal(sim_count("PUT", "/properties/acme.flags"), 3);
	assert_int_equal(sim_count(NULL, NULL), 3);
}

/* Jira down (connection refused): RETRY, nothing remembered. */
static void
test_unreachable_retry(void **state)
{
	struct fixture *fx = *state;
	static const struct mock_config keys[] = {
		{ "module", "jira" },
	};

	fx->h = host_make(keys, 1, TOKEN);
	assert_int_equal(mock_host_set_agent_config(fx->h, "jira", "url",
	    "http://127.0.0.1:1"), 0);
	assert_int_equal(flagsync_plugin.init(mock_host_api(), fx->h,
	    &fx->ctx, fx->err, sizeof(fx->err)), 0);
	three_issues(fx, R75OFF);
	assert_int_equal(deliver(fx, 1, "flag.created", NULL, THREE),
	    FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "cannot reach Jira"));
	assert_int_equal(mock_host_kv_count(fx->h), 0);
}

/* The globalId of a long pair: 255 bytes, stable, distinct, whole chars. */
static void
test_global_id(void **state)
{
	char pair[400], *a, *b, *c;
	size_t i;

	(void)state;
	a = jira_doc_global_id("Default:new_checkout");
	assert_string_equal(a, "flagsync:Default:new_checkout");
	free(a);
	memset(pair, 'x', sizeof(pair));
	memcpy(pair, "Default:", 8);
	pair[246] = '\0';			/* "flagsync:" + 246 = 255 */
	a = jira_doc_global_id(pair);
	assert_int_equal(strlen(a), 255);
	assert_string_equal(a + 9, pair);
	free(a);
	pair[246] = 'y';
	pair[300] = '\0';
	a = jira_doc_global_id(pair);
	b = jira_doc_global_id(pair);
	pair[299] = 'z';
	c = jira_doc_global_id(pair);
	assert_int_equal(strlen(a), 255);
	assert_string_equal(a, b);		/* the same pair, the same id */
	assert_string_not_equal(a, c);		/* the end differs: so does it */
	assert_memory_equal(a, "flagsync:Default:xxx", 20);
	assert_int_equal(a[238], '#');
	free(a);
	free(b);
	free(c);
	/* two-byte characters: the cut falls between them */
	for (i = 8; i + 1 < 300; i += 2)
		memcpy(pair + i, "\xc3\xa9", 2);
	pair[300] = '\0';
	a = jira_doc_global_id(pair);
	assert_true(strlen(a) <= 255);
	assert_int_equal(a[strlen(a) - 17], '#');
	/* the last byte kept ends an é: it is not a lead byte */
	assert_int_equal((unsigned char)a[strlen(a) - 18], 0xa9);
	free(a);
}

/* Jira's words: its error shape read, every form of the secret masked. */
static void
test_error_words(void **state)
{
	struct jira_http jh;
	char out[512], big[8192], body[8192];
	size_t n;

	(void)state;
	memset(&jh, 0, sizeof(jh));
	jh.answer.body = "{\"errorMessages\":[\"m\"],\"errors\":{\"a\":null,"
	    "\"b\":5}}";
	jh.answer.len = strlen(jh.answer.body);
	jira_http_error_words(&jh, out, sizeof(out));
	assert_string_equal(out, "m; a: null; b: 5");

	/* not UTF-8, a C1 control, a NUL: '?'; good UTF-8 stays */
	jh.answer.body = "x\xff\xe0\x80\xaf\xc2\x9b" "caf\xc3\xa9\x01";
	jh.answer.len = strlen(jh.answer.body);
	jira_http_error_words(&jh, out, sizeof(out));
	assert_string_equal(out, "x??????caf\xc3\xa9?");

	jh.secret[0] = "QUJD/REVG";		/* base64, as it is */
	jh.secret[1] = "QUJD\\/REVG";	/* as JSON may write it */
	jh.secret[2] = "me@x:tok";
	jh.secret[3] = "tok";
	jh.answer.body = "sent Basic QUJD\\/REVG and me@x:tok\nand tok; Basic "
	    "QUJD/REVG";
	jh.answer.len = strlen(jh.answer.body);
	jira_http_error_words(&jh, out, sizeof(out));
	assert_string_equal(out, "sent Basic *** and ***?and ***; Basic ***");

	/* a secret cut off at the end of what is read is not half shown:
	 * 409 masked ones, then one across the 4096th byte */
	for (n = 0; n < 409 * 10; n += 10)
		memcpy(body + n, "QUJD/REVG ", 10);
	snprintf(body + n, sizeof(body) - n, "QUJD/REVG and more");
	jh.answer.body = body;
	jh.answer.len = strlen(body);
	jira_http_error_words(&jh, big, sizeof(big));
	assert_int_equal(strncmp(big, "*** *** ", 8), 0);
	assert_null(strstr(big, "QUJD"));
	assert_null(strstr(big, "REVG"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_global_id),
		cmocka_unit_test(test_error_words),
		cmocka_unit_test(test_check_config),
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_three_issues),
		T(test_property_shape),
		T(test_truncated_300),
		T(test_no_flags_left),
		T(test_unlink_removes_link),
		T(test_missing_issue_fails),
		T(test_unauthorised_retry),
		T(test_ratelimit_obeyed),
		T(test_ratelimit_backoff),
		T(test_ratelimit_past_budget),
		T(test_retry_resumes),
		T(test_bad_request_fails),
		T(test_summaries),
		T(test_no_url),
		T(test_no_web_links),
		T(test_unreachable_retry),
		T(test_closed_issue_dead_letter),
		T(test_refused_link_and_two_issues),
		T(test_refusals_staggered),
		T(test_unauthorised_never_fails),
		T(test_delete_404_existing_issue),
		T(test_delete_404_missing_issue),
		T(test_delete_404_closed_issue),
		T(test_link_delete_404_missing_issue),
#undef T
	};

	return cmocka_run_group_tests(tests, sim_start, sim_stop);
}
