/* findings.c - flag-hygiene findings from the cache (flagsync(8)). */
#include "autoconf.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "cache.h"
#include "commit.h"
#include "error.h"
#include "findings.h"
#include "issuestatus.h"
#include "jsonw.h"
#include "linkset.h"
#include "log.h"
#include "view.h"

#define FINDING_NOISSUE	"-"	/* the key part of a finding without issue */
#define FINDING_STOP	(-2)	/* a walk callback ends the walk early */
#define DAY_MS		(86400 * (int64_t)1000)

static const char *const finding_names[FINDING_COUNT] = {
	[FINDING_DONE_BUT_PARTIAL] = "done-but-partial",
	[FINDING_FULLY_ROLLED_OUT] = "fully-rolled-out",
	[FINDING_KILLED_LONG] = "killed-long",
	[FINDING_UNLINKED] = "unlinked",
	[FINDING_ISSUE_MISSING] = "issue-missing",
	[FINDING_FLAG_GONE] = "flag-gone",
};

const char *
finding_type_name(enum finding_type t)
{
	if ((unsigned)t >= FINDING_COUNT)
		return NULL;
	return finding_names[t];
}

static int
finding_type_parse(const char *s)
{
	int t;

	for (t = 0; t < FINDING_COUNT; t++)
		if (strcmp(finding_names[t], s) == 0)
			return t;
	return -1;
}

bool
finding_glob_known(const char *glob)
{
	int t;

	for (t = 0; t < FINDING_COUNT; t++)
		if (fnmatch(glob, finding_names[t], 0) == 0)
			return true;
	return false;
}

