/* create.c - creating in Split the flags a Jira field names. */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "create.h"
#include "error.h"
#include "jsonw.h"
#include "log.h"
#include "maxlen.h"
#include "scrub.h"
#include "skipped.h"
#include "split.h"
#include "view.h"

#define CREATE_SOURCE	"jira-field"	/* the status record it writes in */
#define CREATE_RULE	"a letter first, then only letters, digits, '-' " \
			"and '_', at most 255 bytes"

/* ------------------------------------------------------------ candidates */

void
create_list_init(struct create_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
create_list_release(struct create_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].project);
		free(l->v[i].flag);
		free(l->v[i].issue);
	}
	free(l->v);
	create_list_init(l);
}

int
create_list_add(struct create_list *l, const char *project, const char *flag,
    const char *issue)
{
	struct create_cand *c;
	int rc;

	if ((rc = ARRAY_GROW(l->v, l->cap, l->n + 1)) != 0)
		return rc;
	c = &l->v[l->n];
	c->project = strdup(project);
	c->flag = strdup(flag);
	c->issue = strdup(issue);
	if (c->project == NULL || c->flag == NULL || c->issue == NULL) {
		free(c->project);
		free(c->flag);
		free(c->issue);
		return ENOMEM;
	}
	l->n++;
	return 0;
}

static bool
create_is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One byte of a name, quoted for a message: 'x', or a hex byte. */
static void
create_show_byte(char c, char *out, size_t len)
{
	if (c > 0x20 && c < 0x7f && c != '\'')
		snprintf(out, len, "'%c'", c);
	else if (c == ' ')
		snprintf(out, len, "a space");
	else
		snprintf(out, len, "byte 0x%02x", (unsigned char)c);
}

const char *
create_name_problem(const char *name, char *why, size_t whylen)
{
	char shown[16];
	size_t i, len = strlen(name);

	if (split_name_valid(name))
		return NULL;
	if (len == 0) {
		snprintf(why, whylen, "an empty name breaks Split's naming "
		    "rule (%s)", CREATE_RULE);
		return why;
	}
	if (len > FS_FLAG_MAX) {
		snprintf(why, whylen, "a name of %zu bytes breaks Split's "
		    "naming rule (%s)", len, CREATE_RULE);
		return why;
	}
	if (!create_is_letter(name[0])) {
		create_show_byte(name[0], shown, sizeof(shown));
		snprintf(why, whylen, "it starts with %s, not a letter: "
		    "Split's naming rule is %s", shown, CREATE_RULE);
		return why;
	}
	for (i = 1; i < len && split_name_valid((char[]){ 'a', name[i],
	    '\0' }); i++)
		;
	create_show_byte(name[i], shown, sizeof(shown));
	snprintf(why, whylen, "it holds %s, not a letter, digit, '-' or '_': "
	    "Split's naming rule is %s", shown, CREATE_RULE);
	return why;
}

/* The configured project named by the len bytes at name, or NULL. */
static const struct config_project *
create_project(const struct config *cfg, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < cfg->nprojects; i++)
		if (strlen(cfg->projects[i].name) == len &&
		    memcmp(cfg->projects[i].name, name, len) == 0)
			return &cfg->projects[i];
	return NULL;
}

const char *
create_where(const struct config *cfg, const char *name, const char **flag,
    char *why, size_t whylen)
{
	const struct config_project *p;
	const char *slash = strrchr(name, '/');

	if (slash != NULL) {
		if ((p = create_project(cfg, name, (size_t)(slash - name))) ==
		    NULL) {
			snprintf(why, whylen, "no project '%.*s' is "
			    "configured", (int)(slash - name), name);
			return NULL;
		}
		*flag = slash + 1;
	} else if (cfg->nprojects != 1) {
		snprintf(why, whylen, "%zu projects are configured: name it "
		    "project/flag", cfg->nprojects);
		return NULL;
	} else {
		p = &cfg->projects[0];
		*flag = name;
	}
	if (create_name_problem(*flag, why, whylen) != NULL)
		return NULL;
	return p->name;
}

