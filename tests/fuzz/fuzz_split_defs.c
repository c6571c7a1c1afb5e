/*
 * fuzz_split_defs.c - the Admin API flag definitions
 * (GET /splits/ws/{ws}/environments/{env}): split_list_definitions()
 * pages through fuzzed answers (fake_http.h) and view_from_split() turns
 * each definition into a view, as a poll does; every view made must
 * survive the record round trip and turn into JSON.  The same answers
 * read as a poll reads them (split_list_definition_nodes(), pages
 * scanned without a json-c tree when jscan takes them) must give the
 * same records and the same errors, byte for byte.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jscan.h"
#include "split.h"
#include "view.h"

#include "fake_http.h"
#include "fuzz_common.h"

static struct split_client *fuzz_sc;

/*
 * Both readings of an input must make the same requests: the backoff's
 * jitter comes from here (--wrap=getrandom), the same every time, so a
 * wait budget runs out at the same request in both.
 */
ssize_t	__wrap_getrandom(void *buf, size_t len, unsigned flags);

ssize_t
__wrap_getrandom(void *buf, size_t len, unsigned flags)
{
	(void)flags;
	memset(buf, 0x5a, len);
	return (ssize_t)len;
}

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

static const struct view_context fuzz_ctx = {
	"Default", "Production", "ws-1", "env-1",
	"https://app.split.io/{workspace_id}/{flag_id}/"
	"{environment_id}/{flag}/{project}/{unknown}"
};
static const char *const fuzz_tags[] = { "SHOP-1", "team:web" };

/* One definition's view, as its record or its error, into out. */
static int
fuzz_view(const struct jnode *def, struct buf *out)
{
	struct jnode name;
	struct flag_view v;
	char err[512];
	int rc;

	/* split.c promises a string name to the callback. */
	if (!jnode_get(def, "name", &name) ||
	    jnode_type(&name) != json_type_string)
		fuzz_fail("a definition without a string name got through");
	view_init(&v);
	rc = view_from_node(&v, &fuzz_ctx, "id-1", jnode_str(&name),
	    "SHOP-2 in a description", fuzz_tags, 2, def, err, sizeof(err));
	if (rc == 0) {
		fuzz_check_view(&v);
		if (view_encode(&v, out) != 0)
			fuzz_fail("view_encode failed");
	} else if (memchr(err, '\0', sizeof(err)) == NULL) {
		fuzz_fail("view error message not terminated");
	} else if (buf_printf(out, "error %d: %s\n", rc, err) != 0) {
		fuzz_fail("no memory for the error");
	}
	view_release(&v);
	return 0;
}

static int
fuzz_def_cb(void *arg, json_object *def)
{
	struct jnode n;

	jnode_json(&n, def);
	return fuzz_view(&n, arg);
}

static int
fuzz_defnode_cb(void *arg, const char *name, const struct jnode *def)
{
	struct jnode v;

	/* split.c hands on the name it checked: the definition's own */
	if (!jnode_get(def, "name", &v) || jnode_str(&v) == NULL ||
	    strcmp(jnode_str(&v), name) != 0)
		fuzz_fail("the name handed on is not the definition's");
	return fuzz_view(def, arg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf tree, scan;
	char err[512];
	int rc;

	buf_init(&tree, 0);
	buf_init(&scan, 0);
	fake_http_set(data, size);
	rc = split_list_definitions(fuzz_sc, "ws-1", "Default", "env-1",
	    fuzz_def_cb, &tree, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("error message not terminated");
	if (buf_printf(&tree, "listing %d: %s", rc, err) != 0)
		fuzz_fail("no memory");
	fake_http_set(data, size);
	rc = split_list_definition_nodes(fuzz_sc, "ws-1", "Default", "env-1",
	    fuzz_defnode_cb, &scan, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("error message not terminated");
	if (buf_printf(&scan, "listing %d: %s", rc, err) != 0)
		fuzz_fail("no memory");
	if (tree.len != scan.len || memcmp(tree.data, scan.data, tree.len)) {
		fprintf(stderr, "json-c:  %s\nscanned: %s\n", buf_str(&tree),
		    buf_str(&scan));
		fuzz_fail("the scanned pages read differently from json-c's");
	}
	buf_release(&tree);
	buf_release(&scan);
	return 0;
}
