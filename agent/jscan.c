/* jscan.c - Split's pages read without a json-c tree. */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "jscan.h"
#include "jsonw.h"
#include "utf8.h"

#define JSCAN_DIGITS	18	/* always an int64, as json-c reads it */

struct jscan_run {
	struct jscan *s;
	const char *p;
	size_t	 i, len;
	uint32_t stack[JSCAN_DEPTH];
	unsigned depth;
	bool	 nonascii;	/* a byte >= 0x80 in some string */
	size_t	 nescaped;	/* strings left for jscan_decode() */
};

void
jscan_init(struct jscan *s)
{
	memset(s, 0, sizeof(*s));
}

void
jscan_release(struct jscan *s)
{
	free(s->t);
	jscan_init(s);
}

static bool
jscan_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
jscan_skip_ws(struct jscan_run *r)
{
	while (r->i < r->len && jscan_ws((unsigned char)r->p[r->i]))
		r->i++;
}

/* The next byte, or -1 at the end.  Split's pages have no whitespace
 * between tokens, and every byte JSON needs here is above the space. */
static inline int
jscan_peek(struct jscan_run *r)
{
	if (r->i < r->len && (unsigned char)r->p[r->i] > ' ')
		return (unsigned char)r->p[r->i];
	jscan_skip_ws(r);
	return r->i < r->len ? (unsigned char)r->p[r->i] : -1;
}

/* Grows the token array (out of line: pages reuse it). */
static int
jscan_grow(struct jscan *s)
{
	/* offsets are 32 bits; the body cap is far below */
	if (s->n >= UINT32_MAX - 1)
		return EFBIG;
	return ARRAY_GROW(s->t, s->cap, s->n + 1);
}

/* A new token at r->i; inline, as a page has a token every 8 bytes. */
static inline int
jscan_tok(struct jscan_run *r, enum json_type type, uint32_t *idx)
{
	struct jscan *s = r->s;
	struct jscan_tok *t;
	int rc;

	if (s->n >= s->cap && (rc = jscan_grow(s)) != 0)
		return rc;
	t = &s->t[s->n];
	t->type = (uint8_t)type;
	t->escaped = 0;
	t->start = (uint32_t)r->i;
	t->len = 0;
	t->next = 0;
	t->n = 0;
	t->num = 0;
	*idx = (uint32_t)s->n++;
	return 0;
}

static int
jscan_hex4(const char *p, uint32_t *cp)
{
	int k, c;

	*cp = 0;
	for (k = 0; k < 4; k++) {
		c = (unsigned char)p[k];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return JSCAN_FALLBACK;
		*cp = *cp << 4 | (uint32_t)c;
	}
	return 0;
}

/* Bytes a string scan stops at: the quote, a backslash, controls, and
 * non-ASCII (noted, for the UTF-8 check). */
static const unsigned char jscan_stop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
	[0x80] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* A string from its opening quote; a key may hold no escape. */
