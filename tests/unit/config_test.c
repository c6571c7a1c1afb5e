/* config_test.c - flagsync.ini: parsing, validation, secrets, errors. */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "error.h"
#include "maxlen.h"

#define SECRET	"S3cretV4lue-never-shown"

static char tmpdir[PATH_MAX];
static char inipath[PATH_MAX];

/* tmpdir/name into buf. */
static char *
tmp_path(char *buf, size_t len, const char *name)
{
	int n;

	n = snprintf(buf, len, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < len);
	return buf;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Writes text as tmpdir/t.ini with mode and loads it. */
static int
load_mode(const char *text, mode_t mode, struct config **cfg, char *err,
    size_t errlen)
{
	write_file(inipath, text, mode);
	return config_load(inipath, cfg, err, errlen);
}

static int
load(const char *text, struct config **cfg, char *err, size_t errlen)
{
	return load_mode(text, 0600, cfg, err, errlen);
}

static void __attribute__((format(printf, 3, 4)))
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < len);
}

/* Loads text, expects FS_ECONFIG and exactly "t.ini:LINE: msg". */
static void
expect_error(const char *text, int line, const char *msg)
{
	struct config *cfg = (struct config *)&cfg;
	char err[1024], want[1024];

	assert_int_equal(load(text, &cfg, err, sizeof(err)), FS_ECONFIG);
	assert_null(cfg);
	if (line > 0)
		fmt(want, sizeof(want), "%s:%d: %s", inipath, line, msg);
	else
		fmt(want, sizeof(want), "%s: %s", inipath, msg);
	assert_string_equal(err, want);
}

/* Loads text, expects FS_ECONFIG, "t.ini:LINE: " and part in the text. */
static void
expect_error_part(const char *text, int line, const char *part)
{
	struct config *cfg = (struct config *)&cfg;
	char err[1024], prefix[PATH_MAX + 32];

	assert_int_equal(load(text, &cfg, err, sizeof(err)), FS_ECONFIG);
	assert_null(cfg);
	fmt(prefix, sizeof(prefix), "%s:%d: ", inipath, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err,
		    prefix);
	if (strstr(err, part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, part);
	assert_null(strchr(err, '\n'));
}

static struct config *
expect_ok(const char *text)
{
	struct config *cfg = NULL;
	char err[1024];
	int rc;

	if ((rc = load(text, &cfg, err, sizeof(err))) != 0)
		fail_msg("config_load: %d: %s", rc, err);
	assert_non_null(cfg);
	return cfg;
}

#define PROJECT	"[project P]\nenvironment = E\n"

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	int n;

	(void)state;
	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = snprintf(tmpdir, sizeof(tmpdir), "%s/config_test.XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(tmpdir) - 8 || mkdtemp(tmpdir) == NULL)
		return -1;
	memcpy(inipath, tmpdir, (size_t)n);
	memcpy(inipath + n, "/t.ini", sizeof("/t.ini"));
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The ambient environment must not leak secrets into any test. */
static int
test_setup(void **state)
{
	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("FLAGSYNC_SPLIT_ADMIN_KEY");
	unsetenv("FLAGSYNC_JIRA_API_TOKEN");
	return 0;
}

static void
test_full_file(void **state)
{
	char keyfile[PATH_MAX], tokfile[PATH_MAX], ca[PATH_MAX];
	char text[4096], origin[PATH_MAX + 32];
	struct config *cfg;
	const struct config_plugin *pl;

	(void)state;
	write_file(tmp_path(keyfile, sizeof(keyfile), "split.key"),
	    "split-secret\n", 0600);
	write_file(tmp_path(tokfile, sizeof(tokfile), "jira.token"),
	    "jira-secret \r\n\n", 0600);
	write_file(tmp_path(ca, sizeof(ca), "ca.pem"), "not checked\n", 0644);
	fmt(text, sizeof(text),
	    "; full configuration\n"
	    "[agent]\n"
	    "state_dir = /srv/fs/state\n"
	    "interval = 120   ; seconds\n"
	    "jitter = 25\n"
	    "log_level = debug\n"
	    "retention = 12h\n"
	    "deliver_timeout = 0\n"
	    "\n"
	    "[split]\n"
	    "api_url = http://127.0.0.1:8080/internal/api/v2/\n"
	    "admin_key_file = %s\n"
	    "flag_url = https://app.split.io/org/o/ws/{workspace_id}/splits/"
	    "{flag_id}/env/{environment_id}/definition?f={flag}\n"
	    "max_rps = 2.5\n"
	    "timeout = 15\n"
	    "ca_file = %s\n"
	    "\n"
	    "[project Default]\n"
	    "environment = Production\n"
	    "[project Payments EU]\n"
	    "environment = prod-eu\n"
	    "\n"
	    "[links]\n"
	    "split_tags = no\n"
	    "split_description = off\n"
	    "issue_key_pattern = [A-Z]+-[0-9]+\n"
	    "file = /srv/fs/links.yaml\n"
	    "jira_field = customfield_10050\n"
	    "jira_jql = project in (SHOP, PAY)\n"
	    "\n"
	    "[jira]\n"
	    "url = https://example.atlassian.net/\n"
	    "email = bot@example.com\n"
	    "api_token_file = %s\n"
	    "timeout = 45\n"
	    "ca_file = %s\n"
	    "\n"
	    "[plugin audit]\n"
	    "module = file\n"
	    "events = flag.*, link.*\n"
	    "timeout = 5\n"
	    "path = /var/lib/flagsync/events.jsonl\n"
	    "fsync =\n"
	    "[plugin syslog]\n",
	    keyfile, ca, tokfile, ca);
	cfg = expect_ok(text);

	assert_string_equal(cfg->path, inipath);
	assert_string_equal(cfg->state_dir, "/srv/fs/state");
	assert_int_equal(cfg->interval, 120);
	assert_int_equal(cfg->jitter, 25);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->retention, 12 * 3600);
	assert_int_equal(cfg->deliver_timeout, 0);

	assert_string_equal(cfg->split_api_url,
	    "http://127.0.0.1:8080/internal/api/v2");
	assert_string_equal(cfg->split_admin_key, "split-secret");
	fmt(origin, sizeof(origin), "admin_key_file %s", keyfile);
	assert_string_equal(cfg->split_key_origin, origin);
	assert_string_equal(cfg->split_flag_url,
	    "https://app.split.io/org/o/ws/{workspace_id}/splits/{flag_id}"
	    "/env/{environment_id}/definition?f={flag}");
	assert_true(cfg->split_max_rps == 2.5);
	assert_int_equal(cfg->split_timeout, 15);
	assert_string_equal(cfg->ca_file, ca);

	assert_int_equal(cfg->nprojects, 2);
	assert_string_equal(cfg->projects[0].name, "Default");
	assert_string_equal(cfg->projects[0].environment, "Production");
	assert_int_equal(cfg->projects[0].line, 18);
	assert_string_equal(cfg->projects[1].name, "Payments EU");
	assert_string_equal(cfg->projects[1].environment, "prod-eu");
	assert_int_equal(cfg->projects[1].line, 20);

	assert_int_equal(cfg->split_tags, 0);
	assert_int_equal(cfg->split_description, 0);
	assert_string_equal(cfg->issue_key_pattern, "[A-Z]+-[0-9]+");
	assert_string_equal(cfg->links_file, "/srv/fs/links.yaml");
	assert_string_equal(cfg->jira_field, "customfield_10050");
	assert_string_equal(cfg->jira_jql, "project in (SHOP, PAY)");

	assert_string_equal(cfg->jira_url, "https://example.atlassian.net");
	assert_string_equal(cfg->jira_email, "bot@example.com");
	assert_string_equal(cfg->jira_api_token, "jira-secret");
	assert_int_equal(cfg->jira_timeout, 45);

	assert_int_equal(cfg->nplugins, 2);
	pl = &cfg->plugins[0];
	assert_string_equal(pl->name, "audit");
	assert_string_equal(pl->module, "file");
	assert_string_equal(pl->events, "flag.*, link.*");
	assert_int_equal(pl->timeout, 5);
	assert_int_equal(pl->line, 38);
	assert_int_equal(pl->nkeys, 2);
	assert_string_equal(pl->keys[0].key, "path");
	assert_string_equal(pl->keys[0].value,
	    "/var/lib/flagsync/events.jsonl");
	assert_int_equal(pl->keys[0].line, 42);
	assert_string_equal(pl->keys[1].key, "fsync");
	assert_string_equal(pl->keys[1].value, "");
	assert_int_equal(pl->keys[1].line, 43);
	pl = &cfg->plugins[1];
	assert_string_equal(pl->name, "syslog");
	assert_string_equal(pl->module, "syslog");
	assert_string_equal(pl->events, "*");
	assert_int_equal(pl->timeout, 30);
	assert_int_equal(pl->nkeys, 0);
	assert_null(pl->keys);
	assert_int_equal(pl->line, 44);

	assert_ptr_equal(config_project_find(cfg, "Payments EU"),
	    &cfg->projects[1]);
	assert_null(config_project_find(cfg, "default"));
	config_free(cfg);
}

static void
test_defaults(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = expect_ok("[project Default]\nenvironment = Production\n");
	assert_string_equal(cfg->state_dir, "/var/lib/flagsync");
	assert_int_equal(cfg->interval, 60);
	assert_int_equal(cfg->jitter, 10);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_int_equal(cfg->retention, 90 * 86400);
	assert_int_equal(cfg->deliver_timeout, 30);
	assert_string_equal(cfg->split_api_url,
	    "https://api.split.io/internal/api/v2");
	assert_null(cfg->split_admin_key);
	assert_null(cfg->split_key_origin);
	assert_null(cfg->split_flag_url);
	assert_true(cfg->split_max_rps == 3.0);
	assert_int_equal(cfg->split_timeout, 30);
	assert_null(cfg->ca_file);
	assert_int_equal(cfg->split_tags, 1);
	assert_int_equal(cfg->split_description, 1);
	assert_string_equal(cfg->issue_key_pattern,
	    "[A-Z][A-Z0-9]{1,9}-[0-9]+");
	assert_null(cfg->links_file);
	assert_null(cfg->jira_field);
	assert_null(cfg->jira_jql);
	assert_null(cfg->jira_url);
	assert_null(cfg->jira_email);
	assert_null(cfg->jira_api_token);
	assert_int_equal(cfg->jira_timeout, 30);
	assert_int_equal(cfg->nplugins, 0);
	assert_null(cfg->plugins);
	assert_int_equal(cfg->nprojects, 1);
	assert_int_equal(cfg->projects[0].line, 1);
	config_free(cfg);
}

static void
test_cannot_open(void **state)
{
	struct config *cfg = (struct config *)&cfg;
	char path[PATH_MAX], err[1024], want[PATH_MAX + 64];

	(void)state;
	tmp_path(path, sizeof(path), "absent.ini");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), ENOENT);
	assert_null(cfg);
	fmt(want, sizeof(want), "%s: cannot read: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err, want);

	/* A directory opens but does not read. */
	assert_int_equal(config_load(tmpdir, &cfg, err, sizeof(err)), EISDIR);
	assert_null(cfg);
	fmt(want, sizeof(want), "%s: cannot read: %s", tmpdir,
	    strerror(EISDIR));
	assert_string_equal(err, want);
}

