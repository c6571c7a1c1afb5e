/*
 * jsonw.h - small json-c helpers shared by the modules that build or read
 * JSON documents (view.c, event.c, poll.c, query.c).
 *
 * json-c's ownership rules, which these keep: json_object_object_add()
 * takes over its value; the helpers below free the value when adding
 * fails, so callers never leak on ENOMEM.
 */
#ifndef FLAGSYNC_JSONW_H
#define FLAGSYNC_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

/* Adds val (NULL meaning its allocation failed) to o, taking it over.
 * 0 or ENOMEM. */
int	jsonw_put(json_object *o, const char *key, json_object *val);
/* Adds key: null. */
int	jsonw_null(json_object *o, const char *key);
/* Adds key: s, or null when s is NULL. */
int	jsonw_str(json_object *o, const char *key, const char *s);
/* A new array of n strings (NULL entries become null), or NULL. */
json_object *jsonw_strv(const char *const *sv, size_t n);
/* Parses exactly len bytes (values in the LMDB map are not
 * NUL-terminated); NULL when they are not one JSON document. */
json_object *jsonw_parse(const char *s, size_t len);

/*
 * JSON text written straight into a buf, without a json-c tree: the same
 * bytes json_object_to_json_string_ext() prints for the tree the same
 * calls would have built (members in the order written, no spaces, json-c's
 * string escapes; JSONW_SLASH escapes '/' as JSON_C_TO_STRING_PLAIN does,
 * without it '/' stays as JSON_C_TO_STRING_NOSLASHESCAPE leaves it).
 * Errors are sticky: the first ENOMEM or EFBIG is kept in rc and later
 * calls do nothing, so a document is written without checking each call.
 */
#define JSONW_DEPTH	32	/* nesting a writer can follow */
#define JSONW_SLASH	0x1

struct jsonw_text {
	struct buf *b;		/* appended to; not owned */
	int	 rc;
	int	 flags;
	unsigned depth;
	uint32_t more;		/* bit d: level d has a member already */
	bool	 keyed;		/* a key was written, its value comes next */
};

void	jsonw_text_init(struct jsonw_text *w, struct buf *b, int flags);
void	jsonw_text_open(struct jsonw_text *w, char brace);	/* { or [ */
void	jsonw_text_close(struct jsonw_text *w, char brace);	/* } or ] */
/* Starts the member key of the object being written. */
void	jsonw_text_key(struct jsonw_text *w, const char *key);
/* The same for a string literal that needs no escape, quoted and with
 * its colon at compile time: a document has dozens of keys. */
#define JSONW_TEXT_KEY(w, lit) \
	jsonw_text_rawkey((w), "\"" lit "\":", sizeof("\"" lit "\":") - 1)
void	jsonw_text_rawkey(struct jsonw_text *w, const char *quoted,
	    size_t n);
/* Values: as an array element, or after jsonw_text_key(). */
void	jsonw_text_str(struct jsonw_text *w, const char *s);	/* NULL: null */
void	jsonw_text_int(struct jsonw_text *w, int64_t n);
void	jsonw_text_uint(struct jsonw_text *w, uint64_t n);
void	jsonw_text_bool(struct jsonw_text *w, bool v);
void	jsonw_text_null(struct jsonw_text *w);
/* An array of n strings (NULL entries are null). */
void	jsonw_text_strv(struct jsonw_text *w, const char *const *sv,
	    size_t n);
/* json-c's escaping of the n bytes of s, quotes not included.  Each
 * byte is escaped (or not) on its own. */
int	jsonw_escape(struct buf *b, const char *s, size_t n, int flags);
/* The bytes jsonw_escape() changes: bit 1 always, bit 2 ('/') with
 * JSONW_SLASH. */
extern const unsigned char jsonw_esc[256];

#endif
