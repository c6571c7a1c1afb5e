/*
 * scrub.h - the one place secrets are taken out of text before it is
 * logged, stored (dead letters, last_error, source status) or printed.
 *
 * config.c registers each secret once, when it reads it: the Split Admin
 * API key, the Jira API token and the base64 "email:token" that Jira's
 * Basic authentication sends.  scrub_copy() and scrub_buf() then replace
 * every registered secret by "***", a trailing fragment of one (text cut
 * short mid-secret) too, and the userinfo of any URL
 * ("https://user:pass@host" becomes "https://" "***" "@host").  log.c
 * runs every line through here, and scrub_stderr() filters everything
 * else written to stderr (the CLI's messages, a plugin's own prints).
 *
 * The registry is process-wide and guarded by a mutex: any thread may
 * scrub while config.c registers the secrets of a reloaded file.  It keeps
 * its own copies, wiped by scrub_forget().
 */
#ifndef FLAGSYNC_SCRUB_H
#define FLAGSYNC_SCRUB_H

#include <stddef.h>

#include "buf.h"

/* Shorter secrets are not registered: "***" for every "abc" would make
 * logs unreadable and hide nothing a guess would not find. */
#define SCRUB_MIN	4

/* Registers secret (copied).  0, or ENOMEM; NULL and short ones: 0. */
int	scrub_add(const char *secret);
/* Registers base64(user ":" secret), the Basic credential.  0 or ENOMEM. */
int	scrub_add_basic(const char *user, const char *secret);
/* Wipes and forgets every registered secret. */
void	scrub_forget(void);

/*
 * Copies src into dst (dstlen bytes, always NUL-terminated when dstlen >
 * 0) with the secrets and URL userinfo replaced; returns dst.  A result
 * cut short by dstlen is cut after scrubbing, so it never shows part of a
 * secret.  dst and src may be the same buffer.
 */
char	*scrub_copy(char *dst, size_t dstlen, const char *src);
/* Appends src, scrubbed, to b.  0, ENOMEM or EFBIG. */
int	scrub_buf(struct buf *b, const char *src, size_t len);

/* True when s equals a registered secret. */
int	scrub_is_secret(const char *s);
/*
 * True when s should not be echoed in an error: a registered secret, or
 * something shaped like an API token (long, no spaces, mixed letters and
 * digits, high entropy) that was pasted into the wrong key.
 */
int	scrub_looks_secret(const char *s);

/*
 * Replaces stderr by a line-buffered stream that scrubs what it is given
 * before writing it to descriptor 2.  0 or an errno value (stderr is then
 * left as it was).
 */
int	scrub_stderr(void);

#endif