static void
test_unknown_section(void **state)
{
	(void)state;
	expect_error(PROJECT "[agent]\n\n[agnet]\ninterval = 5\n", 5,
	    "[agnet]: unknown section; known: agent, split, links, jira, "
	    "project NAME, plugin NAME, http, findings");
	expect_error(PROJECT "[agent extra]\n", 3,
	    "[agent extra]: [agent] takes no name");
	expect_error(PROJECT "[project]\n", 3,
	    "[project]: needs a name: [project NAME]");
	expect_error(PROJECT "[plugin a/b]\n", 3,
	    "[plugin a/b]: instance names take letters, digits, _ . and - "
	    "only");
	/* Names longer than maxlen.h allows, shown shortened. */
	{
		char text[1024], name[300];

		memset(name, 'p', FS_PROJECT_MAX + 1);
		name[FS_PROJECT_MAX + 1] = '\0';
		fmt(text, sizeof(text), PROJECT "[project %s]\n"
		    "environment = e\n", name);
		expect_error(text, 3, "[project pppppppppppppppppppppppppppppp"
		    "pppppppppp... (129 bytes)]: the name is longer than 128 "
		    "bytes");
		memset(name, 'i', FS_INSTANCE_MAX + 1);
		name[FS_INSTANCE_MAX + 1] = '\0';
		fmt(text, sizeof(text), PROJECT "[plugin %s]\n", name);
		expect_error(text, 3, "[plugin iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
		    "iiiiiiii... (65 bytes)]: the name is longer than 64 "
		    "bytes");
	}
}

