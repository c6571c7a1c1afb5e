/* query.c - the read-only commands. */
#include "autoconf.h"

#include <errno.h>
#include <fnmatch.h>
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "args.h"
#include "array.h"
#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "commit.h"
#include "deliver.h"
#include "error.h"
#include "findq.h"
#include "issuestatus.h"
#include "jsonw.h"
#include "linkset.h"
#include "maxlen.h"
#include "poll.h"
#include "query.h"
#include "source.h"
#include "table.h"
#include "utf8.h"
#include "view.h"

#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define FLAG_EVENTS	10	/* recent events shown by `flag` */

/* ------------------------------------------------------------ helpers */

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/*
 * Writes s for a person: remote text (descriptions, tags, names) may hold
 * terminal escape sequences, so it goes out escaped (utf8_vis()).  JSON
 * output needs no such thing: json-c escapes control characters.
 */
static void
put_vis(FILE *out, const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	if (utf8_vis(s, strlen(s), 0, &b) == 0)
		fputs(buf_str(&b), out);
	else
		fputs("?", out);	/* out of memory: nothing raw */
	buf_release(&b);
}

static void
json_print(FILE *out, json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_FLAGS), out);
	fputc('\n', out);
}

/* A flag's view and issues, loaded in one read transaction. */
struct loaded {
	struct flag_view v;
	char	**issues;
	size_t	 nissues;
};

static int
load_flag(struct cache_txn *t, const char *project, const char *flag,
    const void *rec, size_t len, struct loaded *l)
{
	int rc;

	view_init(&l->v);
	l->issues = NULL;
	if ((rc = view_decode(&l->v, rec, len)) != 0)
		return FS_EDAMAGED;	/* the cache holds what it wrote */
	return commit_flag_issues(t, project, flag, &l->issues, &l->nissues);
}

static void
loaded_release(struct loaded *l)
{
	view_release(&l->v);
	commit_free_strv(l->issues);
	l->issues = NULL;
}

static json_object *
loaded_json(const struct loaded *l)
{
	return view_to_json(&l->v, (const char *const *)l->issues,
	    l->nissues, 0);
}

/* ------------------------------------------------------------ issue status */

static json_object *
time_json(int64_t ms)
{
	char tbuf[32];

	if (ms == 0)
		return NULL;
	view_format_time(ms, tbuf);
	return json_object_new_string(tbuf);
}

/*
 * An issue's Jira status as read by the last cycle: {"name", "category",
 * "summary", "resolved", "since", "missing"}, or null when it was never
 * read (no [jira], or not read yet).  A missing issue keeps what was last
 * known of it.
 */
static json_object *
istatus_json(struct cache_txn *t, const char *key)
{
	struct issue_status *st;
	json_object *o = NULL;

	if ((st = malloc(sizeof(*st))) == NULL ||
	    issuestatus_get(t, key, st) != 0 ||
	    (o = json_object_new_object()) == NULL)
		goto st_free;
	json_object_object_add(o, "name", st->status[0] ?
	    json_object_new_string(st->status) : NULL);
	json_object_object_add(o, "category", st->category[0] ?
	    json_object_new_string(st->category) : NULL);
	json_object_object_add(o, "summary", st->summary[0] ?
	    json_object_new_string(st->summary) : NULL);
	json_object_object_add(o, "resolved", time_json(st->resolved));
	json_object_object_add(o, "since", time_json(st->category_since));
	json_object_object_add(o, "missing",
	    json_object_new_boolean(st->missing));
st_free:
	free(st);
	return o;
}

/* "Done (done since T), resolved T" or "missing in Jira since T". */
static void
istatus_words(const struct issue_status *st, struct buf *b)
{
	char tbuf[32];

	if (st->missing) {
		view_format_time(st->missing_since, tbuf);
		buf_printf(b, "missing in Jira since %s", tbuf);
		if (st->status[0])
			buf_printf(b, " (was %s)", st->status);
		return;
	}
	view_format_time(st->category_since, tbuf);
	buf_printf(b, "%s (%s since %s)", st->status[0] ? st->status : "-",
	    st->category[0] ? st->category : "-", tbuf);
	if (st->resolved != 0) {
		view_format_time(st->resolved, tbuf);
		buf_printf(b, ", resolved %s", tbuf);
	}
}

static const char *
state_word(const struct flag_view *v)
{
	if (!v->defined)
		return "undefined";
	return v->killed ? "killed" : "on";
}

static void
join_issues(const struct loaded *l, struct buf *b)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < l->nissues; i++) {
		if (i)
			buf_puts(b, ",");
		buf_puts(b, l->issues[i]);
	}
}

/* ------------------------------------------------------------ flags */

struct flags_walk {
	const struct query_flags_args *a;
	struct cache_txn *t;
	struct buf *doc;	/* the --json document, or NULL: */
	struct table *tab;	/* the table for people */
	size_t	 n;
};

static int
flags_doc_add(struct flags_walk *w, const struct loaded *l)
{
	json_object *o;
	int rc;

	if ((o = loaded_json(l)) == NULL)
		return ENOMEM;
	if ((rc = buf_puts(w->doc, w->n ? ",\n" : "\n")) == 0)
		rc = buf_puts(w->doc, json_object_to_json_string_ext(o,
		    JSON_FLAGS));
	json_object_put(o);
	return rc;
}

static int
flags_row_add(struct flags_walk *w, const char *project, const char *flag,
    const struct loaded *l)
{
	struct buf roll, iss;
	char tbuf[32];
	int rc;

	buf_init(&roll, 0);
	buf_init(&iss, 0);
	view_rollout_words(&l->v, &roll);
	join_issues(l, &iss);
	if (l->v.defined)
		view_format_time(l->v.last_updated, tbuf);
	rc = table_add(w->tab, project, flag, state_word(&l->v),
	    roll.len ? roll.data : NULL, iss.len ? iss.data : NULL,
	    l->v.defined ? tbuf : NULL);
	buf_release(&roll);
	buf_release(&iss);
	return rc;
}

static int
flags_cb(void *arg, const char *project, const char *flag, const void *rec,
    size_t len)
{
	struct flags_walk *w = arg;
	const struct query_flags_args *a = w->a;
	struct loaded l;
	int rc;

	if ((rc = load_flag(w->t, project, flag, rec, len, &l)) != 0)
		goto loaded_release;
	if ((a->killed && !l.v.killed) || (a->active && !view_is_active(&l.v))
	    || (a->linked && l.nissues == 0) ||
	    (a->unlinked && l.nissues != 0))
		goto loaded_release;
	if (w->doc)
		rc = flags_doc_add(w, &l);
	else
		rc = flags_row_add(w, project, flag, &l);
	w->n++;
loaded_release:
	loaded_release(&l);
	return rc;
}

/* Walks the flags into w->doc or w->tab, in one read transaction. */
static int
flags_walk_run(struct cache *c, struct flags_walk *w)
{
	int rc;

	if ((rc = cache_read_begin(c, &w->t)) != 0)
		return rc;
	if (w->doc)
		rc = buf_puts(w->doc, "[");
	if (rc == 0)
		rc = cache_flag_foreach(w->t, w->a->project, flags_cb, w);
	cache_read_end(w->t);
	if (rc == 0 && w->doc)
		rc = buf_puts(w->doc, w->n ? "\n]\n" : "]\n");
	return rc;
}

int
query_doc_flags(struct cache *c, const struct query_flags_args *a,
    struct buf *out)
{
	struct flags_walk w;

	memset(&w, 0, sizeof(w));
	w.a = a;
	w.doc = out;
	return flags_walk_run(c, &w);
}

/* Writes a document built by a query_doc_*() function to the CLI's out. */
static int
query_put_doc(struct query *q, const struct buf *doc)
{
	if (doc->len > 0 && fwrite(doc->data, 1, doc->len, q->out) != doc->len)
		return errno ? errno : EIO;
	return 0;
}

