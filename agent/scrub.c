/* scrub.c - secrets out of every line before it leaves the process. */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "buf.h"
#include "scrub.h"

#define SCRUB_MASK		"***"
#define SCRUB_TOKEN_MIN		20	/* shortest string taken for a token */
#define SCRUB_DISTINCT_MIN	12	/* different characters in a token */
#define SCRUB_STDERR_BUF	65536	/* longest line scrubbed whole */

struct secret {
	char	*s;
	size_t	 len;
};

static pthread_mutex_t scrub_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct secret *scrub_v;
static size_t scrub_n, scrub_cap;

static const char scrub_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Takes ownership of s (wiped and freed on failure or duplicate). */
static int
scrub_add_owned(char *s, size_t len)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&scrub_mtx);
	for (i = 0; i < scrub_n; i++)
		if (scrub_v[i].len == len && memcmp(scrub_v[i].s, s, len) == 0)
			goto s_wipe;
	if ((rc = ARRAY_GROW(scrub_v, scrub_cap, scrub_n + 1)) != 0)
		goto s_wipe;
	scrub_v[scrub_n].s = s;
	scrub_v[scrub_n].len = len;
	scrub_n++;
	pthread_mutex_unlock(&scrub_mtx);
	return 0;
s_wipe:
	pthread_mutex_unlock(&scrub_mtx);
	explicit_bzero(s, len);
	free(s);
	return rc;
}

int
scrub_add(const char *secret)
{
	char *s;

	if (secret == NULL || strlen(secret) < SCRUB_MIN)
		return 0;
	if ((s = strdup(secret)) == NULL)
		return ENOMEM;
	return scrub_add_owned(s, strlen(s));
}

