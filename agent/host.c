/* host.c - the function table plugins call. */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "clock.h"
#include "duration.h"
#include "error.h"
#include "findings.h"
#include "host.h"
#include "jsonw.h"
#include "linkset.h"
#include "log.h"
#include "maxlen.h"
#include "pace.h"
#include "query.h"
#include "scrub.h"
#include "view.h"

#define HOST_KV_KEY_MAX		256
#define HOST_KV_VALUE_MAX	(1024 * 1024)

void
host_init(struct flagsync_host *h, const struct config *cfg,
    const struct config_plugin *pcfg, struct cache *c)
{
	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->pcfg = pcfg;
	if (cfg)
		snprintf(h->jira_timeout, sizeof(h->jira_timeout), "%d",
		    cfg->jira_timeout);
	snprintf(h->timeout, sizeof(h->timeout), "%d", pcfg->timeout);
	if (cfg) {
		snprintf(h->split_timeout, sizeof(h->split_timeout), "%d",
		    cfg->split_timeout);
		snprintf(h->split_max_rps, sizeof(h->split_max_rps), "%g",
		    cfg->split_max_rps > 0 ? cfg->split_max_rps : 0);
	}
	/* a state_dir too long for the buffer shares no pace: none */
	if (cfg && cfg->state_dir && (size_t)snprintf(h->pace_file,
	    sizeof(h->pace_file), "%s/" PACE_FILE_NAME, cfg->state_dir) >=
	    sizeof(h->pace_file))
		h->pace_file[0] = '\0';
	/* The bundled writers, loaded by name from the plugin directory,
	 * need their own service's secrets. */
	h->grants = pcfg->credentials;
	if (strcmp(pcfg->module, "jira") == 0)
		h->grants |= CONFIG_CRED_JIRA;
	if (strcmp(pcfg->module, "split") == 0)
		h->grants |= CONFIG_CRED_SPLIT;
	h->c = c;
	/* Static init cannot fail, unlike pthread_mutex_init(). */
	h->mtx = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}

void
host_release(struct flagsync_host *h)
{
	pthread_mutex_destroy(&h->mtx);
}

void
host_set_error(struct flagsync_host *h, const char *msg)
{
	pthread_mutex_lock(&h->mtx);
	scrub_copy(h->last_error, sizeof(h->last_error), msg);
	h->last_error_time = clock_now_ms();
	pthread_mutex_unlock(&h->mtx);
}

void
host_clean_error(char *err, size_t len)
{
	if (len == 0)
		return;
	err[len - 1] = '\0';
	scrub_copy(err, len, err);
}

void
host_config_reset(struct flagsync_host *h)
{
	h->config_err[0] = '\0';
}

const char *
host_config_message(const struct flagsync_host *h)
{
	return h->config_err[0] ? h->config_err : NULL;
}

int64_t
host_last_error(struct flagsync_host *h, char *buf, size_t len)
{
	int64_t t;

	pthread_mutex_lock(&h->mtx);
	snprintf(buf, len, "%s", h->last_error);
	t = h->last_error_time;
	pthread_mutex_unlock(&h->mtx);
	return t;
}

/* ------------------------------------------------------------ config */

/* The plugin's own key, or NULL. */
static const struct config_kv *
host_key_find(const struct flagsync_host *h, const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < h->pcfg->nkeys; i++)
		if (strcmp(h->pcfg->keys[i].key, key) == 0)
			return &h->pcfg->keys[i];
	return NULL;
}

static const char *
host_config_get(struct flagsync_host *h, const char *key)
{
	static const char *const creds[] = { NULL, "jira", "split",
	    "jira, split" };
	const struct config_kv *kv;

	if (key == NULL)
		return NULL;
	if (strcmp(key, "module") == 0)
		return h->pcfg->module;
	if (strcmp(key, "events") == 0)
		return h->pcfg->events;
	if (strcmp(key, "timeout") == 0)
		return h->timeout;
	if (strcmp(key, "start") == 0)
		return h->pcfg->start == CONFIG_START_LATEST ? "latest" :
		    "oldest";
	if (strcmp(key, "credentials") == 0)
		return creds[h->pcfg->credentials & 3];
	return (kv = host_key_find(h, key)) ? kv->value : NULL;
}

