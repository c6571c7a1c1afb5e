/* issuestatus.c - the Jira status of every linked issue (issuestatus.h). */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "array.h"
#include "clock.h"
#include "error.h"
#include "issuestatus.h"
#include "jira.h"
#include "log.h"
#include "utf8.h"

#define IS_REC_VERSION	1
#define IS_MISSING	0x1
#define IS_NFIELDS	4

static const char *const is_fields[IS_NFIELDS] = {
	"summary", "status", "resolutiondate", "statuscategorychangedate"
};

/* ------------------------------------------------------------ record */

/*
 * version u8, flags u8, then resolved, category_since, seen and
 * missing_since as big-endian i64, then summary, status and category,
 * each a big-endian u16 length and its bytes.  Equal statuses encode to
 * equal bytes, so an unchanged one is never rewritten.
 */

static int
is_put64(struct buf *b, int64_t v)
{
	unsigned char p[8];
	int i;

	for (i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8))
		p[i] = (unsigned char)((uint64_t)v & 0xff);
	return buf_append(b, p, sizeof(p));
}

static int
is_putstr(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	unsigned char p[2] = { (unsigned char)(n >> 8), (unsigned char)n };
	int rc;

	if ((rc = buf_append(b, p, 2)) != 0)
		return rc;
	return buf_append(b, s, n);
}

int
issuestatus_encode(const struct issue_status *st, struct buf *out)
{
	unsigned char head[2] = { IS_REC_VERSION,
	    (unsigned char)(st->missing ? IS_MISSING : 0) };
	int rc;

	if ((rc = buf_append(out, head, 2)) != 0 ||
	    (rc = is_put64(out, st->resolved)) != 0 ||
	    (rc = is_put64(out, st->category_since)) != 0 ||
	    (rc = is_put64(out, st->seen)) != 0 ||
	    (rc = is_put64(out, st->missing_since)) != 0 ||
	    (rc = is_putstr(out, st->summary)) != 0 ||
	    (rc = is_putstr(out, st->status)) != 0)
		return rc;
	return is_putstr(out, st->category);
}

struct is_reader {
	const unsigned char *p;
	size_t	 left;
};

static int
is_get64(struct is_reader *r, int64_t *v)
{
	uint64_t u = 0;
	int i;

	if (r->left < 8)
		return FS_EDAMAGED;
	for (i = 0; i < 8; i++)
		u = u << 8 | r->p[i];
	*v = (int64_t)u;
	r->p += 8;
	r->left -= 8;
	return 0;
}

static int
is_getstr(struct is_reader *r, char *out, size_t size)
{
	size_t n;

	if (r->left < 2)
		return FS_EDAMAGED;
	n = (size_t)r->p[0] << 8 | r->p[1];
	if (n >= size || r->left - 2 < n || memchr(r->p + 2, '\0', n))
		return FS_EDAMAGED;
	memcpy(out, r->p + 2, n);
	out[n] = '\0';
	r->p += 2 + n;
	r->left -= 2 + n;
	return 0;
}

int
issuestatus_decode(const char *key, const void *rec, size_t len,
    struct issue_status *out)
{
	struct is_reader r = { rec, len };
	int rc;

	memset(out, 0, sizeof(*out));
	if (strlen(key) > FS_ISSUE_MAX || len < 2 || r.p[0] != IS_REC_VERSION)
		return FS_EDAMAGED;
	strcpy(out->key, key);
	out->missing = (r.p[1] & IS_MISSING) != 0;
	r.p += 2;
	r.left -= 2;
	if ((rc = is_get64(&r, &out->resolved)) != 0 ||
	    (rc = is_get64(&r, &out->category_since)) != 0 ||
	    (rc = is_get64(&r, &out->seen)) != 0 ||
	    (rc = is_get64(&r, &out->missing_since)) != 0 ||
	    (rc = is_getstr(&r, out->summary, sizeof(out->summary))) != 0 ||
	    (rc = is_getstr(&r, out->status, sizeof(out->status))) != 0 ||
	    (rc = is_getstr(&r, out->category, sizeof(out->category))) != 0)
		return rc;
	return r.left == 0 ? 0 : FS_EDAMAGED;
}

