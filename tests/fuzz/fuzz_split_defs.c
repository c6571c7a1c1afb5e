/*
 * fuzz_split_defs.c - the Admin API flag definitions
 * (GET /splits/ws/{ws}/environments/{env}): split_list_definitions()
 * pages through fuzzed answers (fake_http.h) and view_from_split() turns
 * each definition into a view, as a poll does; every view made must
 * survive the record round trip and turn into JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

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

static int
fuzz_def_cb(void *arg, json_object *def)
{
	static const struct view_context ctx = {
		"Default", "Production", "ws-1", "env-1",
		"https://app.split.io/{workspace_id}/{flag_id}/"
		"{environment_id}/{flag}/{project}/{unknown}"
	};
	static const char *const tags[] = { "SHOP-1", "team:web" };
	json_object *name;
	struct flag_view v;
	char err[512];
	int rc;

	(void)arg;
	/* split.c promises a string name to the callback. */
	if (!json_object_object_get_ex(def, "name", &name) ||
	    !json_object_is_type(name, json_type_string))
		fuzz_fail("a definition without a string name got through");
	view_init(&v);
	rc = view_from_split(&v, &ctx, "id-1", json_object_get_string(name),
	    "SHOP-2 in a description", tags, 2, def, err, sizeof(err));
	if (rc == 0)
		fuzz_check_view(&v);
	else if (memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("view error message not terminated");
	view_release(&v);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];

	fake_http_set(data, size);
	(void)split_list_definitions(fuzz_sc, "ws-1", "Default", "env-1",
	    fuzz_def_cb, NULL, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("error message not terminated");
	return 0;
}
