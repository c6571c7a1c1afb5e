/* poll.c - one poll cycle: fetch, normalise, compare, commit. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "clock.h"
#include "commit.h"
#include "create.h"
#include "error.h"
#include "feed.h"
#include "findings.h"
#include "jscan.h"
#include "issuestatus.h"
#include "jsonw.h"
#include "keys.h"
#include "maxlen.h"
#include "linkset.h"
#include "log.h"
#include "names.h"
#include "poll.h"
#include "scrub.h"
#include "skipped.h"
#include "statefile.h"
#include "source.h"
#include "split.h"
#include "view.h"

/* How many records a poll compares between cache_release_pages() calls. */
#define POLL_RELEASE_EVERY	1024
/* Requests a full listing costs beyond its pages: workspace, environment. */
#define POLL_RESOLVE_REQUESTS	2
/* How often a long listing says how far it got. */
#define POLL_PROGRESS_MS	10000

/* A flag the change feed reported; the last report of a name wins. */
struct feed_name {
	char	*name;
	char	*invalid;	/* why it cannot be fetched, or NULL */
	bool	 archived;
	size_t	 seq;		/* order of the reports */
};

/*
 * A flag list entry, kept until the definitions have been read.  Not one
 * allocation a string (a listing made 3.3 a flag): name and id are cut
 * from the poll's name blocks, kept as long as the poll; description
 * owns the block the tags are in, until meta_trim().
 */
struct meta {
	char	*name;		/* in pp->nameblk, with id */
	char	*id;		/* NULL when skipped */
	char	*description;	/* owns the block of description, tags */
	char	**tags;		/* in description's block */
	size_t	 ntags;
	bool	 has_def;
	bool	 skipped;	/* kept as cached, not deleted */
};

/* Where the listed flags' names and ids are cut from: they live as long
 * as the poll, so one malloc() serves some hundreds of flags. */
#define POLL_NAME_BLOCK	16384

struct name_block {
	struct name_block *next;
	size_t	 used, cap;
	char	 data[];
};

struct project_poll {
	const struct config *cfg;
	const struct config_project *proj;
	struct split_client *sc;
	struct cache *c;
	const struct keys *keys;
	char	*ws_id;
	char	*env_id;
	char	*env_name;
	struct meta *m;
	size_t	 n, cap;
	struct name_block *nameblk;	/* the newest; owned */
	size_t	 ndefs;
	size_t	 nchanged;
	size_t	 ncompared;
	bool	 cold;		/* the cache holds none of the project's flags */
	size_t	 next_def;	/* after the last defined flag's entry */
	size_t	 nlinks;
	struct linkset tags;	/* split-tag links, found as flags are listed */
	struct linkset desc;	/* split-description links */
	char	**owned;	/* "FLAG\0TAG": tags flagsync wrote, sorted */
	size_t	 nowned, capowned;
	struct changeset *cs;	/* the cycle's; rolled back if this fails */
	struct buf rec;
	struct skipped skipped;	/* items of the answer not taken */
	bool	 held_before;	/* the last poll held deletions back */
	size_t	 nmissing;	/* cached flags not listed... */
	size_t	 ncached;	/* ...of so many, when held */
	/* The change feed (flagsync.ini(5)), for a project with an SDK key: */
	struct feed_client *fc;
	json_object *prev;	/* the last status record, or NULL */
	json_object *prev_stamp;	/* its polls.json entry, or NULL */
	int64_t	 cn;		/* the change number the cache is at... */
	bool	 has_cn;	/* ...when it has one */
	bool	 listed;	/* this cycle ran the full listing */
	bool	 quiet;		/* the feed reported nothing: write nothing */
	int64_t	 nflags, ndefined;	/* the project's counts after it */
	struct feed_name *names;
	size_t	 nnames, capnames;
	char	 feed_err[1024];	/* why the feed failed, or "" */
	int64_t	 progress_ms;	/* last progress line (monotonic) */
	int64_t	 progress_every;	/* ms between them */
	size_t	 nasked, n404;	/* flags fetched one by one, and 404s */
	char	 err[1024];
};

/* The name (and id) stay in pp->nameblk until pp_release(). */
static void
meta_release(struct meta *m)
{
	free(m->description);
}

