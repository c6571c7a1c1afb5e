/*
 * strset.c - a small set of strings in insertion order (strset.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "strset.h"

void
strset_free(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

size_t
strset_find(const struct strset *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return i;
	return SIZE_MAX;
}

int
strset_has(const struct strset *s, const char *name)
{
	return strset_find(s, name) != SIZE_MAX;
}

int
strset_addn(struct strset *s, const char *name, size_t len)
{
	char *c;

	/* EOVERFLOW too is a set that cannot grow: out of memory */
	if (ARRAY_GROW(s->v, s->cap, s->n + 1) != 0 ||
	    (c = strndup(name, len)) == NULL)
		return ENOMEM;
	s->v[s->n++] = c;
	return 0;
}

int
strset_add(struct strset *s, const char *name)
{
	if (strset_has(s, name))
		return 0;
	return strset_addn(s, name, strlen(name));
}

void
strset_del(struct strset *s, const char *name)
{
	size_t i = strset_find(s, name);

	if (i == SIZE_MAX)
		return;
	free(s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

int
strset_parse(struct strset *s, const char *p, size_t len)
{
	const char *end = p + len, *nl;
	int rc;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p && (rc = strset_addn(s, p, (size_t)(nl - p))) != 0)
			return rc;
		p = nl + 1;
	}
	return 0;
}
