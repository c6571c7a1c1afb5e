/*
 * config.h - flagsync.ini: parse, validate, resolve secrets (flagsync.ini(5)).
 *
 * config_load() fills a struct config from an INI file.  Every error names
 * the file, the line and the key.  Unknown sections and keys are errors,
 * except inside [plugin NAME] sections, whose keys are kept for the plugin.
 * Secrets (the Split Admin API key, the Jira API token) are looked up, first
 * match wins, in: $CREDENTIALS_DIRECTORY/{split-admin-key,jira-api-token},
 * then $FLAGSYNC_SPLIT_ADMIN_KEY / $FLAGSYNC_JIRA_API_TOKEN, then the
 * *_file key, then the inline key.  A file that holds an inline secret and
 * is readable by others is refused, and so is a *_file others may read.  A missing secret is not a config
 * error (queries do not need one); the commands that talk to the network
 * check for it.  Secrets are never printed by anything in this module.
 *
 * Ownership: struct config owns every string and array in it;
 * config_free() releases them all.
 */
#ifndef FLAGSYNC_CONFIG_H
#define FLAGSYNC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH	"/etc/flagsync/flagsync.ini"

struct config_project {
	char	*name;		/* Split workspace name, from [project NAME] */
	char	*environment;	/* its primary environment (name or id) */
	int	 line;		/* line of the section header */
	/* The change feed (flagsync.ini(5)): a server-side SDK key of the
	 * primary environment, from $CREDENTIALS_DIRECTORY/split-sdk-key-NAME,
	 * $FLAGSYNC_SPLIT_SDK_KEY_NAME or sdk_key_file; NULL: no feed. */
	char	*sdk_key;		/* secret */
	char	*sdk_key_origin;	/* printable: where it came from */
	char	*sdk_key_file;		/* the key as written, or NULL */
	int	 sdk_key_file_line;
};

/* How the Admin API key is sent ([split] auth). */
#define CONFIG_AUTH_AUTO	0	/* x-api-key for pat./sat. tokens */
#define CONFIG_AUTH_BEARER	1	/* Authorization: Bearer KEY */
#define CONFIG_AUTH_X_API_KEY	2	/* x-api-key: KEY (Harness tokens) */

struct config_kv {
	char	*key;
	char	*value;
	int	 line;
};

/* Where a new instance (no cursor yet) starts. */
#define CONFIG_START_OLDEST	0	/* every retained event (default) */
#define CONFIG_START_LATEST	1	/* only events after it started */

/* Secrets a [plugin NAME] is granted (`credentials`), a bit mask. */
#define CONFIG_CRED_JIRA	0x1	/* [jira] url, email, api_token */
#define CONFIG_CRED_SPLIT	0x2	/* [split] api_url, admin_key */

struct config_plugin {
	char		*name;	/* instance name, from [plugin NAME] */
	char		*module;/* module key, defaults to name */
	char		*events;/* glob list, default "*" */
	int		 timeout;	/* deliver timeout seconds, default 30 */
	int		 start;		/* CONFIG_START_*, default OLDEST */
	unsigned	 credentials;	/* CONFIG_CRED_* granted by the key */
	struct config_kv *keys;	/* every other key, for the plugin */
	size_t		 nkeys, keys_cap;
	int		 line;
};

struct config {
	char	*path;			/* the file that was read */

	/* [agent] */
	char	*state_dir;		/* default /var/lib/flagsync */
	int	 interval;		/* seconds, default 60 */
	int	 jitter;		/* percent, default 10 */
	int	 log_level;		/* syslog priority, default LOG_INFO */
	int64_t	 retention;		/* seconds, default 90 days */
	int	 deliver_timeout;	/* seconds, default 30 */

	/* [split] */
	char	*split_api_url;		/* default https://api.split.io/internal/api/v2 */
	char	*split_admin_key;	/* secret; NULL when none found */
	char	*split_key_origin;	/* where it came from, e.g. "admin_key_file /etc/..": printable */
	char	*split_flag_url;	/* template with {workspace_id} {flag_id} {environment_id} {flag} */
	double	 split_max_rps;		/* default 3; 0 means no ceiling */
	int	 split_timeout;		/* seconds, default 30 */
	int	 split_auth;		/* CONFIG_AUTH_*, default AUTO */
	char	*split_sdk_url;		/* default https://sdk.split.io/api */
	int64_t	 split_full_sync;	/* seconds, default 600, at least 10 */
	char	*ca_file;		/* [split] or [jira] ca_file; NULL = system CAs */

	struct config_project *projects;
	size_t	 nprojects, projects_cap;

	/* [links] */
	int	 split_tags;		/* bool, default 1 */
	int	 split_description;	/* bool, default 1 */
	char	*issue_key_pattern;	/* POSIX ERE, default [A-Z][A-Z0-9]{1,9}-[0-9]+ */
	char	*links_file;		/* NULL when not configured */
	char	*jira_field;		/* NULL when not configured */
	char	*jira_jql;
	int	 jira_create;		/* bool, default 0: create named flags */
	char	*create_traffic_type;	/* default "user" */

	/* [jira] */
	char	*jira_url;
	char	*jira_email;
	char	*jira_api_token;	/* secret */
	int	 jira_timeout;

	struct config_plugin *plugins;
	size_t	 nplugins, plugins_cap;

	/* [http] (flagsync.ini(5)): off while http_listen is NULL */
	char	*http_listen;		/* HOST:PORT or [IPV6]:PORT */
	char	*http_token;		/* secret: bearer token for /v1/, or NULL */

	/* [findings] (flagsync(8)): off unless the section is there */
	int	 findings;		/* bool: the section exists */
	int64_t	 findings_done_grace;	/* seconds, default 14 days */
	int64_t	 findings_stale_after;	/* seconds, default 30 days */
	char	*findings_ignore;	/* glob list of finding types, or NULL */
};

/*
 * Reads and validates path.  On success returns 0 and *out owns a new
 * config.  On failure returns FS_ECONFIG (bad content, including a
 * world-readable file with an inline secret) or an errno value (file not
 * readable), writes one line to err ("FILE:LINE: [section] key: what is
 * wrong") and leaves *out NULL.
 */
int	config_load(const char *path, struct config **out, char *err,
	    size_t errlen);

/* config_load() with flags: CONFIG_NO_SECRETS reads no secret from any
 * source (every secret field stays NULL), for commands that need none. */
#define CONFIG_NO_SECRETS	0x1
int	config_load_flags(const char *path, int flags, struct config **out,
	    char *err, size_t errlen);
void	config_free(struct config *cfg);

/* The project section called name, or NULL. */
const struct config_project *config_project_find(const struct config *cfg,
	    const char *name);

#endif