static void
test_unknown_key(void **state)
{
	(void)state;
	expect_error(PROJECT "[agent]\n; comment\nintervall = 5\n", 5,
	    "[agent] intervall: unknown key; [agent] takes state_dir, "
	    "interval, jitter, log_level, retention, deliver_timeout");
	expect_error("[project P]\nenvironment = E\nenv = F\n", 3,
	    "[project P] env: unknown key; [project] takes environment, sdk_key_file");
	expect_error("interval = 5\n" PROJECT, 1,
	    "interval: key outside any section; put it under [agent], "
	    "[split], [links], [jira], [project NAME] or [plugin NAME]");
}

struct bad_value {
	const char	*section;
	const char	*key;
	const char	*value;
	const char	*msg;
};

static void
test_bad_values(void **state)
{
	static const struct bad_value cases[] = {
		{ "agent", "interval", "0", "0 is out of range 1s..1d" },
		{ "agent", "interval", "abc", "\"abc\" is not a duration: N "
		    "(seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "interval", "10x", "\"10x\" is not a duration: N "
		    "(seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "interval", "60 # seconds", "\"60 # seconds\" is "
		    "not a duration: N (seconds), Ns, Nm, Nh or Nd (a comment "
		    "after a value starts with ' ;', not '#')" },
		{ "agent", "interval", "99999999999999999999",
		    "99999999999999999999 is out of range 1s..1d" },
		{ "agent", "interval", "", "empty value; comment the line "
		    "out to use the default" },
		{ "agent", "jitter", "101", "101 is out of range 0..100" },
		{ "agent", "deliver_timeout", "-1", "\"-1\" is not a "
		    "duration: N (seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "deliver_timeout", "86401",
		    "86401 is out of range 0..1d" },
		{ "split", "timeout", "3601", "3601 is out of range 1s..1h" },
		{ "jira", "timeout", "0", "0 is out of range 1s..1h" },
		{ "plugin x", "timeout", "0", "0 is out of range 1s..1h" },
		{ "agent", "log_level", "verbose", "\"verbose\" is not error, "
		    "warning, info or debug" },
		{ "agent", "retention", "10y", "\"10y\" is not a duration: "
		    "N (seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "retention", "d", "\"d\" is not a duration: N "
		    "(seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "retention", "-5d", "\"-5d\" is not a duration: "
		    "N (seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "retention", "0", "0 is out of range 1s..3650d" },
		{ "agent", "retention", "9999999999999999999w",
		    "9999999999999999999w is out of range 1s..3650d" },
		/* fits an int64_t, but not once made milliseconds */
		{ "agent", "retention", "5000000000000d",
		    "5000000000000d is out of range 1s..3650d" },
		{ "agent", "retention", "3651d",
		    "3651d is out of range 1s..3650d" },
		{ "split", "max_rps", "1e-300", "1e-300 is out of range: 0 (no "
		    "ceiling) or 0.01..1000 requests a second" },
		{ "split", "max_rps", "0.001", "0.001 is out of range: 0 (no "
		    "ceiling) or 0.01..1000 requests a second" },
		{ "split", "max_rps", "1e6", "1e6 is out of range: 0 (no "
		    "ceiling) or 0.01..1000 requests a second" },
		/* a token pasted into the wrong key is not echoed */
		{ "agent", "interval", "ATATT3xFfGF0kq9Zr7Tq2mWvXy81HbNc",
		    "\"<hidden: looks like a secret>\" is not a duration: N "
		    "(seconds), Ns, Nm, Nh or Nd" },
		{ "links", "split_tags", "0123456789abcdef0123456789abcdef",
		    "\"<hidden: looks like a secret>\" is not yes/no/"
		    "true/false/on/off/1/0" },
		{ "agent", "state_dir", "var/lib", "\"var/lib\" is not an "
		    "absolute path" },
		{ "split", "max_rps", "-1", "-1 is negative (0 means no "
		    "ceiling)" },
		{ "split", "max_rps", "fast", "not a number: \"fast\"" },
		{ "split", "max_rps", "nan", "not a number: \"nan\"" },
		{ "split", "api_url", "ftp://x", "\"ftp://x\" is not an "
		    "http:// or https:// URL" },
		{ "split", "api_url", "https://", "\"https://\" names no "
		    "host" },
		{ "split", "flag_url", "https://x/{flag}/{bogus}",
		    "unknown placeholder {bogus}; known: {workspace_id} "
		    "{flag_id} {environment_id} {flag}" },
		{ "split", "flag_url", "https://x/{flag", "unclosed {" },
		{ "split", "admin_key_file", "split.key", "\"split.key\" is "
		    "not an absolute path" },
		{ "links", "split_tags", "maybe", "\"maybe\" is not yes/no/"
		    "true/false/on/off/1/0" },
		{ "links", "file", "links.yaml", "\"links.yaml\" is not an "
		    "absolute path" },
		{ "plugin x", "module", "../evil.so", "\"../evil.so\" is "
		    "neither a module name (letters, digits, _ . -) nor an "
		    "absolute path" },
	};
	char text[512], msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt(text, sizeof(text), PROJECT "[%s]\n%s = %s\n",
		    cases[i].section, cases[i].key, cases[i].value);
		fmt(msg, sizeof(msg), "[%s] %s: %s", cases[i].section,
		    cases[i].key, cases[i].msg);
		expect_error(text, 4, msg);
	}
}

