/* view.c - the flag view: built from Split, kept as a record, shown as JSON. */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"
#include "jscan.h"
#include "jsonw.h"
#include "view.h"

/* Bump when the record layout changes: old records then read as corrupt
 * and the next poll rewrites them. */
#define VIEW_RECORD_VERSION	1
#define VIEW_RECORD_NULL	UINT32_MAX	/* length of a NULL string */

#define VIEW_FNV_OFFSET		JNODE_FNV_OFFSET

/* Where a definition error is reported, and the block the view being
 * built takes its strings and arrays from. */
struct view_parse {
	const char	*flag;
	char		*err;
	size_t		 errlen;
	char		*arena;		/* the view's, or NULL */
	size_t		 used, cap;
	bool		 spilled;	/* something did not fit arena */
};

/* A view built from a definition: its strings and arrays fit in this as
 * a rule (what does not is allocated on its own).  A poll builds one
 * per flag, and some fifteen allocations each cost more than parsing. */
#define VIEW_BUILD_ARENA	1024

struct view_reader {
	const unsigned char *p;
	size_t		 left;
	char		*arena;		/* the view's, or NULL */
	size_t		 used, cap;
	bool		 spilled;	/* something did not fit arena */
};

void
view_init(struct flag_view *v)
{
	*v = (struct flag_view){ .defined = false };
}

/* Frees p unless it is NULL or lives in v's arena: a view is released
 * for every record a commit reads, most of them empty or all arena, and
 * a free(NULL) call a field cost more than the rest of the release. */
static inline void
view_free(const struct flag_view *v, void *p)
{
	uintptr_t a = (uintptr_t)v->arena, x = (uintptr_t)p;

	if (p == NULL || (v->arena != NULL && x >= a &&
	    x < a + v->arena_len))
		return;
	free(p);
}

static void
view_strv_free(const struct flag_view *v, char **sv, size_t n)
{
	size_t i;

	if (sv == NULL)
		return;
	for (i = 0; i < n; i++)
		view_free(v, sv[i]);
	view_free(v, sv);
}

void
view_release(struct flag_view *v)
{
	size_t i;

	/* all in the block: nothing else to free, nothing to look at */
	if (v->boxed) {
		free(v->arena);
		view_init(v);
		return;
	}
	view_free(v, v->project);
	view_free(v, v->environment);
	view_free(v, v->flag);
	view_free(v, v->flag_id);
	view_free(v, v->ws_id);
	view_free(v, v->env_id);
	view_free(v, v->default_treatment);
	if (v->default_rule != NULL) {
		for (i = 0; i < v->ndefault_rule; i++)
			view_free(v, v->default_rule[i].treatment);
		view_free(v, v->default_rule);
	}
	view_strv_free(v, v->treatments, v->ntreatments);
	view_free(v, v->url);
	view_strv_free(v, v->tags, v->ntags);
	view_free(v, v->description);
	free(v->arena);
	view_init(v);
}

bool
view_is_active(const struct flag_view *v)
{
	return v->defined && !v->killed;
}

/* What does not fit the block is allocated on its own. */
static void *
view_block_spill(size_t n, int zero)
{
	void *p;

	if ((p = malloc(n ? n : 1)) != NULL && zero)
		memset(p, 0, n);
	return p;
}

/* n bytes (8-aligned) from arena when they fit, else from malloc():
 * view_free() tells the two apart, and *spilled says the view is not
 * all in its block. */
static inline void *
view_block_alloc(char *arena, size_t *used, size_t cap, bool *spilled,
    size_t n, int zero)
{
	size_t at = (*used + 7) & ~(size_t)7;
	void *p;

	if (arena == NULL || at > cap || n > cap - at) {
		*spilled = true;
		return view_block_spill(n, zero);
	}
	p = arena + at;
	*used = at + n;
	if (zero)
		memset(p, 0, n);
	return p;
}

/* n zeroed elements of size, from the view's block. */
static void *
view_parse_calloc(struct view_parse *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return view_block_alloc(p->arena, &p->used, p->cap, &p->spilled,
	    n * size, 1);
}

/* A copy of s, where NULL copies as NULL. */
static inline int
view_strdup(struct view_parse *p, char **dst, const char *s)
{
	size_t n;

	*dst = NULL;
	if (s == NULL)
		return 0;
	n = strlen(s) + 1;
	if ((*dst = view_block_alloc(p->arena, &p->used, p->cap,
	    &p->spilled, n, 0)) == NULL)
		return ENOMEM;
	memcpy(*dst, s, n);
	return 0;
}

static int
view_strv_dup(struct view_parse *p, char ***dst, size_t *ndst,
    const char *const *src, size_t n)
{
	size_t i;
	int rc;

	*dst = NULL;
	*ndst = 0;
	if (n == 0)
		return 0;
	if ((*dst = view_parse_calloc(p, n, sizeof(**dst))) == NULL)
		return ENOMEM;
	/* Counted first so that release frees a partial copy. */
	*ndst = n;
	for (i = 0; i < n; i++)
		if ((rc = view_strdup(p, &(*dst)[i], src[i])) != 0)
			return rc;
	return 0;
}

/*
 * Definition parsing.
 */