int
scrub_add_basic(const char *user, const char *secret)
{
	size_t ulen, slen, n, i, o;
	unsigned char *in;
	char *out;
	uint32_t v;

	if (user == NULL || secret == NULL || strlen(secret) < SCRUB_MIN)
		return 0;
	ulen = strlen(user);
	slen = strlen(secret);
	n = ulen + 1 + slen;
	if ((in = malloc(n)) == NULL)
		return ENOMEM;
	memcpy(in, user, ulen);
	in[ulen] = ':';
	memcpy(in + ulen + 1, secret, slen);
	if ((out = malloc((n + 2) / 3 * 4 + 1)) == NULL) {
		explicit_bzero(in, n);
		free(in);
		return ENOMEM;
	}
	/* Without the '=' padding, so an unpadded copy is caught too. */
	for (i = 0, o = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = scrub_b64[(v >> 18) & 63];
		out[o++] = scrub_b64[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = scrub_b64[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = scrub_b64[v & 63];
	}
	out[o] = '\0';
	explicit_bzero(in, n);
	free(in);
	return scrub_add_owned(out, o);
}

void
scrub_forget(void)
{
	size_t i;

	pthread_mutex_lock(&scrub_mtx);
	for (i = 0; i < scrub_n; i++) {
		explicit_bzero(scrub_v[i].s, scrub_v[i].len);
		free(scrub_v[i].s);
	}
	free(scrub_v);
	scrub_v = NULL;
	scrub_n = scrub_cap = 0;
	pthread_mutex_unlock(&scrub_mtx);
}

/* A character that may stand in a URL's authority part. */
static int
scrub_authority_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("/?#\"'<>\\`{}|^[]", c) == NULL;
}

/*
 * At "://" in s (position i): the length of "user[:pass]@" after it, or
 * 0 when the authority holds no '@'.
 */
static size_t
scrub_userinfo(const char *s, size_t len, size_t i)
{
	size_t j, at = 0;

	for (j = i + 3; j < len && scrub_authority_char((unsigned char)s[j]);
	    j++)
		if (s[j] == '@')
			at = j;
	return at > i + 3 ? at + 1 - (i + 3) : 0;
}

/* The length of the registered secret starting at s[i], or 0. */
static size_t
scrub_match_nolock(const char *s, size_t len, size_t i)
{
	size_t k, best = 0;

	for (k = 0; k < scrub_n; k++) {
		if (scrub_v[k].len > len - i || scrub_v[k].len <= best)
			continue;
		if (memcmp(s + i, scrub_v[k].s, scrub_v[k].len) == 0)
			best = scrub_v[k].len;
	}
	return best;
}

/* True when s[i..len) is the start of a secret, at least SCRUB_MIN long:
 * what is left of one when the text was cut short. */
static int
scrub_tail_nolock(const char *s, size_t len, size_t i)
{
	size_t k;

	if (len - i < SCRUB_MIN)
		return 0;
	for (k = 0; k < scrub_n; k++)
		if (scrub_v[k].len > len - i &&
		    memcmp(s + i, scrub_v[k].s, len - i) == 0)
			return 1;
	return 0;
}

int
scrub_buf(struct buf *b, const char *src, size_t len)
{
	size_t i, start = 0, n;
	int rc = 0;

	pthread_mutex_lock(&scrub_mtx);
	for (i = 0; i < len && rc == 0; ) {
		if (len - i >= 3 && memcmp(src + i, "://", 3) == 0 &&
		    (n = scrub_userinfo(src, len, i)) > 0) {
			if ((rc = buf_append(b, src + start, i + 3 - start)) ||
			    (rc = buf_puts(b, SCRUB_MASK "@")))
				break;
			i += 3 + n;
			start = i;
		} else if ((n = scrub_match_nolock(src, len, i)) > 0 ||
		    scrub_tail_nolock(src, len, i)) {
			if (n == 0)
				n = len - i;
			if ((rc = buf_append(b, src + start, i - start)) ||
			    (rc = buf_puts(b, SCRUB_MASK)))
				break;
			i += n;
			start = i;
		} else
			i++;
	}
	pthread_mutex_unlock(&scrub_mtx);
	if (rc == 0 && start < len)
		rc = buf_append(b, src + start, len - start);
	return rc;
}

char *
scrub_copy(char *dst, size_t dstlen, const char *src)
{
	struct buf b;
	size_t n;

	if (dstlen == 0)
		return dst;
	buf_init(&b, 0);
	if (scrub_buf(&b, src, strlen(src)) != 0) {
		/* Nothing unscrubbed may leave: say less rather than leak. */
		snprintf(dst, dstlen, "(message withheld: out of memory)");
		goto b_release;
	}
	n = b.len < dstlen - 1 ? b.len : dstlen - 1;
	memcpy(dst, buf_str(&b), n);
	dst[n] = '\0';
b_release:
	if (b.data != NULL)
		explicit_bzero(b.data, b.cap);
	buf_release(&b);
	return dst;
}

int
scrub_is_secret(const char *s)
{
	size_t i, len = strlen(s);
	int found = 0;

	pthread_mutex_lock(&scrub_mtx);
	for (i = 0; i < scrub_n && !found; i++)
		found = scrub_v[i].len == len && memcmp(scrub_v[i].s, s,
		    len) == 0;
	pthread_mutex_unlock(&scrub_mtx);
	return found;
}

int
scrub_looks_secret(const char *s)
{
	unsigned char seen[256] = { 0 };
	size_t i, len = strlen(s), distinct = 0;
	int alpha = 0, digit = 0;

	if (scrub_is_secret(s))
		return 1;
	/* URLs and paths are shown: they are what errors are about. */
	if (len < SCRUB_TOKEN_MIN || s[0] == '/' || strstr(s, "://") != NULL)
		return 0;
	for (i = 0; i < len; i++) {
		if (isspace((unsigned char)s[i]))
			return 0;
		alpha |= isalpha((unsigned char)s[i]) != 0;
		digit |= isdigit((unsigned char)s[i]) != 0;
		if (!seen[(unsigned char)s[i]]++)
			distinct++;
	}
	/* Random keys use many characters; words and names repeat theirs. */
	return alpha && digit && distinct >= SCRUB_DISTINCT_MIN;
}

/* stderr's writer: scrubs what stdio hands over, then write(2)s it. */
static ssize_t
scrub_stderr_write(void *cookie, const char *data, size_t len)
{
	struct buf b;
	size_t off = 0;
	ssize_t n;

	(void)cookie;
	buf_init(&b, 0);
	if (scrub_buf(&b, data, len) != 0) {
		buf_reset(&b);
		if (buf_puts(&b, "flagsync: (message withheld: out of "
		    "memory)\n") != 0)
			return (ssize_t)len;
	}
	while (off < b.len) {
		n = write(STDERR_FILENO, b.data + off, b.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf_release(&b);
	/* stdio must not retry a line: it was written or cannot be. */
	return (ssize_t)len;
}

int
scrub_stderr(void)
{
	static const cookie_io_functions_t io = {
		.read = NULL, .write = scrub_stderr_write, .seek = NULL,
		.close = NULL,
	};
	FILE *fp;

	if ((fp = fopencookie(NULL, "w", io)) == NULL)
		return errno ? errno : ENOMEM;
	/* Whole lines, so a secret is never split across two writes. */
	if (setvbuf(fp, NULL, _IOLBF, SCRUB_STDERR_BUF) != 0) {
		fclose(fp);
		return ENOMEM;
	}
	fflush(stderr);
	stderr = fp;
	return 0;
}
