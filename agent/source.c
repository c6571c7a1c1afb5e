/* source.c - the standalone link sources. */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "create.h"
#include "error.h"
#include "jira.h"
#include "jsonw.h"
#include "linksfile.h"
#include "log.h"
#include "maxlen.h"
#include "skipped.h"
#include "source.h"
#include "utf8.h"

#define JF_FIELDS_PATH		"/rest/api/3/field"
#define JF_CANDIDATES_MAX	10	/* fields an error message lists */

/* ------------------------------------------------------------ file */

static bool
file_enabled(const struct config *cfg)
{
	return cfg->links_file != NULL;
}

static int
file_gather(const struct source_env *env, struct linkset *out,
    json_object *details, char *err, size_t errlen)
{
	const struct config *cfg = env->cfg;
	struct skipped skipped;
	const char **names;
	size_t i;
	int rc;

	if ((names = calloc(cfg->nprojects + 1, sizeof(*names))) == NULL)
		return ENOMEM;
	for (i = 0; i < cfg->nprojects; i++)
		names[i] = cfg->projects[i].name;
	skipped_init(&skipped);
	rc = linksfile_load(cfg->links_file, names, cfg->nprojects, env->keys,
	    out, &skipped, err, errlen);
	if (rc == 0)
		rc = skipped_put(&skipped, details);
	skipped_release(&skipped);
	free(names);
	return rc;
}

static const struct source source_file = {
	.id = LINK_SRC_FILE,
	.status_name = "file",
	.scope = NULL,
	.enabled = file_enabled,
	.gather = file_gather,
};

/* ------------------------------------------------------------ jira-field */

/* One search: its links, its unmatched names, the flags it knows of. */
struct jf_gather {
	const struct source_env *env;
	const char *field;
	struct linkset links;
	const struct cs_flag **cs;	/* the changeset's flags, sorted */
	size_t	 ncs;
	struct cache_txn *t;		/* during one issue only */
	const char *issue;		/* the issue being read */
	char	**unmatched;		/* "SHOP-3: nope" */
	size_t	 nunmatched, capunmatched;
	size_t	 nissues;
	struct skipped refused;		/* names jira_create cannot take */
	size_t	 ncandidates;
};

static bool
jf_enabled(const struct config *cfg)
{
	return cfg->jira_field != NULL;
}

static int
jf_cs_cmp(const void *a, const void *b)
{
	const struct cs_flag *x = *(const struct cs_flag *const *)a;
	const struct cs_flag *y = *(const struct cs_flag *const *)b;
	int d;

	if ((d = strcmp(x->project, y->project)) != 0)
		return d;
	if ((d = strcmp(x->flag, y->flag)) != 0)
		return d;
	/* One array: the later entry is the newer word on the flag. */
	return x < y ? -1 : x > y;
}

static int
jf_cs_index(struct jf_gather *g)
{
	const struct changeset *cs = g->env->cs;
	size_t i;

	if (cs == NULL || cs->nflags == 0)
		return 0;
	if ((g->cs = calloc(cs->nflags, sizeof(*g->cs))) == NULL)
		return ENOMEM;
	for (i = 0; i < cs->nflags; i++)
		g->cs[i] = &cs->flags[i];
	g->ncs = cs->nflags;
	qsort(g->cs, g->ncs, sizeof(*g->cs), jf_cs_cmp);
	return 0;
}

/* The changeset's newest entry for a flag, or NULL. */
static const struct cs_flag *
jf_cs_find(const struct jf_gather *g, const char *project, const char *flag)
{
	size_t lo = 0, hi = g->ncs, mid;
	const struct cs_flag *f = NULL;
	int d;

	/* the last of the equal entries */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		d = strcmp(g->cs[mid]->project, project);
		if (d == 0)
			d = strcmp(g->cs[mid]->flag, flag);
		if (d <= 0) {
			if (d == 0)
				f = g->cs[mid];
			lo = mid + 1;
		} else
			hi = mid;
	}
	return f;
}

