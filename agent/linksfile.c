/* linksfile.c - the `file` link source: links.yaml read with libyaml. */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "array.h"
#include "buf.h"
#include "error.h"
#include "keys.h"
#include "linksfile.h"
#include "linkset.h"
#include "log.h"
#include "maxlen.h"
#include "names.h"
#include "skipped.h"

/* A hand-written links file is far smaller; this only stops a wrong path
 * (a log, a device) from eating memory. */
#define LINKSFILE_MAX_SIZE	(16u * 1024 * 1024)

#define LF_ENTRY_KEYS		"flag, project, issues"
/* links.yaml needs 4 levels; 32 leaves room and stops a deep nest before
 * libyaml spends minutes scanning it. */
#define LF_DEPTH_MAX		32

struct lf_ctx {
	const char		*path;
	const struct buf	*text;
	const char *const	*projects;
	size_t			 nprojects;
	const struct keys	*keys;
	yaml_document_t		*doc;
	struct linkset		 links;	/* moved to out on success */
	struct skipped		*skipped;	/* may be NULL */
	char			*err;
	size_t			 errlen;
};

/* The values of one links entry; NULL when the key is absent. */
struct lf_entry {
	yaml_node_t	*flag;
	yaml_node_t	*project;
	yaml_node_t	*issues;
};

static int	lf_errorf(struct lf_ctx *, yaml_mark_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Messages are one line whatever the file holds ("\n" in a quoted key). */
static void
lf_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int
lf_errorf(struct lf_ctx *c, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->errlen == 0)
		return FS_ECONFIG;
	n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->path,
	    mark.line + 1, mark.column + 1);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	lf_sanitize(c->err);
	return FS_ECONFIG;
}

/*
 * Checks a name against its limit.  Returns 0 when it may be used, or 1
 * after logging "PATH:LINE:COL: what 'name' is ...; skipped" (flagsync(8): one
 * bad item never stalls the rest of the file).
 */
static int
lf_name_skip(const struct lf_ctx *c, const yaml_node_t *n, const char *what,
    const char *name, size_t max, const char *skipped)
{
	char shown[NAME_SHOW_MAX], why[128];
	size_t line = n->start_mark.line + 1, col = n->start_mark.column + 1;
	int rc;

	if ((rc = name_check(name, max)) == 0)
		return 0;
	name_show(shown, sizeof(shown), name);
	if (rc == ENAMETOOLONG)
		snprintf(why, sizeof(why), "is longer than %zu bytes", max);
	else
		snprintf(why, sizeof(why), "holds a control character");
	log_warnx("%s:%zu:%zu: %s '%s' %s; %s", c->path, line, col, what,
	    shown, why, skipped);
	/* the count matters more than the list: ENOMEM only shortens it */
	if (c->skipped != NULL)
		(void)skipped_add(c->skipped, what, name, "line %zu column "
		    "%zu: %s", line, col, why);
	return 1;
}

static int
lf_nomem(struct lf_ctx *c)
{
	snprintf(c->err, c->errlen, "%s: out of memory", c->path);
	return ENOMEM;
}

static int
lf_read(const char *path, struct buf *b, char *err, size_t errlen)
{
	char chunk[8192];
	ssize_t n;
	int fd, rc = 0;

	struct stat st;

	/* O_NONBLOCK: a FIFO must not hold the open() until a writer comes. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) ==
	    -1) {
		rc = errno;
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		rc = errno;
		close(fd);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = EISDIR;
		close(fd);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", path);
		return FS_ECONFIG;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			rc = errno;
		if (n <= 0)
			break;
		if ((rc = buf_append(b, chunk, (size_t)n)) != 0)
			break;
	}
	close(fd);
fail:
	if (rc != 0)
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(rc));
	return rc;
}

/* Reader errors carry a byte offset, not a mark: count lines and
 * characters up to it so that they too are reported as LINE:COL. */
static yaml_mark_t
lf_offset_mark(const struct lf_ctx *c, size_t offset)
{
	yaml_mark_t mark = { 0, 0, 0 };
	const char *s = buf_str(c->text);
	size_t i;

	for (i = 0; i < offset && i < c->text->len; i++) {
		if (s[i] == '\n') {
			mark.line++;
			mark.column = 0;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80)
			mark.column++;
	}
	mark.index = offset;
	return mark;
}

static int
lf_parser_error(struct lf_ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	yaml_mark_t mark;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return lf_nomem(c);
	case YAML_READER_ERROR:
		mark = lf_offset_mark(c, p->problem_offset);
		if (p->problem_value == -1)
			return lf_errorf(c, mark, "%s", problem);
		return lf_errorf(c, mark, "%s (byte 0x%02x)", problem,
		    (unsigned)p->problem_value);
	default:
		if (p->context == NULL)
			return lf_errorf(c, p->problem_mark, "%s", problem);
		return lf_errorf(c, p->problem_mark,
		    "%s (%s at line %zu column %zu)", problem, p->context,
		    p->context_mark.line + 1, p->context_mark.column + 1);
	}
}

