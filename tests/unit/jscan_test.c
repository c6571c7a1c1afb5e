/*
 * jscan_test.c - the page scanner reads what json-c reads, or declines.
 *
 * Every text the scanner takes must be one json-c (strict, as split.c
 * parses) takes too, printing the same bytes with JSON_C_TO_STRING_PLAIN
 * and giving the same members; the texts it must decline are named.  A
 * seeded run of mutated pages checks the same on texts nobody wrote.
 * jscan_scalar_test is this file run on a JSCAN_SCALAR build of the
 * scanner: its byte-at-a-time path, which SSE2 machines skip.
 */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "jscan.h"

/* json-c as split.c runs it; NULL when it refuses the text. */
static json_object *
strict_parse(const char *text, size_t len)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end, i;

	tok = json_tokener_new_ex(64);
	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (i = end; o != NULL && i < len; i++)
		if (strchr(" \t\r\n", text[i]) == NULL) {
			json_object_put(o);
			o = NULL;
		}
	return o;
}

/* The rules hash's walk gives the FNV-1a of the printed bytes. */
static void
hash_agrees(const struct jnode *n, const struct buf *printed)
{
	struct buf scratch;
	uint64_t h = JNODE_FNV_OFFSET;

	buf_init(&scratch, 0);
	assert_int_equal(jnode_print_hash(n, &h, &scratch), 0);
	assert_true(h == jnode_fnv1a(JNODE_FNV_OFFSET, printed->data,
	    printed->len));
	buf_release(&scratch);
}

/*
 * Scans text; when taken, json-c must take it and agree.  Returns what
 * jscan_parse() returned.
 */