bool
finding_ignored(const char *ignore, const char *type)
{
	char glob[64];
	size_t len;

	for (; ignore != NULL && *ignore; ignore += len) {
		ignore += strspn(ignore, ", \t");
		if ((len = strcspn(ignore, ", \t")) == 0)
			break;
		if (len >= sizeof(glob))
			continue;	/* config.c refuses these */
		memcpy(glob, ignore, len);
		glob[len] = '\0';
		if (fnmatch(glob, type, 0) == 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ records */

/* The timed states a flag can be in; none has no "s" record. */
enum flag_class {
	CLASS_NONE,
	CLASS_FULL,	/* fully rolled out */
	CLASS_KILLED
};

/* "s" PROJECT FLAG: its class, since when, and Split's save time, which
 * moves when a fully rolled out flag is saved again. */
#define STATE_LEN	17

struct flag_state {
	uint8_t	 cls;
	int64_t	 since;
	int64_t	 last_updated;
};

static void
state_encode(const struct flag_state *s, unsigned char out[STATE_LEN])
{
	out[0] = s->cls;
	memcpy(out + 1, &s->since, 8);
	memcpy(out + 9, &s->last_updated, 8);
}

static int
state_decode(struct flag_state *s, const void *val, size_t len)
{
	const unsigned char *p = val;

	if (len != STATE_LEN || p[0] == CLASS_NONE || p[0] > CLASS_KILLED)
		return FS_EDAMAGED;
	s->cls = p[0];
	memcpy(&s->since, p + 1, 8);
	memcpy(&s->last_updated, p + 9, 8);
	return 0;
}

static int
rec_decode(struct finding_rec *r, const void *val, size_t len)
{
	if (len != sizeof(*r))
		return FS_EDAMAGED;
	memcpy(r, val, sizeof(*r));
	return 0;
}

/* "m": what the last evaluation saw.  Fixed part, then the ignore list. */
struct eval_meta {
	uint64_t last_seq;
	int64_t	 next_due;
	int64_t	 done_grace;
	int64_t	 stale_after;
};

static int
meta_encode(const struct eval_meta *m, const char *ignore, struct buf *out)
{
	int rc;

	buf_reset(out);
	if ((rc = buf_append(out, m, sizeof(*m))) != 0)
		return rc;
	return buf_puts(out, ignore ? ignore : "");
}

/* ------------------------------------------------------------ classes */

/* One treatment serves 100% of the default rule. */
static bool
view_one_treatment(const struct flag_view *v)
{
	size_t i, full = 0;

	for (i = 0; i < v->ndefault_rule; i++) {
		if (v->default_rule[i].size == 100)
			full++;
		else if (v->default_rule[i].size != 0)
			return false;
	}
	return full == 1;
}

/* Active, traffic allocation 100, no rules, one treatment 100%. */
static bool
view_fully_rolled_out(const struct flag_view *v)
{
	return view_is_active(v) && v->traffic_allocation == 100 &&
	    v->rules == 0 && view_one_treatment(v);
}

/* The treatment a fully rolled out flag serves. */
static const char *
view_full_treatment(const struct flag_view *v)
{
	size_t i;

	for (i = 0; v != NULL && i < v->ndefault_rule; i++)
		if (v->default_rule[i].size == 100)
			return v->default_rule[i].treatment;
	return "one treatment";
}

static enum flag_class
view_class(const struct flag_view *v)
{
	if (v->defined && v->killed)
		return CLASS_KILLED;
	if (view_fully_rolled_out(v))
		return CLASS_FULL;
	return CLASS_NONE;
}

/* ------------------------------------------------------------ evaluation */

/* A finding that holds now. */
struct want {
	enum finding_type type;
	char	*project;
	char	*flag;
	char	*issue;		/* NULL: none */
	int64_t	 since;
};

/* A flag in a timed state with no "s" record yet: its since comes from
 * the event log. */
struct miss {
	char	*key;		/* PROJECT\0FLAG, for bsearch */
	size_t	 keylen;
	uint8_t	 cls;
	int64_t	 last_updated;
	int64_t	 since;		/* 0 until found */
};

struct eval {
	struct cache_txn *t;
	const struct findings_conf *conf;
	int64_t	 now;
	int64_t	 next_due;
	struct want *w;
	size_t	 nw, capw;
	struct miss *m;
	size_t	 nm, capm, unresolved;
	struct want *open;	/* the stored open findings, key order */
	size_t	 nopen, capopen;
	const struct flag_view *view;	/* the flag being walked */
	size_t	 nlinks;		/* ... and its links so far */
	struct buf scratch;
};

static void
want_free(struct want *w)
{
	free(w->project);
	free(w->flag);
	free(w->issue);
}

static void
eval_release(struct eval *e)
{
	size_t i;

	for (i = 0; i < e->nw; i++)
		want_free(&e->w[i]);
	for (i = 0; i < e->nopen; i++)
		want_free(&e->open[i]);
	for (i = 0; i < e->nm; i++)
		free(e->m[i].key);
	free(e->w);
	free(e->open);
	free(e->m);
	buf_release(&e->scratch);
}

static int
want_set(struct want *w, enum finding_type type, const char *project,
    const char *flag, const char *issue, int64_t since)
{
	memset(w, 0, sizeof(*w));
	w->type = type;
	w->since = since;
	if ((w->project = strdup(project)) == NULL ||
	    (w->flag = strdup(flag)) == NULL ||
	    (issue != NULL && (w->issue = strdup(issue)) == NULL)) {
		want_free(w);
		return ENOMEM;
	}
	return 0;
}

/* Adds a finding that holds, unless [findings] ignore names its type. */
static int
eval_want(struct eval *e, enum finding_type type, const char *project,
    const char *flag, const char *issue, int64_t since)
{
	int rc;

	if (finding_ignored(e->conf->ignore, finding_names[type]))
		return 0;
	if ((rc = ARRAY_GROW(e->w, e->capw, e->nw + 1)) != 0)
		return rc;
	if ((rc = want_set(&e->w[e->nw], type, project, flag, issue,
	    since)) != 0)
		return rc;
	e->nw++;
	return 0;
}

/* A timed finding opens at since + after; until then it is due. */
static int
eval_timed_issue(struct eval *e, enum finding_type type, const char *project,
    const char *flag, const char *issue, int64_t since, int64_t after)
{
	int64_t due = since + after * 1000;

	if (due <= e->now)
		return eval_want(e, type, project, flag, issue, since);
	if (due < e->next_due)
		e->next_due = due;
	return 0;
}

static int
eval_timed(struct eval *e, enum finding_type type, const char *project,
    const char *flag, int64_t since, int64_t after)
{
	return eval_timed_issue(e, type, project, flag, NULL, since, after);
}

static int
eval_state_timed(struct eval *e, const char *project, const char *flag,
    const struct flag_state *st)
{
	enum finding_type type = st->cls == CLASS_FULL ?
	    FINDING_FULLY_ROLLED_OUT : FINDING_KILLED_LONG;

	return eval_timed(e, type, project, flag, st->since,
	    e->conf->stale_after);
}

static int
eval_miss(struct eval *e, const char *project, const char *flag,
    const struct flag_view *v, enum flag_class cls)
{
	struct miss *m;
	size_t pl = strlen(project), fl = strlen(flag);
	int rc;

	if ((rc = ARRAY_GROW(e->m, e->capm, e->nm + 1)) != 0)
		return rc;
	m = &e->m[e->nm];
	memset(m, 0, sizeof(*m));
	if ((m->key = malloc(pl + fl + 2)) == NULL)
		return ENOMEM;
	memcpy(m->key, project, pl + 1);
	memcpy(m->key + pl + 1, flag, fl + 1);
	m->keylen = pl + fl + 1;
	m->cls = (uint8_t)cls;
	m->last_updated = v->last_updated;
	e->nm++;
	return 0;
}

/*
 * The flag's timed state: kept while it holds (a fully rolled out flag
 * saved again starts over), started at this cycle's time when the flag
 * moved into it, looked up in the event log when findings are new.
 */
static int
eval_state(struct eval *e, const char *project, const char *flag,
    const struct flag_view *v)
{
	const char *key[3] = { "s", project, flag };
	enum flag_class cls = view_class(v);
	unsigned char enc[STATE_LEN];
	struct flag_state st;
	const void *val;
	size_t len;
	int rc;

	rc = cache_finding_get(e->t, key, 3, &val, &len);
	if (rc != 0 && rc != FS_ENOTFOUND)
		return rc;
	if (cls == CLASS_NONE)
		return rc == 0 ? cache_finding_del(e->t, key, 3) : 0;
	if (rc == FS_ENOTFOUND)
		return eval_miss(e, project, flag, v, cls);
	if ((rc = state_decode(&st, val, len)) != 0)
		return rc;
	if (st.cls != cls || (cls == CLASS_FULL &&
	    st.last_updated != v->last_updated)) {
		st.cls = (uint8_t)cls;
		st.since = e->now;
		st.last_updated = v->last_updated;
		state_encode(&st, enc);
		if ((rc = cache_finding_put(e->t, key, 3, enc,
		    sizeof(enc))) != 0)
			return rc;
	}
	return eval_state_timed(e, project, flag, &st);
}

/*
 * One link of the flag being walked: the findings its issue's Jira
 * status makes.  An issue never read (no [jira], or not yet) makes none;
 * a failed read keeps the last status, so an outage changes nothing.
 */
static int
link_cb(void *arg, const char *project, const char *flag, const char *issue,
    uint32_t mask)
{
	struct eval *e = arg;
	struct issue_status st;
	int rc;

	if (mask == 0)
		return 0;
	e->nlinks++;
	rc = issuestatus_get(e->t, issue, &st);
	if (rc == FS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (st.missing)
		return eval_want(e, FINDING_ISSUE_MISSING, project, flag, issue,
		    st.missing_since ? st.missing_since : e->now);
	if (!issuestatus_is_done(&st) || !view_is_active(e->view) ||
	    view_fully_rolled_out(e->view))
		return 0;
	return eval_timed_issue(e, FINDING_DONE_BUT_PARTIAL, project, flag,
	    issue, st.category_since ? st.category_since : e->now,
	    e->conf->done_grace);
}

static int
flag_cb(void *arg, const char *project, const char *flag, const void *rec,
    size_t len)
{
	struct eval *e = arg;
	struct flag_view v;
	int rc;

	view_init(&v);
	if ((rc = view_decode(&v, rec, len)) != 0)
		goto view_release;
	if ((rc = eval_state(e, project, flag, &v)) != 0)
		goto view_release;
	e->view = &v;
	e->nlinks = 0;
	if ((rc = cache_link_foreach_flag(e->t, project, flag, link_cb,
	    e)) != 0)
		goto view_release;
	if (view_is_active(&v) && e->nlinks == 0)
		rc = eval_want(e, FINDING_UNLINKED, project, flag, NULL,
		    e->now);
view_release:
	view_release(&v);
	return rc;
}

/* Whether (project, flag) has a definition in the cache. */
static int
flag_defined(struct cache_txn *t, const char *project, const char *flag,
    bool *defined)
{
	struct flag_view v;
	const void *rec;
	size_t len;
	int rc;

	*defined = false;
	rc = cache_flag_get(t, project, flag, &rec, &len);
	if (rc == FS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	view_init(&v);
	if ((rc = view_decode(&v, rec, len)) == 0)
		*defined = v.defined;
	view_release(&v);
	return rc;
}

/* flag-gone: a link an admin made (file, local) to a deleted flag. */
static int
link_gone_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	struct eval *e = arg;
	bool defined;
	int rc;

	if (!(mask & (LINK_BIT(LINK_SRC_FILE) | LINK_BIT(LINK_SRC_LOCAL))))
		return 0;
	if ((rc = flag_defined(e->t, project, flag, &defined)) != 0)
		return rc;
	if (defined)
		return 0;
	return eval_want(e, FINDING_FLAG_GONE, project, flag, issue, e->now);
}

/* An "s" record whose flag left the cache goes with it. */
static int
state_gone_cb(void *arg, const char *const *p, const void *val, size_t len)
{
	struct eval *e = arg;
	const void *rec;
	size_t rlen;
	int rc;

	(void)val;
	(void)len;
	rc = cache_flag_get(e->t, p[1], p[2], &rec, &rlen);
	if (rc == FS_ENOTFOUND)
		return cache_finding_del(e->t, p, 3);
	return rc;
}

static int
eval_states_gone(struct eval *e)
{
	const char *prefix[1] = { "s" };

	return cache_finding_foreach(e->t, prefix, 1, 3, state_gone_cb, e);
}

/* ------------------------------------------------------------ history */

static int
miss_cmp(const void *a, const void *b)
{
	const struct miss *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n + 1);

	return c;
}

struct history {
	struct eval *e;
	struct buf key;
};

/* Whether an event of type put a flag of class cls in that state. */
static bool
history_moves(uint8_t cls, const char *type)
{
	if (strncmp(type, "flag.", 5) != 0)
		return false;
	if (cls == CLASS_FULL)
		return true;	/* any change of a rolled out flag */
	return strcmp(type, "flag.killed") == 0 ||
	    strcmp(type, "flag.created") == 0;
}

static int
history_cb(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct history *h = arg;
	struct eval *e = h->e;
	json_object *o, *ty, *pr, *fl;
	struct miss probe, *m;
	int64_t when;
	int rc = 0;

	if (memmem(json, len, "\"type\":\"flag.", 13) == NULL)
		return 0;
	if ((o = jsonw_parse(json, len)) == NULL)
		return 0;	/* not ours to judge: query shows it */
	if (!json_object_object_get_ex(o, "type", &ty) ||
	    !json_object_object_get_ex(o, "project", &pr) ||
	    !json_object_object_get_ex(o, "flag", &fl) ||
	    !json_object_is_type(pr, json_type_string) ||
	    !json_object_is_type(fl, json_type_string))
		goto put;
	buf_reset(&h->key);
	if ((rc = buf_puts(&h->key, json_object_get_string(pr))) != 0 ||
	    (rc = buf_append(&h->key, "", 1)) != 0 ||
	    (rc = buf_puts(&h->key, json_object_get_string(fl))) != 0)
		goto put;
	probe.key = (char *)buf_str(&h->key);
	probe.keylen = h->key.len;
	m = bsearch(&probe, e->m, e->nm, sizeof(*m), miss_cmp);
	if (m == NULL || m->since != 0 ||
	    !history_moves(m->cls, json_object_get_string(ty)))
		goto put;
	if (cache_event_time(e->t, seq, &when) != 0)
		goto put;
	m->since = when > 0 ? when : 1;
	if (--e->unresolved == 0)
		rc = FINDING_STOP;
put:
	json_object_put(o);
	return rc;
}

/*
 * Flags found in a timed state with no record of it (findings were just
 * turned on): the newest event that put each there, in one walk of the
 * event log from the newest; a flag whose event was pruned counts from
 * its last save in Split, the latest time it can have got there.
 */
static int
eval_history(struct eval *e)
{
	struct history h;
	unsigned char enc[STATE_LEN];
	struct flag_state st;
	const char *key[3];
	struct miss *m;
	size_t i;
	int rc = 0;

	if (e->nm == 0)
		return 0;
	qsort(e->m, e->nm, sizeof(*e->m), miss_cmp);
	e->unresolved = e->nm;
	h.e = e;
	buf_init(&h.key, 0);
	rc = cache_event_foreach_reverse(e->t, history_cb, &h);
	buf_release(&h.key);
	if (rc != 0 && rc != FINDING_STOP)
		return rc;
	for (i = 0, rc = 0; i < e->nm && rc == 0; i++) {
		m = &e->m[i];
		key[0] = "s";
		key[1] = m->key;
		key[2] = m->key + strlen(m->key) + 1;

		st.cls = m->cls;
		st.since = m->since ? m->since :
		    (m->last_updated > 0 ? m->last_updated : e->now);
		st.last_updated = m->last_updated;
		state_encode(&st, enc);
		if ((rc = cache_finding_put(e->t, key, 3, enc,
		    sizeof(enc))) == 0)
			rc = eval_state_timed(e, key[1], key[2], &st);
	}
	return rc;
}

/* ------------------------------------------------------------ compare */

static int
want_cmp(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	int c;

	if ((c = strcmp(finding_names[x->type], finding_names[y->type])) != 0)
		return c;
	if ((c = strcmp(x->project, y->project)) != 0)
		return c;
	if ((c = strcmp(x->flag, y->flag)) != 0)
		return c;
	return strcmp(x->issue ? x->issue : FINDING_NOISSUE,
	    y->issue ? y->issue : FINDING_NOISSUE);
}

static int
open_cb(void *arg, const char *const *p, const void *val, size_t len)
{
	struct eval *e = arg;
	struct finding_rec r;
	int type, rc;

	if ((type = finding_type_parse(p[1])) < 0 ||
	    (rc = rec_decode(&r, val, len)) != 0)
		return FS_EDAMAGED;
	if ((rc = ARRAY_GROW(e->open, e->capopen, e->nopen + 1)) != 0)
		return rc;
	if ((rc = want_set(&e->open[e->nopen], (enum finding_type)type, p[2],
	    p[3], strcmp(p[4], FINDING_NOISSUE) ? p[4] : NULL,
	    r.since)) != 0)
		return rc;
	e->nopen++;
	return 0;
}

/* A few words on the finding, for outputs that speak to people. */
static int
finding_words(const struct want *w, const struct flag_view *v, bool open,
    int64_t now, struct buf *out)
{
	long days = (long)((now - w->since) / DAY_MS);
	int rc;

	buf_reset(out);
	if (!open) {
		if (v == NULL || !v->defined)
			return buf_printf(out, "%s is deleted", w->flag);
		if (v->killed)
			return buf_printf(out, "%s is killed", w->flag);
		if ((rc = buf_printf(out, "%s now ", w->flag)) != 0)
			return rc;
		return view_rollout_words(v, out);
	}
	switch (w->type) {
	case FINDING_FULLY_ROLLED_OUT:
		return buf_printf(out, "%s serves %s to 100%% for %ld days: "
		    "remove it from the code", w->flag, view_full_treatment(v),
		    days);
	case FINDING_KILLED_LONG:
		return buf_printf(out, "%s killed for %ld days", w->flag,
		    days);
	case FINDING_UNLINKED:
		return buf_printf(out, "%s is active and linked to no issue",
		    w->flag);
	case FINDING_FLAG_GONE:
		return buf_printf(out, "%s still links %s, which is deleted",
		    w->issue, w->flag);
	case FINDING_ISSUE_MISSING:
		return buf_printf(out, "%s does not exist or cannot be seen "
		    "in Jira", w->issue);
	default:
		if ((rc = buf_printf(out, "%s Done %ld days, %s still ",
		    w->issue, days, w->flag)) != 0)
			return rc;
		return view_rollout_words(v, out);
	}
}

static int
eval_emit(struct eval *e, const struct want *w, bool open,
    findings_emit_fn emit, void *arg)
{
	struct flag_view v;
	struct event ev;
	const void *rec;
	char **issues = NULL;
	size_t len, nissues = 0;
	bool have = false;
	int rc;

	view_init(&v);
	rc = cache_flag_get(e->t, w->project, w->flag, &rec, &len);
	if (rc == 0 && (rc = view_decode(&v, rec, len)) == 0)
		have = true;
	else if (rc != FS_ENOTFOUND)
		goto view_release;
	if ((rc = commit_flag_issues(e->t, w->project, w->flag, &issues,
	    &nissues)) != 0 ||
	    (rc = finding_words(w, have ? &v : NULL, open, e->now,
	    &e->scratch)) != 0)
		goto issues_free;
	memset(&ev, 0, sizeof(ev));
	ev.type = open ? EV_FINDING_OPENED : EV_FINDING_CLOSED;
	ev.finding = finding_names[w->type];
	ev.project = w->project;
	ev.flag = w->flag;
	ev.environment = have ? v.environment : NULL;
	ev.issue = w->issue;
	ev.since = w->since;
	ev.detail = buf_str(&e->scratch);
	ev.after = have ? &v : NULL;
	ev.issues = (const char *const *)issues;
	ev.nissues = nissues;
	rc = emit(arg, &ev);
issues_free:
	commit_free_strv(issues);
view_release:
	view_release(&v);
	return rc;
}

static int
eval_store(struct eval *e, const struct want *w, bool open)
{
	const char *key[5] = { "o", finding_names[w->type],
	    w->project, w->flag, w->issue ? w->issue : FINDING_NOISSUE };
	struct finding_rec r;
	const void *val;
	size_t len;
	int rc;

	memset(&r, 0, sizeof(r));
	r.since = w->since;
	r.opened = e->now;
	if (!open) {
		/* the "o" record knows when it was opened */
		if ((rc = cache_finding_get(e->t, key, 5, &val, &len)) != 0 ||
		    (rc = rec_decode(&r, val, len)) != 0)
			return rc;
		r.closed = e->now;
		if ((rc = cache_finding_del(e->t, key, 5)) != 0)
			return rc;
		key[0] = "c";
		return cache_finding_put(e->t, key, 5, &r, sizeof(r));
	}
	if ((rc = cache_finding_put(e->t, key, 5, &r, sizeof(r))) != 0)
		return rc;
	key[0] = "c";
	rc = cache_finding_del(e->t, key, 5);
	return rc == FS_ENOTFOUND ? 0 : rc;
}

static int
eval_change(struct eval *e, const struct want *w, bool open,
    findings_emit_fn emit, void *arg)
{
	int rc;

	if ((rc = eval_emit(e, w, open, emit, arg)) != 0)
		return rc;
	return eval_store(e, w, open);
}

/* Opens what holds and is not open, closes what is open and no longer
 * holds; both lists are in key order. */
static int
eval_compare(struct eval *e, findings_emit_fn emit, void *arg)
{
	const char *prefix[1] = { "o" };
	size_t i = 0, j = 0;
	int c, rc;

	if ((rc = cache_finding_foreach(e->t, prefix, 1, 5, open_cb, e)) != 0)
		return rc;
	if (e->nw > 1)	/* qsort() takes no NULL, even for none */
		qsort(e->w, e->nw, sizeof(*e->w), want_cmp);
	while (i < e->nw || j < e->nopen) {
		if (i == e->nw)
			c = 1;
		else if (j == e->nopen)
			c = -1;
		else
			c = want_cmp(&e->w[i], &e->open[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		if (c < 0)
			rc = eval_change(e, &e->w[i++], true, emit, arg);
		else
			rc = eval_change(e, &e->open[j++], false, emit, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ entry */

/* Whether the last evaluation saw this very state and nothing is due. */
static int
eval_unchanged(struct eval *e, uint64_t seq, bool *same)
{
	const char *key[1] = { "m" };
	struct eval_meta m;
	const void *val;
	size_t len;
	int rc;

	*same = false;
	rc = cache_finding_get(e->t, key, 1, &val, &len);
	if (rc == FS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (len < sizeof(m))
		return 0;
	memcpy(&m, val, sizeof(m));
	*same = m.last_seq == seq && e->now < m.next_due &&
	    m.done_grace == e->conf->done_grace &&
	    m.stale_after == e->conf->stale_after &&
	    len - sizeof(m) == strlen(e->conf->ignore ? e->conf->ignore : "") &&
	    memcmp((const char *)val + sizeof(m), e->conf->ignore ?
	    e->conf->ignore : "", len - sizeof(m)) == 0;
	return 0;
}

static int
eval_meta_put(struct eval *e)
{
	const char *key[1] = { "m" };
	struct eval_meta m;
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = cache_event_last(e->t, &m.last_seq)) != 0)
		return rc;
	m.next_due = e->next_due;
	m.done_grace = e->conf->done_grace;
	m.stale_after = e->conf->stale_after;
	if ((rc = meta_encode(&m, e->conf->ignore, &e->scratch)) != 0)
		return rc;
	return cache_finding_put(e->t, key, 1, e->scratch.data,
	    e->scratch.len);
}

/* This thread's CPU time in µs: what an evaluation costs (debug log). */
static int64_t
cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
findings_eval(struct cache_txn *t, const struct findings_conf *conf,
    int64_t now, bool changed, findings_emit_fn emit, void *arg)
{
	struct eval e;
	uint64_t seq;
	int64_t t0 = cpu_us();
	bool same;
	int rc;

	memset(&e, 0, sizeof(e));
	e.t = t;
	e.conf = conf;
	e.now = now;
	e.next_due = INT64_MAX;
	buf_init(&e.scratch, 0);
	if ((rc = cache_event_last(t, &seq)) != 0 ||
	    (rc = eval_unchanged(&e, seq, &same)) != 0)
		goto eval_release;
	if (same && !changed) {
		log_debug("findings: nothing changed or fell due: %.2f ms CPU",
		    (double)(cpu_us() - t0) / 1000);
		goto eval_release;
	}
	if ((rc = cache_flag_foreach(t, NULL, flag_cb, &e)) != 0 ||
	    (rc = eval_states_gone(&e)) != 0 ||
	    (rc = eval_history(&e)) != 0 ||
	    (rc = cache_link_foreach(t, NULL, link_gone_cb, &e)) != 0 ||
	    (rc = eval_compare(&e, emit, arg)) != 0)
		goto eval_release;
	if ((rc = eval_meta_put(&e)) == 0)
		log_debug("findings: evaluated, %zu hold, %zu were open: "
		    "%.1f ms CPU", e.nw, e.nopen,
		    (double)(cpu_us() - t0) / 1000);
eval_release:
	eval_release(&e);
	return rc;
}

/* ------------------------------------------------------------ queries */

struct walk_q {
	findings_cb cb;
	void	*arg;
	bool	 open;
};

static int
query_cb(void *arg, const char *const *p, const void *val, size_t len)
{
	struct walk_q *q = arg;
	struct finding f;
	int type, rc;

	if ((type = finding_type_parse(p[1])) < 0 ||
	    (rc = rec_decode(&f.rec, val, len)) != 0)
		return FS_EDAMAGED;
	f.type = (enum finding_type)type;
	f.project = p[2];
	f.flag = p[3];
	f.issue = strcmp(p[4], FINDING_NOISSUE) ? p[4] : NULL;
	f.open = q->open;
	return q->cb(q->arg, &f);
}

int
findings_foreach(struct cache_txn *t, bool open, findings_cb cb, void *arg)
{
	const char *prefix[1] = { open ? "o" : "c" };
	struct walk_q q = { cb, arg, open };

	return cache_finding_foreach(t, prefix, 1, 5, query_cb, &q);
}

int
findings_foreach_flag(struct cache_txn *t, const char *project,
    const char *flag, findings_cb cb, void *arg)
{
	const char *prefix[4] = { "o", NULL, project, flag };
	struct walk_q q = { cb, arg, true };
	int type, rc = 0;

	for (type = 0; type < FINDING_COUNT && rc == 0; type++) {
		prefix[1] = finding_names[type];
		rc = cache_finding_foreach(t, prefix, 4, 5, query_cb, &q);
	}
	return rc;
}