/* The anchor of a node's start event, or NULL. */
static const yaml_char_t *
lf_event_anchor(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return e->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return e->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return e->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

/*
 * A pass over the parser's events before anything is loaded.  It refuses
 * nesting deeper than LF_DEPTH_MAX at the first start event too deep:
 * libyaml's scanner and loader cost grows with the square of the depth
 * (100,000 levels took a minute), and the events are produced lazily, so
 * stopping here never scans the rest.  It refuses anchors and aliases:
 * libyaml's loader shares aliased nodes, and a few aliases of a long issue
 * list would multiply into millions of links.  A syntax error ends the
 * pass quietly: loading meets it again and reports it with its context.
 */
static int
lf_check_events(struct lf_ctx *c)
{
	yaml_parser_t p;
	yaml_event_t e;
	size_t depth = 0;
	bool done = false;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return lf_nomem(c);
	yaml_parser_set_input_string(&p,
	    (const unsigned char *)buf_str(c->text), c->text->len);
	while (rc == 0 && !done) {
		if (!yaml_parser_parse(&p, &e)) {
			if (p.error == YAML_MEMORY_ERROR)
				rc = lf_nomem(c);
			break;
		}
		if (e.type == YAML_ALIAS_EVENT || lf_event_anchor(&e) != NULL)
			rc = lf_errorf(c, e.start_mark,
			    "anchors and aliases are not supported");
		else if ((e.type == YAML_SEQUENCE_START_EVENT ||
		    e.type == YAML_MAPPING_START_EVENT) &&
		    ++depth > LF_DEPTH_MAX)
			rc = lf_errorf(c, e.start_mark, "nested deeper than %d "
			    "levels", LF_DEPTH_MAX);
		else if (e.type == YAML_SEQUENCE_END_EVENT ||
		    e.type == YAML_MAPPING_END_EVENT)
			depth--;
		done = e.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	return rc;
}

static yaml_node_t *
lf_node(const struct lf_ctx *c, yaml_node_item_t id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *
lf_value(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain empty, "~" or "null" scalar: YAML's way of saying nothing. */
static bool
lf_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = lf_value(n);
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *
lf_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return "a string";
	}
}

/* Sets *s to the text of a non-empty scalar holding no NUL byte. */
static int
lf_string(struct lf_ctx *c, const yaml_node_t *n, const char *what,
    const char **s)
{
	if (n->type != YAML_SCALAR_NODE)
		return lf_errorf(c, n->start_mark,
		    "'%s' must be a string, not %s", what, lf_node_kind(n));
	if (lf_is_null(n))
		return lf_errorf(c, n->start_mark, "'%s' has no value", what);
	if (strlen(lf_value(n)) != n->data.scalar.length)
		return lf_errorf(c, n->start_mark,
		    "'%s' contains a NUL character", what);
	*s = lf_value(n);
	return 0;
}

static int
lf_entry_keys(struct lf_ctx *c, const yaml_node_t *map, struct lf_entry *e)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, **slot;
	const char *name;
	int rc;

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = lf_node(c, pair->key);
		if ((rc = lf_string(c, k, "key", &name)) != 0)
			return rc;
		if (strcmp(name, "flag") == 0)
			slot = &e->flag;
		else if (strcmp(name, "project") == 0)
			slot = &e->project;
		else if (strcmp(name, "issues") == 0)
			slot = &e->issues;
		else
			return lf_errorf(c, k->start_mark,
			    "unknown key '%s' (expected " LF_ENTRY_KEYS ")",
			    name);
		if (*slot != NULL)
			return lf_errorf(c, k->start_mark,
			    "duplicate key '%s'", name);
		*slot = lf_node(c, pair->value);
	}
	return 0;
}

