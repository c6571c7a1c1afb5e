/*
 * maxlen.h - the longest name of each kind flagsync stores.
 * (Not limits.h: GCC's own <limits.h> would find that name on the quote
 * path through #include_next.)
 *
 * Every name from outside (Split, Jira, links.yaml, the command line) is
 * checked against these where it enters; one that is longer is skipped and
 * reported, never passed on.  Together they keep every cache key under
 * LMDB's 511-byte limit: project, flag and issue joined with separators
 * take at most 128 + 1 + 255 + 1 + 64 = 449 bytes.
 */
#ifndef FLAGSYNC_MAXLEN_H
#define FLAGSYNC_MAXLEN_H

#define FS_PROJECT_MAX	128	/* Split project (workspace) name */
#define FS_ENV_MAX	128	/* Split environment name */
#define FS_FLAG_MAX	255	/* flag name */
#define FS_ISSUE_MAX	64	/* Jira issue key */
#define FS_TAG_MAX	255	/* one Split tag */
#define FS_DESC_MAX	65536	/* a flag description, bytes */
#define FS_ID_MAX	128	/* Split ids (workspace, environment, flag) */
#define FS_INSTANCE_MAX	64	/* [plugin NAME] */
/* Links one flag may take from its own tags and description; the rest are
 * reported, so a description quoting 4,000 keys cannot flood the log. */
#define FS_FLAG_LINKS_MAX 100

#endif