static int
jf_flag_exists(struct jf_gather *g, const char *project, const char *flag,
    bool *yes)
{
	const struct cs_flag *f;
	const void *rec;
	size_t len;
	int rc;

	if ((f = jf_cs_find(g, project, flag)) != NULL) {
		*yes = f->present;
		return 0;
	}
	rc = cache_flag_get(g->t, project, flag, &rec, &len);
	*yes = rc == 0;
	return rc == FS_ENOTFOUND ? 0 : rc;
}

/*
 * Lists "ISSUE: name", "ISSUE: name (note)", or "ISSUE: note" when name
 * is NULL; "name (note)" outside an issue (an issue key that cannot be
 * one).  The name came from Jira: it is listed escaped and shortened
 * (utf8_vis()), so the status record stays valid UTF-8, small, and safe
 * to print.
 */
static int
jf_unmatched(struct jf_gather *g, const char *name, const char *note)
{
	struct buf b;
	int rc;

	if ((rc = ARRAY_GROW(g->unmatched, g->capunmatched,
	    g->nunmatched + 1)) != 0)
		return rc;
	buf_init(&b, 0);
	rc = g->issue != NULL ? buf_printf(&b, "%s: ", g->issue) :
	    buf_puts(&b, "");
	if (rc == 0 && name != NULL)
		rc = utf8_vis(name, strlen(name), SOURCE_SHOWN_MAX, &b);
	if (rc == 0 && note != NULL)
		rc = buf_printf(&b, name != NULL ? " (%s)" : "%s", note);
	if (rc != 0) {
		buf_release(&b);
		return rc;
	}
	g->unmatched[g->nunmatched++] = buf_detach(&b);
	return 0;
}

/* Why a name cannot be a flag's (too long to be one), or NULL. */
static const char *
jf_name_too_long(const char *name, char *why, size_t whylen)
{
	const char *slash = strrchr(name, '/');

	if (slash != NULL && (size_t)(slash - name) > FS_PROJECT_MAX)
		snprintf(why, whylen, "a project name longer than %d bytes",
		    FS_PROJECT_MAX);
	else if (strlen(slash != NULL ? slash + 1 : name) > FS_FLAG_MAX)
		snprintf(why, whylen, "a flag name longer than %d bytes",
		    FS_FLAG_MAX);
	else
		return NULL;
	return why;
}

/*
 * A name matching no flag, with jira_create: a candidate where
 * create_where() places it, else unmatched with the reason (and a row
 * that `status` shows: nothing is sent to Split for it).
 */
static int
jf_candidate(struct jf_gather *g, const char *name)
{
	const char *project, *flag;
	char why[256], note[300];
	int rc;

	if ((project = create_where(g->env->cfg, name, &flag, why,
	    sizeof(why))) != NULL) {
		g->ncandidates++;
		return create_list_add(g->env->create, project, flag,
		    g->issue);
	}
	snprintf(note, sizeof(note), "not created: %s", why);
	if ((rc = jf_unmatched(g, name, note)) != 0)
		return rc;
	return skipped_add(&g->refused, "flag", name, "%s: %s", g->issue,
	    note);
}

/* A name matching no flag: a candidate, or listed as unmatched. */
static int
jf_no_flag(struct jf_gather *g, const char *name, bool placeable)
{
	if (g->env->create != NULL && placeable)
		return jf_candidate(g, name);
	return jf_unmatched(g, name, NULL);
}

/* project/flag: that configured project, if the flag exists there. */
static int
jf_name_qualified(struct jf_gather *g, const char *name, const char *slash)
{
	const struct config_project *p;
	char *project;
	bool yes = false;
	int rc = 0;

	if ((project = strndup(name, (size_t)(slash - name))) == NULL)
		return ENOMEM;
	p = config_project_find(g->env->cfg, project);
	if (p != NULL && slash[1] != '\0')
		rc = jf_flag_exists(g, p->name, slash + 1, &yes);
	if (rc == 0 && yes)
		rc = linkset_add(&g->links, p->name, slash + 1, g->issue);
	else if (rc == 0)
		rc = jf_no_flag(g, name, p != NULL);
	free(project);
	return rc;
}