#define CREATE_DESC_PRE		"Created from "
#define CREATE_DESC_POST	" by flagsync"

const char *
create_description_key(const char *desc, char *key, size_t keylen)
{
	size_t pre = strlen(CREATE_DESC_PRE), post = strlen(CREATE_DESC_POST);
	size_t len = desc != NULL ? strlen(desc) : 0, n;

	if (len <= pre + post || strncmp(desc, CREATE_DESC_PRE, pre) != 0 ||
	    strcmp(desc + len - post, CREATE_DESC_POST) != 0)
		return NULL;
	n = len - pre - post;
	if (n >= keylen || memchr(desc + pre, ' ', n) != NULL)
		return NULL;
	memcpy(key, desc + pre, n);
	key[n] = '\0';
	return key;
}

int64_t
create_backoff_ms(int tries)
{
	int64_t ms = CREATE_BACKOFF_MS;

	for (; tries > 1 && ms < CREATE_BACKOFF_MAX_MS; tries--)
		ms *= 2;
	return ms < CREATE_BACKOFF_MAX_MS ? ms : CREATE_BACKOFF_MAX_MS;
}

/* ------------------------------------------------------------ the run */

/* A project's ids, resolved once a cycle when one of its flags is due. */
struct cr_proj {
	char	*ws_id;
	char	*env_id;
	char	*env_name;
};

struct cr_run {
	const struct create_env *e;
	struct linkset *links;
	json_object *prev;	/* the last record's "refused", or NULL */
	json_object *refused;	/* this cycle's */
	json_object *prev_pending;	/* the last record's "pending" */
	json_object *pending;	/* created, the tag still to write */
	struct skipped skipped;
	struct cr_proj *proj;	/* per cfg->projects[] */
	size_t	 attempts;
	size_t	 waiting;
	bool	 outage;	/* Split did not answer: the rest wait */
	char	 err[1024];
};

/* What Split answered for one flag. */
struct cr_said {
	int	 rc;		/* 0, or why it was not created */
	bool	 refused;	/* Split refused: back off */
	bool	 existed;	/* 409: it was there already */
	bool	 made;		/* it exists now (created, or 409) */
};

/* The flag as split_get_flag() hands it, copied. */
struct cr_flag {
	char	*id;
	char	*description;
	char	**tags;
	size_t	 ntags;
};

static void
cr_flag_release(struct cr_flag *f)
{
	size_t i;

	free(f->id);
	free(f->description);
	for (i = 0; i < f->ntags; i++)
		free(f->tags[i]);
	free(f->tags);
	memset(f, 0, sizeof(*f));
}

/* Keeps the flag as a listing would: tags over FS_TAG_MAX are left out
 * (poll.c does the same), so the next listing makes the same record. */
static int
cr_flag_cb(void *arg, const struct split_flag *sf)
{
	struct cr_flag *f = arg;
	size_t i;

	cr_flag_release(f);
	if (sf->invalid != NULL || strlen(sf->id) == 0 ||
	    strlen(sf->id) > FS_ID_MAX || strlen(sf->description) >
	    FS_DESC_MAX)
		return FS_EPROTO;
	if ((f->id = strdup(sf->id)) == NULL ||
	    (f->description = strdup(sf->description)) == NULL)
		return ENOMEM;
	if (sf->ntags > 0 &&
	    (f->tags = calloc(sf->ntags, sizeof(*f->tags))) == NULL)
		return ENOMEM;
	for (i = 0; i < sf->ntags; i++) {
		if (strlen(sf->tags[i]) > FS_TAG_MAX)
			continue;
		if ((f->tags[f->ntags] = strdup(sf->tags[i])) == NULL)
			return ENOMEM;
		f->ntags++;
	}
	return 0;
}

static bool
cr_fatal(int rc)
{
	return rc == ENOMEM || rc == FS_ECANCELED;
}