static void
test_good_values(void **state)
{
	static const struct { const char *v; int64_t secs; } durations[] = {
		{ "90d", 90 * 86400 }, { "12h", 12 * 3600 }, { "30m", 1800 },
		{ "45s", 45 }, { "3600", 3600 }, { "2w", 14 * 86400 },
		{ "3650d", (int64_t)3650 * 86400 },
	};
	static const struct { const char *v; int on; } bools[] = {
		{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
		{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
		{ "YES", 1 }, { "Off", 0 },
	};
	static const struct { const char *v; int prio; } levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	struct config *cfg;
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		fmt(text, sizeof(text), PROJECT "[agent]\nretention = %s\n",
		    durations[i].v);
		cfg = expect_ok(text);
		assert_int_equal(cfg->retention, durations[i].secs);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		fmt(text, sizeof(text), PROJECT "[links]\nsplit_tags = %s\n"
		    "split_description = %s\n", bools[i].v, bools[i].v);
		cfg = expect_ok(text);
		assert_int_equal(cfg->split_tags, bools[i].on);
		assert_int_equal(cfg->split_description, bools[i].on);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		fmt(text, sizeof(text), PROJECT "[agent]\nlog_level = %s\n",
		    levels[i].v);
		cfg = expect_ok(text);
		assert_int_equal(cfg->log_level, levels[i].prio);
		config_free(cfg);
	}
	cfg = expect_ok(PROJECT "[split]\nmax_rps = 0\n[agent]\n"
	    "interval = 86400\njitter = 0\ndeliver_timeout = 86400\n");
	assert_true(cfg->split_max_rps == 0.0);
	assert_int_equal(cfg->interval, 86400);
	assert_int_equal(cfg->jitter, 0);
	assert_int_equal(cfg->deliver_timeout, 86400);
	config_free(cfg);
	cfg = expect_ok(PROJECT "[split]\nmax_rps = 0.01\n");
	assert_true(cfg->split_max_rps == 0.01);
	config_free(cfg);
	cfg = expect_ok(PROJECT "[split]\nmax_rps = 1000\n");
	assert_true(cfg->split_max_rps == 1000.0);
	config_free(cfg);
}

/*
 * Every time key takes N, Ns, Nm, Nh, Nd through one parser, within its
 * own range, and its errors name the file, line and key.
 */
static void
test_durations_everywhere(void **state)
{
	static const struct {
		const char *section, *key, *value;
		int64_t secs;
	} good[] = {
		{ "agent", "interval", "1m", 60 },
		{ "agent", "interval", "90s", 90 },
		{ "agent", "interval", "2h", 7200 },
		{ "agent", "interval", "1d", 86400 },
		{ "agent", "interval", "45", 45 },
		{ "agent", "deliver_timeout", "0", 0 },
		{ "agent", "deliver_timeout", "2m", 120 },
		{ "agent", "retention", "36h", 36 * 3600 },
		{ "split", "timeout", "1m", 60 },
		{ "split", "timeout", "1h", 3600 },
		{ "jira", "timeout", "30s", 30 },
		{ "plugin x", "timeout", "5m", 300 },
	};
	static const struct bad_value bad[] = {
		{ "agent", "interval", "2d", "2d is out of range 1s..1d" },
		{ "agent", "interval", "1x", "\"1x\" is not a duration: N "
		    "(seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "interval", "m", "\"m\" is not a duration: N "
		    "(seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "interval", "1m30s", "\"1m30s\" is not a duration: "
		    "N (seconds), Ns, Nm, Nh or Nd" },
		{ "agent", "deliver_timeout", "25h",
		    "25h is out of range 0..1d" },
		{ "split", "timeout", "61m", "61m is out of range 1s..1h" },
		{ "jira", "timeout", "0s", "0s is out of range 1s..1h" },
		{ "plugin x", "timeout", "2h", "2h is out of range 1s..1h" },
		{ "agent", "retention", "3651d",
		    "3651d is out of range 1s..3650d" },
	};
	struct config *cfg;
	char text[512], msg[512];
	int64_t got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		fmt(text, sizeof(text), PROJECT "[%s]\n%s = %s\n",
		    good[i].section, good[i].key, good[i].value);
		cfg = expect_ok(text);
		if (strcmp(good[i].section, "plugin x") == 0)
			got = cfg->plugins[0].timeout;
		else if (strcmp(good[i].key, "interval") == 0)
			got = cfg->interval;
		else if (strcmp(good[i].key, "deliver_timeout") == 0)
			got = cfg->deliver_timeout;
		else if (strcmp(good[i].key, "retention") == 0)
			got = cfg->retention;
		else if (strcmp(good[i].section, "split") == 0)
			got = cfg->split_timeout;
		else
			got = cfg->jira_timeout;
		assert_int_equal(got, good[i].secs);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fmt(text, sizeof(text), PROJECT "[%s]\n%s = %s\n",
		    bad[i].section, bad[i].key, bad[i].value);
		fmt(msg, sizeof(msg), "[%s] %s: %s", bad[i].section,
		    bad[i].key, bad[i].msg);
		expect_error(text, 4, msg);
	}
}

static void
test_bad_regex(void **state)
{
	char why[256], msg[512];
	regex_t re;
	int rc;

	(void)state;
	rc = regcomp(&re, "[A-Z", REG_EXTENDED | REG_NOSUB);
	assert_int_not_equal(rc, 0);
	regerror(rc, &re, why, sizeof(why));
	fmt(msg, sizeof(msg), "[links] issue_key_pattern: not a POSIX "
	    "extended regular expression: %s", why);
	expect_error(PROJECT "[links]\nissue_key_pattern = [A-Z\n", 4, msg);
	expect_error_part(PROJECT "[links]\nissue_key_pattern = (a\n", 4,
	    "[links] issue_key_pattern: not a POSIX extended regular "
	    "expression: ");
}

static void
test_missing_environment(void **state)
{
	(void)state;
	expect_error("[project A]\n\n[project B]\nenvironment = x\n", 1,
	    "[project A] environment: missing; name the project's primary "
	    "environment");
	expect_error("[project A]\nenvironment = x\n[project B]\n", 3,
	    "[project B] environment: missing; name the project's primary "
	    "environment");
}

static void
test_no_project(void **state)
{
	(void)state;
	expect_error("[agent]\ninterval = 5\n", 0,
	    "no [project NAME] section; add one per Split workspace, e.g. "
	    "[project Default] with environment = Production");
	expect_error("", 0, "no [project NAME] section; add one per Split "
	    "workspace, e.g. [project Default] with environment = "
	    "Production");
}

static void
test_duplicates(void **state)
{
	(void)state;
	expect_error(PROJECT "[agent]\ninterval = 5\n\ninterval = 6\n", 6,
	    "[agent] interval: duplicate key (first on line 4)");
	expect_error("[project P]\nenvironment = E\nenvironment = F\n", 3,
	    "[project P] environment: duplicate key (first on line 2)");
	expect_error(PROJECT "[plugin x]\npath = /a\npath = /b\n", 5,
	    "[plugin x] path: duplicate key (first on line 4)");
	expect_error(PROJECT "[plugin x]\nevents = *\nevents = a.*\n", 5,
	    "[plugin x] events: duplicate key (first on line 4)");
	expect_error(PROJECT "[project P]\nenvironment = F\n", 3,
	    "[project P]: duplicate section (first on line 1)");
	expect_error(PROJECT "[plugin x]\n[plugin y]\n[plugin x]\n", 5,
	    "[plugin x]: duplicate section (first on line 3)");
	expect_error(PROJECT "[agent]\n[split]\n[agent]\n", 5,
	    "[agent]: duplicate section (first on line 3)");
}

static void
test_both_key_and_file(void **state)
{
	(void)state;
	expect_error(PROJECT "[split]\nadmin_key = " SECRET "\n"
	    "admin_key_file = /etc/flagsync/split-admin-key\n", 5,
	    "[split] admin_key_file: admin_key is also set (line 4); set "
	    "only one of them");
	expect_error(PROJECT "[jira]\napi_token_file = /x\n"
	    "api_token = " SECRET "\n", 5,
	    "[jira] api_token: api_token_file is also set (line 4); set "
	    "only one of them");
}