/*
 * "FILE:LINE: [plugin NAME] KEY: message", as config_load() words its
 * own errors; LINE is the key's when it is set, else the section's.
 */
static void
host_config_verror(struct flagsync_host *h, const char *key, const char *fmt,
    va_list ap)
{
	const struct config_kv *kv = host_key_find(h, key);
	char msg[512];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(h->config_err, sizeof(h->config_err), "%s:%d: [plugin %s]",
	    h->cfg ? h->cfg->path : "flagsync.ini", kv ? kv->line :
	    h->pcfg->line, h->pcfg->name);
	if (n < 0 || (size_t)n >= sizeof(h->config_err))
		return;
	snprintf(h->config_err + n, sizeof(h->config_err) - (size_t)n,
	    "%s%s: %s", key ? " " : "", key ? key : "", msg);
	/* a plugin may quote a value: a secret pasted there stays out */
	scrub_copy(h->config_err, sizeof(h->config_err), h->config_err);
}

static int
host_config_error(struct flagsync_host *h, const char *key, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_config_verror(h, key, fmt, ap);
	va_end(ap);
	return 1;
}

static int
host_config_bool(struct flagsync_host *h, const char *key, int def, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	const char *v;
	size_t i;

	*out = def;
	if ((v = host_config_get(h, key)) == NULL)
		return 0;
	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	host_config_error(h, key, "\"%s\" is not yes/no/true/false/on/off/"
	    "1/0", v);
	return EINVAL;
}

static int
host_config_int(struct flagsync_host *h, const char *key, int64_t def,
    int64_t min, int64_t max, int64_t *out)
{
	const char *v;
	char *end;
	long long n;

	*out = def;
	if ((v = host_config_get(h, key)) == NULL)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || *end != '\0') {
		host_config_error(h, key, "not an integer: \"%s\"", v);
		return EINVAL;
	}
	if (errno == ERANGE || n < min || n > max) {
		host_config_error(h, key, "%s is out of range %" PRId64 "..%"
		    PRId64, v, min, max);
		return EINVAL;
	}
	*out = n;
	return 0;
}

/* One parser for every duration (duration.h); here in milliseconds. */
static int
host_duration_parse(const char *v, int64_t *ms)
{
	int64_t secs;
	int rc;

	if ((rc = duration_parse(v, INT64_MAX / 1000, &secs)) != 0)
		return rc;
	*ms = secs * 1000;
	return 0;
}

static int
host_config_duration(struct flagsync_host *h, const char *key, int64_t def_ms,
    int64_t *out_ms)
{
	const char *v;
	int rc;

	*out_ms = def_ms;
	if ((v = host_config_get(h, key)) == NULL)
		return 0;
	if ((rc = host_duration_parse(v, out_ms)) != 0) {
		*out_ms = def_ms;
		host_config_error(h, key, rc == ERANGE ? "\"%s\" is too long" :
		    "\"%s\" is not a duration: " DURATION_FORMS,
		    v);
		return EINVAL;
	}
	return 0;
}

static int
host_cancelled(struct flagsync_host *h)
{
	return (h->stopping && atomic_load(h->stopping)) ||
	    (h->overdue && atomic_load(h->overdue));
}

static const char *
host_config_key(struct flagsync_host *h, size_t i, const char **value)
{
	if (i >= h->pcfg->nkeys)
		return NULL;
	if (value)
		*value = h->pcfg->keys[i].value;
	return h->pcfg->keys[i].key;
}

static const char *
host_instance_name(struct flagsync_host *h)
{
	return h->pcfg->name;
}

static void
host_log(struct flagsync_host *h, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level < LOG_EMERG || level > LOG_DEBUG)
		level = LOG_INFO;
	log_msg(level, "plugin %s: %s", h->pcfg->name, msg);
	if (level <= LOG_WARNING)
		host_set_error(h, msg);
}

/* ------------------------------------------------------------ queries */

static int
host_json_out(json_object *o, char **json)
{
	const char *s;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	*json = s ? strdup(s) : NULL;
	json_object_put(o);
	return *json ? 0 : ENOMEM;
}

