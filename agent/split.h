/*
 * split.h - the Split (Harness FME) Admin API client (as Split documents it).
 *
 * Resolves workspace and environment names to ids and streams the flag
 * list and the flag definitions of one environment page by page to
 * callbacks, so the account is never held in memory at once.  It knows
 * nothing of the cache.
 *
 * Requests: Authorization: Bearer KEY, or x-api-key: KEY (auth).  Paging: offset/limit until
 * totalCount (definitions: 50 per page, the documented maximum); a page
 * with more objects than limit, or reaching beyond totalCount, is
 * FS_EPROTO.  A 429 waits max(X-RateLimit-Reset-Seconds-Org, -IP)
 * seconds (at least 1, at most 60 a time, backoff when the headers are
 * missing) and tries again, up to SPLIT_MAX_429 times and never more
 * than 3 x timeout in all for one request; a redirect is never followed
 * (FS_EHTTP naming the Location host).  Invalid UTF-8 in an answer
 * becomes U+FFFD before it is parsed, JSON nested deeper than 64 levels
 * is FS_EPROTO.  5xx, timeouts and connection errors get up to
 * three retries with exponential backoff and jitter.  401 -> FS_EAUTH,
 * 404 -> FS_ENOTFOUND with a message naming the project or environment
 * and the key's project view permissions.  A body that is not the
 * documented JSON, or a totalCount that changes between pages, is
 * FS_EPROTO.  Any failure means the whole listing failed: callers must
 * drop whatever the callbacks saw.
 */
#ifndef FLAGSYNC_SPLIT_H
#define FLAGSYNC_SPLIT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define SPLIT_FLAGS_PAGE	50
#define SPLIT_DEFS_PAGE		50
#define SPLIT_MAX_RETRIES	3	/* for 5xx, timeouts, network */
#define SPLIT_MAX_429		10
#define SPLIT_MAX_WAIT_S	60

/* How the key travels (flagsync.ini(5)): Harness personal access (pat.) and
 * service account (sat.) tokens go in x-api-key. */
#define SPLIT_AUTH_AUTO		0	/* x-api-key for pat./sat., else Bearer */
#define SPLIT_AUTH_BEARER	1	/* Authorization: Bearer KEY */
#define SPLIT_AUTH_X_API_KEY	2	/* x-api-key: KEY */

struct split_options {
	const char *api_url;	/* .../internal/api/v2, no trailing slash needed */
	const char *admin_key;
	int	 auth;		/* SPLIT_AUTH_* */
	double	 max_rps;
	int	 timeout;
	const char *ca_file;
	size_t	 max_body;	/* 0 = default */
	int64_t	 backoff_base_ms;	/* 0 = 1000; tests use less */
	volatile sig_atomic_t *cancel;
	/* state_dir: max_rps is shared with the other processes that pace
	 * through its PACE_FILE_NAME (the split output); NULL: alone. */
	const char *pace_dir;
};

/* One entry of GET /splits/ws/{ws}; borrowed for the callback only. */
struct split_flag {
	const char *id;
	const char *name;
	const char *description;	/* "" when absent */
	const char *const *tags;	/* tag names */
	size_t	 ntags;
	int64_t	 creation_time;		/* ms epoch, 0 when absent */
	/* Why this entry cannot be used (a field of the wrong type), or
	 * NULL.  The listing goes on: the caller skips and reports the one
	 * flag.  id and name are always readable strings. */
	const char *invalid;
};

/* Callbacks return 0 to go on; anything else stops the listing and is
 * returned by the listing function. */
typedef int (*split_flag_cb)(void *arg, const struct split_flag *f);
/* def is one element of a definitions page; borrowed for the call only. */
typedef int (*split_def_cb)(void *arg, json_object *def);

struct split_client;

int	split_client_create(struct split_client **out,
	    const struct split_options *o);
void	split_client_free(struct split_client *sc);

/* Workspace name -> id (exact, case-sensitive match). */
int	split_resolve_workspace(struct split_client *sc, const char *name,
	    char **ws_id, char *err, size_t errlen);