int
issuestatus_get(struct cache_txn *t, const char *key,
    struct issue_status *out)
{
	const void *rec;
	size_t len;
	int rc;

	if ((rc = cache_istatus_get(t, key, &rec, &len)) != 0)
		return rc;
	return issuestatus_decode(key, rec, len, out);
}

struct is_walk {
	issuestatus_cb cb;
	void	*arg;
	struct issue_status st;
};

static int
is_walk_cb(void *arg, const char *issue, const void *rec, size_t len)
{
	struct is_walk *w = arg;
	int rc;

	if ((rc = issuestatus_decode(issue, rec, len, &w->st)) != 0)
		return rc;
	return w->cb(w->arg, &w->st);
}

int
issuestatus_foreach(struct cache_txn *t, issuestatus_cb cb, void *arg)
{
	struct is_walk *w;
	int rc;

	/* a status is 1.4 KB: not on the stack of a callback's caller */
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ENOMEM;
	w->cb = cb;
	w->arg = arg;
	rc = cache_istatus_foreach(t, is_walk_cb, w);
	free(w);
	return rc;
}

bool
issuestatus_is_done(const struct issue_status *st)
{
	return strcmp(st->category, "done") == 0;
}

void
issuestatus_merge(const struct issue_status *old,
    const struct issue_status *jira, const char *key, int64_t now,
    struct issue_status *out)
{
	if (jira == NULL) {
		if (old != NULL)
			*out = *old;
		else {
			memset(out, 0, sizeof(*out));
			out->seen = now;
		}
		snprintf(out->key, sizeof(out->key), "%s", key);
		if (!out->missing)
			out->missing_since = now;
		out->missing = true;
		return;
	}
	*out = *jira;
	snprintf(out->key, sizeof(out->key), "%s", key);
	out->missing = false;
	out->missing_since = 0;
	out->seen = old != NULL && old->seen != 0 ? old->seen : now;
	if (jira->category_since != 0)
		return;		/* Jira's own time beats ours */
	if (old != NULL && old->category[0] != '\0' &&
	    strcmp(old->category, jira->category) == 0 &&
	    old->category_since != 0)
		out->category_since = old->category_since;
	else
		out->category_since = now;
}

/* ------------------------------------------------------------ Jira */

/* Text from Jira into out: valid UTF-8, cut at a character boundary. */
static int
is_copy_text(const char *s, char *out, size_t size)
{
	struct buf b;
	size_t n, i, step;
	uint32_t cp;
	int rc;

	out[0] = '\0';
	if (s == NULL)
		return 0;
	buf_init(&b, 0);
	if ((rc = utf8_repair(s, strlen(s), &b)) != 0)
		goto b_release;
	for (n = 0; n < b.len; n += step) {
		step = utf8_decode((const unsigned char *)b.data + n,
		    b.len - n, &cp);
		if (step == 0)
			step = 1;
		if (n + step >= size)
			break;
	}
	for (i = 0; i < n; i++)		/* one line, no control bytes */
		out[i] = (unsigned char)b.data[i] < 0x20 ? ' ' : b.data[i];
	out[n] = '\0';
b_release:
	buf_release(&b);
	return rc;
}

static const char *
is_str(json_object *o, const char *name)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t
is_time(json_object *fields, const char *name)
{
	const char *s = is_str(fields, name);
	int64_t ms;

	return s != NULL && clock_parse_ms(s, &ms) == 0 ? ms : 0;
}

/* One issue's fields as Jira gave them. */
static int
is_from_jira(json_object *fields, struct issue_status *out)
{
	json_object *status = NULL, *cat = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fields != NULL)
		json_object_object_get_ex(fields, "status", &status);
	if (status != NULL)
		json_object_object_get_ex(status, "statusCategory", &cat);
	if ((rc = is_copy_text(is_str(fields, "summary"), out->summary,
	    sizeof(out->summary))) != 0 ||
	    (rc = is_copy_text(is_str(status, "name"), out->status,
	    sizeof(out->status))) != 0 ||
	    (rc = is_copy_text(is_str(cat, "key"), out->category,
	    sizeof(out->category))) != 0)
		return rc;
	out->resolved = is_time(fields, "resolutiondate");
	out->category_since = is_time(fields, "statuscategorychangedate");
	return 0;
}