/* Split's refusals of a write, as split.h words them. */
static bool
cr_refusal(int rc)
{
	return rc == EINVAL || rc == FS_ENOTFOUND || rc == FS_EAUTH;
}

/* --------------------------------------------------- owntags, before */

struct cr_own {
	const char *project;
	const char *flag;
	const struct create_cand *g;	/* the issues: g[0..n) */
	size_t	 n;
	bool	*added;		/* recorded by this write (undo: delete) */
	bool	 undo;
};

static int
cr_own_txn(struct cache_txn *t, void *arg)
{
	struct cr_own *o = arg;
	size_t i;
	int rc;

	for (i = 0; i < o->n; i++) {
		if (o->undo) {
			if (!o->added[i])
				continue;
			rc = cache_owntag_del(t, o->project, o->flag,
			    o->g[i].issue);
			if (rc != 0 && rc != FS_ENOTFOUND)
				return rc;
			continue;
		}
		/* cache_write may run this again: compute from o only */
		rc = cache_owntag_get(t, o->project, o->flag, o->g[i].issue);
		o->added[i] = rc == FS_ENOTFOUND;
		if (rc == FS_ENOTFOUND)
			rc = cache_owntag_put(t, o->project, o->flag,
			    o->g[i].issue, CREATE_BY);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------ Split, outside txns */

static int
cr_resolve(struct cr_run *r, size_t pi, struct cr_said *s)
{
	const struct config_project *p = &r->e->cfg->projects[pi];
	struct cr_proj *cp = &r->proj[pi];

	if (cp->env_id != NULL)
		return 0;
	if (cp->ws_id == NULL)
		s->rc = split_resolve_workspace(r->e->sc, p->name, &cp->ws_id,
		    r->err, sizeof(r->err));
	if (s->rc == 0)
		s->rc = split_resolve_environment(r->e->sc, cp->ws_id,
		    p->name, p->environment, &cp->env_id, &cp->env_name,
		    r->err, sizeof(r->err));
	return cr_fatal(s->rc) ? s->rc : 0;
}

/* issues[i] was added to tags[0..nt) already. */
static bool
cr_has_issue(const char **tags, size_t nt, size_t i,
    const char *const *issues)
{
	size_t j;

	for (j = 0; j < nt; j++)
		if (strcmp(tags[j], issues[i]) == 0)
			return true;
	return false;
}

static bool
cr_has_tag(const struct cr_flag *f, const char *tag)
{
	size_t i;

	for (i = 0; i < f->ntags; i++)
		if (strcmp(f->tags[i], tag) == 0)
			return true;
	return false;
}

/*
 * The flag's tags with the issue keys added, written when any was
 * missing; then the flag read again, as Split now has it.
 */
static int
cr_tag(struct cr_run *r, size_t pi, const char *flag,
    const char *const *issues, size_t n, struct cr_flag *f,
    struct cr_said *s)
{
	const struct cr_proj *cp = &r->proj[pi];
	const char *project = r->e->cfg->projects[pi].name;
	const char **tags;
	size_t i, nt;

	if ((tags = calloc(f->ntags + n, sizeof(*tags))) == NULL)
		return ENOMEM;
	for (nt = 0; nt < f->ntags; nt++)
		tags[nt] = f->tags[nt];
	for (i = 0; i < n; i++)
		if (!cr_has_tag(f, issues[i]) && !cr_has_issue(tags, nt, i,
		    issues))
			tags[nt++] = issues[i];
	if (nt > f->ntags) {
		s->rc = split_set_flag_tags(r->e->sc, cp->ws_id, project, flag,
		    tags, nt, r->err, sizeof(r->err));
		s->refused = cr_refusal(s->rc);
		if (s->rc == 0)
			s->rc = split_get_flag(r->e->sc, cp->ws_id, project,
			    flag, cr_flag_cb, f, r->err, sizeof(r->err));
	}
	free(tags);
	return cr_fatal(s->rc) ? s->rc : 0;
}

/* The new flag's record (no definition) into the cycle's changeset. */
static int
cr_record(struct cr_run *r, size_t pi, const char *flag,
    const struct cr_flag *f)
{
	const struct cr_proj *cp = &r->proj[pi];
	struct view_context ctx;
	struct flag_view v;
	struct buf rec;
	int rc;

	ctx.project = r->e->cfg->projects[pi].name;
	ctx.environment = cp->env_name;
	ctx.ws_id = cp->ws_id;
	ctx.env_id = cp->env_id;
	ctx.flag_url = r->e->cfg->split_flag_url;
	view_init(&v);
	buf_init(&rec, 0);
	rc = view_from_split(&v, &ctx, f->id, flag, f->description,
	    (const char *const *)f->tags, f->ntags, NULL, r->err,
	    sizeof(r->err));
	if (rc == 0)
		rc = view_encode(&v, &rec);
	if (rc == 0)
		rc = changeset_add_flag(r->e->cs, ctx.project, flag, rec.data,
		    rec.len);
	buf_release(&rec);
	view_release(&v);
	return rc;
}

/*
 * Creates (or finds) one flag named by the issues g[0..n) and tags it.
 * Returns 0 with s saying what Split answered, or a fatal error.
 */
static int
cr_split(struct cr_run *r, size_t pi, const char *flag,
    const struct create_cand *g, size_t n, struct cr_flag *f,
    struct cr_said *s)
{
	const struct cr_proj *cp = &r->proj[pi];
	const char *project = r->e->cfg->projects[pi].name;
	char desc[FS_ISSUE_MAX + 64];
	const char **issues;
	size_t i;
	int rc;

	snprintf(desc, sizeof(desc), CREATE_DESC_PRE "%s" CREATE_DESC_POST,
	    g[0].issue);
	s->rc = split_create_flag(r->e->sc, cp->ws_id, project,
	    r->e->cfg->create_traffic_type, flag, desc, NULL, NULL, r->err,
	    sizeof(r->err));
	if (s->rc == EEXIST) {
		/* it exists: a person's, or ours from a cycle cut short */
		s->existed = true;
		s->rc = 0;
	}
	s->made = s->rc == 0;
	s->refused = cr_refusal(s->rc);
	if (s->rc == 0)
		s->rc = split_get_flag(r->e->sc, cp->ws_id, project, flag,
		    cr_flag_cb, f, r->err, sizeof(r->err));
	if (s->rc == FS_EPROTO && r->err[0] == '\0')
		snprintf(r->err, sizeof(r->err), "flag '%s' of project '%s': "
		    "Split's answer holds a field flagsync cannot store",
		    flag, project);
	if (cr_fatal(s->rc))
		return s->rc;
	if (s->rc != 0)
		return 0;
	if ((issues = calloc(n, sizeof(*issues))) == NULL)
		return ENOMEM;
	for (i = 0; i < n; i++)
		issues[i] = g[i].issue;
	rc = cr_tag(r, pi, flag, issues, n, f, s);
	free(issues);
	return rc;
}

/* --------------------------------------------------------- one flag */

static const char *
cr_str(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t
cr_int(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/* The last record's refusal of "project/flag", or NULL. */
static json_object *
cr_prev_find(const struct cr_run *r, const char *name)
{
	json_object *o;
	const char *f;
	size_t i, n;

	if (r->prev == NULL)
		return NULL;
	n = json_object_array_length(r->prev);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(r->prev, i);
		if ((f = cr_str(o, "flag")) != NULL && strcmp(f, name) == 0)
			return o;
	}
	return NULL;
}

/* A refusal into this cycle's record, and its row in `status`. */
static int
cr_refused_put(struct cr_run *r, const char *name, json_object *o)
{
	const char *issue = cr_str(o, "issue"), *err = cr_str(o, "error");
	const char *retry = cr_str(o, "retry");

	if (json_object_array_add(r->refused, json_object_get(o)) != 0) {
		json_object_put(o);
		return ENOMEM;
	}
	return skipped_add(&r->skipped, "flag", name, "%s: not created: %s; "
	    "next try after %s", issue ? issue : "?", err ? err : "?",
	    retry ? retry : "?");
}

/* A new refusal: tries one more than the last, its wait doubled. */
static int
cr_refused_new(struct cr_run *r, const char *name, const char *issue,
    json_object *prev)
{
	json_object *o;
	int64_t tries = cr_int(prev, "tries") + 1, retry;
	char tbuf[32];
	int rc;

	retry = r->e->now + create_backoff_ms((int)(tries < 64 ? tries : 64));
	view_format_time(retry, tbuf);
	/* kept in the cache and shown: a URL's userinfo never goes there */
	scrub_copy(r->err, sizeof(r->err), r->err);
	if ((o = json_object_new_object()) == NULL)
		return ENOMEM;
	if ((rc = jsonw_str(o, "flag", name)) == 0 &&
	    (rc = jsonw_str(o, "issue", issue)) == 0 &&
	    (rc = jsonw_str(o, "error", r->err)) == 0 &&
	    (rc = jsonw_put(o, "tries", json_object_new_int64(tries))) == 0 &&
	    (rc = jsonw_put(o, "retry_ms", json_object_new_int64(retry))) == 0)
		rc = jsonw_str(o, "retry", tbuf);
	if (rc == 0)
		rc = cr_refused_put(r, name, o);
	json_object_put(o);
	log_warnx("jira-field: flag %s named by %s not created: %s; next try "
	    "after %s", name, issue, r->err, tbuf);
	return rc;
}

/* Links the issues to the flag that now exists, and says so. */
static int
cr_done(struct cr_run *r, size_t pi, const char *flag,
    const struct create_cand *g, size_t n, const struct cr_flag *f,
    const struct cr_said *s)
{
	const char *project = r->e->cfg->projects[pi].name;
	size_t i;
	int rc;

	if ((rc = cr_record(r, pi, flag, f)) != 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++)
		rc = linkset_add(r->links, project, flag, g[i].issue);
	if (rc != 0)
		return rc;
	if (s->existed)
		log_info("flag %s/%s from %s already exists in Split; linked",
		    project, flag, g[0].issue);
	else
		log_info("created flag %s/%s from %s in Split", project, flag,
		    g[0].issue);
	return 0;
}

/* A flag that exists, its tag still to write: kept for the next cycle. */
static int
cr_pending_new(struct cr_run *r, size_t pi, const struct create_cand *g,
    size_t n)
{
	json_object *o, *issues, *v;
	char name[FS_PROJECT_MAX + FS_FLAG_MAX + 2];
	size_t i;
	int rc;

	snprintf(name, sizeof(name), "%s/%s", g[0].project, g[0].flag);
	if ((o = json_object_new_object()) == NULL)
		return ENOMEM;
	if ((rc = jsonw_str(o, "flag", name)) == 0 &&
	    (rc = jsonw_str(o, "project", r->e->cfg->projects[pi].name)) ==
	    0 && (rc = jsonw_str(o, "name", g[0].flag)) == 0)
		rc = jsonw_put(o, "issues", issues = json_object_new_array());
	for (i = 0; rc == 0 && i < n; i++) {
		if ((v = json_object_new_string(g[i].issue)) == NULL)
			rc = ENOMEM;
		else if (json_object_array_add(issues, v) != 0) {
			json_object_put(v);
			rc = ENOMEM;
		}
	}
	if (rc == 0 && json_object_array_add(r->pending, o) != 0)
		rc = ENOMEM;
	if (rc != 0)
		json_object_put(o);
	return rc;
}

/* The issue keys of a pending record, borrowed from it, in *out (the
 * array is the caller's to free); *n 0 when it names none.  0 or ENOMEM. */
static int
cr_pending_issues(json_object *o, const char ***out, size_t *n)
{
	json_object *a, *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, "issues", &a) ||
	    !json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) == 0)
		return 0;
	if ((*out = calloc(json_object_array_length(a), sizeof(**out))) ==
	    NULL)
		return ENOMEM;
	for (i = 0; i < json_object_array_length(a); i++) {
		v = json_object_array_get_idx(a, i);
		if (json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) > 0 &&
		    json_object_get_string_len(v) <= FS_ISSUE_MAX)
			(*out)[(*n)++] = json_object_get_string(v);
	}
	return 0;
}

