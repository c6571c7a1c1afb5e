/* commit.c - one cycle's state and events in one write transaction. */
#include "autoconf.h"

#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <lmdb.h>

#include "array.h"
#include "buf.h"
#include "commit.h"
#include "diff.h"
#include "error.h"
#include "event.h"
#include "findings.h"
#include "jsonw.h"
#include "log.h"
#include "skipped.h"
#include "maxlen.h"
#include "view.h"

_Static_assert(EV_COUNT <= 16, "commit_result.counts is too small");

/* Less free space than this under the cache reads as a full disk. */
#define COMMIT_FULL_BYTES	(4u * 1024 * 1024)

/* ------------------------------------------------------------ changeset */

/* Room for one more element of cs->arr; 0, ENOMEM or EOVERFLOW. */
#define CS_GROW(cs, arr, n, cap) \
	ARRAY_GROW((cs)->arr, (cs)->cap, (cs)->n + 1)

void
changeset_init(struct changeset *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->spill_fd = -1;
	buf_init(&cs->mem, 0);
	buf_init(&cs->wbuf, 0);
}

int
changeset_spill(struct changeset *cs, const char *dir)
{
	char path[4096];
	int fd;

	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) == -1) {
		/* filesystems without O_TMPFILE */
		snprintf(path, sizeof(path), "%s/changeset.XXXXXX", dir);
		if ((fd = mkostemp(path, O_CLOEXEC)) == -1)
			return errno;
		unlink(path);
	}
	cs->spill_fd = fd;
	return 0;
}

int
changeset_record(const struct changeset *cs, const struct cs_flag *f,
    struct buf *scratch, const void **rec)
{
	ssize_t n;
	int rc;

	if (cs->spill_fd == -1) {
		*rec = cs->mem.data + f->off;
		return 0;
	}
	if (f->off >= cs->spill_written) {
		*rec = cs->wbuf.data + (f->off - cs->spill_written);
		return 0;
	}
	if ((rc = buf_resize(scratch, f->len)) != 0)
		return rc;
	n = pread(cs->spill_fd, scratch->data, f->len, f->off);
	if (n != (ssize_t)f->len)
		return n == -1 ? errno : EIO;
	*rec = scratch->data;
	return 0;
}

/* A window of the spill file, read COMMIT_SPILL_BUF at a time: the commit
 * reads the records in the order they were written. */
struct cs_reader {
	struct buf win;
	int64_t	 off;		/* of win's first byte in the file */
};

static int
changeset_read(const struct changeset *cs, const struct cs_flag *f,
    struct cs_reader *r, const void **rec)
{
	size_t want;
	ssize_t n;
	int rc;

	if (cs->spill_fd == -1 || f->off >= cs->spill_written)
		return changeset_record(cs, f, &r->win, rec);
	if (f->off >= r->off && f->off + (int64_t)f->len <=
	    r->off + (int64_t)r->win.len) {
		*rec = r->win.data + (f->off - r->off);
		return 0;
	}
	want = f->len > COMMIT_SPILL_BUF ? f->len : COMMIT_SPILL_BUF;
	if ((int64_t)want > cs->spill_written - f->off)
		want = (size_t)(cs->spill_written - f->off);
	if ((rc = buf_resize(&r->win, want)) != 0)
		return rc;
	r->off = f->off;
	n = pread(cs->spill_fd, r->win.data, want, f->off);
	if (n < (ssize_t)f->len) {
		buf_reset(&r->win);
		return n == -1 ? errno : EIO;
	}
	r->win.len = (size_t)n;
	*rec = r->win.data;
	return 0;
}

int
changeset_flush(struct changeset *cs)
{
	ssize_t n;

	if (cs->spill_fd == -1 || cs->wbuf.len == 0)
		return 0;
	n = pwrite(cs->spill_fd, cs->wbuf.data, cs->wbuf.len,
	    cs->spill_written);
	if (n != (ssize_t)cs->wbuf.len)
		return n == -1 ? errno : EIO;
	cs->spill_written += (int64_t)n;
	buf_reset(&cs->wbuf);
	return 0;
}

static int
changeset_store(struct changeset *cs, const void *rec, size_t len,
    int64_t *off)
{
	int rc;

	if (cs->spill_fd == -1) {
		*off = (int64_t)cs->mem.len;
		return buf_append(&cs->mem, rec, len);
	}
	if (cs->wbuf.len + len > COMMIT_SPILL_BUF &&
	    (rc = changeset_flush(cs)) != 0)
		return rc;
	if ((rc = buf_append(&cs->wbuf, rec, len)) != 0)
		return rc;
	*off = cs->spill_len;
	cs->spill_len += (int64_t)len;
	return 0;
}

void
changeset_mark(const struct changeset *cs, struct cs_mark *m)
{
	m->nflags = cs->nflags;
	m->nlinks = cs->nlinks;
	m->nedits = cs->nedits;
	m->nstatus = cs->nstatus;
	m->nenvs = cs->nenvs;
	m->nistatus = cs->nistatus;
	m->spill_len = cs->spill_fd == -1 ? (int64_t)cs->mem.len :
	    cs->spill_len;
}

