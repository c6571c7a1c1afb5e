/* skipped.c - what a source left out, in one shape for every status. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "jsonw.h"
#include "names.h"
#include "skipped.h"

void
skipped_init(struct skipped *s)
{
	s->list = NULL;
	s->n = 0;
}

void
skipped_release(struct skipped *s)
{
	json_object_put(s->list);
	skipped_init(s);
}

int
skipped_item(const char *kind, const char *name, char *dst, size_t len)
{
	char shown[NAME_SHOW_MAX];

	if (name == NULL)
		snprintf(dst, len, "%s", kind);
	else
		snprintf(dst, len, "%s '%s'", kind,
		    name_show(shown, sizeof(shown), name));
	return 0;
}

/* A new {"item", "why"} at the end of list; 0 or ENOMEM. */
static int
skipped_append(json_object *list, const char *item, const char *why)
{
	json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return ENOMEM;
	if (json_object_array_add(list, o) != 0) {
		json_object_put(o);
		return ENOMEM;
	}
	if (jsonw_str(o, "item", item) != 0 || jsonw_str(o, "why", why) != 0)
		return ENOMEM;
	return 0;
}

int
skipped_add(struct skipped *s, const char *kind, const char *name,
    const char *fmt, ...)
{
	char item[NAME_SHOW_MAX + 64], why[512];
	va_list ap;

	if (++s->n > SKIPPED_LIST)
		return 0;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	skipped_item(kind, name, item, sizeof(item));
	if (s->list == NULL && (s->list = json_object_new_array()) == NULL)
		return ENOMEM;
	return skipped_append(s->list, item, why);
}

int
skipped_put(const struct skipped *s, json_object *o)
{
	json_object *list, *e, *v;
	char note[1024];
	size_t i, n;
	int64_t count;

	if (s->n == 0)
		return 0;
	if (!json_object_object_get_ex(o, "skipped", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		if ((list = json_object_new_array()) == NULL ||
		    jsonw_put(o, "skipped", list) != 0)
			return ENOMEM;
	}
	n = s->list ? json_object_array_length(s->list) : 0;
	for (i = 0; i < n && json_object_array_length(list) < SKIPPED_LIST;
	    i++) {
		e = json_object_array_get_idx(s->list, i);
		if (skipped_append(list, json_object_get_string(
		    json_object_object_get(e, "item")), json_object_get_string(
		    json_object_object_get(e, "why"))) != 0)
			return ENOMEM;
	}
	count = json_object_object_get_ex(o, "skipped_count", &v) ?
	    json_object_get_int64(v) : 0;
	count += (int64_t)s->n;
	if (jsonw_put(o, "skipped_count", json_object_new_int64(count)) != 0)
		return ENOMEM;
	if (json_object_object_get_ex(o, "note", &v) && v != NULL)
		return 0;
	e = json_object_array_get_idx(list, 0);
	snprintf(note, sizeof(note), "%lld item%s skipped: %s: %s%s",
	    (long long)count, count == 1 ? "" : "s",
	    e ? json_object_get_string(json_object_object_get(e, "item")) : "",
	    e ? json_object_get_string(json_object_object_get(e, "why")) : "",
	    count > 1 ? "; more in status --json" : "");
	return jsonw_str(o, "note", note);
}