/*
 * Completes the tag of a flag made in an earlier cycle whose tag write
 * failed (the flag is then listed, so the name is no candidate again).
 * Kept while Split does not answer; dropped once written, or when the
 * flag is gone or the write refused (logged).
 */
static int
cr_complete(struct cr_run *r, json_object *o)
{
	const char *project = cr_str(o, "project"), *flag = cr_str(o, "name");
	const struct config_project *p;
	struct cr_said s = { 0, false, false, false };
	struct cr_flag f;
	const char **issues;
	size_t pi, n;
	int rc;

	if (project == NULL || flag == NULL ||
	    (p = config_project_find(r->e->cfg, project)) == NULL)
		return 0;
	pi = (size_t)(p - r->e->cfg->projects);
	if (r->e->failed[pi] || r->outage || r->attempts >= CREATE_MAX)
		goto keep;
	if ((rc = cr_pending_issues(o, &issues, &n)) != 0 || n == 0) {
		free(issues);
		return rc;	/* an entry naming no issue is dropped */
	}
	r->attempts++;
	r->err[0] = '\0';
	memset(&f, 0, sizeof(f));
	if ((rc = cr_resolve(r, pi, &s)) == 0 && s.rc == 0 &&
	    (s.rc = split_get_flag(r->e->sc, r->proj[pi].ws_id, project, flag,
	    cr_flag_cb, &f, r->err, sizeof(r->err))) == 0)
		rc = cr_tag(r, pi, flag, issues, n, &f, &s);
	if (rc == 0 && cr_fatal(s.rc))
		rc = s.rc;
	cr_flag_release(&f);
	free(issues);
	if (rc != 0)
		return rc;
	if (s.rc == 0)
		log_info("tagged flag %s/%s in Split with the issues it was "
		    "created from", project, flag);
	else if (s.refused || s.rc == FS_ENOTFOUND)
		log_warnx("jira-field: flag %s/%s: the issue key tag is not "
		    "written: %s", project, flag, r->err);
	else {
		r->outage = true;
		goto keep;
	}
	return 0;
keep:
	if (json_object_array_add(r->pending, json_object_get(o)) != 0) {
		json_object_put(o);
		return ENOMEM;
	}
	return 0;
}