static void
test_syntax_and_lines(void **state)
{
	char text[1024];
	struct config *cfg;

	(void)state;
	expect_error(PROJECT "[agent]\ninterval = 5\n  jitter = 5\n", 5,
	    "[agent] interval: an indented line continues the value above; "
	    "remove the indentation");
	expect_error(PROJECT "[agent]\n\n; x\nnonsense\n", 6,
	    "expected \"key = value\" or a [section] header");
	expect_error(PROJECT "[agent\n", 3,
	    "section header without a closing ]");
	expect_error(PROJECT "[agent]\n= 5\n", 4,
	    "a key name is missing before the =");
	memset(text, 0, sizeof(text));
	strcpy(text, PROJECT "[plugin x]\nlong = ");
	memset(text + strlen(text), 'v', 300);
	strcat(text, "\n");
	expect_error_part(text, 4, "line longer than ");

	/* Indented keys are fine right under a header; comments inline. */
	cfg = expect_ok("\xEF\xBB\xBF; BOM, CRLF, comments\r\n"
	    "[project P]\r\n"
	    "  environment = E ; primary\r\n"
	    "# hash comment\r\n"
	    "[agent]   ; the agent\r\n"
	    "\t interval: 7\r\n"
	    "[plugin p]\n"
	    "url = http://x/;not-a-comment\n"
	    "note = a ; b\n");
	assert_string_equal(cfg->projects[0].environment, "E");
	assert_int_equal(cfg->projects[0].line, 2);
	assert_int_equal(cfg->interval, 7);
	assert_int_equal(cfg->plugins[0].nkeys, 2);
	assert_string_equal(cfg->plugins[0].keys[0].value,
	    "http://x/;not-a-comment");
	assert_string_equal(cfg->plugins[0].keys[1].value, "a");
	assert_int_equal(cfg->plugins[0].keys[1].line, 9);
	config_free(cfg);

	/* Long names survive inih's 50-byte section (and name) buffers. */
	cfg = expect_ok(PROJECT "[plugin p]\n"
	    "a_very_long_plugin_key_name_that_inih_would_cut_short = 1\n");
	assert_string_equal(cfg->plugins[0].keys[0].key,
	    "a_very_long_plugin_key_name_that_inih_would_cut_short");
	config_free(cfg);
	cfg = expect_ok("[project A workspace name longer than inih's fifty "
	    "byte section buffer]\nenvironment = E\n");
	assert_string_equal(cfg->projects[0].name, "A workspace name longer "
	    "than inih's fifty byte section buffer");
	config_free(cfg);
}

static void
test_links_need_jira(void **state)
{
	(void)state;
	expect_error(PROJECT "[links]\njira_field = cf_1\n", 4,
	    "[links] jira_field: needs [jira] url and email");
	expect_error(PROJECT "[links]\njira_field = cf_1\n[jira]\n"
	    "url = https://x.atlassian.net\n", 4,
	    "[links] jira_field: needs [jira] email");
	expect_error(PROJECT "[links]\n\njira_jql = project = X\n", 5,
	    "[links] jira_jql: only narrows the jira_field search, and "
	    "jira_field is not set");
}

/* [links] jira_create and create_traffic_type (issue 13). */
static void
test_links_create(void **state)
{
	struct config *cfg;
	char text[1024];

	(void)state;
	cfg = expect_ok(PROJECT);
	assert_int_equal(cfg->jira_create, 0);
	assert_string_equal(cfg->create_traffic_type, "user");
	config_free(cfg);
	fmt(text, sizeof(text), PROJECT "[links]\njira_field = cf_1\n"
	    "jira_create = yes\ncreate_traffic_type = account-2_x\n"
	    "[jira]\nurl = https://x.atlassian.net\nemail = a@b.c\n");
	cfg = expect_ok(text);
	assert_int_equal(cfg->jira_create, 1);
	assert_string_equal(cfg->create_traffic_type, "account-2_x");
	config_free(cfg);
	expect_error(PROJECT "[links]\njira_field = cf_1\n"
	    "create_traffic_type = 2 users\n", 5,
	    "[links] create_traffic_type: \"2 users\" is not a traffic type "
	    "name: a letter first, then only letters, digits, '-' and '_', "
	    "at most 255 bytes");
	expect_error(PROJECT "[links]\njira_create = maybe\n", 4,
	    "[links] jira_create: \"maybe\" is not yes/no/true/false/on/off/"
	    "1/0");
	expect_error(PROJECT "[links]\n\njira_create = yes\n", 5,
	    "[links] jira_create: creates the flags the jira_field names, "
	    "and jira_field is not set");
}

static void
test_ca_file(void **state)
{
	char ca[PATH_MAX], ca2[PATH_MAX], text[1024], msg[PATH_MAX + 64];
	struct config *cfg;

	(void)state;
	write_file(tmp_path(ca, sizeof(ca), "ca1.pem"), "x\n", 0644);
	write_file(tmp_path(ca2, sizeof(ca2), "ca2.pem"), "x\n", 0644);
	fmt(text, sizeof(text), PROJECT "[jira]\nca_file = %s\n", ca);
	cfg = expect_ok(text);
	assert_string_equal(cfg->ca_file, ca);
	config_free(cfg);
	fmt(text, sizeof(text), PROJECT "[split]\nca_file = %s\n[jira]\n"
	    "ca_file = %s\n", ca, ca2);
	expect_error(text, 6, "[jira] ca_file: differs from the ca_file on "
	    "line 4; one CA file serves both Split and Jira");
	fmt(text, sizeof(text), PROJECT "[split]\nca_file = %s/none.pem\n",
	    tmpdir);
	fmt(msg, sizeof(msg), "[split] ca_file: cannot read %s/none.pem: %s",
	    tmpdir, strerror(ENOENT));
	expect_error(text, 4, msg);
}