/* "Default, Shop", cut short when it does not fit. */
static void
lf_join_projects(const struct lf_ctx *c, char *dst, size_t len)
{
	size_t i, used = 0;
	int n;

	dst[0] = '\0';
	for (i = 0; i < c->nprojects && used < len; i++) {
		n = snprintf(dst + used, len - used, "%s%s", i ? ", " : "",
		    c->projects[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static int
lf_entry_project(struct lf_ctx *c, const yaml_node_t *map,
    const yaml_node_t *n, const char **project)
{
	char list[256], shown[NAME_SHOW_MAX];
	const char *name;
	size_t i;
	int rc;

	if (n == NULL && c->nprojects == 1) {
		*project = c->projects[0];
		return 0;
	}
	lf_join_projects(c, list, sizeof(list));
	if (n == NULL)
		return lf_errorf(c, map->start_mark,
		    "'project' missing and %zu projects are configured (%s)",
		    c->nprojects, list);
	if ((rc = lf_string(c, n, "project", &name)) != 0)
		return rc;
	for (i = 0; i < c->nprojects; i++) {
		if (strcmp(name, c->projects[i]) == 0) {
			*project = c->projects[i];
			return 0;
		}
	}
	return lf_errorf(c, n->start_mark,
	    "project '%s' is not configured (expected one of %s)",
	    name_show(shown, sizeof(shown), name), list);
}

static int
lf_add_issue(struct lf_ctx *c, const yaml_node_t *n, const char *project,
    const char *flag)
{
	char shown[NAME_SHOW_MAX];
	const char *issue;
	int rc;

	if ((rc = lf_string(c, n, "issues", &issue)) != 0)
		return rc;
	if (lf_name_skip(c, n, "issue", issue, FS_ISSUE_MAX, "skipped"))
		return 0;
	if (!keys_is_key(c->keys, issue))
		return lf_errorf(c, n->start_mark,
		    "issue '%s' is not an issue key (issue_key_pattern)",
		    name_show(shown, sizeof(shown), issue));
	if (linkset_add(&c->links, project, flag, issue) != 0)
		return lf_nomem(c);
	return 0;
}

static int
lf_add_issues(struct lf_ctx *c, const yaml_node_t *n, const char *project,
    const char *flag)
{
	yaml_node_item_t *item;
	int rc;

	if (n->type == YAML_SCALAR_NODE && !lf_is_null(n))
		return lf_add_issue(c, n, project, flag);
	if (lf_is_null(n) || (n->type == YAML_SEQUENCE_NODE &&
	    n->data.sequence.items.start == n->data.sequence.items.top))
		return lf_errorf(c, n->start_mark,
		    "'issues' is empty (expected issue keys)");
	if (n->type != YAML_SEQUENCE_NODE)
		return lf_errorf(c, n->start_mark,
		    "'issues' must be an issue key or a sequence of them, "
		    "not %s", lf_node_kind(n));
	for (item = n->data.sequence.items.start;
	    item < n->data.sequence.items.top; item++)
		if ((rc = lf_add_issue(c, lf_node(c, *item), project,
		    flag)) != 0)
			return rc;
	return 0;
}

static int
lf_walk_entry(struct lf_ctx *c, const yaml_node_t *map)
{
	struct lf_entry e = { NULL, NULL, NULL };
	const char *flag = NULL, *project = NULL;
	int rc;

	if (map->type != YAML_MAPPING_NODE)
		return lf_errorf(c, map->start_mark,
		    "expected a mapping with " LF_ENTRY_KEYS ", not %s",
		    lf_node_kind(map));
	if ((rc = lf_entry_keys(c, map, &e)) != 0)
		return rc;
	if (e.flag == NULL)
		return lf_errorf(c, map->start_mark, "'flag' missing");
	if ((rc = lf_string(c, e.flag, "flag", &flag)) != 0)
		return rc;
	if (lf_name_skip(c, e.flag, "flag", flag, FS_FLAG_MAX,
	    "entry skipped"))
		return 0;
	if ((rc = lf_entry_project(c, map, e.project, &project)) != 0)
		return rc;
	if (e.issues == NULL)
		return lf_errorf(c, map->start_mark, "'issues' missing");
	return lf_add_issues(c, e.issues, project, flag);
}

static int
lf_walk_links(struct lf_ctx *c, const yaml_node_t *seq)
{
	yaml_node_item_t *item;
	int rc;

	if (lf_is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return lf_errorf(c, seq->start_mark,
		    "'links' must be a sequence of mappings with "
		    LF_ENTRY_KEYS ", not %s", lf_node_kind(seq));
	for (item = seq->data.sequence.items.start;
	    item < seq->data.sequence.items.top; item++)
		if ((rc = lf_walk_entry(c, lf_node(c, *item))) != 0)
			return rc;
	return 0;
}

static int
lf_walk_root(struct lf_ctx *c, const yaml_node_t *root)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *links = NULL;
	const char *name;
	int rc;

	/* An empty file, or one of comments only, holds no links. */
	if (root == NULL || lf_is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return lf_errorf(c, root->start_mark,
		    "expected a mapping with key 'links', not %s",
		    lf_node_kind(root));
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		k = lf_node(c, pair->key);
		if ((rc = lf_string(c, k, "key", &name)) != 0)
			return rc;
		if (strcmp(name, "links") != 0)
			return lf_errorf(c, k->start_mark,
			    "unknown key '%s' (expected links)", name);
		if (links != NULL)
			return lf_errorf(c, k->start_mark,
			    "duplicate key 'links'");
		links = lf_node(c, pair->value);
	}
	if (links == NULL)
		return lf_errorf(c, root->start_mark, "'links' missing");
	return lf_walk_links(c, links);
}

/* A second document ("---") would be silently ignored otherwise. */
static int
lf_check_single_document(struct lf_ctx *c, yaml_parser_t *p)
{
	yaml_document_t doc;
	int rc = 0;

	if (!yaml_parser_load(p, &doc))
		return lf_parser_error(c, p);
	if (yaml_document_get_root_node(&doc) != NULL)
		rc = lf_errorf(c, doc.start_mark,
		    "more than one YAML document (expected one)");
	yaml_document_delete(&doc);
	return rc;
}

static int
lf_parse(struct lf_ctx *c)
{
	yaml_parser_t p;
	yaml_document_t doc;
	int rc;

	if (!yaml_parser_initialize(&p))
		return lf_nomem(c);
	yaml_parser_set_input_string(&p,
	    (const unsigned char *)buf_str(c->text), c->text->len);
	if (!yaml_parser_load(&p, &doc)) {
		rc = lf_parser_error(c, &p);
		goto parser_delete;
	}
	c->doc = &doc;
	rc = lf_walk_root(c, yaml_document_get_root_node(&doc));
	if (rc == 0)
		rc = lf_check_single_document(c, &p);
	c->doc = NULL;
	yaml_document_delete(&doc);
parser_delete:
	yaml_parser_delete(&p);
	return rc;
}

/* Appends every link of from to to without copying strings, or fails
 * with ENOMEM leaving both unchanged. */
static int
lf_move(struct linkset *from, struct linkset *to)
{
	size_t need;

	if (from->n == 0)
		return 0;
	if (to->n > SIZE_MAX - from->n)
		return ENOMEM;
	need = to->n + from->n;
	if (ARRAY_GROW(to->v, to->cap, need) != 0)
		return ENOMEM;
	memcpy(to->v + to->n, from->v, from->n * sizeof(*to->v));
	to->n = need;
	to->sorted = false;
	/* The strings now belong to to. */
	from->n = 0;
	return 0;
}

int
linksfile_load(const char *path, const char *const *projects,
    size_t nprojects, const struct keys *keys, struct linkset *out,
    struct skipped *skipped, char *err, size_t errlen)
{
	struct lf_ctx c;
	struct buf text;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	if (nprojects == 0) {
		snprintf(err, errlen, "%s: no projects configured", path);
		return EINVAL;
	}
	buf_init(&text, LINKSFILE_MAX_SIZE);
	if ((rc = lf_read(path, &text, err, errlen)) != 0)
		goto text_release;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.text = &text;
	c.projects = projects;
	c.nprojects = nprojects;
	c.keys = keys;
	c.skipped = skipped;
	c.err = err;
	c.errlen = errlen;
	linkset_init(&c.links);
	if ((rc = lf_check_events(&c)) != 0)
		goto links_release;
	if ((rc = lf_parse(&c)) != 0)
		goto links_release;
	if (lf_move(&c.links, out) != 0)
		rc = lf_nomem(&c);
links_release:
	linkset_release(&c.links);
text_release:
	buf_release(&text);
	return rc;
}
