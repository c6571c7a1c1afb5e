/*
 * buf.h - bounded, growable byte buffers (after curl's dynbuf).
 *
 * A buffer never grows past the cap given at init: network answers and
 * generated documents cannot eat the machine.  data is always
 * NUL-terminated once anything has been appended, so text can be used as a
 * C string directly.  The struct owns data; buf_release() frees it.
 */
#ifndef FLAGSYNC_BUF_H
#define FLAGSYNC_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len;		/* bytes used, excluding the trailing NUL */
	size_t	 cap;		/* bytes allocated */
	size_t	 max;		/* hard cap on len; 0 means SIZE_MAX */
};

void	buf_init(struct buf *b, size_t max);
/* Returns 0, ENOMEM, or EFBIG when the cap would be exceeded (b unchanged). */
int	buf_append(struct buf *b, const void *p, size_t n);
int	buf_puts(struct buf *b, const char *s);
int	buf_putc(struct buf *b, char c);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Makes len bytes available as data (contents unspecified beyond the old
 * length), NUL-terminated; 0, ENOMEM or EFBIG. */
int	buf_resize(struct buf *b, size_t len);
/* Empties the buffer, keeping its memory. */
void	buf_reset(struct buf *b);
/* Frees the memory; the buffer may be reused after buf_init(). */
void	buf_release(struct buf *b);
/* Hands data to the caller (who frees it) and empties the buffer. */
char	*buf_detach(struct buf *b);
/* "" when empty, never NULL. */
const char *buf_str(const struct buf *b);

#endif
