/*
 * feedparse.c - a streaming reader for splitChanges answers.
 *
 * One byte at a time through two small machines: the lexer (between
 * tokens, in a string, an escape, a \u, a number, a literal) and the
 * grammar (what may come next, with a stack of open containers).  Only
 * scalars in a few places are kept: root "since" and "till", and each
 * split's "name" and "status"; the rest is checked and dropped.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "feedparse.h"
#include "utf8.h"

/* What the grammar allows next. */
enum {
	EX_VALUE,		/* after ':' or ',' in an array, or at the top */
	EX_VALUE_OR_CLOSE,	/* after '[' */
	EX_KEY,			/* after ',' in an object */
	EX_KEY_OR_CLOSE,	/* after '{' */
	EX_COLON,
	EX_COMMA_OR_CLOSE,
	EX_DONE			/* the root value is complete */
};

/* Where the lexer is. */
enum { LX_BETWEEN, LX_STRING, LX_ESCAPE, LX_HEX, LX_NUMBER, LX_LITERAL };

/* What the current scalar is for. */
enum { SLOT_NONE, SLOT_KEY, SLOT_SINCE, SLOT_TILL, SLOT_NAME, SLOT_STATUS };

/* Members we read, at the root and in a split. */
enum { K_OTHER, K_SINCE, K_TILL, K_SPLITS, K_NAME, K_STATUS };

static int fp_fail(struct feedparse *fp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fp_fail(struct feedparse *fp, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	if (fp->rc != 0)
		return fp->rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(fp->err, sizeof(fp->err), "%s at byte %llu", why,
	    (unsigned long long)fp->offset);
	fp->rc = FS_EPROTO;
	return fp->rc;
}

void
feedparse_init(struct feedparse *fp, feed_change_cb cb, void *arg)
{
	memset(fp, 0, sizeof(*fp));
	fp->cb = cb;
	fp->arg = arg;
	fp->expect = EX_VALUE;
	fp->lex = LX_BETWEEN;
}

/* Inside the "splits" array (depth 2) or one of its objects (3). */
static int
fp_in_splits(const struct feedparse *fp)
{
	return fp->depth >= 2 && fp->stack[0] == '{' && fp->stack[1] == '[' &&
	    fp->key1 == K_SPLITS;
}

static int
fp_in_split(const struct feedparse *fp)
{
	return fp->depth == 3 && fp_in_splits(fp) && fp->stack[2] == '{';
}

static void
fp_tok_put(struct feedparse *fp, const char *s, size_t n)
{
	size_t room = sizeof(fp->tok) - 1 - fp->ntok;

	if (fp->slot != SLOT_NONE) {
		memcpy(fp->tok + fp->ntok, s, n < room ? n : room);
		fp->ntok += n < room ? n : room;
	}
	fp->tok_len += n;
}

/* Appends code point cp as UTF-8; lone surrogates become U+FFFD. */
static void
fp_tok_cp(struct feedparse *fp, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp >= 0xD800 && cp <= 0xDFFF)
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	fp_tok_put(fp, u, n);
}

/* A \u escape's four hex digits are in: pair surrogates, or settle a
 * lone one. */
static void
fp_hex_done(struct feedparse *fp)
{
	uint32_t cp = fp->uhex;

	if (fp->surrogate != 0) {
		if (cp >= 0xDC00 && cp <= 0xDFFF) {
			cp = 0x10000 + ((fp->surrogate - 0xD800) << 10) +
			    (cp - 0xDC00);
			fp->surrogate = 0;
			fp_tok_cp(fp, cp);
			return;
		}
		fp_tok_cp(fp, 0xFFFD);
		fp->surrogate = 0;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		fp->surrogate = cp;
		return;
	}
	if (cp == 0 && fp->slot == SLOT_NAME && fp->bad == NULL)
		fp->bad = "its name holds a NUL character";
	fp_tok_cp(fp, cp);
}

/* The previous \u was a high surrogate, and no low one followed. */
static void
fp_surrogate_flush(struct feedparse *fp)
{
	if (fp->surrogate != 0) {
		fp->surrogate = 0;
		fp_tok_cp(fp, 0xFFFD);
	}
}

static void
fp_scalar_begin(struct feedparse *fp, int slot, int lex)
{
	fp->slot = slot;
	fp->lex = lex;
	fp->ntok = 0;
	fp->tok_len = 0;
	fp->surrogate = 0;
}