void
changeset_release(struct changeset *cs)
{
	struct cs_mark zero;

	memset(&zero, 0, sizeof(zero));
	changeset_rollback(cs, &zero);
	buf_release(&cs->mem);
	buf_release(&cs->wbuf);
	if (cs->spill_fd != -1)
		close(cs->spill_fd);
	free(cs->flags);
	free(cs->links);
	free(cs->edits);
	free(cs->status);
	free(cs->envs);
	free(cs->istatus);
	changeset_init(cs);
}

/* strdup that keeps NULL as NULL; *ok cleared on allocation failure. */
static char *
dup_or_null(const char *s, int *ok)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		*ok = 0;
	return p;
}

void
changeset_rollback(struct changeset *cs, const struct cs_mark *m)
{
	size_t i;

	for (i = m->nflags; i < cs->nflags; i++)
		free(cs->flags[i].project);	/* and its flag */
	for (i = m->nlinks; i < cs->nlinks; i++) {
		free(cs->links[i].project);
		linkset_release(&cs->links[i].set);
	}
	for (i = m->nedits; i < cs->nedits; i++) {
		free(cs->edits[i].project);
		free(cs->edits[i].flag);
		free(cs->edits[i].issue);
	}
	for (i = m->nstatus; i < cs->nstatus; i++) {
		free(cs->status[i].source);
		free(cs->status[i].json);
	}
	for (i = m->nenvs; i < cs->nenvs; i++) {
		free(cs->envs[i].project);
		free(cs->envs[i].environment);
	}
	for (i = m->nistatus; i < cs->nistatus; i++) {
		free(cs->istatus[i].issue);
		free(cs->istatus[i].rec);
	}
	cs->nistatus = m->nistatus;
	cs->nflags = m->nflags;
	cs->nlinks = m->nlinks;
	cs->nedits = m->nedits;
	cs->nstatus = m->nstatus;
	cs->nenvs = m->nenvs;
	if (cs->spill_fd == -1) {
		if (cs->mem.len > (size_t)m->spill_len)
			cs->mem.len = (size_t)m->spill_len;
	} else if (m->spill_len >= cs->spill_written) {
		cs->wbuf.len = (size_t)(m->spill_len - cs->spill_written);
		cs->spill_len = m->spill_len;
	} else {
		/* what was written past the mark is overwritten later */
		buf_reset(&cs->wbuf);
		cs->spill_written = cs->spill_len = m->spill_len;
	}
}

int
changeset_add_flag(struct changeset *cs, const char *project,
    const char *flag, const void *rec, size_t len)
{
	struct cs_flag *f;
	size_t np, nf;
	int rc;

	if ((rc = CS_GROW(cs, flags, nflags, capflags)) != 0)
		return rc;
	if (project == NULL || flag == NULL)
		return EINVAL;
	f = &cs->flags[cs->nflags];
	/* both names in one allocation (a cold sync adds every flag) */
	np = strlen(project) + 1;
	nf = strlen(flag) + 1;
	if ((f->project = malloc(np + nf)) == NULL)
		return ENOMEM;
	f->flag = f->project + np;
	memcpy(f->project, project, np);
	memcpy(f->flag, flag, nf);
	f->present = rec != NULL;
	f->off = 0;
	f->len = rec ? len : 0;
	if (rec != NULL &&
	    (rc = changeset_store(cs, rec, len, &f->off)) != 0) {
		free(f->project);
		return rc;
	}
	cs->nflags++;
	return 0;
}

int
changeset_add_links(struct changeset *cs, enum link_source src,
    const char *project, struct linkset *set)
{
	struct cs_links *l;
	int ok = 1, rc;

	if ((rc = CS_GROW(cs, links, nlinks, caplinks)) != 0)
		return rc;
	l = &cs->links[cs->nlinks];
	l->src = src;
	l->project = dup_or_null(project, &ok);
	if (!ok)
		return ENOMEM;
	linkset_sort(set);
	l->set = *set;
	linkset_init(set);
	cs->nlinks++;
	return 0;
}

int
changeset_add_edit(struct changeset *cs, const char *project,
    const char *flag, const char *issue, bool add)
{
	struct cs_edit *e;
	int ok = 1, rc;

	if ((rc = CS_GROW(cs, edits, nedits, capedits)) != 0)
		return rc;
	e = &cs->edits[cs->nedits];
	e->project = dup_or_null(project, &ok);
	e->flag = dup_or_null(flag, &ok);
	e->issue = dup_or_null(issue, &ok);
	e->add = add;
	if (!ok) {
		free(e->project);
		free(e->flag);
		free(e->issue);
		return ENOMEM;
	}
	cs->nedits++;
	return 0;
}

int
changeset_add_status(struct changeset *cs, const char *source,
    const char *json)
{
	struct cs_status *s;
	int ok = 1, rc;

	if ((rc = CS_GROW(cs, status, nstatus, capstatus)) != 0)
		return rc;
	s = &cs->status[cs->nstatus];
	s->source = dup_or_null(source, &ok);
	s->json = dup_or_null(json, &ok);
	if (!ok) {
		free(s->source);
		free(s->json);
		return ENOMEM;
	}
	cs->nstatus++;
	return 0;
}