static int view_def_error(struct view_parse *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

static int
view_def_error(struct view_parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return FS_EPROTO;
	n = snprintf(p->err, p->errlen, "flag '%s': definition ",
	    p->flag ? p->flag : "");
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return FS_EPROTO;
}

/*
 * The definition is read through struct jnode (jscan.h): a json-c tree,
 * or a page scanned without one.  Both give the same values, so one
 * reader gives the same views and the same messages.
 */

/* Where a field is, for messages: "" or "defaultRule[2]." (made only
 * when there is a message: formatting it for every bucket cost more
 * than reading the bucket). */
struct view_where {
	const char *arr;	/* NULL: the definition itself */
	size_t	 i;
};

static const struct view_where view_top = { NULL, 0 };

static const char *
view_where_str(const struct view_where *w, char *buf, size_t len)
{
	if (w->arr == NULL)
		return "";
	snprintf(buf, len, "%s[%zu].", w->arr, w->i);
	return buf;
}

/*
 * The members a reader wants of one object, looked up together: one walk
 * over a scanned object's keys instead of one a member (a definition has
 * fifteen, and each jnode_get() walked most of them).  A json-c node is
 * looked up key by key, as before.
 */
struct view_key {
	const char *name;
	size_t	 len;
};
#define VIEW_KEY(s)	{ (s), sizeof(s) - 1 }
#define VIEW_KEYS_MAX	8

/* The members of one kind of object: their names (for json-c and the
 * messages) and which of them a scanned key is, or -1.  The index is a
 * switch on the key's length with the name compared at a constant
 * length: comparing every key with every member by length, first byte
 * and memcmp() call was 19 M instructions at 10,000 flags.  The lookup
 * is inlined into each of its four readers, where the set is a constant,
 * so that the index is inlined too instead of called through a pointer
 * once a key. */
struct view_keyset {
	const struct view_key *keys;
	size_t	 n;
	int	 (*index)(const char *name, size_t len);
};

/* name (of a length the caller has matched) is lit */
#define VIEW_IS(name, lit)	(memcmp((name), (lit), sizeof(lit) - 1) == 0)

struct view_fields {
	struct jnode v[VIEW_KEYS_MAX];
	bool	 found[VIEW_KEYS_MAX];	/* present and not JSON null */
};

/* The walk of jnode_get() (jscan.h: an object's num is its last key, a
 * key's n the key before it, its value the token after it), for the
 * members of ks at once: the first occurrence met from the end is the
 * value json-c keeps of a key given twice. */
static inline __attribute__((always_inline)) void
view_lookup_scan(const struct jnode *o, const struct view_keyset *ks,
    struct view_fields *f)
{
	const struct jscan_tok *t = o->scan->t;
	const char *text = o->scan->text;
	size_t left = ks->n;
	uint32_t k;
	int i;

	for (k = (uint32_t)t[o->tok].num; k != 0 && left > 0; k = t[k].n) {
		i = ks->index(text + t[k].start, t[k].len);
		if (i < 0 || f->v[i].tok != 0)
			continue;
		f->v[i] = *o;
		f->v[i].tok = k + 1;
		f->found[i] = t[k + 1].type != json_type_null;
		left--;
	}
}

static inline __attribute__((always_inline)) void
view_lookup(const struct jnode *o, const struct view_keyset *ks,
    struct view_fields *f)
{
	size_t i;

	for (i = 0; i < ks->n; i++) {
		f->found[i] = false;
		f->v[i].tok = 0;	/* a scan's token 0 is never a value */
	}
	if (o->scan != NULL) {
		if (o->scan->t[o->tok].type == json_type_object)
			view_lookup_scan(o, ks, f);
		return;
	}
	for (i = 0; i < ks->n; i++)
		f->found[i] = jnode_get(o, ks->keys[i].name, &f->v[i]) &&
		    jnode_type(&f->v[i]) != json_type_null;
}

/* Member i of f, or NULL when absent or JSON null. */
static const struct jnode *
view_field(const struct view_fields *f, size_t i)
{
	return f->found[i] ? &f->v[i] : NULL;
}

static int
view_get_string(struct view_parse *p, const struct jnode *v,
    const struct view_where *w, const char *key, const char **out)
{
	char where[48];

	if (v == NULL)
		return view_def_error(p, "field '%s%s' is missing",
		    view_where_str(w, where, sizeof(where)), key);
	if (jnode_type(v) != json_type_string)
		return view_def_error(p, "field '%s%s' is not a string",
		    view_where_str(w, where, sizeof(where)), key);
	*out = jnode_str(v);
	return 0;
}

/* A percentage field; dflt < 0 makes it required. */
static int
view_get_percent(struct view_parse *p, const struct jnode *v,
    const struct view_where *w, const char *key, int dflt, int *out)
{
	char where[48];
	int64_t n;

	if (v == NULL) {
		if (dflt < 0)
			return view_def_error(p, "field '%s%s' is missing",
			    view_where_str(w, where, sizeof(where)), key);
		*out = dflt;
		return 0;
	}
	if (jnode_type(v) != json_type_int)
		goto bad;
	n = jnode_int64(v);
	if (n < 0 || n > 100)
		goto bad;
	*out = (int)n;
	return 0;
bad:
	return view_def_error(p, "field '%s%s' is not an integer from 0 to 100",
	    view_where_str(w, where, sizeof(where)), key);
}

/* An optional array field (v NULL when absent). */
static int
view_get_array(struct view_parse *p, const struct jnode *v,
    const struct view_where *w, const char *key)
{
	char where[48];

	if (v != NULL && jnode_type(v) != json_type_array)
		return view_def_error(p, "field '%s%s' is not an array",
		    view_where_str(w, where, sizeof(where)), key);
	return 0;
}

/* The members of a definition the view reads. */
enum {
	VIEW_DEF_KILLED, VIEW_DEF_TREATMENT, VIEW_DEF_TRAFFIC,
	VIEW_DEF_UPDATED, VIEW_DEF_RULE, VIEW_DEF_RULES, VIEW_DEF_TREATMENTS,
	VIEW_DEF_N
};

static const struct view_key view_def_keys[VIEW_DEF_N] = {
	VIEW_KEY("killed"), VIEW_KEY("defaultTreatment"),
	VIEW_KEY("trafficAllocation"), VIEW_KEY("lastUpdateTime"),
	VIEW_KEY("defaultRule"), VIEW_KEY("rules"), VIEW_KEY("treatments"),
};

static int
view_def_index(const char *name, size_t len)
{
	switch (len) {
	case 5:
		return VIEW_IS(name, "rules") ? VIEW_DEF_RULES : -1;
	case 6:
		return VIEW_IS(name, "killed") ? VIEW_DEF_KILLED : -1;
	case 10:
		return VIEW_IS(name, "treatments") ? VIEW_DEF_TREATMENTS : -1;
	case 11:
		return VIEW_IS(name, "defaultRule") ? VIEW_DEF_RULE : -1;
	case 14:
		return VIEW_IS(name, "lastUpdateTime") ? VIEW_DEF_UPDATED : -1;
	case 16:
		return VIEW_IS(name, "defaultTreatment") ?
		    VIEW_DEF_TREATMENT : -1;
	case 17:
		return VIEW_IS(name, "trafficAllocation") ?
		    VIEW_DEF_TRAFFIC : -1;
	}
	return -1;
}

static const struct view_keyset view_def_set = {
	view_def_keys, VIEW_DEF_N, view_def_index
};

static int
view_parse_scalars(struct flag_view *nv, const struct view_fields *def,
    struct view_parse *p)
{
	const struct jnode *v;
	const char *s;
	int rc;

	if ((v = view_field(def, VIEW_DEF_KILLED)) != NULL) {
		if (jnode_type(v) != json_type_boolean)
			return view_def_error(p,
			    "field 'killed' is not a boolean");
		nv->killed = jnode_bool(v);
	}
	if ((rc = view_get_string(p, view_field(def, VIEW_DEF_TREATMENT),
	    &view_top, "defaultTreatment", &s)) != 0)
		return rc;
	if ((rc = view_strdup(p, &nv->default_treatment, s)) != 0)
		return rc;
	if ((rc = view_get_percent(p, view_field(def, VIEW_DEF_TRAFFIC),
	    &view_top, "trafficAllocation", 100,
	    &nv->traffic_allocation)) != 0)
		return rc;
	if ((v = view_field(def, VIEW_DEF_UPDATED)) != NULL) {
		if (jnode_type(v) != json_type_int || jnode_int64(v) < 0)
			return view_def_error(p, "field 'lastUpdateTime' is "
			    "not a non-negative integer");
		nv->last_updated = jnode_int64(v);
	}
	return 0;
}

static const struct view_key view_bucket_keys[] = {
	VIEW_KEY("treatment"), VIEW_KEY("size"),
};

static int
view_bucket_index(const char *name, size_t len)
{
	if (len == 9)
		return VIEW_IS(name, "treatment") ? 0 : -1;
	if (len == 4)
		return VIEW_IS(name, "size") ? 1 : -1;
	return -1;
}

static const struct view_keyset view_bucket_set = {
	view_bucket_keys, 2, view_bucket_index
};

static int
view_parse_bucket(struct view_bucket *b, const struct jnode *o, size_t i,
    struct view_parse *p)
{
	struct view_where where = { "defaultRule", i };
	struct view_fields f;
	const char *s;
	int rc;

	if (jnode_type(o) != json_type_object)
		return view_def_error(p, "field 'defaultRule[%zu]' is not an "
		    "object", i);
	view_lookup(o, &view_bucket_set, &f);
	if ((rc = view_get_string(p, view_field(&f, 0), &where, "treatment",
	    &s)) != 0)
		return rc;
	if ((rc = view_get_percent(p, view_field(&f, 1), &where, "size", -1,
	    &b->size)) != 0)
		return rc;
	return view_strdup(p, &b->treatment, s);
}

static int
view_parse_default_rule(struct flag_view *nv, const struct view_fields *def,
    struct view_parse *p)
{
	const struct jnode *arr = view_field(def, VIEW_DEF_RULE);
	struct jnode o;
	struct jnode_iter it;
	size_t i, n;
	int rc;

	if ((rc = view_get_array(p, arr, &view_top, "defaultRule")) != 0)
		return rc;
	if (arr == NULL)
		return view_def_error(p, "field 'defaultRule' is missing");
	if ((n = jnode_len(arr)) == 0)
		return 0;
	if ((nv->default_rule = view_parse_calloc(p, n,
	    sizeof(*nv->default_rule))) == NULL)
		return ENOMEM;
	nv->ndefault_rule = n;
	jnode_iter_init(&it, arr);
	for (i = 0; jnode_iter_next(&it, &o); i++)
		if ((rc = view_parse_bucket(&nv->default_rule[i], &o, i,
		    p)) != 0)
			return rc;
	return 0;
}

/* The members of a treatment: its name and its individual targets. */
static const struct view_key view_target_keys[] = {
	VIEW_KEY("name"), VIEW_KEY("keys"), VIEW_KEY("segments"),
};

static int
view_target_index(const char *name, size_t len)
{
	if (len == 4)
		return VIEW_IS(name, "name") ? 0 : VIEW_IS(name, "keys") ? 1 :
		    -1;
	if (len == 8)
		return VIEW_IS(name, "segments") ? 2 : -1;
	return -1;
}

static const struct view_keyset view_target_set = {
	view_target_keys, 3, view_target_index
};

/* Checks one treatment; counts it when it is an individual-target group. */
static int
view_parse_treatment(const struct jnode *o, size_t i, const char **name,
    int *groups, struct view_parse *p)
{
	struct view_where where = { "treatments", i };
	const struct jnode *keys, *segs;
	struct view_fields f;
	int rc;

	if (jnode_type(o) != json_type_object)
		return view_def_error(p, "field 'treatments[%zu]' is not an "
		    "object", i);
	view_lookup(o, &view_target_set, &f);
	if ((rc = view_get_string(p, view_field(&f, 0), &where, "name",
	    name)) != 0)
		return rc;
	keys = view_field(&f, 1);
	if ((rc = view_get_array(p, keys, &where, "keys")) != 0)
		return rc;
	segs = view_field(&f, 2);
	if ((rc = view_get_array(p, segs, &where, "segments")) != 0)
		return rc;
	if ((keys != NULL && jnode_len(keys) > 0) ||
	    (segs != NULL && jnode_len(segs) > 0))
		(*groups)++;
	return 0;
}

/* The treatments; *groups counts the individual-target groups. */
static int
view_parse_treatments(struct flag_view *nv, const struct jnode *arr,
    int *groups, struct view_parse *p)
{
	struct jnode_iter it;
	struct jnode o;
	const char *name;
	size_t i, n;
	int rc;

	*groups = 0;
	if ((n = jnode_len(arr)) > INT_MAX / 2)
		return view_def_error(p, "field 'treatments' has too many "
		    "entries");
	if (n > 0) {
		if ((nv->treatments = view_parse_calloc(p, n,
		    sizeof(char *))) == NULL)
			return ENOMEM;
		nv->ntreatments = n;
	}
	jnode_iter_init(&it, arr);
	for (i = 0; jnode_iter_next(&it, &o); i++) {
		rc = view_parse_treatment(&o, i, &name, groups, p);
		if (rc != 0)
			return rc;
		if ((rc = view_strdup(p, &nv->treatments[i], name)) != 0)
			return rc;
	}
	nv->rules += *groups;
	return 0;
}

static uint64_t
view_fnv1a(uint64_t h, const void *data, size_t n)
{
	return jnode_fnv1a(h, data, n);
}

/*
 * Hashes the plain JSON text of o ("[]" when absent or null) and its NUL
 * separator: json-c's bytes of the value, whichever way it was read.
 */
static int
view_hash_json(uint64_t *h, const struct jnode *o, bool found,
    struct buf *scratch)
{
	int rc;

	if (!found) {
		*h = view_fnv1a(*h, "[]", 3);
		return 0;
	}
	if ((rc = jnode_print_hash(o, h, scratch)) != 0)
		return rc;
	*h = view_fnv1a(*h, "", 1);
	return 0;
}

/* A non-empty array member (keys, segments) */
static bool
view_nonempty(const struct jnode *v)
{
	return v != NULL && jnode_type(v) == json_type_array &&
	    jnode_len(v) > 0;
}

static int
view_hash_target(uint64_t *h, const struct view_fields *f,
    struct buf *scratch)
{
	const struct jnode *v;
	const char *name;
	int rc;

	v = view_field(f, 0);
	name = v != NULL ? jnode_str(v) : NULL;
	/* the parsers checked it is a string */
	if (name == NULL)
		return EINVAL;
	*h = view_fnv1a(*h, name, strlen(name) + 1);
	if ((rc = view_hash_json(h, &f->v[1], f->found[1], scratch)) != 0)
		return rc;
	return view_hash_json(h, &f->v[2], f->found[2], scratch);
}

/* groups: the individual-target groups view_parse_treatments() counted;
 * with none, the treatments add nothing to the hash. */
static int
view_hash_rules(const struct jnode *rules, const struct jnode *treatments,
    int groups, uint64_t *out)
{
	struct jnode_iter it;
	struct jnode t;
	struct view_fields f;
	struct buf scratch;
	uint64_t h = VIEW_FNV_OFFSET;
	int rc;

	buf_init(&scratch, 0);
	if ((rc = view_hash_json(&h, rules, rules != NULL, &scratch)) != 0)
		goto scratch_release;
	jnode_iter_init(&it, treatments);
	while (groups > 0 && jnode_iter_next(&it, &t)) {
		view_lookup(&t, &view_target_set, &f);
		/* only individual targets are rules; a treatment nobody is
		 * targeted to is the business of flag.treatments_changed */
		if (!view_nonempty(view_field(&f, 1)) &&
		    !view_nonempty(view_field(&f, 2)))
			continue;
		if ((rc = view_hash_target(&h, &f, &scratch)) != 0)
			goto scratch_release;
	}
	*out = h;
scratch_release:
	buf_release(&scratch);
	return rc;
}

static int
view_parse_rules(struct flag_view *nv, const struct view_fields *def,
    struct view_parse *p)
{
	const struct jnode *rules, *treatments;
	struct jnode r;
	struct jnode_iter it;
	size_t i, n;
	int groups, rc;

	rules = view_field(def, VIEW_DEF_RULES);
	if ((rc = view_get_array(p, rules, &view_top, "rules")) != 0)
		return rc;
	n = rules != NULL ? jnode_len(rules) : 0;
	/* rules is an int, and treatments may add as many again. */
	if (n > INT_MAX / 2)
		return view_def_error(p, "field 'rules' has too many entries");
	if (rules != NULL) {
		jnode_iter_init(&it, rules);
		for (i = 0; jnode_iter_next(&it, &r); i++)
			if (jnode_type(&r) != json_type_object)
				return view_def_error(p, "field 'rules[%zu]' "
				    "is not an object", i);
	}
	nv->rules = (int)n;
	treatments = view_field(def, VIEW_DEF_TREATMENTS);
	if ((rc = view_get_array(p, treatments, &view_top,
	    "treatments")) != 0)
		return rc;
	if (treatments == NULL)
		return view_def_error(p, "field 'treatments' is missing");
	if ((rc = view_parse_treatments(nv, treatments, &groups, p)) != 0)
		return rc;
	return view_hash_rules(rules, treatments, groups, &nv->rules_hash);
}

static int
view_parse_def(struct flag_view *nv, const struct jnode *def,
    struct view_parse *p)
{
	struct view_fields f;
	int rc;

	if (jnode_type(def) != json_type_object)
		return view_def_error(p, "is not an object");
	nv->defined = true;
	view_lookup(def, &view_def_set, &f);
	if ((rc = view_parse_scalars(nv, &f, p)) != 0)
		return rc;
	if ((rc = view_parse_default_rule(nv, &f, p)) != 0)
		return rc;
	return view_parse_rules(nv, &f, p);
}

/*
 * The flag URL.
 */

/* Percent-encodes all but RFC 3986 unreserved characters. */
static int
view_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	char enc[3];
	int rc;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			rc = buf_putc(b, (char)c);
		} else {
			enc[0] = '%';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 0xf];
			rc = buf_append(b, enc, sizeof(enc));
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static bool
view_url_is(const char *name, size_t len, const char *var)
{
	return strlen(var) == len && strncmp(name, var, len) == 0;
}