static int
jscan_string(struct jscan_run *r, bool key, uint32_t *idx)
{
	struct jscan_tok *t;
	uint32_t cp;
	size_t i;
	int c, rc, escaped = 0;

	r->i++;
	if ((rc = jscan_tok(r, json_type_string, idx)) != 0)
		return rc;
	for (i = r->i; i < r->len; i++) {
		/* four plain bytes at a time: no test of their own; then
		 * one at a time to the byte that stopped them */
		while (r->len - i >= 4 &&
		    !(jscan_stop[(unsigned char)r->p[i]] |
		    jscan_stop[(unsigned char)r->p[i + 1]] |
		    jscan_stop[(unsigned char)r->p[i + 2]] |
		    jscan_stop[(unsigned char)r->p[i + 3]]))
			i += 4;
		while (i < r->len && !jscan_stop[(unsigned char)r->p[i]])
			i++;
		if (i >= r->len)
			break;
		c = (unsigned char)r->p[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return JSCAN_FALLBACK;
		if (c >= 0x80) {
			r->nonascii = true;
			continue;
		}
		if (c != '\\')
			continue;
		if (key || ++i >= r->len)
			return JSCAN_FALLBACK;
		escaped = 1;
		switch (r->p[i]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			break;
		case 'u':
			/* json-c's reading of \u0000 and of surrogates is
			 * its own business: leave those to it */
			if (r->len - i < 5 || jscan_hex4(r->p + i + 1, &cp) != 0 ||
			    cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return JSCAN_FALLBACK;
			i += 4;
			break;
		default:
			return JSCAN_FALLBACK;
		}
	}
	if (i >= r->len)
		return JSCAN_FALLBACK;
	t = &r->s->t[*idx];
	t->len = (uint32_t)(i - r->i);
	t->escaped = (uint8_t)escaped;
	t->next = *idx + 1;
	/* a plain string ends where it stands now (a declined page gets
	 * its quote back); one with escapes is decoded after the scan */
	if (escaped)
		r->nescaped++;
	else
		r->s->text[i] = '\0';
	r->i = i + 1;
	return 0;
}

/* An integer json-c reads exactly; any other number is json-c's. */
static int
jscan_number(struct jscan_run *r, uint32_t *idx)
{
	struct jscan_tok *t;
	size_t i = r->i, digits = 0;
	int64_t v = 0;
	bool neg = false;
	int rc, c;

	if (r->p[i] == '-') {
		neg = true;
		i++;
	}
	while (i < r->len && r->p[i] >= '0' && r->p[i] <= '9') {
		/* stop before the digit that could overflow */
		if (++digits > JSCAN_DIGITS)
			return JSCAN_FALLBACK;
		v = v * 10 + (r->p[i] - '0');
		i++;
	}
	if (digits == 0 || (digits > 1 && r->p[r->i + neg] == '0') ||
	    (neg && v == 0))
		return JSCAN_FALLBACK;
	/* json-c waits for the byte after a number: one that ends the
	 * text is "truncated" to it */
	if (i >= r->len)
		return JSCAN_FALLBACK;
	c = (unsigned char)r->p[i];
	if (c != ',' && c != ']' && c != '}' && !jscan_ws(c))
		return JSCAN_FALLBACK;
	if ((rc = jscan_tok(r, json_type_int, idx)) != 0)
		return rc;
	t = &r->s->t[*idx];
	t->len = (uint32_t)(i - r->i);
	t->num = neg ? -v : v;
	t->next = *idx + 1;
	r->i = i;
	return 0;
}

static int
jscan_literal(struct jscan_run *r, uint32_t *idx)
{
	static const struct {
		const char *word;
		enum json_type type;
		int64_t num;
	} lit[] = {
		{ "true", json_type_boolean, 1 },
		{ "false", json_type_boolean, 0 },
		{ "null", json_type_null, 0 },
	};
	size_t k, n;
	int rc, c;

	for (k = 0; k < sizeof(lit) / sizeof(lit[0]); k++) {
		n = strlen(lit[k].word);
		if (r->len - r->i < n || memcmp(r->p + r->i, lit[k].word, n))
			continue;
		/* as after a number: json-c wants the next byte */
		if (r->i + n >= r->len)
			return JSCAN_FALLBACK;
		c = (unsigned char)r->p[r->i + n];
		if (c != ',' && c != ']' && c != '}' && !jscan_ws(c))
			return JSCAN_FALLBACK;
		if ((rc = jscan_tok(r, lit[k].type, idx)) != 0)
			return rc;
		r->s->t[*idx].num = lit[k].num;
		r->s->t[*idx].next = *idx + 1;
		r->i += n;
		return 0;
	}
	return JSCAN_FALLBACK;
}

/* A key and its colon, in the object on top of the stack. */
static int
jscan_member(struct jscan_run *r)
{
	uint32_t o = r->stack[r->depth - 1], key;
	int rc;

	if (jscan_peek(r) != '"')
		return JSCAN_FALLBACK;
	if ((rc = jscan_string(r, true, &key)) != 0)
		return rc;
	if (r->s->t[o].n >= JSCAN_MEMBERS)
		return JSCAN_FALLBACK;
	if (jscan_peek(r) != ':')
		return JSCAN_FALLBACK;
	r->i++;
	r->s->t[o].n++;
	/* the keys, last first, for jnode_get() */
	r->s->t[key].n = (uint32_t)r->s->t[o].num;
	r->s->t[o].num = key;
	return 0;
}

/* Opens an object or array; *empty when it closes at once. */
static int
jscan_open(struct jscan_run *r, enum json_type type, bool *empty)
{
	uint32_t idx;
	int rc, close = type == json_type_object ? '}' : ']';

	if (r->depth >= JSCAN_DEPTH)
		return JSCAN_FALLBACK;
	if ((rc = jscan_tok(r, type, &idx)) != 0)
		return rc;
	r->i++;
	*empty = jscan_peek(r) == close;
	if (*empty) {
		r->i++;
		r->s->t[idx].next = idx + 1;
		return 0;
	}
	r->stack[r->depth++] = idx;
	if (type == json_type_array)
		r->s->t[idx].n = 1;
	return 0;
}

/* One value at r->i; containers are left open on the stack. */
static int
jscan_value(struct jscan_run *r, bool *opened)
{
	uint32_t idx;
	bool empty = false;
	int c, rc;

	*opened = false;
	switch ((c = jscan_peek(r))) {
	case '{':
	case '[':
		rc = jscan_open(r, c == '{' ? json_type_object :
		    json_type_array, &empty);
		if (rc == 0 && !empty)
			*opened = true;
		if (rc == 0 && !empty && c == '{')
			rc = jscan_member(r);
		return rc;
	case '"':
		return jscan_string(r, false, &idx);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return jscan_number(r, &idx);
	case 't': case 'f': case 'n':
		return jscan_literal(r, &idx);
	default:
		return JSCAN_FALLBACK;
	}
}

/* After a value: a comma (and the next member) or the closing brace. */
static int
jscan_after(struct jscan_run *r, bool *more)
{
	uint32_t top;
	struct jscan_tok *t;
	int c;

	*more = false;
	while (r->depth > 0) {
		top = r->stack[r->depth - 1];
		t = &r->s->t[top];
		c = jscan_peek(r);
		if (c == ',') {
			r->i++;
			*more = true;
			if (t->type == json_type_array) {
				t->n++;
				return 0;
			}
			return jscan_member(r);
		}
		if (c != (t->type == json_type_object ? '}' : ']'))
			return JSCAN_FALLBACK;
		r->i++;
		t->next = (uint32_t)r->s->n;
		r->depth--;
	}
	return 0;
}

/* Decodes a string's escapes in place (jscan_string allowed only these). */
static void
jscan_unescape(char *text, struct jscan_tok *t)
{
	char *in = text + t->start, *end = in + t->len, *out = in;
	uint32_t cp;

	while (in < end) {
		if (*in != '\\') {
			*out++ = *in++;
			continue;
		}
		switch (in[1]) {
		case 'b': *out++ = '\b'; break;
		case 'f': *out++ = '\f'; break;
		case 'n': *out++ = '\n'; break;
		case 'r': *out++ = '\r'; break;
		case 't': *out++ = '\t'; break;
		case 'u':
			(void)jscan_hex4(in + 2, &cp);
			if (cp < 0x80) {
				*out++ = (char)cp;
			} else if (cp < 0x800) {
				*out++ = (char)(0xc0 | cp >> 6);
				*out++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*out++ = (char)(0xe0 | cp >> 12);
				*out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*out++ = (char)(0x80 | (cp & 0x3f));
			}
			in += 4;
			break;
		default:	/* " \ / */
			*out++ = in[1];
			break;
		}
		in += 2;
	}
	t->len = (uint32_t)(out - (text + t->start));
}

/* The strings with escapes become C strings where they stand (the
 * others did as they were scanned). */
static void
jscan_decode(struct jscan *s, size_t nescaped)
{
	struct jscan_tok *t;
	size_t i;

	for (i = 0; i < s->n && nescaped > 0; i++) {
		t = &s->t[i];
		if (t->type != json_type_string || !t->escaped)
			continue;
		jscan_unescape(s->text, t);
		s->text[t->start + t->len] = '\0';
		nescaped--;
	}
}

/* A declined page as it came: the quotes of the strings scanned. */
static void
jscan_restore(struct jscan *s)
{
	struct jscan_tok *t;
	size_t i;

	for (i = 0; i < s->n; i++) {
		t = &s->t[i];
		/* next is set when the string was complete */
		if (t->type == json_type_string && !t->escaped && t->next != 0)
			s->text[t->start + t->len] = '"';
	}
}

int
jscan_parse(struct jscan *s, char *text, size_t len)
{
	struct jscan_run r;
	bool opened, more;
	int rc;

	s->n = 0;
	s->text = text;
	s->len = len;
	if (len >= UINT32_MAX)
		return JSCAN_FALLBACK;
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.p = text;
	r.len = len;
	do {
		if ((rc = jscan_value(&r, &opened)) != 0)
			goto fail;
		if (opened)
			continue;	/* its first element or member */
		if ((rc = jscan_after(&r, &more)) != 0)
			goto fail;
	} while (r.depth > 0);
	if (jscan_peek(&r) != -1 || (r.nonascii && !utf8_valid(text, len))) {
		rc = JSCAN_FALLBACK;
		goto fail;
	}
	jscan_decode(s, r.nescaped);
	return 0;
fail:
	jscan_restore(s);
	s->n = 0;
	return rc;
}

/* ------------------------------------------------------------ nodes */

void
jnode_json(struct jnode *n, json_object *o)
{
	n->json = o;
	n->scan = NULL;
	n->tok = 0;
}

static const struct jscan_tok *
jnode_tok(const struct jnode *n)
{
	return &n->scan->t[n->tok];
}

enum json_type
jnode_type(const struct jnode *n)
{
	if (n->scan == NULL)
		return json_object_get_type(n->json);
	return (enum json_type)jnode_tok(n)->type;
}

bool
jnode_get(const struct jnode *o, const char *key, struct jnode *out)
{
	const struct jscan_tok *t;
	size_t klen;
	uint32_t k;

	if (o->scan == NULL) {
		out->scan = NULL;
		out->tok = 0;
		return json_object_is_type(o->json, json_type_object) &&
		    json_object_object_get_ex(o->json, key, &out->json);
	}
	t = o->scan->t;
	if (t[o->tok].type != json_type_object)
		return false;
	klen = strlen(key);
	/* from the last key back: json-c keeps a key's last value, and
	 * a walk from the first had to go to the end every time */
	for (k = (uint32_t)t[o->tok].num; k != 0; k = t[k].n) {
		if (t[k].len == klen &&
		    memcmp(o->scan->text + t[k].start, key, klen) == 0) {
			*out = *o;
			out->tok = k + 1;
			return true;
		}
	}
	return false;
}

const char *
jnode_str(const struct jnode *n)
{
	if (jnode_type(n) != json_type_string)
		return NULL;
	if (n->scan == NULL)
		return json_object_get_string(n->json);
	return n->scan->text + jnode_tok(n)->start;
}

int64_t
jnode_int64(const struct jnode *n)
{
	if (n->scan == NULL)
		return json_object_get_int64(n->json);
	return jnode_tok(n)->type == json_type_int ? jnode_tok(n)->num : 0;
}

bool
jnode_bool(const struct jnode *n)
{
	if (n->scan == NULL)
		return json_object_get_boolean(n->json);
	return jnode_tok(n)->type == json_type_boolean && jnode_tok(n)->num;
}

size_t
jnode_len(const struct jnode *a)
{
	if (jnode_type(a) != json_type_array)
		return 0;
	if (a->scan == NULL)
		return json_object_array_length(a->json);
	return jnode_tok(a)->n;
}

void
jnode_iter_init(struct jnode_iter *it, const struct jnode *arr)
{
	it->arr = *arr;
	it->i = 0;
	it->n = jnode_len(arr);
	it->tok = arr->scan ? arr->tok + 1 : 0;
}

bool
jnode_iter_next(struct jnode_iter *it, struct jnode *out)
{
	if (it->i >= it->n)
		return false;
	if (it->arr.scan == NULL) {
		jnode_json(out, json_object_array_get_idx(it->arr.json,
		    it->i));
	} else {
		*out = it->arr;
		out->tok = it->tok;
		it->tok = it->arr.scan->t[it->tok].next;
	}
	it->i++;
	return true;
}

/*
 * Appends to out in place when it has room, else through buf_append():
 * a rules hash prints a few bytes at a time, and the call chain of
 * buf_putc() (with memcpy() for one byte) cost more than the bytes.
 */
static int
jnode_put(struct buf *out, const char *p, size_t n)
{
	if (out->data == NULL || n >= out->cap - out->len ||
	    n > out->max - out->len)
		return buf_append(out, p, n);
	memcpy(out->data + out->len, p, n);
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

static int
jnode_putc(struct buf *out, char c)
{
	if (out->data == NULL || out->cap - out->len < 2 ||
	    out->len >= out->max)
		return buf_append(out, &c, 1);
	out->data[out->len++] = c;
	out->data[out->len] = '\0';
	return 0;
}

static int jnode_print_tok(const struct jscan *s, uint32_t i,
    struct buf *out);

static bool
jnode_same_key(const struct jscan *s, uint32_t a, uint32_t b)
{
	return s->t[a].len == s->t[b].len && memcmp(s->text + s->t[a].start,
	    s->text + s->t[b].start, s->t[a].len) == 0;
}

/*
 * As json-c prints the object it made of the text: a key given twice
 * stands where it came first, with the value it was given last.
 */
static int
jnode_print_object(const struct jscan *s, uint32_t i, struct buf *out)
{
	const struct jscan_tok *t = &s->t[i];
	uint32_t k, k2, m, m2, val;
	bool seen;
	int rc, first = 1;

	rc = jnode_putc(out, '{');
	for (k = i + 1, m = 0; m < t->n && rc == 0; m++, k = s->t[k + 1].next) {
		seen = false;
		for (k2 = i + 1, m2 = 0; m2 < m && !seen; m2++,
		    k2 = s->t[k2 + 1].next)
			seen = jnode_same_key(s, k, k2);
		if (seen)
			continue;
		val = k + 1;
		for (k2 = s->t[k + 1].next, m2 = m + 1; m2 < t->n; m2++,
		    k2 = s->t[k2 + 1].next)
			if (jnode_same_key(s, k, k2))
				val = k2 + 1;
		if (!first)
			rc = jnode_putc(out, ',');
		first = 0;
		if (rc == 0)
			rc = jnode_print_tok(s, k, out);
		if (rc == 0)
			rc = jnode_putc(out, ':');
		if (rc == 0)
			rc = jnode_print_tok(s, val, out);
	}
	return rc ? rc : jnode_putc(out, '}');
}

static int
jnode_print_tok(const struct jscan *s, uint32_t i, struct buf *out)
{
	const struct jscan_tok *t = &s->t[i];
	uint32_t k, m;
	int rc = 0;

	switch (t->type) {
	case json_type_null:
		return jnode_put(out, "null", 4);
	case json_type_boolean:
		return t->num ? jnode_put(out, "true", 4) :
		    jnode_put(out, "false", 5);
	case json_type_int:
		/* canonical digits (no "-0", no leading zero): what
		 * json-c prints of the int64 */
		return jnode_put(out, s->text + t->start, t->len);
	case json_type_string:
		if ((rc = jnode_putc(out, '"')) == 0 &&
		    (rc = jsonw_escape(out, s->text + t->start, t->len,
		    JSONW_SLASH)) == 0)
			rc = jnode_putc(out, '"');
		return rc;
	case json_type_array:
		rc = jnode_putc(out, '[');
		for (k = i + 1, m = 0; m < t->n && rc == 0; m++) {
			if (m > 0)
				rc = jnode_putc(out, ',');
			if (rc == 0)
				rc = jnode_print_tok(s, k, out);
			k = s->t[k].next;
		}
		return rc ? rc : jnode_putc(out, ']');
	case json_type_object:
		return jnode_print_object(s, i, out);
	default:
		return EINVAL;
	}
}

int
jnode_print(const struct jnode *n, struct buf *out)
{
	const char *s;

	if (n->scan != NULL)
		return jnode_print_tok(n->scan, n->tok, out);
	if (n->json == NULL)
		return buf_append(out, "null", 4);
	if ((s = json_object_to_json_string_ext(n->json,
	    JSON_C_TO_STRING_PLAIN)) == NULL)
		return ENOMEM;
	return buf_puts(out, s);
}

/* ------------------------------------------------------------ hashing */

uint64_t
jnode_fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= JNODE_FNV_PRIME;
	}
	return h;
}

static inline uint64_t
jnode_fnv_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * JNODE_FNV_PRIME;
}

