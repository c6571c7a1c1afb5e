/*
 * keys.h - Jira issue keys in Split tags and descriptions.
 *
 * A key is a match of issue_key_pattern (POSIX extended regex) standing
 * as a whole token: the characters around it are not letters, digits or
 * '_' ("XSHOP-12Y" and "shop-2" hold no key for the default pattern).
 * Matching is case-sensitive, as Jira keys are.
 *
 * The default pattern is matched by hand (keys.c), not by regexec(): a
 * listing scans every description, and the regex cost more than the rest
 * of reading the flag.  Both give the same keys (keys_test.c compares
 * them); a configured pattern always goes through the regex.
 *
 * Ownership: struct keys owns its compiled regex; keys_release() frees it.
 */
#ifndef FLAGSYNC_KEYS_H
#define FLAGSYNC_KEYS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "maxlen.h"

#define KEYS_DEFAULT_PATTERN	"[A-Z][A-Z0-9]{1,9}-[0-9]+"
#define KEYS_MAX_LEN		FS_ISSUE_MAX	/* maxlen.h */

struct keys {
	regex_t	 re;
	bool	 compiled;
	bool	 builtin;	/* the default pattern: matched by hand */
};

/* 0, or FS_ECONFIG with err holding regerror()'s words. */
int	keys_init(struct keys *k, const char *pattern, char *err, size_t errlen);
void	keys_release(struct keys *k);

/* True when all of s is one key (a tag). */
bool	keys_is_key(const struct keys *k, const char *s);
/* True when all of s matches the pattern but is longer than KEYS_MAX_LEN:
 * no key, yet worth reporting. */
bool	keys_is_long_key(const struct keys *k, const char *s);

/* Calls cb for each whole-token key in text, in order (duplicates
 * included).  cb's key is NUL-terminated and borrowed for the call.  A
 * non-zero return from cb stops the scan and is returned. */
typedef int (*keys_cb)(void *arg, const char *key);
int	keys_scan(const struct keys *k, const char *text, keys_cb cb, void *arg);
/* As keys_scan, and calls long_cb (may be NULL) for each whole-token
 * match longer than KEYS_MAX_LEN: text is where it starts, len its
 * length (it is not NUL-terminated there). */
typedef int (*keys_long_cb)(void *arg, const char *text, size_t len);
int	keys_scan_ex(const struct keys *k, const char *text, keys_cb cb,
	    keys_long_cb long_cb, void *arg);

#endif
