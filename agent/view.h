/*
 * view.h - the flag view (flagsync(8)): one flag in its project's primary
 * environment, normalised from Split's flag list entry and definition.
 *
 * A view is stored in the cache as a compact binary record
 * (view_encode/view_decode), not as JSON: the record is what a poll
 * compares byte for byte to decide that nothing changed, and it keeps a
 * 100k-flag account small.  JSON is made only when shown or sent.
 *
 * rules_hash fingerprints the targeting rules and the individual targets
 * (treatment keys and segments) in Split's order, so that any change to
 * them, even one that keeps their count, is seen.
 *
 * Ownership: a struct flag_view owns all its strings and arrays;
 * view_release() frees them.  view_init() makes an empty view.
 */
#ifndef FLAGSYNC_VIEW_H
#define FLAGSYNC_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonw.h"

struct view_bucket {
	char	*treatment;
	int	 size;
};

struct flag_view {
	char	*project;
	char	*environment;	/* primary environment name */
	char	*flag;
	char	*flag_id;	/* Split ids, for the URL */
	char	*ws_id;
	char	*env_id;
	bool	 defined;	/* a definition exists in the environment */
	bool	 killed;
	/* Every string and array is in arena (view_from_node() and
	 * view_decode() set it): view_release() frees the block alone.
	 * Whoever puts a pointer of its own in a view clears it. */
	bool	 boxed;
	char	*default_treatment;	/* NULL when !defined */
	int	 traffic_allocation;
	struct view_bucket *default_rule;
	size_t	 ndefault_rule;
	int	 rules;		/* targeting rules + individual-target groups */
	uint64_t rules_hash;
	char	**treatments;
	size_t	 ntreatments;
	int64_t	 last_updated;	/* ms epoch (lastUpdateTime), 0 when !defined */
	char	*url;
	char	**tags;
	size_t	 ntags;
	char	*description;
	/* view_decode() puts the strings and arrays in here, one block
	 * instead of one allocation each; anything else is its own. */
	char	*arena;
	size_t	 arena_len;
};

/* What a project poll knows when it builds a view. */
struct view_context {
	const char *project;
	const char *environment;	/* name */
	const char *ws_id;
	const char *env_id;
	const char *flag_url;		/* template, may be NULL */
};

void	view_init(struct flag_view *v);
void	view_release(struct flag_view *v);

/*
 * Builds v from the flag list entry (id, name, tags, description) and its
 * definition in the primary environment (NULL when the flag has none).
 * The URL is flag_url with {workspace_id}, {flag_id}, {environment_id},
 * {flag} and {project} substituted.  Returns 0, ENOMEM, or FS_EPROTO when
 * the definition is malformed (err names the flag and the field).
 * v must be initialised; on success what it held is released, on error
 * it is left unchanged.
 */
int	view_from_split(struct flag_view *v, const struct view_context *ctx,
	    const char *flag_id, const char *flag, const char *description,
	    const char *const *tags, size_t ntags, json_object *def,
	    char *err, size_t errlen);

/* The same from a definition read as a struct jnode (jscan.h): a
 * scanned page or a json-c tree give the same view and messages. */
struct jnode;
int	view_from_node(struct flag_view *v, const struct view_context *ctx,
	    const char *flag_id, const char *flag, const char *description,
	    const char *const *tags, size_t ntags, const struct jnode *def,
	    char *err, size_t errlen);

/* Appends the binary record of v to out.  0, ENOMEM or EFBIG. */
int	view_encode(const struct flag_view *v, struct buf *out);
/* Decodes a record into v (initialised by the caller); 0, ENOMEM or
 * FS_EPROTO for a corrupt record.  v copies what it needs; as with
 * view_from_split() its old contents go on success only. */
int	view_decode(struct flag_view *v, const void *rec, size_t len);

bool	view_is_active(const struct flag_view *v);

/* Flags for view_to_json(). */
#define VIEW_JSON_NO_TAGS	0x1	/* omit tags and description */
#define VIEW_JSON_NO_ISSUES	0x2	/* omit issues */

/*
 * The flagsync(8) JSON object for v, with issues (may be NULL when n is 0).
 * Returns a new json_object the caller must json_object_put(), or NULL
 * on ENOMEM.
 */
json_object *view_to_json(const struct flag_view *v,
	    const char *const *issues, size_t nissues, int flags);

/*
 * Writes the same document as view_to_json() as text into w (see
 * jsonw.h; JSONW_SLASH in w's flags gives JSON_C_TO_STRING_PLAIN's bytes,
 * without it PLAIN | NOSLASHESCAPE's).  Returns w->rc.
 */
int	view_write_json(const struct flag_view *v, const char *const *issues,
	    size_t nissues, int flags, struct jsonw_text *w);

/* "75% off", "3 rules", "" when not defined: the rollout in words. */
int	view_rollout_words(const struct flag_view *v, struct buf *out);

/* RFC 3339 UTC ("2023-11-14T22:21:40Z") of a ms epoch. */
void	view_format_time(int64_t ms, char out[32]);

#endif
