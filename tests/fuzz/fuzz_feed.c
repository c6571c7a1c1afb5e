/*
 * fuzz_feed.c - the streaming splitChanges reader (feedparse.c): any
 * bytes must be refused or read without fault, and the answer must not
 * depend on how the network cut it: the input is read whole and again in
 * pieces whose sizes come from the input, and both reads must agree on
 * the result, the change numbers and every flag reported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "feedparse.h"
#include "maxlen.h"
#include "utf8.h"

#include "fuzz_common.h"

struct seen {
	struct buf out;
};

static int
seen_cb(void *arg, const struct feed_change *c)
{
	struct seen *s = arg;
	size_t n = strlen(c->name);

	if (c->invalid == NULL && (n == 0 || n > FS_FLAG_MAX ||
	    !utf8_valid(c->name, n)))
		fuzz_fail("a change without a reason to refuse it has a bad "
		    "name");
	if (buf_printf(&s->out, "%s|%d|%s\n", c->name, c->archived,
	    c->invalid ? c->invalid : "") != 0)
		fuzz_fail("out of memory");
	return 0;
}

static int
read_in_pieces(const uint8_t *data, size_t size, size_t step0,
    struct seen *s, int64_t *since, int64_t *till)
{
	struct feedparse fp;
	size_t off = 0, step = step0;
	int rc = 0;

	buf_init(&s->out, 0);
	feedparse_init(&fp, seen_cb, s);
	while (off < size && rc == 0) {
		if (step > size - off)
			step = size - off;
		rc = feedparse_push(&fp, (const char *)data + off, step);
		off += step;
		/* sizes from the data itself: 1..64 */
		step = (size_t)(data[off % size] % 64) + 1;
	}
	if (rc == 0)
		rc = feedparse_finish(&fp, since, till);
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a, b;
	int64_t s1 = 0, t1 = 0, s2 = 0, t2 = 0;
	int r1, r2;

	r1 = read_in_pieces(data, size, size ? size : 1, &a, &s1, &t1);
	r2 = read_in_pieces(data, size, 1, &b, &s2, &t2);
	if (r1 != r2)
		fuzz_fail("whole and cut reads disagree on the result");
	if (r1 == 0 && (s1 != s2 || t1 != t2))
		fuzz_fail("whole and cut reads disagree on the change numbers");
	if (a.out.len != b.out.len ||
	    (a.out.len && memcmp(a.out.data, b.out.data, a.out.len) != 0))
		fuzz_fail("whole and cut reads report different flags");
	if (r1 != 0 && r1 != FS_EPROTO)
		fuzz_fail("an error other than FS_EPROTO");
	buf_release(&a.out);
	buf_release(&b.out);
	return 0;
}
