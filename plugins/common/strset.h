/*
 * strset.h - a small set of strings in insertion order, for the bundled
 * output plugins (the jira output's issues and pairs, the split output's
 * tags).  Linear: the sets hold a flag's or an event's few names.
 * Compiled into each plugin module that uses it, with agent/array.c.
 *
 * Ownership: the set owns its copies of the strings; strset_free()
 * frees them and leaves an empty set.  A zeroed struct is an empty set.
 */
#ifndef FLAGSYNC_STRSET_H
#define FLAGSYNC_STRSET_H

#include <stddef.h>

struct strset {
	char		**v;
	size_t		  n;
	size_t		  cap;
};

void	strset_free(struct strset *s);
/* The index of name, or SIZE_MAX when it is not in s. */
size_t	strset_find(const struct strset *s, const char *name);
int	strset_has(const struct strset *s, const char *name);
/* Adds a copy of name unless it is there: 0 or ENOMEM. */
int	strset_add(struct strset *s, const char *name);
/* Appends a copy of len bytes of name, there or not: 0 or ENOMEM. */
int	strset_addn(struct strset *s, const char *name, size_t len);
/* Removes name, keeping the order of the others. */
void	strset_del(struct strset *s, const char *name);
/* Appends each non-empty line of p (len bytes, '\n'-separated), as
 * read, repeats kept: 0 or ENOMEM. */
int	strset_parse(struct strset *s, const char *p, size_t len);

#endif
