/*
 * fuzz_split_flags.c - the Admin API flag list (GET /splits/ws/{ws}):
 * split_list_flags() parses fuzzed pages through the real paging, status
 * and JSON code (fake_http.h); each flag it hands out must be readable
 * and must make a view that survives the record round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"
#include "view.h"

#include "fake_http.h"
#include "fuzz_common.h"

static struct split_client *fuzz_sc;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct split_options o;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	memset(&o, 0, sizeof(o));
	o.api_url = "http://split.invalid/internal/api/v2";
	o.admin_key = "fuzz-admin-key";
	o.timeout = 1;
	if (split_client_create(&fuzz_sc, &o) != 0)
		fuzz_fail("split_client_create failed");
	return 0;
}

/* Every string the client hands out must be a whole C string. */
static int
fuzz_flag_cb(void *arg, const struct split_flag *f)
{
	static const struct view_context ctx = {
		"Default", "Production", "ws-1", "env-1",
		"https://app.split.io/org/x/ws/{workspace_id}/splits/"
		"{flag_id}/env/{environment_id}/definition?f={flag}&p={project}"
	};
	struct flag_view v;
	size_t i, sum;
	char err[512];
	int rc;

	(void)arg;
	if (f->id == NULL || f->name == NULL || f->description == NULL ||
	    (f->ntags > 0 && f->tags == NULL))
		fuzz_fail("a flag with a NULL field");
	sum = strlen(f->id) + strlen(f->name) + strlen(f->description);
	for (i = 0; i < f->ntags; i++)
		sum += strlen(f->tags[i]);
	(void)sum;
	view_init(&v);
	rc = view_from_split(&v, &ctx, f->id, f->name, f->description,
	    f->tags, f->ntags, NULL, err, sizeof(err));
	if (rc == 0)
		fuzz_check_view(&v);
	view_release(&v);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];

	fake_http_set(data, size);
	(void)split_list_flags(fuzz_sc, "ws-1", "Default", fuzz_flag_cb, NULL,
	    err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("error message not terminated");
	return 0;
}
