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
	k->builtin = false;
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
	/* Only the very text: an equivalent spelling goes through the
	 * regex, which is how the tests hold the two side by side. */
	k->builtin = strcmp(pattern, KEYS_DEFAULT_PATTERN) == 0;
	return 0;
}

void
keys_release(struct keys *k)
{
	if (k->compiled)
		regfree(&k->re);
	k->compiled = false;
}

static bool
keys_is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
keys_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
keys_is_key_char(char c)
{
	return keys_is_upper(c) || keys_is_digit(c);
}

/*
 * The length of the default pattern's match at s, 0 for none.  The run
 * of [A-Z0-9] after the first capital cannot give back characters ('-'
 * is none of them), so the match at s is unique: a capital, a run of 1
 * to 9, '-', and every digit that follows (leftmost-longest, as
 * regexec() takes it).
 */
static size_t
keys_builtin_at(const char *s)
{
	size_t i, j;

	if (!keys_is_upper(s[0]))
		return 0;
	for (i = 1; i <= 10 && keys_is_key_char(s[i]); i++)
		;
	if (i < 2 || i > 10 || s[i] != '-' || !keys_is_digit(s[i + 1]))
		return 0;
	for (j = i + 1; keys_is_digit(s[j]); j++)
		;
	return j;
}

/* All of s (len bytes, len > 0) matches the pattern. */
static bool
keys_match_whole(const struct keys *k, const char *s, size_t len)
{
	regmatch_t m;

	if (!k->compiled || len == 0)
		return false;
	/* a match at 0 is the leftmost, so it is the regex's */
	if (k->builtin)
		return keys_builtin_at(s) == len;
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

/* The match [so, eo) as a key, or as a long match for long_cb. */
static int
keys_found(const char *text, size_t so, size_t eo, keys_cb cb,
    keys_long_cb long_cb, void *arg)
{
	if (eo - so <= KEYS_MAX_LEN)
		return keys_emit(text, so, eo, cb, arg);
	return long_cb ? long_cb(arg, text + so, eo - so) : 0;
}

/*
 * keys_scan_ex() for the default pattern.  Every match holds one '-',
 * the first byte after its start that is no [A-Z0-9]; a match standing
 * as a token starts where the run of [A-Z0-9] before that '-' starts
 * (a start inside the run follows a word character).  So each '-' has
 * at most one key, found from the '-' back and forth, and most
 * descriptions, holding no '-', cost one strchr().  Matches never
 * overlap, so this finds what the regex scan finds, in its order.
 */
static int
keys_scan_builtin(const char *text, keys_cb cb, keys_long_cb long_cb,
    void *arg)
{
	const char *dash, *b;
	size_t so, eo;
	int rc;

	for (dash = strchr(text, '-'); dash != NULL;
	    dash = strchr(dash + 1, '-')) {
		for (b = dash; b > text && dash - b <= 10 &&
		    keys_is_key_char(b[-1]); b--)
			;
		if (b > text && keys_is_word_char(b[-1]))
			continue;
		/* the run b..dash is whole: a match at b ends past dash */
		if ((eo = keys_builtin_at(b)) == 0)
			continue;
		so = (size_t)(b - text);
		eo += so;
		if (keys_is_word_char(text[eo]))
			continue;
		if ((rc = keys_found(text, so, eo, cb, long_cb, arg)) != 0)
			return rc;
	}
	return 0;
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
	if (k->builtin)
		return keys_scan_builtin(text, cb, long_cb, arg);
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
		if ((rc = keys_found(text, so, eo, cb, long_cb, arg)) != 0)
			return rc;
		pos = eo;
	}
	return 0;
}