static void
pp_name_blocks_free(struct project_poll *pp)
{
	struct name_block *b, *next;

	for (b = pp->nameblk; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	pp->nameblk = NULL;
}

/* n bytes from the poll's name blocks, or NULL (ENOMEM). */
static char *
pp_name_alloc(struct project_poll *pp, size_t n)
{
	struct name_block *b = pp->nameblk;
	size_t cap;
	char *p;

	if (b == NULL || n > b->cap - b->used) {
		cap = n > POLL_NAME_BLOCK ? n : POLL_NAME_BLOCK;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->next = pp->nameblk;
		b->used = 0;
		b->cap = cap;
		pp->nameblk = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

static void
pp_release(struct project_poll *pp)
{
	size_t i;

	for (i = 0; i < pp->n; i++)
		meta_release(&pp->m[i]);
	free(pp->m);
	pp_name_blocks_free(pp);
	free(pp->ws_id);
	free(pp->env_id);
	free(pp->env_name);
	linkset_release(&pp->tags);
	linkset_release(&pp->desc);
	buf_release(&pp->rec);
	skipped_release(&pp->skipped);
	for (i = 0; i < pp->nnames; i++) {
		free(pp->names[i].name);
		free(pp->names[i].invalid);
	}
	free(pp->names);
	json_object_put(pp->prev);
	feed_client_free(pp->fc);
	for (i = 0; i < pp->nowned; i++)
		free(pp->owned[i]);
	free(pp->owned);
}

static int
meta_cmp(const void *a, const void *b)
{
	return strcmp(((const struct meta *)a)->name,
	    ((const struct meta *)b)->name);
}

static struct meta *
meta_find(struct project_poll *pp, const char *name)
{
	struct meta key;

	/* bsearch(NULL, 0) is undefined */
	if (pp->n == 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, pp->m, pp->n, sizeof(*pp->m), meta_cmp);
}

/*
 * The entry of a defined flag.  Definitions often come in name order
 * (the entries are sorted by name), so the entry after the last one
 * found is tried before a search: at 100,000 flags the searches were
 * 1.5 % of a cold sync's CPU.  Any other order costs one strcmp() more.
 */
static struct meta *
meta_find_def(struct project_poll *pp, const char *name)
{
	struct meta *m;

	if (pp->next_def < pp->n &&
	    strcmp(pp->m[pp->next_def].name, name) == 0)
		m = &pp->m[pp->next_def];
	else if ((m = meta_find(pp, name)) == NULL)
		return NULL;
	pp->next_def = (size_t)(m - pp->m) + 1;
	return m;
}

/*
 * The entries by name.  The listing comes sorted as a rule, and a check
 * is one strcmp() a flag where qsort()'s merge sort made about log2(n)
 * (0.9 % of a 100,000-flag cold sync).
 */
static void
meta_sort(struct project_poll *pp)
{
	size_t i;

	for (i = 1; i < pp->n; i++)
		if (strcmp(pp->m[i - 1].name, pp->m[i].name) > 0) {
			qsort(pp->m, pp->n, sizeof(*pp->m), meta_cmp);
			return;
		}
}

static void	pp_progress(struct project_poll *, size_t, bool);

/* ------------------------------------------------------------ skipped */

static int pp_skip(struct project_poll *pp, const char *kind,
    const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Records one item of Split's answer that is not taken (flagsync(8)): it is
 * logged, listed in the project's status, and the rest of the project
 * goes on.
 */
static int
pp_skip(struct project_poll *pp, const char *kind, const char *name,
    const char *fmt, ...)
{
	char why[512], item[NAME_SHOW_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	skipped_item(kind, name, item, sizeof(item));
	log_warnx("project '%s': %s skipped: %s", pp->proj->name, item, why);
	return skipped_add(&pp->skipped, kind, name, "%s", why);
}

static int
keep_cb(void *arg, const char *project, const char *flag, const char *issue,
    uint32_t mask)
{
	struct project_poll *pp = arg;
	int rc = 0;

	if ((mask & LINK_BIT(LINK_SRC_SPLIT_TAG)) && pp->cfg->split_tags)
		rc = linkset_add(&pp->tags, project, flag, issue);
	if (rc == 0 && (mask & LINK_BIT(LINK_SRC_SPLIT_DESC)) &&
	    pp->cfg->split_description)
		rc = linkset_add(&pp->desc, project, flag, issue);
	return rc;
}

/*
 * A skipped flag keeps the split-tag and split-description links it had:
 * the project's link sets replace the old ones, and a link missing from
 * them would read as removed.
 */
static int
pp_keep_links(struct project_poll *pp, const char *flag)
{
	struct cache_txn *t;
	int rc;

	if ((rc = cache_read_begin(pp->c, &t)) != 0)
		return rc;
	rc = cache_link_foreach_flag(t, pp->proj->name, flag, keep_cb, pp);
	cache_read_end(t);
	/* a name too long to be a cache key has nothing stored under it */
	return rc == EINVAL ? 0 : rc;
}

/* ------------------------------------------------------------ links */

/* The links one flag takes from its tags and description, capped. */
struct keyadd {
	struct project_poll *pp;
	const char *flag;
	size_t	 tag0, desc0;	/* where this flag's links start */
	size_t	 n;		/* distinct issues so far */
	size_t	 over;		/* keys beyond FS_FLAG_LINKS_MAX */
	size_t	 nlong;		/* matches over FS_ISSUE_MAX */
	const char *longest;	/* the first of them, for the report */
	size_t	 longlen;
};

static bool
keyadd_in(const struct linkset *set, size_t from, const char *issue)
{
	for (; from < set->n; from++)
		if (strcmp(set->v[from].issue, issue) == 0)
			return true;
	return false;
}

static int
keyadd_one(struct keyadd *k, struct linkset *set, const char *issue)
{
	struct project_poll *pp = k->pp;
	bool in_tags, in_desc;

	in_tags = keyadd_in(&pp->tags, k->tag0, issue);
	in_desc = keyadd_in(&pp->desc, k->desc0, issue);
	if (!in_tags && !in_desc) {
		if (k->n >= FS_FLAG_LINKS_MAX) {
			k->over++;
			return 0;
		}
		k->n++;
	}
	if ((set == &pp->tags && in_tags) || (set == &pp->desc && in_desc))
		return 0;
	return linkset_add(set, pp->proj->name, k->flag, issue);
}

static int
key_cb(void *arg, const char *key)
{
	struct keyadd *k = arg;

	return keyadd_one(k, &k->pp->desc, key);
}

static int
key_long_cb(void *arg, const char *text, size_t len)
{
	struct keyadd *k = arg;

	if (k->nlong++ == 0) {
		k->longest = text;
		k->longlen = len;
	}
	return 0;
}

/* Keys too long to be Jira keys (maxlen.h) are no links: say so. */
static int
pp_long_keys(struct project_poll *pp, struct keyadd *ka)
{
	char first[FS_ISSUE_MAX + 1], shown[NAME_SHOW_MAX];
	size_t n;

	if (ka->nlong == 0)
		return 0;
	n = ka->longlen < FS_ISSUE_MAX ? ka->longlen : FS_ISSUE_MAX;
	memcpy(first, ka->longest, n);
	first[n] = '\0';
	return pp_skip(pp, "links of flag", ka->flag, "%zu issue key%s longer "
	    "than %d bytes ignored (the first: %zu bytes, '%s')",
	    ka->nlong, ka->nlong == 1 ? "" : "s", FS_ISSUE_MAX,
	    ka->longlen, name_show(shown, sizeof(shown), first));
}

static int
owned_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int d;

	if ((d = strcmp(x, y)) != 0)
		return d;
	return strcmp(x + strlen(x) + 1, y + strlen(y) + 1);
}

static int
owned_cb(void *arg, const char *project, const char *flag, const char *tag,
    const char *by)
{
	struct project_poll *pp = arg;
	size_t fl = strlen(flag), tl = strlen(tag);
	char *e;
	int rc;

	(void)project;
	(void)by;
	if ((rc = ARRAY_GROW(pp->owned, pp->capowned, pp->nowned + 1)) != 0)
		return rc;
	if ((e = malloc(fl + tl + 2)) == NULL)
		return ENOMEM;
	memcpy(e, flag, fl + 1);
	memcpy(e + fl + 1, tag, tl + 1);
	pp->owned[pp->nowned++] = e;
	return 0;
}

/*
 * The tags flagsync itself wrote on the project's flags (cache.h
 * owntags): split-tag must not count them, or a link it made would hold
 * itself up.  Usually none, so a listing pays nothing for the check.
 */
static int
pp_owned_load(struct project_poll *pp)
{
	struct cache_txn *t;
	int rc;

	if ((rc = cache_read_begin(pp->c, &t)) != 0)
		return rc;
	rc = cache_owntag_foreach(t, pp->proj->name, NULL, owned_cb, pp);
	cache_read_end(t);
	if (rc == 0 && pp->nowned > 1)
		qsort(pp->owned, pp->nowned, sizeof(*pp->owned), owned_cmp);
	return rc;
}

static bool
pp_owned(const struct project_poll *pp, const char *flag, const char *tag)
{
	size_t fl = strlen(flag), tl = strlen(tag);
	char key[FS_FLAG_MAX + FS_TAG_MAX + 2];
	const char *k = key;

	if (pp->nowned == 0 || fl > FS_FLAG_MAX || tl > FS_TAG_MAX)
		return false;
	memcpy(key, flag, fl + 1);
	memcpy(key + fl + 1, tag, tl + 1);
	return bsearch(&k, pp->owned, pp->nowned, sizeof(*pp->owned),
	    owned_cmp) != NULL;
}

/* The description flagsync wrote creating the flag from an issue
 * (create.h), while that issue's tag is recorded as flagsync's own. */
static bool
pp_own_description(const struct project_poll *pp, const struct meta *m)
{
	char key[FS_ISSUE_MAX + 1];

	return create_description_key(m->description, key, sizeof(key)) !=
	    NULL && pp_owned(pp, m->name, key);
}

/* split-tag and split-description links of one listed flag. */
static int
pp_links(struct project_poll *pp, const struct meta *m)
{
	struct keyadd ka;
	size_t j;
	int rc = 0;

	memset(&ka, 0, sizeof(ka));
	ka.pp = pp;
	ka.flag = m->name;
	ka.tag0 = pp->tags.n;
	ka.desc0 = pp->desc.n;
	for (j = 0; j < m->ntags && rc == 0 && pp->cfg->split_tags; j++) {
		if (pp_owned(pp, m->name, m->tags[j]))
			continue;
		if (keys_is_key(pp->keys, m->tags[j]))
			rc = keyadd_one(&ka, &pp->tags, m->tags[j]);
		else if (keys_is_long_key(pp->keys, m->tags[j]))
			rc = key_long_cb(&ka, m->tags[j], strlen(m->tags[j]));
	}
	if (rc == 0 && pp->cfg->split_description &&
	    !pp_own_description(pp, m))
		rc = keys_scan_ex(pp->keys, m->description, key_cb,
		    key_long_cb, &ka);
	if (rc == 0)
		rc = pp_long_keys(pp, &ka);
	if (rc == 0 && ka.over > 0)
		rc = pp_skip(pp, "links of flag", m->name, "%zu issue keys "
		    "beyond the %d links a flag may take were ignored",
		    ka.over, FS_FLAG_LINKS_MAX);
	return rc;
}

/* The listing is only needed until the flag's view is built. */
static void
meta_trim(struct meta *m)
{
	free(m->description);
	m->description = NULL;
	m->tags = NULL;
	m->ntags = 0;
}

/* Why a listed flag cannot be taken (maxlen.h), or NULL. */
static const char *
flag_problem(const struct split_flag *f, char *buf, size_t len)
{
	size_t n;

	if (f->invalid != NULL)
		return f->invalid;
	if ((n = strlen(f->name)) == 0)
		return "an empty name";
	if (n > FS_FLAG_MAX) {
		snprintf(buf, len, "a name of %zu bytes (at most %d)", n,
		    FS_FLAG_MAX);
		return buf;
	}
	if ((n = strlen(f->id)) == 0 || n > FS_ID_MAX) {
		snprintf(buf, len, "an id of %zu bytes (1 to %d)", n,
		    FS_ID_MAX);
		return buf;
	}
	if ((n = strlen(f->description)) > FS_DESC_MAX) {
		snprintf(buf, len, "a description of %zu bytes (at most %d)",
		    n, FS_DESC_MAX);
		return buf;
	}
	return NULL;
}

/* name and id (NULL: none) from the poll's name blocks. */
static int
meta_names(struct project_poll *pp, struct meta *m, const char *name,
    const char *id)
{
	size_t nl = strlen(name) + 1, il = id ? strlen(id) + 1 : 0;

	if ((m->name = pp_name_alloc(pp, nl + il)) == NULL)
		return ENOMEM;
	memcpy(m->name, name, nl);
	if (id != NULL) {
		m->id = m->name + nl;
		memcpy(m->id, id, il);
	}
	return 0;
}

/* The bytes f's tags take in the block, but for those too long to be
 * tags (reported here); counted in *n. */
static int
meta_tags_size(struct project_poll *pp, const struct meta *m,
    const struct split_flag *f, size_t *n, size_t *size)
{
	size_t i, len;
	int rc;

	*n = *size = 0;
	for (i = 0; i < f->ntags; i++) {
		if ((len = strlen(f->tags[i])) > FS_TAG_MAX) {
			rc = pp_skip(pp, "tag", f->tags[i], "longer than %d "
			    "bytes, on flag '%s'", FS_TAG_MAX, m->name);
			if (rc != 0)
				return rc;
			continue;
		}
		(*n)++;
		*size += sizeof(char *) + len + 1;
	}
	return 0;
}

/* The description and the tags of f into one block: the description,
 * then (aligned) the tag pointers, then the tags. */
static int
meta_texts(struct project_poll *pp, struct meta *m, const struct split_flag *f)
{
	size_t dl = strlen(f->description) + 1, at, n, size, i, len;
	char *p;
	int rc;

	if ((rc = meta_tags_size(pp, m, f, &n, &size)) != 0)
		return rc;
	at = (dl + _Alignof(char *) - 1) & ~(_Alignof(char *) - 1);
	if ((m->description = malloc(at + size)) == NULL)
		return ENOMEM;
	memcpy(m->description, f->description, dl);
	if (n == 0)
		return 0;
	m->tags = (char **)(void *)(m->description + at);
	p = m->description + at + n * sizeof(char *);
	for (i = 0; i < f->ntags; i++) {
		if ((len = strlen(f->tags[i]) + 1) > FS_TAG_MAX + 1)
			continue;
		memcpy(p, f->tags[i], len);
		m->tags[m->ntags++] = p;
		p += len;
	}
	return 0;
}

static int
flag_cb(void *arg, const struct split_flag *f)
{
	struct project_poll *pp = arg;
	struct meta *m;
	const char *why;
	char wbuf[128];
	int rc;

	if ((rc = ARRAY_GROW(pp->m, pp->cap, pp->n + 1)) != 0)
		return rc;
	m = &pp->m[pp->n];
	memset(m, 0, sizeof(*m));
	if ((why = flag_problem(f, wbuf, sizeof(wbuf))) != NULL) {
		/* listed, so not deleted; its record stays as it was */
		if ((rc = meta_names(pp, m, f->name, NULL)) != 0)
			return rc;
		m->skipped = true;
		pp->n++;
		if ((rc = pp_skip(pp, "flag", f->name, "%s", why)) != 0)
			return rc;
		return pp_keep_links(pp, m->name);
	}
	pp_progress(pp, pp->n, false);
	if ((rc = meta_names(pp, m, f->name, f->id)) != 0)
		return rc;
	if ((rc = meta_texts(pp, m, f)) != 0)
		goto meta_release;
	pp->n++;
	return pp_links(pp, m);
meta_release:
	meta_release(m);
	return rc;
}

/* Adds v's record to the changeset when it differs from the cached one. */
static int
pp_compare(struct project_poll *pp, const struct flag_view *v)
{
	struct cache_txn *t;
	const void *old;
	size_t oldlen;
	bool same = false;
	int rc;

	buf_reset(&pp->rec);
	if ((rc = view_encode(v, &pp->rec)) != 0)
		return rc;
	/* nothing cached to compare with: every record is new */
	if (pp->cold)
		goto add;
	if ((rc = cache_read_begin(pp->c, &t)) != 0)
		return rc;
	rc = cache_flag_get(t, v->project, v->flag, &old, &oldlen);
	if (rc == 0)
		same = oldlen == pp->rec.len &&
		    memcmp(old, pp->rec.data, oldlen) == 0;
	cache_read_end(t);
	if (rc != 0 && rc != FS_ENOTFOUND)
		return rc;
	/* comparing touches every record: keep them from piling up in RSS */
	if (++pp->ncompared % POLL_RELEASE_EVERY == 0)
		cache_release_pages(pp->c);
	if (same)
		return 0;
add:
	pp->nchanged++;
	return changeset_add_flag(pp->cs, v->project, v->flag, pp->rec.data,
	    pp->rec.len);
}

/* FS_EPROTO only when the definition cannot be read (pp->err says). */
static int
pp_view(struct project_poll *pp, struct meta *m, const struct jnode *def)
{
	struct view_context ctx;
	struct flag_view v;
	int rc;

	ctx.project = pp->proj->name;
	ctx.environment = pp->env_name;
	ctx.ws_id = pp->ws_id;
	ctx.env_id = pp->env_id;
	ctx.flag_url = pp->cfg->split_flag_url;
	view_init(&v);
	rc = view_from_node(&v, &ctx, m->id, m->name, m->description,
	    (const char *const *)m->tags, m->ntags, def, pp->err,
	    sizeof(pp->err));
	if (rc == 0)
		rc = pp_compare(pp, &v);
	view_release(&v);
	return rc;
}

/* name: split.c found it a string, and handed it on rather than have
 * it looked up again. */
static int
def_cb(void *arg, const char *name, const struct jnode *def)
{
	struct project_poll *pp = arg;
	const char *why;
	struct meta *m;
	int rc;

	if ((m = meta_find_def(pp, name)) == NULL) {
		/* created after the flag list was read: next cycle sees it */
		log_debug("project '%s': flag '%s' defined but not listed yet",
		    pp->proj->name, name);
		return 0;
	}
	if (m->has_def) {
		snprintf(pp->err, sizeof(pp->err), "project '%s': flag '%s' "
		    "listed twice in the definitions", pp->proj->name, m->name);
		return FS_EPROTO;
	}
	m->has_def = true;
	if (m->skipped)
		return 0;
	pp->ndefs++;
	pp_progress(pp, pp->ndefs, true);
	rc = pp_view(pp, m, def);
	meta_trim(m);
	if (rc == FS_EPROTO) {
		/* one unreadable definition fails its flag only; the item
		 * names the flag, so the reason need not repeat it */
		m->skipped = true;
		pp->ndefs--;
		why = strstr(pp->err, "': definition ");
		rc = pp_skip(pp, "flag", m->name, "%s", why ? why + 3 :
		    pp->err);
		pp->err[0] = '\0';
	}
	return rc;
}

static int
any_cb(void *arg, const char *project, const char *flag, const void *rec,
    size_t len)
{
	(void)project;
	(void)flag;
	(void)rec;
	(void)len;
	*(bool *)arg = true;
	return EEXIST;	/* one is enough */
}

/*
 * Whether the cache holds no flag of the project (a first sync): then
 * the compare has nothing to read, and a read transaction per flag was
 * a sixth of what a cold sync spends beyond receiving the pages.  The
 * cache cannot change before the cycle commits: the lock keeps every
 * other writer out.
 */
static int
pp_check_cold(struct project_poll *pp)
{
	struct cache_txn *t;
	bool any = false;
	int rc;

	if ((rc = cache_read_begin(pp->c, &t)) != 0)
		return rc;
	rc = cache_flag_foreach(t, pp->proj->name, any_cb, &any);
	cache_read_end(t);
	if (rc != 0 && !any)
		return rc;
	pp->cold = !any;
	return 0;
}

struct gone {
	struct project_poll *pp;
	size_t	 n;
	struct linkset names;	/* flags only: issue field unused ("") */
};

static int
gone_cb(void *arg, const char *project, const char *flag, const void *rec,
    size_t len)
{
	struct gone *g = arg;

	(void)rec;
	(void)len;
	if (++g->n % POLL_RELEASE_EVERY == 0)
		cache_release_pages(g->pp->c);
	if (meta_find(g->pp, flag) != NULL)
		return 0;
	return linkset_add(&g->names, project, flag, "");
}

/*
 * A listing that would delete more than half of a project's flags (an
 * empty one: all of them) is more likely a broken answer than a cleanup,
 * so it is held back until the next poll says the same.  The marker is
 * the project's status record ("held"), which outlives a restart.
 */
static int
pp_hold(struct project_poll *pp, size_t missing, size_t cached)
{
	if (missing == 0 || missing <= cached / 2)
		return 0;
	if (pp->held_before) {
		log_warnx("project '%s': %zu of %zu flags missing from the "
		    "listing again: deleting them", pp->proj->name, missing,
		    cached);
		return 0;
	}
	pp->nmissing = missing;
	pp->ncached = cached;
	snprintf(pp->err, sizeof(pp->err), "project '%s': %zu of %zu flags "
	    "missing from the listing; deletion held until the next poll "
	    "confirms it", pp->proj->name, missing, cached);
	return FS_EPROTO;
}

/* Flags in the cache that Split no longer lists are deleted. */
static int
pp_deleted(struct project_poll *pp)
{
	struct gone g = { pp, 0, { NULL, 0, 0, false } };
	struct cache_txn *t;
	size_t i;
	int rc;

	linkset_init(&g.names);
	if ((rc = cache_read_begin(pp->c, &t)) != 0)
		return rc;
	rc = cache_flag_foreach(t, pp->proj->name, gone_cb, &g);
	cache_read_end(t);
	if (rc == 0)
		rc = pp_hold(pp, g.names.n, g.n);
	for (i = 0; i < g.names.n && rc == 0; i++) {
		pp->nchanged++;
		rc = changeset_add_flag(pp->cs, pp->proj->name,
		    g.names.v[i].flag, NULL, 0);
	}
	linkset_release(&g.names);
	return rc;
}

/*
 * The project's own names and ids: one too long fails the project (its
 * flags could not be stored under it), with the reason.
 */
static int
pp_check_ids(struct project_poll *pp)
{
	const char *what = NULL;
	size_t n = 0;
	int max = 0;

	if ((n = strlen(pp->proj->name)) > FS_PROJECT_MAX)
		what = "project name", max = FS_PROJECT_MAX;
	else if ((n = strlen(pp->ws_id)) > FS_ID_MAX)
		what = "workspace id", max = FS_ID_MAX;
	else if ((n = strlen(pp->env_id)) > FS_ID_MAX)
		what = "environment id", max = FS_ID_MAX;
	else if ((n = strlen(pp->env_name)) > FS_ENV_MAX)
		what = "environment name", max = FS_ENV_MAX;
	if (what == NULL)
		return 0;
	snprintf(pp->err, sizeof(pp->err), "project '%.*s': Split gave a "
	    "%s of %zu bytes (at most %d)", FS_PROJECT_MAX, pp->proj->name,
	    what, n, max);
	return FS_EPROTO;
}

/* The project's split-tag and split-description links, as a whole. */
static int
pp_add_links(struct project_poll *pp)
{
	int rc;

	linkset_sort(&pp->tags);
	linkset_sort(&pp->desc);
	pp->nlinks = pp->tags.n + pp->desc.n;
	rc = changeset_add_links(pp->cs, LINK_SRC_SPLIT_TAG, pp->proj->name,
	    &pp->tags);
	if (rc == 0)
		rc = changeset_add_links(pp->cs, LINK_SRC_SPLIT_DESC,
		    pp->proj->name, &pp->desc);
	if (rc == 0)
		rc = changeset_add_env(pp->cs, pp->proj->name, pp->env_name);
	return rc;
}

static int
pp_fetch(struct project_poll *pp)
{
	size_t i;
	int rc;

	if ((rc = split_resolve_workspace(pp->sc, pp->proj->name, &pp->ws_id,
	    pp->err, sizeof(pp->err))) != 0)
		return rc;
	if ((rc = split_resolve_environment(pp->sc, pp->ws_id,
	    pp->proj->name, pp->proj->environment, &pp->env_id,
	    &pp->env_name, pp->err, sizeof(pp->err))) != 0)
		return rc;
	if ((rc = pp_check_ids(pp)) != 0)
		return rc;
	if ((rc = split_list_flags(pp->sc, pp->ws_id, pp->proj->name,
	    flag_cb, pp, pp->err, sizeof(pp->err))) != 0)
		return rc;
	meta_sort(pp);
	for (i = 1; i < pp->n; i++)
		if (strcmp(pp->m[i - 1].name, pp->m[i].name) == 0) {
			snprintf(pp->err, sizeof(pp->err), "project '%s': "
			    "flag '%s' listed twice", pp->proj->name,
			    pp->m[i].name);
			return FS_EPROTO;
		}
	if ((rc = pp_check_cold(pp)) != 0)
		return rc;
	if ((rc = split_list_definition_nodes(pp->sc, pp->ws_id,
	    pp->proj->name, pp->env_id, def_cb, pp, pp->err,
	    sizeof(pp->err))) != 0)
		return rc;
	for (i = 0; i < pp->n && rc == 0; i++)
		if (!pp->m[i].has_def && !pp->m[i].skipped)
			rc = pp_view(pp, &pp->m[i], NULL);
	if (rc == 0)
		rc = pp_deleted(pp);
	if (rc == 0)
		rc = pp_add_links(pp);
	return rc;
}

/* ------------------------------------------------------------ progress */

static int64_t
poll_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 12345 -> "12,345", as people read counts. */
static const char *
poll_count(int64_t v, char out[32])
{
	char digits[24];
	size_t n, i, o = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%lld", (long long)v);
	for (i = 0; i < n; i++) {
		if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	return out;
}

static int64_t
poll_progress_every_ms(void)
{
#ifdef FLAGSYNC_TEST_HOOKS
	/* tests see a line without a listing of ten seconds */
	if (getenv("FLAGSYNC_TEST_PROGRESS_MS"))
		return atoll(getenv("FLAGSYNC_TEST_PROGRESS_MS"));
#endif
	return POLL_PROGRESS_MS;
}

/*
 * One line every POLL_PROGRESS_MS while a listing reads its pages, so a
 * long first sync is not silent: how far, and at max_rps how long the
 * rest will take (each page is 50 flags, read twice: list, then define).
 */
static void
pp_progress(struct project_poll *pp, size_t done, bool defining)
{
	int64_t now = poll_mono_ms(), total = pp->nflags, left;
	char a[32], b[32];

	if (pp->progress_ms == 0) {
		pp->progress_ms = now;
		pp->progress_every = poll_progress_every_ms();
	}
	if (now - pp->progress_ms < pp->progress_every)
		return;
	pp->progress_ms = now;
	if (total < (int64_t)done || pp->cfg->split_max_rps <= 0) {
		log_info("%s: %s flags %s so far", pp->proj->name,
		    poll_count((int64_t)done, a), defining ? "defined" :
		    "listed");
		return;
	}
	left = (total - (int64_t)done + SPLIT_DEFS_PAGE - 1) / SPLIT_DEFS_PAGE;
	if (!defining)
		left += (total + SPLIT_DEFS_PAGE - 1) / SPLIT_DEFS_PAGE;
	log_info("%s: %s of %s flags %s, %.0f s left at %g requests/s",
	    pp->proj->name, poll_count((int64_t)done, a), poll_count(total, b),
	    defining ? "defined" : "listed",
	    (double)left / pp->cfg->split_max_rps, pp->cfg->split_max_rps);
}

/* ------------------------------------------------------------ feed */

/* A string member of the last status record, or NULL. */
static const char *
pp_prev_str(const struct project_poll *pp, const char *key)
{
	json_object *v;

	if (pp->prev == NULL || !json_object_object_get_ex(pp->prev, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
pp_prev_int(const json_object *o, const char *key, int64_t *out)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/* What the last poll left: change number, counts, ids (for the feed). */
static void
pp_prev_load(struct project_poll *pp, struct cache *c, const char *source)
{
	struct cache_txn *t;
	json_object *ok;
	const char *js;
	size_t len;

	if (cache_read_begin(c, &t) != 0)
		return;
	if (cache_status_get(t, source, &js, &len) == 0)
		pp->prev = jsonw_parse(js, len);
	cache_read_end(t);
	pp->held_before = pp->prev != NULL &&
	    json_object_object_get_ex(pp->prev, "held", NULL);
	pp->has_cn = pp_prev_int(pp->prev, "change_number", &pp->cn);
	pp_prev_int(pp->prev, "flags", &pp->nflags);
	pp_prev_int(pp->prev, "defined", &pp->ndefined);
	/* a failed poll's record has no counts: those are the last good */
	if (pp->prev && json_object_object_get_ex(pp->prev, "ok", &ok) &&
	    !json_object_get_boolean(ok))
		pp->has_cn = pp->has_cn && pp_prev_str(pp, "ws_id") != NULL;
}

/*
 * The full listing runs on the first cycle, every full_sync, after a
 * held deletion, and when the environment or the ids it needs are not
 * those of the last listing.
 */
static bool
pp_listing_due(const struct project_poll *pp, int64_t now)
{
	const char *env = pp_prev_str(pp, "environment");
	int64_t full;

	if (!pp->has_cn || pp->held_before || env == NULL ||
	    strcmp(env, pp->proj->environment) != 0 ||
	    pp_prev_str(pp, "ws_id") == NULL ||
	    pp_prev_str(pp, "env_id") == NULL ||
	    pp_prev_str(pp, "env_name") == NULL ||
	    !pp_prev_int(pp->prev_stamp, "full_ms", &full))
		return true;
	return now < full || now - full >= pp->cfg->split_full_sync * 1000;
}

static int
feed_collect_cb(void *arg, const struct feed_change *c)
{
	struct project_poll *pp = arg;
	struct feed_name *fn;

	if (ARRAY_GROW(pp->names, pp->capnames, pp->nnames + 1) != 0)
		return ENOMEM;
	fn = &pp->names[pp->nnames];
	memset(fn, 0, sizeof(*fn));
	fn->archived = c->archived;
	fn->seq = pp->nnames;
	if ((fn->name = strdup(c->name)) == NULL ||
	    (c->invalid && (fn->invalid = strdup(c->invalid)) == NULL)) {
		free(fn->name);
		return ENOMEM;
	}
	pp->nnames++;
	return 0;
}

/* A listing needs only the change number: the flags come from it. */
static int
feed_ignore_cb(void *arg, const struct feed_change *c)
{
	(void)arg;
	(void)c;
	return 0;
}

static int
feed_name_cmp(const void *a, const void *b)
{
	const struct feed_name *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d != 0)
		return d;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted by name, one entry per name: its last report. */
static void
pp_names_dedupe(struct project_poll *pp)
{
	size_t i, o = 0;

	if (pp->nnames > 1)
		qsort(pp->names, pp->nnames, sizeof(*pp->names),
		    feed_name_cmp);
	for (i = 0; i < pp->nnames; i++) {
		if (i + 1 < pp->nnames &&
		    strcmp(pp->names[i].name, pp->names[i + 1].name) == 0) {
			free(pp->names[i].name);
			free(pp->names[i].invalid);
			continue;
		}
		pp->names[o++] = pp->names[i];
	}
	pp->nnames = o;
}

static int
feed_name_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct feed_name *)a)->name,
	    ((const struct feed_name *)b)->name);
}

static bool
pp_name_changed(const struct project_poll *pp, const char *flag)
{
	struct feed_name key;

	if (pp->nnames == 0)
		return false;
	key.name = (char *)flag;
	key.seq = 0;
	/* deduped: names are unique, so seq plays no part in the match */
	return bsearch(&key, pp->names, pp->nnames, sizeof(*pp->names),
	    feed_name_cmp_name) != NULL;
}

/*
 * Reads the feed from the cache's change number (-1: from the start).
 * names: collect what changed, or only find the change number.
 */
static int
pp_feed_read(struct project_poll *pp, bool names, int64_t *till)
{
	int rc;

	rc = feed_read(pp->fc, pp->has_cn ? pp->cn : -1, names ?
	    feed_collect_cb : feed_ignore_cb, pp, till, pp->feed_err,
	    sizeof(pp->feed_err));
	if (rc == 0) {
		pp->feed_err[0] = '\0';
		pp_names_dedupe(pp);
		return 0;
	}
	if (rc == ENOMEM || rc == FS_ECANCELED)
		return rc;
	if (pp->feed_err[0] == '\0')
		snprintf(pp->feed_err, sizeof(pp->feed_err), "%s",
		    fs_strerror(rc));
	/* what a failed read saw is dropped */
	while (pp->nnames > 0) {
		pp->nnames--;
		free(pp->names[pp->nnames].name);
		free(pp->names[pp->nnames].invalid);
	}
	return rc;
}

/* The ids a fetch needs, from the last listing's status record. */
static int
pp_ids_from_prev(struct project_poll *pp)
{
	if ((pp->ws_id = strdup(pp_prev_str(pp, "ws_id"))) == NULL ||
	    (pp->env_id = strdup(pp_prev_str(pp, "env_id"))) == NULL ||
	    (pp->env_name = strdup(pp_prev_str(pp, "env_name"))) == NULL)
		return ENOMEM;
	return 0;
}

/* One reported flag's listing entry; a 404 means it is gone. */
static int
pp_fetch_meta(struct project_poll *pp, struct feed_name *fn)
{
	size_t n0 = pp->n;
	int rc;

	if (fn->invalid != NULL) {
		if ((rc = pp_skip(pp, "flag", fn->name, "the change feed "
		    "reports it, but %s", fn->invalid)) != 0)
			return rc;
		return pp_keep_links(pp, fn->name);
	}
	if (fn->archived)
		return 0;
	pp->nasked++;
	rc = split_get_flag(pp->sc, pp->ws_id, pp->proj->name, fn->name,
	    flag_cb, pp, pp->err, sizeof(pp->err));
	if (rc == FS_ENOTFOUND) {
		fn->archived = true;
		pp->n404++;
		pp->err[0] = '\0';
		return 0;
	}
	if (rc == 0 && (pp->n != n0 + 1 ||
	    strcmp(pp->m[n0].name, fn->name) != 0)) {
		snprintf(pp->err, sizeof(pp->err), "project '%s': asked Split "
		    "for flag '%s' and got another", pp->proj->name, fn->name);
		rc = FS_EPROTO;
	}
	return rc;
}

/*
 * The feed said these flags changed, not that they are gone: when most
 * of them answer 404 the key more likely lost sight of the project than
 * the flags were deleted, and nothing is deleted (the full listing, with
 * its held deletions, settles it).
 */
static int
pp_check_404s(struct project_poll *pp)
{
	if (pp->n404 < 2 || pp->n404 * 2 <= pp->nasked)
		return 0;
	snprintf(pp->err, sizeof(pp->err), "project '%s': %zu of the %zu "
	    "flags the change feed reported answered 404 at the Admin API; "
	    "the key may no longer see the project: nothing deleted",
	    pp->proj->name, pp->n404, pp->nasked);
	return FS_EPROTO;
}

/* Each fetched flag's definition; a 404 means none in the environment. */
static int
pp_fetch_defs(struct project_poll *pp)
{
	struct meta *m;
	size_t i;
	int rc = 0;

	for (i = 0; i < pp->n && rc == 0; i++) {
		m = &pp->m[i];
		if (m->skipped)
			continue;
		rc = split_get_definition(pp->sc, pp->ws_id, pp->proj->name,
		    m->name, pp->env_id, def_cb, pp, pp->err,
		    sizeof(pp->err));
		if (rc == FS_ENOTFOUND) {
			pp->err[0] = '\0';
			rc = 0;
		}
	}
	for (i = 0; i < pp->n && rc == 0; i++)
		if (!pp->m[i].has_def && !pp->m[i].skipped)
			rc = pp_view(pp, &pp->m[i], NULL);
	return rc;
}

/* Reported as archived, or 404: deleted, if the cache has it. */
static int
pp_fetch_gone(struct project_poll *pp)
{
	struct cache_txn *t;
	const void *rec;
	size_t i, len;
	int rc = 0, have;

	for (i = 0; i < pp->nnames && rc == 0; i++) {
		if (!pp->names[i].archived || pp->names[i].invalid != NULL)
			continue;
		if ((rc = cache_read_begin(pp->c, &t)) != 0)
			return rc;
		have = cache_flag_get(t, pp->proj->name, pp->names[i].name,
		    &rec, &len);
		cache_read_end(t);
		if (have == FS_ENOTFOUND || have == EINVAL)
			continue;
		if ((rc = have) != 0)
			break;
		pp->nchanged++;
		rc = changeset_add_flag(pp->cs, pp->proj->name,
		    pp->names[i].name, NULL, 0);
	}
	return rc;
}

static int
keep_unchanged_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	struct project_poll *pp = arg;

	if (pp_name_changed(pp, flag))
		return 0;
	return keep_cb(arg, project, flag, issue, mask);
}

/*
 * The project's split-tag and split-description links are replaced as a
 * whole, so the flags the feed did not report keep theirs from the cache.
 */
static int
pp_keep_unchanged_links(struct project_poll *pp)
{
	struct cache_txn *t;
	int rc;

	if ((rc = cache_read_begin(pp->c, &t)) != 0)
		return rc;
	rc = cache_link_foreach(t, pp->proj->name, keep_unchanged_cb, pp);
	cache_read_end(t);
	return rc;
}

/* Whether a flag is in the cache, and defined there. */
static int
pp_cached_state(struct project_poll *pp, const char *flag, int *exists,
    int *defined)
{
	struct cache_txn *t;
	struct flag_view v;
	const void *rec;
	size_t len;
	int rc;

	*exists = *defined = 0;
	if ((rc = cache_read_begin(pp->c, &t)) != 0)
		return rc;
	rc = cache_flag_get(t, pp->proj->name, flag, &rec, &len);
	if (rc == 0) {
		*exists = 1;
		view_init(&v);
		if (view_decode(&v, rec, len) == 0)
			*defined = v.defined;
		view_release(&v);
	}
	cache_read_end(t);
	return rc == FS_ENOTFOUND || rc == EINVAL ? 0 : rc;
}

/* The project's flag counts after the fetched flags replace theirs. */
static int
pp_feed_counts(struct project_poll *pp)
{
	struct meta *m;
	size_t i;
	int rc, ex, def, nex, ndef;

	for (i = 0; i < pp->nnames; i++) {
		if (pp->names[i].invalid != NULL)
			continue;
		m = meta_find(pp, pp->names[i].name);
		if (m != NULL && m->skipped)
			continue;
		if ((rc = pp_cached_state(pp, pp->names[i].name, &ex,
		    &def)) != 0)
			return rc;
		nex = !pp->names[i].archived && m != NULL;
		ndef = nex && m->has_def;
		pp->nflags += nex - ex;
		pp->ndefined += ndef - def;
	}
	return 0;
}

/* The reported flags, one by one: two Admin requests each. */
static int
pp_feed_fetch(struct project_poll *pp)
{
	size_t i;
	int rc;

	if ((rc = pp_ids_from_prev(pp)) != 0)
		return rc;
	for (i = 0; i < pp->nnames; i++)
		if ((rc = pp_fetch_meta(pp, &pp->names[i])) != 0)
			return rc;
	if ((rc = pp_check_404s(pp)) != 0)
		return rc;
	if (pp->n > 1)
		qsort(pp->m, pp->n, sizeof(*pp->m), meta_cmp);
	if ((rc = pp_fetch_defs(pp)) != 0 ||
	    (rc = pp_fetch_gone(pp)) != 0 ||
	    (rc = pp_keep_unchanged_links(pp)) != 0 ||
	    (rc = pp_feed_counts(pp)) != 0)
		return rc;
	log_info("project '%s' (%s): the change feed reported %zu flags, "
	    "%zu changed", pp->proj->name, pp->env_name, pp->nnames,
	    pp->nchanged);
	return pp_add_links(pp);
}

/* Paging costs 2 requests per 50 flags; fetching each, 2 per flag. */
static bool
pp_page_cheaper(const struct project_poll *pp, size_t k)
{
	int64_t pages, single = 2 * (int64_t)k, n = pp->nflags + (int64_t)k;
	char a[32], b[32], c[32];

	pages = POLL_RESOLVE_REQUESTS + 2 * ((n + SPLIT_FLAGS_PAGE - 1) /
	    SPLIT_FLAGS_PAGE);
	log_info("project '%s': the change feed reports %s flags: %s (%s "
	    "requests) rather than %s (%s)", pp->proj->name,
	    poll_count((int64_t)k, a), pages < single ? "paging" :
	    "fetching each", poll_count(pages < single ? pages : single, b),
	    pages < single ? "fetching each" : "paging",
	    poll_count(pages < single ? single : pages, c));
	return pages < single;
}

/* The full listing, as for a project without a feed. */
static int
pp_list(struct project_poll *pp)
{
	int rc;

	pp->listed = true;
	if ((rc = pp_fetch(pp)) == 0) {
		pp->nflags = (int64_t)pp->n;
		pp->ndefined = (int64_t)pp->ndefs;
	}
	return rc;
}

static int
pp_feed_apply(struct project_poll *pp, int64_t till)
{
	size_t i, k = 0;
	int rc;

	if (pp->nnames == 0 && till == pp->cn) {
		pp->quiet = true;
		return 0;
	}
	for (i = 0; i < pp->nnames; i++)
		k += pp->names[i].invalid == NULL;
	if (k > 0 && pp_page_cheaper(pp, k))
		rc = pp_list(pp);
	else
		rc = pp_feed_fetch(pp);
	if (rc == 0)
		pp->cn = till;
	return rc;
}

/*
 * A project with a feed: the feed alone when nothing is due, else (and
 * when the feed fails) the full listing, with the change number read
 * before it so that no change made during the listing is skipped.
 */
static int
pp_poll(struct project_poll *pp, int64_t now)
{
	int64_t till;
	int rc, frc;

	if (pp->fc == NULL)
		return pp_list(pp);
	if (!pp_listing_due(pp, now)) {
		rc = pp_feed_read(pp, true, &till);
		if (rc == 0)
			return pp_feed_apply(pp, till);
		if (rc == ENOMEM || rc == FS_ECANCELED)
			return rc;
		log_warnx("project '%s': change feed: %s; reading the full "
		    "listing instead", pp->proj->name, pp->feed_err);
		return pp_list(pp);
	}
	frc = pp_feed_read(pp, false, &till);
	if (frc == ENOMEM || frc == FS_ECANCELED)
		return frc;
	if (frc != 0)
		log_warnx("project '%s': change feed: %s; the full listing "
		    "goes on without it", pp->proj->name, pp->feed_err);
	if ((rc = pp_list(pp)) == 0 && frc == 0) {
		pp->cn = till;
		pp->has_cn = true;
	}
	return rc;
}

/* ------------------------------------------------------------ status */

struct stamp {
	json_object *stamps;	/* polls.json being built */
	json_object *prev;	/* polls.json as the last cycle left it */
	int64_t	 t0;		/* when the current source's poll began, ms */
	struct cache *c;
	struct changeset *cs;
	int64_t	 now;
};

/*
 * What health checks need beside the outcome (flagsync(8)): when the
 * source last succeeded (carried over from the last polls.json while it
 * fails) and how long its poll took, in seconds.
 */
static void
stamp_health(const struct stamp *st, const char *source, int ok,
    const char *now, json_object *o)
{
	json_object *prev, *last = NULL;
	double took = (double)(clock_now_ms() - st->t0) / 1000.0;
	char secs[32];

	if (ok)
		last = json_object_new_string(now);
	else if (st->prev &&
	    json_object_object_get_ex(st->prev, source, &prev) &&
	    json_object_object_get_ex(prev, "last_ok", &last))
		last = json_object_get(last);
	json_object_object_add(o, "last_ok", last);
	/* milliseconds are what the clock gives: no more digits than that */
	snprintf(secs, sizeof(secs), "%.3f", took);
	json_object_object_add(o, "duration", json_object_new_double_s(took,
	    secs));
}

/* The source's entry in polls.json: when it was polled, and how. */
static json_object *
stamp_put(struct stamp *st, const char *source, int ok, const char *err)
{
	json_object *o;
	char tbuf[32];

	view_format_time(st->now, tbuf);
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "time", json_object_new_string(tbuf));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "error", ok ? NULL :
	    json_object_new_string(err));
	stamp_health(st, source, ok, tbuf, o);
	json_object_object_add(st->stamps, source, o);
	return o;
}

/*
 * The status record changes only when the outcome, the counts or the
 * details do, so that an unchanged poll leaves the cache untouched; the
 * poll time goes to polls.json instead.  details (may be NULL) holds a
 * source's own fields, copied into the record.
 */
static int
status_record_details(struct stamp *st, const char *source, int ok,
    const char *err, int64_t count1, const char *name1, int64_t count2,
    const char *name2, json_object *details)
{
	json_object *o, *prev = NULL, *since = NULL, *po, *pe;
	struct cache_txn *t;
	const char *js;
	char tbuf[32], clean[1024];
	size_t len;
	int rc;

	if (err != NULL)	/* a server may echo the credentials */
		err = scrub_copy(clean, sizeof(clean), err);

	if ((rc = cache_read_begin(st->c, &t)) != 0)
		return rc;
	if (cache_status_get(t, source, &js, &len) == 0)
		prev = jsonw_parse(js, len);
	cache_read_end(t);
	view_format_time(st->now, tbuf);
	if (prev && json_object_object_get_ex(prev, "ok", &po) &&
	    json_object_get_boolean(po) == ok &&
	    json_object_object_get_ex(prev, "error", &pe) &&
	    (ok || strcmp(json_object_get_string(pe), err) == 0) &&
	    json_object_object_get_ex(prev, "since", &since))
		since = json_object_get(since);
	else
		since = json_object_new_string(tbuf);
	json_object_put(prev);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "error", ok ? NULL :
	    json_object_new_string(err));
	json_object_object_add(o, "since", since);
	if (name1)
		json_object_object_add(o, name1, json_object_new_int64(count1));
	if (name2)
		json_object_object_add(o, name2, json_object_new_int64(count2));
	if (details) {
		json_object_object_foreach(details, key, val)
			json_object_object_add(o, key, json_object_get(val));
	}
	rc = changeset_add_status(st->cs, source,
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	stamp_put(st, source, ok, err);
	return rc;
}

static int
status_record(struct stamp *st, const char *source, int ok, const char *err,
    int64_t count1, const char *name1, int64_t count2, const char *name2)
{
	return status_record_details(st, source, ok, err, count1, name1,
	    count2, name2, NULL);
}

static void
stamps_write(const char *state_dir, json_object *stamps)
{
	struct iovec iov[2];
	const char *s;
	int rc;

	s = json_object_to_json_string_ext(stamps, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	iov[0].iov_base = (void *)s;
	iov[0].iov_len = s ? strlen(s) : 0;
	iov[1].iov_base = (void *)"\n";
	iov[1].iov_len = 1;
	rc = s ? statefile_write_atomic(state_dir, "polls.json", iov, 2,
	    0640) : ENOMEM;
	if (rc != 0)
		log_warnx("cannot write %s/polls.json: %s", state_dir,
		    strerror(rc));
}

char *
poll_read_stamps(const char *state_dir)
{
	char path[4096];
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/polls.json", state_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	buf_init(&b, 1024 * 1024);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n) != 0)
			break;
	close(fd);
	return buf_detach(&b);
}

/* One line per cycle: how long it took and what it cost. */
static void
poll_log_cycle(const struct poll_report *rep, int64_t t0)
{
	char a[32], b[32];

	log_info("cycle done in %.1f s: %s Admin API request%s, %s change "
	    "feed request%s, %zu of %zu sources failed, %zu events",
	    (double)(poll_mono_ms() - t0) / 1000.0,
	    poll_count((int64_t)rep->requests, a), rep->requests == 1 ? "" :
	    "s", poll_count((int64_t)rep->sdk_requests, b),
	    rep->sdk_requests == 1 ? "" : "s", rep->failed, rep->sources,
	    rep->commit.nevents);
}

/* polls.json parsed, or NULL. */
static json_object *
poll_parse_stamps(const char *state_dir)
{
	json_object *o;
	char *s;

	if ((s = poll_read_stamps(state_dir)) == NULL)
		return NULL;
	o = jsonw_parse(s, strlen(s));
	free(s);
	return o;
}

/* ------------------------------------------------------------ cycle */

/* Makes sure the message says which project failed. */
static void
poll_name_error(struct project_poll *pp, int rc)
{
	struct buf b;
	size_t n;

	if (pp->err[0] == '\0')
		snprintf(pp->err, sizeof(pp->err), "%s", fs_strerror(rc));
	buf_init(&b, 0);
	if (buf_printf(&b, "'%s'", pp->proj->name) != 0 ||
	    strstr(pp->err, b.data) != NULL)
		goto buf_release;
	buf_reset(&b);
	if (buf_printf(&b, "project '%s': ", pp->proj->name) != 0 ||
	    buf_puts(&b, pp->err) != 0)
		goto buf_release;
	n = b.len < sizeof(pp->err) - 1 ? b.len : sizeof(pp->err) - 1;
	memcpy(pp->err, b.data, n);
	pp->err[n] = '\0';
buf_release:
	buf_release(&b);
}

/* What the feed needs next cycle: kept in the record, so it goes with
 * the state it describes (a failed poll keeps the last good values). */
static void
poll_feed_details(const struct project_poll *pp, json_object *d)
{
	const char *ws = pp->ws_id, *env = pp->env_id, *name = pp->env_name;

	if (pp->fc == NULL)
		return;
	if (pp->has_cn)
		json_object_object_add(d, "change_number",
		    json_object_new_int64(pp->cn));
	json_object_object_add(d, "environment",
	    json_object_new_string(pp->proj->environment));
	if (ws == NULL || env == NULL || name == NULL) {
		ws = pp_prev_str(pp, "ws_id");
		env = pp_prev_str(pp, "env_id");
		name = pp_prev_str(pp, "env_name");
	}
	if (ws && env && name) {
		json_object_object_add(d, "ws_id", json_object_new_string(ws));
		json_object_object_add(d, "env_id",
		    json_object_new_string(env));
		json_object_object_add(d, "env_name",
		    json_object_new_string(name));
	}
}

/*
 * The status fields of a project poll beyond the counts: the skipped
 * items, the held deletion, the feed's state.  NULL when there are none
 * (or no memory: the status then lacks them, nothing worse).
 */
static json_object *
poll_details(const struct project_poll *pp)
{
	json_object *d, *o;

	if (pp->ncached == 0 && pp->skipped.n == 0 && pp->fc == NULL)
		return NULL;
	if ((d = json_object_new_object()) == NULL)
		return NULL;
	if (pp->ncached > 0 && (o = json_object_new_object()) != NULL) {
		json_object_object_add(o, "missing",
		    json_object_new_int64((int64_t)pp->nmissing));
		json_object_object_add(o, "flags",
		    json_object_new_int64((int64_t)pp->ncached));
		json_object_object_add(d, "held", o);
	}
	(void)skipped_put(&pp->skipped, d);
	poll_feed_details(pp, d);
	return d;
}

/*
 * polls.json's part of a project: how it was polled, and when the full
 * listing ran and runs next (outside LMDB, so a quiet cycle writes
 * nothing there).
 */
static void
poll_stamp_feed(const struct project_poll *pp, struct stamp *st,
    const char *source, bool ok)
{
	json_object *o;
	int64_t full = 0;
	char tbuf[32];
	bool has_full;

	if (!json_object_object_get_ex(st->stamps, source, &o))
		return;
	json_object_object_add(o, "mode", json_object_new_string(
	    pp->listed || pp->fc == NULL ? "admin" : "feed"));
	has_full = pp_prev_int(pp->prev_stamp, "full_ms", &full);
	if (pp->listed && ok) {
		full = st->now;
		has_full = true;
	}
	if (pp->feed_err[0])
		json_object_object_add(o, "feed_error",
		    json_object_new_string(pp->feed_err));
	if (pp->fc == NULL || !has_full)
		return;
	json_object_object_add(o, "full_ms", json_object_new_int64(full));
	view_format_time(full, tbuf);
	json_object_object_add(o, "full_time", json_object_new_string(tbuf));
	view_format_time(full + pp->cfg->split_full_sync * 1000, tbuf);
	json_object_object_add(o, "next_full", json_object_new_string(tbuf));
}

static int
poll_project_ok(struct project_poll *pp, struct stamp *st,
    const char *source, struct poll_report *rep)
{
	json_object *details;
	int rc;

	if (pp->quiet) {
		/* the feed said nothing changed: no request, no write */
		log_debug("project '%s': no change since change number %lld",
		    pp->proj->name, (long long)pp->cn);
		stamp_put(st, source, 1, NULL);
		poll_stamp_feed(pp, st, source, true);
		rep->flags_seen += (size_t)pp->nflags;
		return 0;
	}
	if (pp->listed)
		log_info("project '%s' (%s): %zu flags, %zu defined, %zu "
		    "changed, %zu links from Split%s", pp->proj->name,
		    pp->env_name, pp->n, pp->ndefs, pp->nchanged, pp->nlinks,
		    pp->skipped.n ? "; some items skipped" : "");
	rep->flags_seen += (size_t)pp->nflags;
	rep->changed += pp->nchanged;
	details = poll_details(pp);
	rc = status_record_details(st, source, 1, NULL, pp->nflags, "flags",
	    pp->ndefined, "defined", details);
	json_object_put(details);
	poll_stamp_feed(pp, st, source, true);
	return rc;
}

/* Tests shorten the backoff (test builds only); 0: the clients' own. */
static int64_t
poll_test_backoff_ms(void)
{
#ifdef FLAGSYNC_TEST_HOOKS
	if (getenv("FLAGSYNC_TEST_BACKOFF_MS"))
		return atoll(getenv("FLAGSYNC_TEST_BACKOFF_MS"));
#endif
	return 0;
}

static int
poll_feed_client(const struct config *cfg, const struct config_project *proj,
    volatile sig_atomic_t *cancel, struct feed_client **fc)
{
	struct feed_options fo;

	*fc = NULL;
	if (proj->sdk_key == NULL)
		return 0;
	memset(&fo, 0, sizeof(fo));
	fo.sdk_url = cfg->split_sdk_url;
	fo.sdk_key = proj->sdk_key;
	fo.project = proj->name;
	fo.timeout = cfg->split_timeout;
	fo.ca_file = cfg->ca_file;
	fo.cancel = cancel;
	fo.backoff_base_ms = poll_test_backoff_ms();
	return feed_client_create(fc, &fo);
}

static int
poll_project(const struct config *cfg, const struct config_project *proj,
    struct split_client *sc, const struct keys *keys, struct stamp *st,
    struct poll_report *rep, volatile sig_atomic_t *cancel)
{
	struct project_poll pp;
	struct cs_mark mark;
	json_object *details, *ok;
	char source[512];
	int rc;

	memset(&pp, 0, sizeof(pp));
	pp.cfg = cfg;
	pp.proj = proj;
	pp.sc = sc;
	pp.c = st->c;
	pp.keys = keys;
	pp.cs = st->cs;
	linkset_init(&pp.tags);
	linkset_init(&pp.desc);
	buf_init(&pp.rec, 0);
	snprintf(source, sizeof(source), "split:%s", proj->name);
	pp_prev_load(&pp, st->c, source);
	if ((rc = pp_owned_load(&pp)) != 0) {
		pp_release(&pp);
		return rc;
	}
	if (st->prev)
		json_object_object_get_ex(st->prev, source, &pp.prev_stamp);
	changeset_mark(st->cs, &mark);
	if ((rc = poll_feed_client(cfg, proj, cancel, &pp.fc)) == 0)
		rc = pp_poll(&pp, st->now);
	/* a quiet cycle after a failed one must still say it is ok again */
	if (rc == 0 && pp.quiet && (pp.prev == NULL ||
	    !json_object_object_get_ex(pp.prev, "ok", &ok) ||
	    !json_object_get_boolean(ok)))
		pp.quiet = false;
	if (pp.fc)
		rep->sdk_requests += feed_request_count(pp.fc);
	if (rc == 0)
		rc = poll_project_ok(&pp, st, source, rep);
	else {
		/* nothing of a failed read may reach the cache */
		changeset_rollback(st->cs, &mark);
		poll_name_error(&pp, rc);
		log_warnx("%s; keeping its previous flags and links",
		    pp.err);
		/* only the held marker: skipped items are moot now */
		skipped_release(&pp.skipped);
		details = poll_details(&pp);
		status_record_details(st, source, 0, pp.err, 0, NULL, 0, NULL,
		    details);
		json_object_put(details);
		poll_stamp_feed(&pp, st, source, false);
	}
	pp_release(&pp);
	return rc;
}

/*
 * One standalone link source: its links, or its previous ones kept.  ce
 * (NULL: none) is the creation step (create.h), run on the names the
 * source handed over before its links go into the changeset.
 */
static int
poll_source(const struct source *src, const struct source_env *env,
    const struct create_env *ce, struct stamp *st)
{
	json_object *details;
	struct linkset set;
	char err[1024];
	size_t n;
	int rc;

	if ((details = json_object_new_object()) == NULL)
		return ENOMEM;
	linkset_init(&set);
	err[0] = '\0';
	if ((rc = src->gather(env, &set, details, err, sizeof(err))) == 0 &&
	    ce != NULL && (rc = create_run(ce, env->create, &set, details)) !=
	    0)
		snprintf(err, sizeof(err), "%s: creating flags: %s",
		    src->status_name, fs_strerror(rc));
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s: %s", src->status_name,
			    fs_strerror(rc));
		log_warnx("%s; keeping the previous links from it", err);
		/* the refusals' next tries outlive a failed search */
		json_object_put(details);
		details = json_object_new_object();
		if (ce != NULL && details != NULL)
			(void)create_carry(ce->c, details);
		status_record_details(st, src->status_name, 0, err, 0, NULL, 0,
		    NULL, details);
		goto set_release;
	}
	linkset_sort(&set);
	n = set.n;
	rc = changeset_add_links(st->cs, src->id, src->scope, &set);
	if (rc == 0)
		rc = status_record_details(st, src->status_name, 1, NULL,
		    (int64_t)n, "links", 0, NULL, details);
set_release:
	if (env->create != NULL)
		create_list_release(env->create);
	linkset_release(&set);
	json_object_put(details);
	return rc;
}