/* A bare flag: every configured project that has a flag of that name. */
static int
jf_name_bare(struct jf_gather *g, const char *name)
{
	const struct config *cfg = g->env->cfg;
	size_t i, found = 0;
	bool yes;
	int rc = 0;

	for (i = 0; rc == 0 && i < cfg->nprojects; i++) {
		rc = jf_flag_exists(g, cfg->projects[i].name, name, &yes);
		if (rc == 0 && yes) {
			found++;
			rc = linkset_add(&g->links, cfg->projects[i].name,
			    name, g->issue);
		}
	}
	if (rc == 0 && found == 0)
		rc = jf_no_flag(g, name, true);
	return rc;
}

static int
jf_name_cb(void *arg, const char *name, int bad)
{
	struct jf_gather *g = arg;
	const char *slash;
	char why[64], note[128];
	struct buf fixed;
	int rc;

	if (bad) {
		snprintf(note, sizeof(note), "unreadable value (%s)", name);
		return jf_unmatched(g, NULL, note);
	}
	/* Jira's bytes may not be UTF-8 (json-c does not check). */
	buf_init(&fixed, 0);
	if ((rc = utf8_repair(name, strlen(name), &fixed)) != 0)
		goto fixed_release;
	name = buf_str(&fixed);
	if (jf_name_too_long(name, why, sizeof(why)) != NULL)
		rc = jf_unmatched(g, name, why);
	/* Split flag names hold no '/'; a project name might. */
	else if ((slash = strrchr(name, '/')) != NULL)
		rc = jf_name_qualified(g, name, slash);
	else
		rc = jf_name_bare(g, name);
fixed_release:
	buf_release(&fixed);
	return rc;
}

static void
jf_log_skipped_key(const char *key)
{
	struct buf b;

	buf_init(&b, 0);
	if (utf8_vis(key, strlen(key), SOURCE_SHOWN_MAX, &b) == 0)
		log_debug("jira-field: '%s' is not an issue key "
		    "(issue_key_pattern); skipped", buf_str(&b));
	buf_release(&b);
}

static int
jf_issue_cb(void *arg, const char *key, json_object *fields)
{
	struct jf_gather *g = arg;
	json_object *value = NULL;
	char why[64];
	int rc;

	g->nissues++;
	if (strlen(key) > FS_ISSUE_MAX) {
		snprintf(why, sizeof(why), "an issue key longer than %d bytes",
		    FS_ISSUE_MAX);
		return jf_unmatched(g, key, why);
	}
	if (!keys_is_key(g->env->keys, key)) {
		jf_log_skipped_key(key);
		return 0;
	}
	if (fields != NULL)
		json_object_object_get_ex(fields, g->field, &value);
	/* A short read transaction per issue: none spans a network wait. */
	if ((rc = cache_read_begin(g->env->c, &g->t)) != 0)
		return rc;
	g->issue = key;
	rc = jira_field_names(value, jf_name_cb, g);
	cache_read_end(g->t);
	g->t = NULL;
	g->issue = NULL;
	return rc;
}

static int
jf_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "unmatched": the sorted, distinct names, "unmatched_more" past a cap. */
static int
jf_details(struct jf_gather *g, json_object *details)
{
	size_t i, n = 0, shown;
	int rc;

	if (g->nunmatched > 1)
		qsort(g->unmatched, g->nunmatched, sizeof(*g->unmatched),
		    jf_strcmp);
	for (i = 0; i < g->nunmatched; i++) {
		if (n > 0 && strcmp(g->unmatched[n - 1], g->unmatched[i]) == 0) {
			free(g->unmatched[i]);
			continue;
		}
		g->unmatched[n++] = g->unmatched[i];
	}
	g->nunmatched = n;
	shown = n < SOURCE_UNMATCHED_MAX ? n : SOURCE_UNMATCHED_MAX;
	rc = jsonw_put(details, "unmatched", jsonw_strv(
	    (const char *const *)g->unmatched, shown));
	if (rc == 0 && n > shown)
		rc = jsonw_put(details, "unmatched_more",
		    json_object_new_int64((int64_t)(n - shown)));
	if (rc == 0)
		rc = skipped_put(&g->refused, details);
	return rc;
}