int
changeset_add_issue_status(struct changeset *cs, const char *issue,
    const void *rec, size_t len)
{
	struct cs_istatus *is;
	int rc;

	if (issue == NULL || (rec == NULL) != (len == 0))
		return EINVAL;
	if ((rc = CS_GROW(cs, istatus, nistatus, capistatus)) != 0)
		return rc;
	is = &cs->istatus[cs->nistatus];
	memset(is, 0, sizeof(*is));
	if ((is->issue = strdup(issue)) == NULL)
		return ENOMEM;
	if (rec != NULL && (is->rec = malloc(len)) == NULL) {
		free(is->issue);
		return ENOMEM;
	}
	if (rec != NULL)
		memcpy(is->rec, rec, len);
	is->len = len;
	cs->nistatus++;
	return 0;
}

int
changeset_add_env(struct changeset *cs, const char *project,
    const char *environment)
{
	struct cs_env *e;
	int ok = 1, rc;

	if ((rc = CS_GROW(cs, envs, nenvs, capenvs)) != 0)
		return rc;
	e = &cs->envs[cs->nenvs];
	e->project = dup_or_null(project, &ok);
	e->environment = dup_or_null(environment, &ok);
	if (!ok) {
		free(e->project);
		free(e->environment);
		return ENOMEM;
	}
	cs->nenvs++;
	return 0;
}

/* ------------------------------------------------------------ helpers */

void
commit_free_strv(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

struct strv {
	char	**v;
	size_t	 n, cap;
};

static int
strv_push(struct strv *s, const char *str)
{
	int rc;

	/* the string and the NULL after it */
	if ((rc = ARRAY_GROW(s->v, s->cap, s->n + 2)) != 0)
		return rc;
	if ((s->v[s->n] = strdup(str)) == NULL)
		return ENOMEM;
	s->v[++s->n] = NULL;
	return 0;
}

static int
issues_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	(void)project;
	(void)flag;
	(void)mask;
	return strv_push(arg, issue);
}

int
commit_flag_issues(struct cache_txn *t, const char *project,
    const char *flag, char ***issues, size_t *n)
{
	struct strv s = { NULL, 0, 0 };
	int rc;

	/* no issue (most flags of a first sync): NULL and 0, no allocation */
	rc = cache_link_foreach_flag(t, project, flag, issues_cb, &s);
	if (rc != 0) {
		commit_free_strv(s.v);
		return rc;
	}
	/* links are keyed PROJECT\0FLAG\0ISSUE, so they arrive sorted */
	*issues = s.v;
	*n = s.n;
	return 0;
}

size_t
commit_mask_sources(uint32_t mask, const char *out[LINK_SRC_COUNT + 1])
{
	size_t n = 0;
	int s;

	for (s = 0; s < LINK_SRC_COUNT; s++)
		if (mask & LINK_BIT(s))
			out[n++] = link_source_name(s);
	out[n] = NULL;
	return n;
}

static const char *
cs_environment(const struct changeset *cs, const char *project)
{
	size_t i;

	for (i = 0; i < cs->nenvs; i++)
		if (strcmp(cs->envs[i].project, project) == 0)
			return cs->envs[i].environment;
	return NULL;
}

/* ------------------------------------------------------------ vetting */

/*
 * The last line of defence for names: the sources check them against
 * maxlen.h where they enter, but one that still comes here empty or too
 * long for a cache key is skipped and counted against the source it came
 * from, so it cannot make the whole commit fail, every cycle.
 */
struct skip {
	char	*source;	/* the status name: "split:P", "file"... */
	struct skipped items;
};

struct vet {
	bool	*flag_bad;	/* per cs->flags */
	bool	*edit_bad;	/* per cs->edits */
	struct skip *v;
	size_t	 n, cap;
	size_t	 total;
};

/* What is wrong with a name, for the source's status. */
struct vet_bad {
	const char *kind;	/* "project", "flag", "issue" */
	const char *name;
	char	 why[128];
};

static void
vet_release(struct vet *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->v[i].source);
		skipped_release(&v->v[i].items);
	}
	free(v->v);
	free(v->flag_bad);
	free(v->edit_bad);
	memset(v, 0, sizeof(*v));
}

/* 0 when name is a non-empty string of at most max bytes; otherwise
 * EINVAL and, with bad, what is wrong. */
static int
vet_name(const char *what, const char *name, size_t max,
    struct vet_bad *bad)
{
	if (name != NULL && name[0] != '\0' && strnlen(name, max + 1) <= max)
		return 0;
	if (bad == NULL)
		return EINVAL;
	bad->kind = what;
	bad->name = name != NULL && name[0] != '\0' ? name : NULL;
	if (bad->name == NULL)
		snprintf(bad->why, sizeof(bad->why), "an empty %s name", what);
	else
		snprintf(bad->why, sizeof(bad->why), "a %s name of %zu bytes "
		    "(at most %zu): too long for the cache", what,
		    strlen(name), max);
	return EINVAL;
}

static int
vet_link(const char *project, const char *flag, const char *issue,
    struct vet_bad *bad)
{
	int rc;