/* Whether cands name "project/flag": then the candidate's 409 does it. */
static bool
cr_named(const struct create_list *cands, json_object *o)
{
	const char *project = cr_str(o, "project"), *flag = cr_str(o, "name");
	size_t i;

	for (i = 0; project != NULL && flag != NULL && i < cands->n; i++)
		if (strcmp(cands->v[i].project, project) == 0 &&
		    strcmp(cands->v[i].flag, flag) == 0)
			return true;
	return false;
}

static int
cr_pending_run(struct cr_run *r, const struct create_list *cands)
{
	json_object *o;
	size_t i;
	int rc = 0;

	for (i = 0; r->prev_pending != NULL && rc == 0 &&
	    i < json_object_array_length(r->prev_pending); i++) {
		o = json_object_array_get_idx(r->prev_pending, i);
		if (!cr_named(cands, o))
			rc = cr_complete(r, o);
	}
	return rc;
}

/* One flag, named by the issues g[0..n), due to be created now. */
static int
cr_attempt(struct cr_run *r, size_t pi, const char *name,
    const struct create_cand *g, size_t n, json_object *prev)
{
	struct cr_said s = { 0, false, false, false };
	struct cr_own own;
	struct cr_flag f;
	bool *added;
	int rc;

	r->err[0] = '\0';
	if ((rc = cr_resolve(r, pi, &s)) != 0 || s.rc != 0)
		goto said;
	if ((added = calloc(n, sizeof(*added))) == NULL)
		return ENOMEM;
	own = (struct cr_own){ g[0].project, g[0].flag, g, n, added, false };
	/* recorded before Split sees the tag: never a tag of ours that
	 * split-tag would count as a person's */
	if ((rc = cache_write(r->e->c, cr_own_txn, &own)) != 0) {
		free(added);
		return rc;
	}
	memset(&f, 0, sizeof(f));
	rc = cr_split(r, pi, g[0].flag, g, n, &f, &s);
	if (rc == 0 && s.rc == 0)
		rc = cr_done(r, pi, g[0].flag, g, n, &f, &s);
	if (rc == 0 && s.refused && !s.existed) {
		/* not created, so never tagged: forget what we recorded */
		own.undo = true;
		rc = cache_write(r->e->c, cr_own_txn, &own);
	}
	cr_flag_release(&f);
	free(added);
	if (rc != 0)
		return rc;
said:
	if (s.rc == 0)
		return 0;
	if (s.refused)
		return cr_refused_new(r, name, g[0].issue, prev);
	/* an outage is not a refusal: this and the rest wait */
	log_warnx("jira-field: flag %s named by %s %s: %s; %s next cycle",
	    name, g[0].issue, s.made ? "made, but not tagged" :
	    "not created now", r->err[0] ? r->err : fs_strerror(s.rc),
	    s.made ? "the tag is written" : "it waits for the");
	r->outage = true;
	if (s.made)
		return cr_pending_new(r, pi, g, n);
	r->waiting++;
	return prev != NULL ? cr_refused_put(r, name, prev) : 0;
}