/* After any value: what may follow it. */
static void
fp_value_done(struct feedparse *fp)
{
	fp->expect = fp->depth == 0 ? EX_DONE : EX_COMMA_OR_CLOSE;
	fp->slot = SLOT_NONE;
}

static int
fp_key_id(const struct feedparse *fp)
{
	static const struct { const char *name; int id; int depth; } keys[] = {
		{ "since", K_SINCE, 1 }, { "till", K_TILL, 1 },
		{ "splits", K_SPLITS, 1 }, { "name", K_NAME, 3 },
		{ "status", K_STATUS, 3 },
	};
	size_t i;

	if (fp->tok_len != fp->ntok)
		return K_OTHER;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].depth == fp->depth &&
		    strlen(keys[i].name) == fp->ntok &&
		    memcmp(keys[i].name, fp->tok, fp->ntok) == 0)
			return keys[i].id;
	return K_OTHER;
}

static void
fp_name_done(struct feedparse *fp)
{
	fp->has_name = true;
	if (fp->tok_len > FS_FLAG_MAX) {
		fp->ntok = fp->ntok < FS_FLAG_MAX ? fp->ntok : FS_FLAG_MAX;
		fp->bad = fp->bad ? fp->bad : "its name is longer than 255 "
		    "bytes";
	}
	memcpy(fp->name, fp->tok, fp->ntok);
	fp->name[fp->ntok] = '\0';
	if (fp->bad == NULL && fp->ntok == 0)
		fp->bad = "its name is empty";
	if (fp->bad == NULL && !utf8_valid(fp->name, fp->ntok))
		fp->bad = "its name is not valid UTF-8";
}

static int
fp_string_done(struct feedparse *fp)
{
	fp_surrogate_flush(fp);
	fp->tok[fp->ntok] = '\0';
	switch (fp->slot) {
	case SLOT_KEY:
		if (fp->depth == 1)
			fp->key1 = fp_key_id(fp);
		else if (fp_in_split(fp))
			fp->key3 = fp_key_id(fp);
		fp->expect = EX_COLON;
		fp->slot = SLOT_NONE;
		return 0;
	case SLOT_NAME:
		fp_name_done(fp);
		break;
	case SLOT_STATUS:
		fp->has_status = true;
		fp->archived = strcmp(fp->tok, "ACTIVE") != 0;
		break;
	case SLOT_SINCE:
	case SLOT_TILL:
		return fp_fail(fp, "'%s' is a string, not a change number",
		    fp->slot == SLOT_SINCE ? "since" : "till");
	}
	fp_value_done(fp);
	return 0;
}

/* A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
fp_number_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static int
fp_number_done(struct feedparse *fp)
{
	long long v;
	char *end;

	fp->tok[fp->ntok] = '\0';
	if (fp->tok_len > FEEDPARSE_NUM_MAX || !fp_number_ok(fp->tok))
		return fp_fail(fp, "not a JSON number");
	if (fp->slot == SLOT_SINCE || fp->slot == SLOT_TILL) {
		errno = 0;
		v = strtoll(fp->tok, &end, 10);
		if (*end != '\0' || errno != 0 || v < -1)
			return fp_fail(fp, "'%s' is not a change number "
			    "(an integer, -1 or more)",
			    fp->slot == SLOT_SINCE ? "since" : "till");
		if (fp->slot == SLOT_SINCE)
			fp->since = v, fp->has_since = true;
		else
			fp->till = v, fp->has_till = true;
	}
	fp_value_done(fp);
	return 0;
}

static int
fp_literal_done(struct feedparse *fp)
{
	fp->tok[fp->ntok] = '\0';
	if (fp->tok_len > 5 || (strcmp(fp->tok, "true") != 0 &&
	    strcmp(fp->tok, "false") != 0 && strcmp(fp->tok, "null") != 0))
		return fp_fail(fp, "not a JSON value");
	if (fp->slot == SLOT_SINCE || fp->slot == SLOT_TILL)
		return fp_fail(fp, "'%s' is %s, not a change number",
		    fp->slot == SLOT_SINCE ? "since" : "till", fp->tok);
	fp_value_done(fp);
	return 0;
}

/* The slot a value starting now fills. */
static int
fp_value_slot(const struct feedparse *fp)
{
	if (fp->depth == 1 && fp->key1 == K_SINCE)
		return SLOT_SINCE;
	if (fp->depth == 1 && fp->key1 == K_TILL)
		return SLOT_TILL;
	if (fp_in_split(fp) && fp->key3 == K_NAME)
		return SLOT_NAME;
	if (fp_in_split(fp) && fp->key3 == K_STATUS)
		return SLOT_STATUS;
	return SLOT_NONE;
}

