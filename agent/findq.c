/* findq.c - the findings the cache holds, for people and scripts. */
#include "autoconf.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "args.h"
#include "array.h"
#include "cli.h"
#include "clock.h"
#include "error.h"
#include "findings.h"
#include "findq.h"
#include "jsonw.h"
#include "query.h"
#include "table.h"
#include "view.h"

#define DAY_MS	(86400 * (int64_t)1000)

struct row {
	enum finding_type type;
	char	*project;
	char	*flag;
	char	*issue;		/* NULL: none */
	struct finding_rec rec;
	bool	 open;
};

struct rows {
	const struct findq_args *a;
	struct row *v;
	size_t	 n, cap;
};

static void
rows_release(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].project);
		free(r->v[i].flag);
		free(r->v[i].issue);
	}
	free(r->v);
}

static int
rows_cb(void *arg, const struct finding *f)
{
	struct rows *r = arg;
	struct row *w;
	int rc;

	if (r->a->type != NULL &&
	    fnmatch(r->a->type, finding_type_name(f->type), 0) != 0)
		return 0;
	if ((rc = ARRAY_GROW(r->v, r->cap, r->n + 1)) != 0)
		return rc;
	w = &r->v[r->n];
	memset(w, 0, sizeof(*w));
	w->type = f->type;
	w->rec = f->rec;
	w->open = f->open;
	if ((w->project = strdup(f->project)) == NULL ||
	    (w->flag = strdup(f->flag)) == NULL ||
	    (f->issue != NULL && (w->issue = strdup(f->issue)) == NULL)) {
		free(w->project);
		free(w->flag);
		return ENOMEM;
	}
	r->n++;
	return 0;
}

/* Oldest first; then by what the finding is about. */
static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c;

	if (x->rec.since != y->rec.since)
		return x->rec.since < y->rec.since ? -1 : 1;
	if ((c = strcmp(finding_type_name(x->type),
	    finding_type_name(y->type))) != 0)
		return c;
	if ((c = strcmp(x->project, y->project)) != 0)
		return c;
	if ((c = strcmp(x->flag, y->flag)) != 0)
		return c;
	return strcmp(x->issue ? x->issue : "", y->issue ? y->issue : "");
}

static int
rows_load(struct cache_txn *t, const struct findq_args *a, struct rows *r)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->a = a;
	if (a->open && (rc = findings_foreach(t, true, rows_cb, r)) != 0)
		return rc;
	if (a->closed && (rc = findings_foreach(t, false, rows_cb, r)) != 0)
		return rc;
	if (r->n > 1)	/* qsort() takes no NULL, even for none */
		qsort(r->v, r->n, sizeof(*r->v), row_cmp);
	return 0;
}

/* Whole days the finding has held: until now, or until it closed. */
static long
row_days(const struct row *w, int64_t now)
{
	int64_t end = w->open ? now : w->rec.closed;

	return end > w->rec.since ? (long)((end - w->rec.since) / DAY_MS) : 0;
}

static int
put_time(json_object *o, const char *key, int64_t ms)
{
	char when[32];

	if (ms == 0)
		return jsonw_null(o, key);
	view_format_time(ms, when);
	return jsonw_str(o, key, when);
}

