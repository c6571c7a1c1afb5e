/* source.c - the standalone link sources. */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"
#include "jira.h"
#include "jsonw.h"
#include "linksfile.h"
#include "log.h"
#include "source.h"

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
	const char **names;
	size_t i;
	int rc;

	(void)details;
	if ((names = calloc(cfg->nprojects + 1, sizeof(*names))) == NULL)
		return ENOMEM;
	for (i = 0; i < cfg->nprojects; i++)
		names[i] = cfg->projects[i].name;
	rc = linksfile_load(cfg->links_file, names, cfg->nprojects, env->keys,
	    out, err, errlen);
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

/* Lists "ISSUE: name", or "ISSUE: unreadable value (what)" when bad. */
static int
jf_unmatched(struct jf_gather *g, const char *what, int bad)
{
	size_t ncap;
	char **nv;

	if (g->nunmatched == g->capunmatched) {
		ncap = g->capunmatched ? g->capunmatched * 2 : 16;
		if ((nv = realloc(g->unmatched, ncap * sizeof(*nv))) == NULL)
			return ENOMEM;
		g->unmatched = nv;
		g->capunmatched = ncap;
	}
	if (asprintf(&g->unmatched[g->nunmatched], bad ? "%s: unreadable "
	    "value (%s)" : "%s: %s", g->issue, what) < 0)
		return ENOMEM;
	g->nunmatched++;
	return 0;
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
		rc = jf_unmatched(g, name, 0);
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
		rc = jf_unmatched(g, name, 0);
	return rc;
}

static int
jf_name_cb(void *arg, const char *name, int bad)
{
	struct jf_gather *g = arg;
	const char *slash;

	if (bad)
		return jf_unmatched(g, name, 1);
	/* Split flag names hold no '/'; a project name might. */
	if ((slash = strrchr(name, '/')) != NULL)
		return jf_name_qualified(g, name, slash);
	return jf_name_bare(g, name);
}

static int
jf_issue_cb(void *arg, const char *key, json_object *fields)
{
	struct jf_gather *g = arg;
	json_object *value = NULL;
	int rc;

	g->nissues++;
	if (!keys_is_key(g->env->keys, key)) {
		log_debug("jira-field: '%s' is not an issue key "
		    "(issue_key_pattern); skipped", key);
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
	return rc;
}

static void
jf_release(struct jf_gather *g)
{
	size_t i;

	linkset_release(&g->links);
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
	g.field = env->cfg->jira_field;
	linkset_init(&g.links);
	buf_init(&jql, 0);
	if ((rc = jf_client(env, &jc, err, errlen)) != 0)
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
		    "matching no flag", g.nissues, g.links.n, g.nunmatched);
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
