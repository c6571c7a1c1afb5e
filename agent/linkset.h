/*
 * linkset.h - a set of (project, flag, issue) links gathered by one link
 * source in one cycle, and the source bits they are stored under.
 *
 * Ownership: the set owns copies of every string added (a link's three
 * in one allocation, which its project points at); linkset_release()
 * frees them.  linkset_sort() sorts and removes duplicates; lookups need a
 * sorted set.
 */
#ifndef FLAGSYNC_LINKSET_H
#define FLAGSYNC_LINKSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum link_source {
	LINK_SRC_SPLIT_TAG,
	LINK_SRC_SPLIT_DESC,
	LINK_SRC_FILE,
	LINK_SRC_JIRA_FIELD,
	LINK_SRC_LOCAL,
	LINK_SRC_COUNT
};

#define LINK_BIT(s)	(1u << (s))

struct link {
	char	*project;
	char	*flag;
	char	*issue;
};

struct linkset {
	struct link *v;
	size_t	 n;
	size_t	 cap;
	bool	 sorted;
};

/* "split-tag", "split-description", "file", "jira-field", "local". */
const char *link_source_name(enum link_source s);
int	link_source_parse(const char *name);	/* -1 when unknown */

void	linkset_init(struct linkset *s);
void	linkset_release(struct linkset *s);
int	linkset_add(struct linkset *s, const char *project, const char *flag,
	    const char *issue);				/* 0 or ENOMEM */
void	linkset_sort(struct linkset *s);
bool	linkset_has(const struct linkset *s, const char *project,
	    const char *flag, const char *issue);
int	link_cmp(const struct link *a, const struct link *b);

#endif