/* Appends the value of {name}; false when name is no variable of ours. */
static bool
view_url_var(struct buf *b, const struct flag_view *nv, const char *name,
    size_t len, int *rc)
{
	const char *val;

	/* Ids come from Split as much as names do, and are escaped the
	 * same way (as split.c escapes them in its request paths): an id
	 * holding '/', '?' or '#' must not reshape the link. */
	if (view_url_is(name, len, "workspace_id"))
		val = nv->ws_id;
	else if (view_url_is(name, len, "flag_id"))
		val = nv->flag_id;
	else if (view_url_is(name, len, "environment_id"))
		val = nv->env_id;
	else if (view_url_is(name, len, "flag"))
		val = nv->flag;
	else if (view_url_is(name, len, "project"))
		val = nv->project;
	else
		return false;
	*rc = val == NULL ? 0 : view_url_escape(b, val);
	return true;
}

static int
view_make_url(struct flag_view *nv, const char *tpl)
{
	struct buf b;
	const char *s, *end;
	int rc = 0;

	if (tpl == NULL)
		return 0;
	buf_init(&b, 0);
	for (s = tpl; *s != '\0' && rc == 0; ) {
		end = *s == '{' ? strchr(s + 1, '}') : NULL;
		if (end != NULL &&
		    view_url_var(&b, nv, s + 1, (size_t)(end - s - 1), &rc))
			s = end + 1;
		else
			rc = buf_putc(&b, *s++);
	}
	if (rc != 0)
		goto buf_free;
	if ((nv->url = buf_detach(&b)) == NULL)
		return ENOMEM;
	return 0;
buf_free:
	buf_release(&b);
	return rc;
}

