/* commit.c - one cycle's state and events in one write transaction. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "commit.h"
#include "diff.h"
#include "error.h"
#include "event.h"
#include "view.h"

_Static_assert(EV_COUNT <= 16, "commit_result.counts is too small");

/* ------------------------------------------------------------ changeset */

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if ((p = realloc(*v, ncap * size)) == NULL)
		return ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

#define CS_GROW(cs, arr, n, cap) \
	grow((void **)&(cs)->arr, &(cs)->cap, (cs)->n, sizeof(*(cs)->arr))

void
changeset_init(struct changeset *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->spill_fd = -1;
	buf_init(&cs->mem, 0);
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
	if ((rc = buf_resize(scratch, f->len)) != 0)
		return rc;
	n = pread(cs->spill_fd, scratch->data, f->len, f->off);
	if (n != (ssize_t)f->len)
		return n == -1 ? errno : EIO;
	*rec = scratch->data;
	return 0;
}

static int
changeset_store(struct changeset *cs, const void *rec, size_t len,
    int64_t *off)
{
	if (cs->spill_fd == -1) {
		*off = (int64_t)cs->mem.len;
		return buf_append(&cs->mem, rec, len);
	}
	if (pwrite(cs->spill_fd, rec, len, cs->spill_len) != (ssize_t)len)
		return errno ? errno : EIO;
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
	if (cs->spill_fd != -1)
		close(cs->spill_fd);
	free(cs->flags);
	free(cs->links);
	free(cs->edits);
	free(cs->status);
	free(cs->envs);
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

	for (i = m->nflags; i < cs->nflags; i++) {
		free(cs->flags[i].project);
		free(cs->flags[i].flag);
	}
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
	cs->nflags = m->nflags;
	cs->nlinks = m->nlinks;
	cs->nedits = m->nedits;
	cs->nstatus = m->nstatus;
	cs->nenvs = m->nenvs;
	if (cs->spill_fd == -1) {
		if (cs->mem.len > (size_t)m->spill_len)
			cs->mem.len = (size_t)m->spill_len;
	} else
		cs->spill_len = m->spill_len;
}