static void
test_secret_precedence(void **state)
{
	char cred[PATH_MAX], credkey[PATH_MAX], credtok[PATH_MAX];
	char keyfile[PATH_MAX], tokfile[PATH_MAX], text[1024];
	char origin[PATH_MAX + 32];
	struct config *cfg;

	(void)state;
	tmp_path(cred, sizeof(cred), "creds");
	assert_int_equal(mkdir(cred, 0700), 0);
	fmt(credkey, sizeof(credkey), "%s/split-admin-key", cred);
	fmt(credtok, sizeof(credtok), "%s/jira-api-token", cred);
	write_file(credkey, "key-from-cred\n", 0600);
	write_file(credtok, "tok-from-cred\n", 0600);
	write_file(tmp_path(keyfile, sizeof(keyfile), "k"), "key-from-file\n",
	    0600);
	write_file(tmp_path(tokfile, sizeof(tokfile), "t"), "tok-from-file",
	    0600);
	fmt(text, sizeof(text), PROJECT "[split]\nadmin_key_file = %s\n"
	    "[jira]\napi_token_file = %s\n", keyfile, tokfile);
	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	setenv("FLAGSYNC_SPLIT_ADMIN_KEY", "key-from-env\n", 1);
	setenv("FLAGSYNC_JIRA_API_TOKEN", "tok-from-env", 1);

	cfg = expect_ok(text);
	assert_string_equal(cfg->split_admin_key, "key-from-cred");
	assert_string_equal(cfg->split_key_origin,
	    "$CREDENTIALS_DIRECTORY/split-admin-key");
	assert_string_equal(cfg->jira_api_token, "tok-from-cred");
	config_free(cfg);

	/* A credentials directory without the file falls through. */
	assert_int_equal(unlink(credkey), 0);
	assert_int_equal(unlink(credtok), 0);
	cfg = expect_ok(text);
	assert_string_equal(cfg->split_admin_key, "key-from-env");
	assert_string_equal(cfg->split_key_origin,
	    "environment FLAGSYNC_SPLIT_ADMIN_KEY");
	assert_string_equal(cfg->jira_api_token, "tok-from-env");
	config_free(cfg);

	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("FLAGSYNC_SPLIT_ADMIN_KEY");
	setenv("FLAGSYNC_JIRA_API_TOKEN", "", 1);
	cfg = expect_ok(text);
	assert_string_equal(cfg->split_admin_key, "key-from-file");
	fmt(origin, sizeof(origin), "admin_key_file %s", keyfile);
	assert_string_equal(cfg->split_key_origin, origin);
	assert_string_equal(cfg->jira_api_token, "tok-from-file");
	config_free(cfg);

	/* The environment beats an inline key too. */
	setenv("FLAGSYNC_SPLIT_ADMIN_KEY", "key-from-env", 1);
	cfg = expect_ok(PROJECT "[split]\nadmin_key = key-inline\n[jira]\n"
	    "api_token = tok-inline\n");
	assert_string_equal(cfg->split_admin_key, "key-from-env");
	assert_string_equal(cfg->jira_api_token, "tok-inline");
	config_free(cfg);

	unsetenv("FLAGSYNC_SPLIT_ADMIN_KEY");
	cfg = expect_ok(PROJECT "[split]\nadmin_key = key-inline\n");
	assert_string_equal(cfg->split_admin_key, "key-inline");
	assert_string_equal(cfg->split_key_origin, "inline admin_key");
	assert_null(cfg->jira_api_token);
	config_free(cfg);
}

static void
test_secret_files(void **state)
{
	char path[PATH_MAX], text[1024], msg[PATH_MAX * 2];
	struct config *cfg;

	(void)state;
	/* Only trailing whitespace goes. */
	write_file(tmp_path(path, sizeof(path), "trim"), "  ab c \t\r\n\n\n",
	    0600);
	fmt(text, sizeof(text), PROJECT "[split]\nadmin_key_file = %s\n",
	    path);
	cfg = expect_ok(text);
	assert_string_equal(cfg->split_admin_key, "  ab c");
	config_free(cfg);

	write_file(path, " \n\n", 0600);
	fmt(msg, sizeof(msg), "[split] admin_key_file: cannot read %s: empty",
	    path);
	expect_error(text, 4, msg);

	write_file(path, "", 0600);
	expect_error(text, 4, msg);

	write_file(path, SECRET "\nsecond line\n", 0600);
	fmt(msg, sizeof(msg), "[split] admin_key_file: cannot read %s: "
	    "holds control characters", path);
	expect_error(text, 4, msg);

	expect_error(PROJECT "[split]\nadmin_key = a\tb\n", 4,
	    "[split] admin_key: holds control characters");

	tmp_path(path, sizeof(path), "missing");
	fmt(text, sizeof(text), PROJECT "[jira]\n\napi_token_file = %s\n",
	    path);
	fmt(msg, sizeof(msg), "[jira] api_token_file: cannot read %s: %s",
	    path, strerror(ENOENT));
	expect_error(text, 5, msg);

	fmt(text, sizeof(text), PROJECT "[jira]\napi_token_file = %s\n",
	    tmpdir);
	fmt(msg, sizeof(msg), "[jira] api_token_file: cannot read %s: not a "
	    "regular file", tmpdir);
	expect_error(text, 4, msg);

	/* A blank credential, what flagsync.service's SetCredential= gives
	 * when the key file is missing, is unset: the next source wins. */
	tmp_path(path, sizeof(path), "creds2");
	assert_int_equal(mkdir(path, 0700), 0);
	setenv("CREDENTIALS_DIRECTORY", path, 1);
	setenv("FLAGSYNC_SPLIT_ADMIN_KEY", "key-from-env", 1);
	assert_int_equal(strlen(path) + 20 < sizeof(path), 1);
	strcat(path, "/split-admin-key");
	write_file(path, "\n", 0600);
	cfg = expect_ok(PROJECT);
	assert_string_equal(cfg->split_admin_key, "key-from-env");
	config_free(cfg);
	unsetenv("FLAGSYNC_SPLIT_ADMIN_KEY");
	cfg = expect_ok(PROJECT);
	assert_null(cfg->split_admin_key);
	config_free(cfg);

	/* A bad credential is an error, not a reason to fall through. */
	setenv("FLAGSYNC_SPLIT_ADMIN_KEY", "key-from-env", 1);
	write_file(path, "a\tb\n", 0600);
	fmt(msg, sizeof(msg), "[split] admin_key: cannot read "
	    "$CREDENTIALS_DIRECTORY/split-admin-key (%s): holds control "
	    "characters", path);
	expect_error(PROJECT, 0, msg);
}

