/* commit.c - one cycle's state and events in one write transaction. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
}

void
changeset_release(struct changeset *cs)
{
	size_t i;

	for (i = 0; i < cs->nflags; i++) {
		free(cs->flags[i].project);
		free(cs->flags[i].flag);
		free(cs->flags[i].rec);
	}
	for (i = 0; i < cs->nlinks; i++) {
		free(cs->links[i].project);
		linkset_release(&cs->links[i].set);
	}
	for (i = 0; i < cs->nedits; i++) {
		free(cs->edits[i].project);
		free(cs->edits[i].flag);
		free(cs->edits[i].issue);
	}
	for (i = 0; i < cs->nstatus; i++) {
		free(cs->status[i].source);
		free(cs->status[i].json);
	}
	for (i = 0; i < cs->nenvs; i++) {
		free(cs->envs[i].project);
		free(cs->envs[i].environment);
	}
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

int
changeset_add_flag(struct changeset *cs, const char *project,
    const char *flag, const void *rec, size_t len)
{
	struct cs_flag *f;
	int ok = 1;

	if (CS_GROW(cs, flags, nflags, capflags))
		return ENOMEM;
	f = &cs->flags[cs->nflags];
	f->project = dup_or_null(project, &ok);
	f->flag = dup_or_null(flag, &ok);
	f->rec = NULL;
	f->len = len;
	if (rec != NULL && (f->rec = malloc(len ? len : 1)) == NULL)
		ok = 0;
	if (!ok) {
		free(f->project);
		free(f->flag);
		free(f->rec);
		return ENOMEM;
	}
	if (rec != NULL)
		memcpy(f->rec, rec, len);
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

/* A flag whose record changed and what its events need later. */
struct pend_flag {
	const struct cs_flag *f;
	unsigned mask;
	void	*before;	/* copy of the old record, when events need it */
	size_t	 before_len;
	char	**before_issues;
	size_t	 nbefore_issues;
};

struct pend_link {
	enum event_type type;
	char	*project;
	char	*flag;
	char	*issue;
	uint32_t mask;
};

struct apply {
	const struct changeset *cs;
	struct commit_result res;
	struct pend_flag *pf;
	size_t	 npf, cappf;
	struct pend_link *pl;
	size_t	 npl, cappl;
	uint64_t seq;
	struct buf out;
};

static void
apply_release(struct apply *a)
{
	size_t i;

	for (i = 0; i < a->npf; i++) {
		free(a->pf[i].before);
		commit_free_strv(a->pf[i].before_issues);
	}
	for (i = 0; i < a->npl; i++) {
		free(a->pl[i].project);
		free(a->pl[i].flag);
		free(a->pl[i].issue);
	}
	free(a->pf);
	free(a->pl);
	buf_release(&a->out);
	a->pf = NULL;
	a->pl = NULL;
	a->npf = a->cappf = a->npl = a->cappl = 0;
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
	const void *old = NULL;
	size_t oldlen = 0;
	unsigned mask;
	int rc;

	rc = cache_flag_get(t, f->project, f->flag, &old, &oldlen);
	if (rc == FS_ENOTFOUND)
		old = NULL;
	else if (rc != 0)
		return rc;
	if ((rc = decode_rec(&before, old, oldlen)) != 0)
		goto before_release;
	if ((rc = decode_rec(&after, f->rec, f->len)) != 0)
		goto after_release;
	mask = diff_flag(old ? &before : NULL, f->rec ? &after : NULL);
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
			rc = commit_flag_issues(t, f->project, f->flag,
			    &p->before_issues, &p->nbefore_issues);
			if (rc != 0)
				goto after_release;
		}
	}
	if (f->rec)
		rc = cache_flag_put(t, f->project, f->flag, f->rec, f->len);
	else if (old)
		rc = cache_flag_del(t, f->project, f->flag);
after_release:
	view_release(&after);
before_release:
	view_release(&before);
	return rc;
}

