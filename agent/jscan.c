/* jscan.c - Split's pages read without a json-c tree. */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(JSCAN_SCALAR)
#include <emmintrin.h>
#endif

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "jscan.h"
#include "jsonw.h"
#include "utf8.h"

#define JSCAN_DIGITS	18	/* always an int64, as json-c reads it */

/* The scanner's steps, inline into one loop whatever the compiler
 * thinks of their size: see struct jscan_run. */
#if defined(__GNUC__)
#define JSCAN_STEP	static inline __attribute__((always_inline))
#define JSCAN_APART	static __attribute__((noinline))
#else
#define JSCAN_STEP	static inline
#define JSCAN_APART	static
#endif

/*
 * One scan's state.  The scanner's functions are inline into
 * jscan_parse() and r never leaves it, so the compiler keeps these fields
 * in registers: the NUL a string gets is a char store, which could
 * alias every field of a struct in memory and made them reloaded.
 */
struct jscan_run {
	struct jscan *s;
	char	*text;
	const char *p, *end;	/* the next byte; the end of the text */
	const char *end16;	/* p < end16: 16 bytes from p are text */
	struct jscan_tok *t;	/* s->t, reloaded on growth */
	struct jscan_tok *tp, *tlim;	/* &t[n], &t[s->cap]: the slot
				 * and its test without an index */
	size_t	 n;
	uint32_t *stack;	/* [JSCAN_DEPTH]: apart, as an array in
				 * the struct kept it in memory */
	unsigned depth;
	struct jscan_tok *top;	/* &t[stack[depth - 1]]: each member and
				 * element reads it, and a load from the
				 * stack and an index cost more */
	bool	 high;		/* a byte >= 0x80 in some string */
	uint32_t escaped;	/* the last string with escapes, + 1 */
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

/* The first byte from p on that is no whitespace, or end.  Out of line
 * and given values, not the run: see jscan_peek(). */
JSCAN_APART const char *
jscan_skip_ws(const char *p, const char *end)
{
	while (p < end && jscan_ws((unsigned char)*p))
		p++;
	return p;
}

/* The next byte after whitespace, or -1 at the end.  Split's pages have
 * no whitespace between tokens, and every byte JSON needs here is above
 * the space: one test for the common case (the NUL after the text
 * fails it, so the end needs no test of its own there), and the skip
 * out of line (inline, the loop's set-up was done on every peek: 3 %
 * more). */
JSCAN_STEP int
jscan_peek(struct jscan_run *r)
{
	if ((unsigned char)*r->p > ' ')
		return (unsigned char)*r->p;
	r->p = jscan_skip_ws(r->p, r->end);
	return r->p < r->end ? (unsigned char)*r->p : -1;
}

/* Room for one more token (out of line: pages reuse the array). */
static int
jscan_grow(struct jscan *s, size_t n)
{
	/* offsets are 32 bits; the body cap is far below */
	if (n >= UINT32_MAX - 1)
		return EFBIG;
	return ARRAY_GROW(s->t, s->cap, n + 1);
}

/* The next token's slot, counted by the caller once it is complete (a
 * declined page restores only complete strings). */
JSCAN_STEP int
jscan_slot(struct jscan_run *r, struct jscan_tok **t)
{
	int rc;

	if (r->tp >= r->tlim) {
		if ((rc = jscan_grow(r->s, r->n)) != 0)
			return rc;
		r->t = r->s->t;
		r->tp = r->t + r->n;
		r->tlim = r->t + r->s->cap;
		if (r->depth > 0)
			r->top = &r->t[r->stack[r->depth - 1]];
	}
	*t = r->tp;
	return 0;
}

JSCAN_STEP void
jscan_set(struct jscan_tok *t, enum json_type type, size_t start,
    size_t len, size_t next, int64_t num)
{
	t->type = (uint8_t)type;
	t->escaped = 0;
	t->start = (uint32_t)start;
	t->len = (uint32_t)len;
	t->next = (uint32_t)next;
	t->n = 0;
	t->num = num;
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

/* The first byte from p on that jscan_stop[] has, or end. */
JSCAN_STEP const char *
jscan_plain(const char *p, const char *end, const char *end16)
{
#if defined(__SSE2__) && !defined(JSCAN_SCALAR)
	/* 16 bytes a compare; the text need not have room past its end,
	 * so the last 15 bytes are the scalar loop's.  With bit 1 flipped
	 * the quote is the space, so one signed subtraction of 0x21 (that
	 * stops at -128) is negative for it, the controls and the bytes
	 * >= 0x80; the mask takes the sign bits. */
	const __m128i two = _mm_set1_epi8(2), below = _mm_set1_epi8(0x21);
	const __m128i bslash = _mm_set1_epi8('\\');
	__m128i v;
	unsigned m;

	while (p < end16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)p);
		m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_subs_epi8(_mm_xor_si128(v, two), below),
		    _mm_cmpeq_epi8(v, bslash)));
		if (m != 0)
			return p + (unsigned)__builtin_ctz(m);
		p += 16;
	}