static int
view_copy_entry(struct flag_view *nv, struct view_parse *p,
    const struct view_context *ctx, const char *flag_id, const char *flag,
    const char *description, const char *const *tags, size_t ntags)
{
	int rc;

	if ((rc = view_strdup(p, &nv->project, ctx->project)) != 0 ||
	    (rc = view_strdup(p, &nv->environment, ctx->environment)) != 0 ||
	    (rc = view_strdup(p, &nv->flag, flag)) != 0 ||
	    (rc = view_strdup(p, &nv->flag_id, flag_id)) != 0 ||
	    (rc = view_strdup(p, &nv->ws_id, ctx->ws_id)) != 0 ||
	    (rc = view_strdup(p, &nv->env_id, ctx->env_id)) != 0 ||
	    (rc = view_strdup(p, &nv->description, description)) != 0)
		return rc;
	return view_strv_dup(p, &nv->tags, &nv->ntags, tags, ntags);
}

int
view_from_node(struct flag_view *v, const struct view_context *ctx,
    const char *flag_id, const char *flag, const char *description,
    const char *const *tags, size_t ntags, const struct jnode *def,
    char *err, size_t errlen)
{
	struct view_parse p;
	struct flag_view nv;
	int rc;

	p.flag = flag;
	p.err = err;
	p.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	view_init(&nv);
	/* without the block every string is allocated on its own */
	p.used = 0;
	p.spilled = false;
	p.cap = VIEW_BUILD_ARENA;
	if ((p.arena = malloc(p.cap)) != NULL) {
		nv.arena = p.arena;
		nv.arena_len = p.cap;
	}
	if ((rc = view_copy_entry(&nv, &p, ctx, flag_id, flag, description,
	    tags, ntags)) != 0)
		goto view_free;
	if (def != NULL && (rc = view_parse_def(&nv, def, &p)) != 0)
		goto view_free;
	if ((rc = view_make_url(&nv, ctx->flag_url)) != 0)
		goto view_free;
	/* the URL is allocated on its own */
	nv.boxed = nv.arena != NULL && !p.spilled && nv.url == NULL;
	view_release(v);
	*v = nv;
	return 0;
view_free:
	view_release(&nv);
	return rc;
}

int
view_from_split(struct flag_view *v, const struct view_context *ctx,
    const char *flag_id, const char *flag, const char *description,
    const char *const *tags, size_t ntags, json_object *def,
    char *err, size_t errlen)
{
	struct jnode n;

	jnode_json(&n, def);
	return view_from_node(v, ctx, flag_id, flag, description, tags, ntags,
	    def != NULL ? &n : NULL, err, errlen);
}

