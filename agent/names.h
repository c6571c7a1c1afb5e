/*
 * names.h - one check for a name from outside (links.yaml, the command
 * line) against its limit in maxlen.h, and one way to quote a name that
 * failed it.
 *
 * A name that is too long, empty or holds a control character is refused
 * where it enters; the message shows it shortened and escaped, so that a
 * 100 KB or binary "name" cannot flood or break a log line.
 */
#ifndef FLAGSYNC_NAMES_H
#define FLAGSYNC_NAMES_H

#include <stddef.h>

/* Room name_show() needs: 40 shown bytes, each at most 4 escaped. */
#define NAME_SHOW_MAX	(40 * 4 + 32)

/*
 * 0 when name is 1..max bytes without a control character; ENAMETOOLONG
 * when longer, EINVAL when empty or holding a control character.
 */
int	name_check(const char *name, size_t max);
/*
 * Writes name into dst (len bytes, NUL-terminated) for a message: the
 * first 40 bytes, control bytes and quotes as \xNN, then "... (N bytes)"
 * when it was longer.  Returns dst.
 */
char	*name_show(char *dst, size_t len, const char *name);

#endif