/* The linked issues' Jira status (issuestatus.h), its own status row. */
static int
poll_issue_status(const struct config *cfg, struct stamp *st,
    volatile sig_atomic_t *cancel)
{
	struct issuestatus_report r;
	char err[1024];
	int rc;

	err[0] = '\0';
	rc = issuestatus_poll(cfg, st->c, st->cs, cancel, &r, err,
	    sizeof(err));
	if (rc == ENOMEM)
		return rc;
	if (rc != 0) {
		/* no counts: what a failed read saw is not what is kept */
		log_warnx("%s; keeping the previous issue status", err);
		status_record(st, ISSUESTATUS_SOURCE, 0, err, 0, NULL, 0, NULL);
		return rc;
	}
	status_record(st, ISSUESTATUS_SOURCE, 1, NULL, (int64_t)r.issues,
	    "issues", (int64_t)r.missing, "missing");
	return 0;
}

static int
poll_client(const struct config *cfg, volatile sig_atomic_t *cancel,
    struct split_client **sc)
{
	struct split_options so;

	memset(&so, 0, sizeof(so));
	so.api_url = cfg->split_api_url;
	so.admin_key = cfg->split_admin_key;
	so.auth = cfg->split_auth == CONFIG_AUTH_BEARER ? SPLIT_AUTH_BEARER :
	    cfg->split_auth == CONFIG_AUTH_X_API_KEY ? SPLIT_AUTH_X_API_KEY :
	    SPLIT_AUTH_AUTO;
	so.max_rps = cfg->split_max_rps;
	so.timeout = cfg->split_timeout;
	so.ca_file = cfg->ca_file;
	so.cancel = cancel;
	so.backoff_base_ms = poll_test_backoff_ms();
	so.pace_dir = cfg->state_dir;	/* max_rps shared with outputs */
	return split_client_create(sc, &so);
}

