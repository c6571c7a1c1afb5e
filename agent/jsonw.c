/* jsonw.c - small json-c helpers. */
#include "autoconf.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "jsonw.h"

int
jsonw_put(json_object *o, const char *key, json_object *val)
{
	if (val == NULL)
		return ENOMEM;
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return ENOMEM;
	}
	return 0;
}

int
jsonw_null(json_object *o, const char *key)
{
	return json_object_object_add(o, key, NULL) != 0 ? ENOMEM : 0;
}

int
jsonw_str(json_object *o, const char *key, const char *s)
{
	if (s == NULL)
		return jsonw_null(o, key);
	return jsonw_put(o, key, json_object_new_string(s));
}

json_object *
jsonw_strv(const char *const *sv, size_t n)
{
	json_object *a, *s;
	size_t i;

	if ((a = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s = sv[i] ? json_object_new_string(sv[i]) : NULL;
		if ((sv[i] != NULL && s == NULL) ||
		    json_object_array_add(a, s) != 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

json_object *
jsonw_parse(const char *s, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && tok->char_offset != (int)len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* ------------------------------------------------------------ text */

/* 1: json-c escapes the byte (2: only '/', with JSONW_SLASH). */
const unsigned char jsonw_esc[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1, ['/'] = 2,
};

/* Whether any of the n bytes of s needs an escape. */
static bool
jsonw_needs_escape(const char *s, size_t n, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char mask = flags & JSONW_SLASH ? 3 : 1;
	size_t i;

	for (i = 0; i < n; i++)
		if (jsonw_esc[p[i]] & mask)
			return true;
	return false;
}

/* buf_append() without its calls when b has room: escaped text comes
 * in short runs. */
static int
jsonw_buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->data == NULL || n >= b->cap - b->len || n > b->max - b->len)
		return buf_append(b, s, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
jsonw_escape(struct buf *b, const char *s, size_t n, int flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	unsigned char mask = flags & JSONW_SLASH ? 3 : 1;
	size_t i, start = 0;
	char esc[6];
	size_t elen;
	int rc;

	for (i = 0; i < n; i++) {
		if (!(jsonw_esc[p[i]] & mask))
			continue;
		elen = 2;
		switch (p[i]) {
		case '\b': esc[1] = 'b'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\f': esc[1] = 'f'; break;
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '/': esc[1] = '/'; break;
		default:
			/* as json-c: \u00 and two lowercase hex digits */
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			elen = 6;
			break;
		}
		esc[0] = '\\';
		if ((rc = jsonw_buf_put(b, s + start, i - start)) != 0 ||
		    (rc = jsonw_buf_put(b, esc, elen)) != 0)
			return rc;
		start = i + 1;
	}
	return jsonw_buf_put(b, s + start, n - start);
}

void
jsonw_text_init(struct jsonw_text *w, struct buf *b, int flags)
{
	w->b = b;
	w->rc = 0;
	w->flags = flags;
	w->depth = 0;
	w->more = 0;
	w->keyed = false;
}

void
jsonw_text_put_slow(struct jsonw_text *w, const char *s, size_t n)
{
	if (w->rc == 0)
		w->rc = buf_append(w->b, s, n);
}

/* In place when the buffer has room: a document is written a few bytes
 * at a time. */
static inline void
jsonw_text_put(struct jsonw_text *w, const char *s, size_t n)
{
	jsonw_text_raw(w, s, n);
}

/* A value's separator: none after its key, else a comma when the array
 * (or the top level) has an element already. */
static inline void
jsonw_text_sep(struct jsonw_text *w)
{
	uint32_t bit;

	if (w->keyed) {
		w->keyed = false;
		return;
	}
	if (w->depth == 0)
		return;
	bit = 1u << (w->depth - 1);
	if (w->more & bit)
		jsonw_text_put(w, ",", 1);
	w->more |= bit;
}

void
jsonw_text_open(struct jsonw_text *w, char brace)
{
	jsonw_text_sep(w);
	jsonw_text_put(w, &brace, 1);
	if (w->rc == 0 && w->depth >= JSONW_DEPTH)
		w->rc = EINVAL;
	if (w->rc != 0)
		return;
	w->depth++;
	w->more &= ~(1u << (w->depth - 1));
}

void
jsonw_text_close(struct jsonw_text *w, char brace)
{
	jsonw_text_put(w, &brace, 1);
	if (w->rc == 0 && w->depth > 0)
		w->depth--;
}

/*
 * "s" and the t bytes of tail written in place in one pass that finds
 * s's end, copies it and checks it needs no escape (NUL is one of the
 * bytes jsonw_esc marks); false, with nothing written, when s needs an
 * escape or does not fit.
 */
static bool
jsonw_text_quoted_fast(struct jsonw_text *w, const char *s,
    const char *tail, size_t t)
{
	struct buf *b = w->b;
	unsigned char mask = w->flags & JSONW_SLASH ? 3 : 1, c;
	size_t avail;
	char *d, *p, *lim;

	if (b->data == NULL)
		return false;
	/* the room for bytes and the NUL after them, within max */
	avail = b->cap - b->len - 1;
	if (avail > b->max - b->len)
		avail = b->max - b->len;
	if (avail < t + 2)
		return false;
	d = b->data + b->len;
	lim = d + avail - t - 1;	/* the closing quote goes before */
	p = d;
	*p++ = '"';
	for (;;) {
		c = (unsigned char)*s++;
		if (jsonw_esc[c] & mask)
			break;
		if (p >= lim)
			break;
		*p++ = (char)c;
	}
	if (c != '\0') {
		*d = '\0';	/* the buf's NUL where it was */
		return false;
	}
	*p++ = '"';
	memcpy(p, tail, t);
	p += t;
	*p = '\0';
	b->len += (size_t)(p - d);
	return true;
}

static void
jsonw_text_quoted(struct jsonw_text *w, const char *s, const char *tail,
    size_t t)
{
	char small[128];
	size_t n;

	if (w->rc != 0)
		return;
	/* the usual case: nothing to escape, and room: written in place */
	if (jsonw_text_quoted_fast(w, s, tail, t))
		return;
	n = strlen(s);
	/* else nothing to escape: one append */
	if (n + t + 2 <= sizeof(small) &&
	    !jsonw_needs_escape(s, n, w->flags)) {
		small[0] = '"';
		memcpy(small + 1, s, n);
		small[n + 1] = '"';
		memcpy(small + n + 2, tail, t);
		jsonw_text_put(w, small, n + t + 2);
		return;
	}
	jsonw_text_put(w, "\"", 1);
	if (w->rc == 0)
		w->rc = jsonw_escape(w->b, s, n, w->flags);
	jsonw_text_put(w, "\"", 1);
	jsonw_text_put(w, tail, t);
}

void
jsonw_text_key(struct jsonw_text *w, const char *key)
{
	jsonw_text_sep(w);
	jsonw_text_quoted(w, key, ":", 1);
	w->keyed = true;
}

void
jsonw_text_rawkey(struct jsonw_text *w, const char *quoted, size_t n)
{
	jsonw_text_sep(w);
	jsonw_text_put(w, quoted, n);
	w->keyed = true;
}

void
jsonw_text_str(struct jsonw_text *w, const char *s)
{
	if (s == NULL) {
		jsonw_text_null(w);
		return;
	}
	jsonw_text_sep(w);
	jsonw_text_quoted(w, s, "", 0);
}

/* 1: the bytes that end a plain copy, those json-c escapes (NUL among
 * them); [1] with '/', for JSONW_SLASH. */
static const unsigned char jsonw_stop[2][256] = {
	{
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
	}, {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1, ['/'] = 1,
	},
};

/* Byte k of a four-byte step: copied, or the step ends before it. */
#define JSONW_STEP(k) do {						\
	c = (unsigned char)s[k];					\
	if (stop[c]) {							\
		s += k;							\
		p += k;							\
		goto bytes;						\
	}								\
	p[k] = (char)c;							\
} while (0)

bool
jsonw_text_str_in(struct jsonw_text *w, size_t pre, const char *s)
{
	const unsigned char *stop =
	    jsonw_stop[(w->flags & JSONW_SLASH) != 0];
	struct buf *b = w->b;
	size_t avail;
	unsigned char c;
	char *base, *p, *lim;

	/* the room for bytes and the NUL after them, within max */
	avail = b->cap - b->len - 1;
	if (avail > b->max - b->len)
		avail = b->max - b->len;
	base = b->data + b->len;
	if (avail < pre + 1)
		goto undo;
	lim = base + avail - 1;		/* the last place for the quote */
	p = base + pre;
	/*
	 * NUL is one of the stop bytes: one test ends the string and finds
	 * an escape.  Four bytes a step while the room holds four (one
	 * room test for four bytes, half the instructions a byte), then
	 * one at a time; s is read up to its NUL only.
	 */
	while (lim - p >= 4) {
		JSONW_STEP(0);
		JSONW_STEP(1);
		JSONW_STEP(2);
		JSONW_STEP(3);
		s += 4;
		p += 4;
	}
bytes:
	for (;;) {
		c = (unsigned char)*s++;
		if (stop[c] || p >= lim)
			break;
		*p++ = (char)c;
	}
	if (c != '\0')
		goto undo;
	*p++ = '"';
	*p = '\0';
	b->len += (size_t)(p - base);
	return true;
undo:
	*base = '\0';		/* the buf's NUL where it was */
	return false;
}

void
jsonw_text_vstr(struct jsonw_text *w, const char *s)
{
	if (s == NULL) {
		jsonw_text_put(w, "null", 4);
		return;
	}
	if (jsonw_text_room(w, 1)) {
		w->b->data[w->b->len] = '"';
		if (jsonw_text_str_in(w, 1, s))
			return;
	}
	jsonw_text_quoted(w, s, "", 0);
}

/* The decimal digits of n, as "%" PRIu64 prints them. */
static size_t
jsonw_digits(uint64_t n, char *end)
{
	char *p = end;

	do {
		*--p = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	return (size_t)(end - p);
}

size_t
jsonw_digits_at(char *d, uint64_t n)
{
	uint64_t t = 10;
	size_t k = 1, i;

	/* 20 digits at most: 10^19 is the last power of ten in 64 bits */
	while (k < 20 && n >= t) {
		k++;
		t *= 10;
	}
	for (i = k; i > 0; i--) {
		d[i - 1] = (char)('0' + n % 10);
		n /= 10;
	}
	return k;
}

void
jsonw_text_vnum(struct jsonw_text *w, uint64_t mag, bool neg)
{
	char num[24], *end = num + sizeof(num);
	size_t len;

	len = jsonw_digits(mag, end);
	if (neg)
		end[-(ptrdiff_t)++len] = '-';
	jsonw_text_put(w, end - len, len);
}

void
jsonw_text_int(struct jsonw_text *w, int64_t n)
{
	jsonw_text_sep(w);
	/* the magnitude as unsigned: INT64_MIN has no positive twin */
	jsonw_text_vnum(w, n < 0 ? 0 - (uint64_t)n : (uint64_t)n, n < 0);
}

void
jsonw_text_uint(struct jsonw_text *w, uint64_t n)
{
	jsonw_text_sep(w);
	jsonw_text_vnum(w, n, false);
}

void
jsonw_text_bool(struct jsonw_text *w, bool v)
{
	jsonw_text_sep(w);
	if (v)
		jsonw_text_put(w, "true", 4);
	else
		jsonw_text_put(w, "false", 5);
}

void
jsonw_text_null(struct jsonw_text *w)
{
	jsonw_text_sep(w);
	jsonw_text_put(w, "null", 4);
}

void
jsonw_text_strv(struct jsonw_text *w, const char *const *sv, size_t n)
{
	size_t i;

	jsonw_text_open(w, '[');
	for (i = 0; i < n; i++)
		jsonw_text_str(w, sv[i]);
	jsonw_text_close(w, ']');
}

/* Each string with the byte before it ('[' or ','), one room test for
 * both, as the fixed shapes write their members. */
void
jsonw_text_vstrv(struct jsonw_text *w, const char *const *sv, size_t n)
{
	size_t i;

	if (n == 0) {
		JSONW_TEXT_RAW(w, "[]");
		return;
	}
	JSONW_TEXT_KSTR(w, "[", sv[0]);
	for (i = 1; i < n; i++)
		JSONW_TEXT_KSTR(w, ",", sv[i]);
	JSONW_TEXT_RAW(w, "]");
}
