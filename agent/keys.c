/* keys.c - finding Jira issue keys with a POSIX extended regex. */
#include "autoconf.h"

#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "keys.h"

int
keys_init(struct keys *k, const char *pattern, char *err, size_t errlen)
{
	int rc;

	k->compiled = false;
	if (pattern == NULL)
		pattern = KEYS_DEFAULT_PATTERN;
	rc = regcomp(&k->re, pattern, REG_EXTENDED);
	if (rc != 0) {
		if (errlen > 0)
			regerror(rc, &k->re, err, errlen);
		/* regcomp() may hold memory even when it fails. */
		regfree(&k->re);
		return FS_ECONFIG;
	}
	k->compiled = true;
	return 0;
}

void
keys_release(struct keys *k)
{
	if (k->compiled)
		regfree(&k->re);
	k->compiled = false;
}

/* All of s (len bytes, len > 0) matches the pattern. */
static bool
keys_match_whole(const struct keys *k, const char *s, size_t len)
{
	regmatch_t m;

	if (!k->compiled || len == 0)
		return false;
	/* Leftmost-longest: a whole-string match shows as [0, len). */
	if (regexec(&k->re, s, 1, &m, 0) != 0)
		return false;
	return m.rm_so == 0 && (size_t)m.rm_eo == len;
}

bool
keys_is_key(const struct keys *k, const char *s)
{
	size_t len = strlen(s);

	return len <= KEYS_MAX_LEN && keys_match_whole(k, s, len);
}

bool
keys_is_long_key(const struct keys *k, const char *s)
{
	size_t len = strlen(s);

	return len > KEYS_MAX_LEN && keys_match_whole(k, s, len);
}

static bool
keys_is_word_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* The match [so, eo) of text stands as a whole token. */
static bool
keys_is_token(const char *text, size_t so, size_t eo)
{
	if (so > 0 && keys_is_word_char(text[so - 1]))
		return false;
	return !keys_is_word_char(text[eo]);
}

/* The offset of the character after the one at pos, stepping over UTF-8
 * continuation bytes so that a search never starts inside a character. */
static size_t
keys_next_char(const char *text, size_t pos)
{
	if (text[pos] != '\0')
		pos++;
	while (((unsigned char)text[pos] & 0xc0) == 0x80)
		pos++;
	return pos;
}

static int
keys_emit(const char *text, size_t so, size_t eo, keys_cb cb, void *arg)
{
	char key[KEYS_MAX_LEN + 1];

	memcpy(key, text + so, eo - so);
	key[eo - so] = '\0';
	return cb(arg, key);
}

int
keys_scan(const struct keys *k, const char *text, keys_cb cb, void *arg)
{
	return keys_scan_ex(k, text, cb, NULL, arg);
}

int
keys_scan_ex(const struct keys *k, const char *text, keys_cb cb,
    keys_long_cb long_cb, void *arg)
{
	regmatch_t m;
	size_t len, pos, so, eo;
	int rc;

	if (!k->compiled)
		return EINVAL;
	len = strlen(text);
	pos = 0;
	while (pos < len) {
		/* Only the real start of text is a beginning of line. */
		rc = regexec(&k->re, text + pos, 1, &m,
		    pos > 0 ? REG_NOTBOL : 0);
		if (rc == REG_NOMATCH)
			break;
		if (rc != 0)
			return ENOMEM;
		so = pos + (size_t)m.rm_so;
		eo = pos + (size_t)m.rm_eo;
		if (eo == so || !keys_is_token(text, so, eo)) {
			/* A shorter, later match may still be a token:
			 * "XSHOP-12 SHOP-3". */
			pos = keys_next_char(text, so);
			continue;
		}
		if (eo - so <= KEYS_MAX_LEN)
			rc = keys_emit(text, so, eo, cb, arg);
		else
			rc = long_cb ? long_cb(arg, text + so, eo - so) : 0;
		if (rc != 0)
			return rc;
		pos = eo;
	}
	return 0;
}