/* The flag named by g[0..n) (one project and flag, sorted issues). */
static int
cr_one(struct cr_run *r, const struct create_cand *g, size_t n)
{
	const struct config_project *p;
	json_object *prev;
	char name[FS_PROJECT_MAX + FS_FLAG_MAX + 2];
	size_t pi;

	if ((p = config_project_find(r->e->cfg, g[0].project)) == NULL)
		return 0;
	pi = (size_t)(p - r->e->cfg->projects);
	snprintf(name, sizeof(name), "%s/%s", g[0].project, g[0].flag);
	prev = cr_prev_find(r, name);
	/* refused before and not due yet: no request */
	if (prev != NULL && r->e->now < cr_int(prev, "retry_ms"))
		return cr_refused_put(r, name, prev);
	if (r->e->failed[pi] || r->outage || r->attempts >= CREATE_MAX) {
		r->waiting++;
		return prev != NULL ? cr_refused_put(r, name, prev) : 0;
	}
	r->attempts++;
	return cr_attempt(r, pi, name, g, n, prev);
}

static int
cr_cand_cmp(const void *a, const void *b)
{
	const struct create_cand *x = a, *y = b;
	int d;

	if ((d = strcmp(x->project, y->project)) != 0)
		return d;
	if ((d = strcmp(x->flag, y->flag)) != 0)
		return d;
	return strcmp(x->issue, y->issue);
}