static void
test_world_readable(void **state)
{
	struct config *cfg;
	char err[1024], want[PATH_MAX * 3];
	const char *split = PROJECT "[split]\nadmin_key = " SECRET "\n";
	const char *jira = PROJECT "[jira]\n\napi_token = " SECRET "\n";

	(void)state;
	assert_int_equal(load_mode(split, 0644, &cfg, err, sizeof(err)),
	    FS_ECONFIG);
	assert_null(cfg);
	fmt(want, sizeof(want), "%s: holds an inline secret ([split] "
	    "admin_key, line 4) and is readable by others; run chmod o-r %s "
	    "or move the secret to admin_key_file", inipath, inipath);
	assert_string_equal(err, want);

	assert_int_equal(load_mode(jira, 0604, &cfg, err, sizeof(err)),
	    FS_ECONFIG);
	fmt(want, sizeof(want), "%s: holds an inline secret ([jira] "
	    "api_token, line 5) and is readable by others; run chmod o-r %s "
	    "or move the secret to api_token_file", inipath, inipath);
	assert_string_equal(err, want);

	/* Refused even when the environment would override it. */
	setenv("FLAGSYNC_SPLIT_ADMIN_KEY", "key-from-env", 1);
	assert_int_equal(load_mode(split, 0644, &cfg, err, sizeof(err)),
	    FS_ECONFIG);
	unsetenv("FLAGSYNC_SPLIT_ADMIN_KEY");

	assert_int_equal(load_mode(split, 0600, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->split_admin_key, SECRET);
	config_free(cfg);
	assert_int_equal(load_mode(split, 0640, &cfg, err, sizeof(err)), 0);
	config_free(cfg);
	assert_int_equal(load_mode(PROJECT, 0644, &cfg, err, sizeof(err)), 0);
	config_free(cfg);
}

static void
test_secret_never_in_errors(void **state)
{
	static const struct { const char *text; mode_t mode; } cases[] = {
		{ PROJECT "[split]\nadmin_key = " SECRET "\n", 0644 },
		{ PROJECT "[jira]\napi_token = " SECRET "\n", 0666 },
		{ PROJECT "[split]\nadmin_key = " SECRET "\nadmin_key = "
		    SECRET "x\n", 0600 },
		{ PROJECT "[split]\nadmin_key = " SECRET "\n"
		    "admin_key_file = /x\n", 0600 },
		{ PROJECT "[split]\nadminkey = " SECRET "\n", 0600 },
		{ PROJECT "[split]\nadmin_key " SECRET "\n", 0600 },
		{ PROJECT "[split]\nadmin_key =\n  " SECRET "\n", 0600 },
		{ PROJECT "[split]\nadmin_key = " SECRET "\n  " SECRET "\n",
		    0600 },
		{ "admin_key = " SECRET "\n" PROJECT, 0600 },
		{ "[" SECRET "\n" PROJECT, 0600 },
		{ PROJECT "[plugin jira]\ntoken = " SECRET "\n"
		    "token = " SECRET "\n", 0600 },
		{ "[split]\nadmin_key = " SECRET "\n", 0600 },
		{ PROJECT "[split]\nadmin_key = " SECRET "\tx\n", 0600 },
		{ PROJECT "[split]\nadmin_key = " SECRET "\n[agent]\n"
		    "interval = x\n", 0600 },
	};
	struct config *cfg;
	char err[1024], keyfile[PATH_MAX], text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(load_mode(cases[i].text, cases[i].mode, &cfg,
		    err, sizeof(err)), FS_ECONFIG);
		assert_true(err[0] != '\0');
		if (strstr(err, SECRET) != NULL)
			fail_msg("case %zu shows the secret: %s", i, err);
	}

	/* Secrets from files and the environment, with a later error. */
	write_file(tmp_path(keyfile, sizeof(keyfile), "sk"), SECRET "\x01\n",
	    0600);
	fmt(text, sizeof(text), PROJECT "[split]\nadmin_key_file = %s\n",
	    keyfile);
	assert_int_equal(load(text, &cfg, err, sizeof(err)), FS_ECONFIG);
	assert_null(strstr(err, SECRET));
	setenv("FLAGSYNC_SPLIT_ADMIN_KEY", SECRET "\x02", 1);
	assert_int_equal(load(PROJECT, &cfg, err, sizeof(err)), FS_ECONFIG);
	assert_null(strstr(err, SECRET));
	assert_non_null(strstr(err, "FLAGSYNC_SPLIT_ADMIN_KEY holds control "
	    "characters"));
}

static void
test_plugin_keys(void **state)
{
	struct config *cfg;
	const struct config_plugin *pl;

	(void)state;
	cfg = expect_ok(PROJECT
	    "[plugin syslog]\n"
	    "events   = flag.*, link.*\n"
	    "facility = daemon\n"
	    "\n"
	    "server = 127.0.0.1:514 ; udp\n"
	    "[plugin mine]\n"
	    "module = /opt/flagsync/mine.so\n"
	    "module_option = 1\n");
	assert_int_equal(cfg->nplugins, 2);
	pl = &cfg->plugins[0];
	assert_string_equal(pl->name, "syslog");
	assert_string_equal(pl->module, "syslog");
	assert_string_equal(pl->events, "flag.*, link.*");
	assert_int_equal(pl->line, 3);
	assert_int_equal(pl->nkeys, 2);
	assert_string_equal(pl->keys[0].key, "facility");
	assert_string_equal(pl->keys[0].value, "daemon");
	assert_int_equal(pl->keys[0].line, 5);
	assert_string_equal(pl->keys[1].key, "server");
	assert_string_equal(pl->keys[1].value, "127.0.0.1:514");
	assert_int_equal(pl->keys[1].line, 7);
	pl = &cfg->plugins[1];
	assert_string_equal(pl->module, "/opt/flagsync/mine.so");
	assert_int_equal(pl->nkeys, 1);
	assert_string_equal(pl->keys[0].key, "module_option");
	assert_int_equal(pl->keys[0].line, 10);
	config_free(cfg);
}

static void
test_sample_file(void **state)
{
	const char *srcdir = getenv("SRCDIR");
	char path[PATH_MAX], err[1024];
	struct config *cfg = NULL;
	int rc;

	(void)state;
	if (srcdir == NULL || *srcdir == '\0')
		srcdir = ".";	/* make check sets SRCDIR; by hand, run from the top */
	fmt(path, sizeof(path), "%s/conf/flagsync.ini", srcdir);
	if ((rc = config_load(path, &cfg, err, sizeof(err))) != 0)
		fail_msg("config_load: %d: %s", rc, err);
	assert_int_equal(cfg->nprojects, 1);
	assert_string_equal(cfg->projects[0].name, "Default");
	assert_string_equal(cfg->projects[0].environment, "Production");
	assert_string_equal(cfg->links_file, "/etc/flagsync/links.yaml");
	assert_string_equal(cfg->state_dir, "/var/lib/flagsync");
	assert_int_equal(cfg->interval, 60);
	assert_int_equal(cfg->retention, 90 * 86400);
	assert_null(cfg->split_admin_key);
	assert_null(cfg->split_flag_url);
	assert_null(cfg->jira_url);
	assert_int_equal(cfg->nplugins, 0);
	config_free(cfg);
}

