/* names.c - names from outside: checked against maxlen.h, shown safely. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

#define NAME_SHOW_BYTES	40

int
name_check(const char *name, size_t max)
{
	size_t len = strlen(name), i;

	if (len == 0)
		return EINVAL;
	if (len > max)
		return ENAMETOOLONG;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return EINVAL;
	return 0;
}

char *
name_show(char *dst, size_t len, const char *name)
{
	size_t n = strlen(name), i, o = 0;
	unsigned char ch;

	if (len == 0)
		return dst;
	for (i = 0; i < n && i < NAME_SHOW_BYTES && o + 5 < len; i++) {
		ch = (unsigned char)name[i];
		if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch == '\\')
			o += (size_t)snprintf(dst + o, len - o, "\\x%02x", ch);
		else
			dst[o++] = (char)ch;
	}
	/* Never end on half a UTF-8 character. */
	while (i < n && i > 0 && o > 0 &&
	    ((unsigned char)name[i] & 0xc0) == 0x80) {
		i--;
		o--;
	}
	dst[o] = '\0';
	if (i < n)
		snprintf(dst + o, len - o, "... (%zu bytes)", n);
	return dst;
}