/*
 * The binary record: a version byte, then every field in struct order.
 * Integers are little-endian and fixed width; strings are a u32 length
 * (VIEW_RECORD_NULL for NULL) and their bytes; arrays a u32 count and
 * their elements.  Nothing depends on the host, so equal views give equal
 * bytes.
 */

/*
 * A record is sized first (noting its strings' lengths, in record order)
 * and then written with plain stores into room reserved once: appending
 * it a field at a time through buf_append() cost more in checks and
 * calls than the bytes (17.8 M instructions at 10,000 flags).
 */
#define VIEW_REC_LENS	32	/* string lengths kept from sizing */

struct view_lens {
	uint32_t v[VIEW_REC_LENS];	/* VIEW_RECORD_NULL for NULL */
	size_t	 n;			/* noted */
	size_t	 i;			/* used by the writer */
};

/* Adds what s takes to *size; false when it cannot be stored. */
static bool
view_size_str(struct view_lens *l, const char *s, size_t *size)
{
	size_t len = 0;

	if (s != NULL && (len = strlen(s)) >= VIEW_RECORD_NULL)
		return false;
	if (l->n < VIEW_REC_LENS)
		l->v[l->n++] = s == NULL ? VIEW_RECORD_NULL : (uint32_t)len;
	*size += 4 + len;
	return true;
}

static bool
view_size_strv(struct view_lens *l, char *const *sv, size_t n,
    size_t *size)
{
	size_t i;

	if (n >= VIEW_RECORD_NULL)
		return false;
	*size += 4;
	for (i = 0; i < n; i++)
		if (!view_size_str(l, sv[i], size))
			return false;
	return true;
}

/* The fixed part: version, defined, killed (1 byte each), traffic
 * allocation, bucket count, rules (4), rules hash, last update (8). */
static bool
view_size_definition(const struct flag_view *v, struct view_lens *l,
    size_t *size)
{
	size_t i;

	*size += 3 + 3 * 4 + 2 * 8;
	if (!view_size_str(l, v->default_treatment, size) ||
	    v->ndefault_rule >= VIEW_RECORD_NULL)
		return false;
	for (i = 0; i < v->ndefault_rule; i++) {
		if (!view_size_str(l, v->default_rule[i].treatment, size))
			return false;
		*size += 4;
	}
	return view_size_strv(l, v->treatments, v->ntreatments, size);
}

/* The record's bytes, strings noted in the order view_encode() writes
 * them; 0 when it cannot be stored (EFBIG). */
static size_t
view_record_size(const struct flag_view *v, struct view_lens *l)
{
	size_t size = 0;

	l->n = l->i = 0;
	if (!view_size_str(l, v->project, &size) ||
	    !view_size_str(l, v->environment, &size) ||
	    !view_size_str(l, v->flag, &size) ||
	    !view_size_str(l, v->flag_id, &size) ||
	    !view_size_str(l, v->ws_id, &size) ||
	    !view_size_str(l, v->env_id, &size) ||
	    !view_size_definition(v, l, &size) ||
	    !view_size_str(l, v->url, &size) ||
	    !view_size_strv(l, v->tags, v->ntags, &size) ||
	    !view_size_str(l, v->description, &size))
		return 0;
	return size;
}

static inline unsigned char *
view_put_u32(unsigned char *p, uint32_t x)
{
	p[0] = x & 0xff;
	p[1] = (x >> 8) & 0xff;
	p[2] = (x >> 16) & 0xff;
	p[3] = (x >> 24) & 0xff;
	return p + 4;
}

static inline unsigned char *
view_put_u64(unsigned char *p, uint64_t x)
{
	p = view_put_u32(p, (uint32_t)(x & 0xffffffffu));
	return view_put_u32(p, (uint32_t)(x >> 32));
}

/* s with the length sizing noted (view_record_size() checked it). */
static inline unsigned char *
view_put_str(unsigned char *p, const char *s, struct view_lens *l)
{
	uint32_t len;

	if (l->i < l->n)
		len = l->v[l->i++];
	else
		len = s == NULL ? VIEW_RECORD_NULL : (uint32_t)strlen(s);
	p = view_put_u32(p, len);
	if (len == VIEW_RECORD_NULL)
		return p;
	memcpy(p, s, len);
	return p + len;
}

static unsigned char *
view_put_strv(unsigned char *p, char *const *sv, size_t n,
    struct view_lens *l)
{
	size_t i;

	p = view_put_u32(p, (uint32_t)n);
	for (i = 0; i < n; i++)
		p = view_put_str(p, sv[i], l);
	return p;
}

static unsigned char *
view_encode_ids(const struct flag_view *v, unsigned char *p,
    struct view_lens *l)
{
	*p++ = VIEW_RECORD_VERSION;
	p = view_put_str(p, v->project, l);
	p = view_put_str(p, v->environment, l);
	p = view_put_str(p, v->flag, l);
	p = view_put_str(p, v->flag_id, l);
	p = view_put_str(p, v->ws_id, l);
	return view_put_str(p, v->env_id, l);
}

static unsigned char *
view_encode_definition(const struct flag_view *v, unsigned char *p,
    struct view_lens *l)
{
	size_t i;

	*p++ = v->defined ? 1 : 0;
	*p++ = v->killed ? 1 : 0;
	p = view_put_str(p, v->default_treatment, l);
	p = view_put_u32(p, (uint32_t)v->traffic_allocation);
	p = view_put_u32(p, (uint32_t)v->ndefault_rule);
	for (i = 0; i < v->ndefault_rule; i++) {
		p = view_put_str(p, v->default_rule[i].treatment, l);
		p = view_put_u32(p, (uint32_t)v->default_rule[i].size);
	}
	p = view_put_u32(p, (uint32_t)v->rules);
	p = view_put_u64(p, v->rules_hash);
	p = view_put_strv(p, v->treatments, v->ntreatments, l);
	return view_put_u64(p, (uint64_t)v->last_updated);
}

int
view_encode(const struct flag_view *v, struct buf *out)
{
	struct view_lens l;
	size_t start = out->len, size;
	unsigned char *p;
	int rc;

	if ((size = view_record_size(v, &l)) == 0 ||
	    size > SIZE_MAX - start)
		return EFBIG;
	/* out stays as it was unless the whole record fits */
	if ((rc = buf_resize(out, start + size)) != 0)
		return rc;
	p = (unsigned char *)out->data + start;
	p = view_encode_ids(v, p, &l);
	p = view_encode_definition(v, p, &l);
	p = view_put_str(p, v->url, &l);
	p = view_put_strv(p, v->tags, v->ntags, &l);
	(void)view_put_str(p, v->description, &l);
	return 0;
}

/*
 * The reader's fields are read in place: a commit decodes every record
 * it stores, and a call and a copy a field cost more than the field.
 */