/* Whether an object gives a key twice (its keys are linked last first). */
static bool
jnode_dup_keys(const struct jscan *s, uint32_t i)
{
	uint32_t k, k2;

	for (k = (uint32_t)s->t[i].num; k != 0; k = s->t[k].n)
		for (k2 = s->t[k].n; k2 != 0; k2 = s->t[k2].n)
			if (jnode_same_key(s, k, k2))
				return true;
	return false;
}

/* A string as jnode_print_tok() quotes and escapes it. */
static int
jnode_hash_string(const struct jscan *s, const struct jscan_tok *t,
    uint64_t *h, struct buf *scratch)
{
	const unsigned char *p = (const unsigned char *)s->text + t->start;
	uint64_t x = jnode_fnv_byte(*h, '"');
	size_t i;
	int rc;

	for (i = 0; i < t->len; i++) {
		if (!jsonw_esc[p[i]]) {
			x = jnode_fnv_byte(x, p[i]);
			continue;
		}
		buf_reset(scratch);
		if ((rc = jsonw_escape(scratch, (const char *)p + i, 1,
		    JSONW_SLASH)) != 0)
			return rc;
		x = jnode_fnv1a(x, scratch->data, scratch->len);
	}
	*h = jnode_fnv_byte(x, '"');
	return 0;
}

