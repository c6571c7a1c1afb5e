/*
 * host_test.c - the host API a plugin instance sees (agent/host.c):
 * config_error() wording and lines, the typed getters, the host's own
 * keys, the credentials grants of agent_config() and cancelled().
 */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "config.h"
#include "findings.h"
#include "host.h"
#include "linkset.h"
#include "maxlen.h"

struct fixture {
	struct config cfg;
	struct config_plugin pc;
	struct config_kv kv[4];
	struct flagsync_host h;
	const struct flagsync_host_api *api;
};

static struct fixture fx;

static void
fixture_keys(unsigned credentials, const char *module)
{
	memset(&fx, 0, sizeof(fx));
	fx.cfg.path = (char *)"/etc/flagsync/flagsync.ini";
	fx.cfg.jira_url = (char *)"https://jira.example.com";
	fx.cfg.jira_email = (char *)"bot@example.com";
	fx.cfg.jira_api_token = (char *)"jira-token";
	fx.cfg.jira_timeout = 30;
	fx.cfg.split_api_url = (char *)"https://api.split.io/internal/api/v2";
	fx.cfg.split_admin_key = (char *)"split-key";
	fx.cfg.split_timeout = 20;
	fx.kv[0] = (struct config_kv){ (char *)"limit", (char *)"500", 12 };
	fx.kv[1] = (struct config_kv){ (char *)"batch", (char *)"maybe", 13 };
	fx.kv[2] = (struct config_kv){ (char *)"pause", (char *)"2m", 14 };
	fx.kv[3] = (struct config_kv){ (char *)"quiet", (char *)"On", 15 };
	fx.pc.name = (char *)"p";
	fx.pc.module = (char *)module;
	fx.pc.events = (char *)"*";
	fx.pc.timeout = 30;
	fx.pc.start = CONFIG_START_LATEST;
	fx.pc.credentials = credentials;
	fx.pc.keys = fx.kv;
	fx.pc.nkeys = 4;
	fx.pc.line = 10;
	host_init(&fx.h, &fx.cfg, &fx.pc, NULL);
	fx.api = host_api();
}

static int
teardown(void **state)
{
	(void)state;
	host_release(&fx.h);
	return 0;
}

static void
test_table(void **state)
{
	(void)state;
	fixture_keys(0, "v11");
	assert_int_equal(fx.api->abi_major, FLAGSYNC_PLUGIN_ABI_MAJOR);
	assert_int_equal(fx.api->abi_minor, 3);
	assert_int_equal(fx.api->struct_size, sizeof(*fx.api));
	assert_true(FLAGSYNC_HOST_HAS(fx.api, agent_config));
	assert_true(FLAGSYNC_HOST_HAS(fx.api, config_error));
	assert_true(FLAGSYNC_HOST_HAS(fx.api, cancelled));
	assert_true(FLAGSYNC_HOST_HAS(fx.api, issue_findings));
	assert_true(FLAGSYNC_HOST_HAS(fx.api, flag_links));
	assert_true(FLAGSYNC_HOST_HAS(fx.api, tag_owned));
	assert_true(FLAGSYNC_HOST_HAS(fx.api, tag_record));
}

/* The host's keys answer config_get() but are never listed. */
static void
test_host_keys(void **state)
{
	const char *v;

	(void)state;
	fixture_keys(CONFIG_CRED_JIRA | CONFIG_CRED_SPLIT, "v11");
	assert_string_equal(fx.api->config_get(&fx.h, "start"), "latest");
	assert_string_equal(fx.api->config_get(&fx.h, "credentials"),
	    "jira, split");
	assert_string_equal(fx.api->config_get(&fx.h, "timeout"), "30");
	assert_string_equal(fx.api->config_key(&fx.h, 0, &v), "limit");
	assert_string_equal(v, "500");
	assert_string_equal(fx.api->config_key(&fx.h, 3, NULL), "quiet");
	assert_null(fx.api->config_key(&fx.h, 4, NULL));
	teardown(NULL);
	fixture_keys(0, "v11");
	assert_string_equal(fx.api->config_get(&fx.h, "start"), "latest");
	assert_null(fx.api->config_get(&fx.h, "credentials"));
}

static void
test_config_error(void **state)
{
	(void)state;
	fixture_keys(0, "v11");
	assert_null(host_config_message(&fx.h));
	assert_int_equal(fx.api->config_error(&fx.h, "pause", "bad %d", 7), 1);
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:14: [plugin p] pause: bad 7");
	/* a key that is not set: the section's line */
	fx.api->config_error(&fx.h, "path", "is required");
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:10: [plugin p] path: is required");
	fx.api->config_error(&fx.h, NULL, "no key");
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:10: [plugin p]: no key");
	host_config_reset(&fx.h);
	assert_null(host_config_message(&fx.h));
}