	if ((rc = vet_name("project", project, FS_PROJECT_MAX, bad)) ||
	    (rc = vet_name("flag", flag, FS_FLAG_MAX, bad)))
		return rc;
	return issue ? vet_name("issue", issue, FS_ISSUE_MAX, bad) : 0;
}

/* Counts one skipped item against source. */
static int
vet_note(struct vet *v, const char *source, const struct vet_bad *bad)
{
	struct skip *k;
	size_t i;
	int rc;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i].source, source) == 0)
			break;
	if (i == v->n) {
		if ((rc = ARRAY_GROW(v->v, v->cap, v->n + 1)) != 0)
			return rc;
		k = &v->v[v->n];
		memset(k, 0, sizeof(*k));
		skipped_init(&k->items);
		if ((k->source = strdup(source)) == NULL)
			return ENOMEM;
		v->n++;
	}
	v->total++;
	return skipped_add(&v->v[i].items, bad->kind, bad->name, "%s",
	    bad->why);
}

/* The status name of the source a link bit of project comes from. */
static int
vet_source(struct buf *b, enum link_source src, const char *project)
{
	buf_reset(b);
	if (src == LINK_SRC_SPLIT_TAG || src == LINK_SRC_SPLIT_DESC)
		return buf_printf(b, "split:%.*s", FS_PROJECT_MAX,
		    project ? project : "");
	return buf_puts(b, link_source_name(src));
}

static const struct skip *
vet_find(const struct vet *v, const char *source)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i].source, source) == 0)
			return &v->v[i];
	return NULL;
}

/* Marks the flags and local edits whose names the cache cannot take. */
static int
vet_changeset(const struct changeset *cs, struct vet *v)
{
	struct buf src;
	struct vet_bad bad;
	size_t i;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	if ((cs->nflags && (v->flag_bad = calloc(cs->nflags,
	    sizeof(*v->flag_bad))) == NULL) ||
	    (cs->nedits && (v->edit_bad = calloc(cs->nedits,
	    sizeof(*v->edit_bad))) == NULL))
		return ENOMEM;
	buf_init(&src, 0);
	for (i = 0; i < cs->nflags && rc == 0; i++) {
		if (vet_link(cs->flags[i].project, cs->flags[i].flag, NULL,
		    &bad) == 0)
			continue;
		v->flag_bad[i] = true;
		if ((rc = vet_source(&src, LINK_SRC_SPLIT_TAG,
		    cs->flags[i].project)) == 0)
			rc = vet_note(v, buf_str(&src), &bad);
	}
	for (i = 0; i < cs->nedits && rc == 0; i++) {
		if (vet_link(cs->edits[i].project, cs->edits[i].flag,
		    cs->edits[i].issue, &bad) == 0)
			continue;
		v->edit_bad[i] = true;
		rc = vet_note(v, link_source_name(LINK_SRC_LOCAL), &bad);
	}
	buf_release(&src);
	return rc;
}

/* The status record json with the items the vetting skipped from its
 * source merged in (skipped.h), into out. */
