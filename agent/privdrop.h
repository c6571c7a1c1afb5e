/*
 * privdrop.h - who may write the state directory, and becoming them.
 *
 * The cache belongs to the user that runs the service (the owner of
 * state_dir).  Root running `sync`, `run`, `link` or `unlink` against a
 * state_dir another user owns would leave files that user cannot open,
 * so privdrop_to_owner() switches to the owner first: after the
 * configuration and its secrets are read, before the cache is opened.
 * check-config asks privdrop_check_state_dir() whether that user can
 * write there, and the cache asks privdrop_denied_hint() what to tell
 * a user it could not open the cache for.
 *
 * Messages go to caller-owned buffers, one line each, always terminated.
 */
#ifndef FLAGSYNC_PRIVDROP_H
#define FLAGSYNC_PRIVDROP_H

#include <stddef.h>

/*
 * As root, with state_dir owned by another user: sets the groups, gid and
 * uid of that user (its passwd entry, or the directory's uid and gid when
 * it has none) and logs it.  Not root, state_dir owned by root or not
 * there yet: does nothing.  Returns 0, or an errno value with err saying
 * what to run instead (runuser -u OWNER -- flagsync [-c CONFIG] CMD);
 * config is the -c argument, NULL for the default.
 */
int	privdrop_to_owner(const char *state_dir, const char *config,
	    const char *cmd, char *err, size_t errlen);

/*
 * Whether the user that will run the service (state_dir's owner when
 * called as root, else the caller) can write state_dir, or create it
 * (its parent exists and that user can write it).  Returns 0 with what
 * it found in msg ("exists, writable by flagsync"), or FS_ECONFIG with
 * why not in msg.  Creates nothing.
 */
int	privdrop_check_state_dir(const char *state_dir, char *msg,
	    size_t msglen);

/*
 * Why the caller may not open the cache in dir, for a "Permission
 * denied": when the caller is in dir's group already, which file is not
 * group-accessible and the chown that fixes it; otherwise the group to
 * join.
 */
void	privdrop_denied_hint(const char *dir, char *out, size_t outlen);

#endif