/* One key of a search, and what became of it. */
struct is_key {
	const char *key;
	bool	 gone;		/* Jira's 400 named it */
	bool	 found;
	struct issue_status *jira;	/* when found */
};

struct is_search {
	struct is_key *k;
	size_t	 n;
	size_t	 found;
	size_t	 named;		/* keys newly named by a 400 */
};

static struct is_key *
is_search_find(struct is_search *s, const char *key)
{
	size_t i;

	/* Jira looks keys up case-insensitively */
	for (i = 0; i < s->n; i++)
		if (strcasecmp(s->k[i].key, key) == 0)
			return &s->k[i];
	return NULL;
}

static int
is_issue_cb(void *arg, const char *key, json_object *fields)
{
	struct is_search *s = arg;
	struct is_key *k;

	/* a key not asked for: an issue moved since, found by its old key,
	 * which then reads as not returned */
	if ((k = is_search_find(s, key)) == NULL || k->gone || k->found)
		return 0;
	if (k->jira == NULL && (k->jira = malloc(sizeof(*k->jira))) == NULL)
		return ENOMEM;
	if (is_from_jira(fields, k->jira) != 0)
		return ENOMEM;
	k->found = true;
	s->found++;
	return 0;
}

static int
is_gone_cb(void *arg, const char *key)
{
	struct is_search *s = arg;
	struct is_key *k;

	if ((k = is_search_find(s, key)) != NULL && !k->gone) {
		k->gone = true;
		s->named++;
	}
	return 0;
}

/* "key in ("A-1", "B-2")" of the keys not named gone; how many. */
static size_t
is_jql(const struct is_search *s, struct buf *jql)
{
	const char *p;
	size_t i, n = 0;

	buf_reset(jql);
	buf_puts(jql, "key in (");
	for (i = 0; i < s->n; i++) {
		if (s->k[i].gone)
			continue;
		buf_puts(jql, n++ ? ", \"" : "\"");
		for (p = s->k[i].key; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(jql, '\\');
			buf_putc(jql, *p);
		}
		buf_putc(jql, '"');
	}
	buf_puts(jql, ")");
	return n;
}

/*
 * One search of up to ISSUESTATUS_KEYS_MAX keys, repeated without the
 * keys a 400 names.  0 when every key is found or gone or not returned
 * while others were.
 */
static int
is_search_run(struct jira_client *jc, struct is_search *s, char *err,
    size_t errlen)
{
	struct buf jql;
	size_t i, asked;
	int rc;

	buf_init(&jql, 0);
	for (;;) {
		if ((asked = is_jql(s, &jql)) == 0) {
			rc = 0;		/* Jira named every one gone */
			break;
		}
		if (jql.data == NULL) {
			rc = ENOMEM;
			break;
		}
		for (i = 0; i < s->n; i++)
			s->k[i].found = false;
		s->found = 0;
		s->named = 0;
		rc = jira_search_keys(jc, buf_str(&jql), is_fields, IS_NFIELDS,
		    is_issue_cb, is_gone_cb, s, err, errlen);
		if (rc == FS_ENOTFOUND && s->named > 0)
			continue;	/* again, without them */
		if (rc == FS_ENOTFOUND)
			rc = FS_EHTTP;	/* it named keys we did not ask */
		if (rc == 0 && s->found == 0) {
			snprintf(err, errlen, "Jira: the search for %zu linked "
			    "issues returned none of them and named none "
			    "missing; keeping their status", asked);
			rc = FS_EPROTO;
		}
		break;
	}
	buf_release(&jql);
	return rc;
}

/* ------------------------------------------------------------ keys */

struct is_keys {
	char	**v;
	size_t	 n, cap;
};

static int
is_keys_add(struct is_keys *ks, const char *key)
{
	int rc;

	if ((rc = ARRAY_GROW(ks->v, ks->cap, ks->n + 1)) != 0)
		return rc;
	if ((ks->v[ks->n] = strdup(key)) == NULL)
		return ENOMEM;
	ks->n++;
	return 0;
}

