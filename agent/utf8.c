/* utf8.c - repairing and escaping UTF-8 from outside. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t
utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0)
			return false;
		i += n;
	}
	return true;
}

int
utf8_repair(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;
	int rc = 0;

	/* The empty string is still a string: data must not stay NULL. */
	if (len == 0)
		return buf_puts(out, "");
	while (rc == 0 && i < len) {
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0) {
			rc = buf_puts(out, "\xef\xbf\xbd");	/* U+FFFD */
			i++;
		} else {
			rc = buf_append(out, p + i, n);
			i += n;
		}
	}
	return rc;
}

/* Characters that reorder or break the text around them on a terminal. */
static bool
utf8_is_layout(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) ||	/* embeddings, overrides */
	    (cp >= 0x2066 && cp <= 0x2069) ||		/* isolates */
	    cp == 0x2028 || cp == 0x2029 ||		/* line, paragraph sep. */
	    cp == 0x200e || cp == 0x200f || cp == 0x061c;	/* marks */
}

/* The escaped form of the character (or invalid byte, n == 0) at p. */
static void
utf8_vis_one(const unsigned char *p, size_t n, uint32_t cp, char *e,
    size_t elen)
{
	if (n == 0)
		snprintf(e, elen, "\\x%02x", p[0]);
	else if (cp == '\\')
		snprintf(e, elen, "\\\\");
	else if (cp < 0x20 || cp == 0x7f)
		snprintf(e, elen, "\\x%02x", (unsigned int)cp);
	else if (cp >= 0x80 && cp <= 0x9f)
		snprintf(e, elen, "\\x%02x\\x%02x", p[0], p[1]);
	else if (utf8_is_layout(cp))
		snprintf(e, elen, "\\u%04x", (unsigned int)cp);
	else {
		memcpy(e, p, n);
		e[n] = '\0';
	}
}

int
utf8_vis(const char *s, size_t len, size_t max, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, used = 0, elen;
	char e[16];
	uint32_t cp = 0;
	int rc;

	if ((rc = buf_puts(out, "")) != 0)
		return rc;
	while (rc == 0 && i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		utf8_vis_one(p + i, n, cp, e, sizeof(e));
		elen = strlen(e);
		if (max > 0 && used + elen > max)
			return buf_puts(out, "...");
		rc = buf_append(out, e, elen);
		used += elen;
		i += n ? n : 1;
	}
	return rc;
}

size_t
utf8_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}