/* Environment name or id -> id and name, within a workspace. */
int	split_resolve_environment(struct split_client *sc, const char *ws_id,
	    const char *project, const char *env, char **env_id,
	    char **env_name, char *err, size_t errlen);

int	split_list_flags(struct split_client *sc, const char *ws_id,
	    const char *project, split_flag_cb cb, void *arg, char *err,
	    size_t errlen);
int	split_list_definitions(struct split_client *sc, const char *ws_id,
	    const char *project, const char *env_id, split_def_cb cb,
	    void *arg, char *err, size_t errlen);

/*
 * As split_list_definitions(), with each definition as a struct jnode
 * (jscan.h), borrowed for the call only: a page is then read without a
 * json-c tree whenever jscan takes it, with the same values and errors.
 * name is the definition's "name", found a string before cb is called.
 */
struct jnode;
typedef int (*split_defnode_cb)(void *arg, const char *name,
	    const struct jnode *def);
int	split_list_definition_nodes(struct split_client *sc,
	    const char *ws_id, const char *project, const char *env_id,
	    split_defnode_cb cb, void *arg, char *err, size_t errlen);

/*
 * One flag, for the change feed: GET /splits/ws/{ws}/{name} hands cb the
 * flag as a listing would; GET .../{name}/environments/{env} hands cb its
 * definition there.  FS_ENOTFOUND when Split answers 404: the flag is
 * gone, or (for the definition) not defined in that environment.
 */
int	split_get_flag(struct split_client *sc, const char *ws_id,
	    const char *project, const char *name, split_flag_cb cb,
	    void *arg, char *err, size_t errlen);
int	split_get_definition(struct split_client *sc, const char *ws_id,
	    const char *project, const char *name, const char *env_id,
	    split_defnode_cb cb, void *arg, char *err, size_t errlen);

/*
 * Writes (flagsync(8), creating flags from Jira and the split output).
 * Both go through the same retry and 429 policy as every GET and are
 * idempotent, so a retry never duplicates anything.
 */

/* Split's flag naming rule: an ASCII letter first, then only ASCII
 * letters, digits, '-' and '_'; flagsync also caps it at FS_FLAG_MAX. */
bool	split_name_valid(const char *name);

/*
 * POST /splits/ws/{ws}/trafficTypes/{traffic_type} {"name","description"}:
 * creates the flag, with no definition in any environment.  cb (may be
 * NULL) gets the created flag as Split answers it, borrowed for the
 * call.  0; EINVAL for a name breaking the rule or a description over
 * FS_DESC_MAX (nothing sent); EEXIST when Split answers 409 (the name is
 * taken: the flag exists); FS_ENOTFOUND for a 404 (project or traffic
 * type unknown or not visible); FS_EAUTH for 401/403; EINVAL for any
 * other 4xx (400: Split refused the values); or as a GET fails (a 5xx
 * after its retries is FS_EHTTP: an outage, not a refusal).
 * err quotes Split's message for every refusal.
 */
int	split_create_flag(struct split_client *sc, const char *ws_id,
	    const char *project, const char *traffic_type, const char *name,
	    const char *description, split_flag_cb cb, void *arg, char *err,
	    size_t errlen);

/*
 * POST /tags/ws/{ws}/object/{name}/objecttype/Split ["t1",...]: Split's
 * "associate tags" takes the flag's whole tag list, so the n tags (each
 * 1 to FS_TAG_MAX bytes; a repeated one is sent once) replace the ones
 * it has; n = 0 removes all.  To add or remove one tag, read the flag
 * (split_get_flag) and write the union or difference: a person's tags
 * then survive.  Returns as split_create_flag(), without EEXIST.
 */
int	split_set_flag_tags(struct split_client *sc, const char *ws_id,
	    const char *project, const char *name, const char *const *tags,
	    size_t n, char *err, size_t errlen);

/* Requests made so far (for status and the benchmark). */
uint64_t split_request_count(const struct split_client *sc);

#endif
