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
#include <string.h>

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

/*
 * Fixed shapes (view.c and event.c write the same members in the same
 * order every time): raw bytes the caller knows to be right at this
 * point, commas and keys included, without the separator bookkeeping.
 * They leave depth, more and keyed as they are: a raw key followed by
 * one of the calls above needs keyed set by the caller.
 *
 * Each tries the buf's room once and writes in place (a constant n
 * makes the copy a few moves); without room, or when a string needs an
 * escape, it writes the same bytes the general way, so the bytes and
 * the errors never depend on the way taken.
 */
/* jsonw_text_raw() without room: buf_append(), the error kept in rc. */
void	jsonw_text_put_slow(struct jsonw_text *w, const char *s, size_t n);
/* The pre bytes put past the buf's end by the caller (room checked),
 * the last of them s's opening quote, then s and its closing quote in
 * place: all counted in len.  false when s needs an escape or does not
 * fit: len and the NUL as they were, the bytes past them scribbled. */
bool	jsonw_text_str_in(struct jsonw_text *w, size_t pre, const char *s);
/* Values without a separator: s (NULL: null), n, an array of strings. */
void	jsonw_text_vstr(struct jsonw_text *w, const char *s);
/* mag, with a minus before when neg */
void	jsonw_text_vnum(struct jsonw_text *w, uint64_t mag, bool neg);
void	jsonw_text_vstrv(struct jsonw_text *w, const char *const *sv,
	    size_t n);
/* Writes the decimal digits of n at d (room for 20); their count, as
 * "%" PRIu64 prints them. */
size_t	jsonw_digits_at(char *d, uint64_t n);

/* Room for n bytes and the NUL after them, within max.  cap is 0 while
 * data is NULL, so no buffer yet fails the first test. */
static inline bool
jsonw_text_room(const struct jsonw_text *w, size_t n)
{
	const struct buf *b = w->b;

	return w->rc == 0 && n < b->cap - b->len && n <= b->max - b->len;
}

static inline void
jsonw_text_raw(struct jsonw_text *w, const char *s, size_t n)
{
	struct buf *b = w->b;

	if (!jsonw_text_room(w, n)) {
		jsonw_text_put_slow(w, s, n);
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}
#define JSONW_TEXT_RAW(w, lit)	jsonw_text_raw((w), lit, sizeof(lit) - 1)

/* key (raw: quoted, with its colon and any comma before) and s. */
static inline void
jsonw_text_kstr(struct jsonw_text *w, const char *key, size_t klen,
    const char *s)
{
	struct buf *b = w->b;

	if (s != NULL && jsonw_text_room(w, klen + 1)) {
		memcpy(b->data + b->len, key, klen);
		b->data[b->len + klen] = '"';
		if (jsonw_text_str_in(w, klen + 1, s))
			return;
	}
	jsonw_text_raw(w, key, klen);
	jsonw_text_vstr(w, s);
}
#define JSONW_TEXT_KSTR(w, lit, s) \
	jsonw_text_kstr((w), lit, sizeof(lit) - 1, (s))

/* key (raw, as above) and the number whose magnitude is mag. */
static inline void
jsonw_text_knum(struct jsonw_text *w, const char *key, size_t klen,
    uint64_t mag, bool neg)
{
	struct buf *b = w->b;
	char *d;

	if (!jsonw_text_room(w, klen + 21)) {
		jsonw_text_raw(w, key, klen);
		jsonw_text_vnum(w, mag, neg);
		return;
	}
	d = b->data + b->len;
	memcpy(d, key, klen);
	d += klen;
	if (neg)
		*d++ = '-';
	/* most numbers of a view are sizes and percentages */
	if (mag < 100) {
		if (mag >= 10)
			*d++ = (char)('0' + mag / 10);
		*d++ = (char)('0' + mag % 10);
	} else
		d += jsonw_digits_at(d, mag);
	*d = '\0';
	b->len = (size_t)(d - b->data);
}

static inline void
jsonw_text_kint(struct jsonw_text *w, const char *key, size_t klen,
    int64_t n)
{
	/* the magnitude as unsigned: INT64_MIN has no positive twin */
	jsonw_text_knum(w, key, klen, n < 0 ? 0 - (uint64_t)n : (uint64_t)n,
	    n < 0);
}
#define JSONW_TEXT_KINT(w, lit, n) \
	jsonw_text_kint((w), lit, sizeof(lit) - 1, (n))
#define JSONW_TEXT_KUINT(w, lit, n) \
	jsonw_text_knum((w), lit, sizeof(lit) - 1, (n), false)

/* key (raw, as above) and "when", a view_format_time() string: digits,
 * '-', 'T', ':' and 'Z', nothing to escape, and 20 bytes but for years
 * before 1000 or after 9999. */
static inline void
jsonw_text_ktime(struct jsonw_text *w, const char *key, size_t klen,
    const char when[32])
{
	struct buf *b = w->b;
	char *d;

	if (strlen(when) != 20 || !jsonw_text_room(w, klen + 22)) {
		jsonw_text_kstr(w, key, klen, when);
		return;
	}
	d = b->data + b->len;
	memcpy(d, key, klen);
	d[klen] = '"';
	memcpy(d + klen + 1, when, 20);
	d[klen + 21] = '"';
	d[klen + 22] = '\0';
	b->len += klen + 22;
}
#define JSONW_TEXT_KTIME(w, lit, when) \
	jsonw_text_ktime((w), lit, sizeof(lit) - 1, (when))

#endif
