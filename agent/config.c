/*
 * config.c - flagsync.ini: parse with inih, validate, resolve secrets.
 *
 * inih hands the handler only (section, name, value), with the section name
 * cut at 49 bytes (key names too, in upstream's default build), no line
 * number (Debian's inih 55 lacks INI_HANDLER_LINENO), and never a word
 * about a section that holds no key.  So the line reader given to
 * ini_parse_stream() looks at every line first: it counts lines, opens
 * sections (an empty [project X] must still be seen), keeps the whole key
 * name, and stops the parse on what inih would take silently: over-long
 * lines, which inih splits, and indented lines after a key, which inih
 * glues onto the previous value.  The line classification below mirrors
 * ini_parse_stream() so both always agree on what a line is.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "findings.h"
#include "error.h"
#include "array.h"
#include "log.h"
#include "duration.h"
#include "maxlen.h"
#include "names.h"
#include "scrub.h"
#include "split.h"

#define CFG_STATE_DIR		"/var/lib/flagsync"
#define CFG_SPLIT_API_URL	"https://api.split.io/internal/api/v2"
#define CFG_SPLIT_SDK_URL	"https://sdk.split.io/api"
#define CFG_FULL_SYNC		600	/* s: tags move no change number */
#define CFG_FULL_SYNC_MIN	10
#define CFG_KEY_PATTERN		"[A-Z][A-Z0-9]{1,9}-[0-9]+"
#define CFG_TRAFFIC_TYPE	"user"	/* the one every Split account has */
#define CFG_RETENTION		(90 * 86400)
/* Bounds that keep the derived times in range downstream: the request
 * gap (1e9 / max_rps ns) and the pruning cutoff (retention * 1000 ms). */
#define CFG_RPS_MIN		0.01	/* one request each 100 s */
#define CFG_RPS_MAX		1000.0
#define CFG_RETENTION_MAX	((int64_t)3650 * 86400)	/* 10 years */
#define CFG_HIDDEN		"<hidden: looks like a secret>"
#define CFG_SECRET_MAX		16384	/* no API key or token is near this */
#define CFG_MAXKEYS		12	/* most keys a section table holds */

enum cfg_sect {
	SECT_NONE,
	SECT_AGENT,
	SECT_SPLIT,
	SECT_LINKS,
	SECT_JIRA,
	SECT_PROJECT,
	SECT_PLUGIN,
	SECT_HTTP,
	SECT_FINDINGS,
	SECT_COUNT
};

enum cfg_which {
	SECRET_SPLIT,
	SECRET_JIRA,
	SECRET_HTTP,
	SECRET_COUNT
};

struct cfg_parse;

struct cfg_key {
	const char	*name;
	int		(*set)(struct cfg_parse *, const struct cfg_key *,
			    void *, const char *);
	size_t		 off;	/* field in the section's struct */
	long		 min;	/* integer range, or the secret's index */
	long		 max;
};

/* Where each secret may come from, in order of precedence. */
struct cfg_secret_src {
	const char	*section;
	const char	*inline_key;
	const char	*file_key;
	const char	*cred;
	const char	*env;
};

/* What the file said about one secret. */
struct cfg_secret {
	char	*value;
	int	 value_line;
	char	*file;
	int	 file_line;
};

struct cfg_section {
	enum cfg_sect	 kind;
	char		*title;	/* "agent", "project Default" */
};

struct cfg_parse {
	struct config		*cfg;
	const char		*path;
	FILE			*fp;
	char			*err;
	size_t			 errlen;
	int			 rc;	/* first error; parsing stops on it */
	int			 lineno;
	int			 prev_key; /* inih would continue its value */
	int			 expect_key;
	char			*raw;	/* the current line, trimmed */
	char			*key;	/* its key name, or the last one */
	size_t			 bufsz;
	struct cfg_section	 cur;
	int			 sectline[SECT_COUNT];
	int			 keyline[SECT_COUNT][CFG_MAXKEYS];
	int			 ca_line;
	struct cfg_secret	 secret[SECRET_COUNT];
	char			 iobuf[BUFSIZ];	/* wiped: may hold a secret */
};