int
query_flags(struct query *q, int argc, char **argv)
{
	struct query_flags_args a;
	struct flags_walk w;
	struct arg_opt opts[] = {
		{ "--project", 1, &a.project, NULL },
		{ "--killed", 0, NULL, &a.killed },
		{ "--active", 0, NULL, &a.active },
		{ "--linked", 0, NULL, &a.linked },
		{ "--unlinked", 0, NULL, &a.unlinked },
		{ NULL, 0, NULL, NULL },
	};
	struct buf doc;
	char *pos[1];
	size_t npos;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&w, 0, sizeof(w));
	w.a = &a;
	if ((rc = args_parse("flags", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((a.killed && a.active) || (a.linked && a.unlinked)) {
		fprintf(stderr, "flagsync flags: --killed/--active and "
		    "--linked/--unlinked each exclude the other\n");
		return EXIT_USAGE;
	}
	if (q->json) {
		buf_init(&doc, 0);
		if ((rc = query_doc_flags(q->c, &a, &doc)) == 0)
			rc = query_put_doc(q, &doc);
		buf_release(&doc);
	} else {
		if ((w.tab = table_new(6, "PROJECT", "FLAG", "STATE",
		    "ROLLOUT", "ISSUES", "LAST UPDATED")) == NULL)
			return EXIT_RUNTIME;
		if ((rc = flags_walk_run(q->c, &w)) == 0)
			table_print(w.tab, q->out);
		table_free(w.tab);
	}
	if (rc != 0) {
		fprintf(stderr, "flagsync flags: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* ------------------------------------------------------------ event words */

static void
rollout_words(json_object *view, struct buf *b)
{
	json_object *r, *v;

	if (!view || !json_object_object_get_ex(view, "rollout", &r) ||
	    r == NULL) {
		buf_puts(b, "none");
		return;
	}
	if (json_object_object_get_ex(r, "rules", &v))
		buf_printf(b, "%d rule%s", json_object_get_int(v),
		    json_object_get_int(v) == 1 ? "" : "s");
	else if (json_object_object_get_ex(r, "percentage", &v))
		buf_printf(b, "%d%% %s", json_object_get_int(v),
		    jstr(r, "treatment") ? jstr(r, "treatment") : "?");
}

static void
field_change(json_object *ev, const char *what, const char *key,
    struct buf *b)
{
	json_object *be = NULL, *af = NULL, *v1 = NULL, *v2 = NULL;

	json_object_object_get_ex(ev, "before", &be);
	json_object_object_get_ex(ev, "after", &af);
	if (be)
		json_object_object_get_ex(be, key, &v1);
	if (af)
		json_object_object_get_ex(af, key, &v2);
	buf_printf(b, "%s %s -> %s", what,
	    json_object_to_json_string_ext(v1, JSON_FLAGS),
	    json_object_to_json_string_ext(v2, JSON_FLAGS));
}

/* The change in words, as a person reads it in a table. */
static void
event_words(json_object *ev, struct buf *b)
{
	const char *type = jstr(ev, "type");
	json_object *be = NULL, *af = NULL, *src;

	buf_reset(b);
	if (type == NULL)
		return;
	json_object_object_get_ex(ev, "before", &be);
	json_object_object_get_ex(ev, "after", &af);
	if (strcmp(type, "link.added") == 0 ||
	    strcmp(type, "link.removed") == 0) {
		buf_printf(b, "%s %s", type[5] == 'a' ? "linked" : "unlinked",
		    jstr(ev, "issue") ? jstr(ev, "issue") : "?");
		if (json_object_object_get_ex(ev, "sources", &src) &&
		    json_object_is_type(src, json_type_array)) {
			size_t i, n = json_object_array_length(src);

			for (i = 0; i < n; i++)
				buf_printf(b, "%s%s", i ? ", " : " (",
				    json_object_get_string(
				    json_object_array_get_idx(src, i)));
			if (n)
				buf_puts(b, ")");
		}
	} else if (strcmp(type, "flag.rollout_changed") == 0) {
		buf_puts(b, "rollout ");
		rollout_words(be, b);
		buf_puts(b, " -> ");
		rollout_words(af, b);
	} else if (strcmp(type, "flag.created") == 0) {
		buf_puts(b, "created, ");
		rollout_words(af, b);
	} else if (strcmp(type, "flag.rules_changed") == 0)
		field_change(ev, "rules", "rules", b);
	else if (strcmp(type, "flag.default_treatment_changed") == 0)
		field_change(ev, "default treatment", "default_treatment", b);
	else if (strcmp(type, "flag.traffic_changed") == 0)
		field_change(ev, "traffic", "traffic_allocation", b);
	else if (strcmp(type, "flag.treatments_changed") == 0)
		field_change(ev, "treatments", "treatments", b);
	else
		buf_puts(b, type + 5);	/* killed, restored, deleted, updated */
}

/* ------------------------------------------------------------ events */

struct ev_filter {
	uint64_t since_seq;
	char	 since_time[32];	/* "" when not by time */
	const char *flag;
	const char *issue;
	const char *type;
	const char *project;
};

static bool
ev_has_issue(json_object *ev, const char *issue)
{
	json_object *a;
	size_t i;

	if (jstr(ev, "issue") && strcmp(jstr(ev, "issue"), issue) == 0)
		return true;
	if (!json_object_object_get_ex(ev, "issues", &a) ||
	    !json_object_is_type(a, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(
		    json_object_array_get_idx(a, i)), issue) == 0)
			return true;
	return false;
}

static bool
ev_match(const struct ev_filter *f, json_object *ev)
{
	const char *s;

	if (f->since_time[0] && ((s = jstr(ev, "time")) == NULL ||
	    strcmp(s, f->since_time) < 0))
		return false;
	if (f->flag && ((s = jstr(ev, "flag")) == NULL ||
	    strcmp(s, f->flag) != 0))
		return false;
	if (f->project && ((s = jstr(ev, "project")) == NULL ||
	    strcmp(s, f->project) != 0))
		return false;
	if (f->type && ((s = jstr(ev, "type")) == NULL ||
	    fnmatch(f->type, s, 0) != 0))
		return false;
	if (f->issue && !ev_has_issue(ev, f->issue))
		return false;
	return true;
}

/* Events kept for printing: parsed objects. */
struct ev_list {
	const struct ev_filter *f;
	json_object **v;
	size_t	 n, cap;
	size_t	 limit;		/* 0 = no limit */
	uint64_t last;		/* highest seq seen */
};

static int
ev_collect(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct ev_list *l = arg;
	json_object *o;

	if (seq > l->last)
		l->last = seq;
	/* cheap pre-filter before parsing: the flag name must appear */
	if (l->f->flag && memmem(json, len, l->f->flag,
	    strlen(l->f->flag)) == NULL)
		return 0;
	if ((o = jsonw_parse(json, len)) == NULL)
		return FS_EDAMAGED;
	if (!ev_match(l->f, o)) {
		json_object_put(o);
		return 0;
	}
	if (ARRAY_GROW(l->v, l->cap, l->n + 1) != 0) {
		json_object_put(o);
		return ENOMEM;
	}
	l->v[l->n++] = o;
	if (l->limit && l->n == l->limit)
		return -1;	/* enough: stop the walk */
	return 0;
}

static void
ev_list_release(struct ev_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		json_object_put(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* The events as JSON Lines: the `events --json` document. */
static int
ev_doc(const struct ev_list *l, bool reverse, struct buf *out)
{
	size_t i, k;
	int rc = 0;

	for (k = 0; rc == 0 && k < l->n; k++) {
		i = reverse ? l->n - 1 - k : k;
		if ((rc = buf_puts(out, json_object_to_json_string_ext(l->v[i],
		    JSON_FLAGS))) == 0)
			rc = buf_putc(out, '\n');
	}
	return rc;
}

static void
ev_table(struct ev_list *l, bool reverse, struct table *tab)
{
	struct buf words;
	size_t i, k;
	char seq[32], where[512];
	json_object *o;

	buf_init(&words, 0);
	for (k = 0; k < l->n; k++) {
		i = reverse ? l->n - 1 - k : k;
		o = l->v[i];
		event_words(o, &words);
		snprintf(seq, sizeof(seq), "%s",
		    json_object_to_json_string_ext(
		    json_object_object_get(o, "seq"), JSON_FLAGS));
		snprintf(where, sizeof(where), "%s/%s",
		    jstr(o, "project") ? jstr(o, "project") : "?",
		    jstr(o, "flag") ? jstr(o, "flag") : "?");
		table_add(tab, seq, jstr(o, "time"), jstr(o, "type"), where,
		    words.data);
	}
	buf_release(&words);
}

/* The events in l, as a document or a table (the CLI's output). */
static int
ev_print(struct query *q, struct ev_list *l, bool reverse, struct table *tab)
{
	struct buf doc;
	int rc = 0;

	if (!q->json) {
		ev_table(l, reverse, tab);
		return 0;
	}
	buf_init(&doc, 0);
	if ((rc = ev_doc(l, reverse, &doc)) == 0)
		rc = query_put_doc(q, &doc);
	buf_release(&doc);
	return rc;
}

static int
ev_since(const char *s, struct ev_filter *f)
{
	struct tm tm;
	char *end;
	const char *rest;

	if (s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789") ==
	    strlen(s)) {
		f->since_seq = strtoull(s, &end, 10);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL &&
	    (*rest == '\0' || strcmp(rest, "Z") == 0))
		;
	else if ((rest = strptime(s, "%Y-%m-%d", &tm)) != NULL &&
	    *rest == '\0')
		;
	else
		return EINVAL;
	strftime(f->since_time, sizeof(f->since_time), "%Y-%m-%dT%H:%M:%SZ",
	    &tm);
	return 0;
}

/* Reads the since and limit words of a into f and l; EINVAL with err
 * naming the word that is wrong. */
static int
ev_prepare(const struct query_events_args *a, struct ev_filter *f,
    struct ev_list *l, char *err, size_t errlen)
{
	char *end;

	memset(f, 0, sizeof(*f));
	memset(l, 0, sizeof(*l));
	f->flag = a->flag;
	f->issue = a->issue;
	f->type = a->type;
	f->project = a->project;
	l->f = f;
	if (a->since && ev_since(a->since, f) != 0) {
		snprintf(err, errlen, "since '%s' is neither a sequence number "
		    "nor a time like 2026-11-29T22:50:15Z", a->since);
		return EINVAL;
	}
	if (a->limit) {
		errno = 0;
		l->limit = strtoull(a->limit, &end, 10);
		if (*end != '\0' || l->limit == 0 || a->limit[0] == '-' ||
		    !isdigit((unsigned char)a->limit[0]) || errno != 0) {
			snprintf(err, errlen, "limit needs a positive number");
			return EINVAL;
		}
	}
	return 0;
}

/* Loads what l's filter asks for; *reverse when it came newest first. */
static int
ev_load(struct cache *c, const struct query_events_args *a,
    struct ev_list *l, bool *reverse)
{
	struct cache_txn *t;
	bool by_seq;
	int rc;

	by_seq = a->since != NULL || l->limit == 0;
	*reverse = !by_seq;
	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	if (by_seq)
		rc = cache_event_foreach(t, l->f->since_seq, ev_collect, l);
	else
		rc = cache_event_foreach_reverse(t, ev_collect, l);
	if (rc == -1)
		rc = 0;
	/* --follow after a limited listing resumes from the newest */
	if (rc == 0 && (!by_seq || l->limit))
		rc = cache_event_last(t, &l->last);
	cache_read_end(t);
	return rc;
}

int
query_doc_events(struct cache *c, const struct query_events_args *a,
    struct buf *out, uint64_t *last, char *err, size_t errlen)
{
	struct ev_filter f;
	struct ev_list l;
	bool reverse;
	int rc;

	if ((rc = ev_prepare(a, &f, &l, err, errlen)) != 0)
		return rc;
	if ((rc = ev_load(c, a, &l, &reverse)) == 0)
		rc = ev_doc(&l, reverse, out);
	if (last)
		*last = l.last;
	ev_list_release(&l);
	return rc;
}

/* Prints new events until *stop; table rows go straight out. */
static int
ev_follow(struct query *q, struct ev_list *l)
{
	struct cache_txn *t;
	struct table *tab = NULL;
	int rc = 0;

	l->limit = 0;
	while (!*q->stop) {
		usleep(200 * 1000);
		if ((rc = cache_read_begin(q->c, &t)) != 0)
			break;
		rc = cache_event_foreach(t, l->last, ev_collect, l);
		cache_read_end(t);
		if (rc != 0)
			break;
		if (l->n == 0)
			continue;
		if (!q->json && (tab = table_new(5, "SEQ", "TIME", "TYPE",
		    "FLAG", "CHANGE")) == NULL)
			return ENOMEM;
		rc = ev_print(q, l, false, tab);
		if (tab) {
			/* skip the header: it was printed once already */
			table_print(tab, q->out);
			table_free(tab);
			tab = NULL;
		}
		fflush(q->out);
		ev_list_release(l);
		if (rc != 0)
			break;
	}
	return rc;
}

int
query_events(struct query *q, int argc, char **argv)
{
	struct query_events_args a;
	struct ev_filter f;
	struct ev_list l;
	struct table *tab = NULL;
	int follow = 0, rc;
	struct arg_opt opts[] = {
		{ "--since", 1, &a.since, NULL },
		{ "--flag", 1, &a.flag, NULL },
		{ "--issue", 1, &a.issue, NULL },
		{ "--type", 1, &a.type, NULL },
		{ "--project", 1, &a.project, NULL },
		{ "--limit", 1, &a.limit, NULL },
		{ "--follow", 0, NULL, &follow },
		{ NULL, 0, NULL, NULL },
	};
	struct buf doc;
	char *pos[1], err[256];
	size_t npos;
	bool reverse;

	memset(&a, 0, sizeof(a));
	if ((rc = args_parse("events", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (ev_prepare(&a, &f, &l, err, sizeof(err)) != 0) {
		fprintf(stderr, "flagsync events: --%s\n", err);
		return EXIT_USAGE;
	}
	if (q->json) {
		/* the very document GET /v1/events answers with */
		buf_init(&doc, 0);
		if ((rc = query_doc_events(q->c, &a, &doc, &l.last, err,
		    sizeof(err))) == 0)
			rc = query_put_doc(q, &doc);
		buf_release(&doc);
	} else if ((rc = ev_load(q->c, &a, &l, &reverse)) == 0) {
		if ((tab = table_new(5, "SEQ", "TIME", "TYPE", "FLAG",
		    "CHANGE")) == NULL)
			rc = ENOMEM;
		else {
			ev_table(&l, reverse, tab);
			table_print(tab, q->out);
			table_free(tab);
		}
	}
	fflush(q->out);
	ev_list_release(&l);
	if (rc == 0 && follow)
		rc = ev_follow(q, &l);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	ev_list_release(&l);
	fprintf(stderr, "flagsync events: %s\n", fs_strerror(rc));
	return EXIT_RUNTIME;
}

/* ------------------------------------------------------------ flag */

/*
 * Finds the project that holds flag name (only project, when given).
 * Returns 0, FS_ENOTFOUND, or EINVAL when several projects hold it and
 * none was named; err then says so.
 */
static int
flag_find(const struct config *cfg, struct cache_txn *t, const char *name,
    const char *project, const char **found, char *err, size_t errlen)
{
	const void *rec;
	size_t i, len, n = 0;

	*found = NULL;
	for (i = 0; i < cfg->nprojects; i++) {
		const char *p = cfg->projects[i].name;

		if (project && strcmp(project, p) != 0)
			continue;
		if (cache_flag_get(t, p, name, &rec, &len) != 0)
			continue;
		if (n++ == 0)
			*found = p;
	}
	if (n > 1) {
		snprintf(err, errlen, "'%s' exists in %zu projects; say which "
		    "with --project", name, n);
		return EINVAL;
	}
	if (n == 0) {
		snprintf(err, errlen, "no flag '%s'%s%s", name,
		    project ? " in project " : "", project ? project : "");
		return FS_ENOTFOUND;
	}
	return 0;
}

/* Loads the flag and its FLAG_EVENTS most recent events (newest first). */
static int
flag_load(struct cache_txn *t, const char *project, const char *name,
    struct ev_filter *f, struct ev_list *l, struct loaded *ld)
{
	const void *rec;
	size_t len;
	int rc;

	memset(f, 0, sizeof(*f));
	f->flag = name;
	f->project = project;
	memset(l, 0, sizeof(*l));
	l->f = f;
	l->limit = FLAG_EVENTS;
	view_init(&ld->v);
	ld->issues = NULL;
	if ((rc = cache_flag_get(t, project, name, &rec, &len)) != 0)
		return rc;
	if ((rc = load_flag(t, project, name, rec, len, ld)) != 0)
		return rc;
	rc = cache_event_foreach_reverse(t, ev_collect, l);
	return rc == -1 ? 0 : rc;
}

/* The flag view with "events" (oldest first): the `flag --json` document. */
static int
flag_doc(struct cache_txn *t, const struct loaded *ld,
    const struct ev_list *l, struct buf *out)
{
	json_object *o, *arr, *st;
	size_t i;
	int rc;

	if ((o = loaded_json(ld)) == NULL)
		return ENOMEM;
	if ((arr = json_object_new_array()) == NULL ||
	    (st = json_object_new_object()) == NULL) {
		json_object_put(arr);
		json_object_put(o);
		return ENOMEM;
	}
	for (i = l->n; i > 0; i--)
		json_object_array_add(arr, json_object_get(l->v[i - 1]));
	json_object_object_add(o, "events", arr);
	/* each linked issue's Jira status, or null: the view's "issues"
	 * stays the list of keys every other document has */
	for (i = 0; i < ld->nissues; i++)
		json_object_object_add(st, ld->issues[i],
		    istatus_json(t, ld->issues[i]));
	json_object_object_add(o, "issue_status", st);
	if ((rc = buf_puts(out, json_object_to_json_string_ext(o,
	    JSON_FLAGS))) == 0)
		rc = buf_putc(out, '\n');
	json_object_put(o);
	return rc;
}

int
query_doc_flag(const struct config *cfg, struct cache *c, const char *name,
    const char *project, struct buf *out, char *err, size_t errlen)
{
	struct ev_filter f;
	struct ev_list l;
	struct loaded ld;
	struct cache_txn *t;
	const char *found;
	int rc;

	if (errlen)
		err[0] = '\0';
	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	if ((rc = flag_find(cfg, t, name, project, &found, err, errlen)) != 0)
		goto txn_end;
	if ((rc = flag_load(t, found, name, &f, &l, &ld)) == 0)
		rc = flag_doc(t, &ld, &l, out);
	ev_list_release(&l);
	loaded_release(&ld);
txn_end:
	cache_read_end(t);
	return rc;
}

/* " Done (done since T)" after an issue of `flag`, when it was read. */
static void
flag_print_istatus(struct query *q, struct cache_txn *t, const char *key,
    struct buf *b)
{
	struct issue_status *st;

	if ((st = malloc(sizeof(*st))) == NULL)
		return;
	if (issuestatus_get(t, key, st) == 0) {
		buf_reset(b);
		istatus_words(st, b);
		fputs(" ", q->out);
		put_vis(q->out, buf_str(b));
	}
	free(st);
}

static void
flag_print_text(struct query *q, struct cache_txn *t, const char *project,
    const struct loaded *l)
{
	const struct flag_view *v = &l->v;
	struct buf b;
	uint32_t mask;
	char tbuf[32], src[128];
	const char *names[LINK_SRC_COUNT + 1];
	size_t i, j, n;

	buf_init(&b, 0);
	view_rollout_words(v, &b);
	put_vis(q->out, v->flag);
	fputs(" (project ", q->out);
	put_vis(q->out, project);
	fputs(", environment ", q->out);
	put_vis(q->out, v->environment ? v->environment : "-");
	fputs(")\n", q->out);
	fprintf(q->out, "  state        %s\n", state_word(v));
	if (v->defined) {
		view_format_time(v->last_updated, tbuf);
		fputs("  rollout      ", q->out);
		put_vis(q->out, buf_str(&b));
		fputs("\n  default      ", q->out);
		put_vis(q->out, v->default_treatment ? v->default_treatment :
		    "-");
		fprintf(q->out, "\n  traffic      %d%%\n", v->traffic_allocation);
		fprintf(q->out, "  rules        %d\n", v->rules);
		fprintf(q->out, "  treatments  ");
		for (i = 0; i < v->ntreatments; i++) {
			fputc(' ', q->out);
			put_vis(q->out, v->treatments[i]);
		}
		fprintf(q->out, "\n  updated      %s\n", tbuf);
	}
	if (v->url) {
		fputs("  url          ", q->out);
		put_vis(q->out, v->url);
		fputc('\n', q->out);
	}
	if (v->ntags) {
		fprintf(q->out, "  tags        ");
		for (i = 0; i < v->ntags; i++) {
			fputc(' ', q->out);
			put_vis(q->out, v->tags[i]);
		}
		fputc('\n', q->out);
	}
	if (v->description && v->description[0]) {
		fputs("  description  ", q->out);
		put_vis(q->out, v->description);
		fputc('\n', q->out);
	}
	for (i = 0; i < l->nissues; i++) {
		mask = 0;
		cache_link_get(t, project, v->flag, l->issues[i], &mask);
		n = commit_mask_sources(mask, names);
		src[0] = '\0';
		for (j = 0; j < n; j++) {
			if (j)
				strncat(src, ", ", sizeof(src) - strlen(src) - 1);
			strncat(src, names[j], sizeof(src) - strlen(src) - 1);
		}
		fprintf(q->out, "  %-12s ", i ? "" : "issues");
		put_vis(q->out, l->issues[i]);
		fprintf(q->out, " (%s)", src);
		flag_print_istatus(q, t, l->issues[i], &b);
		fputc('\n', q->out);
	}
	buf_release(&b);
}

int
query_flag(struct query *q, int argc, char **argv)
{
	const char *project = NULL, *found;
	struct arg_opt opts[] = {
		{ "--project", 1, &project, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct ev_filter f;
	struct ev_list l;
	struct loaded ld;
	struct cache_txn *t;
	struct table *tab = NULL;
	struct buf doc;
	char *pos[1], err[512];
	size_t npos;
	int rc, status = 0;

	if ((rc = args_parse("flag", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos != 1) {
		fprintf(stderr, "usage: flagsync flag NAME [--project P]\n");
		return EXIT_USAGE;
	}
	err[0] = '\0';
	if (q->json) {
		/* the very document GET /v1/flags/PROJECT/FLAG answers with */
		buf_init(&doc, 0);
		if ((rc = query_doc_flag(q->cfg, q->c, pos[0], project, &doc,
		    err, sizeof(err))) == 0)
			rc = query_put_doc(q, &doc);
		buf_release(&doc);
		goto done;
	}
	if ((rc = cache_read_begin(q->c, &t)) != 0)
		goto done;
	if ((rc = flag_find(q->cfg, t, pos[0], project, &found, err,
	    sizeof(err))) != 0)
		goto txn_end;
	if ((rc = flag_load(t, found, pos[0], &f, &l, &ld)) == 0) {
		flag_print_text(q, t, found, &ld);
		if (l.n && (tab = table_new(5, "SEQ", "TIME", "TYPE", "FLAG",
		    "CHANGE")) != NULL) {
			fprintf(q->out, "recent events\n");
			ev_table(&l, true, tab);
			table_print(tab, q->out);
			table_free(tab);
		}
	}
	ev_list_release(&l);
	loaded_release(&ld);
txn_end:
	cache_read_end(t);
done:
	if (rc != 0) {
		fprintf(stderr, "flagsync flag: %s\n", err[0] ? err :
		    fs_strerror(rc));
		status = rc == EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	return status;
}

/* ------------------------------------------------------------ issue */

struct issue_walk {
	struct cache_txn *t;
	struct loaded *v;
	size_t	 n, cap;
	int	 rc;
};

static int
issue_cb(void *arg, const char *project, const char *flag, const char *issue,
    uint32_t mask)
{
	struct issue_walk *w = arg;
	const void *rec;
	size_t len;
	int rc;

	(void)issue;
	(void)mask;
	/* a link may name a flag Split does not have (yet) */
	if (cache_flag_get(w->t, project, flag, &rec, &len) != 0)
		return 0;
	if ((rc = ARRAY_GROW(w->v, w->cap, w->n + 1)) != 0)
		return rc;
	if ((rc = load_flag(w->t, project, flag, rec, len, &w->v[w->n])) != 0) {
		loaded_release(&w->v[w->n]);
		return rc;
	}
	w->n++;
	return 0;
}

/* What Jira shows: active flags first, then the most recently saved. */
static int
issue_order(const void *a, const void *b)
{
	const struct flag_view *x = &((const struct loaded *)a)->v;
	const struct flag_view *y = &((const struct loaded *)b)->v;
	int r;

	if (view_is_active(x) != view_is_active(y))
		return view_is_active(x) ? -1 : 1;
	if (x->last_updated != y->last_updated)
		return x->last_updated > y->last_updated ? -1 : 1;
	if ((r = strcmp(x->project, y->project)) != 0)
		return r;
	return strcmp(x->flag, y->flag);
}

/* The `issue --json` document: what Jira shows for the issue. */
static json_object *
issue_doc(const char *key, const struct issue_walk *w, size_t active)
{
	json_object *o, *arr;
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "issue", json_object_new_string(key));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)w->n));
	json_object_object_add(o, "active",
	    json_object_new_int64((int64_t)active));
	arr = json_object_new_array();
	for (i = 0; i < w->n; i++)
		json_object_array_add(arr, loaded_json(&w->v[i]));
	json_object_object_add(o, "flags", arr);
	/* after the members flagsync(8) lists: its Jira status, or null */
	json_object_object_add(o, "status", istatus_json(w->t, key));
	return o;
}

/* Loads the flags linked to key, in Jira's order; returns the active count. */
static int
issue_collect(struct issue_walk *w, const char *key, size_t *active)
{
	size_t i;
	int rc;

	*active = 0;
	if ((rc = cache_link_foreach_issue(w->t, key, issue_cb, w)) != 0)
		return rc;
	/* qsort(NULL, 0, ...) is undefined: an issue nothing links to */
	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), issue_order);
	for (i = 0; i < w->n; i++)
		*active += view_is_active(&w->v[i].v);
	return 0;
}

static void
issue_walk_release(struct issue_walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		loaded_release(&w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
}

int
query_issue_json(struct cache_txn *t, const char *issue, json_object **out)
{
	struct issue_walk w;
	size_t active;
	int rc;

	memset(&w, 0, sizeof(w));
	w.t = t;
	*out = NULL;
	if ((rc = issue_collect(&w, issue, &active)) == 0 &&
	    (*out = issue_doc(issue, &w, active)) == NULL)
		rc = ENOMEM;
	issue_walk_release(&w);
	return rc;
}

int
query_flag_json(struct cache_txn *t, const char *project, const char *flag,
    json_object **out)
{
	struct loaded l;
	const void *rec;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = cache_flag_get(t, project, flag, &rec, &len)) != 0)
		return rc;
	if ((rc = load_flag(t, project, flag, rec, len, &l)) == 0 &&
	    (*out = loaded_json(&l)) == NULL)
		rc = ENOMEM;
	loaded_release(&l);
	return rc;
}

/* The issue's Jira status and summary, when a cycle read them. */
static void
issue_print_istatus(struct query *q, struct cache_txn *t, const char *key)
{
	struct issue_status *st;
	struct buf b;

	if ((st = malloc(sizeof(*st))) == NULL)
		return;
	buf_init(&b, 0);
	if (issuestatus_get(t, key, st) == 0) {
		istatus_words(st, &b);
		fputs("  status   ", q->out);
		put_vis(q->out, buf_str(&b));
		if (st->summary[0]) {
			fputs("\n  summary  ", q->out);
			put_vis(q->out, st->summary);
		}
		fputc('\n', q->out);
	} else if (q->cfg != NULL && q->cfg->jira_url != NULL)
		fputs("  status   not read from Jira yet\n", q->out);
	buf_release(&b);
	free(st);
}

static void
issue_print(struct query *q, const char *key, struct issue_walk *w,
    size_t active)
{
	struct table *tab;
	struct buf roll;
	char tbuf[32];
	size_t i;

	put_vis(q->out, key);
	fprintf(q->out, ": %zu flag%s, %zu active\n", w->n,
	    w->n == 1 ? "" : "s", active);
	issue_print_istatus(q, w->t, key);
	if (w->n == 0 || (tab = table_new(6, "PROJECT", "FLAG", "STATE",
	    "ENVIRONMENT", "ROLLOUT", "LAST UPDATED")) == NULL)
		return;
	buf_init(&roll, 0);
	for (i = 0; i < w->n; i++) {
		const struct flag_view *v = &w->v[i].v;

		buf_reset(&roll);
		view_rollout_words(v, &roll);
		if (v->defined)
			view_format_time(v->last_updated, tbuf);
		table_add(tab, v->project, v->flag, state_word(v),
		    v->environment, roll.len ? roll.data : NULL,
		    v->defined ? tbuf : NULL);
	}
	table_print(tab, q->out);
	table_free(tab);
	buf_release(&roll);
}

/* The `issue --json` document, serialised. */
static int
issue_doc_put(const char *key, const struct issue_walk *w, size_t active,
    struct buf *out)
{
	json_object *o;
	int rc;

	if ((o = issue_doc(key, w, active)) == NULL)
		return ENOMEM;
	if ((rc = buf_puts(out, json_object_to_json_string_ext(o,
	    JSON_FLAGS))) == 0)
		rc = buf_putc(out, '\n');
	json_object_put(o);
	return rc;
}

int
query_doc_issue(struct cache *c, const char *key, struct buf *out,
    size_t *count)
{
	struct issue_walk w;
	size_t active;
	int rc;

	memset(&w, 0, sizeof(w));
	*count = 0;
	if ((rc = cache_read_begin(c, &w.t)) != 0)
		return rc;
	if ((rc = issue_collect(&w, key, &active)) == 0)
		rc = issue_doc_put(key, &w, active, out);
	*count = w.n;
	cache_read_end(w.t);
	issue_walk_release(&w);
	return rc;
}

int
query_issue(struct query *q, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	struct issue_walk w;
	struct buf doc;
	char *pos[1];
	size_t npos, active = 0, n = 0;
	int rc;

	if ((rc = args_parse("issue", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos != 1) {
		fprintf(stderr, "usage: flagsync issue KEY\n");
		return EXIT_USAGE;
	}
	if (q->json) {
		/* the very document GET /v1/issues/KEY answers with */
		buf_init(&doc, 0);
		if ((rc = query_doc_issue(q->c, pos[0], &doc, &n)) == 0)
			rc = query_put_doc(q, &doc);
		buf_release(&doc);
	} else {
		memset(&w, 0, sizeof(w));
		if ((rc = cache_read_begin(q->c, &w.t)) == 0) {
			if ((rc = issue_collect(&w, pos[0], &active)) == 0)
				issue_print(q, pos[0], &w, active);
			n = w.n;
			cache_read_end(w.t);
		}
		issue_walk_release(&w);
	}
	if (rc != 0) {
		fprintf(stderr, "flagsync issue: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	if (n == 0) {
		fprintf(stderr, "flagsync issue: no flags are linked to %s\n",
		    pos[0]);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* ------------------------------------------------------------ plugins */

struct backlog {
	const char *events;
	uint64_t n;
};

/* An event's type, read without parsing the event: "type" is the third
 * key of every event.  0, or -1 when it cannot be read. */
static int
event_type(const char *json, size_t len, char *type, size_t size)
{
	const char *p, *end;
	size_t n;

	p = memmem(json, len < 128 ? len : 128, "\"type\":\"", 8);
	if (p == NULL)
		return -1;
	p += 8;
	end = memchr(p, '"', (size_t)(json + len - p));
	if (end == NULL || (n = (size_t)(end - p)) >= size)
		return -1;
	memcpy(type, p, n);
	type[n] = '\0';
	return 0;
}

static int
backlog_cb(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct backlog *b = arg;
	char type[64];

	(void)seq;
	if (event_type(json, len, type, sizeof(type)) == 0 &&
	    deliver_selects(b->events, type))
		b->n++;
	return 0;
}

/*
 * The state to show: what the instance's status record says while the
 * agent that wrote it runs, "idle" once it is gone (a refusal stays: it
 * is the configuration's, not the process's).
 */
static json_object *
plugin_state(json_object *st)
{
	json_object *v, *pid;
	const char *state;
	int64_t p;

	if (st == NULL || !json_object_object_get_ex(st, "state", &v))
		return json_object_new_string("idle");
	state = json_object_get_string(v);
	if (strcmp(state, "refused") == 0)
		return json_object_get(v);
	if (!json_object_object_get_ex(st, "agent_pid", &pid) ||
	    (p = json_object_get_int64(pid)) <= 0 ||
	    (kill((pid_t)p, 0) == -1 && errno == ESRCH))
		return json_object_new_string("idle");
	return json_object_get(v);
}

/* One instance's row: everything `plugins` shows, as JSON. */
static json_object *
plugin_row(struct cache_txn *t, const struct config_plugin *pc)
{
	struct backlog b = { pc->events, 0 };
	json_object *o, *st = NULL, *v;
	uint64_t cursor = 0, dead = 0;
	const char *js;
	char source[256];
	size_t len;

	snprintf(source, sizeof(source), "plugin:%s", pc->name);
	/* t is NULL before the first sync: nothing delivered, nothing due */
	if (t && cache_status_get(t, source, &js, &len) == 0)
		st = jsonw_parse(js, len);
	if (t && cache_cursor_get(t, pc->name, &cursor) != 0)
		cursor = 0;
	if (t)
		cache_event_foreach(t, cursor, backlog_cb, &b);
	if (t)
		cache_dead_count(t, pc->name, &dead);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(pc->name));
	json_object_object_add(o, "module", json_object_new_string(pc->module));
	json_object_object_add(o, "abi", st && json_object_object_get_ex(st,
	    "abi", &v) ? json_object_get(v) : NULL);
	json_object_object_add(o, "version", st &&
	    json_object_object_get_ex(st, "version", &v) ?
	    json_object_get(v) : NULL);
	json_object_object_add(o, "state", plugin_state(st));
	json_object_object_add(o, "cursor",
	    json_object_new_int64((int64_t)cursor));
	json_object_object_add(o, "backlog", json_object_new_int64((int64_t)b.n));
	json_object_object_add(o, "dead_letters",
	    json_object_new_int64((int64_t)dead));
	json_object_object_add(o, "restarts", json_object_new_int64(st &&
	    json_object_object_get_ex(st, "restarts", &v) ?
	    json_object_get_int64(v) : 0));
	json_object_object_add(o, "last_error", st &&
	    json_object_object_get_ex(st, "error", &v) ? json_object_get(v) :
	    NULL);
	json_object_put(st);
	return o;
}

static void
plugins_print_text(struct query *q, json_object *arr)
{
	struct table *tab;
	json_object *o;
	char cursor[32], backlog[32], dead[32], restarts[32];
	size_t i;

	tab = table_new(10, "NAME", "MODULE", "VERSION", "ABI", "STATE",
	    "RESTARTS", "CURSOR", "BACKLOG", "DEAD", "LAST ERROR");
	if (tab == NULL)
		return;
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		snprintf(cursor, sizeof(cursor), "%lld", (long long)
		    json_object_get_int64(json_object_object_get(o, "cursor")));
		snprintf(backlog, sizeof(backlog), "%lld", (long long)
		    json_object_get_int64(json_object_object_get(o, "backlog")));
		snprintf(dead, sizeof(dead), "%lld", (long long)
		    json_object_get_int64(json_object_object_get(o,
		    "dead_letters")));
		snprintf(restarts, sizeof(restarts), "%lld", (long long)
		    json_object_get_int64(json_object_object_get(o,
		    "restarts")));
		table_add(tab, jstr(o, "name"), jstr(o, "module"),
		    jstr(o, "version"), jstr(o, "abi"), jstr(o, "state"),
		    restarts, cursor, backlog, dead, jstr(o, "last_error"));
	}
	table_print(tab, q->out);
	table_free(tab);
}

/* ------------------------------------------------------------ status */

/* flagsync(8): a source is healthy while it last succeeded less than this
 * many intervals ago. */
#define STATUS_STALE_INTERVALS	3

struct counts {
	const struct config *cfg;
	struct cache_txn *t;	/* NULL before the first sync */
	int64_t	 flags, active, killed, undefined, links, issues;
	uint64_t first, last;
	json_object *sources;
	json_object *plugins;	/* the `plugins` rows: backlogs */
	json_object *stamps;	/* polls.json */
	json_object *by_type;	/* retained events by type */
	json_object *problems;	/* why it is not healthy, a line each */
	json_object *findings;	/* open by type; NULL without [findings] */
	int64_t	 now;		/* seconds since the epoch */
};

static int
count_flag(void *arg, const char *project, const char *flag, const void *rec,
    size_t len)
{
	struct counts *c = arg;
	struct flag_view v;
	int rc;

	(void)project;
	(void)flag;
	view_init(&v);
	if ((rc = view_decode(&v, rec, len)) != 0)
		rc = FS_EDAMAGED;
	else {
		c->flags++;
		c->active += view_is_active(&v);
		c->killed += v.defined && v.killed;
		c->undefined += !v.defined;
	}
	view_release(&v);
	return rc;
}

static int
count_link(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	(void)project;
	(void)flag;
	(void)issue;
	(void)mask;
	((struct counts *)arg)->links++;
	return 0;
}

static int
count_issue(void *arg, const char *issue)
{
	(void)issue;
	((struct counts *)arg)->issues++;
	return 0;
}

/*
 * How a project was polled (the change feed or the full listing), when
 * the full listing last ran and runs next, and why the feed failed: kept
 * in polls.json, outside LMDB, so a quiet feed cycle writes nothing.
 */
static void
status_feed_fields(json_object *o, json_object *stamp)
{
	static const char *const keys[] = {
		"mode", "full_time", "next_full", "feed_error", NULL
	};
	json_object *v;
	size_t i;

	for (i = 0; stamp != NULL && keys[i] != NULL; i++)
		if (json_object_object_get_ex(stamp, keys[i], &v))
			json_object_object_add(o, keys[i], json_object_get(v));
}

static int
count_type(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct counts *c = arg;
	json_object *v;
	char type[64];

	(void)seq;
	if (event_type(json, len, type, sizeof(type)) != 0)
		return 0;
	if (json_object_object_get_ex(c->by_type, type, &v))
		return json_object_set_int64(v, json_object_get_int64(v) + 1) ?
		    0 : ENOMEM;
	if ((v = json_object_new_int64(1)) == NULL)
		return ENOMEM;
	return json_object_object_add(c->by_type, type, v) == 0 ? 0 : ENOMEM;
}

/*
 * What polls.json says of source: "last_poll", "last_ok" (when it last
 * succeeded; a polls.json written before "last_ok" existed still tells
 * it of a source whose last poll succeeded) and "duration" (seconds).
 */
static void
status_stamp(const struct counts *c, const char *source, json_object *o)
{
	json_object *stamp = NULL, *t = NULL, *last = NULL, *dur = NULL, *ok;

	if (c->stamps)
		json_object_object_get_ex(c->stamps, source, &stamp);
	if (stamp) {
		json_object_object_get_ex(stamp, "time", &t);
		json_object_object_get_ex(stamp, "duration", &dur);
		if (!json_object_object_get_ex(stamp, "last_ok", &last) &&
		    json_object_object_get_ex(stamp, "ok", &ok) &&
		    json_object_get_boolean(ok))
			last = t;
	}
	json_object_object_add(o, "last_poll", json_object_get(t));
	json_object_object_add(o, "last_ok", json_object_get(last));
	json_object_object_add(o, "duration", json_object_get(dur));
}

static int
status_source(void *arg, const char *source, const char *json, size_t len)
{
	struct counts *c = arg;
	json_object *o, *rec;

	if ((rec = jsonw_parse(json, len)) == NULL)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_foreach(rec, key, val)
		json_object_object_add(o, key, json_object_get(val));
	json_object_put(rec);
	status_stamp(c, source, o);
	status_feed_fields(o, c->stamps ? json_object_object_get(c->stamps,
	    source) : NULL);
	json_object_array_add(c->sources, o);
	return 0;
}

/* The row of a configured source that has no status record yet. */
static json_object *
status_never_polled(const struct counts *c, const char *source)
{
	json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "ok", NULL);
	json_object_object_add(o, "never_polled",
	    json_object_new_boolean(1));
	json_object_object_add(o, "error", NULL);
	json_object_object_add(o, "since", NULL);
	status_stamp(c, source, o);
	return o;
}

static json_object *
status_row(const struct counts *c, const char *source)
{
	json_object *o;
	size_t i;

	for (i = 0; i < json_object_array_length(c->sources); i++) {
		o = json_object_array_get_idx(c->sources, i);
		if (jstr(o, "source") && strcmp(jstr(o, "source"), source) == 0)
			return o;
	}
	return NULL;
}

/* An RFC 3339 UTC time as written by view_format_time(); -1 if not one. */
static int64_t
status_time(const char *s)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) ==
	    NULL || strcmp(rest, "Z") != 0)
		return -1;
	return (int64_t)timegm(&tm);
}

static void __attribute__((format(printf, 2, 3)))
status_problem(struct counts *c, const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_object_array_add(c->problems, json_object_new_string(line));
}

/*
 * Whether one configured source is healthy (flagsync(8)): it succeeded less
 * than STATUS_STALE_INTERVALS x interval ago.  Marks its row, adding a
 * "never polled" row when it has none, and names what is wrong.
 */
static void
status_source_health(struct counts *c, const char *source)
{
	json_object *o;
	int64_t last, limit;
	int healthy;

	limit = (int64_t)STATUS_STALE_INTERVALS * c->cfg->interval;
	if ((o = status_row(c, source)) == NULL) {
		if ((o = status_never_polled(c, source)) == NULL)
			return;
		json_object_array_add(c->sources, o);
	}
	last = status_time(jstr(o, "last_ok"));
	healthy = last >= 0 && c->now - last < limit;
	json_object_object_add(o, "healthy", json_object_new_boolean(healthy));
	if (healthy)
		return;
	if (json_object_object_get_ex(o, "never_polled", NULL))
		status_problem(c, "%s: never polled", source);
	else if (last < 0)
		status_problem(c, "%s: never succeeded", source);
	else
		status_problem(c, "%s: last succeeded %lld s ago (more than "
		    "%d x interval = %lld s)", source,
		    (long long)(c->now - last), STATUS_STALE_INTERVALS,
		    (long long)limit);
}

/* Every configured source, then every output, judged (flagsync(8)). */
static void
status_health(struct counts *c)
{
	const struct source *const *src;
	json_object *o;
	const char *state;
	char name[FS_PROJECT_MAX + 16];
	size_t i;

	for (i = 0; i < c->cfg->nprojects; i++) {
		snprintf(name, sizeof(name), "split:%s",
		    c->cfg->projects[i].name);
		status_source_health(c, name);
	}
	for (src = sources; *src; src++)
		if ((*src)->enabled(c->cfg))
			status_source_health(c, (*src)->status_name);
	if (issuestatus_enabled(c->cfg))
		status_source_health(c, ISSUESTATUS_SOURCE);
	for (i = 0; i < json_object_array_length(c->plugins); i++) {
		o = json_object_array_get_idx(c->plugins, i);
		state = jstr(o, "state");
		if (state && (strcmp(state, "stuck") == 0 ||
		    strcmp(state, "crashed") == 0))
			status_problem(c, "output %s: %s", jstr(o, "name"),
			    state);
	}
}

static void
counts_release(struct counts *c)
{
	json_object_put(c->sources);
	json_object_put(c->plugins);
	json_object_put(c->stamps);
	json_object_put(c->by_type);
	json_object_put(c->problems);
	json_object_put(c->findings);
	memset(c, 0, sizeof(*c));
}

static int
status_read_cache(struct counts *c)
{
	int rc;

	rc = cache_status_foreach(c->t, status_source, c);
	if (rc == 0)
		rc = cache_flag_foreach(c->t, NULL, count_flag, c);
	if (rc == 0)
		rc = cache_link_foreach(c->t, NULL, count_link, c);
	if (rc == 0)
		rc = cache_issue_foreach(c->t, count_issue, c);
	if (rc == 0)
		rc = cache_event_first(c->t, &c->first);
	if (rc == 0)
		rc = cache_event_last(c->t, &c->last);
	if (rc == 0)
		rc = cache_event_foreach(c->t, 0, count_type, c);
	return rc;
}

/* Everything `status` shows; cache is NULL before the first sync. */
static int
status_gather(const struct config *cfg, struct cache *cache, struct counts *c)
{
	char *stamps;
	size_t i;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->now = clock_now_ms() / 1000;
	c->sources = json_object_new_array();
	c->plugins = json_object_new_array();
	c->by_type = json_object_new_object();
	c->problems = json_object_new_array();
	if (!c->sources || !c->plugins || !c->by_type || !c->problems) {
		counts_release(c);
		return ENOMEM;
	}
	if ((stamps = poll_read_stamps(cfg->state_dir)) != NULL)
		c->stamps = json_tokener_parse(stamps);
	free(stamps);
	if (cache != NULL && (rc = cache_read_begin(cache, &c->t)) == 0) {
		rc = status_read_cache(c);
		if (rc == 0 && cfg->findings)
			rc = findq_open_counts(c->t, &c->findings);
		for (i = 0; rc == 0 && i < cfg->nplugins; i++)
			json_object_array_add(c->plugins, plugin_row(c->t,
			    &cfg->plugins[i]));
		cache_read_end(c->t);
		c->t = NULL;
	} else if (cache == NULL)
		for (i = 0; i < cfg->nplugins; i++)
			json_object_array_add(c->plugins, plugin_row(NULL,
			    &cfg->plugins[i]));
	if (rc != 0) {
		counts_release(c);
		return rc;
	}
	status_health(c);
	return 0;
}

static json_object *
status_object(const struct counts *c)
{
	json_object *o, *v;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "state_dir",
	    json_object_new_string(c->cfg->state_dir));
	json_object_object_add(o, "healthy", json_object_new_boolean(
	    json_object_array_length(c->problems) == 0));
	json_object_object_add(o, "problems", json_object_get(c->problems));
	json_object_object_add(o, "interval",
	    json_object_new_int(c->cfg->interval));
	json_object_object_add(o, "sources", json_object_get(c->sources));
	v = json_object_new_object();
	json_object_object_add(v, "total", json_object_new_int64(c->flags));
	json_object_object_add(v, "active", json_object_new_int64(c->active));
	json_object_object_add(v, "killed", json_object_new_int64(c->killed));
	json_object_object_add(v, "undefined",
	    json_object_new_int64(c->undefined));
	json_object_object_add(o, "flags", v);
	json_object_object_add(o, "links", json_object_new_int64(c->links));
	json_object_object_add(o, "issues", json_object_new_int64(c->issues));
	v = json_object_new_object();
	json_object_object_add(v, "first",
	    json_object_new_int64((int64_t)c->first));
	json_object_object_add(v, "last",
	    json_object_new_int64((int64_t)c->last));
	json_object_object_add(v, "by_type", json_object_get(c->by_type));
	json_object_object_add(o, "events", v);
	json_object_object_add(o, "plugins", json_object_get(c->plugins));
	if (c->findings != NULL)
		json_object_object_add(o, "findings_open",
		    json_object_get(c->findings));
	return o;
}

int
query_status_json(const struct config *cfg, struct cache *cache,
    json_object **out)
{
	struct counts c;
	int rc;

	*out = NULL;
	if ((rc = status_gather(cfg, cache, &c)) != 0)
		return rc;
	if ((*out = status_object(&c)) == NULL)
		rc = ENOMEM;
	counts_release(&c);
	return rc;
}

int
query_doc_status(const struct config *cfg, struct cache *cache,
    struct buf *out)
{
	json_object *o;
	int rc;

	if ((rc = query_status_json(cfg, cache, &o)) != 0)
		return rc;
	if ((rc = buf_puts(out, json_object_to_json_string_ext(o,
	    JSON_FLAGS))) == 0)
		rc = buf_putc(out, '\n');
	json_object_put(o);
	return rc;
}

/* Skipped items, after the counts in DETAIL (a held deletion is the
 * source's error already). */
static void
status_detail_more(json_object *o, struct buf *detail)
{
	json_object *v;

	if (json_object_object_get_ex(o, "skipped_count", &v))
		buf_printf(detail, "; %lld skipped",
		    (long long)json_object_get_int64(v));
	if (jstr(o, "next_full") && json_object_object_get_ex(o,
	    "change_number", &v))
		buf_printf(detail, "; %s, change number %lld, full listing "
		    "%s, next %s", jstr(o, "mode") ? jstr(o, "mode") : "?",
		    (long long)json_object_get_int64(v),
		    jstr(o, "full_time") ? jstr(o, "full_time") : "never",
		    jstr(o, "next_full"));
	if (jstr(o, "feed_error"))
		buf_printf(detail, "; change feed failed: %s",
		    jstr(o, "feed_error"));
}

/*
 * Every skipped item the status records keep, one row each: the names
 * come from Split or Jira, so they go through the table's escaping.
 */
static void
status_print_skipped(struct query *q, struct counts *c)
{
	struct table *tab;
	json_object *o, *list, *item;
	size_t i, j, n = 0;

	if ((tab = table_new(3, "SOURCE", "SKIPPED", "WHY")) == NULL)
		return;
	for (i = 0; i < json_object_array_length(c->sources); i++) {
		o = json_object_array_get_idx(c->sources, i);
		if (!json_object_object_get_ex(o, "skipped", &list) ||
		    !json_object_is_type(list, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(list); j++) {
			item = json_object_array_get_idx(list, j);
			table_add(tab, jstr(o, "source"), jstr(item, "item"),
			    jstr(item, "why"));
			n++;
		}
	}
	if (n > 0) {
		fputc('\n', q->out);
		table_print(tab, q->out);
	}
	table_free(tab);
}

static const char *
status_state_word(json_object *o)
{
	json_object *v;

	if (json_object_object_get_ex(o, "never_polled", NULL))
		return "never polled";
	json_object_object_get_ex(o, "ok", &v);
	return json_object_get_boolean(v) ? "ok" : "FAILED";
}

static void
status_print_health(struct query *q, struct counts *c)
{
	size_t i, n = json_object_array_length(c->problems);

	fprintf(q->out, "healthy %s\n", n == 0 ? "yes" : "no");
	for (i = 0; i < n; i++) {
		fputs("        ", q->out);
		put_vis(q->out, json_object_get_string(
		    json_object_array_get_idx(c->problems, i)));
		fputc('\n', q->out);
	}
}

static void
status_print_text(struct query *q, struct counts *c)
{
	struct table *tab;
	json_object *o, *v;
	struct buf detail;
	size_t i;

	tab = table_new(5, "SOURCE", "STATE", "SINCE", "LAST POLL", "DETAIL");
	if (tab == NULL)
		return;
	buf_init(&detail, 0);
	for (i = 0; i < json_object_array_length(c->sources); i++) {
		o = json_object_array_get_idx(c->sources, i);
		buf_reset(&detail);
		if (jstr(o, "error"))
			buf_puts(&detail, jstr(o, "error"));
		else if (json_object_object_get_ex(o, "flags", &v))
			buf_printf(&detail, "%d flags, %d defined",
			    json_object_get_int(v), json_object_get_int(
			    json_object_object_get(o, "defined")));
		else if (json_object_object_get_ex(o, "links", &v))
			buf_printf(&detail, "%d links", json_object_get_int(v));
		else if (json_object_object_get_ex(o, "issues", &v))
			buf_printf(&detail, "%d issues, %d missing",
			    json_object_get_int(v), json_object_get_int(
			    json_object_object_get(o, "missing")));
		/* names a jira-field issue lists that match no flag */
		if (!jstr(o, "error") &&
		    json_object_object_get_ex(o, "unmatched", &v) &&
		    json_object_is_type(v, json_type_array))
			buf_printf(&detail, ", %zu unmatched",
			    json_object_array_length(v) + (size_t)
			    json_object_get_int64(json_object_object_get(o,
			    "unmatched_more")));
		status_detail_more(o, &detail);
		table_add(tab, jstr(o, "source"), status_state_word(o),
		    jstr(o, "since"), jstr(o, "last_poll"), detail.data);
	}
	table_print(tab, q->out);
	table_free(tab);
	buf_release(&detail);
	status_print_skipped(q, c);
	fprintf(q->out, "\nflags   %lld (%lld active, %lld killed, %lld not "
	    "defined)\nlinks   %lld, on %lld issues\nevents  ",
	    (long long)c->flags, (long long)c->active, (long long)c->killed,
	    (long long)c->undefined, (long long)c->links,
	    (long long)c->issues);
	if (c->last)
		fprintf(q->out, "seq %llu-%llu retained\n",
		    (unsigned long long)c->first, (unsigned long long)c->last);
	else
		fprintf(q->out, "none yet\n");
	status_print_health(q, c);
}

/* q->c is NULL before the first sync: every source is then "never polled". */
int
query_status(struct query *q, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	struct counts c;
	struct buf doc;
	char *pos[1];
	size_t npos;
	int rc;

	if ((rc = args_parse("status", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (q->json) {
		/* the very document GET /healthz answers with */
		buf_init(&doc, 0);
		if ((rc = query_doc_status(q->cfg, q->c, &doc)) == 0)
			rc = query_put_doc(q, &doc);
		buf_release(&doc);
	} else if ((rc = status_gather(q->cfg, q->c, &c)) == 0) {
		status_print_text(q, &c);
		if (json_object_array_length(c.plugins)) {
			fputc('\n', q->out);
			plugins_print_text(q, c.plugins);
		}
		counts_release(&c);
	}
	if (rc != 0) {
		fprintf(stderr, "flagsync status: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* ------------------------------------------------------------ export */

struct export_walk {
	struct query *q;
	struct cache_txn *t;
	int	 csv;
	size_t	 n;
};

/* A CSV field: text, not JSON, so escaped like a table cell first. */
void
query_csv_field(FILE *out, const char *s, int last)
{
	struct buf b;

	buf_init(&b, 0);
	if (s == NULL || utf8_vis(s, strlen(s), 0, &b) != 0)
		buf_reset(&b);
	s = buf_str(&b);
	/* escaped text holds no line break: only ',' and '"' need quotes */
	if (strpbrk(s, ",\"") == NULL)
		fputs(s, out);
	else {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	}
	fputc(last ? '\n' : ',', out);
	buf_release(&b);
}

static int
export_cb(void *arg, const char *project, const char *flag, const void *rec,
    size_t len)
{
	struct export_walk *w = arg;
	struct loaded l;
	struct buf roll, iss;
	char num[32], tbuf[32];
	json_object *o;
	int rc;

	if ((rc = load_flag(w->t, project, flag, rec, len, &l)) != 0)
		goto loaded_release;
	if (!w->csv) {
		if ((o = loaded_json(&l)) == NULL) {
			rc = ENOMEM;
			goto loaded_release;
		}
		fputs(w->n++ ? ",\n" : "\n", w->q->out);
		fputs(json_object_to_json_string_ext(o, JSON_FLAGS), w->q->out);
		json_object_put(o);
		goto loaded_release;
	}
	buf_init(&roll, 0);
	buf_init(&iss, 0);
	view_rollout_words(&l.v, &roll);
	join_issues(&l, &iss);
	tbuf[0] = '\0';
	if (l.v.defined)
		view_format_time(l.v.last_updated, tbuf);
	query_csv_field(w->q->out, project, 0);
	query_csv_field(w->q->out, flag, 0);
	query_csv_field(w->q->out, l.v.environment, 0);
	query_csv_field(w->q->out, view_is_active(&l.v) ? "true" : "false", 0);
	query_csv_field(w->q->out, l.v.killed ? "true" : "false", 0);
	query_csv_field(w->q->out, l.v.default_treatment, 0);
	snprintf(num, sizeof(num), "%d", l.v.traffic_allocation);
	query_csv_field(w->q->out, l.v.defined ? num : "", 0);
	query_csv_field(w->q->out, roll.data, 0);
	snprintf(num, sizeof(num), "%d", l.v.rules);
	query_csv_field(w->q->out, num, 0);
	query_csv_field(w->q->out, tbuf, 0);
	query_csv_field(w->q->out, l.v.url, 0);
	query_csv_field(w->q->out, iss.data, 1);
	buf_release(&roll);
	buf_release(&iss);
	w->n++;
loaded_release:
	loaded_release(&l);
	return rc;
}

int
query_export(struct query *q, int argc, char **argv)
{
	const char *format = "json";
	int findings = 0;
	struct arg_opt opts[] = {
		{ "--format", 1, &format, NULL },
		{ "--findings", 0, NULL, &findings },
		{ NULL, 0, NULL, NULL },
	};
	struct export_walk w;
	char *pos[1];
	size_t npos;
	int rc;

	if ((rc = args_parse("export", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	memset(&w, 0, sizeof(w));
	w.q = q;
	if (strcmp(format, "csv") == 0)
		w.csv = 1;
	else if (strcmp(format, "json") != 0) {
		fprintf(stderr, "flagsync export: --format is json or csv\n");
		return EXIT_USAGE;
	}
	if (findings)	/* the findings report instead of the flags */
		return findq_export(q, w.csv);
	if ((rc = cache_read_begin(q->c, &w.t)) != 0) {
		fprintf(stderr, "flagsync export: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	if (w.csv)
		fputs("project,flag,environment,active,killed,"
		    "default_treatment,traffic_allocation,rollout,rules,"
		    "last_updated,url,issues\n", q->out);
	else
		fputs("[", q->out);
	rc = cache_flag_foreach(w.t, NULL, export_cb, &w);
	if (!w.csv)
		fputs(w.n ? "\n]\n" : "]\n", q->out);
	cache_read_end(w.t);
	if (rc != 0) {
		fprintf(stderr, "flagsync export: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

int
query_plugins(struct query *q, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	struct cache_txn *t;
	json_object *arr;
	char *pos[1];
	size_t npos, i;
	int rc;

	if ((rc = args_parse("plugins", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((rc = cache_read_begin(q->c, &t)) != 0) {
		fprintf(stderr, "flagsync plugins: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	arr = json_object_new_array();
	for (i = 0; i < q->cfg->nplugins; i++)
		json_object_array_add(arr, plugin_row(t, &q->cfg->plugins[i]));
	cache_read_end(t);
	if (q->json)
		json_print(q->out, arr);
	else if (q->cfg->nplugins == 0)
		fprintf(q->out, "no [plugin NAME] sections in %s\n",
		    q->cfg->path);
	else
		plugins_print_text(q, arr);
	json_object_put(arr);
	return 0;
}
