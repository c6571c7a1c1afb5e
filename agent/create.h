/*
 * create.h - creating in Split the flags a Jira field names ([links]
 * jira_create, flagsync.ini(5)): the one job of the creation step.
 *
 * The jira-field source hands over the names that match no flag as
 * candidates (project, flag, issue).  create_run() then, between that
 * source's gather and the commit of its links, for at most CREATE_MAX
 * flags a cycle:
 *   - records the issue keys as flagsync's own tags (cache owntags, by
 *     "create") in a write transaction of their own, before Split sees
 *     them, so split-tag never counts them and a link never holds itself
 *     up;
 *   - creates the flag ("Created from ISSUE by flagsync"); a 409 means it
 *     exists, which is as good;
 *   - reads its tags and writes them back with the issue keys added (a
 *     person's tags survive; a retry after a failure between create and
 *     tag finds the flag by its 409 and completes the tag);
 *   - reads the flag once more, so that the record it adds to the
 *     changeset (a flag with no definition) holds Split's id, tags and
 *     description, and adds the links: link.added commits in this cycle.
 * A refusal (Split's 4xx) is kept in the jira-field status record with
 * Split's message and the time of the next try (create_backoff_ms()), so
 * neither a restart nor the next cycle asks again early.  An outage (5xx,
 * timeouts, a 429 beyond the wait) ends the step: the names wait for the
 * next cycle, nothing is recorded as refused.  No network I/O happens
 * inside a cache transaction.
 */
#ifndef FLAGSYNC_CREATE_H
#define FLAGSYNC_CREATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "cache.h"
#include "commit.h"
#include "config.h"
#include "linkset.h"

#define CREATE_MAX		10	/* creations a cycle */
#define CREATE_BACKOFF_MS	(10 * 60 * 1000)	/* after a refusal */
#define CREATE_BACKOFF_MAX_MS	(24 * 3600 * 1000)
#define CREATE_BY		"create"	/* owntags' writer */

/* One name to create; the list owns the strings. */
struct create_cand {
	char	*project;
	char	*flag;
	char	*issue;
};

struct create_list {
	struct create_cand *v;
	size_t	 n, cap;
};

void	create_list_init(struct create_list *l);
void	create_list_release(struct create_list *l);
/* Copies the three names in.  0 or ENOMEM. */
int	create_list_add(struct create_list *l, const char *project,
	    const char *flag, const char *issue);

/*
 * Which part of Split's naming rule name breaks (split_name_valid()), in
 * a few words written to why, or NULL when it is a valid flag name.
 */
const char *create_name_problem(const char *name, char *why, size_t whylen);

/*
 * Where a name from the Jira field that matches no flag would be created:
 * "project/flag" in that configured project, a bare "flag" in the only
 * project.  Returns the project (a config string) and sets *flag into
 * name; NULL with why set when it cannot be created (a project that is
 * not configured, several projects, a name breaking the rule).
 */
const char *create_where(const struct config *cfg, const char *name,
	    const char **flag, char *why, size_t whylen);

/*
 * The issue key of a description that is exactly the one create_run()
 * writes ("Created from KEY by flagsync"), copied to key; NULL for any
 * other description.  That key is flagsync's own, like the tag: the
 * split-description source must not count it while the tag is recorded
 * as ours (poll.c), or the link would hold itself up.
 */
const char *create_description_key(const char *desc, char *key,
	    size_t keylen);

/* The wait after the tries-th refusal in a row (1, 2...): 10 minutes,
 * doubling, at most a day. */
int64_t	create_backoff_ms(int tries);

struct split_client;

struct create_env {
	const struct config *cfg;
	struct cache *c;		/* short transactions only */
	struct split_client *sc;
	struct changeset *cs;		/* the cycle's */
	const bool *failed;		/* per cfg->projects[]: poll failed */
	int64_t	 now;			/* ms epoch */
};

/*
 * Creates (or finds) cands' flags as above.  Adds their links to links,
 * their records to e->cs, and to details (the jira-field status record's
 * own fields) "create": {"refused": [...], "waiting": N} and a "skipped"
 * row per refused name.  Returns 0 whatever Split answered; ENOMEM,
 * FS_ECANCELED or a cache error stop it.
 */
int	create_run(const struct create_env *e, struct create_list *cands,
	    struct linkset *links, json_object *details);

/*
 * Copies the "create" member of the last jira-field status record into
 * details: a cycle whose search failed keeps the refusals' next tries.
 */
int	create_carry(struct cache *c, json_object *details);

#endif