static void
test_err_buffer(void **state)
{
	struct config *cfg = (struct config *)&cfg;
	char err[16];

	(void)state;
	/* A short or absent buffer truncates; it never overflows. */
	assert_int_equal(load("[x]\n", &cfg, err, sizeof(err)), FS_ECONFIG);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(load("[x]\n", &cfg, NULL, 0), FS_ECONFIG);
	assert_null(cfg);
	config_free(NULL);
}

/* [http] (flagsync.ini(5)): off by default; listen is HOST:PORT or [IPV6]:PORT;
 * token_file is a secret file like the others. */
static void
test_http(void **state)
{
	char path[PATH_MAX], text[1024], msg[PATH_MAX * 2];
	struct config *cfg;

	(void)state;
	cfg = expect_ok(PROJECT);
	assert_null(cfg->http_listen);
	assert_null(cfg->http_token);
	config_free(cfg);

	cfg = expect_ok(PROJECT "[http]\nlisten = 127.0.0.1:9464\n");
	assert_string_equal(cfg->http_listen, "127.0.0.1:9464");
	config_free(cfg);
	cfg = expect_ok(PROJECT "[http]\nlisten = [::1]:0\n");
	assert_string_equal(cfg->http_listen, "[::1]:0");
	config_free(cfg);
	cfg = expect_ok(PROJECT "[http]\nlisten = localhost:65535\n");
	config_free(cfg);

	expect_error(PROJECT "[http]\nlisten = 9464\n", 4,
	    "[http] listen: \"9464\" is not HOST:PORT or [IPV6]:PORT "
	    "(e.g. 127.0.0.1:9464)");
	expect_error(PROJECT "[http]\nlisten = ::1:9464\n", 4,
	    "[http] listen: \"::1:9464\" is not HOST:PORT or [IPV6]:PORT "
	    "(e.g. 127.0.0.1:9464)");
	expect_error(PROJECT "[http]\nlisten = []:80\n", 4,
	    "[http] listen: \"[]:80\" is not HOST:PORT or [IPV6]:PORT "
	    "(e.g. 127.0.0.1:9464)");
	expect_error(PROJECT "[http]\nlisten = 127.0.0.1:65536\n", 4,
	    "[http] listen: \"127.0.0.1:65536\": the port is not a number "
	    "from 0 to 65535");
	expect_error(PROJECT "[http]\nlisten = 127.0.0.1:\n", 4,
	    "[http] listen: \"127.0.0.1:\": the port is not a number "
	    "from 0 to 65535");
	expect_error(PROJECT "[http]\ntoken = x\n", 4,
	    "[http] token: unknown key; [http] takes listen, token_file");

	write_file(tmp_path(path, sizeof(path), "http-token"), "tok-123\n",
	    0600);
	fmt(text, sizeof(text), PROJECT "[http]\nlisten = 127.0.0.1:0\n"
	    "token_file = %s\n", path);
	cfg = expect_ok(text);
	assert_string_equal(cfg->http_token, "tok-123");
	config_free(cfg);
	write_file(path, "", 0600);
	fmt(msg, sizeof(msg), "[http] token_file: cannot read %s: empty",
	    path);
	expect_error(text, 5, msg);
}

/* [findings]: off without the section, defaults when empty, checked keys. */
static void
test_findings(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = expect_ok(PROJECT);
	assert_int_equal(cfg->findings, 0);
	config_free(cfg);
	cfg = expect_ok(PROJECT "[findings]\n");
	assert_int_equal(cfg->findings, 1);
	assert_int_equal(cfg->findings_done_grace, 14 * 86400);
	assert_int_equal(cfg->findings_stale_after, 30 * 86400);
	assert_null(cfg->findings_ignore);
	config_free(cfg);
	cfg = expect_ok(PROJECT "[findings]\ndone_grace = 3d\n"
	    "stale_after = 12h\nignore = unlinked, killed-*\n");
	assert_int_equal(cfg->findings_done_grace, 3 * 86400);
	assert_int_equal(cfg->findings_stale_after, 12 * 3600);
	assert_string_equal(cfg->findings_ignore, "unlinked, killed-*");
	config_free(cfg);
	expect_error(PROJECT "[findings]\nignore = unlinked, stale\n", 4,
	    "[findings] ignore: \"stale\" matches no finding type; known: "
	    "done-but-partial, fully-rolled-out, killed-long, unlinked, "
	    "issue-missing, flag-gone");
	expect_error_part(PROJECT "[findings]\nstale_after = soon\n", 4,
	    "[findings] stale_after: \"soon\" is not a duration");
	expect_error_part(PROJECT "[findings]\ngrace = 1d\n", 4,
	    "unknown key; [findings] takes done_grace, stale_after, ignore");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_full_file, test_setup),
		cmocka_unit_test_setup(test_defaults, test_setup),
		cmocka_unit_test_setup(test_cannot_open, test_setup),
		cmocka_unit_test_setup(test_unknown_section, test_setup),
		cmocka_unit_test_setup(test_unknown_key, test_setup),
		cmocka_unit_test_setup(test_bad_values, test_setup),
		cmocka_unit_test_setup(test_good_values, test_setup),
		cmocka_unit_test_setup(test_durations_everywhere, test_setup),
		cmocka_unit_test_setup(test_bad_regex, test_setup),
		cmocka_unit_test_setup(test_missing_environment, test_setup),
		cmocka_unit_test_setup(test_no_project, test_setup),
		cmocka_unit_test_setup(test_duplicates, test_setup),
		cmocka_unit_test_setup(test_both_key_and_file, test_setup),
		cmocka_unit_test_setup(test_syntax_and_lines, test_setup),
		cmocka_unit_test_setup(test_links_need_jira, test_setup),
		cmocka_unit_test_setup(test_links_create, test_setup),
		cmocka_unit_test_setup(test_ca_file, test_setup),
		cmocka_unit_test_setup(test_secret_precedence, test_setup),
		cmocka_unit_test_setup(test_secret_files, test_setup),
		cmocka_unit_test_setup(test_world_readable, test_setup),
		cmocka_unit_test_setup(test_secret_never_in_errors,
		    test_setup),
		cmocka_unit_test_setup(test_plugin_keys, test_setup),
		cmocka_unit_test_setup(test_sample_file, test_setup),
		cmocka_unit_test_setup(test_err_buffer, test_setup),
		cmocka_unit_test_setup(test_http, test_setup),
		cmocka_unit_test_setup(test_findings, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