static int
pend_link(struct apply *a, enum event_type type, const char *project,
    const char *flag, const char *issue, uint32_t mask)
{
	struct pend_link *p;

	if (grow((void **)&a->pl, &a->cappl, a->npl, sizeof(*a->pl)))
		return ENOMEM;
	p = &a->pl[a->npl];
	p->type = type;
	p->mask = mask;
	p->project = strdup(project);
	p->flag = strdup(flag);
	p->issue = strdup(issue);
	if (!p->project || !p->flag || !p->issue) {
		free(p->project);
		free(p->flag);
		free(p->issue);
		return ENOMEM;
	}
	a->npl++;
	return 0;
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
		return pend_link(a, EV_LINK_ADDED, project, flag, issue, nmask);
	if (nmask == 0)
		return pend_link(a, EV_LINK_REMOVED, project, flag, issue, mask);
	return 0;
}

struct stale {
	const struct cs_links *l;
	struct linkset gone;
};

static int
stale_cb(void *arg, const char *project, const char *flag, const char *issue,
    uint32_t mask)
{
	struct stale *s = arg;

	if (!(mask & LINK_BIT(s->l->src)))
		return 0;
	if (linkset_has(&s->l->set, project, flag, issue))
		return 0;
	return linkset_add(&s->gone, project, flag, issue);
}

