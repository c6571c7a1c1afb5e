/* linkset.c - sets of (project, flag, issue) links. */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "linkset.h"

static const char *const link_source_names[LINK_SRC_COUNT] = {
	[LINK_SRC_SPLIT_TAG] = "split-tag",
	[LINK_SRC_SPLIT_DESC] = "split-description",
	[LINK_SRC_FILE] = "file",
	[LINK_SRC_JIRA_FIELD] = "jira-field",
	[LINK_SRC_LOCAL] = "local",
};

const char *
link_source_name(enum link_source s)
{
	if ((unsigned)s >= LINK_SRC_COUNT)
		return "unknown";
	return link_source_names[s];
}

int
link_source_parse(const char *name)
{
	int i;

	for (i = 0; i < LINK_SRC_COUNT; i++)
		if (strcmp(name, link_source_names[i]) == 0)
			return i;
	return -1;
}

void
linkset_init(struct linkset *s)
{
	s->v = NULL;
	s->n = 0;
	s->cap = 0;
	/* An empty set is trivially sorted. */
	s->sorted = true;
}

/* A link's three strings are one allocation, which project points at. */
static void
link_release(struct link *l)
{
	free(l->project);
}

void
linkset_release(struct linkset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		link_release(&s->v[i]);
	free(s->v);
	linkset_init(s);
}

int
linkset_add(struct linkset *s, const char *project, const char *flag,
    const char *issue)
{
	struct link l;
	size_t np, nf, ni;

	if (project == NULL || flag == NULL || issue == NULL)
		return EINVAL;
	if (ARRAY_GROW(s->v, s->cap, s->n + 1) != 0)
		return ENOMEM;
	np = strlen(project) + 1;
	nf = strlen(flag) + 1;
	ni = strlen(issue) + 1;
	/* one allocation, not three: a large account gathers tens of
	 * thousands of links a cycle, and malloc/free were a tenth of a
	 * cold sync's CPU */
	if ((l.project = malloc(np + nf + ni)) == NULL)
		return ENOMEM;
	l.flag = l.project + np;
	l.issue = l.flag + nf;
	memcpy(l.project, project, np);
	memcpy(l.flag, flag, nf);
	memcpy(l.issue, issue, ni);
	s->v[s->n++] = l;
	s->sorted = s->n == 1;
	return 0;
}

int
link_cmp(const struct link *a, const struct link *b)
{
	int c;

	if ((c = strcmp(a->project, b->project)) != 0)
		return c;
	if ((c = strcmp(a->flag, b->flag)) != 0)
		return c;
	return strcmp(a->issue, b->issue);
}

static int
link_qsort_cmp(const void *a, const void *b)
{
	return link_cmp(a, b);
}

void
linkset_sort(struct linkset *s)
{
	size_t i, j;

	if (s->sorted)
		return;
	qsort(s->v, s->n, sizeof(*s->v), link_qsort_cmp);
	/* j counts the distinct links kept at the front. */
	j = 0;
	for (i = 0; i < s->n; i++) {
		if (j > 0 && link_cmp(&s->v[j - 1], &s->v[i]) == 0)
			link_release(&s->v[i]);
		else
			s->v[j++] = s->v[i];
	}
	s->n = j;
	s->sorted = true;
}

bool
linkset_has(const struct linkset *s, const char *project, const char *flag,
    const char *issue)
{
	struct link key;
	size_t i;

	/* The strings are only read; the casts let key be a struct link. */
	key.project = (char *)project;
	key.flag = (char *)flag;
	key.issue = (char *)issue;
	if (s->sorted)
		return s->n > 0 && bsearch(&key, s->v, s->n, sizeof(*s->v),
		    link_qsort_cmp) != NULL;
	for (i = 0; i < s->n; i++)
		if (link_cmp(&key, &s->v[i]) == 0)
			return true;
	return false;
}