static int
vet_status(const struct skip *k, const char *json, struct buf *out)
{
	json_object *o;
	int rc;

	buf_reset(out);
	if (k == NULL || (o = jsonw_parse(json, strlen(json))) == NULL)
		return buf_puts(out, json);
	if ((rc = skipped_put(&k->items, o)) == 0)
		rc = buf_puts(out, json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return rc;
}

/* One log line per source that had items skipped. */
static void
vet_log(const struct vet *v)
{
	json_object *first;
	size_t i;

	for (i = 0; i < v->n; i++) {
		first = json_object_array_get_idx(v->v[i].items.list, 0);
		log_warnx("%s: skipped %zu item%s the cache cannot store; the "
		    "first: %s: %s", v->v[i].source, v->v[i].items.n,
		    v->v[i].items.n == 1 ? "" : "s",
		    json_object_get_string(json_object_object_get(first,
		    "item")), json_object_get_string(json_object_object_get(
		    first, "why")));
	}
}

/* ------------------------------------------------------------ apply */

/* A flag whose record changed and what its events need. */
struct pend_flag {
	const struct cs_flag *f;
	unsigned mask;
	/* The views as diffed, kept for the events: decoding the records
	 * again cost as much as the diff. */
	struct flag_view before;
	struct flag_view after;
	char	**issues;	/* its links when it changed */
	size_t	 nissues;
};

/* One transaction's worth of work: units [from, to) of the flags then the
 * planned link ops, and when last, the local edits and status too. */
struct apply {
	const struct changeset *cs;
	const struct link_plan *plan;
	struct vet *vet;
	int64_t	 time;		/* stamped on this batch's events */
	size_t	 from, to;	/* units: flags, then link ops */
	bool	 last;
	struct commit_result res;
	struct pend_flag *pf;
	size_t	 npf, cappf;
	uint64_t seq;
	struct buf out;
	struct cs_reader rec;	/* records read back from the changeset */
};

static void
pend_release(struct pend_flag *p)
{
	view_release(&p->before);
	view_release(&p->after);
	commit_free_strv(p->issues);
	p->issues = NULL;
	p->nissues = 0;
}

static void
apply_release(struct apply *a)
{
	size_t i;

	for (i = 0; i < a->npf; i++)
		pend_release(&a->pf[i]);
	free(a->pf);
	buf_release(&a->out);
	buf_release(&a->rec.win);
	a->pf = NULL;
	a->npf = a->cappf = 0;
}

/*
 * Forgets what a batch (or a run cache_write repeats) left behind but
 * keeps the memory: freeing the 1 MB record window and the event buffer
 * every batch gave their pages back to the kernel, and the next batch
 * faulted them in again, zeroed.
 */
static void
apply_reset(struct apply *a)
{
	size_t i;

	for (i = 0; i < a->npf; i++)
		pend_release(&a->pf[i]);
	a->npf = 0;
	buf_reset(&a->out);
	buf_reset(&a->rec.win);
	a->rec.off = 0;
}

static int
decode_rec(struct flag_view *v, const void *rec, size_t len)
{
	view_init(v);
	if (rec == NULL)
		return 0;
	return view_decode(v, rec, len);
}

/* Pass A: diff one flag record against the cache and store the new one. */
static int
apply_flag(struct cache_txn *t, struct apply *a, const struct cs_flag *f)
{
	struct flag_view before, after;
	struct pend_flag *p;
	const void *old = NULL, *rec = NULL;
	size_t oldlen = 0;
	unsigned mask;
	bool stored = false;
	int rc;

	if (f->present && (rc = changeset_read(a->cs, f, &a->rec, &rec)) != 0)
		return rc;
	/* a new flag (every flag of a first sync) is stored by the same
	 * search that finds it is new */
	if (rec != NULL) {
		rc = cache_flag_add(t, f->project, f->flag, rec, f->len, &old,
		    &oldlen);
		stored = rc == 0;
	} else
		rc = cache_flag_get(t, f->project, f->flag, &old, &oldlen);
	if (rc == FS_ENOTFOUND)
		old = NULL;
	else if (rc != 0 && rc != EEXIST)
		return rc;
	if ((rc = decode_rec(&before, old, oldlen)) != 0)
		goto before_release;
	if ((rc = decode_rec(&after, rec, f->len)) != 0)
		goto after_release;
	mask = diff_flag(old ? &before : NULL, rec ? &after : NULL);
	if (mask != 0) {
		if ((rc = ARRAY_GROW(a->pf, a->cappf, a->npf + 1)) != 0)
			goto after_release;
		p = &a->pf[a->npf++];
		memset(p, 0, sizeof(*p));
		p->f = f;
		p->mask = mask;
		/* moved: the events show these views */
		p->before = before;
		p->after = after;
		view_init(&before);
		view_init(&after);
		if ((rc = commit_flag_issues(t, f->project, f->flag,
		    &p->issues, &p->nissues)) != 0)
			goto after_release;
	}
	if (rec && !stored)
		rc = cache_flag_put(t, f->project, f->flag, rec, f->len);
	else if (!rec && old)
		rc = cache_flag_del(t, f->project, f->flag);
after_release:
	view_release(&after);
before_release:
	view_release(&before);
	return rc;
}

static int
emit(struct cache_txn *t, struct apply *a, struct event *ev)
{
	int rc;

	ev->seq = ++a->seq;
	ev->time = a->time;
	buf_reset(&a->out);
	if ((rc = event_format(ev, &a->out)) != 0)
		return rc;
	if ((rc = cache_event_put(t, ev->seq, a->out.data, a->out.len)) != 0)
		return rc;
	if (a->res.first_seq == 0)
		a->res.first_seq = ev->seq;
	a->res.last_seq = ev->seq;
	a->res.nevents++;
	a->res.counts[ev->type]++;
	return 0;
}

/*
 * One link event: the link, its sources and the flag, not the flag's
 * other issues (a flag with N issues would otherwise write N events of N
 * keys each); flag events carry those.
 */
static int
emit_link(struct cache_txn *t, struct apply *a, enum event_type type,
    const char *project, const char *flag, const char *issue, uint32_t mask)
{
	const char *src[LINK_SRC_COUNT + 1];
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.project = project;
	ev.flag = flag;
	ev.environment = cs_environment(a->cs, project);
	ev.issue = issue;
	ev.nsources = commit_mask_sources(mask, src);
	ev.sources = src;
	return emit(t, a, &ev);
}

/* Sets or clears bit on one link and records the event it makes. */
static int
link_change(struct cache_txn *t, struct apply *a, const char *project,
    const char *flag, const char *issue, uint32_t bit, bool add)
{
	uint32_t mask = 0, nmask;
	int rc;

	if ((rc = cache_link_update(t, project, flag, issue, bit, add,
	    &mask)) != 0)
		return rc;
	nmask = add ? (mask | bit) : (mask & ~bit);
	if (nmask == mask)
		return 0;
	if (mask == 0)
		return emit_link(t, a, EV_LINK_ADDED, project, flag, issue,
		    nmask);
	if (nmask == 0)
		return emit_link(t, a, EV_LINK_REMOVED, project, flag, issue,
		    mask);
	return 0;
}

/*
 * Link changes are planned in a read transaction before the commit: for
 * each source, the links it held in its scope and no longer lists are
 * cleared, the ones it lists and does not hold yet are set.  Applying an
 * op re-reads the link in the write transaction, so a `flagsync link` in
 * between is merged, never lost.
 */
struct link_op {
	size_t	 idx;		/* into the plan's sets[add] */
	uint32_t bit;
	bool	 add;
};

struct link_plan {
	struct linkset sets[2];	/* [0] links to clear, [1] to set */
	struct link_op *ops;
	size_t	 n, cap;
};

struct plan_walk {
	const struct cs_links *l;
	struct link_plan *plan;
};

/* Whether the link's names fit the cache; counts it skipped if not. */
static int
plan_vet(struct vet *v, struct buf *src, const struct cs_links *l,
    const struct link *k, bool *bad)
{
	struct vet_bad why;
	int rc;

	*bad = vet_link(k->project, k->flag, k->issue, &why) != 0;
	if (!*bad)
		return 0;
	if ((rc = vet_source(src, l->src, l->project ? l->project :
	    k->project)) != 0)
		return rc;
	return vet_note(v, buf_str(src), &why);
}

static int
plan_push(struct link_plan *p, bool add, uint32_t bit, const char *project,
    const char *flag, const char *issue)
{
	int rc;

	if ((rc = ARRAY_GROW(p->ops, p->cap, p->n + 1)) != 0)
		return rc;
	if ((rc = linkset_add(&p->sets[add], project, flag, issue)) != 0)
		return rc;
	p->ops[p->n].idx = p->sets[add].n - 1;
	p->ops[p->n].bit = bit;
	p->ops[p->n].add = add;
	p->n++;
	return 0;
}

static int
plan_stale_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	struct plan_walk *w = arg;
	uint32_t bit = LINK_BIT(w->l->src);

	if (!(mask & bit) || linkset_has(&w->l->set, project, flag, issue))
		return 0;
	return plan_push(w->plan, false, bit, project, flag, issue);
}