static inline uint32_t
view_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline int
view_get_u32(struct view_reader *r, uint32_t *x)
{
	if (r->left < 4)
		return FS_EPROTO;
	*x = view_le32(r->p);
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int
view_get_u64(struct view_reader *r, uint64_t *x)
{
	if (r->left < 8)
		return FS_EPROTO;
	*x = (uint64_t)view_le32(r->p + 4) << 32 | view_le32(r->p);
	r->p += 8;
	r->left -= 8;
	return 0;
}

static inline int
view_get_int(struct view_reader *r, int *x)
{
	uint32_t u;
	int rc;

	if ((rc = view_get_u32(r, &u)) != 0)
		return rc;
	*x = (int)(int32_t)u;
	return 0;
}

static inline int
view_get_byte(struct view_reader *r, unsigned char *c)
{
	if (r->left < 1)
		return FS_EPROTO;
	*c = *r->p++;
	r->left--;
	return 0;
}

/* Sizes and the traffic allocation: the parser keeps them in 0..100, so
 * anything else is a corrupt record (whose sums could overflow). */
static int
view_get_pct(struct view_reader *r, int *x)
{
	int rc;

	if ((rc = view_get_int(r, x)) != 0)
		return rc;
	return *x < 0 || *x > 100 ? FS_EPROTO : 0;
}

static int
view_get_bool(struct view_reader *r, bool *x)
{
	unsigned char c;
	int rc;

	if ((rc = view_get_byte(r, &c)) != 0)
		return rc;
	if (c > 1)
		return FS_EPROTO;
	*x = c == 1;
	return 0;
}

/*
 * n bytes (zeroed when zero is set) from the arena, aligned for
 * pointers; from malloc when the arena is full (view_release tells them
 * apart).
 */
static inline void *
view_alloc(struct view_reader *r, size_t n, int zero)
{
	return view_block_alloc(r->arena, &r->used, r->cap, &r->spilled, n,
	    zero);
}

/* Nonzero when a byte of x is zero (bit 7 of some byte set). */
#define VIEW_ZERO64(x)	(((x) - UINT64_C(0x0101010101010101)) & ~(x) & \
	    UINT64_C(0x8080808080808080))
#define VIEW_ZERO32(x)	(((x) - UINT32_C(0x01010101)) & ~(x) & \
	    UINT32_C(0x80808080))

/*
 * Copies a record's string of n bytes to d; false when one is a NUL (the
 * encoder never writes one).  Eight bytes a step with the last eight
 * overlapping, four twice for 4 to 7 bytes: a memchr() and a memcpy()
 * call a string cost more than Split's short strings (130,000 of them
 * decoded at 10,000 flags).  Reads and writes stay within the n bytes.
 */
static inline bool
view_copy_str(char *d, const unsigned char *s, size_t n)
{
	uint64_t x, z = 0;
	uint32_t u, u2;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&x, s + i, 8);
			z |= VIEW_ZERO64(x);
			memcpy(d + i, &x, 8);
		}
		memcpy(&x, s + n - 8, 8);
		memcpy(d + n - 8, &x, 8);
		return (z | VIEW_ZERO64(x)) == 0;
	}
	if (n >= 4) {
		memcpy(&u, s, 4);
		memcpy(&u2, s + n - 4, 4);
		memcpy(d, &u, 4);
		memcpy(d + n - 4, &u2, 4);
		return (VIEW_ZERO32(u) | VIEW_ZERO32(u2)) == 0;
	}
	for (i = 0; i < n; i++)
		if ((d[i] = (char)s[i]) == '\0')
			return false;
	return true;
}

static inline __attribute__((always_inline)) int
view_get_str(struct view_reader *r, char **s)
{
	uint32_t len;
	int rc;

	*s = NULL;
	if ((rc = view_get_u32(r, &len)) != 0)
		return rc;
	if (len == VIEW_RECORD_NULL)
		return 0;
	if (len > r->left)
		return FS_EPROTO;
	if ((*s = view_alloc(r, (size_t)len + 1, 0)) == NULL)
		return ENOMEM;
	if (!view_copy_str(*s, r->p, len))
		return FS_EPROTO;
	(*s)[len] = '\0';
	r->p += len;
	r->left -= len;
	return 0;
}

/* An array count, refused when the rest cannot hold that many elements
 * of at least minsize bytes: garbage must not make us allocate. */
static int
view_get_count(struct view_reader *r, size_t minsize, size_t *n)
{
	uint32_t u;
	int rc;

	if ((rc = view_get_u32(r, &u)) != 0)
		return rc;
	if (u > r->left / minsize)
		return FS_EPROTO;
	*n = u;
	return 0;
}

