/*
 * feedparse.h - reads a splitChanges answer (spec 1.1, the legacy shape)
 * as it streams in, without building it in memory.
 *
 *   {"splits": [{"name": "...", "status": "ACTIVE", ...}, ...],
 *    "since": N, "till": M}
 *
 * A first answer (since=-1) lists every flag of the environment, which
 * for a large account is tens of megabytes; flagsync needs only each
 * flag's name and whether it is archived, and the two change numbers.
 * So the parser is a small JSON state machine fed in pieces of any size:
 * it checks the whole text is strict JSON (nesting at most
 * FEEDPARSE_DEPTH), keeps those few fields and skips everything else.
 *
 * A split whose name is not a string, is longer than FS_FLAG_MAX, holds
 * invalid UTF-8 or a NUL, or whose status is not a string, is still
 * handed to the callback with `invalid` saying why (one bad item does
 * not fail the answer); anything else that is not the documented shape
 * is FS_EPROTO.
 *
 * Ownership: the caller owns the struct feedparse (feedparse_init /
 * feedparse_release); a struct feed_change is borrowed for the callback.
 */
#ifndef FLAGSYNC_FEEDPARSE_H
#define FLAGSYNC_FEEDPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maxlen.h"

#define FEEDPARSE_DEPTH		64	/* as split.c allows the Admin API */
#define FEEDPARSE_KEY_MAX	32	/* longer keys are none of ours */
#define FEEDPARSE_NUM_MAX	40	/* bytes of one number */

/* One flag the feed reports. */
struct feed_change {
	const char *name;	/* "" when it has none */
	bool	 archived;	/* status other than ACTIVE: the flag is gone */
	const char *invalid;	/* why it cannot be used, or NULL */
};

/* Returns 0 to go on; anything else stops the parse and is returned. */
typedef int (*feed_change_cb)(void *arg, const struct feed_change *c);

struct feedparse {
	feed_change_cb cb;
	void	*arg;
	char	 stack[FEEDPARSE_DEPTH];	/* '{' or '[' per level */
	int	 depth;
	int	 expect;	/* what the grammar allows next */
	int	 lex;		/* inside a string, number or literal */
	int	 slot;		/* where the current scalar goes */
	int	 key1;		/* the root member being read */
	int	 key3;		/* the split member being read */
	/* the scalar being read: */
	char	 tok[FS_FLAG_MAX + 8];	/* decoded; longer ones counted */
	size_t	 ntok;		/* bytes kept */
	size_t	 tok_len;	/* bytes it has in all */
	uint32_t uhex;		/* the \u escape being read */
	int	 nhex;
	uint32_t surrogate;	/* a high surrogate waiting for its pair */
	/* the split being read: */
	char	 name[FS_FLAG_MAX + 1];
	bool	 has_name;
	const char *bad;	/* why it is invalid, or NULL */
	bool	 has_status;
	bool	 archived;
	/* the root: */
	int64_t	 since, till;
	bool	 has_since, has_till, has_splits;
	uint64_t offset;	/* bytes read, for messages */
	int	 rc;		/* first error, sticky */
	char	 err[256];
};

void	feedparse_init(struct feedparse *fp, feed_change_cb cb, void *arg);

/*
 * Reads the next len bytes.  Returns 0, FS_EPROTO (fp->err says what and
 * at which byte), or the callback's error; after an error every later
 * call returns it again.
 */
int	feedparse_push(struct feedparse *fp, const char *data, size_t len);

/*
 * The end of the answer: 0 with *since and *till when it was a whole
 * answer of the documented shape, else FS_EPROTO.
 */
int	feedparse_finish(struct feedparse *fp, int64_t *since, int64_t *till);

#endif
