/*
 * fuzz_common.c - see fuzz_common.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <json-c/json.h>

#include "buf.h"
#include "log.h"
#include "view.h"

#include "fuzz_common.h"

void
fuzz_quiet(void)
{
	log_init("fuzz", LOG_EMERG);
}

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

/* The view's JSON and words are made without fault; the contents are not
 * judged here (the unit tests do). */
static void
fuzz_show_view(const struct flag_view *v)
{
	static const char *const issues[] = { "FUZZ-1", "FUZZ-2" };
	json_object *o;
	struct buf b;
	char when[32];
	int rc;

	if ((o = view_to_json(v, issues, 2, 0)) == NULL)
		fuzz_fail("view_to_json failed");
	if (json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) == NULL)
		fuzz_fail("view JSON does not serialise");
	json_object_put(o);
	buf_init(&b, 0);
	if ((rc = view_rollout_words(v, &b)) != 0 && rc != ENOMEM)
		fuzz_fail("view_rollout_words failed");
	buf_release(&b);
	view_format_time(v->last_updated, when);
	if (memchr(when, '\0', sizeof(when)) == NULL)
		fuzz_fail("view_format_time left no NUL");
}

/*
 * With FUZZ_RECORD_DIR set, every record goes to a file there named by
 * its hash: seed.sh gets the view_record seeds from real definitions so.
 */
static void
fuzz_dump_record(const struct buf *rec)
{
	const char *dir = getenv("FUZZ_RECORD_DIR");
	char path[4096];
	uint64_t h = 14695981039346656037ULL;
	size_t i;
	FILE *fp;

	if (dir == NULL)
		return;
	for (i = 0; i < rec->len; i++)
		h = (h ^ (unsigned char)rec->data[i]) * 1099511628211ULL;
	snprintf(path, sizeof(path), "%s/record-%016llx", dir,
	    (unsigned long long)h);
	if ((fp = fopen(path, "we")) == NULL)
		fuzz_fail("cannot write to FUZZ_RECORD_DIR");
	if (fwrite(rec->data, 1, rec->len, fp) != rec->len || fclose(fp) != 0)
		fuzz_fail("cannot write a record to FUZZ_RECORD_DIR");
}

void
fuzz_check_view(const struct flag_view *v)
{
	struct flag_view back;
	struct buf rec1, rec2;

	buf_init(&rec1, 0);
	buf_init(&rec2, 0);
	view_init(&back);
	if (view_encode(v, &rec1) != 0)
		fuzz_fail("view_encode failed on a parsed view");
	fuzz_dump_record(&rec1);
	if (view_decode(&back, rec1.data, rec1.len) != 0)
		fuzz_fail("view_decode refused what view_encode wrote");
	if (view_encode(&back, &rec2) != 0)
		fuzz_fail("view_encode failed on a decoded view");
	if (rec1.len != rec2.len || memcmp(rec1.data, rec2.data, rec1.len) != 0)
		fuzz_fail("record changed by a decode/encode round trip");
	fuzz_show_view(&back);
	view_release(&back);
	buf_release(&rec1);
	buf_release(&rec2);
}