static int
view_get_strv(struct view_reader *r, char ***sv, size_t *nsv)
{
	size_t i, n;
	int rc;

	if ((rc = view_get_count(r, 4, &n)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((*sv = view_alloc(r, n * sizeof(**sv), 1)) == NULL)
		return ENOMEM;
	*nsv = n;
	for (i = 0; i < n; i++)
		if ((rc = view_get_str(r, &(*sv)[i])) != 0)
			return rc;
	return 0;
}

static int
view_decode_ids(struct flag_view *v, struct view_reader *r)
{
	unsigned char version;
	int rc;

	if ((rc = view_get_byte(r, &version)) != 0)
		return rc;
	if (version != VIEW_RECORD_VERSION)
		return FS_EPROTO;
	if ((rc = view_get_str(r, &v->project)) != 0 ||
	    (rc = view_get_str(r, &v->environment)) != 0 ||
	    (rc = view_get_str(r, &v->flag)) != 0 ||
	    (rc = view_get_str(r, &v->flag_id)) != 0 ||
	    (rc = view_get_str(r, &v->ws_id)) != 0)
		return rc;
	return view_get_str(r, &v->env_id);
}

static int
view_decode_default_rule(struct flag_view *v, struct view_reader *r)
{
	size_t i, n;
	int rc;

	if ((rc = view_get_count(r, 8, &n)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((v->default_rule = view_alloc(r, n * sizeof(*v->default_rule),
	    1)) == NULL)
		return ENOMEM;
	v->ndefault_rule = n;
	for (i = 0; i < n; i++)
		if ((rc = view_get_str(r, &v->default_rule[i].treatment)) !=
		    0 || (rc = view_get_pct(r, &v->default_rule[i].size)) != 0)
			return rc;
	return 0;
}

static int
view_decode_definition(struct flag_view *v, struct view_reader *r)
{
	uint64_t updated;
	int rc;

	if ((rc = view_get_bool(r, &v->defined)) != 0 ||
	    (rc = view_get_bool(r, &v->killed)) != 0 ||
	    (rc = view_get_str(r, &v->default_treatment)) != 0 ||
	    (rc = view_get_pct(r, &v->traffic_allocation)) != 0 ||
	    (rc = view_decode_default_rule(v, r)) != 0 ||
	    (rc = view_get_int(r, &v->rules)) != 0 ||
	    (rc = view_get_u64(r, &v->rules_hash)) != 0 ||
	    (rc = view_get_strv(r, &v->treatments, &v->ntreatments)) != 0 ||
	    (rc = view_get_u64(r, &updated)) != 0)
		return rc;
	v->last_updated = (int64_t)updated;
	return 0;
}

int
view_decode(struct flag_view *v, const void *rec, size_t len)
{
	struct view_reader r;
	struct flag_view nv;
	int rc;

	r.p = rec;
	r.left = len;
	view_init(&nv);
	/* The strings take less than the record (a 4-byte length each
	 * becomes one NUL); half again covers the arrays as a rule, and
	 * anything past it is allocated on its own. */
	r.used = 0;
	r.spilled = false;
	r.cap = len + len / 2 + 64;
	if ((r.arena = malloc(r.cap)) != NULL) {
		nv.arena = r.arena;
		nv.arena_len = r.cap;
	}
	if ((rc = view_decode_ids(&nv, &r)) != 0 ||
	    (rc = view_decode_definition(&nv, &r)) != 0 ||
	    (rc = view_get_str(&r, &nv.url)) != 0 ||
	    (rc = view_get_strv(&r, &nv.tags, &nv.ntags)) != 0 ||
	    (rc = view_get_str(&r, &nv.description)) != 0)
		goto view_free;
	if (r.left != 0) {
		rc = FS_EPROTO;
		goto view_free;
	}
	nv.boxed = nv.arena != NULL && !r.spilled;
	view_release(v);
	*v = nv;
	return 0;
view_free:
	view_release(&nv);
	return rc;
}

/*
 * JSON and words.
 */

static int
view_rollout_percent(const struct flag_view *v)
{
	size_t i;
	int p = 0;

	for (i = 0; i < v->ndefault_rule; i++)
		if (v->default_treatment != NULL &&
		    v->default_rule[i].treatment != NULL &&
		    strcmp(v->default_rule[i].treatment,
		    v->default_treatment) == 0)
			p += v->default_rule[i].size;
	return p;
}

static json_object *
view_json_bucket(const struct view_bucket *b)
{
	json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (jsonw_str(o, "treatment", b->treatment) != 0 ||
	    jsonw_put(o, "size", json_object_new_int(b->size)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *
view_json_default_rule(const struct flag_view *v)
{
	json_object *a, *b;
	size_t i;

	if ((a = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < v->ndefault_rule; i++) {
		if ((b = view_json_bucket(&v->default_rule[i])) == NULL ||
		    json_object_array_add(a, b) != 0) {
			json_object_put(b);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static int
view_json_rollout(json_object *o, const struct flag_view *v)
{
	json_object *r;
	int rc;

	if (!v->defined)
		return jsonw_null(o, "rollout");
	if ((r = json_object_new_object()) == NULL)
		return ENOMEM;
	if (v->rules > 0)
		rc = jsonw_put(r, "rules", json_object_new_int(v->rules));
	else if ((rc = jsonw_put(r, "percentage",
	    json_object_new_int(view_rollout_percent(v)))) == 0)
		rc = jsonw_str(r, "treatment", v->default_treatment);
	if (rc != 0) {
		json_object_put(r);
		return rc;
	}
	return jsonw_put(o, "rollout", r);
}

static int
view_json_head(json_object *o, const struct flag_view *v)
{
	int rc;

	if ((rc = jsonw_str(o, "project", v->project)) != 0 ||
	    (rc = jsonw_str(o, "environment", v->environment)) != 0 ||
	    (rc = jsonw_str(o, "flag", v->flag)) != 0 ||
	    (rc = jsonw_put(o, "active",
	    json_object_new_boolean(view_is_active(v)))) != 0)
		return rc;
	return jsonw_put(o, "killed",
	    json_object_new_boolean(v->defined && v->killed));
}

static int
view_json_definition(json_object *o, const struct flag_view *v)
{
	char when[32];
	int rc;

	if ((rc = jsonw_str(o, "default_treatment",
	    v->defined ? v->default_treatment : NULL)) != 0)
		return rc;
	if (v->defined)
		rc = jsonw_put(o, "traffic_allocation",
		    json_object_new_int(v->traffic_allocation));
	else
		rc = jsonw_null(o, "traffic_allocation");
	if (rc != 0 ||
	    (rc = jsonw_put(o, "default_rule",
	    view_json_default_rule(v))) != 0 ||
	    (rc = jsonw_put(o, "rules",
	    json_object_new_int(v->defined ? v->rules : 0))) != 0 ||
	    (rc = view_json_rollout(o, v)) != 0 ||
	    (rc = jsonw_put(o, "treatments", jsonw_strv(
	    (const char *const *)v->treatments, v->ntreatments))) != 0)
		return rc;
	/* 0 is "never saved" (no definition, or Split gave no time). */
	if (!v->defined || v->last_updated <= 0)
		return jsonw_null(o, "last_updated");
	view_format_time(v->last_updated, when);
	return jsonw_str(o, "last_updated", when);
}

static int
view_json_tail(json_object *o, const struct flag_view *v,
    const char *const *issues, size_t nissues, int flags)
{
	int rc;

	if ((rc = jsonw_str(o, "url", v->url)) != 0)
		return rc;
	if (!(flags & VIEW_JSON_NO_TAGS) &&
	    ((rc = jsonw_put(o, "tags", jsonw_strv(
	    (const char *const *)v->tags, v->ntags))) != 0 ||
	    (rc = jsonw_str(o, "description", v->description)) != 0))
		return rc;
	if (!(flags & VIEW_JSON_NO_ISSUES))
		return jsonw_put(o, "issues",
		    jsonw_strv(issues, nissues));
	return 0;
}

json_object *
view_to_json(const struct flag_view *v, const char *const *issues,
    size_t nissues, int flags)
{
	json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (view_json_head(o, v) != 0 ||
	    view_json_definition(o, v) != 0 ||
	    view_json_tail(o, v, issues, nissues, flags) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/*
 * The same document as view_to_json(), written as text without a json-c
 * tree (an event carries two views, and a baseline makes one event per
 * flag): member for member the calls above, in their order.  Its shape
 * is fixed, so keys and commas are written raw (jsonw.h), each with the
 * value after it.
 */
static void
view_text_rollout(struct jsonw_text *w, const struct flag_view *v)
{
	if (!v->defined) {
		JSONW_TEXT_RAW(w, ",\"rollout\":null");
		return;
	}
	if (v->rules > 0) {
		JSONW_TEXT_KINT(w, ",\"rollout\":{\"rules\":", v->rules);
	} else {
		JSONW_TEXT_KINT(w, ",\"rollout\":{\"percentage\":",
		    view_rollout_percent(v));
		JSONW_TEXT_KSTR(w, ",\"treatment\":", v->default_treatment);
	}
	JSONW_TEXT_RAW(w, "}");
}

static void
view_text_default_rule(struct jsonw_text *w, const struct flag_view *v)
{
	size_t i;

	JSONW_TEXT_RAW(w, ",\"default_rule\":[");
	for (i = 0; i < v->ndefault_rule; i++) {
		if (i == 0)
			JSONW_TEXT_KSTR(w, "{\"treatment\":",
			    v->default_rule[i].treatment);
		else
			JSONW_TEXT_KSTR(w, ",{\"treatment\":",
			    v->default_rule[i].treatment);
		JSONW_TEXT_KINT(w, ",\"size\":", v->default_rule[i].size);
		JSONW_TEXT_RAW(w, "}");
	}
	JSONW_TEXT_RAW(w, "]");
}

static void
view_text_definition(struct jsonw_text *w, const struct flag_view *v)
{
	char when[32];

	if (v->defined) {
		JSONW_TEXT_KSTR(w, ",\"default_treatment\":",
		    v->default_treatment);
		JSONW_TEXT_KINT(w, ",\"traffic_allocation\":",
		    v->traffic_allocation);
	} else
		JSONW_TEXT_RAW(w, ",\"default_treatment\":null"
		    ",\"traffic_allocation\":null");
	view_text_default_rule(w, v);
	JSONW_TEXT_KINT(w, ",\"rules\":", v->defined ? v->rules : 0);
	view_text_rollout(w, v);
	JSONW_TEXT_RAW(w, ",\"treatments\":");
	jsonw_text_vstrv(w, (const char *const *)v->treatments,
	    v->ntreatments);
	/* 0 is "never saved" (no definition, or Split gave no time). */
	if (!v->defined || v->last_updated <= 0) {
		JSONW_TEXT_RAW(w, ",\"last_updated\":null");
		return;
	}
	view_format_time(v->last_updated, when);
	JSONW_TEXT_KTIME(w, ",\"last_updated\":", when);
}

int
view_write_json(const struct flag_view *v, const char *const *issues,
    size_t nissues, int flags, struct jsonw_text *w)
{
	jsonw_text_open(w, '{');
	/* the rollout and default rule objects inside, written raw, take
	 * a level each as if opened */
	if (w->rc == 0 && w->depth > JSONW_DEPTH - 2)
		w->rc = EINVAL;
	JSONW_TEXT_KSTR(w, "\"project\":", v->project);
	JSONW_TEXT_KSTR(w, ",\"environment\":", v->environment);
	JSONW_TEXT_KSTR(w, ",\"flag\":", v->flag);
	if (view_is_active(v))
		JSONW_TEXT_RAW(w, ",\"active\":true");
	else
		JSONW_TEXT_RAW(w, ",\"active\":false");
	if (v->defined && v->killed)
		JSONW_TEXT_RAW(w, ",\"killed\":true");
	else
		JSONW_TEXT_RAW(w, ",\"killed\":false");
	view_text_definition(w, v);
	JSONW_TEXT_KSTR(w, ",\"url\":", v->url);
	if (!(flags & VIEW_JSON_NO_TAGS)) {
		JSONW_TEXT_RAW(w, ",\"tags\":");
		jsonw_text_vstrv(w, (const char *const *)v->tags, v->ntags);
		JSONW_TEXT_KSTR(w, ",\"description\":", v->description);
	}
	if (!(flags & VIEW_JSON_NO_ISSUES)) {
		JSONW_TEXT_RAW(w, ",\"issues\":");
		jsonw_text_vstrv(w, issues, nissues);
	}
	jsonw_text_close(w, '}');
	return w->rc;
}

int
view_rollout_words(const struct flag_view *v, struct buf *out)
{
	if (!v->defined)
		return 0;
	if (v->rules > 0)
		return buf_printf(out, "%d rule%s", v->rules,
		    v->rules == 1 ? "" : "s");
	return buf_printf(out, "%d%% %s", view_rollout_percent(v),
	    v->default_treatment ? v->default_treatment : "");
}

/* "00" to "99", two bytes each: a time has seven such pairs, and a
 * division and a remainder for each cost more than the whole lookup. */
static const char view_digit_pairs[201] =
	"00010203040506070809"
	"10111213141516171819"
	"20212223242526272829"
	"30313233343536373839"
	"40414243444546474849"
	"50515253545556575859"
	"60616263646566676869"
	"70717273747576777879"
	"80818283848586878889"
	"90919293949596979899";

/* Two digits of v (0 to 99) at p. */
static inline void
view_put2(char *p, int v)
{
	memcpy(p, view_digit_pairs + 2 * v, 2);
}

/* The seconds of 1000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the
 * years printed with four digits without strftime. */
#define VIEW_CIVIL_MIN	INT64_C(-30610224000)
#define VIEW_CIVIL_MAX	INT64_C(253402300799)
/* 1000-01-01 counted from 0000-03-01, as the algorithm below counts */
#define VIEW_CIVIL_DAY0	365183

/*
 * The civil date of day z since 0000-03-01 (Howard Hinnant's
 * civil_from_days, public domain): a few divisions by constants instead
 * of gmtime_r(), which cost ~300 instructions, and there are two or
 * three times in each event.  Unsigned and 32 bits: from year 1000 to
 * 9999 z is under 3.7 million, and such divisions are cheaper.
 */
static void
view_civil_from_days(uint32_t z, uint32_t *y, uint32_t *m, uint32_t *d)
{
	uint32_t era, doe, yoe, doy, mp;

	era = z / 146097;
	doe = z - era * 146097;				/* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* [0, 365] */
	mp = (5 * doy + 2) / 153;			/* March is 0 */
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* "%Y-%m-%dT%H:%M:%SZ" of s (seconds) for years 1000 to 9999, the 20
 * bytes and a NUL; false for other years, which are strftime's. */
static bool
view_format_civil(int64_t s, char out[32])
{
	uint64_t u;
	uint32_t sod, y, m, d;

	if (s < VIEW_CIVIL_MIN || s > VIEW_CIVIL_MAX)
		return false;
	u = (uint64_t)(s - VIEW_CIVIL_MIN);
	sod = (uint32_t)(u % 86400);
	view_civil_from_days((uint32_t)(u / 86400) + VIEW_CIVIL_DAY0, &y, &m,
	    &d);
	view_put2(out, (int)(y / 100));
	view_put2(out + 2, (int)(y % 100));
	out[4] = '-';
	view_put2(out + 5, (int)m);
	out[7] = '-';
	view_put2(out + 8, (int)d);
	out[10] = 'T';
	view_put2(out + 11, (int)(sod / 3600));
	out[13] = ':';
	view_put2(out + 14, (int)(sod / 60 % 60));
	out[16] = ':';
	view_put2(out + 17, (int)(sod % 60));
	out[19] = 'Z';
	out[20] = '\0';
	return true;
}

void
view_format_time(int64_t ms, char out[32])
{
	struct tm tm;
	time_t t;
	int64_t s;

	/* Floor, so that times before 1970 round down like after it. */
	s = ms / 1000;
	if (ms % 1000 < 0)
		s--;
	if (view_format_civil(s, out))
		return;
	/* years of other than four digits are strftime's business */
	t = (time_t)s;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}