static void
jf_release(struct jf_gather *g)
{
	size_t i;

	linkset_release(&g->links);
	skipped_release(&g->refused);
	free(g->cs);
	for (i = 0; i < g->nunmatched; i++)
		free(g->unmatched[i]);
	free(g->unmatched);
}

static int
jf_client(const struct source_env *env, struct jira_client **jc, char *err,
    size_t errlen)
{
	const struct config *cfg = env->cfg;
	struct jira_options o;
	const char *ms;
	int rc;

	if (cfg->jira_api_token == NULL) {
		snprintf(err, errlen, "jira-field: no Jira API token for %s: "
		    "set [jira] api_token_file in %s, $FLAGSYNC_JIRA_API_TOKEN, "
		    "or the jira-api-token credential",
		    cfg->jira_email ? cfg->jira_email : "[jira] email",
		    cfg->path);
		return FS_EAUTH;
	}
	memset(&o, 0, sizeof(o));
	o.url = cfg->jira_url;
	o.email = cfg->jira_email;
	o.api_token = cfg->jira_api_token;
	o.timeout = cfg->jira_timeout;
	o.ca_file = cfg->ca_file;
	o.cancel = env->cancel;
#ifdef FLAGSYNC_TEST_HOOKS
	if ((ms = getenv("FLAGSYNC_TEST_BACKOFF_MS")) != NULL)
		o.backoff_base_ms = atoll(ms);
#else
	(void)ms;
#endif
	if ((rc = jira_client_create(jc, &o)) != 0)
		snprintf(err, errlen, "jira-field: cannot set up the Jira "
		    "client for %s: %s", cfg->jira_url ? cfg->jira_url :
		    "[jira] url", fs_strerror(rc));
	return rc;
}

/* Adds the search's links to out. */
static int
jf_move_links(struct jf_gather *g, struct linkset *out)
{
	size_t i;
	int rc = 0;

	linkset_sort(&g->links);
	for (i = 0; rc == 0 && i < g->links.n; i++)
		rc = linkset_add(out, g->links.v[i].project,
		    g->links.v[i].flag, g->links.v[i].issue);
	return rc;
}

/* Makes sure the message says which source failed. */
static void
jf_name_error(char *err, size_t errlen, int rc)
{
	char *copy;

	if (errlen == 0 || strncmp(err, "jira-field: ", 12) == 0)
		return;
	if (err[0] == '\0') {
		snprintf(err, errlen, "jira-field: %s", fs_strerror(rc));
		return;
	}
	if ((copy = strdup(err)) == NULL)
		return;
	snprintf(err, errlen, "jira-field: %s", copy);
	free(copy);
}

/* ------------------------------------------------------ jira-field: field */

/*
 * The field id a display name resolved to, kept for the process: Jira's
 * field list changes only when an admin edits it, and a search every
 * cycle need not cost a second request.  Keyed by site and name, so a
 * reloaded config that names another field resolves again.
 */
static struct {
	char	*url;
	char	*name;
	char	*id;
} jf_resolved;

static bool
jf_is_custom_id(const char *field)
{
	const char *num = field + strlen("customfield_");

	return strncmp(field, "customfield_", strlen("customfield_")) == 0 &&
	    *num != '\0' && strspn(num, "0123456789") == strlen(num);
}

/* What GET /rest/api/3/field says of one name. */
struct jf_fields {
	const char *want;
	const char *id;		/* the pick, into the answer's tree */
	size_t	 nsame;		/* custom fields with exactly that name */
	struct buf same;	/* their ids */
	struct buf near;	/* "name (id)" of those whose name holds it */
	size_t	 nnear;
	struct buf other;	/* "name (id)" of the first custom fields */
	size_t	 nother;
};