static int
fp_open(struct feedparse *fp, char c)
{
	if (fp->depth == FEEDPARSE_DEPTH)
		return fp_fail(fp, "JSON nested deeper than %d levels",
		    FEEDPARSE_DEPTH);
	if (fp->depth == 0 && c != '{')
		return fp_fail(fp, "the answer is not a JSON object");
	if (fp->depth == 1 && fp->key1 == K_SPLITS) {
		if (c != '[')
			return fp_fail(fp, "'splits' is not an array");
		fp->has_splits = true;
	}
	if (fp->depth == 2 && fp_in_splits(fp)) {
		if (c != '{')
			return fp_fail(fp, "an element of 'splits' is not an "
			    "object");
		fp->has_name = fp->has_status = fp->archived = false;
		fp->bad = NULL;
		fp->name[0] = '\0';
	}
	fp->stack[fp->depth++] = c;
	if (fp->depth == 3 && fp_in_split(fp))
		fp->key3 = K_OTHER;
	fp->expect = c == '{' ? EX_KEY_OR_CLOSE : EX_VALUE_OR_CLOSE;
	return 0;
}

static int
fp_split_done(struct feedparse *fp)
{
	struct feed_change ch;
	int rc;

	ch.name = fp->has_name ? fp->name : "";
	ch.archived = fp->archived;
	ch.invalid = fp->bad;
	if (ch.invalid == NULL && !fp->has_name)
		ch.invalid = "it has no string 'name'";
	if (ch.invalid == NULL && !fp->has_status)
		ch.invalid = "it has no string 'status'";
	if ((rc = fp->cb(fp->arg, &ch)) != 0) {
		fp->rc = rc;
		if (fp->err[0] == '\0')
			snprintf(fp->err, sizeof(fp->err), "%s",
			    fs_strerror(rc));
	}
	return rc;
}

static int
fp_close(struct feedparse *fp, char c)
{
	char want = c == '}' ? '{' : '[';
	int split;

	if (fp->depth == 0 || fp->stack[fp->depth - 1] != want)
		return fp_fail(fp, "unexpected '%c'", c);
	split = fp_in_split(fp);
	fp->depth--;
	if (split && fp_split_done(fp) != 0)
		return fp->rc;
	if (fp->depth == 1)
		fp->key1 = K_OTHER;
	fp_value_done(fp);
	return 0;
}

static int
fp_value(struct feedparse *fp, char c)
{
	if (c == '{' || c == '[')
		return fp_open(fp, c);
	if (fp->depth == 0)
		return fp_fail(fp, "the answer is not a JSON object");
	if (fp->depth == 2 && fp_in_splits(fp))
		return fp_fail(fp, "an element of 'splits' is not an object");
	if (fp->depth == 1 && fp->key1 == K_SPLITS)
		return fp_fail(fp, "'splits' is not an array");
	if (c == '"') {
		fp_scalar_begin(fp, fp_value_slot(fp), LX_STRING);
		return 0;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		/* a number is no name or status: those stay unset */
		fp_scalar_begin(fp, fp_value_slot(fp), LX_NUMBER);
		fp->tok[0] = c;
		fp->ntok = fp->tok_len = 1;
		return 0;
	}
	if (c >= 'a' && c <= 'z') {
		fp_scalar_begin(fp, fp_value_slot(fp), LX_LITERAL);
		fp->tok[0] = c;
		fp->ntok = fp->tok_len = 1;
		return 0;
	}
	return fp_fail(fp, "unexpected '%c'", c);
}