static void
is_keys_release(struct is_keys *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		free(ks->v[i]);
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

static int
is_keys_cb(void *arg, const char *issue)
{
	return is_keys_add(arg, issue);
}

static int
is_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, each once. */
static void
is_keys_unique(struct is_keys *ks)
{
	size_t i, j = 0;

	if (ks->n == 0)
		return;
	qsort(ks->v, ks->n, sizeof(*ks->v), is_strcmp);
	for (i = 1; i < ks->n; i++) {
		if (strcmp(ks->v[i], ks->v[j]) == 0)
			free(ks->v[i]);
		else
			ks->v[++j] = ks->v[i];
	}
	ks->n = j + 1;
}

static bool
is_keys_has(const struct is_keys *ks, const char *key)
{
	return bsearch(&key, ks->v, ks->n, sizeof(*ks->v), is_strcmp) != NULL;
}

/* The linked issues: the cache's, and the links this cycle adds. */
static int
is_linked(struct cache *c, const struct changeset *cs, struct is_keys *ks)
{
	struct cache_txn *t;
	size_t i, j;
	int rc;

	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	rc = cache_issue_foreach(t, is_keys_cb, ks);
	cache_read_end(t);
	for (i = 0; i < cs->nlinks && rc == 0; i++)
		for (j = 0; j < cs->links[i].set.n && rc == 0; j++)
			rc = is_keys_add(ks, cs->links[i].set.v[j].issue);
	for (i = 0; i < cs->nedits && rc == 0; i++)
		if (cs->edits[i].add)
			rc = is_keys_add(ks, cs->edits[i].issue);
	if (rc == 0)
		is_keys_unique(ks);
	return rc;
}

/* ------------------------------------------------------------ poll */

struct is_poll {
	struct cache *c;
	struct changeset *cs;
	struct issuestatus_report rep;
	struct buf rec;
	struct issue_status old, now;
	const struct is_keys *keys;
};

/* The new record of one key into the changeset, when it changed. */
static int
is_store(struct is_poll *p, struct cache_txn *t, const struct is_key *k)
{
	const void *oldrec;
	size_t oldlen;
	int rc, had;

	rc = cache_istatus_get(t, k->key, &oldrec, &oldlen);
	if (rc != 0 && rc != FS_ENOTFOUND)
		return rc;
	/* a record that does not decode is written afresh */
	had = rc == 0 && issuestatus_decode(k->key, oldrec, oldlen,
	    &p->old) == 0;
	issuestatus_merge(had ? &p->old : NULL, k->found ? k->jira : NULL,
	    k->key, p->cs->time, &p->now);
	if (p->now.missing)
		p->rep.missing++;
	buf_reset(&p->rec);
	if ((rc = issuestatus_encode(&p->now, &p->rec)) != 0)
		return rc;
	if (had && oldlen == p->rec.len &&
	    memcmp(oldrec, p->rec.data, oldlen) == 0)
		return 0;
	p->rep.changed++;
	return changeset_add_issue_status(p->cs, k->key, p->rec.data,
	    p->rec.len);
}

static int
is_store_all(struct is_poll *p, const struct is_search *s)
{
	struct cache_txn *t;
	size_t i;
	int rc = 0;

	if ((rc = cache_read_begin(p->c, &t)) != 0)
		return rc;
	for (i = 0; i < s->n && rc == 0; i++)
		rc = is_store(p, t, &s->k[i]);
	cache_read_end(t);
	return rc;
}

static void
is_search_release(struct is_search *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->k[i].jira);
	memset(s->k, 0, sizeof(*s->k) * ISSUESTATUS_KEYS_MAX);
	s->n = 0;
}

static int
is_prune_cb(void *arg, const char *issue, const void *rec, size_t len)
{
	struct is_poll *p = arg;

	(void)rec;
	(void)len;
	if (is_keys_has(p->keys, issue))
		return 0;
	p->rep.changed++;
	return changeset_add_issue_status(p->cs, issue, NULL, 0);
}

/* Records of issues no longer linked go. */
static int
is_prune(struct is_poll *p)
{
	struct cache_txn *t;
	int rc;

	if ((rc = cache_read_begin(p->c, &t)) != 0)
		return rc;
	rc = cache_istatus_foreach(t, is_prune_cb, p);
	cache_read_end(t);
	return rc;
}