int
poll_cycle(const struct config *cfg, struct cache *c,
    volatile sig_atomic_t *cancel, struct poll_report *rep)
{
	const struct source *const *src;
	struct split_client *sc = NULL;
	struct source_env env;
	struct create_env ce;
	struct create_list cands;
	bool *failed = NULL;
	struct changeset cs;
	struct findings_conf fc = { cfg->findings_done_grace,
	    cfg->findings_stale_after, cfg->findings_ignore };
	struct stamp st;
	struct keys keys;
	char err[512];
	int64_t t0;
	size_t i;
	int rc, first = 0;

	memset(rep, 0, sizeof(*rep));
	t0 = poll_mono_ms();
	if (cfg->split_admin_key == NULL) {
		log_warnx("no Split Admin API key: set [split] admin_key_file "
		    "in %s, $FLAGSYNC_SPLIT_ADMIN_KEY, or the split-admin-key "
		    "credential", cfg->path);
		return FS_ECONFIG;
	}
	if ((rc = keys_init(&keys, cfg->issue_key_pattern, err,
	    sizeof(err))) != 0) {
		log_warnx("%s: [links] issue_key_pattern: %s", cfg->path, err);
		return rc;
	}
	if ((rc = poll_client(cfg, cancel, &sc)) != 0)
		goto keys_release;
	create_list_init(&cands);
	changeset_init(&cs);
	cs.time = clock_now_ms();
	cs.cancel = cancel;
	cs.findings = cfg->findings ? &fc : NULL;
	if ((rc = changeset_spill(&cs, cfg->state_dir)) != 0)
		log_warnx("cannot make a spill file in %s: %s; keeping the "
		    "changes in memory", cfg->state_dir, strerror(rc));
	st.stamps = json_object_new_object();
	st.prev = poll_parse_stamps(cfg->state_dir);
	st.c = c;
	st.cs = &cs;
	st.now = cs.time;
	/* which projects failed: the creation step leaves them alone */
	if ((failed = calloc(cfg->nprojects + 1, sizeof(*failed))) == NULL) {
		rc = ENOMEM;
		goto cs_release;
	}
	for (i = 0; i < cfg->nprojects; i++) {
		rep->sources++;
		st.t0 = clock_now_ms();
		rc = poll_project(cfg, &cfg->projects[i], sc, &keys, &st, rep,
		    cancel);
		if (rc == ENOMEM || rc == FS_ECANCELED)
			goto cs_release;
		if (rc != 0 && first == 0)
			first = rc;
		if (rc != 0)
			rep->failed++;
		failed[i] = rc != 0;
	}
	env.cfg = cfg;
	env.keys = &keys;
	env.c = c;
	env.cs = &cs;
	env.cancel = cancel;
	env.create = NULL;
	ce = (struct create_env){ cfg, c, sc, &cs, failed, cs.time };
	for (src = sources; *src; src++) {
		if (!(*src)->enabled(cfg))
			continue;
		rep->sources++;
		st.t0 = clock_now_ms();
		env.create = (*src)->id == LINK_SRC_JIRA_FIELD &&
		    cfg->jira_create ? &cands : NULL;
		rc = poll_source(*src, &env, env.create ? &ce : NULL, &st);
		env.create = NULL;
		if (rc == ENOMEM)
			goto cs_release;
		if (rc != 0) {
			rep->failed++;
			if (first == 0)
				first = rc;
		}
	}
	if (issuestatus_enabled(cfg)) {
		rep->sources++;
		st.t0 = clock_now_ms();
		if ((rc = poll_issue_status(cfg, &st, cancel)) == ENOMEM)
			goto cs_release;
		if (rc != 0) {
			rep->failed++;
			if (first == 0)
				first = rc;
		}
	}
	rep->requests = split_request_count(sc);
	if ((rc = commit_apply(c, &cs, &rep->commit)) != 0) {
		log_warnx("%s", rep->commit.error[0] ? rep->commit.error :
		    fs_strerror(rc));
		goto cs_release;
	}
	stamps_write(cfg->state_dir, st.stamps);
	poll_log_cycle(rep, t0);
	rc = first;
cs_release:
	json_object_put(st.stamps);
	json_object_put(st.prev);
	changeset_release(&cs);
	create_list_release(&cands);
	free(failed);
	split_client_free(sc);
keys_release:
	keys_release(&keys);
	return rc;
}