static int
jnode_hash_printed(const struct jscan *s, uint32_t i, uint64_t *h,
    struct buf *scratch)
{
	int rc;

	buf_reset(scratch);
	if ((rc = jnode_print_tok(s, i, scratch)) != 0)
		return rc;
	*h = jnode_fnv1a(*h, scratch->data, scratch->len);
	return 0;
}

/* jnode_print_tok()'s bytes into *h, in the same order. */
static int
jnode_hash_tok(const struct jscan *s, uint32_t i, uint64_t *h,
    struct buf *scratch)
{
	const struct jscan_tok *t = &s->t[i];
	uint32_t k, m;
	int rc = 0;

	switch (t->type) {
	case json_type_null:
		*h = jnode_fnv1a(*h, "null", 4);
		return 0;
	case json_type_boolean:
		*h = t->num ? jnode_fnv1a(*h, "true", 4) :
		    jnode_fnv1a(*h, "false", 5);
		return 0;
	case json_type_int:
		*h = jnode_fnv1a(*h, s->text + t->start, t->len);
		return 0;
	case json_type_string:
		return jnode_hash_string(s, t, h, scratch);
	case json_type_array:
		*h = jnode_fnv_byte(*h, '[');
		for (k = i + 1, m = 0; m < t->n && rc == 0; m++) {
			if (m > 0)
				*h = jnode_fnv_byte(*h, ',');
			rc = jnode_hash_tok(s, k, h, scratch);
			k = s->t[k].next;
		}
		*h = jnode_fnv_byte(*h, ']');
		return rc;
	case json_type_object:
		/* json-c's order for a key given twice is the printer's */
		if (jnode_dup_keys(s, i))
			return jnode_hash_printed(s, i, h, scratch);
		*h = jnode_fnv_byte(*h, '{');
		for (k = i + 1, m = 0; m < t->n && rc == 0; m++) {
			if (m > 0)
				*h = jnode_fnv_byte(*h, ',');
			if ((rc = jnode_hash_string(s, &s->t[k], h,
			    scratch)) != 0)
				break;
			*h = jnode_fnv_byte(*h, ':');
			rc = jnode_hash_tok(s, k + 1, h, scratch);
			k = s->t[k + 1].next;
		}
		*h = jnode_fnv_byte(*h, '}');
		return rc;
	default:
		return EINVAL;
	}
}

int
jnode_print_hash(const struct jnode *n, uint64_t *h, struct buf *scratch)
{
	int rc;

	if (n->scan != NULL)
		return jnode_hash_tok(n->scan, n->tok, h, scratch);
	buf_reset(scratch);
	if ((rc = jnode_print(n, scratch)) != 0)
		return rc;
	*h = jnode_fnv1a(*h, scratch->data, scratch->len);
	return 0;
}