/* Sorts cands by project, flag and issue, and drops repeats (an issue
 * may name a flag twice). */
static void
cr_sort_unique(struct create_list *cands)
{
	size_t i, n = 0;

	if (cands->n > 1)
		qsort(cands->v, cands->n, sizeof(*cands->v), cr_cand_cmp);
	for (i = 0; i < cands->n; i++) {
		if (n > 0 && cr_cand_cmp(&cands->v[n - 1], &cands->v[i]) == 0) {
			free(cands->v[i].project);
			free(cands->v[i].flag);
			free(cands->v[i].issue);
			continue;
		}
		cands->v[n++] = cands->v[i];
	}
	cands->n = n;
}

/* The last jira-field record's "create" member (a new reference), or
 * NULL. */
static int
cr_prev_load(struct cache *c, json_object **out)
{
	struct cache_txn *t;
	json_object *rec = NULL, *v;
	const char *js;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	if (cache_status_get(t, CREATE_SOURCE, &js, &len) == 0)
		rec = jsonw_parse(js, len);
	cache_read_end(t);
	if (rec != NULL && json_object_object_get_ex(rec, "create", &v) &&
	    json_object_is_type(v, json_type_object))
		*out = json_object_get(v);
	json_object_put(rec);
	return 0;
}

int
create_carry(struct cache *c, json_object *details)
{
	json_object *prev;
	int rc;

	if ((rc = cr_prev_load(c, &prev)) != 0 || prev == NULL)
		return rc;
	return jsonw_put(details, "create", prev);
}

