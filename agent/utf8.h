/*
 * utf8.h - UTF-8 from outside made safe to store and to show.
 *
 * Text from Split, Jira or a config file is bytes: it may hold invalid
 * UTF-8 and terminal control sequences.  utf8_repair() makes it valid
 * before it is stored (JSON and the status records want valid UTF-8);
 * utf8_vis() escapes it for a person's terminal, vis(3)-style, so a
 * description cannot clear the screen or move the cursor:
 *
 *	C0 controls, DEL, invalid bytes	\xNN, one per byte
 *	C1 controls (U+0080-U+009F)	\xc2\xNN, the bytes of the character
 *	bidi overrides and isolates,	\u202e and the like: they reorder
 *	line and paragraph separators	or break what follows
 *	backslash			\\
 *	anything else			as is
 *
 * JSON output needs none of this: json-c escapes what JSON must.
 */
#ifndef FLAGSYNC_UTF8_H
#define FLAGSYNC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * The length (1 to 4) of the valid UTF-8 character at p, of which n bytes
 * are there, with its code point in *cp; 0 when the bytes are not one
 * (overlong forms, surrogates and code points past U+10FFFF are not).
 */
size_t	utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

bool	utf8_valid(const char *s, size_t len);

/* Appends s (len bytes), each invalid byte as U+FFFD; 0, ENOMEM, EFBIG. */
int	utf8_repair(const char *s, size_t len, struct buf *out);

/*
 * Appends s (len bytes) escaped as above.  With max > 0, stops before the
 * escaped text would pass max bytes and appends "..." instead of the
 * rest (never cutting a character or an escape).  0, ENOMEM or EFBIG.
 */
int	utf8_vis(const char *s, size_t len, size_t max, struct buf *out);

/* Columns of valid UTF-8 text on a terminal: one per character. */
size_t	utf8_width(const char *s);

#endif
