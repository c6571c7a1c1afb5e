/*
 * commit.h - write one cycle's new state and its events in one LMDB write
 * transaction (poll -> normalise -> diff -> COMMIT -> deliver).
 *
 * The poller gathers a changeset outside any transaction: the flag records
 * that differ from the cache, the link sets of the sources that succeeded,
 * local link edits, and status records.  commit_apply() then, inside one
 * transaction, diffs each changed record against the cached one, replaces
 * each source's links within its scope, writes the records and appends an
 * event per change with gap-free seq numbers.  A changeset that changes
 * nothing commits nothing.
 *
 * Ownership: the changeset owns everything added to it (strings and
 * records are copied; linksets are moved in); changeset_release() frees
 * it all.  commit_apply() changes nothing it holds (it only writes out
 * records still buffered), so it can run again after the cache grows its
 * map.
 */
#ifndef FLAGSYNC_COMMIT_H
#define FLAGSYNC_COMMIT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cache.h"
#include "linkset.h"

struct findings_conf;

struct cs_flag {
	char	*project;	/* one allocation with flag, which it owns */
	char	*flag;
	bool	 present;	/* false deletes the flag */
	int64_t	 off;		/* where its new record is kept */
	size_t	 len;
};

struct cs_links {
	enum link_source src;
	char	*project;	/* scope; NULL = every project */
	struct linkset set;	/* the source's complete links in scope */
};

struct cs_edit {
	char	*project;
	char	*flag;
	char	*issue;
	bool	 add;		/* add or remove the local source bit */
};

struct cs_status {
	char	*source;
	char	*json;
};

/* A Jira issue status record (issuestatus.h); rec NULL deletes it. */
struct cs_istatus {
	char	*issue;
	void	*rec;
	size_t	 len;
};

struct cs_env {
	char	*project;
	char	*environment;
};

struct changeset {
	int64_t	 time;		/* ms epoch stamped on the events */
	/* When set and non-zero, commit_apply() stops between batches
	 * (FS_ECANCELED); NULL: never.  The daemon's SIGTERM flag. */
	volatile sig_atomic_t *cancel;
	int	 spill_fd;	/* records go to this unlinked file, or */
	struct buf mem;		/* to memory when spill_fd is -1 */
	int64_t	 spill_len;	/* bytes of records, written or not */
	/* The file's records are written COMMIT_SPILL_BUF at a time (one
	 * write per record cost more than making it): the ones past
	 * spill_written wait in wbuf. */
	struct buf wbuf;
	int64_t	 spill_written;
	struct cs_flag *flags;
	size_t	 nflags, capflags;
	struct cs_links *links;
	size_t	 nlinks, caplinks;
	struct cs_edit *edits;
	size_t	 nedits, capedits;
	struct cs_status *status;
	size_t	 nstatus, capstatus;
	struct cs_env *envs;	/* primary environment per project */
	size_t	 nenvs, capenvs;
	/* [findings]: evaluated in the last transaction; NULL: none */
	const struct findings_conf *findings;
	struct cs_istatus *istatus;
	size_t	 nistatus, capistatus;
};

/* Where a changeset stood, to roll back what a failed source added. */
struct cs_mark {
	size_t	 nflags, nlinks, nedits, nstatus, nenvs;
	size_t	 nistatus;
	int64_t	 spill_len;
};

struct commit_result {
	uint64_t first_seq;	/* 0 when no event */
	uint64_t last_seq;
	size_t	 nevents;
	size_t	 counts[16];	/* events per enum event_type */
	size_t	 skipped;	/* items with a name the cache cannot take */
	char	 error[512];	/* why the commit failed, one line; or "" */
};

void	changeset_init(struct changeset *cs);
void	changeset_release(struct changeset *cs);
int	changeset_add_flag(struct changeset *cs, const char *project,
	    const char *flag, const void *rec, size_t len);
/* Moves *set into the changeset (set is left empty). */
int	changeset_add_links(struct changeset *cs, enum link_source src,
	    const char *project, struct linkset *set);
int	changeset_add_edit(struct changeset *cs, const char *project,
	    const char *flag, const char *issue, bool add);
int	changeset_add_status(struct changeset *cs, const char *source,
	    const char *json);
int	changeset_add_env(struct changeset *cs, const char *project,
	    const char *environment);
/*
 * A linked issue's status record (issuestatus.c encodes it), written in
 * the last batch of the cycle's commit, before the status records; the
 * cache keeps the bytes only when they differ, so an unchanged status
 * writes nothing.  rec NULL (len 0) deletes the issue's record.
 */
int	changeset_add_issue_status(struct changeset *cs, const char *issue,
	    const void *rec, size_t len);

/*
 * Keeps records in an unlinked file in dir rather than in memory, so a
 * baseline of 100k flags does not sit in RAM while it waits for commit.
 */
int	changeset_spill(struct changeset *cs, const char *dir);
/* The record of f: in *rec, valid until scratch changes or cs is freed. */
int	changeset_record(const struct changeset *cs, const struct cs_flag *f,
	    struct buf *scratch, const void **rec);
void	changeset_mark(const struct changeset *cs, struct cs_mark *m);
/* Drops everything added after m. */
void	changeset_rollback(struct changeset *cs, const struct cs_mark *m);

/*
 * Applies cs: one write transaction, except that a cycle with more than
 * COMMIT_BATCH changes (changed flags plus link changes) writes them
 * COMMIT_BATCH at a time, each batch in one transaction with its events,
 * local edits and status in the last one.  Otherwise the baseline of a
 * 100k-flag account would hold every page of the commit in memory.  Every
 * batch is complete in itself (records and their events together) and
 * comes only from a complete read, so an interrupted commit leaves a cache
 * the next poll simply finishes; cs->cancel, when set, stops it between
 * batches that way (FS_ECANCELED).  Flag events list the issues the flag
 * had when it changed; this cycle's link changes follow as link events,
 * each naming its one issue and sources, so the events are the same
 * batched or not.  Event times never go back: each batch stamps
 * max(cs->time, the last event's time).
 *
 * A flag, link or edit whose names are empty or longer than maxlen.h
 * allows is skipped, never stored: it is counted in res->skipped, logged,
 * and its source's status record (when cs has one) gets "skipped" and an
 * "error" naming the first.  The rest commits.  When the commit itself
 * fails, res->error says why in one line (naming a full filesystem as
 * such) and every status record of cs is written, in a transaction of its
 * own, with "ok": false and that error.  Fills res (may be NULL).
 */
#define COMMIT_BATCH	2048
#define COMMIT_SPILL_BUF	(1024 * 1024)	/* spill writes and reads */
int	commit_apply(struct cache *c, struct changeset *cs,
	    struct commit_result *res);
/* Writes out the records still buffered for the spill file. */
int	changeset_flush(struct changeset *cs);

/*
 * The issues linked to (project, flag) in the current transaction, as a
 * sorted, NULL-terminated, newly allocated array (free with
 * commit_free_strv).  Used also by queries.
 */
int	commit_flag_issues(struct cache_txn *t, const char *project,
	    const char *flag, char ***issues, size_t *n);
void	commit_free_strv(char **v);

/* Source names of a mask as a NULL-terminated array of static strings. */
size_t	commit_mask_sources(uint32_t mask, const char *out[LINK_SRC_COUNT + 1]);

#endif