/* "create" and the skipped rows into the status record's fields. */
static int
cr_details(struct cr_run *r, json_object *details)
{
	json_object *o;
	int rc = 0;

	if (r->waiting > 0)
		rc = skipped_add(&r->skipped, "create", NULL, "%zu flag%s named "
		    "in Jira wait to be created in the next cycle (at most %d "
		    "a cycle; a failed project or a Split outage waits too)",
		    r->waiting, r->waiting == 1 ? "" : "s", CREATE_MAX);
	if (rc == 0)
		rc = skipped_put(&r->skipped, details);
	if (rc != 0 || (r->waiting == 0 &&
	    json_object_array_length(r->refused) == 0 &&
	    json_object_array_length(r->pending) == 0))
		return rc;
	if ((o = json_object_new_object()) == NULL)
		return ENOMEM;
	if ((rc = jsonw_put(o, "refused", json_object_get(r->refused))) == 0)
		rc = jsonw_put(o, "waiting",
		    json_object_new_int64((int64_t)r->waiting));
	if (rc == 0 && json_object_array_length(r->pending) > 0)
		rc = jsonw_put(o, "pending", json_object_get(r->pending));
	if (rc == 0)
		return jsonw_put(details, "create", o);
	json_object_put(o);
	return rc;
}

static void
cr_release(struct cr_run *r)
{
	size_t i;

	for (i = 0; r->proj != NULL && i < r->e->cfg->nprojects; i++) {
		free(r->proj[i].ws_id);
		free(r->proj[i].env_id);
		free(r->proj[i].env_name);
	}
	free(r->proj);
	json_object_put(r->prev);
	json_object_put(r->refused);
	json_object_put(r->prev_pending);
	json_object_put(r->pending);
	skipped_release(&r->skipped);
}

int
create_run(const struct create_env *e, struct create_list *cands,
    struct linkset *links, json_object *details)
{
	struct cr_run r;
	json_object *prev = NULL, *v;
	size_t i, j;
	int rc;

	memset(&r, 0, sizeof(r));
	r.e = e;
	r.links = links;
	skipped_init(&r.skipped);
	if ((rc = cr_prev_load(e->c, &prev)) != 0)
		return rc;
	if (prev != NULL && json_object_object_get_ex(prev, "refused", &v) &&
	    json_object_is_type(v, json_type_array))
		r.prev = json_object_get(v);
	if (prev != NULL && json_object_object_get_ex(prev, "pending", &v) &&
	    json_object_is_type(v, json_type_array))
		r.prev_pending = json_object_get(v);
	json_object_put(prev);
	r.refused = json_object_new_array();
	r.pending = json_object_new_array();
	r.proj = calloc(e->cfg->nprojects + 1, sizeof(*r.proj));
	if (r.refused == NULL || r.pending == NULL || r.proj == NULL) {
		rc = ENOMEM;
		goto run_release;
	}
	cr_sort_unique(cands);
	/* one flag at a time, with every issue naming it */
	for (i = 0; rc == 0 && i < cands->n; i = j) {
		for (j = i + 1; j < cands->n &&
		    strcmp(cands->v[j].project, cands->v[i].project) == 0 &&
		    strcmp(cands->v[j].flag, cands->v[i].flag) == 0; j++)
			;
		rc = cr_one(&r, &cands->v[i], j - i);
	}
	if (rc == 0)
		rc = cr_pending_run(&r, cands);
	if (rc == 0)
		rc = cr_details(&r, details);
run_release:
	cr_release(&r);
	return rc;
}