static int
plan_source(struct cache_txn *t, struct link_plan *p, const struct cs_links *l,
    struct vet *v, struct buf *src)
{
	struct plan_walk w = { l, p };
	const struct link *k;
	uint32_t mask, bit = LINK_BIT(l->src);
	size_t i;
	bool bad;
	int rc;

	if (l->project && vet_name("project", l->project, FS_PROJECT_MAX,
	    NULL) != 0)
		return 0;	/* a scope no stored link can be in */
	if ((rc = cache_link_foreach(t, l->project, plan_stale_cb, &w)) != 0)
		return rc;
	for (i = 0; i < l->set.n; i++) {
		k = &l->set.v[i];
		if (l->project && strcmp(k->project, l->project) != 0)
			continue;
		if ((rc = plan_vet(v, src, l, k, &bad)) != 0)
			return rc;
		if (bad)
			continue;
		rc = cache_link_get(t, k->project, k->flag, k->issue, &mask);
		if (rc == 0 && (mask & bit))
			continue;
		if (rc != 0 && rc != FS_ENOTFOUND)
			return rc;
		if ((rc = plan_push(p, true, bit, k->project, k->flag,
		    k->issue)) != 0)
			return rc;
	}
	return 0;
}

static void
plan_release(struct link_plan *p)
{
	linkset_release(&p->sets[0]);
	linkset_release(&p->sets[1]);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

static int
plan_links(struct cache *c, const struct changeset *cs, struct link_plan *p,
    struct vet *v)
{
	struct cache_txn *t;
	struct buf src;
	size_t i;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	linkset_init(&p->sets[0]);
	linkset_init(&p->sets[1]);
	if (cs->nlinks == 0)
		return 0;
	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	buf_init(&src, 0);
	for (i = 0; i < cs->nlinks && rc == 0; i++)
		rc = plan_source(t, p, &cs->links[i], v, &src);
	buf_release(&src);
	cache_read_end(t);
	return rc;
}

/*
 * The events of one changed flag, in event type order.  Its issues are
 * its links as they stood when the flag changed: this cycle's link
 * changes follow as their own events.
 */
static int
emit_flag(struct cache_txn *t, struct apply *a, const struct pend_flag *p)
{
	struct event ev;
	int rc = 0, type;

	for (type = 0; type < EV_LINK_ADDED && rc == 0; type++) {
		if (!(p->mask & EV_BIT(type)))
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.type = type;
		ev.project = p->f->project;
		ev.flag = p->f->flag;
		ev.environment = p->f->present ? p->after.environment :
		    p->before.environment;
		ev.before = type == EV_FLAG_CREATED ? NULL : &p->before;
		ev.after = type == EV_FLAG_DELETED ? NULL : &p->after;
		ev.issues = (const char *const *)p->issues;
		ev.nissues = p->nissues;
		ev.before_issues = ev.issues;
		ev.nbefore_issues = ev.nissues;
		rc = emit(t, a, &ev);
	}
	return rc;
}

/*
 * Event times never go back: a clock stepped back stamps the time of the
 * last event instead, so `events --since TIME` cannot skip one.
 */
static int
apply_time(struct cache_txn *t, struct apply *a)
{
	int64_t prev;
	int rc;

	a->time = a->cs->time;
	if (a->seq == 0)
		return 0;
	rc = cache_event_time(t, a->seq, &prev);
	if (rc == FS_ENOTFOUND || rc == FS_EPROTO)
		return 0;	/* pruned, or unreadable: nothing to go by */
	if (rc != 0)
		return rc;
	if (prev > a->time)
		a->time = prev;
	return 0;
}

/* The linked issues' Jira status records. */
static int
apply_issue_status(struct cache_txn *t, const struct changeset *cs)
{
	const struct cs_istatus *is;
	size_t i;
	int rc = 0;

	for (i = 0; i < cs->nistatus && rc == 0; i++) {
		is = &cs->istatus[i];
		if (is->rec != NULL)
			rc = cache_istatus_put(t, is->issue, is->rec, is->len);
		else if ((rc = cache_istatus_del(t, is->issue)) ==
		    FS_ENOTFOUND)
			rc = 0;
		if (rc == EINVAL) {
			/* a key no LMDB key can hold: it was never linked */
			log_warnx("issue status of %.64s...: key too long; "
			    "not stored", is->issue);
			rc = 0;
		}
	}
	return rc;
}

/* The status records, with what was skipped from each source. */
static int
apply_status(struct cache_txn *t, struct apply *a)
{
	const struct cs_status *st;
	struct buf rec;
	size_t i;
	int rc = 0;

	buf_init(&rec, 0);
	for (i = 0; i < a->cs->nstatus && rc == 0; i++) {
		st = &a->cs->status[i];
		if ((rc = vet_status(vet_find(a->vet, st->source), st->json,
		    &rec)) != 0)
			break;
		rc = cache_status_put(t, st->source, rec.data, rec.len);
		if (rc == EINVAL) {
			/* a source name no key can hold: say so, go on */
			a->res.skipped++;
			rc = 0;
		}
	}
	buf_release(&rec);
	return rc;
}

struct apply_txn {
	struct cache_txn *t;
	struct apply *a;
};

static int
emit_finding(void *arg, struct event *ev)
{
	struct apply_txn *at = arg;

	return emit(at->t, at->a, ev);
}

/* After everything else of the cycle, so its findings see it all. */
static int
apply_findings(struct cache_txn *t, struct apply *a)
{
	struct apply_txn at = { t, a };

	if (a->cs->findings == NULL)
		return 0;
	/* issue status records come with no event: they force a look */
	return findings_eval(t, a->cs->findings, a->time,
	    a->cs->nistatus > 0, emit_finding, &at);
}

static int
apply_all(struct cache_txn *t, struct apply *a)
{
	const struct changeset *cs = a->cs;
	const struct link_op *op;
	const struct link *k;
	const struct cs_edit *e;
	size_t i;
	int rc = 0;

	if ((rc = cache_event_last(t, &a->seq)) != 0 ||
	    (rc = apply_time(t, a)) != 0)
		return rc;
	for (i = a->from; i < a->to && i < cs->nflags && rc == 0; i++)
		if (!a->vet->flag_bad[i])
			rc = apply_flag(t, a, &cs->flags[i]);
	/* each flag's views and issues go right after its events, while
	 * warm: at the batch's end, a second pass over 2,048 of them
	 * missed the caches */
	for (i = 0; i < a->npf && rc == 0; i++) {
		rc = emit_flag(t, a, &a->pf[i]);
		pend_release(&a->pf[i]);
	}
	if (rc == 0)
		a->npf = 0;
	for (i = a->from; i < a->to && rc == 0; i++) {
		if (i < cs->nflags)
			continue;
		op = &a->plan->ops[i - cs->nflags];
		k = &a->plan->sets[op->add].v[op->idx];
		rc = link_change(t, a, k->project, k->flag, k->issue, op->bit,
		    op->add);
	}
	for (i = 0; a->last && i < cs->nedits && rc == 0; i++) {
		e = &cs->edits[i];
		if (!a->vet->edit_bad[i])
			rc = link_change(t, a, e->project, e->flag, e->issue,
			    LINK_BIT(LINK_SRC_LOCAL), e->add);
	}
	if (a->last && rc == 0)
		rc = apply_issue_status(t, cs);
	if (a->last && rc == 0)
		rc = apply_status(t, a);
	if (a->last && rc == 0)
		rc = apply_findings(t, a);
	return rc;
}

static int
commit_txn(struct cache_txn *t, void *arg)
{
	struct apply *a = arg;

	/* cache_write may run us again after growing the map: start clean */
	apply_reset(a);
	memset(&a->res, 0, sizeof(a->res));
	return apply_all(t, a);
}

static void
result_add(struct commit_result *sum, const struct commit_result *r)
{
	size_t i;

	sum->skipped += r->skipped;
	if (r->nevents == 0)
		return;
	if (sum->first_seq == 0)
		sum->first_seq = r->first_seq;
	sum->last_seq = r->last_seq;
	sum->nevents += r->nevents;
	for (i = 0; i < sizeof(sum->counts) / sizeof(sum->counts[0]); i++)
		sum->counts[i] += r->counts[i];
}

/*
 * Whether the filesystem holding dir is (nearly) full.  LMDB turns a
 * short write on a full disk into EIO, so the free space, not the error
 * code, tells a full disk from a failing one.
 */
static bool
commit_disk_full(const char *dir)
{
	struct statvfs fs;

	if (statvfs(dir, &fs) != 0)
		return false;
	return (uint64_t)fs.f_bavail * fs.f_frsize < COMMIT_FULL_BYTES;
}

/* Why a commit failed, naming the likely cause of the common ones. */
static void
commit_error(struct cache *c, int rc, char *out, size_t len)
{
	const char *dir = cache_dir(c);

	if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG ||
	    ((rc == EIO || rc == MDB_MAP_FULL) && commit_disk_full(dir))) {
		snprintf(out, len, "cannot commit to the cache in %s: no space "
		    "left on the filesystem holding %s (%s)", dir, dir,
		    fs_strerror(rc));
		return;
	}
	if (rc == EIO)
		snprintf(out, len, "cannot commit to the cache in %s: "
		    "input/output error: the disk holding %s may be failing",
		    dir, dir);
	else if (rc == MDB_MAP_FULL)
		snprintf(out, len, "cannot commit to the cache in %s: the map "
		    "stayed full however much it grew", dir);
	else
		snprintf(out, len, "cannot commit to the cache in %s: %s", dir,
		    fs_strerror(rc));
}

