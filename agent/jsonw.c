/* jsonw.c - small json-c helpers. */
#include "autoconf.h"

#include <errno.h>

#include "jsonw.h"

int
jsonw_put(json_object *o, const char *key, json_object *val)
{
	if (val == NULL)
		return ENOMEM;
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return ENOMEM;
	}
	return 0;
}

int
jsonw_null(json_object *o, const char *key)
{
	return json_object_object_add(o, key, NULL) != 0 ? ENOMEM : 0;
}

int
jsonw_str(json_object *o, const char *key, const char *s)
{
	if (s == NULL)
		return jsonw_null(o, key);
	return jsonw_put(o, key, json_object_new_string(s));
}

json_object *
jsonw_strv(const char *const *sv, size_t n)
{
	json_object *a, *s;
	size_t i;

	if ((a = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s = sv[i] ? json_object_new_string(sv[i]) : NULL;
		if ((sv[i] != NULL && s == NULL) ||
		    json_object_array_add(a, s) != 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

json_object *
jsonw_parse(const char *s, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && tok->char_offset != (int)len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}