static int
host_flag_view(struct flagsync_host *h, const char *project, const char *flag,
    char **json)
{
	struct cache_txn *t;
	json_object *o;
	int rc;

	*json = NULL;
	if (project == NULL || flag == NULL)
		return EINVAL;
	if ((rc = cache_read_begin(h->c, &t)) != 0)
		return rc > 0 ? rc : EIO;
	rc = query_flag_json(t, project, flag, &o);
	cache_read_end(t);
	if (rc == FS_ENOTFOUND)
		return FLAGSYNC_ENOTFOUND;
	if (rc != 0)
		return rc > 0 ? rc : EIO;
	return host_json_out(o, json);
}

static int
host_issue_flags(struct flagsync_host *h, const char *issue, char **json)
{
	struct cache_txn *t;
	json_object *o, *count;
	int rc;

	*json = NULL;
	if (issue == NULL)
		return EINVAL;
	if ((rc = cache_read_begin(h->c, &t)) != 0)
		return rc > 0 ? rc : EIO;
	rc = query_issue_json(t, issue, &o);
	cache_read_end(t);
	if (rc != 0)
		return rc > 0 ? rc : EIO;
	if (json_object_object_get_ex(o, "count", &count) &&
	    json_object_get_int64(count) == 0) {
		json_object_put(o);
		return FLAGSYNC_ENOTFOUND;
	}
	return host_json_out(o, json);
}

/* The open findings about one issue: its own, and its flags' own. */
struct issue_findings {
	struct cache_txn *t;
	const char *issue;
	json_object *arr;
};

static int
host_finding_cb(void *arg, const struct finding *f)
{
	struct issue_findings *w = arg;
	json_object *o;
	char since[32];

	if (f->issue != NULL && strcmp(f->issue, w->issue) != 0)
		return 0;
	view_format_time(f->rec.since, since);
	if ((o = json_object_new_object()) == NULL ||
	    json_object_array_add(w->arr, o) != 0) {
		json_object_put(o);
		return ENOMEM;
	}
	if (jsonw_str(o, "finding", finding_type_name(f->type)) != 0 ||
	    jsonw_str(o, "project", f->project) != 0 ||
	    jsonw_str(o, "flag", f->flag) != 0 ||
	    jsonw_str(o, "issue", f->issue) != 0 ||
	    jsonw_str(o, "since", since) != 0)
		return ENOMEM;
	return 0;
}

static int
host_issue_link_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	struct issue_findings *w = arg;

	(void)issue;
	(void)mask;
	return findings_foreach_flag(w->t, project, flag, host_finding_cb, w);
}

static int
host_issue_findings(struct flagsync_host *h, const char *issue, char **json)
{
	struct issue_findings w = { NULL, issue, NULL };
	int rc;

	*json = NULL;
	if (issue == NULL)
		return EINVAL;
	if (h->cfg == NULL || !h->cfg->findings)
		return FLAGSYNC_ENOTFOUND;
	if ((w.arr = json_object_new_array()) == NULL)
		return ENOMEM;
	if ((rc = cache_read_begin(h->c, &w.t)) != 0) {
		json_object_put(w.arr);
		return rc > 0 ? rc : EIO;
	}
	rc = cache_link_foreach_issue(w.t, issue, host_issue_link_cb, &w);
	cache_read_end(w.t);
	if (rc != 0) {
		json_object_put(w.arr);
		return rc > 0 ? rc : EIO;
	}
	return host_json_out(w.arr, json);
}

/* ------------------------------------------------------------ links, tags */

static int
host_flag_link_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	json_object *arr = arg, *o, *src = NULL, *v;
	int s;

	(void)project;
	(void)flag;
	if ((o = json_object_new_object()) == NULL ||
	    json_object_array_add(arr, o) != 0) {
		json_object_put(o);
		return ENOMEM;
	}
	if (jsonw_str(o, "issue", issue) != 0 ||
	    (src = json_object_new_array()) == NULL ||
	    json_object_object_add(o, "sources", src) != 0) {
		json_object_put(src);
		return ENOMEM;
	}
	for (s = 0; s < LINK_SRC_COUNT; s++) {
		if (!(mask & LINK_BIT(s)))
			continue;
		if ((v = json_object_new_string(link_source_name(s))) == NULL ||
		    json_object_array_add(src, v) != 0) {
			json_object_put(v);
			return ENOMEM;
		}
	}
	return 0;
}