static int
is_client(const struct config *cfg, volatile sig_atomic_t *cancel,
    struct jira_client **jc, char *err, size_t errlen)
{
	struct jira_options o;
	int rc;

	if (cfg->jira_api_token == NULL) {
		snprintf(err, errlen, "%s: no Jira API token for %s: set "
		    "[jira] api_token_file in %s, $FLAGSYNC_JIRA_API_TOKEN, or "
		    "the jira-api-token credential", ISSUESTATUS_SOURCE,
		    cfg->jira_email ? cfg->jira_email : "[jira] email",
		    cfg->path);
		return FS_EAUTH;
	}
	memset(&o, 0, sizeof(o));
	o.url = cfg->jira_url;
	o.email = cfg->jira_email;
	o.api_token = cfg->jira_api_token;
	o.timeout = cfg->jira_timeout;
	o.ca_file = cfg->ca_file;
	o.cancel = cancel;
#ifdef FLAGSYNC_TEST_HOOKS
	if (getenv("FLAGSYNC_TEST_BACKOFF_MS") != NULL)
		o.backoff_base_ms = atoll(getenv("FLAGSYNC_TEST_BACKOFF_MS"));
#endif
	if ((rc = jira_client_create(jc, &o)) != 0)
		snprintf(err, errlen, "%s: cannot set up the Jira client for "
		    "%s: %s", ISSUESTATUS_SOURCE, cfg->jira_url,
		    fs_strerror(rc));
	return rc;
}

bool
issuestatus_enabled(const struct config *cfg)
{
	return cfg->jira_url != NULL;
}

/* Every key, ISSUESTATUS_KEYS_MAX a search. */
static int
is_read(struct is_poll *p, struct jira_client *jc, char *err, size_t errlen)
{
	struct is_key k[ISSUESTATUS_KEYS_MAX];
	struct is_search s = { k, 0, 0, 0 };
	size_t i;
	int rc = 0;

	memset(k, 0, sizeof(k));
	for (i = 0; i < p->keys->n && rc == 0; i += s.n) {
		is_search_release(&s);
		while (s.n < ISSUESTATUS_KEYS_MAX && i + s.n < p->keys->n) {
			k[s.n].key = p->keys->v[i + s.n];
			s.n++;
		}
		if ((rc = is_search_run(jc, &s, err, errlen)) == 0)
			rc = is_store_all(p, &s);
	}
	is_search_release(&s);
	return rc;
}

int
issuestatus_poll(const struct config *cfg, struct cache *c,
    struct changeset *cs, volatile sig_atomic_t *cancel,
    struct issuestatus_report *rep, char *err, size_t errlen)
{
	struct jira_client *jc = NULL;
	struct is_keys keys = { NULL, 0, 0 };
	struct is_poll p;
	struct cs_mark mark;
	int rc;

	if (errlen)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.cs = cs;
	p.keys = &keys;
	buf_init(&p.rec, 0);
	changeset_mark(cs, &mark);
	if ((rc = is_linked(c, cs, &keys)) != 0) {
		snprintf(err, errlen, "%s: cannot list the linked issues: %s",
		    ISSUESTATUS_SOURCE, fs_strerror(rc));
		goto keys_release;
	}
	if (keys.n > 0 && (rc = is_client(cfg, cancel, &jc, err,
	    errlen)) != 0)
		goto keys_release;
	p.rep.issues = keys.n;
	if (keys.n > 0)
		rc = is_read(&p, jc, err, errlen);
	if (rc == 0)
		rc = is_prune(&p);
	if (jc != NULL)
		p.rep.requests = jira_request_count(jc);
	if (rc != 0) {
		/* every previous status stays */
		changeset_rollback(cs, &mark);
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", ISSUESTATUS_SOURCE,
			    fs_strerror(rc));
	} else
		log_info("%s: %zu linked issues, %zu missing, %zu changed, "
		    "%llu requests", ISSUESTATUS_SOURCE, p.rep.issues,
		    p.rep.missing, p.rep.changed,
		    (unsigned long long)p.rep.requests);
	jira_client_free(jc);
keys_release:
	if (rep != NULL)
		*rep = p.rep;
	is_keys_release(&keys);
	buf_release(&p.rec);
	return rc;
}