static json_object *
row_json(const struct row *w, int64_t now)
{
	json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (jsonw_str(o, "finding", finding_type_name(w->type)) != 0 ||
	    jsonw_str(o, "project", w->project) != 0 ||
	    jsonw_str(o, "flag", w->flag) != 0 ||
	    jsonw_str(o, "issue", w->issue) != 0 ||
	    jsonw_str(o, "state", w->open ? "open" : "closed") != 0 ||
	    put_time(o, "since", w->rec.since) != 0 ||
	    put_time(o, "opened", w->rec.opened) != 0 ||
	    put_time(o, "closed", w->open ? 0 : w->rec.closed) != 0 ||
	    jsonw_put(o, "days", json_object_new_int64(row_days(w, now))) !=
	    0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int
findq_doc(struct cache_txn *t, const struct findq_args *a, int64_t now,
    struct buf *out)
{
	struct rows r;
	json_object *arr;
	size_t i;
	int rc;

	if ((rc = rows_load(t, a, &r)) != 0)
		goto rows_release;
	if ((arr = json_object_new_array()) == NULL) {
		rc = ENOMEM;
		goto rows_release;
	}
	for (i = 0; i < r.n && rc == 0; i++)
		rc = json_object_array_add(arr, row_json(&r.v[i], now)) == 0 ?
		    0 : ENOMEM;
	if (rc == 0)
		rc = buf_puts(out, json_object_to_json_string_ext(arr,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
rows_release:
	rows_release(&r);
	return rc;
}

static int
count_cb(void *arg, const struct finding *f)
{
	int64_t *n = arg;

	n[f->type]++;
	return 0;
}

int
findq_open_counts(struct cache_txn *t, json_object **out)
{
	int64_t n[FINDING_COUNT];
	int type, rc;

	memset(n, 0, sizeof(n));
	*out = NULL;
	if ((rc = findings_foreach(t, true, count_cb, n)) != 0)
		return rc;
	if ((*out = json_object_new_object()) == NULL)
		return ENOMEM;
	for (type = 0; type < FINDING_COUNT; type++)
		if (jsonw_put(*out, finding_type_name((enum finding_type)type),
		    json_object_new_int64(n[type])) != 0) {
			json_object_put(*out);
			*out = NULL;
			return ENOMEM;
		}
	return 0;
}

int
findq_doc_cache(struct cache *c, const struct findq_args *a, struct buf *out)
{
	struct cache_txn *t;
	int rc;

	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	rc = findq_doc(t, a, clock_now_ms(), out);
	cache_read_end(t);
	return rc;
}

static int
findq_table(struct query *q, struct cache_txn *t, const struct findq_args *a,
    int64_t now)
{
	struct table *tab;
	struct rows r;
	char since[32], days[32];
	size_t i;
	int rc;

	if ((rc = rows_load(t, a, &r)) != 0)
		goto rows_release;
	if (r.n == 0) {
		fprintf(q->out, "no findings%s\n", q->cfg->findings ? "" :
		    " (no [findings] section in the configuration)");
		goto rows_release;
	}
	if ((tab = table_new(7, "FINDING", "PROJECT", "FLAG", "ISSUE",
	    "STATE", "SINCE", "DAYS")) == NULL) {
		rc = ENOMEM;
		goto rows_release;
	}
	for (i = 0; i < r.n && rc == 0; i++) {
		view_format_time(r.v[i].rec.since, since);
		snprintf(days, sizeof(days), "%ld", row_days(&r.v[i], now));
		rc = table_add(tab, finding_type_name(r.v[i].type),
		    r.v[i].project, r.v[i].flag, r.v[i].issue,
		    r.v[i].open ? "open" : "closed", since, days);
	}
	if (rc == 0)
		table_print(tab, q->out);
	table_free(tab);
rows_release:
	rows_release(&r);
	return rc;
}

int
query_findings(struct query *q, int argc, char **argv)
{
	struct findq_args a = { NULL, true, true };
	int open = 0, closed = 0;
	struct arg_opt opts[] = {
		{ "--type", 1, &a.type, NULL },
		{ "--open", 0, NULL, &open },
		{ "--closed", 0, NULL, &closed },
		{ NULL, 0, NULL, NULL },
	};
	struct cache_txn *t;
	struct buf doc;
	char *pos[1];
	size_t npos;
	int rc;

	if ((rc = args_parse("findings", argc, argv, opts, pos, 0,
	    &npos)) != 0)
		return rc;
	if (open && closed) {
		fprintf(stderr, "flagsync findings: --open and --closed "
		    "exclude each other; give neither for both\n");
		return EXIT_USAGE;
	}
	a.open = !closed;
	a.closed = !open;
	if ((rc = cache_read_begin(q->c, &t)) != 0) {
		fprintf(stderr, "flagsync findings: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	if (q->json) {
		/* the very document GET /v1/findings answers with */
		buf_init(&doc, 0);
		if ((rc = findq_doc(t, &a, clock_now_ms(), &doc)) == 0)
			fprintf(q->out, "%s\n", buf_str(&doc));
		buf_release(&doc);
	} else
		rc = findq_table(q, t, &a, clock_now_ms());
	cache_read_end(t);
	if (rc != 0) {
		fprintf(stderr, "flagsync findings: %s\n", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* One finding as a line of `export --findings --format csv`. */
static void
csv_row(FILE *out, const struct row *w, int64_t now)
{
	char since[32], closed[32];

	view_format_time(w->rec.since, since);
	closed[0] = '\0';
	if (!w->open)
		view_format_time(w->rec.closed, closed);
	query_csv_field(out, finding_type_name(w->type), 0);
	query_csv_field(out, w->project, 0);
	query_csv_field(out, w->flag, 0);
	query_csv_field(out, w->issue, 0);
	query_csv_field(out, w->open ? "open" : "closed", 0);
	query_csv_field(out, since, 0);
	query_csv_field(out, closed, 0);
	fprintf(out, "%ld\n", row_days(w, now));
}

int
findq_export(struct query *q, bool csv)
{
	struct findq_args a = { NULL, true, true };
	struct cache_txn *t;
	struct rows r;
	struct buf doc;
	int64_t now = clock_now_ms();
	size_t i;
	int rc;

	if ((rc = cache_read_begin(q->c, &t)) != 0)
		goto fail;
	if (!csv) {
		buf_init(&doc, 0);
		if ((rc = findq_doc(t, &a, now, &doc)) == 0)
			fprintf(q->out, "%s\n", buf_str(&doc));
		buf_release(&doc);
		cache_read_end(t);
		goto done;
	}
	if ((rc = rows_load(t, &a, &r)) == 0) {
		fputs("finding,project,flag,issue,state,since,closed,days\n",
		    q->out);
		for (i = 0; i < r.n; i++)
			csv_row(q->out, &r.v[i], now);
	}
	rows_release(&r);
	cache_read_end(t);
done:
	if (rc == 0)
		return 0;
fail:
	fprintf(stderr, "flagsync export: %s\n", fs_strerror(rc));
	return EXIT_RUNTIME;
}