/* Pass B: make one source's links in its scope equal to its new set. */
static int
apply_links(struct cache_txn *t, struct apply *a, const struct cs_links *l)
{
	struct stale s = { l, { NULL, 0, 0, false } };
	uint32_t bit = LINK_BIT(l->src);
	const struct link *k;
	size_t i;
	int rc;

	linkset_init(&s.gone);
	if ((rc = cache_link_foreach(t, l->project, stale_cb, &s)) != 0)
		goto gone_release;
	for (i = 0; i < s.gone.n && rc == 0; i++) {
		k = &s.gone.v[i];
		rc = link_change(t, a, k->project, k->flag, k->issue, bit,
		    false);
	}
	for (i = 0; i < l->set.n && rc == 0; i++) {
		k = &l->set.v[i];
		if (l->project && strcmp(k->project, l->project) != 0)
			continue;
		rc = link_change(t, a, k->project, k->flag, k->issue, bit,
		    true);
	}
gone_release:
	linkset_release(&s.gone);
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

/* Pass C: the events of one changed flag, in event type order. */
static int
emit_flag(struct cache_txn *t, struct apply *a, const struct pend_flag *p)
{
	struct flag_view before, after;
	struct event ev;
	char **issues = NULL;
	size_t nissues = 0;
	int rc, type;

	if ((rc = decode_rec(&before, p->before, p->before_len)) != 0)
		goto before_release;
	if ((rc = decode_rec(&after, p->f->rec, p->f->len)) != 0)
		goto after_release;
	if ((rc = commit_flag_issues(t, p->f->project, p->f->flag, &issues,
	    &nissues)) != 0)
		goto after_release;
	for (type = 0; type < EV_LINK_ADDED && rc == 0; type++) {
		if (!(p->mask & EV_BIT(type)))
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.type = type;
		ev.project = p->f->project;
		ev.flag = p->f->flag;
		ev.environment = p->f->rec ? after.environment :
		    before.environment;
		ev.before = type == EV_FLAG_CREATED ? NULL : &before;
		ev.after = type == EV_FLAG_DELETED ? NULL : &after;
		ev.before_issues = (const char *const *)p->before_issues;
		ev.nbefore_issues = p->nbefore_issues;
		if (type == EV_FLAG_DELETED) {
			ev.issues = (const char *const *)p->before_issues;
			ev.nissues = p->nbefore_issues;
		} else {
			ev.issues = (const char *const *)issues;
			ev.nissues = nissues;
		}
		rc = emit(t, a, &ev);
	}
	commit_free_strv(issues);
after_release:
	view_release(&after);
before_release:
	view_release(&before);
	return rc;
}

static int
emit_link(struct cache_txn *t, struct apply *a, const struct pend_link *p)
{
	const char *src[LINK_SRC_COUNT + 1];
	struct event ev;
	char **issues = NULL;
	size_t nissues = 0;
	int rc;

	if ((rc = commit_flag_issues(t, p->project, p->flag, &issues,
	    &nissues)) != 0)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.type = p->type;
	ev.project = p->project;
	ev.flag = p->flag;
	ev.environment = cs_environment(a->cs, p->project);
	ev.issue = p->issue;
	ev.nsources = commit_mask_sources(p->mask, src);
	ev.sources = src;
	ev.issues = (const char *const *)issues;
	ev.nissues = nissues;
	rc = emit(t, a, &ev);
	commit_free_strv(issues);
	return rc;
}

static int
apply_all(struct cache_txn *t, struct apply *a)
{
	const struct changeset *cs = a->cs;
	const struct cs_edit *e;
	size_t i;
	int rc = 0;

	if ((rc = cache_event_last(t, &a->seq)) != 0)
		return rc;
	for (i = 0; i < cs->nflags && rc == 0; i++)
		rc = apply_flag(t, a, &cs->flags[i]);
	for (i = 0; i < cs->nlinks && rc == 0; i++)
		rc = apply_links(t, a, &cs->links[i]);
	for (i = 0; i < cs->nedits && rc == 0; i++) {
		e = &cs->edits[i];
		rc = link_change(t, a, e->project, e->flag, e->issue,
		    LINK_BIT(LINK_SRC_LOCAL), e->add);
	}
	for (i = 0; i < a->npf && rc == 0; i++)
		rc = emit_flag(t, a, &a->pf[i]);
	for (i = 0; i < a->npl && rc == 0; i++)
		rc = emit_link(t, a, &a->pl[i]);
	for (i = 0; i < cs->nstatus && rc == 0; i++)
		rc = cache_status_put(t, cs->status[i].source,
		    cs->status[i].json, strlen(cs->status[i].json));
	return rc;
}

static int
commit_txn(struct cache_txn *t, void *arg)
{
	struct apply *a = arg;
	int rc;

	/* cache_write may run us again after growing the map: start clean */
	apply_release(a);
	memset(&a->res, 0, sizeof(a->res));
	buf_init(&a->out, 0);
	rc = apply_all(t, a);
	return rc;
}

int
commit_apply(struct cache *c, const struct changeset *cs,
    struct commit_result *res)
{
	struct apply a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.cs = cs;
	buf_init(&a.out, 0);
	rc = cache_write(c, commit_txn, &a);
	if (res) {
		if (rc == 0)
			*res = a.res;
		else
			memset(res, 0, sizeof(*res));
	}
	apply_release(&a);
	return rc;
}

/* Appends n elements of size from *sv to *dv; frees *sv. */
static int
move_array(void **dv, size_t *dn, size_t *dcap, void **sv, size_t *sn,
    size_t *scap, size_t size)
{
	void *p;

	if (*sn == 0)
		return 0;
	if (*dn + *sn > *dcap) {
		if ((p = realloc(*dv, (*dn + *sn) * size)) == NULL)
			return ENOMEM;
		*dv = p;
		*dcap = *dn + *sn;
	}
	memcpy((char *)*dv + *dn * size, *sv, *sn * size);
	*dn += *sn;
	free(*sv);
	*sv = NULL;
	*sn = *scap = 0;
	return 0;
}

#define CS_MOVE(d, s, arr, n, cap) \
	move_array((void **)&(d)->arr, &(d)->n, &(d)->cap, \
	    (void **)&(s)->arr, &(s)->n, &(s)->cap, sizeof(*(d)->arr))

int
changeset_move(struct changeset *dst, struct changeset *src)
{
	if (CS_MOVE(dst, src, flags, nflags, capflags) ||
	    CS_MOVE(dst, src, links, nlinks, caplinks) ||
	    CS_MOVE(dst, src, edits, nedits, capedits) ||
	    CS_MOVE(dst, src, status, nstatus, capstatus) ||
	    CS_MOVE(dst, src, envs, nenvs, capenvs))
		return ENOMEM;
	return 0;
}