static int	cfg_set_int(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_string(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_path(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_url(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_template(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_bool(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_rate(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_duration(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_seconds(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_log_level(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_regex(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_ca(struct cfg_parse *, const struct cfg_key *, void *,
		    const char *);
static int	cfg_set_secret(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_secret_file(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_module(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_start(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_credentials(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_auth(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_sdk_key_file(struct cfg_parse *,
		    const struct cfg_key *, void *, const char *);
static int	cfg_set_listen(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_ignore(struct cfg_parse *, const struct cfg_key *,
		    void *, const char *);
static int	cfg_set_traffic_type(struct cfg_parse *,
		    const struct cfg_key *, void *, const char *);

#define CFG_OFF(f)	offsetof(struct config, f)

static const struct cfg_key cfg_agent_keys[] = {
	{ "state_dir", cfg_set_path, CFG_OFF(state_dir), 0, 0 },
	{ "interval", cfg_set_seconds, CFG_OFF(interval), 1, 86400 },
	{ "jitter", cfg_set_int, CFG_OFF(jitter), 0, 100 },
	{ "log_level", cfg_set_log_level, CFG_OFF(log_level), 0, 0 },
	{ "retention", cfg_set_duration, CFG_OFF(retention), 1,
	    CFG_RETENTION_MAX },
	{ "deliver_timeout", cfg_set_seconds, CFG_OFF(deliver_timeout), 0,
	    86400 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct cfg_key cfg_split_keys[] = {
	{ "api_url", cfg_set_url, CFG_OFF(split_api_url), 0, 0 },
	{ "admin_key", cfg_set_secret, 0, SECRET_SPLIT, 0 },
	{ "admin_key_file", cfg_set_secret_file, 0, SECRET_SPLIT, 0 },
	{ "flag_url", cfg_set_template, CFG_OFF(split_flag_url), 0, 0 },
	{ "max_rps", cfg_set_rate, CFG_OFF(split_max_rps), 0, 0 },
	{ "timeout", cfg_set_seconds, CFG_OFF(split_timeout), 1, 3600 },
	{ "ca_file", cfg_set_ca, CFG_OFF(ca_file), 0, 0 },
	{ "auth", cfg_set_auth, CFG_OFF(split_auth), 0, 0 },
	{ "sdk_url", cfg_set_url, CFG_OFF(split_sdk_url), 0, 0 },
	{ "full_sync", cfg_set_duration, CFG_OFF(split_full_sync), 0, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct cfg_key cfg_links_keys[] = {
	{ "split_tags", cfg_set_bool, CFG_OFF(split_tags), 0, 0 },
	{ "split_description", cfg_set_bool, CFG_OFF(split_description),
	    0, 0 },
	{ "issue_key_pattern", cfg_set_regex, CFG_OFF(issue_key_pattern),
	    0, 0 },
	{ "file", cfg_set_path, CFG_OFF(links_file), 0, 0 },
	{ "jira_field", cfg_set_string, CFG_OFF(jira_field), 0, 0 },
	{ "jira_jql", cfg_set_string, CFG_OFF(jira_jql), 0, 0 },
	{ "jira_create", cfg_set_bool, CFG_OFF(jira_create), 0, 0 },
	{ "create_traffic_type", cfg_set_traffic_type,
	    CFG_OFF(create_traffic_type), 0, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct cfg_key cfg_jira_keys[] = {
	{ "url", cfg_set_url, CFG_OFF(jira_url), 0, 0 },
	{ "email", cfg_set_string, CFG_OFF(jira_email), 0, 0 },
	{ "api_token", cfg_set_secret, 0, SECRET_JIRA, 0 },
	{ "api_token_file", cfg_set_secret_file, 0, SECRET_JIRA, 0 },
	{ "timeout", cfg_set_seconds, CFG_OFF(jira_timeout), 1, 3600 },
	{ "ca_file", cfg_set_ca, CFG_OFF(ca_file), 0, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct cfg_key cfg_project_keys[] = {
	{ "environment", cfg_set_string,
	    offsetof(struct config_project, environment), 0, 0 },
	{ "sdk_key_file", cfg_set_sdk_key_file, 0, 0, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct cfg_key cfg_plugin_keys[] = {
	{ "module", cfg_set_module, offsetof(struct config_plugin, module),
	    0, 0 },
	{ "events", cfg_set_string, offsetof(struct config_plugin, events),
	    0, 0 },
	{ "timeout", cfg_set_seconds, offsetof(struct config_plugin, timeout),
	    1, 3600 },
	{ "start", cfg_set_start, offsetof(struct config_plugin, start),
	    0, 0 },
	{ "credentials", cfg_set_credentials,
	    offsetof(struct config_plugin, credentials), 0, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct cfg_key cfg_http_keys[] = {
	{ "listen", cfg_set_listen, CFG_OFF(http_listen), 0, 0 },
	{ "token_file", cfg_set_secret_file, 0, SECRET_HTTP, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct cfg_key cfg_findings_keys[] = {
	{ "done_grace", cfg_set_duration, CFG_OFF(findings_done_grace), 0, 0 },
	{ "stale_after", cfg_set_duration, CFG_OFF(findings_stale_after),
	    0, 0 },
	{ "ignore", cfg_set_ignore, CFG_OFF(findings_ignore), 0, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

/* keyline[][] has room for every table. */
#define CFG_FITS(tab)	(sizeof(tab) / sizeof(tab[0]) - 1 <= CFG_MAXKEYS)
_Static_assert(CFG_FITS(cfg_agent_keys) && CFG_FITS(cfg_split_keys) &&
    CFG_FITS(cfg_links_keys) && CFG_FITS(cfg_jira_keys) &&
    CFG_FITS(cfg_project_keys) && CFG_FITS(cfg_plugin_keys) &&
    CFG_FITS(cfg_http_keys) && CFG_FITS(cfg_findings_keys),
    "raise CFG_MAXKEYS");

static const struct cfg_key *const cfg_keys[SECT_COUNT] = {
	NULL, cfg_agent_keys, cfg_split_keys, cfg_links_keys, cfg_jira_keys,
	cfg_project_keys, cfg_plugin_keys, cfg_http_keys, cfg_findings_keys
};

static const char *const cfg_sect_names[SECT_COUNT] = {
	NULL, "agent", "split", "links", "jira", "project", "plugin", "http",
	"findings"
};

static const struct cfg_secret_src cfg_secret_srcs[SECRET_COUNT] = {
	{ "split", "admin_key", "admin_key_file", "split-admin-key",
	    "FLAGSYNC_SPLIT_ADMIN_KEY" },
	{ "jira", "api_token", "api_token_file", "jira-api-token",
	    "FLAGSYNC_JIRA_API_TOKEN" },
	{ "http", "token", "token_file", "http-token", "FLAGSYNC_HTTP_TOKEN" },
};

static const char *const cfg_placeholders[] = {
	"{workspace_id}", "{flag_id}", "{environment_id}", "{flag}", NULL
};

/* Error reporting. */

static void __attribute__((format(printf, 3, 0)))
cfg_vreport(struct cfg_parse *p, int line, const char *fmt, va_list ap)
{
	char msg[768];
	char *c;

	if (p->err == NULL || p->errlen == 0)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	/* A path from the environment must not break the one-line promise. */
	for (c = p->err; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c))
			*c = '?';
	/* URLs quoted in an error lose their userinfo here. */
	scrub_copy(p->err, p->errlen, p->err);
}

/* Records the first error: a configuration problem at line (0: none). */
static int __attribute__((format(printf, 3, 4)))
cfg_errx(struct cfg_parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	if (p->rc == 0) {
		va_start(ap, fmt);
		cfg_vreport(p, line, fmt, ap);
		va_end(ap);
		p->rc = FS_ECONFIG;
	}
	return p->rc;
}

/* Records the first error: a system error, returned as its errno. */
static int __attribute__((format(printf, 3, 4)))
cfg_syserr(struct cfg_parse *p, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (p->rc == 0) {
		va_start(ap, fmt);
		cfg_vreport(p, 0, fmt, ap);
		va_end(ap);
		p->rc = errnum;
	}
	return p->rc;
}

static int
cfg_nomem(struct cfg_parse *p)
{
	return cfg_syserr(p, ENOMEM, "%s", strerror(ENOMEM));
}

/* An error about the key on the current line: "[section] key: ...". */
static int __attribute__((format(printf, 3, 4)))
cfg_keyerr(struct cfg_parse *p, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cfg_errx(p, p->lineno, "[%s] %s: %s", p->cur.title, key, msg);
}

/* Small helpers. */

/* What an error may quote of a value: not a secret in the wrong key. */
static const char *
cfg_show(const struct cfg_parse *p, const char *value)
{
	int i;

	for (i = 0; i < SECRET_COUNT; i++)
		if (p->secret[i].value != NULL &&
		    strcmp(p->secret[i].value, value) == 0)
			return CFG_HIDDEN;
	return scrub_looks_secret(value) ? CFG_HIDDEN : value;
}

static void
cfg_wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int
cfg_strset(struct cfg_parse *p, char **dst, const char *value)
{
	char *s;

	if ((s = strdup(value)) == NULL)
		return cfg_nomem(p);
	free(*dst);
	*dst = s;
	return 0;
}

static int
cfg_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.-", *s) == NULL)
			return 0;
	return 1;
}

/* Trailing whitespace off, in place; returns the new length. */
static size_t
cfg_rtrim(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return len;
}

static int
cfg_has_cntrl(const char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			return 1;
	return 0;
}

/* Hints at the classic mistake of a '#' comment after a value. */
static const char *
cfg_hash_hint(const char *value)
{
	if (strstr(value, " #") != NULL || strstr(value, "\t#") != NULL)
		return " (a comment after a value starts with ' ;', not '#')";
	return "";
}

/* Value setters.  Each writes into base + k->off. */

static int
cfg_set_int(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (end == value || *end != '\0')
		return cfg_keyerr(p, k->name, "not an integer: \"%s\"%s",
		    cfg_show(p, value), cfg_hash_hint(value));
	if (errno == ERANGE || n < k->min || n > k->max)
		return cfg_keyerr(p, k->name, "%s is out of range %ld..%ld",
		    cfg_show(p, value), k->min, k->max);
	*(int *)(void *)((char *)base + k->off) = (int)n;
	return 0;
}

static int
cfg_set_string(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	return cfg_strset(p, (char **)(void *)((char *)base + k->off), value);
}

static int
cfg_set_path(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	if (value[0] != '/')
		return cfg_keyerr(p, k->name,
		    "\"%s\" is not an absolute path", cfg_show(p, value));
	return cfg_set_string(p, k, base, value);
}

/* An http(s) URL with a host; well-formedness past that is libcurl's. */
static int
cfg_url_check(struct cfg_parse *p, const char *key, const char *value)
{
	const char *host;

	if (strncasecmp(value, "https://", 8) == 0)
		host = value + 8;
	else if (strncasecmp(value, "http://", 7) == 0)
		host = value + 7;
	else
		return cfg_keyerr(p, key,
		    "\"%s\" is not an http:// or https:// URL",
		    cfg_show(p, value));
	if (*host == '\0' || *host == '/')
		return cfg_keyerr(p, key, "\"%s\" names no host", value);
	if (strpbrk(value, " \t") != NULL)
		return cfg_keyerr(p, key, "\"%s\" contains whitespace", value);
	return 0;
}

static int
cfg_set_url(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char **dst = (char **)(void *)((char *)base + k->off);
	size_t len;
	int rc;

	if ((rc = cfg_url_check(p, k->name, value)) != 0)
		return rc;
	if ((rc = cfg_strset(p, dst, value)) != 0)
		return rc;
	/* Callers append "/path"; a trailing slash would double it. */
	len = strlen(*dst);
	while (len > 0 && (*dst)[len - 1] == '/')
		(*dst)[--len] = '\0';
	return 0;
}

static int
cfg_set_template(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const char *s, *close;
	size_t i, len;
	int rc;

	if ((rc = cfg_url_check(p, k->name, value)) != 0)
		return rc;
	for (s = strchr(value, '{'); s != NULL; s = strchr(close, '{')) {
		if ((close = strchr(s, '}')) == NULL)
			return cfg_keyerr(p, k->name, "unclosed {");
		len = (size_t)(close - s) + 1;
		for (i = 0; cfg_placeholders[i] != NULL; i++)
			if (strlen(cfg_placeholders[i]) == len &&
			    strncmp(cfg_placeholders[i], s, len) == 0)
				break;
		if (cfg_placeholders[i] == NULL)
			return cfg_keyerr(p, k->name, "unknown placeholder "
			    "%.*s; known: {workspace_id} {flag_id} "
			    "{environment_id} {flag}", (int)len, s);
	}
	return cfg_set_string(p, k, base, value);
}

static int
cfg_set_bool(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	int *dst = (int *)(void *)((char *)base + k->off);
	size_t i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*dst = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*dst = 0;
			return 0;
		}
	}
	return cfg_keyerr(p, k->name, "\"%s\" is not yes/no/true/false/"
	    "on/off/1/0%s", cfg_show(p, value), cfg_hash_hint(value));
}

static int
cfg_set_rate(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(value, &end);
	if (end == value || *end != '\0' || errno == ERANGE || !isfinite(d))
		return cfg_keyerr(p, k->name, "not a number: \"%s\"%s",
		    cfg_show(p, value), cfg_hash_hint(value));
	if (d < 0)
		return cfg_keyerr(p, k->name,
		    "%s is negative (0 means no ceiling)", value);
	if (d != 0 && (d < CFG_RPS_MIN || d > CFG_RPS_MAX))
		return cfg_keyerr(p, k->name, "%s is out of range: 0 (no "
		    "ceiling) or %g..%g requests a second", value, CFG_RPS_MIN,
		    CFG_RPS_MAX);
	*(double *)(void *)((char *)base + k->off) = d;
	return 0;
}

/*
 * Every time key goes through duration.h: "N" (seconds), "Ns", "Nm",
 * "Nh" or "Nd", within k->min..k->max seconds (k->max 0: 1 s..3650 d,
 * for a table entry that gives no range).
 */
static int
cfg_duration_parse(struct cfg_parse *p, const struct cfg_key *k,
    const char *value, int64_t *out)
{
	int64_t min = k->max ? k->min : 1;
	int64_t max = k->max ? k->max : CFG_RETENTION_MAX;
	char lo[32], hi[32];
	int rc;

	if ((rc = duration_parse(value, max, out)) == EINVAL)
		return cfg_keyerr(p, k->name, "\"%s\" is not a duration: "
		    DURATION_FORMS "%s", cfg_show(p, value),
		    cfg_hash_hint(value));
	if (rc != 0 || *out < min) {
		duration_show(lo, sizeof(lo), min);
		duration_show(hi, sizeof(hi), max);
		return cfg_keyerr(p, k->name, "%s is out of range %s..%s",
		    value, lo, hi);
	}
	return 0;
}

/* A duration into an int64_t field (seconds). */
static int
cfg_set_duration(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int64_t secs;
	int rc;

	if ((rc = cfg_duration_parse(p, k, value, &secs)) != 0)
		return rc;
	*(int64_t *)(void *)((char *)base + k->off) = secs;
	return 0;
}

/* A duration into an int field (seconds); the table's range fits one. */
static int
cfg_set_seconds(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int64_t secs;
	int rc;

	if ((rc = cfg_duration_parse(p, k, value, &secs)) != 0)
		return rc;
	*(int *)(void *)((char *)base + k->off) = (int)secs;
	return 0;
}

/* [findings] ignore: a glob list, each naming at least one finding type. */
static int
cfg_set_ignore(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char glob[64];
	const char *s;
	size_t len;

	for (s = value; *s; s += len) {
		s += strspn(s, ", \t");
		if ((len = strcspn(s, ", \t")) == 0)
			break;
		if (len >= sizeof(glob))
			return cfg_keyerr(p, k->name, "\"%.*s\" is too long "
			    "for a finding type", (int)len, s);
		memcpy(glob, s, len);
		glob[len] = '\0';
		if (!finding_glob_known(glob))
			return cfg_keyerr(p, k->name, "\"%s\" matches no "
			    "finding type; known: done-but-partial, "
			    "fully-rolled-out, killed-long, unlinked, "
			    "issue-missing, flag-gone", cfg_show(p, glob));
	}
	return cfg_strset(p, (char **)(void *)((char *)base + k->off), value);
}

/*
 * [links] create_traffic_type: it goes into the create call's path, and
 * Split names traffic types as it names flags, so a value it would refuse
 * is refused here, before any flag waits on it.
 */
static int
cfg_set_traffic_type(struct cfg_parse *p, const struct cfg_key *k,
    void *base, const char *value)
{
	if (!split_name_valid(value))
		return cfg_keyerr(p, k->name, "\"%s\" is not a traffic type "
		    "name: a letter first, then only letters, digits, '-' and "
		    "'_', at most %d bytes", cfg_show(p, value), FS_FLAG_MAX);
	return cfg_strset(p, (char **)(void *)((char *)base + k->off), value);
}

static int
cfg_set_log_level(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int level;

	if ((level = log_level_parse(value)) < 0)
		return cfg_keyerr(p, k->name,
		    "\"%s\" is not error, warning, info or debug%s",
		    cfg_show(p, value), cfg_hash_hint(value));
	*(int *)(void *)((char *)base + k->off) = level;
	return 0;
}

static int
cfg_set_regex(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	char why[256];
	regex_t re;
	int rc;

	if ((rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &re, why, sizeof(why));
		return cfg_keyerr(p, k->name,
		    "not a POSIX extended regular expression: %s", why);
	}
	regfree(&re);
	return cfg_set_string(p, k, base, value);
}

/* One CA file serves both APIs, so [split] and [jira] must agree. */
static int
cfg_set_ca(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	struct config *cfg = base;

	if (cfg->ca_file != NULL && strcmp(cfg->ca_file, value) != 0)
		return cfg_keyerr(p, k->name, "differs from the ca_file on "
		    "line %d; one CA file serves both Split and Jira",
		    p->ca_line);
	if (value[0] != '/')
		return cfg_keyerr(p, k->name,
		    "\"%s\" is not an absolute path", cfg_show(p, value));
	if (access(value, R_OK) != 0)
		return cfg_keyerr(p, k->name, "cannot read %s: %s",
		    cfg_show(p, value), strerror(errno));
	p->ca_line = p->lineno;
	return cfg_set_string(p, k, base, value);
}

/* The other spelling of the same secret must not be set as well. */
static int
cfg_secret_single(struct cfg_parse *p, const struct cfg_key *k,
    const char *other, int other_line)
{
	if (other_line == 0)
		return 0;
	return cfg_keyerr(p, k->name, "%s is also set (line %d); set only "
	    "one of them", other, other_line);
}

static int
cfg_set_secret(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const struct cfg_secret_src *src = &cfg_secret_srcs[k->min];
	struct cfg_secret *s = &p->secret[k->min];
	int rc;

	(void)base;
	if ((rc = cfg_secret_single(p, k, src->file_key, s->file_line)) != 0)
		return rc;
	/* Never echoed: the value is the secret. */
	if (cfg_has_cntrl(value))
		return cfg_keyerr(p, k->name, "holds control characters");
	if ((rc = cfg_strset(p, &s->value, value)) != 0)
		return rc;
	s->value_line = p->lineno;
	return 0;
}

static int
cfg_set_secret_file(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const struct cfg_secret_src *src = &cfg_secret_srcs[k->min];
	struct cfg_secret *s = &p->secret[k->min];
	int rc;

	(void)base;
	rc = cfg_secret_single(p, k, src->inline_key, s->value_line);
	if (rc != 0)
		return rc;
	if (value[0] != '/')
		return cfg_keyerr(p, k->name,
		    "\"%s\" is not an absolute path", cfg_show(p, value));
	if ((rc = cfg_strset(p, &s->file, value)) != 0)
		return rc;
	s->file_line = p->lineno;
	return 0;
}

/*
 * [http] listen: HOST:PORT with an IPv4 address or host name, or
 * [IPV6]:PORT; port 0 lets the kernel pick one (tests).  The address is
 * resolved when the server starts.
 */
static int
cfg_set_listen(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	const char *colon, *port;
	char *end;
	long n;

	if (value[0] == '[')
		colon = strstr(value, "]:") ? strstr(value, "]:") + 1 : NULL;
	else
		colon = strrchr(value, ':');
	if (colon == NULL || colon == value || (value[0] == '[' &&
	    colon == value + 2) || (value[0] != '[' &&
	    memchr(value, ':', (size_t)(colon - value)) != NULL))
		return cfg_keyerr(p, k->name, "\"%s\" is not HOST:PORT or "
		    "[IPV6]:PORT (e.g. 127.0.0.1:9464)", cfg_show(p, value));
	port = colon + 1;
	errno = 0;
	n = strtol(port, &end, 10);
	if (!isdigit((unsigned char)*port) || *end != '\0' || errno != 0 ||
	    n < 0 || n > 65535)
		return cfg_keyerr(p, k->name, "\"%s\": the port is not a "
		    "number from 0 to 65535", cfg_show(p, value));
	return cfg_set_string(p, k, base, value);
}

/* A module is a name in the plugins directory or an absolute path. */
static int
cfg_set_module(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	if (value[0] != '/' && !cfg_name_ok(value))
		return cfg_keyerr(p, k->name, "\"%s\" is neither a module "
		    "name (letters, digits, _ . -) nor an absolute path",
		    cfg_show(p, value));
	return cfg_set_string(p, k, base, value);
}

/* Where a new instance starts: oldest or latest. */
static int
cfg_set_start(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int *dst = (int *)(void *)((char *)base + k->off);

	if (strcmp(value, "oldest") == 0)
		*dst = CONFIG_START_OLDEST;
	else if (strcmp(value, "latest") == 0)
		*dst = CONFIG_START_LATEST;
	else
		return cfg_keyerr(p, k->name, "\"%s\" is neither oldest (every "
		    "retained event) nor latest", cfg_show(p, value));
	return 0;
}

/* The secrets granted to a plugin: a list of jira and split. */
static int
cfg_set_credentials(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	unsigned *dst = (unsigned *)(void *)((char *)base + k->off);
	char word[16];
	size_t len;

	*dst = 0;
	for (; *value; value += len) {
		value += strspn(value, ", \t");
		if ((len = strcspn(value, ", \t")) == 0)
			break;
		if (len == 4 && strncmp(value, "jira", 4) == 0)
			*dst |= CONFIG_CRED_JIRA;
		else if (len == 5 && strncmp(value, "split", 5) == 0)
			*dst |= CONFIG_CRED_SPLIT;
		else {
			snprintf(word, sizeof(word), "%.*s", (int)len, value);
			return cfg_keyerr(p, k->name, "\"%s%s\" is not a "
			    "credential: give jira, split or both (jira, "
			    "split)", cfg_show(p, word),
			    len >= sizeof(word) ? "..." : "");
		}
	}
	return 0;
}

/* bearer | x-api-key | auto (x-api-key for pat./sat. tokens). */
static int
cfg_set_auth(struct cfg_parse *p, const struct cfg_key *k, void *base,
    const char *value)
{
	int *dst = (int *)(void *)((char *)base + k->off);

	if (strcmp(value, "auto") == 0)
		*dst = CONFIG_AUTH_AUTO;
	else if (strcmp(value, "bearer") == 0)
		*dst = CONFIG_AUTH_BEARER;
	else if (strcmp(value, "x-api-key") == 0)
		*dst = CONFIG_AUTH_X_API_KEY;
	else
		return cfg_keyerr(p, k->name, "\"%s\" is not bearer, x-api-key "
		    "or auto (x-api-key for Harness pat. and sat. tokens)",
		    cfg_show(p, value));
	return 0;
}

/* [project NAME] sdk_key_file: read after parsing, with the others. */
static int
cfg_set_sdk_key_file(struct cfg_parse *p, const struct cfg_key *k,
    void *base, const char *value)
{
	struct config_project *proj = base;
	int rc;

	if (value[0] != '/')
		return cfg_keyerr(p, k->name,
		    "\"%s\" is not an absolute path", cfg_show(p, value));
	if ((rc = cfg_strset(p, &proj->sdk_key_file, value)) != 0)
		return rc;
	proj->sdk_key_file_line = p->lineno;
	return 0;
}

/* Sections. */

static int
cfg_project_add(struct cfg_parse *p, const char *name)
{
	struct config *cfg = p->cfg;
	const struct config_project *old;
	struct config_project *arr;
	char shown[NAME_SHOW_MAX];

	if (name_check(name, FS_PROJECT_MAX) == ENAMETOOLONG)
		return cfg_errx(p, p->lineno, "[project %s]: the name is "
		    "longer than %d bytes", name_show(shown, sizeof(shown),
		    name), FS_PROJECT_MAX);
	if ((old = config_project_find(cfg, name)) != NULL)
		return cfg_errx(p, p->lineno, "[project %s]: duplicate section "
		    "(first on line %d)", name, old->line);
	if (ARRAY_GROW(cfg->projects, cfg->projects_cap,
	    cfg->nprojects + 1) != 0)
		return cfg_nomem(p);
	arr = cfg->projects + cfg->nprojects;
	memset(arr, 0, sizeof(*arr));
	if ((arr->name = strdup(name)) == NULL)
		return cfg_nomem(p);
	arr->line = p->lineno;
	cfg->nprojects++;
	return 0;
}

static void
cfg_plugin_release(struct config_plugin *pl)
{
	size_t i;

	for (i = 0; i < pl->nkeys; i++) {
		free(pl->keys[i].key);
		cfg_wipe_free(pl->keys[i].value);
	}
	free(pl->keys);
	free(pl->name);
	free(pl->module);
	free(pl->events);
}

static int
cfg_plugin_add(struct cfg_parse *p, const char *name)
{
	struct config *cfg = p->cfg;
	struct config_plugin *arr;
	char shown[NAME_SHOW_MAX];
	size_t i;

	if (!cfg_name_ok(name))
		return cfg_errx(p, p->lineno, "[plugin %s]: instance names "
		    "take letters, digits, _ . and - only",
		    name_show(shown, sizeof(shown), name));
	if (strlen(name) > FS_INSTANCE_MAX)
		return cfg_errx(p, p->lineno, "[plugin %s]: the name is "
		    "longer than %d bytes", name_show(shown, sizeof(shown),
		    name), FS_INSTANCE_MAX);
	for (i = 0; i < cfg->nplugins; i++)
		if (strcmp(cfg->plugins[i].name, name) == 0)
			return cfg_errx(p, p->lineno, "[plugin %s]: duplicate "
			    "section (first on line %d)", name,
			    cfg->plugins[i].line);
	if (ARRAY_GROW(cfg->plugins, cfg->plugins_cap, cfg->nplugins + 1) != 0)
		return cfg_nomem(p);
	arr = cfg->plugins + cfg->nplugins;
	memset(arr, 0, sizeof(*arr));
	arr->name = strdup(name);
	arr->module = strdup(name);
	arr->events = strdup("*");
	if (arr->name == NULL || arr->module == NULL || arr->events == NULL) {
		cfg_plugin_release(arr);
		return cfg_nomem(p);
	}
	arr->timeout = 30;
	arr->line = p->lineno;
	cfg->nplugins++;
	return 0;
}

static enum cfg_sect
cfg_sect_lookup(const char *type, size_t len)
{
	int i;

	for (i = SECT_AGENT; i < SECT_COUNT; i++)
		if (strlen(cfg_sect_names[i]) == len &&
		    strncmp(cfg_sect_names[i], type, len) == 0)
			return (enum cfg_sect)i;
	return SECT_NONE;
}

/* hdr is what stands between [ and ], already trimmed. */
static int
cfg_section_check(struct cfg_parse *p, const char *hdr, enum cfg_sect kind,
    const char *name)
{
	if (kind == SECT_NONE)
		return cfg_errx(p, p->lineno, "[%s]: unknown section; known: "
		    "agent, split, links, jira, project NAME, plugin NAME, http, "
		    "findings",
		    hdr);
	if (kind == SECT_PROJECT || kind == SECT_PLUGIN) {
		if (*name == '\0')
			return cfg_errx(p, p->lineno, "[%s]: needs a name: "
			    "[%s NAME]", hdr, hdr);
		return 0;
	}
	if (*name != '\0')
		return cfg_errx(p, p->lineno, "[%s]: [%s] takes no name", hdr,
		    cfg_sect_names[kind]);
	if (p->sectline[kind] != 0)
		return cfg_errx(p, p->lineno, "[%s]: duplicate section "
		    "(first on line %d)", hdr, p->sectline[kind]);
	return 0;
}

static int
cfg_section_open(struct cfg_parse *p, char *hdr)
{
	enum cfg_sect kind;
	const char *name;
	size_t typelen;
	int rc;

	while (isspace((unsigned char)*hdr))
		hdr++;
	cfg_rtrim(hdr);
	typelen = strcspn(hdr, " \t");
	for (name = hdr + typelen; isspace((unsigned char)*name); name++)
		;
	kind = cfg_sect_lookup(hdr, typelen);
	if ((rc = cfg_section_check(p, hdr, kind, name)) != 0)
		return rc;
	if (kind == SECT_FINDINGS)
		p->cfg->findings = 1;	/* an empty one takes the defaults */
	if (kind == SECT_PROJECT)
		rc = cfg_project_add(p, name);
	else if (kind == SECT_PLUGIN)
		rc = cfg_plugin_add(p, name);
	if (rc != 0)
		return rc;
	free(p->cur.title);
	if ((p->cur.title = strdup(hdr)) == NULL)
		return cfg_nomem(p);
	p->cur.kind = kind;
	p->sectline[kind] = p->lineno;
	memset(p->keyline[kind], 0, sizeof(p->keyline[kind]));
	return 0;
}

/* Keys. */

/* The struct the current section's keys are written into. */
static void *
cfg_section_base(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;

	if (p->cur.kind == SECT_PROJECT)
		return &cfg->projects[cfg->nprojects - 1];
	if (p->cur.kind == SECT_PLUGIN)
		return &cfg->plugins[cfg->nplugins - 1];
	return cfg;
}

static int
cfg_unknown_key(struct cfg_parse *p, const char *key)
{
	const struct cfg_key *tab = cfg_keys[p->cur.kind];
	char known[256];
	size_t i, off = 0;
	int n;

	known[0] = '\0';
	for (i = 0; tab[i].name != NULL; i++) {
		n = snprintf(known + off, sizeof(known) - off, "%s%s",
		    i > 0 ? ", " : "", tab[i].name);
		if (n < 0 || (size_t)n >= sizeof(known) - off)
			break;
		off += (size_t)n;
	}
	return cfg_keyerr(p, cfg_show(p, key), "unknown key; [%s] takes %s",
	    cfg_sect_names[p->cur.kind], known);
}

/* A [plugin NAME] key the host does not know: kept for the plugin. */
static int
cfg_plugin_kv(struct cfg_parse *p, const char *key, const char *value)
{
	struct config_plugin *pl = cfg_section_base(p);
	struct config_kv *kv;
	size_t i;

	for (i = 0; i < pl->nkeys; i++)
		if (strcmp(pl->keys[i].key, key) == 0)
			return cfg_keyerr(p, key, "duplicate key (first on "
			    "line %d)", pl->keys[i].line);
	if (ARRAY_GROW(pl->keys, pl->keys_cap, pl->nkeys + 1) != 0)
		return cfg_nomem(p);
	kv = pl->keys + pl->nkeys;
	kv->key = strdup(key);
	kv->value = strdup(value);
	if (kv->key == NULL || kv->value == NULL) {
		free(kv->key);
		cfg_wipe_free(kv->value);
		return cfg_nomem(p);
	}
	kv->line = p->lineno;
	pl->nkeys++;
	return 0;
}

static int
cfg_key_set(struct cfg_parse *p, const char *key, const char *value)
{
	const struct cfg_key *tab;
	int *seen;
	size_t i;

	if (*key == '\0')
		return cfg_errx(p, p->lineno, "a key name is missing before "
		    "the =");
	if (p->cur.kind == SECT_NONE)
		return cfg_errx(p, p->lineno, "%s: key outside any section; "
		    "put it under [agent], [split], [links], [jira], "
		    "[project NAME] or [plugin NAME]", key);
	tab = cfg_keys[p->cur.kind];
	for (i = 0; tab[i].name != NULL; i++)
		if (strcmp(tab[i].name, key) == 0)
			break;
	if (tab[i].name == NULL) {
		if (p->cur.kind == SECT_PLUGIN)
			return cfg_plugin_kv(p, key, value);
		return cfg_unknown_key(p, key);
	}
	seen = &p->keyline[p->cur.kind][i];
	if (*seen != 0)
		return cfg_keyerr(p, key, "duplicate key (first on line %d)",
		    *seen);
	*seen = p->lineno;
	if (*value == '\0')
		return cfg_keyerr(p, key, "empty value; comment the line out "
		    "to use the default");
	return tab[i].set(p, &tab[i], cfg_section_base(p), value);
}

/* The inih side. */

/* inih's test for an inline comment, to find where a section name ends. */
static char *
cfg_find_chars_or_comment(char *s, const char *chars)
{
	int was_space = 0;

	while (*s != '\0' && strchr(chars, *s) == NULL &&
	    !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* Key line: remember the whole name, which inih may cut short. */
static int
cfg_line_key(struct cfg_parse *p, char *t)
{
	char *end;

	end = cfg_find_chars_or_comment(t, "=:");
	if (*end != '=' && *end != ':')
		return cfg_errx(p, p->lineno, "expected \"key = value\" or a "
		    "[section] header");
	while (end > t && isspace((unsigned char)end[-1]))
		end--;
	memcpy(p->key, t, (size_t)(end - t));
	p->key[end - t] = '\0';
	p->prev_key = p->key[0] != '\0';
	p->expect_key = 1;
	return 0;
}

/* Classifies p->raw as ini_parse_stream() will. */
static int
cfg_line_scan(struct cfg_parse *p)
{
	char *t = p->raw, *end;

	if (p->lineno == 1 && strncmp(t, "\xEF\xBB\xBF", 3) == 0)
		t += 3;
	while (isspace((unsigned char)*t))
		t++;
	cfg_rtrim(t);
	if (*t == '\0' || *t == ';' || *t == '#')
		return 0;
	if (p->prev_key && t > p->raw)
		return cfg_errx(p, p->lineno, "[%s] %s: an indented line "
		    "continues the value above; remove the indentation",
		    p->cur.title != NULL ? p->cur.title : "", p->key);
	if (*t != '[')
		return cfg_line_key(p, t);
	end = cfg_find_chars_or_comment(t + 1, "]");
	if (*end != ']')
		return cfg_errx(p, p->lineno, "section header without a "
		    "closing ]");
	*end = '\0';
	p->prev_key = 0;
	return cfg_section_open(p, t + 1);
}

static int
cfg_buf_reserve(struct cfg_parse *p, size_t size)
{
	char *raw, *key;

	if (size <= p->bufsz)
		return 0;
	raw = malloc(size);
	key = malloc(size);
	if (raw == NULL || key == NULL) {
		free(raw);
		free(key);
		return cfg_nomem(p);
	}
	if (p->bufsz > 0) {
		memcpy(key, p->key, p->bufsz);
		explicit_bzero(p->raw, p->bufsz);
	} else
		key[0] = '\0';
	free(p->raw);
	free(p->key);
	p->raw = raw;
	p->key = key;
	p->bufsz = size;
	return 0;
}

/* A chunk without its newline: the last line, or one inih would split. */
static int
cfg_line_incomplete(struct cfg_parse *p, size_t len, int num)
{
	int c;

	if ((c = getc(p->fp)) == EOF)
		return 0;
	ungetc(c, p->fp);
	if (len == (size_t)num - 1)
		return cfg_errx(p, p->lineno, "line longer than %d characters",
		    num - 2);
	return cfg_errx(p, p->lineno, "line holds a NUL byte");
}

static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	size_t len;
	int e;

	if (p->rc != 0 || num < 3)
		return NULL;
	if (fgets(str, num, p->fp) == NULL) {
		e = errno != 0 ? errno : EIO;
		if (ferror(p->fp))
			cfg_syserr(p, e, "cannot read: %s", strerror(e));
		return NULL;
	}
	p->lineno++;
	len = strlen(str);
	if ((len == 0 || str[len - 1] != '\n') &&
	    cfg_line_incomplete(p, len, num) != 0)
		return NULL;
	if (cfg_buf_reserve(p, (size_t)num) != 0)
		return NULL;
	memcpy(p->raw, str, len + 1);
	if (cfg_line_scan(p) != 0)
		return NULL;
	return str;
}

static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse *p = user;

	(void)section;
	if (p->rc != 0)
		return 0;
	/* inih's name is ours cut short; anything else is a disagreement. */
	if (!p->expect_key || strncmp(name, p->key, strlen(name)) != 0) {
		cfg_errx(p, p->lineno, "cannot parse this line");
		return 0;
	}
	p->expect_key = 0;
	return cfg_key_set(p, p->key, value) == 0;
}

static int
cfg_parse_file(struct cfg_parse *p)
{
	int ret;

	errno = 0;
	ret = ini_parse_stream(cfg_reader, p, cfg_handler, p);
	if (p->rc != 0)
		return p->rc;
	if (ret == -2)
		return cfg_nomem(p);
	if (ret != 0)
		return cfg_errx(p, ret, "cannot parse this line");
	return 0;
}

/* Checks that need the whole file. */

static int
cfg_key_line(struct cfg_parse *p, enum cfg_sect kind, const char *key)
{
	const struct cfg_key *tab = cfg_keys[kind];
	size_t i;

	for (i = 0; tab[i].name != NULL; i++)
		if (strcmp(tab[i].name, key) == 0)
			return p->keyline[kind][i];
	return 0;
}

static int
cfg_check_links(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;
	const char *missing;

	if (cfg->jira_field != NULL &&
	    (cfg->jira_url == NULL || cfg->jira_email == NULL)) {
		if (cfg->jira_url == NULL && cfg->jira_email == NULL)
			missing = "url and email";
		else if (cfg->jira_url == NULL)
			missing = "url";
		else
			missing = "email";
		return cfg_errx(p, cfg_key_line(p, SECT_LINKS, "jira_field"),
		    "[links] jira_field: needs [jira] %s", missing);
	}
	if (cfg->jira_jql != NULL && cfg->jira_field == NULL)
		return cfg_errx(p, cfg_key_line(p, SECT_LINKS, "jira_jql"),
		    "[links] jira_jql: only narrows the jira_field search, "
		    "and jira_field is not set");
	if (cfg->jira_create && cfg->jira_field == NULL)
		return cfg_errx(p, cfg_key_line(p, SECT_LINKS, "jira_create"),
		    "[links] jira_create: creates the flags the jira_field "
		    "names, and jira_field is not set");
	return 0;
}

/* Refuses a file that shows an inline secret to every local user. */
static int
cfg_check_mode(struct cfg_parse *p)
{
	const struct cfg_secret_src *src;
	struct stat st;
	int i;

	if (fstat(fileno(p->fp), &st) != 0)
		return cfg_syserr(p, errno, "cannot stat: %s",
		    strerror(errno));
	if ((st.st_mode & S_IROTH) == 0)
		return 0;
	for (i = 0; i < SECRET_COUNT; i++) {
		if (p->secret[i].value == NULL)
			continue;
		src = &cfg_secret_srcs[i];
		return cfg_errx(p, 0, "holds an inline secret ([%s] %s, line "
		    "%d) and is readable by others; run chmod o-r %s or move "
		    "the secret to %s", src->section, src->inline_key,
		    p->secret[i].value_line, p->path, src->file_key);
	}
	return 0;
}

static int
cfg_check(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;
	size_t i;
	int rc;

	if ((rc = cfg_check_mode(p)) != 0)
		return rc;
	if (cfg->split_full_sync < CFG_FULL_SYNC_MIN)
		return cfg_errx(p, cfg_key_line(p, SECT_SPLIT, "full_sync"),
		    "[split] full_sync: %lld s is too short; at least %d s "
		    "(the full listing costs 2 requests per 50 flags)",
		    (long long)cfg->split_full_sync, CFG_FULL_SYNC_MIN);
	if (cfg->nprojects == 0)
		return cfg_errx(p, 0, "no [project NAME] section; add one per "
		    "Split workspace, e.g. [project Default] with "
		    "environment = Production");
	for (i = 0; i < cfg->nprojects; i++)
		if (cfg->projects[i].environment == NULL)
			return cfg_errx(p, cfg->projects[i].line,
			    "[project %s] environment: missing; name the "
			    "project's primary environment",
			    cfg->projects[i].name);
	return cfg_check_links(p);
}

/* Secrets. */

/*
 * Reads a secret file into *out, trailing whitespace trimmed, and its
 * mode into *mode (from the descriptor read: no race with a chmod).
 * Returns 0, an errno value, or FS_ECONFIG with *why saying what is
 * wrong; neither ever quotes the content.
 */
static int
cfg_secret_read(const char *path, char **out, const char **why,
    mode_t *mode)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return errno;
	if (fstat(fd, &st) != 0) {
		rc = errno;
		goto fd_close;
	}
	*mode = st.st_mode;
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		rc = FS_ECONFIG;
		goto fd_close;
	}
	if ((buf = malloc(CFG_SECRET_MAX + 1)) == NULL) {
		rc = ENOMEM;
		goto fd_close;
	}
	while (len <= CFG_SECRET_MAX) {
		n = read(fd, buf + len, CFG_SECRET_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = errno;
			goto buf_wipe;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CFG_SECRET_MAX) {
		*why = "larger than 16384 bytes";
		rc = FS_ECONFIG;
		goto buf_wipe;
	}
	buf[len] = '\0';
	if (strlen(buf) != len)
		*why = "holds a NUL byte";
	else if (cfg_rtrim(buf) == 0)
		*why = "empty";
	else if (cfg_has_cntrl(buf))
		*why = "holds control characters";
	else if ((*out = strdup(buf)) == NULL)
		rc = ENOMEM;
	if (*why != NULL)
		rc = FS_ECONFIG;
buf_wipe:
	explicit_bzero(buf, CFG_SECRET_MAX + 1);
	free(buf);
fd_close:
	close(fd);
	return rc;
}

/* Sets *origin, when asked for, to where the secret came from. */
static int __attribute__((format(printf, 3, 4)))
cfg_origin(struct cfg_parse *p, char **origin, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (origin == NULL)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1)
		return cfg_nomem(p);
	*origin = s;
	return 0;
}

static const char *
cfg_secret_why(int rc, const char *why)
{
	return rc == FS_ECONFIG ? why : strerror(rc);
}

/* $CREDENTIALS_DIRECTORY/NAME, from systemd's LoadCredential=. */
static int
cfg_secret_cred(struct cfg_parse *p, const struct cfg_secret_src *src,
    char **val, char **origin)
{
	const char *dir, *why;
	char *path;
	mode_t mode;
	int rc;

	dir = getenv("CREDENTIALS_DIRECTORY");
	if (dir == NULL || *dir == '\0')
		return 0;
	if (asprintf(&path, "%s/%s", dir, src->cred) == -1)
		return cfg_nomem(p);	/* path is undefined: nothing to free */
	rc = cfg_secret_read(path, val, &why, &mode);
	/* flagsync.service's SetCredential= stands in for a credential file
	 * that does not exist with a blank one: both mean "not set" */
	if (rc == ENOENT || (rc == FS_ECONFIG && strcmp(why, "empty") == 0))
		rc = 0;
	else if (rc != 0)
		cfg_errx(p, 0, "[%s] %s: cannot read $CREDENTIALS_DIRECTORY/%s "
		    "(%s): %s", src->section, src->inline_key, src->cred, path,
		    cfg_secret_why(rc, why));
	free(path);
	if (rc != 0)
		return p->rc;
	if (*val == NULL)
		return 0;
	return cfg_origin(p, origin, "$CREDENTIALS_DIRECTORY/%s", src->cred);
}

static int
cfg_secret_env(struct cfg_parse *p, const struct cfg_secret_src *src,
    char **val, char **origin)
{
	const char *env;
	char *v;

	env = getenv(src->env);
	if (env == NULL || *env == '\0')
		return 0;
	if ((v = strdup(env)) == NULL)
		return cfg_nomem(p);
	if (cfg_rtrim(v) == 0) {
		free(v);
		return 0;
	}
	if (cfg_has_cntrl(v)) {
		cfg_wipe_free(v);
		return cfg_errx(p, 0, "[%s] %s: environment variable %s holds "
		    "control characters", src->section, src->inline_key,
		    src->env);
	}
	*val = v;
	return cfg_origin(p, origin, "environment %s", src->env);
}

/*
 * A *_file secret; refused, like an inline secret in a file others may
 * read, when others may read it: its group may (640), no one else.
 */
static int
cfg_secret_file(struct cfg_parse *p, const struct cfg_secret_src *src,
    const struct cfg_secret *s, char **val, char **origin)
{
	const char *why;
	mode_t mode = 0;
	int rc;

	if ((rc = cfg_secret_read(s->file, val, &why, &mode)) != 0)
		return cfg_errx(p, s->file_line, "[%s] %s: cannot read %s: %s",
		    src->section, src->file_key, s->file,
		    cfg_secret_why(rc, why));
	if (mode & S_IROTH) {
		cfg_wipe_free(*val);
		*val = NULL;
		return cfg_errx(p, s->file_line, "[%s] %s: %s is readable by "
		    "others (mode %04o); run chmod 600 %s (or chmod 640 %s to "
		    "let its group read it)", src->section, src->file_key,
		    s->file, (unsigned)(mode & 07777), s->file, s->file);
	}
	return cfg_origin(p, origin, "%s %s", src->file_key, s->file);
}

/* First match wins; the sources after it are not even read. */
static int
cfg_secret_resolve(struct cfg_parse *p, int which, char **val,
    char **origin)
{
	const struct cfg_secret_src *src = &cfg_secret_srcs[which];
	struct cfg_secret *s = &p->secret[which];
	int rc;

	if ((rc = cfg_secret_cred(p, src, val, origin)) != 0 || *val != NULL)
		return rc;
	if ((rc = cfg_secret_env(p, src, val, origin)) != 0 || *val != NULL)
		return rc;
	if (s->file != NULL)
		return cfg_secret_file(p, src, s, val, origin);
	if (s->value == NULL)
		return 0;
	*val = s->value;
	s->value = NULL;
	return cfg_origin(p, origin, "inline %s", src->inline_key);
}

static int
cfg_any_sdk_key(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nprojects; i++)
		if (cfg->projects[i].sdk_key != NULL)
			return 1;
	return 0;
}

/*
 * Hands the secrets to the scrubber, so that nothing logged, stored or
 * printed from now on shows them, and keeps them out of core dumps and
 * from same-user ptrace: a dumpable process would write both into a core.
 */
static int
cfg_secrets_protect(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;

	if (scrub_add(cfg->split_admin_key) != 0 ||
	    scrub_add(cfg->jira_api_token) != 0 ||
	    scrub_add(cfg->http_token) != 0 ||
	    (cfg->jira_email != NULL &&
	    scrub_add_basic(cfg->jira_email, cfg->jira_api_token) != 0))
		return cfg_nomem(p);
	if ((cfg->split_admin_key != NULL || cfg->jira_api_token != NULL ||
	    cfg_any_sdk_key(cfg)) &&
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return cfg_syserr(p, errno, "cannot keep the secrets out of "
		    "core dumps: prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	return 0;
}

/*
 * NAME as a credential or environment variable name: characters other
 * than letters, digits, '-' and '_' become '_' (and letters upper case
 * for the environment).
 */
static void
cfg_name_token(const char *name, char *out, size_t outlen, int upper)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < outlen; i++) {
		if (isalnum((unsigned char)name[i]) ||
		    (!upper && name[i] == '-') || name[i] == '_')
			out[i] = upper ? (char)toupper((unsigned char)name[i]) :
			    name[i];
		else
			out[i] = '_';
	}
	out[i] = '\0';
}

/* A project's SDK key: credential, environment, then sdk_key_file. */
static int
cfg_sdk_key_resolve(struct cfg_parse *p, struct config_project *proj)
{
	char section[FS_PROJECT_MAX + 16], cred[FS_PROJECT_MAX + 32];
	char env[FS_PROJECT_MAX + 32], tok[FS_PROJECT_MAX + 1];
	struct cfg_secret_src src;
	struct cfg_secret s;
	int rc;

	snprintf(section, sizeof(section), "project %s", proj->name);
	cfg_name_token(proj->name, tok, sizeof(tok), 0);
	snprintf(cred, sizeof(cred), "split-sdk-key-%s", tok);
	cfg_name_token(proj->name, tok, sizeof(tok), 1);
	snprintf(env, sizeof(env), "FLAGSYNC_SPLIT_SDK_KEY_%s", tok);
	src.section = section;
	src.inline_key = "sdk_key_file";
	src.file_key = "sdk_key_file";
	src.cred = cred;
	src.env = env;
	rc = cfg_secret_cred(p, &src, &proj->sdk_key, &proj->sdk_key_origin);
	if (rc != 0 || proj->sdk_key != NULL)
		return rc;
	rc = cfg_secret_env(p, &src, &proj->sdk_key, &proj->sdk_key_origin);
	if (rc != 0 || proj->sdk_key != NULL || proj->sdk_key_file == NULL)
		return rc;
	memset(&s, 0, sizeof(s));
	s.file = proj->sdk_key_file;
	s.file_line = proj->sdk_key_file_line;
	return cfg_secret_file(p, &src, &s, &proj->sdk_key,
	    &proj->sdk_key_origin);
}

static int
cfg_secrets(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;
	size_t i;
	int rc;

	for (i = 0; i < cfg->nprojects; i++) {
		if ((rc = cfg_sdk_key_resolve(p, &cfg->projects[i])) != 0)
			return rc;
		if (scrub_add(cfg->projects[i].sdk_key) != 0)
			return cfg_nomem(p);
	}

	rc = cfg_secret_resolve(p, SECRET_SPLIT, &cfg->split_admin_key,
	    &cfg->split_key_origin);
	if (rc != 0)
		return rc;
	rc = cfg_secret_resolve(p, SECRET_JIRA, &cfg->jira_api_token, NULL);
	if (rc != 0)
		return rc;
	rc = cfg_secret_resolve(p, SECRET_HTTP, &cfg->http_token, NULL);
	if (rc != 0)
		return rc;
	return cfg_secrets_protect(p);
}

/* Registers the secret a "key = value" line names, if it names one. */
static void
cfg_secret_line(char *line)
{
	const struct cfg_secret_src *src;
	const char *why;
	char *v, *val;
	size_t klen;
	mode_t mode;
	int i, isfile;

	while (isspace((unsigned char)*line))
		line++;
	cfg_rtrim(line);
	for (i = 0; i < SECRET_COUNT; i++) {
		src = &cfg_secret_srcs[i];
		for (isfile = 0; isfile < 2; isfile++) {
			klen = strlen(isfile ? src->file_key : src->inline_key);
			if (strncmp(line, isfile ? src->file_key :
			    src->inline_key, klen) != 0)
				continue;
			val = line + klen + strspn(line + klen, " \t");
			if (*val != '=' && *val != ':')
				continue;
			val += 1 + strspn(val + 1, " \t");
			if (!isfile)
				scrub_add(val);
			else if (cfg_secret_read(val, &v, &why, &mode) == 0) {
				scrub_add(v);
				cfg_wipe_free(v);
			}
		}
	}
}

/*
 * The file was refused, maybe before its secrets were read: registers
 * every secret it names, quietly, from the environment and from a second
 * look at all its lines, and scrubs the error with them, so that a secret
 * pasted into the wrong key is not echoed even when cfg_show() could not
 * tell it from a value.
 */
static void
cfg_secrets_mask(struct cfg_parse *p)
{
	const char *env;
	char line[1024];
	int i;

	for (i = 0; i < SECRET_COUNT; i++)
		if ((env = getenv(cfg_secret_srcs[i].env)) != NULL)
			scrub_add(env);
	if (fseek(p->fp, 0, SEEK_SET) == 0) {
		clearerr(p->fp);
		while (fgets(line, sizeof(line), p->fp) != NULL)
			cfg_secret_line(line);
		explicit_bzero(line, sizeof(line));
	}
	if (p->err != NULL && p->errlen > 0)
		scrub_copy(p->err, p->errlen, p->err);
}

/* Life cycle. */

static struct config *
cfg_create(const char *path)
{
	struct config *cfg;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	cfg->path = strdup(path);
	cfg->state_dir = strdup(CFG_STATE_DIR);
	cfg->split_api_url = strdup(CFG_SPLIT_API_URL);
	cfg->split_sdk_url = strdup(CFG_SPLIT_SDK_URL);
	cfg->issue_key_pattern = strdup(CFG_KEY_PATTERN);
	cfg->create_traffic_type = strdup(CFG_TRAFFIC_TYPE);
	if (cfg->path == NULL || cfg->state_dir == NULL ||
	    cfg->split_api_url == NULL || cfg->split_sdk_url == NULL ||
	    cfg->issue_key_pattern == NULL ||
	    cfg->create_traffic_type == NULL) {
		config_free(cfg);
		return NULL;
	}
	cfg->interval = 60;
	cfg->jitter = 10;
	cfg->log_level = LOG_INFO;
	cfg->retention = CFG_RETENTION;
	cfg->deliver_timeout = 30;
	cfg->split_max_rps = 3;
	cfg->split_timeout = 30;
	cfg->split_full_sync = CFG_FULL_SYNC;
	cfg->split_tags = 1;
	cfg->split_description = 1;
	cfg->jira_timeout = 30;
	cfg->findings_done_grace = FINDING_DONE_GRACE;
	cfg->findings_stale_after = FINDING_STALE_AFTER;
	return cfg;
}

static void
cfg_parse_release(struct cfg_parse *p)
{
	int i;

	if (p->raw != NULL)
		explicit_bzero(p->raw, p->bufsz);
	free(p->raw);
	free(p->key);
	free(p->cur.title);
	for (i = 0; i < SECRET_COUNT; i++) {
		cfg_wipe_free(p->secret[i].value);
		free(p->secret[i].file);
	}
}

int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	return config_load_flags(path, 0, out, err, errlen);
}

int
config_load_flags(const char *path, int flags, struct config **out,
    char *err, size_t errlen)
{
	struct cfg_parse p;
	int rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	if ((p.fp = fopen(path, "re")) == NULL) {
		rc = errno;
		return cfg_syserr(&p, rc, "cannot read: %s", strerror(rc));
	}
	setvbuf(p.fp, p.iobuf, _IOFBF, sizeof(p.iobuf));
	if ((p.cfg = cfg_create(path)) == NULL) {
		rc = cfg_nomem(&p);
		goto file_close;
	}
	/* queries never read a secret: one they cannot read must not stop
	 * them */
	if ((rc = cfg_parse_file(&p)) == 0 && (rc = cfg_check(&p)) == 0 &&
	    !(flags & CONFIG_NO_SECRETS))
		rc = cfg_secrets(&p);
	if (rc != 0) {
		cfg_secrets_mask(&p);
		config_free(p.cfg);
	} else
		*out = p.cfg;
	cfg_parse_release(&p);
file_close:
	fclose(p.fp);
	explicit_bzero(p.iobuf, sizeof(p.iobuf));
	return rc;
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nprojects; i++) {
		free(cfg->projects[i].name);
		free(cfg->projects[i].environment);
		cfg_wipe_free(cfg->projects[i].sdk_key);
		free(cfg->projects[i].sdk_key_origin);
		free(cfg->projects[i].sdk_key_file);
	}
	free(cfg->projects);
	for (i = 0; i < cfg->nplugins; i++)
		cfg_plugin_release(&cfg->plugins[i]);
	free(cfg->plugins);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->split_api_url);
	cfg_wipe_free(cfg->split_admin_key);
	free(cfg->split_key_origin);
	free(cfg->split_flag_url);
	free(cfg->split_sdk_url);
	free(cfg->ca_file);
	free(cfg->issue_key_pattern);
	free(cfg->links_file);
	free(cfg->jira_field);
	free(cfg->jira_jql);
	free(cfg->create_traffic_type);
	free(cfg->findings_ignore);
	free(cfg->jira_url);
	free(cfg->jira_email);
	cfg_wipe_free(cfg->jira_api_token);
	free(cfg->http_listen);
	cfg_wipe_free(cfg->http_token);
	free(cfg);
}

const struct config_project *
config_project_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nprojects; i++)
		if (strcmp(cfg->projects[i].name, name) == 0)
			return &cfg->projects[i];
	return NULL;
}