static int
scan_agrees(const char *text, size_t len)
{
	struct jscan s;
	struct jnode root, v, jroot, jv;
	struct buf out;
	json_object *o;
	char *copy;
	int rc;

	/* exactly len bytes and the NUL jscan_parse() requires after
	 * them, nothing more: a sanitizer build sees any read past it */
	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	copy[len] = '\0';
	jscan_init(&s);
	rc = jscan_parse(&s, copy, len);
	assert_true(rc == 0 || rc == JSCAN_FALLBACK);
	if (rc == 0) {
		o = strict_parse(text, len);
		if (o == NULL && strncmp(text, "null", 4) != 0)
			fail_msg("scanned, but json-c refuses: %.*s", (int)len,
			    text);
		root.json = NULL;
		root.scan = &s;
		root.tok = 0;
		buf_init(&out, 0);
		assert_int_equal(jnode_print(&root, &out), 0);
		assert_string_equal(buf_str(&out), o == NULL ? "null" :
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		hash_agrees(&root, &out);
		/* the members the readers ask for */
		jnode_json(&jroot, o);
		assert_int_equal(jnode_get(&root, "a", &v),
		    jnode_get(&jroot, "a", &jv));
		if (jnode_get(&root, "a", &v)) {
			buf_reset(&out);
			assert_int_equal(jnode_print(&v, &out), 0);
			assert_int_equal(jnode_type(&v), jnode_type(&jv));
			assert_string_equal(buf_str(&out), jv.json == NULL ?
			    "null" : json_object_to_json_string_ext(jv.json,
			    JSON_C_TO_STRING_PLAIN));
			hash_agrees(&v, &out);
			if (jnode_type(&v) == json_type_string)
				assert_string_equal(jnode_str(&v),
				    jnode_str(&jv));
			if (jnode_type(&v) == json_type_int)
				assert_true(jnode_int64(&v) ==
				    jnode_int64(&jv));
			assert_int_equal(jnode_len(&v), jnode_len(&jv));
		}
		buf_release(&out);
		json_object_put(o);
	} else {
		/* declined texts are left for json-c as they came */
		assert_memory_equal(copy, text, len);
	}
	jscan_release(&s);
	free(copy);
	return rc;
}

static void
test_taken(void **state)
{
	static const char *const texts[] = {
		"{}", "[]", "0 ", "-1\n", "123456789012345678 ",
		"[999999999999999999,-999999999999999999]", "true ",
		"false\t",
		"null ", "\"\"", " {\"a\" : 1 } \r\n\t",
		"{\"a\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"}",
		"{\"a\":\"\\u00e9\\u65e5\\u0041\\u007f\\u0001\\uFFFD\"}",
		"{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 / slash\"}",
		"{\"a\":1,\"b\":2,\"a\":{\"x\":[1,{\"a\":null}]}}",
		"{\"b\":[1,2,{\"c\":[],\"d\":{}}],\"a\":[[[]]]}",
		"{\"a\":[true,false,null,\"x\",-5,0]}",
		"{\"objects\":[{\"a\":1},{\"a\":2}],\"totalCount\":2}",
		"{\"a\":{\"k\":1,\"k\":2,\"j\":3,\"k\":4}}",
		/* several strings with escapes, around plain ones */
		"[\"x\\n\",\"y\",{\"a\":\"\\u00e9\\t\"},\"z\",\"\\/\",\"\\\"\"]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (scan_agrees(texts[i], strlen(texts[i])) != 0)
			fail_msg("declined: %s", texts[i]);
}

static void
test_declined(void **state)
{
	static const char *const texts[] = {
		"", "   ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[1 2]",
		"{'a':1}", "0", "true", "null", "[01]", "[-0]", "[1.5]",
		"[1e3]", "[-]",
		"[1234567890123456789]", "[9999999999999999999]",
		"[-9223372036854775808]", "[tru]", "[truex]", "[nul]",
		"[trUe]", "[fAlse]", "[falsE]", "[fals]", "[nulx]", "[nxll]",
		"[t]", "[f]", "[n]",
		"[\"a\nb\"]", "[\"\\u0000\"]", "[\"\\ud83d\\ude00\"]",
		"[\"\\x\"]", "[\"\\u12\"]", "{\"a\\u0062\":1}", "[\"abc",
		"{} x", "{}{}", "[\"\xff\"]", "[\"\xc3\"]", "\xef\xbb\xbf{}",
		"[NaN]", "[Infinity]", "/* c */ {}", "{\"a\":1}\0",
	};
	char deep[JSCAN_DEPTH * 2 + 3];
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (scan_agrees(texts[i], strlen(texts[i]) +
		    (i + 1 == sizeof(texts) / sizeof(texts[0]))) == 0)
			fail_msg("taken: %s", texts[i]);
	memset(deep, '[', JSCAN_DEPTH + 1);
	memset(deep + JSCAN_DEPTH + 1, ']', JSCAN_DEPTH + 1);
	assert_int_equal(scan_agrees(deep, 2 * (JSCAN_DEPTH + 1)),
	    JSCAN_FALLBACK);
	assert_int_equal(scan_agrees(deep + 1, 2 * JSCAN_DEPTH), 0);
	/* an object of more than JSCAN_MEMBERS members */
	buf_init(&b, 0);
	assert_int_equal(buf_putc(&b, '{'), 0);
	for (i = 0; i <= JSCAN_MEMBERS; i++)
		assert_int_equal(buf_printf(&b, "%s\"k%zu\":%zu", i ? "," : "",
		    i, i), 0);
	assert_int_equal(buf_putc(&b, '}'), 0);
	assert_int_equal(scan_agrees(b.data, b.len), JSCAN_FALLBACK);
	buf_release(&b);
}

/*
 * Strings whose special byte (the closing quote, an escape, a control,
 * non-ASCII, valid or not) stands at every offset of 0 to 40 bytes, the
 * string starting at every offset of a 16-byte block: the scanner finds
 * a string's plain run 16 bytes at a time where it can (and byte by
 * byte in its last 15 bytes and in a JSCAN_SCALAR build).
 */
static void
test_string_offsets(void **state)
{
	static const char *const special[] = {
		"\\\"", "\\n", "\\u00e9", "\\/", "\xc3\xa9", "\xe6\x97\xa5",
		"\x01", "\x1f", "\x7f", "\xff", "\xc3", " ", "\"", "\\",
		"\\x", "!", "#", "\x80", "\x20\x21\x23", "/",
	};
	static const char fill[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
	char text[160];
	size_t sp, pad, at, k, len;
	int n, taken = 0;

	(void)state;
	for (sp = 0; sp < sizeof(special) / sizeof(special[0]); sp++)
		for (pad = 0; pad < 16; pad++)
			for (at = 0; at <= 40; at++) {
				n = snprintf(text, sizeof(text),
				    "{\"b\":\"%.*s\",\"a\":\"%.*s%s%.*s\"}",
				    (int)pad, "0123456789abcdef",
				    (int)at, fill, special[sp], (int)(40 - at),
				    fill);
				assert_true(n > 0 && (size_t)n < sizeof(text));
				len = (size_t)n;
				if (scan_agrees(text, len) == 0)
					taken++;
				/* the same text ending at every byte */
				for (k = len > 24 ? len - 24 : 0; k < len; k++)
					assert_int_equal(scan_agrees(text, k),
					    JSCAN_FALLBACK);
			}
	/* read: the escapes \" \n \u00e9 \/, two valid UTF-8 characters,
	 * DEL, the space, '!', '#' and the three (the bytes next to the
	 * quote) and a plain '/' (which the rules hash escapes); the rest
	 * are declined */
	assert_int_equal(taken, 12 * 16 * 41);
}

/* Texts ending inside a long string, at every length. */
static void
test_string_cut(void **state)
{
	char text[80];
	size_t k;

	(void)state;
	memset(text, 'x', sizeof(text));
	text[0] = '[';
	text[1] = '"';
	for (k = 0; k <= sizeof(text); k++)
		assert_int_equal(scan_agrees(text, k), JSCAN_FALLBACK);
	text[sizeof(text) - 2] = '"';
	text[sizeof(text) - 1] = ']';
	assert_int_equal(scan_agrees(text, sizeof(text)), 0);
}

/*
 * {"a":N} for nd digits (a minus first when neg), random but for the
 * byte at place at (none when at == nd, the first then no 0 unless
 * zero); scanned whole and cut at every length.  Returns whether the
 * whole was taken.
 */
static int
number_agrees(size_t nd, int neg, size_t at, char byte, int zero,
    unsigned *seed)
{
	char text[64];
	size_t k, len;

	len = (size_t)snprintf(text, sizeof(text), "{\"a\":%s", neg ? "-" :
	    "");
	for (k = 0; k < nd; k++) {
		*seed = *seed * 1103515245u + 12345u;
		text[len + k] = (char)('0' + (*seed >> 16) % 10);
	}
	if (at < nd)
		text[len + at] = byte;
	else if (text[len] == '0' && !zero)
		text[len] = '7';
	len += nd;
	text[len++] = '}';
	for (k = 0; k < len; k++)
		assert_int_equal(scan_agrees(text, k), JSCAN_FALLBACK);
	return scan_agrees(text, len) == 0;
}

/*
 * Integers of 1 to 20 digits, negative or not, with a leading zero, and
 * with a byte that is no digit at each place: the scanner reads eight
 * digits at a time where it can.
 */
static void
test_number_digits(void **state)
{
	static const char other[] = "./:e-+ \"0\xfa\xff\x00";
	size_t nd, at, o;
	unsigned seed = 7;
	int neg, taken = 0;

	(void)state;
	for (nd = 1; nd <= 20; nd++)
		for (neg = 0; neg < 2; neg++)
			for (at = 0; at <= nd; at++)
				for (o = 0; o < sizeof(other) - 1; o++)
					taken += number_agrees(nd, neg, at,
					    other[o], o % 2, &seed);
	/* some of each length up to 18 digits are read */
	assert_true(taken > 18 * 2 * 6);
}

/*
 * Keys of 0 to 20 bytes looked up as they are and with one byte changed
 * at each place: jnode_get() compares short keys by overlapping words.
 */
static void
test_get_keys(void **state)
{
	static const char name[] = "abcdefghijklmnopqrstu";
	struct jscan s;
	struct jnode root, v;
	struct buf b;
	char key[sizeof(name)];
	size_t len, at;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_putc(&b, '{'), 0);
	for (len = 0; len < sizeof(name); len++)
		assert_int_equal(buf_printf(&b, "%s\"%.*s\":%zu", len ? "," :
		    "", (int)len, name, len), 0);
	assert_int_equal(buf_putc(&b, '}'), 0);
	jscan_init(&s);
	assert_int_equal(jscan_parse(&s, b.data, b.len), 0);
	root.json = NULL;
	root.scan = &s;
	root.tok = 0;
	for (len = 0; len < sizeof(name); len++) {
		memcpy(key, name, len);
		key[len] = '\0';
		assert_true(jnode_get(&root, key, &v));
		assert_true(jnode_int64(&v) == (int64_t)len);
		for (at = 0; at < len; at++) {
			key[at] = 'X';
			assert_false(jnode_get(&root, key, &v));
			key[at] = name[at];
		}
	}
	jscan_release(&s);
	buf_release(&b);
}

/*
 * Whitespace JSON allows, and bytes it does not (form feed, vertical
 * tab, NUL), before and after every byte of a text: JSON's four
 * between tokens the scanner takes as json-c does.  (In a string json-c
 * takes a raw tab, and the scanner leaves that to it; strict_parse()
 * takes a NUL at the end.)
 */
static void
test_whitespace(void **state)
{
	static const char text[] =
	    "{\"a\":[1,\"x\",true,{\"b\":null},[]],\"c\":{},\"d\":-2}";
	static const char ws[] = " \t\n\r\f\v";
	char buf[sizeof(text) + 2];
	size_t len = sizeof(text) - 1, at, w, n, quotes = 0;
	json_object *o;
	int taken = 0;

	(void)state;
	for (at = 0; at <= len; quotes += at < len && text[at] == '"', at++)
		for (w = 0; w <= sizeof(ws) - 1; w++) {
			memcpy(buf, text, at);
			buf[at] = ws[w];
			memcpy(buf + at + 1, text + at, len - at);
			n = len + 1;
			o = strict_parse(buf, n);
			if (scan_agrees(buf, n) == 0)
				taken++;
			else if (o != NULL && quotes % 2 == 0 && w < 4)
				fail_msg("declined: %.*s", (int)n, buf);
			json_object_put(o);
		}
	/* the four JSON whitespace bytes between tokens are read */
	assert_true(taken > 4 * 20);
}

/* A page as the simulator serves it, for the mutations. */
static const char page[] =
	"{\"objects\":[{\"name\":\"f\\\"1\",\"killed\":false,\"treatments\":"
	"[{\"name\":\"on\",\"keys\":[\"k/1\",\"\\u00e9\"],\"segments\":null},"
	"{\"name\":\"off\"}],\"defaultTreatment\":\"off\",\"trafficAllocation\":"
	"100,\"rules\":[{\"condition\":{\"combiner\":\"AND\",\"matchers\":[{"
	"\"type\":\"IN_SEGMENT\",\"string\":\"a/b\",\"a\":1,\"a\":-2}]},"
	"\"buckets\":[{\"treatment\":\"on\",\"size\":50}]}],\"defaultRule\":"
	"[{\"treatment\":\"on\",\"size\":25},{\"treatment\":\"off\",\"size\":"
	"75}],\"lastUpdateTime\":1700000500000}],\"offset\":0,\"limit\":50,"
	"\"totalCount\":1}";

static void
test_mutations(void **state)
{
	static const char bytes[] = "{}[]\",:\\/ 0-1eu.atfn\x01\xc3\xa9\xff";
	char text[sizeof(page) + 8];
	size_t len, i, k, pos;
	unsigned seed = 20261206;
	int taken = 0;

	(void)state;
	for (i = 0; i < 20000; i++) {
		len = sizeof(page) - 1;
		memcpy(text, page, len);
		for (k = 0; k < 1 + i % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			pos = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 8) % 3) {
			case 0:		/* replace a byte */
				text[pos] = bytes[(seed >> 12) %
				    (sizeof(bytes) - 1)];
				break;
			case 1:		/* drop one */
				memmove(text + pos, text + pos + 1,
				    len - pos - 1);
				len--;
				break;
			default:	/* insert one */
				memmove(text + pos + 1, text + pos, len - pos);
				text[pos] = bytes[(seed >> 12) %
				    (sizeof(bytes) - 1)];
				len++;
				break;
			}
		}
		text[len] = '\0';
		if (scan_agrees(text, len) == 0)
			taken++;
	}
	/* many mutants are still JSON the scanner reads */
	assert_true(taken > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_declined),
		cmocka_unit_test(test_string_offsets),
		cmocka_unit_test(test_string_cut),
		cmocka_unit_test(test_number_digits),
		cmocka_unit_test(test_get_keys),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