static const char *
jf_json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Adds "name (id)" to a list of candidates, escaped, at most a few. */
static int
jf_fields_name(struct buf *list, size_t *n, const char *name, const char *id)
{
	int rc = 0;

	if ((*n)++ >= JF_CANDIDATES_MAX)
		return 0;
	if (list->len > 0)
		rc = buf_puts(list, ", ");
	if (rc == 0)
		rc = utf8_vis(name, strlen(name), SOURCE_SHOWN_MAX, list);
	if (rc == 0)
		rc = buf_puts(list, " (");
	if (rc == 0)
		rc = utf8_vis(id, strlen(id), SOURCE_SHOWN_MAX, list);
	return rc == 0 ? buf_puts(list, ")") : rc;
}

/*
 * One field of the list: an id equal to the name wins at once (a system
 * field such as labels); a custom field of exactly that name is a match;
 * one whose name holds it in any case is worth naming in an error.
 */
static int
jf_fields_one(struct jf_fields *f, json_object *field)
{
	const char *id = jf_json_str(field, "id");
	const char *name = jf_json_str(field, "name");
	json_object *custom;
	int rc = 0;

	if (id == NULL || name == NULL)
		return 0;
	if (strcmp(id, f->want) == 0) {
		f->id = id;
		return 0;
	}
	if (!json_object_object_get_ex(field, "custom", &custom) ||
	    !json_object_get_boolean(custom))
		return 0;
	if (strcmp(name, f->want) == 0) {
		if (f->nsame++ == 0)
			f->id = f->id ? f->id : id;
		if (f->same.len > 0)
			rc = buf_puts(&f->same, ", ");
		if (rc == 0)
			rc = utf8_vis(id, strlen(id), SOURCE_SHOWN_MAX,
			    &f->same);
	} else if (strcasestr(name, f->want) != NULL)
		rc = jf_fields_name(&f->near, &f->nnear, name, id);
	else
		rc = jf_fields_name(&f->other, &f->nother, name, id);
	return rc;
}

/* The answer read: 0 with f->id set, or FS_ECONFIG with err set. */
static int
jf_fields_pick(const struct config *cfg, json_object *list,
    struct jf_fields *f, char *err, size_t errlen)
{
	size_t i, n;
	struct buf want;
	int rc = 0;

	if (!json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "jira-field: Jira: GET %s: malformed "
		    "answer: not an array of fields", JF_FIELDS_PATH);
		return FS_EPROTO;
	}
	n = json_object_array_length(list);
	for (i = 0; rc == 0 && i < n; i++)
		rc = jf_fields_one(f, json_object_array_get_idx(list, i));
	if (rc != 0 || (f->id != NULL && (f->nsame <= 1 ||
	    strcmp(f->id, f->want) == 0)))
		return rc;
	buf_init(&want, 0);
	if ((rc = utf8_vis(f->want, strlen(f->want), 0, &want)) != 0)
		goto want_release;
	if (f->nsame > 1)
		snprintf(err, errlen, "jira-field: %s: [links] jira_field = "
		    "\"%s\": %zu custom fields in Jira have that name (%s); "
		    "give the id of the one to read", cfg->path,
		    buf_str(&want), f->nsame, buf_str(&f->same));
	else if (f->nnear > 0)
		snprintf(err, errlen, "jira-field: %s: [links] jira_field = "
		    "\"%s\": no field in Jira has that id or name; "
		    "candidates: %s%s", cfg->path, buf_str(&want),
		    buf_str(&f->near), f->nnear > JF_CANDIDATES_MAX ?
		    ", ..." : "");
	else
		snprintf(err, errlen, "jira-field: %s: [links] jira_field = "
		    "\"%s\": no field in Jira has that id or name; its "
		    "custom fields: %s%s", cfg->path, buf_str(&want),
		    f->nother ? buf_str(&f->other) : "none",
		    f->nother > JF_CANDIDATES_MAX ? ", ..." : "");
	rc = FS_ECONFIG;
want_release:
	buf_release(&want);
	return rc;
}