/* A copy of a status record saying the commit failed. */
static int
failed_status(const char *json, const char *error, struct buf *out)
{
	json_object *o;
	int rc;

	buf_reset(out);
	if ((o = jsonw_parse(json, strlen(json))) == NULL &&
	    (o = json_object_new_object()) == NULL)
		return ENOMEM;
	if ((rc = jsonw_put(o, "ok", json_object_new_boolean(0))) == 0 &&
	    (rc = jsonw_str(o, "error", error)) == 0)
		rc = buf_puts(out, json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return rc;
}

struct fail_arg {
	const struct changeset *cs;
	const char *error;
};

static int
failed_status_txn(struct cache_txn *t, void *arg)
{
	const struct fail_arg *f = arg;
	struct buf rec;
	size_t i;
	int rc = 0;

	buf_init(&rec, 0);
	for (i = 0; i < f->cs->nstatus && rc == 0; i++) {
		if ((rc = failed_status(f->cs->status[i].json, f->error,
		    &rec)) != 0)
			break;
		rc = cache_status_put(t, f->cs->status[i].source, rec.data,
		    rec.len);
		if (rc == EINVAL)
			rc = 0;	/* a name no key holds: nothing to mark */
	}
	buf_release(&rec);
	return rc;
}

/*
 * The sources of a failed commit must not go on reading ok in `status`:
 * mark each failed, in a transaction of its own, which may still fit
 * where the whole commit did not.
 */
static void
commit_failed(struct cache *c, const struct changeset *cs,
    struct commit_result *res, int rc)
{
	struct fail_arg f = { cs, res->error };
	size_t n;

	commit_error(c, rc, res->error, sizeof(res->error));
	if (cs->nstatus == 0 ||
	    (rc = cache_write(c, failed_status_txn, &f)) == 0)
		return;
	n = strlen(res->error);
	snprintf(res->error + n, sizeof(res->error) - n, "; the sources' "
	    "status could not be marked failed either: %s", fs_strerror(rc));
}

int
commit_apply(struct cache *c, struct changeset *cs,
    struct commit_result *res)
{
	struct commit_result sum;
	struct link_plan plan;
	struct apply a;
	struct vet vet;
	size_t units;
	int rc;

	memset(&sum, 0, sizeof(sum));
	memset(&a, 0, sizeof(a));
	memset(&plan, 0, sizeof(plan));
	/* once a cycle: slots of killed queries would pin old pages */
	if ((rc = cache_readers_clear(c, NULL)) != 0)
		log_warnx("cannot clear stale readers of the cache in %s: %s",
		    cache_dir(c), fs_strerror(rc));
	memset(&vet, 0, sizeof(vet));
	if ((rc = changeset_flush(cs)) != 0 ||
	    (rc = vet_changeset(cs, &vet)) != 0 ||
	    (rc = plan_links(c, cs, &plan, &vet)) != 0)
		goto plan_release;
	a.cs = cs;
	a.plan = &plan;
	a.vet = &vet;
	buf_init(&a.out, 0);
	buf_init(&a.rec.win, 0);
	units = cs->nflags + plan.n;
	do {
		/* between batches: what is committed is whole, the rest is
		 * redone by the next cycle */
		if (a.to > 0 && cs->cancel != NULL && *cs->cancel != 0) {
			rc = FS_ECANCELED;
			break;
		}
		a.from = a.to;
		a.to = units - a.from > COMMIT_BATCH ? a.from + COMMIT_BATCH :
		    units;
		a.last = a.to == units;
		if ((rc = cache_write(c, commit_txn, &a)) != 0)
			break;
		result_add(&sum, &a.res);
		/* the pages this batch read need not stay resident */
		cache_release_pages(c);
	} while (!a.last);
	apply_release(&a);
plan_release:
	plan_release(&plan);
	sum.skipped += vet.total;
	vet_log(&vet);
	if (rc != 0 && rc != FS_ECANCELED)
		commit_failed(c, cs, &sum, rc);
	vet_release(&vet);
	if (res)
		*res = sum;
	return rc;
}