static int
host_flag_links(struct flagsync_host *h, const char *project,
    const char *flag, char **json)
{
	struct cache_txn *t;
	json_object *arr;
	int rc;

	*json = NULL;
	if (project == NULL || flag == NULL)
		return EINVAL;
	if ((arr = json_object_new_array()) == NULL)
		return ENOMEM;
	if ((rc = cache_read_begin(h->c, &t)) != 0) {
		json_object_put(arr);
		return rc > 0 ? rc : EIO;
	}
	rc = cache_link_foreach_flag(t, project, flag, host_flag_link_cb, arr);
	cache_read_end(t);
	if (rc != 0) {
		json_object_put(arr);
		return rc > 0 ? rc : EIO;
	}
	return host_json_out(arr, json);
}

/* Names as the cache keys them: non-empty, within maxlen.h. */
static int
host_tag_check(const char *project, const char *flag, const char *tag)
{
	if (project == NULL || flag == NULL || tag == NULL ||
	    project[0] == '\0' || flag[0] == '\0' || tag[0] == '\0' ||
	    strlen(project) > FS_PROJECT_MAX || strlen(flag) > FS_FLAG_MAX ||
	    strlen(tag) > FS_TAG_MAX)
		return EINVAL;
	return 0;
}

static int
host_tag_owned(struct flagsync_host *h, const char *project, const char *flag,
    const char *tag)
{
	struct cache_txn *t;
	int rc;

	if ((rc = host_tag_check(project, flag, tag)) != 0)
		return rc;
	if ((rc = cache_read_begin(h->c, &t)) != 0)
		return rc > 0 ? rc : EIO;
	rc = cache_owntag_get(t, project, flag, tag);
	cache_read_end(t);
	if (rc == FS_ENOTFOUND)
		return FLAGSYNC_ENOTFOUND;
	return rc > 0 || rc == 0 ? rc : EIO;
}

struct tag_op {
	const char *project, *flag, *tag;
	const char *by;		/* NULL forgets */
};

static int
tag_write(struct cache_txn *t, void *arg)
{
	struct tag_op *op = arg;
	int rc;

	if (op->by != NULL)
		return cache_owntag_put(t, op->project, op->flag, op->tag,
		    op->by);
	rc = cache_owntag_del(t, op->project, op->flag, op->tag);
	return rc == FS_ENOTFOUND ? 0 : rc;
}

static int
host_tag_record(struct flagsync_host *h, const char *project,
    const char *flag, const char *tag, int owned)
{
	struct tag_op op = { project, flag, tag,
	    owned ? h->pcfg->name : NULL };
	int rc;

	if ((rc = host_tag_check(project, flag, tag)) != 0)
		return rc;
	rc = cache_write(h->c, tag_write, &op);
	return rc > 0 || rc == 0 ? rc : EIO;
}

/* ------------------------------------------------------------ key/value */

struct kv_op {
	struct flagsync_host *h;
	const char *key;
	const void *val;	/* NULL deletes */
	size_t	 len;
};

static int
kv_write(struct cache_txn *t, void *arg)
{
	struct kv_op *op = arg;
	int rc;

	if (op->val == NULL) {
		rc = cache_kv_del(t, op->h->pcfg->name, op->key);
		return rc == FS_ENOTFOUND ? 0 : rc;
	}
	return cache_kv_put(t, op->h->pcfg->name, op->key, op->val, op->len);
}

static int
kv_check(const char *key, size_t len)
{
	if (key == NULL || key[0] == '\0' || strlen(key) > HOST_KV_KEY_MAX ||
	    len > HOST_KV_VALUE_MAX)
		return EINVAL;
	return 0;
}

static int
host_kv_get(struct flagsync_host *h, const char *key, void **value,
    size_t *len)
{
	struct cache_txn *t;
	const void *v;
	size_t n;
	int rc;

	*value = NULL;
	*len = 0;
	if ((rc = kv_check(key, 0)) != 0)
		return rc;
	if ((rc = cache_read_begin(h->c, &t)) != 0)
		return rc > 0 ? rc : EIO;
	rc = cache_kv_get(t, h->pcfg->name, key, &v, &n);
	if (rc == 0) {
		/* one spare NUL so text values can be used as strings */
		if ((*value = malloc(n + 1)) == NULL)
			rc = ENOMEM;
		else {
			memcpy(*value, v, n);
			((char *)*value)[n] = '\0';
			*len = n;
		}
	}
	cache_read_end(t);
	if (rc == FS_ENOTFOUND)
		return FLAGSYNC_ENOTFOUND;
	return rc > 0 || rc == 0 ? rc : EIO;
}

