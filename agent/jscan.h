/*
 * jscan.h - Split's pages read without a json-c tree.
 *
 * A cold sync of a large account reads every flag twice (the list and
 * the definitions), and building, reading and freeing a json-c object
 * tree per page cost several times what it costs to receive the page.
 * jscan_parse() instead scans a page once into a flat array of tokens
 * (reused from page to page) and decodes its strings in place.
 *
 * It takes only the JSON it can read exactly as json-c would: strict
 * syntax, integers of at most 18 digits (no "-0"), strings without raw
 * control characters, \u escapes only of non-zero characters outside the
 * surrogates, keys without escapes, at most JSCAN_MEMBERS members an
 * object, nesting within JSCAN_DEPTH, valid UTF-8, no number or literal
 * ending the text (json-c calls that truncated).  A key given twice reads
 * as json-c reads it: the last value, where the key came first.
 * Anything else is JSCAN_FALLBACK: the caller parses that page with
 * json-c as before, so every answer json-c refuses is refused with
 * json-c's words, and every value read is the value json-c would have
 * read.
 *
 * struct jnode is one JSON value either way, a json-c object or a token
 * of a scan, with the json-c accessors the readers of Split's answers
 * need; jnode_print() gives the bytes json-c prints with
 * JSON_C_TO_STRING_PLAIN.
 *
 * Ownership: a scan keeps pointers into the text it was given, which the
 * caller keeps (and does not read as JSON again: strings are decoded in
 * it) until the scan is reset or released.
 */
#ifndef FLAGSYNC_JSCAN_H
#define FLAGSYNC_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"

#define JSCAN_DEPTH	32
#define JSCAN_MEMBERS	128	/* members an object may have */
#define JSCAN_FALLBACK	(-1)	/* not for the scanner: use json-c */

struct jscan_tok {
	uint8_t	 type;		/* enum json_type */
	uint8_t	 escaped;	/* a string with escapes to decode; an
				 * open container, while scanned: its
				 * closing byte */
	uint32_t start;		/* string: its text; number: its digits */
	uint32_t len;		/* string: decoded bytes; number: digits */
	uint32_t next;		/* the token after this value */
	uint32_t n;		/* array elements, object members; a key:
				 * the key before it in its object (0: none) */
	int64_t	 num;		/* int; an object: its last key (0: none) */
};

struct jscan {
	struct jscan_tok *t;
	size_t	 n, cap;
	char	*text;		/* not owned */
	size_t	 len;
};

void	jscan_init(struct jscan *s);
void	jscan_release(struct jscan *s);
/*
 * Scans len bytes of text as one JSON value with nothing but whitespace
 * after it.  text[len] must be a NUL (a struct buf's data has it; text
 * may be NULL when len is 0): it ends the scanner's loops without a
 * test of the end per byte, and nothing past it is read.  0: tokens
 * ready, strings decoded in text; JSCAN_FALLBACK: not taken (text
 * unchanged); ENOMEM, EFBIG.
 */
int	jscan_parse(struct jscan *s, char *text, size_t len);

/* One value: a json-c object (json, NULL being JSON null) when scan is
 * NULL, else token tok of scan. */
struct jnode {
	json_object *json;
	const struct jscan *scan;
	uint32_t tok;
};

struct jnode_iter {
	struct jnode arr;
	size_t	 i, n;
	uint32_t tok;
};

void	jnode_json(struct jnode *n, json_object *o);
/* As json_object_object_get_ex(): false when o is no object or has no
 * key (klen bytes, NUL-terminated); a JSON null is found, as a node of
 * json_type_null. */
bool	jnode_getn(const struct jnode *o, const char *key, size_t klen,
	    struct jnode *out);
/* jnode_getn() of a C string; inline, so that the length of a literal
 * key is known when compiling. */
static inline bool
jnode_get(const struct jnode *o, const char *key, struct jnode *out)
{
	return jnode_getn(o, key, strlen(key), out);
}

/*
 * The accessors are inline: a view reads a dozen values a flag through
 * them, and their calls cost as much as their work.
 */
static inline const struct jscan_tok *
jnode_tok(const struct jnode *n)
{
	return &n->scan->t[n->tok];
}

static inline enum json_type
jnode_type(const struct jnode *n)
{
	if (n->scan == NULL)
		return json_object_get_type(n->json);
	return (enum json_type)jnode_tok(n)->type;
}

/* A string's text (NUL-terminated), or NULL for any other type. */
static inline const char *
jnode_str(const struct jnode *n)
{
	if (jnode_type(n) != json_type_string)
		return NULL;
	if (n->scan == NULL)
		return json_object_get_string(n->json);
	return n->scan->text + jnode_tok(n)->start;
}

/* An int's value; 0 for any other type. */
static inline int64_t
jnode_int64(const struct jnode *n)
{
	if (n->scan == NULL)
		return json_object_get_int64(n->json);
	return jnode_tok(n)->type == json_type_int ? jnode_tok(n)->num : 0;
}

/* A boolean's value; false for any other type. */
static inline bool
jnode_bool(const struct jnode *n)
{
	if (n->scan == NULL)
		return json_object_get_boolean(n->json);
	return jnode_tok(n)->type == json_type_boolean && jnode_tok(n)->num;
}

/* An array's length; 0 for any other type. */
static inline size_t
jnode_len(const struct jnode *a)
{
	if (jnode_type(a) != json_type_array)
		return 0;
	if (a->scan == NULL)
		return json_object_array_length(a->json);
	return jnode_tok(a)->n;
}

static inline void
jnode_iter_init(struct jnode_iter *it, const struct jnode *arr)
{
	it->arr = *arr;
	it->i = 0;
	it->n = jnode_len(arr);
	it->tok = arr->scan ? arr->tok + 1 : 0;
}

/* The next element of the array, false after the last. */
static inline bool
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

/* Appends what json_object_to_json_string_ext(PLAIN) prints for n. */
int	jnode_print(const struct jnode *n, struct buf *out);

/* FNV-1a, 64 bits, of n bytes, continuing from h (JNODE_FNV_OFFSET to
 * start). */
#define JNODE_FNV_OFFSET	0xcbf29ce484222325ULL
#define JNODE_FNV_PRIME		0x100000001b3ULL
uint64_t jnode_fnv1a(uint64_t h, const void *data, size_t n);
/*
 * *h continued over the bytes jnode_print() would append for n, mostly
 * without making them: a flag's rules are hashed this way, and printing
 * them first cost more than the rest of the view.  scratch (the
 * caller's) holds the parts that are printed after all: a json-c node,
 * an object with a key given twice, an escaped byte.
 */
int	jnode_print_hash(const struct jnode *n, uint64_t *h,
	    struct buf *scratch);

#endif