int
changeset_add_flag(struct changeset *cs, const char *project,
    const char *flag, const void *rec, size_t len)
{
	struct cs_flag *f;
	int ok = 1, rc;

	if (CS_GROW(cs, flags, nflags, capflags))
		return ENOMEM;
	f = &cs->flags[cs->nflags];
	f->project = dup_or_null(project, &ok);
	f->flag = dup_or_null(flag, &ok);
	f->present = rec != NULL;
	f->off = 0;
	f->len = rec ? len : 0;
	rc = ok ? 0 : ENOMEM;
	if (rc == 0 && rec != NULL)
		rc = changeset_store(cs, rec, len, &f->off);
	if (rc != 0) {
		free(f->project);
		free(f->flag);
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
	int ok = 1;

	if (CS_GROW(cs, links, nlinks, caplinks))
		return ENOMEM;
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
	int ok = 1;

	if (CS_GROW(cs, edits, nedits, capedits))
		return ENOMEM;
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
	int ok = 1;

	if (CS_GROW(cs, status, nstatus, capstatus))
		return ENOMEM;
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
changeset_add_env(struct changeset *cs, const char *project,
    const char *environment)
{
	struct cs_env *e;
	int ok = 1;

	if (CS_GROW(cs, envs, nenvs, capenvs))
		return ENOMEM;
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
	char **p;
	size_t ncap;

	if (s->n + 1 >= s->cap) {
		ncap = s->cap ? s->cap * 2 : 8;
		if ((p = realloc(s->v, ncap * sizeof(*p))) == NULL)
			return ENOMEM;
		s->v = p;
		s->cap = ncap;
	}
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

	rc = cache_link_foreach_flag(t, project, flag, issues_cb, &s);
	if (rc == 0 && s.v == NULL && (s.v = calloc(1, sizeof(char *))) == NULL)
		rc = ENOMEM;
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

/* ------------------------------------------------------------ apply */

/* A flag whose record changed and what its events need. */
struct pend_flag {
	const struct cs_flag *f;
	unsigned mask;
	void	*before;	/* copy of the old record, when events need it */
	size_t	 before_len;
	char	**issues;	/* its links when it changed */
	size_t	 nissues;
};

/* One transaction's worth of work: units [from, to) of the flags then the
 * planned link ops, and when last, the local edits and status too. */
struct apply {
	const struct changeset *cs;
	const struct link_plan *plan;
	size_t	 from, to;	/* units: flags, then link ops */
	bool	 last;
	struct commit_result res;
	struct pend_flag *pf;
	size_t	 npf, cappf;
	uint64_t seq;
	struct buf out;
	struct buf rec;		/* a record read back from the changeset */
};

static void
apply_release(struct apply *a)
{
	size_t i;

	for (i = 0; i < a->npf; i++) {
		free(a->pf[i].before);
		commit_free_strv(a->pf[i].issues);
	}
	free(a->pf);
	buf_release(&a->out);
	buf_release(&a->rec);
	a->pf = NULL;
	a->npf = a->cappf = 0;
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
	int rc;

	if (f->present && (rc = changeset_record(a->cs, f, &a->rec, &rec)) != 0)
		return rc;
	rc = cache_flag_get(t, f->project, f->flag, &old, &oldlen);
	if (rc == FS_ENOTFOUND)
		old = NULL;
	else if (rc != 0)
		return rc;
	if ((rc = decode_rec(&before, old, oldlen)) != 0)
		goto before_release;
	if ((rc = decode_rec(&after, rec, f->len)) != 0)
		goto after_release;
	mask = diff_flag(old ? &before : NULL, rec ? &after : NULL);
	if (mask != 0) {
		if ((rc = grow((void **)&a->pf, &a->cappf, a->npf,
		    sizeof(*a->pf))) != 0)
			goto after_release;
		p = &a->pf[a->npf++];
		memset(p, 0, sizeof(*p));
		p->f = f;
		p->mask = mask;
		if (mask & ~EV_BIT(EV_FLAG_CREATED)) {
			if ((p->before = malloc(oldlen ? oldlen : 1)) == NULL) {
				rc = ENOMEM;
				goto after_release;
			}
			memcpy(p->before, old, oldlen);
			p->before_len = oldlen;
		}
		if ((rc = commit_flag_issues(t, f->project, f->flag,
		    &p->issues, &p->nissues)) != 0)
			goto after_release;
	}
	if (rec)
		rc = cache_flag_put(t, f->project, f->flag, rec, f->len);
	else if (old)
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
	ev->time = a->cs->time;
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
 * One link event, made as the link changes: its "issues" are the flag's
 * links right after this change, so batched and single commits agree.
 */
static int
emit_link(struct cache_txn *t, struct apply *a, enum event_type type,
    const char *project, const char *flag, const char *issue, uint32_t mask)
{
	const char *src[LINK_SRC_COUNT + 1];
	struct event ev;
	char **issues = NULL;
	size_t nissues = 0;
	int rc;

	if ((rc = commit_flag_issues(t, project, flag, &issues, &nissues)) != 0)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.project = project;
	ev.flag = flag;
	ev.environment = cs_environment(a->cs, project);
	ev.issue = issue;
	ev.nsources = commit_mask_sources(mask, src);
	ev.sources = src;
	ev.issues = (const char *const *)issues;
	ev.nissues = nissues;
	rc = emit(t, a, &ev);
	commit_free_strv(issues);
	return rc;
}

/* Sets or clears bit on one link and records the event it makes. */
static int
link_change(struct cache_txn *t, struct apply *a, const char *project,
    const char *flag, const char *issue, uint32_t bit, bool add)
{
	uint32_t mask = 0, nmask;
	int rc;

	rc = cache_link_get(t, project, flag, issue, &mask);
	if (rc == FS_ENOTFOUND)
		mask = 0;
	else if (rc != 0)
		return rc;
	nmask = add ? (mask | bit) : (mask & ~bit);
	if (nmask == mask)
		return 0;
	if ((rc = cache_link_set(t, project, flag, issue, nmask)) != 0)
		return rc;
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

static int
plan_push(struct link_plan *p, bool add, uint32_t bit, const char *project,
    const char *flag, const char *issue)
{
	int rc;

	if ((rc = grow((void **)&p->ops, &p->cap, p->n, sizeof(*p->ops))) != 0)
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
plan_source(struct cache_txn *t, struct link_plan *p, const struct cs_links *l)
{
	struct plan_walk w = { l, p };
	const struct link *k;
	uint32_t mask, bit = LINK_BIT(l->src);
	size_t i;
	int rc;

	if ((rc = cache_link_foreach(t, l->project, plan_stale_cb, &w)) != 0)
		return rc;
	for (i = 0; i < l->set.n; i++) {
		k = &l->set.v[i];
		if (l->project && strcmp(k->project, l->project) != 0)
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
plan_links(struct cache *c, const struct changeset *cs, struct link_plan *p)
{
	struct cache_txn *t;
	size_t i;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	linkset_init(&p->sets[0]);
	linkset_init(&p->sets[1]);
	if (cs->nlinks == 0)
		return 0;
	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	for (i = 0; i < cs->nlinks && rc == 0; i++)
		rc = plan_source(t, p, &cs->links[i]);
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
	struct flag_view before, after;
	const void *rec = NULL;
	struct event ev;
	int rc, type;

	if (p->f->present && (rc = changeset_record(a->cs, p->f, &a->rec,
	    &rec)) != 0)
		return rc;
	if ((rc = decode_rec(&before, p->before, p->before_len)) != 0)
		goto before_release;
	if ((rc = decode_rec(&after, rec, p->f->len)) != 0)
		goto after_release;
	for (type = 0; type < EV_LINK_ADDED && rc == 0; type++) {
		if (!(p->mask & EV_BIT(type)))
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.type = type;
		ev.project = p->f->project;
		ev.flag = p->f->flag;
		ev.environment = rec ? after.environment : before.environment;
		ev.before = type == EV_FLAG_CREATED ? NULL : &before;
		ev.after = type == EV_FLAG_DELETED ? NULL : &after;
		ev.issues = (const char *const *)p->issues;
		ev.nissues = p->nissues;
		ev.before_issues = ev.issues;
		ev.nbefore_issues = ev.nissues;
		rc = emit(t, a, &ev);
	}
after_release:
	view_release(&after);
before_release:
	view_release(&before);
	return rc;
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

	if ((rc = cache_event_last(t, &a->seq)) != 0)
		return rc;
	for (i = a->from; i < a->to && i < cs->nflags && rc == 0; i++)
		rc = apply_flag(t, a, &cs->flags[i]);
	for (i = 0; i < a->npf && rc == 0; i++)
		rc = emit_flag(t, a, &a->pf[i]);
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
		rc = link_change(t, a, e->project, e->flag, e->issue,
		    LINK_BIT(LINK_SRC_LOCAL), e->add);
	}
	for (i = 0; a->last && i < cs->nstatus && rc == 0; i++)
		rc = cache_status_put(t, cs->status[i].source,
		    cs->status[i].json, strlen(cs->status[i].json));
	return rc;
}

static int
commit_txn(struct cache_txn *t, void *arg)
{
	struct apply *a = arg;

	/* cache_write may run us again after growing the map: start clean */
	apply_release(a);
	memset(&a->res, 0, sizeof(a->res));
	buf_init(&a->out, 0);
	buf_init(&a->rec, 0);
	return apply_all(t, a);
}

static void
result_add(struct commit_result *sum, const struct commit_result *r)
{
	size_t i;

	if (r->nevents == 0)
		return;
	if (sum->first_seq == 0)
		sum->first_seq = r->first_seq;
	sum->last_seq = r->last_seq;
	sum->nevents += r->nevents;
	for (i = 0; i < sizeof(sum->counts) / sizeof(sum->counts[0]); i++)
		sum->counts[i] += r->counts[i];
}

int
commit_apply(struct cache *c, const struct changeset *cs,
    struct commit_result *res)
{
	struct commit_result sum;
	struct link_plan plan;
	struct apply a;
	size_t units;
	int rc;

	memset(&sum, 0, sizeof(sum));
	memset(&a, 0, sizeof(a));
	if ((rc = plan_links(c, cs, &plan)) != 0)
		goto plan_release;
	a.cs = cs;
	a.plan = &plan;
	buf_init(&a.out, 0);
	buf_init(&a.rec, 0);
	units = cs->nflags + plan.n;
	do {
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
	if (res)
		*res = sum;
	return rc;
}