/* Remembers name -> id for the process; 0 or ENOMEM. */
static int
jf_resolved_keep(const char *url, const char *name, const char *id)
{
	free(jf_resolved.url);
	free(jf_resolved.name);
	free(jf_resolved.id);
	jf_resolved.url = strdup(url);
	jf_resolved.name = strdup(name);
	jf_resolved.id = strdup(id);
	if (jf_resolved.url == NULL || jf_resolved.name == NULL ||
	    jf_resolved.id == NULL) {
		free(jf_resolved.url);
		free(jf_resolved.name);
		free(jf_resolved.id);
		memset(&jf_resolved, 0, sizeof(jf_resolved));
		return ENOMEM;
	}
	return 0;
}

/*
 * The id of [links] jira_field: itself when it is a custom field's id,
 * else what GET /rest/api/3/field resolves it to.  *id points into the
 * config or into the process's cache of it.
 */
static int
jf_field_id(const struct source_env *env, struct jira_client *jc,
    const char **id, char *err, size_t errlen)
{
	const struct config *cfg = env->cfg;
	const char *name = cfg->jira_field;
	struct jf_fields f;
	json_object *list;
	long status;
	int rc;

	*id = name;
	if (jf_is_custom_id(name))
		return 0;
	if (jf_resolved.id != NULL && strcmp(jf_resolved.url,
	    cfg->jira_url) == 0 && strcmp(jf_resolved.name, name) == 0) {
		*id = jf_resolved.id;
		return 0;
	}
	if ((rc = jira_request(jc, "GET", JF_FIELDS_PATH, NULL, &status,
	    &list, err, errlen)) != 0)
		return rc;
	memset(&f, 0, sizeof(f));
	f.want = name;
	buf_init(&f.same, 0);
	buf_init(&f.near, 0);
	buf_init(&f.other, 0);
	if ((rc = jf_fields_pick(cfg, list, &f, err, errlen)) == 0) {
		if (strcmp(f.id, name) != 0)
			log_info("jira-field: [links] jira_field \"%s\" is "
			    "field %s", name, f.id);
		if ((rc = jf_resolved_keep(cfg->jira_url, name,
		    f.id)) == 0)
			*id = jf_resolved.id;
	}
	buf_release(&f.same);
	buf_release(&f.near);
	buf_release(&f.other);
	json_object_put(list);
	return rc;
}

static int
jf_gather(const struct source_env *env, struct linkset *out,
    json_object *details, char *err, size_t errlen)
{
	const char *fields[1];
	struct jira_client *jc = NULL;
	struct jf_gather g;
	struct buf jql;
	int rc;

	memset(&g, 0, sizeof(g));
	g.env = env;
	linkset_init(&g.links);
	skipped_init(&g.refused);
	buf_init(&jql, 0);
	if ((rc = jf_client(env, &jc, err, errlen)) != 0 ||
	    (rc = jf_field_id(env, jc, &g.field, err, errlen)) != 0)
		goto g_release;
	if ((rc = jf_cs_index(&g)) != 0 ||
	    (rc = jira_field_jql(g.field, env->cfg->jira_jql, &jql)) != 0)
		goto g_release;
	fields[0] = g.field;
	log_debug("jira-field: searching %s", buf_str(&jql));
	rc = jira_search(jc, buf_str(&jql), fields, 1, jf_issue_cb, &g, err,
	    errlen);
	if (rc == 0)
		rc = jf_details(&g, details);
	if (rc == 0)
		rc = jf_move_links(&g, out);
	if (rc == 0)
		log_info("jira-field: %zu issues, %zu links, %zu names "
		    "matching no flag%s", g.nissues, g.links.n,
		    g.nunmatched + g.ncandidates, g.ncandidates > 0 ?
		    " (some to create)" : "");
g_release:
	if (rc != 0)
		jf_name_error(err, errlen, rc);
	jira_client_free(jc);
	buf_release(&jql);
	jf_release(&g);
	return rc;
}

static const struct source source_jira_field = {
	.id = LINK_SRC_JIRA_FIELD,
	.status_name = "jira-field",
	.scope = NULL,
	.enabled = jf_enabled,
	.gather = jf_gather,
};

const struct source *const sources[] = {
	&source_file,
	&source_jira_field,
	NULL,
};