static void
test_config_int(void **state)
{
	int64_t n;

	(void)state;
	fixture_keys(0, "v11");
	assert_int_equal(fx.api->config_int(&fx.h, "limit", 7, 1, 1000, &n),
	    0);
	assert_int_equal(n, 500);
	assert_null(host_config_message(&fx.h));
	assert_int_equal(fx.api->config_int(&fx.h, "unset", 7, 1, 10, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(fx.api->config_int(&fx.h, "limit", 7, 1, 100, &n),
	    EINVAL);
	assert_int_equal(n, 7);
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:12: [plugin p] limit: 500 is out of "
	    "range 1..100");
	assert_int_equal(fx.api->config_int(&fx.h, "pause", 7, 1, 100, &n),
	    EINVAL);
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:14: [plugin p] pause: not an "
	    "integer: \"2m\"");
}

static void
test_config_bool(void **state)
{
	int b;

	(void)state;
	fixture_keys(0, "v11");
	assert_int_equal(fx.api->config_bool(&fx.h, "quiet", 0, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(fx.api->config_bool(&fx.h, "unset", 1, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(fx.api->config_bool(&fx.h, "batch", 0, &b), EINVAL);
	assert_int_equal(b, 0);
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:13: [plugin p] batch: \"maybe\" is "
	    "not yes/no/true/false/on/off/1/0");
}

/* duration VALUE: what config_duration() makes of it, or -1. */
static int64_t
duration(const char *value)
{
	int64_t ms;

	fx.kv[2].value = (char *)value;
	if (fx.api->config_duration(&fx.h, "pause", -5, &ms) != 0) {
		assert_int_equal(ms, -5);
		return -1;
	}
	return ms;
}

static void
test_config_duration(void **state)
{
	(void)state;
	fixture_keys(0, "v11");
	assert_int_equal(duration("2m"), 120000);
	assert_int_equal(duration("10"), 10000);
	assert_int_equal(duration("10s"), 10000);
	assert_int_equal(duration("3h"), 3 * 3600000LL);
	assert_int_equal(duration("90d"), 90 * 86400000LL);
	assert_int_equal(duration("0"), 0);
	assert_int_equal(duration("5x"), -1);
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:14: [plugin p] pause: \"5x\" is not "
	    "a duration: N (seconds), Ns, Nm, Nh or Nd");
	assert_int_equal(duration("5mm"), -1);
	assert_int_equal(duration("-1"), -1);
	assert_int_equal(duration("m"), -1);
	assert_int_equal(duration(""), -1);
	assert_int_equal(duration("9223372036854775807d"), -1);
	assert_string_equal(host_config_message(&fx.h),
	    "/etc/flagsync/flagsync.ini:14: [plugin p] pause: "
	    "\"9223372036854775807d\" is too long");
	assert_int_equal(duration("99999999999999999999"), -1);
}

/* grants: "jira-url jira-token split-url split-key", NULL as "-". */
static const char *
grants(unsigned credentials, const char *module)
{
	static char buf[256];
	const char *v[4];
	size_t i;

	fixture_keys(credentials, module);
	v[0] = fx.api->agent_config(&fx.h, "jira", "url");
	v[1] = fx.api->agent_config(&fx.h, "jira", "api_token");
	v[2] = fx.api->agent_config(&fx.h, "split", "api_url");
	v[3] = fx.api->agent_config(&fx.h, "split", "admin_key");
	buf[0] = '\0';
	for (i = 0; i < 4; i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, v[i] ? v[i] : "-");
	}
	teardown(NULL);
	return buf;
}

static void
test_grants(void **state)
{
	(void)state;
	assert_string_equal(grants(0, "v11"), "- - - -");
	assert_string_equal(grants(CONFIG_CRED_JIRA, "v11"),
	    "https://jira.example.com jira-token - -");
	assert_string_equal(grants(CONFIG_CRED_SPLIT, "v11"),
	    "- - https://api.split.io/internal/api/v2 split-key");
	assert_string_equal(grants(CONFIG_CRED_JIRA | CONFIG_CRED_SPLIT,
	    "v11"), "https://jira.example.com jira-token "
	    "https://api.split.io/internal/api/v2 split-key");
	/* the bundled modules, by name only */
	assert_string_equal(grants(0, "jira"),
	    "https://jira.example.com jira-token - -");
	assert_string_equal(grants(0, "split"),
	    "- - https://api.split.io/internal/api/v2 split-key");
	assert_string_equal(grants(0, "/opt/x/jira.so"), "- - - -");
	fixture_keys(CONFIG_CRED_SPLIT, "v11");
	assert_string_equal(fx.api->agent_config(&fx.h, "split", "timeout"),
	    "20");
	assert_null(fx.api->agent_config(&fx.h, "agent", "state_dir"));
	assert_null(fx.api->agent_config(&fx.h, "split", "nothing"));
	/* ABI 1.3: what an Admin API writer needs to share max_rps */
	assert_string_equal(fx.api->agent_config(&fx.h, "split", "max_rps"),
	    "0");
	assert_null(fx.api->agent_config(&fx.h, "split", "pace_file"));
	assert_string_equal(fx.api->agent_config(&fx.h, "split", "auth"),
	    "auto");
	/* not granted: nothing; the split module: its own */
	teardown(NULL);
	fixture_keys(0, "v11");
	teardown(NULL);
	fx.cfg.split_max_rps = 2.5;
	fx.cfg.split_auth = CONFIG_AUTH_X_API_KEY;
	fx.cfg.state_dir = (char *)"/var/lib/flagsync";
	host_init(&fx.h, &fx.cfg, &fx.pc, NULL);
	assert_null(fx.api->agent_config(&fx.h, "split", "max_rps"));
	fx.pc.module = (char *)"split";
	teardown(NULL);
	host_init(&fx.h, &fx.cfg, &fx.pc, NULL);
	assert_string_equal(fx.api->agent_config(&fx.h, "split", "max_rps"),
	    "2.5");
	assert_string_equal(fx.api->agent_config(&fx.h, "split", "pace_file"),
	    "/var/lib/flagsync/split-pace");
	assert_string_equal(fx.api->agent_config(&fx.h, "split", "auth"),
	    "x-api-key");
}

static void
test_cancelled(void **state)
{
	_Atomic bool stopping = false, overdue = false;

	(void)state;
	fixture_keys(0, "v11");
	assert_int_equal(fx.api->cancelled(&fx.h), 0);	/* no deliverer */
	fx.h.stopping = &stopping;
	fx.h.overdue = &overdue;
	assert_int_equal(fx.api->cancelled(&fx.h), 0);
	atomic_store(&overdue, true);
	assert_int_not_equal(fx.api->cancelled(&fx.h), 0);
	atomic_store(&overdue, false);
	atomic_store(&stopping, true);
	assert_int_not_equal(fx.api->cancelled(&fx.h), 0);
}

static int
put_finding(struct cache_txn *t, const char *type, const char *flag,
    const char *issue)
{
	const char *key[5] = { "o", type, "Default", flag, issue };
	struct finding_rec r = { 1767225600000, 1767225600000, 0 };

	return cache_finding_put(t, key, 5, &r, sizeof(r));
}

/* new_checkout is linked to SHOP-1; other to nothing. */
static int
findings_txn(struct cache_txn *t, void *arg)
{
	int rc;

	(void)arg;
	if ((rc = cache_link_set(t, "Default", "new_checkout", "SHOP-1",
	    1)) != 0 ||
	    (rc = put_finding(t, "fully-rolled-out", "new_checkout", "-")) ||
	    (rc = put_finding(t, "done-but-partial", "new_checkout",
	    "SHOP-7")) != 0 ||
	    (rc = put_finding(t, "flag-gone", "new_checkout", "SHOP-1")) ||
	    (rc = put_finding(t, "unlinked", "other", "-")) != 0)
		return rc;
	return 0;
}

/* ABI 1.2: the open findings of an issue, its own and its flags'. */
static void
test_issue_findings(void **state)
{
	char dir[] = "/tmp/host_test.XXXXXX", err[256], cmd[64];
	struct cache *c;
	char *json;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(cache_open(&c, dir, 0, err, sizeof(err)), 0);
	assert_int_equal(cache_write(c, findings_txn, NULL), 0);
	fixture_keys(0, "jira");
	fx.h.c = c;
	assert_int_equal(fx.api->issue_findings(&fx.h, "SHOP-1", &json),
	    FLAGSYNC_ENOTFOUND);	/* no [findings] section */
	fx.cfg.findings = 1;
	assert_int_equal(fx.api->issue_findings(&fx.h, "SHOP-1", &json), 0);
	assert_string_equal(json, "[{\"finding\":\"fully-rolled-out\","
	    "\"project\":\"Default\",\"flag\":\"new_checkout\","
	    "\"issue\":null,\"since\":\"2026-01-01T00:00:00Z\"},"
	    "{\"finding\":\"flag-gone\",\"project\":\"Default\","
	    "\"flag\":\"new_checkout\",\"issue\":\"SHOP-1\","
	    "\"since\":\"2026-01-01T00:00:00Z\"}]");
	fx.api->release(&fx.h, json);
	assert_int_equal(fx.api->issue_findings(&fx.h, "PAY-9", &json), 0);
	assert_string_equal(json, "[]");
	fx.api->release(&fx.h, json);
	cache_close(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* SHOP-1 from a tag and links.yaml, SHOP-2 from Jira's field. */
static int
links_txn(struct cache_txn *t, void *arg)
{
	int rc;

	(void)arg;
	if ((rc = cache_link_set(t, "Default", "new_checkout", "SHOP-2",
	    LINK_BIT(LINK_SRC_JIRA_FIELD))) != 0 ||
	    (rc = cache_link_set(t, "Default", "new_checkout", "SHOP-1",
	    LINK_BIT(LINK_SRC_SPLIT_TAG) | LINK_BIT(LINK_SRC_FILE))) != 0 ||
	    (rc = cache_link_set(t, "Default", "other", "SHOP-3",
	    LINK_BIT(LINK_SRC_LOCAL))) != 0)
		return rc;
	return 0;
}

static int
owntag_cb(void *arg, const char *project, const char *flag, const char *tag,
    const char *by)
{
	snprintf(arg, 128, "%s/%s %s by %s", project, flag, tag, by);
	return 0;
}

/* ABI 1.3: a flag's links with their sources; the owned-tag record. */
static void
test_links_tags(void **state)
{
	char dir[] = "/tmp/host_test.XXXXXX", err[256], cmd[64], seen[128];
	char longtag[FS_TAG_MAX + 2];
	struct cache_txn *t;
	struct cache *c;
	char *json;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(cache_open(&c, dir, 0, err, sizeof(err)), 0);
	assert_int_equal(cache_write(c, links_txn, NULL), 0);
	fixture_keys(0, "split");
	fx.h.c = c;
	assert_int_equal(fx.api->flag_links(&fx.h, "Default", "new_checkout",
	    &json), 0);
	assert_string_equal(json, "[{\"issue\":\"SHOP-1\",\"sources\":"
	    "[\"split-tag\",\"file\"]},{\"issue\":\"SHOP-2\",\"sources\":"
	    "[\"jira-field\"]}]");
	fx.api->release(&fx.h, json);
	assert_int_equal(fx.api->flag_links(&fx.h, "Default", "nothing",
	    &json), 0);
	assert_string_equal(json, "[]");
	fx.api->release(&fx.h, json);

	assert_int_equal(fx.api->tag_owned(&fx.h, "Default", "new_checkout",
	    "SHOP-2"), FLAGSYNC_ENOTFOUND);
	assert_int_equal(fx.api->tag_record(&fx.h, "Default", "new_checkout",
	    "SHOP-2", 1), 0);
	assert_int_equal(fx.api->tag_owned(&fx.h, "Default", "new_checkout",
	    "SHOP-2"), 0);
	assert_int_equal(fx.api->tag_owned(&fx.h, "Default", "other",
	    "SHOP-2"), FLAGSYNC_ENOTFOUND);
	/* recorded in the cache, with the instance as the writer */
	seen[0] = '\0';
	assert_int_equal(cache_read_begin(c, &t), 0);
	assert_int_equal(cache_owntag_foreach(t, NULL, NULL, owntag_cb, seen),
	    0);
	cache_read_end(t);
	assert_string_equal(seen, "Default/new_checkout SHOP-2 by p");
	assert_int_equal(fx.api->tag_record(&fx.h, "Default", "new_checkout",
	    "SHOP-2", 0), 0);
	assert_int_equal(fx.api->tag_owned(&fx.h, "Default", "new_checkout",
	    "SHOP-2"), FLAGSYNC_ENOTFOUND);
	/* forgetting what is not recorded is no error */
	assert_int_equal(fx.api->tag_record(&fx.h, "Default", "new_checkout",
	    "SHOP-2", 0), 0);
	memset(longtag, 'x', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	assert_int_equal(fx.api->tag_record(&fx.h, "Default", "new_checkout",
	    longtag, 1), EINVAL);
	assert_int_equal(fx.api->tag_owned(&fx.h, "Default", "", "SHOP-2"),
	    EINVAL);
	cache_close(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_table, teardown),
		cmocka_unit_test_teardown(test_host_keys, teardown),
		cmocka_unit_test_teardown(test_config_error, teardown),
		cmocka_unit_test_teardown(test_config_int, teardown),
		cmocka_unit_test_teardown(test_config_bool, teardown),
		cmocka_unit_test_teardown(test_config_duration, teardown),
		cmocka_unit_test_teardown(test_grants, teardown),
		cmocka_unit_test_teardown(test_cancelled, teardown),
		cmocka_unit_test_teardown(test_issue_findings, teardown),
		cmocka_unit_test_teardown(test_links_tags, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