/* Between tokens: punctuation, or the start of a value or key. */
static int
fp_between(struct feedparse *fp, char c)
{
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		return 0;
	switch (fp->expect) {
	case EX_VALUE_OR_CLOSE:
		if (c == ']')
			return fp_close(fp, c);
		/* FALLTHROUGH */
	case EX_VALUE:
		return fp_value(fp, c);
	case EX_KEY_OR_CLOSE:
		if (c == '}')
			return fp_close(fp, c);
		/* FALLTHROUGH */
	case EX_KEY:
		if (c != '"')
			return fp_fail(fp, "expected a member name");
		fp_scalar_begin(fp, SLOT_KEY, LX_STRING);
		return 0;
	case EX_COLON:
		if (c != ':')
			return fp_fail(fp, "expected ':'");
		fp->expect = EX_VALUE;
		return 0;
	case EX_COMMA_OR_CLOSE:
		if (c == '}' || c == ']')
			return fp_close(fp, c);
		if (c != ',')
			return fp_fail(fp, "expected ',' or the end of the "
			    "container");
		fp->expect = fp->stack[fp->depth - 1] == '{' ? EX_KEY :
		    EX_VALUE;
		return 0;
	default:
		return fp_fail(fp, "data after the JSON value");
	}
}

static int
fp_escape(struct feedparse *fp, char c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p;

	fp->lex = LX_STRING;
	if (c == 'u') {
		fp->lex = LX_HEX;
		fp->uhex = 0;
		fp->nhex = 0;
		return 0;
	}
	if (c == '\0' || (p = strchr(from, c)) == NULL)
		return fp_fail(fp, "bad escape '\\%c' in a string", c);
	fp_surrogate_flush(fp);
	fp_tok_put(fp, &to[p - from], 1);
	return 0;
}

static int
fp_hex(struct feedparse *fp, char c)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return fp_fail(fp, "bad \\u escape in a string");
	fp->uhex = fp->uhex * 16 + (uint32_t)v;
	if (++fp->nhex == 4) {
		fp->lex = LX_STRING;
		fp_hex_done(fp);
	}
	return 0;
}

static int
fp_string(struct feedparse *fp, char c)
{
	if (c == '"') {
		fp->lex = LX_BETWEEN;
		return fp_string_done(fp);
	}
	if (c == '\\') {
		fp->lex = LX_ESCAPE;
		return 0;
	}
	if ((unsigned char)c < 0x20)
		return fp_fail(fp, "a control character in a string");
	fp_surrogate_flush(fp);
	fp_tok_put(fp, &c, 1);
	return 0;
}

/* Numbers and literals end at the first byte not theirs. */
static int
fp_scalar_end(struct feedparse *fp, char c, int *again)
{
	int number = fp->lex == LX_NUMBER;

	if (number ? (c >= '0' && c <= '9') || c == '.' || c == 'e' ||
	    c == 'E' || c == '+' || c == '-' : c >= 'a' && c <= 'z') {
		if (fp->ntok < sizeof(fp->tok) - 1)
			fp->tok[fp->ntok++] = c;
		fp->tok_len++;
		return 0;
	}
	fp->lex = LX_BETWEEN;
	*again = 1;
	return number ? fp_number_done(fp) : fp_literal_done(fp);
}

static int
fp_byte(struct feedparse *fp, char c)
{
	int again = 0, rc;

	switch (fp->lex) {
	case LX_STRING:
		return fp_string(fp, c);
	case LX_ESCAPE:
		return fp_escape(fp, c);
	case LX_HEX:
		return fp_hex(fp, c);
	case LX_NUMBER:
	case LX_LITERAL:
		if ((rc = fp_scalar_end(fp, c, &again)) != 0 || !again)
			return rc;
		/* FALLTHROUGH */
	default:
		return fp_between(fp, c);
	}
}

int
feedparse_push(struct feedparse *fp, const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && fp->rc == 0; i++) {
		if (fp_byte(fp, data[i]) != 0)
			break;
		fp->offset++;
	}
	return fp->rc;
}

int
feedparse_finish(struct feedparse *fp, int64_t *since, int64_t *till)
{
	if (fp->rc != 0)
		return fp->rc;
	/* a number can only end at the next byte: the end is one */
	if (fp->lex == LX_NUMBER && fp_number_done(fp) != 0)
		return fp->rc;
	if (fp->lex == LX_LITERAL && fp_literal_done(fp) != 0)
		return fp->rc;
	if (fp->expect != EX_DONE || fp->lex == LX_STRING ||
	    fp->lex == LX_ESCAPE || fp->lex == LX_HEX)
		return fp_fail(fp, fp->offset == 0 ? "empty answer" :
		    "truncated JSON");
	if (!fp->has_splits)
		return fp_fail(fp, "no 'splits' array");
	if (!fp->has_since || !fp->has_till)
		return fp_fail(fp, "no 'since' and 'till' change numbers");
	*since = fp->since;
	*till = fp->till;
	return 0;
}
