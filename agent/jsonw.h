/*
 * jsonw.h - small json-c helpers shared by the modules that build or read
 * JSON documents (view.c, event.c, poll.c, query.c).
 *
 * json-c's ownership rules, which these keep: json_object_object_add()
 * takes over its value; the helpers below free the value when adding
 * fails, so callers never leak on ENOMEM.
 */
#ifndef FLAGSYNC_JSONW_H
#define FLAGSYNC_JSONW_H

#include <stddef.h>

#include <json-c/json.h>

/* Adds val (NULL meaning its allocation failed) to o, taking it over.
 * 0 or ENOMEM. */
int	jsonw_put(json_object *o, const char *key, json_object *val);
/* Adds key: null. */
int	jsonw_null(json_object *o, const char *key);
/* Adds key: s, or null when s is NULL. */
int	jsonw_str(json_object *o, const char *key, const char *s);
/* A new array of n strings (NULL entries become null), or NULL. */
json_object *jsonw_strv(const char *const *sv, size_t n);
/* Parses exactly len bytes (values in the LMDB map are not
 * NUL-terminated); NULL when they are not one JSON document. */
json_object *jsonw_parse(const char *s, size_t len);

#endif