#else
	(void)end16;
#endif
	/* four plain bytes at a time: no test of their own; then one at
	 * a time to the byte that stopped them */
	while (end - p >= 4 && !(jscan_stop[(unsigned char)p[0]] |
	    jscan_stop[(unsigned char)p[1]] | jscan_stop[(unsigned char)p[2]] |
	    jscan_stop[(unsigned char)p[3]]))
		p += 4;
	/* the NUL after the text stops it there */
	while (!jscan_stop[(unsigned char)*p])
		p++;
	return p;
}

/* The escape at p (its backslash); the byte after it, or NULL when it
 * is json-c's to read. */
static const char *
jscan_escape(const char *p, const char *end)
{
	uint32_t cp;

	if (end - p < 2)
		return NULL;
	switch (p[1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n':
	case 'r': case 't':
		return p + 2;
	case 'u':
		/* json-c's reading of \u0000 and of surrogates is its own
		 * business: leave those to it */
		if (end - p < 6 || jscan_hex4(p + 2, &cp) != 0 || cp == 0 ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return NULL;
		return p + 6;
	default:
		return NULL;
	}
}

/*
 * The closing quote of the string whose text starts at p, or NULL when
 * it is json-c's to read; *escaped when it holds escapes (a key may
 * not).
 */
JSCAN_STEP const char *
jscan_str_end(struct jscan_run *r, const char *p, bool key, int *escaped)
{
	unsigned char c;

	for (;;) {
		p = jscan_plain(p, r->end, r->end16);
		/* the end is the NUL after the text: no quote */
		c = (unsigned char)*p;
		if (c == '"')
			return p;
		if (p >= r->end)
			return NULL;
		if (c >= 0x80) {
			r->high = true;
			p++;
			continue;
		}
		if (c != '\\' || key)
			return NULL;
		if ((p = jscan_escape(p, r->end)) == NULL)
			return NULL;
		*escaped = 1;
	}
}

/* A string from its opening quote; token n of a key is linked to
 * prev, the key before it. */
JSCAN_STEP int
jscan_string(struct jscan_run *r, bool key, uint32_t prev)
{
	struct jscan_tok *t;
	const char *q;
	int rc, escaped = 0;

	if ((rc = jscan_slot(r, &t)) != 0)
		return rc;
	if ((q = jscan_str_end(r, r->p + 1, key, &escaped)) == NULL)
		return JSCAN_FALLBACK;
	/* not jscan_set(): a string's num is never read; and the NUL
	 * (which may alias the token, as a char) stands between the
	 * fields, so the compiler stores them as they are instead of
	 * packing all four into a vector first (which cost more) */
	t->type = json_type_string;
	t->escaped = (uint8_t)escaped;
	t->start = (uint32_t)(r->p + 1 - r->text);
	t->len = (uint32_t)(q - r->p - 1);
	/* a plain string ends where it stands now (a declined page gets
	 * its quote back); one with escapes is decoded after the scan,
	 * which finds them linked by n (no key has escapes) */
	t->n = prev;
	if (escaped) {
		t->n = r->escaped;
		r->escaped = (uint32_t)r->n + 1;
	} else {
		r->text[q - r->text] = '\0';
	}
	t->next = (uint32_t)r->n + 1;
	r->n++;
	r->tp++;
	r->p = q + 1;
	return 0;
}

/* Whether c may follow a number or a literal: json-c waits for that
 * byte, and one that ends the text is "truncated" to it (at the end
 * p is the NUL after the text, none of these). */
JSCAN_STEP bool
jscan_delim(const char *p)
{
	unsigned char c = (unsigned char)*p;

	return c == ',' || c == ']' || c == '}' || jscan_ws(c);
}

/*
 * The eight digits at p as a number, or -1 when they are not all
 * digits: Split's times are 13 digits, and a digit a step cost more
 * than the rest of the number.  Little-endian only (the first digit is
 * the lowest byte); JSCAN_SCALAR leaves it out, for the tests.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    !defined(JSCAN_SCALAR)
#define JSCAN_SWAR	1
JSCAN_STEP int64_t
jscan_digits8(const char *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	/* each byte 0x3N with N + 6 still below 0x10: a digit */
	if (((x & 0xf0f0f0f0f0f0f0f0ULL) |
	    (((x + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) !=
	    0x3333333333333333ULL)
		return -1;
	x -= 0x3030303030303030ULL;
	/* pairs, then fours, then the eight, each the higher digits
	 * times a power of ten plus the lower */
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffULL;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffULL;
	x = (x * 10000 + (x >> 32)) & 0xffffffffULL;
	return (int64_t)x;
}

/* The same of four digits: a time's digits after the first eight. */
JSCAN_STEP int32_t
jscan_digits4(const char *p)
{
	uint32_t x;

	memcpy(&x, p, sizeof(x));
	if (((x & 0xf0f0f0f0U) | (((x + 0x06060606U) & 0xf0f0f0f0U) >> 4)) !=
	    0x33333333U)
		return -1;
	x -= 0x30303030U;
	x = (x * 10 + (x >> 8)) & 0x00ff00ffU;
	x = (x * 100 + (x >> 16)) & 0xffffU;
	return (int32_t)x;
}
#endif

/* An integer json-c reads exactly; any other number is json-c's. */
JSCAN_STEP int
jscan_number(struct jscan_run *r)
{
	struct jscan_tok *t;
	const char *p = r->p, *d = p + (*p == '-'), *q = d;
	int64_t v = 0;
	int rc;

#ifdef JSCAN_SWAR
	int32_t v4;

	if (r->end - q >= 12 && (v = jscan_digits8(q)) >= 0) {
		q += 8;
		if ((v4 = jscan_digits4(q)) >= 0) {
			v = v * 10000 + v4;
			q += 4;
		}
	} else {
		v = 0;
	}
#endif
	while ((unsigned char)(*q - '0') < 10) {	/* NUL ends it */
		/* stop before the digit that could overflow */
		if (q - d >= JSCAN_DIGITS)
			return JSCAN_FALLBACK;
		v = v * 10 + (*q - '0');
		q++;
	}
	if (q == d || (q - d > 1 && *d == '0') || (d > p && v == 0) ||
	    !jscan_delim(q))
		return JSCAN_FALLBACK;
	if ((rc = jscan_slot(r, &t)) != 0)
		return rc;
	jscan_set(t, json_type_int, (size_t)(p - r->text), (size_t)(q - p),
	    r->n + 1, d > p ? -v : v);
	r->n++;
	r->tp++;
	r->p = q;
	return 0;
}

JSCAN_STEP int
jscan_literal(struct jscan_run *r)
{
	static const struct {
		char	 word[6];
		uint8_t	 n;
		uint8_t	 type;
		uint8_t	 num;
	} lit[] = {
		{ "true", 4, json_type_boolean, 1 },
		{ "false", 5, json_type_boolean, 0 },
		{ "null", 4, json_type_null, 0 },
	};
	struct jscan_tok *t;
	size_t k, n;
	int rc;

	/* the first byte chose the word; its last four, compared as one
	 * word (a call to memcmp of n bytes cost more than the rest) */
	k = *r->p == 't' ? 0 : *r->p == 'f' ? 1 : 2;
	n = lit[k].n;
	if ((size_t)(r->end - r->p) < n ||
	    memcmp(r->p + n - 4, lit[k].word + n - 4, 4) != 0 ||
	    !jscan_delim(r->p + n))
		return JSCAN_FALLBACK;
	if ((rc = jscan_slot(r, &t)) != 0)
		return rc;
	jscan_set(t, lit[k].type, (size_t)(r->p - r->text), 0, r->n + 1,
	    lit[k].num);
	r->n++;
	r->tp++;
	r->p += n;
	return 0;
}

/* A key and its colon, in the object on top of the stack. */
JSCAN_STEP int
jscan_member(struct jscan_run *r)
{
	struct jscan_tok *o;
	uint32_t key = (uint32_t)r->n;
	int rc;

	if (jscan_peek(r) != '"')
		return JSCAN_FALLBACK;
	/* the keys, last first, for jnode_get() */
	if ((rc = jscan_string(r, true, (uint32_t)r->top->num)) != 0)
		return rc;
	o = r->top;	/* after the string: the array may have moved */
	if (o->n >= JSCAN_MEMBERS || jscan_peek(r) != ':')
		return JSCAN_FALLBACK;
	r->p++;
	o->n++;
	o->num = key;
	return 0;
}

/* Opens an object or array at r->p; *empty when it closes at once. */
JSCAN_STEP int
jscan_open(struct jscan_run *r, enum json_type type, bool *empty)
{
	struct jscan_tok *t;
	int rc, close = *r->p + 2;	/* '{' + 2 is '}', '[' + 2 is ']' */

	if (r->depth >= JSCAN_DEPTH)
		return JSCAN_FALLBACK;
	if ((rc = jscan_slot(r, &t)) != 0)
		return rc;
	jscan_set(t, type, (size_t)(r->p - r->text), 0, 0, 0);
	r->p++;
	*empty = jscan_peek(r) == close;
	if (*empty) {
		r->p++;
		t->next = (uint32_t)r->n + 1;
	} else {
		r->stack[r->depth++] = (uint32_t)r->n;
		r->top = t;
		t->n = type == json_type_array;
		/* its close, for jscan_after() while it is open: a
		 * container has no escapes (0 again once it closes) */
		t->escaped = (uint8_t)close;
	}
	r->n++;
	r->tp++;
	return 0;
}

/*
 * After a value: a comma (and the next member, when in an object), or
 * the container's close and the same again.  *more when a value is
 * next.
 */
JSCAN_STEP int
jscan_after(struct jscan_run *r, bool *more)
{
	struct jscan_tok *t;
	int c;

	*more = false;
	while (r->depth > 0) {
		t = r->top;
		c = jscan_peek(r);
		if (c == ',') {
			r->p++;
			*more = true;
			if (t->type == json_type_array) {
				t->n++;
				return 0;
			}
			return jscan_member(r);
		}
		if (c != t->escaped)
			return JSCAN_FALLBACK;
		t->escaped = 0;
		r->p++;
		t->next = (uint32_t)r->n;
		if (--r->depth > 0)
			r->top = &r->t[r->stack[r->depth - 1]];
	}
	return 0;
}

/* What a value's first byte begins, other than a string: one load and
 * a jump table, where the switch on the byte itself compiled to range
 * and bit tests. */
enum jscan_start {
	JSCAN_S_NONE, JSCAN_S_OPEN, JSCAN_S_NUMBER, JSCAN_S_LITERAL
};
static const unsigned char jscan_starts[256] = {
	['{'] = JSCAN_S_OPEN, ['['] = JSCAN_S_OPEN,
	['-'] = JSCAN_S_NUMBER, ['0'] = JSCAN_S_NUMBER, ['1'] = JSCAN_S_NUMBER,
	['2'] = JSCAN_S_NUMBER, ['3'] = JSCAN_S_NUMBER, ['4'] = JSCAN_S_NUMBER,
	['5'] = JSCAN_S_NUMBER, ['6'] = JSCAN_S_NUMBER, ['7'] = JSCAN_S_NUMBER,
	['8'] = JSCAN_S_NUMBER, ['9'] = JSCAN_S_NUMBER,
	['t'] = JSCAN_S_LITERAL, ['f'] = JSCAN_S_LITERAL,
	['n'] = JSCAN_S_LITERAL,
};

/* One value at r->p; a container is left open on the stack. */
JSCAN_STEP int
jscan_value(struct jscan_run *r, bool *opened)
{
	bool empty;
	int c, rc;

	*opened = false;
	/* a string first: most values are, and a test of its own is
	 * cheaper than the table */
	if ((c = jscan_peek(r)) == '"')
		return jscan_string(r, false, 0);
	/* the end (-1) reads entry 255: none */
	switch (jscan_starts[c & 0xff]) {
	case JSCAN_S_OPEN:
		rc = jscan_open(r, c == '{' ? json_type_object :
		    json_type_array, &empty);
		if (rc != 0 || empty)
			return rc;
		*opened = true;
		return c == '{' ? jscan_member(r) : 0;
	case JSCAN_S_NUMBER:
		return jscan_number(r);
	case JSCAN_S_LITERAL:
		return jscan_literal(r);
	default:
		return JSCAN_FALLBACK;
	}
}

/* The whole text as one value and whitespace (inline into
 * jscan_parse(), which holds r). */
JSCAN_STEP int
jscan_run(struct jscan_run *r)
{
	bool opened, more;
	int rc;

	do {
		if ((rc = jscan_value(r, &opened)) != 0)
			return rc;
		if (opened)
			continue;	/* its first element or member */
		if ((rc = jscan_after(r, &more)) != 0)
			return rc;
	} while (r->depth > 0);
	return jscan_peek(r) == -1 ? 0 : JSCAN_FALLBACK;
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
 * others did as they were scanned); k is the last of them, + 1. */
static void
jscan_decode(struct jscan *s, uint32_t k)
{
	struct jscan_tok *t;

	while (k != 0) {
		t = &s->t[k - 1];
		k = t->n;
		t->n = 0;
		jscan_unescape(s->text, t);
		s->text[t->start + t->len] = '\0';
	}
}

/* A declined page as it came: the quotes of the strings scanned (a
 * string is counted once it is complete). */
static void
jscan_restore(struct jscan *s, size_t n)
{
	struct jscan_tok *t;
	size_t i;

	for (i = 0; i < n; i++) {
		t = &s->t[i];
		if (t->type == json_type_string && !t->escaped)
			s->text[t->start + t->len] = '"';
	}
}

int
jscan_parse(struct jscan *s, char *text, size_t len)
{
	struct jscan_run r;
	uint32_t stack[JSCAN_DEPTH];
	int rc;

	s->n = 0;
	s->text = text;
	s->len = len;
	/* no JSON, and text may be NULL: json-c's to refuse */
	if (len == 0 || len >= UINT32_MAX)
		return JSCAN_FALLBACK;
	r = (struct jscan_run){ .s = s, .text = text, .p = text,
	    .end = text + len, .end16 = len >= 16 ? text + len - 15 : text,
	    .t = s->t, .tp = s->t,
	    .tlim = s->cap > 0 ? s->t + s->cap : s->t,	/* no NULL + 0 */
	    .stack = stack };
	rc = jscan_run(&r);
	if (rc == 0 && r.high && !utf8_valid(text, len))
		rc = JSCAN_FALLBACK;
	if (rc != 0) {
		jscan_restore(s, r.n);
		return rc;
	}
	s->n = r.n;
	jscan_decode(s, r.escaped);
	return 0;
}

/* ------------------------------------------------------------ nodes */

void
jnode_json(struct jnode *n, json_object *o)
{
	n->json = o;
	n->scan = NULL;
	n->tok = 0;
}

/*
 * Whether the n bytes at a and at b are the same, by two overlapping
 * loads of 8 (or 4) bytes each, read within the n: the keys readers
 * look up are short, and a call to memcmp cost more than the walk.
 */
static inline bool
jnode_same(const char *a, const char *b, size_t n)
{
	uint64_t x, y, x2, y2;
	uint32_t u, v, u2, v2;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&x2, a + n - 8, 8);
		memcpy(&y2, b + n - 8, 8);
		return ((x ^ y) | (x2 ^ y2)) == 0;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		memcpy(&u2, a + n - 4, 4);
		memcpy(&v2, b + n - 4, 4);
		return ((u ^ v) | (u2 ^ v2)) == 0;
	}
	while (n > 0 && *a == *b) {
		a++;
		b++;
		n--;
	}
	return n == 0;
}

bool
jnode_getn(const struct jnode *o, const char *key, size_t klen,
    struct jnode *out)
{
	const struct jscan_tok *t;
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
	/* from the last key back: json-c keeps a key's last value, and
	 * a walk from the first had to go to the end every time */
	for (k = (uint32_t)t[o->tok].num; k != 0; k = t[k].n) {
		if (t[k].len == klen &&
		    jnode_same(o->scan->text + t[k].start, key, klen)) {
			*out = *o;
			out->tok = k + 1;
			return true;
		}
	}
	return false;
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

/* jnode_same(), not memcmp(): the rules hash asks it of every two keys
 * of an object, and keys of one length are common ("size", "type"). */
static inline bool
jnode_same_key(const struct jscan *s, uint32_t a, uint32_t b)
{
	return s->t[a].len == s->t[b].len && jnode_same(s->text +
	    s->t[a].start, s->text + s->t[b].start, s->t[a].len);
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

/*
 * The plain bytes from p on, hashed into *h, four at a time while none
 * of the four needs an escape (one test for four table entries, and
 * the loop's own steps once for four bytes: byte by byte they cost
 * more than the hashing); the first byte that needs one, or end.
 */
static inline const unsigned char *
jnode_hash_plain(uint64_t *h, const unsigned char *p,
    const unsigned char *end)
{
	uint64_t x = *h;

	while (end - p >= 4 && !(jsonw_esc[p[0]] | jsonw_esc[p[1]] |
	    jsonw_esc[p[2]] | jsonw_esc[p[3]])) {
		x = jnode_fnv_byte(x, p[0]);
		x = jnode_fnv_byte(x, p[1]);
		x = jnode_fnv_byte(x, p[2]);
		x = jnode_fnv_byte(x, p[3]);
		p += 4;
	}
	while (p < end && !jsonw_esc[*p])
		x = jnode_fnv_byte(x, *p++);
	*h = x;
	return p;
}

/* A string as jnode_print_tok() quotes and escapes it (inline into
 * jnode_hash_tok(): most of the rules hash's strings are a few bytes,
 * and the call cost as much as hashing them). */
JSCAN_STEP int
jnode_hash_string(const struct jscan *s, const struct jscan_tok *t,
    uint64_t *h, struct buf *scratch)
{
	const unsigned char *p = (const unsigned char *)s->text + t->start;
	const unsigned char *end = p + t->len;
	uint64_t x = jnode_fnv_byte(*h, '"');
	int rc;

	while ((p = jnode_hash_plain(&x, p, end)) < end) {
		buf_reset(scratch);
		if ((rc = jsonw_escape(scratch, (const char *)p, 1,
		    JSONW_SLASH)) != 0)
			return rc;
		x = jnode_fnv1a(x, scratch->data, scratch->len);
		p++;
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