static int
host_kv_put(struct flagsync_host *h, const char *key, const void *value,
    size_t len)
{
	struct kv_op op = { h, key, value ? value : "", len };
	int rc;

	if ((rc = kv_check(key, len)) != 0)
		return rc;
	rc = cache_write(h->c, kv_write, &op);
	return rc > 0 || rc == 0 ? rc : EIO;
}

static int
host_kv_del(struct flagsync_host *h, const char *key)
{
	struct kv_op op = { h, key, NULL, 0 };
	int rc;

	if ((rc = kv_check(key, 0)) != 0)
		return rc;
	rc = cache_write(h->c, kv_write, &op);
	return rc > 0 || rc == 0 ? rc : EIO;
}

/* [split] keys, for an instance granted them. */
static const char *
host_split_config(struct flagsync_host *h, const char *key)
{
	static const char *const auth[] = { "auto", "bearer", "x-api-key" };

	if (strcmp(key, "api_url") == 0)
		return h->cfg->split_api_url;
	if (strcmp(key, "admin_key") == 0)
		return h->cfg->split_admin_key;
	if (strcmp(key, "ca_file") == 0)
		return h->cfg->ca_file;
	if (strcmp(key, "timeout") == 0)
		return h->split_timeout;
	if (strcmp(key, "max_rps") == 0)
		return h->split_max_rps;
	if (strcmp(key, "pace_file") == 0)
		return h->pace_file[0] ? h->pace_file : NULL;
	if (strcmp(key, "auth") == 0 && h->cfg->split_auth >= 0 &&
	    h->cfg->split_auth <= CONFIG_AUTH_X_API_KEY)
		return auth[h->cfg->split_auth];
	return NULL;
}

/* A plugin sees only the secrets granted to it (flagsync-plugin(3)). */
static const char *
host_agent_config(struct flagsync_host *h, const char *section,
    const char *key)
{
	if (h->cfg == NULL || section == NULL || key == NULL)
		return NULL;
	if (strcmp(section, "split") == 0)
		return h->grants & CONFIG_CRED_SPLIT ?
		    host_split_config(h, key) : NULL;
	if (strcmp(section, "jira") != 0 || !(h->grants & CONFIG_CRED_JIRA))
		return NULL;
	if (strcmp(key, "url") == 0)
		return h->cfg->jira_url;
	if (strcmp(key, "email") == 0)
		return h->cfg->jira_email;
	if (strcmp(key, "api_token") == 0)
		return h->cfg->jira_api_token;
	if (strcmp(key, "ca_file") == 0)
		return h->cfg->ca_file;
	if (strcmp(key, "timeout") == 0)
		return h->jira_timeout;
	return NULL;
}

static void
host_release_buf(struct flagsync_host *h, void *p)
{
	(void)h;
	free(p);
}

static const struct flagsync_host_api host_table = {
	.abi_major = FLAGSYNC_PLUGIN_ABI_MAJOR,
	.abi_minor = FLAGSYNC_PLUGIN_ABI_MINOR,
	.struct_size = sizeof(struct flagsync_host_api),
	.config_get = host_config_get,
	.config_key = host_config_key,
	.instance_name = host_instance_name,
	.log = host_log,
	.flag_view = host_flag_view,
	.issue_flags = host_issue_flags,
	.kv_get = host_kv_get,
	.kv_put = host_kv_put,
	.kv_del = host_kv_del,
	.release = host_release_buf,
	.agent_config = host_agent_config,
	.config_error = host_config_error,
	.config_bool = host_config_bool,
	.config_int = host_config_int,
	.config_duration = host_config_duration,
	.cancelled = host_cancelled,
	.issue_findings = host_issue_findings,
	.flag_links = host_flag_links,
	.tag_owned = host_tag_owned,
	.tag_record = host_tag_record,
};

const struct flagsync_host_api *
host_api(void)
{
	return &host_table;
}
