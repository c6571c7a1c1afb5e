/* privdrop.c - who may write the state directory, and becoming them. */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "privdrop.h"

#define PD_NAME_MAX	64	/* a user or group name as shown */
#define PD_GROUPS_MAX	256	/* supplementary groups looked at */

/* The user's name, or "uid N" when it has no passwd entry. */
static const char *
pd_user(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw;

	if ((pw = getpwuid(uid)) != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

static const char *
pd_group(gid_t gid, char *buf, size_t len)
{
	struct group *gr;

	if ((gr = getgrgid(gid)) != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "gid %u", (unsigned)gid);
	return buf;
}

/* Whether the caller has gid as its own or a supplementary group. */
static int
pd_in_group(gid_t gid)
{
	gid_t groups[PD_GROUPS_MAX];
	int i, n;

	if (getegid() == gid || getgid() == gid)
		return 1;
	if ((n = getgroups(PD_GROUPS_MAX, groups)) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* path's parent directory into out ("." or "/" at the top). */
static void
pd_parent(const char *path, char *out, size_t len)
{
	char *slash;
	size_t n;

	snprintf(out, len, "%s", path);
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	if ((slash = strrchr(out, '/')) == NULL)
		snprintf(out, len, ".");
	else if (slash == out)
		out[1] = '\0';
	else
		*slash = '\0';
}

/* ------------------------------------------------------------ switch */

/* Becomes uid: its groups (initgroups by name, else the one gid), then
 * gid, then uid; and checks there is no way back to root. */
static int
pd_become(uid_t uid, gid_t gid, const char *name, int named,
    const char **call)
{
	*call = named ? "initgroups" : "setgroups";
	if ((named ? initgroups(name, gid) : setgroups(1, &gid)) != 0)
		return errno;
	*call = "setgid";
	if (setgid(gid) != 0)
		return errno;
	*call = "setuid";
	if (setuid(uid) != 0)
		return errno;
	if (getuid() != uid || geteuid() != uid || getegid() != gid ||
	    setuid(0) == 0)
		return EPERM;
	return 0;
}

int
privdrop_to_owner(const char *state_dir, const char *config,
    const char *cmd, char *err, size_t errlen)
{
	struct passwd *pw;
	struct stat st;
	char name[PD_NAME_MAX];
	const char *call;
	gid_t gid;
	int rc, named;

	/* a state_dir that is not there yet is created by whoever runs */
	if (geteuid() != 0 || stat(state_dir, &st) != 0 || st.st_uid == 0)
		return 0;
	named = (pw = getpwuid(st.st_uid)) != NULL;
	if (named) {
		snprintf(name, sizeof(name), "%s", pw->pw_name);
		gid = pw->pw_gid;
	} else {
		snprintf(name, sizeof(name), "%u", (unsigned)st.st_uid);
		gid = st.st_gid;
	}
	if ((rc = pd_become(st.st_uid, gid, name, named, &call)) != 0) {
		snprintf(err, errlen, "%s belongs to %s%s; run as root, %s "
		    "would leave files %s cannot open, and switching to %s "
		    "failed (%s: %s); run it as %s instead: %s %s -- flagsync "
		    "%s%s%s%s", state_dir, named ? "" : "uid ", name, cmd,
		    name, name, call, strerror(rc), name,
		    named ? "runuser -u" : "setpriv --clear-groups --reuid",
		    name, config ? "-c " : "", config ? config : "",
		    config ? " " : "", cmd);
		return rc;
	}
	log_info("running as %s%s (uid %u), the owner of %s", named ? "" :
	    "uid ", name, (unsigned)st.st_uid, state_dir);
	return 0;
}

/* ------------------------------------------------------------ check */

/* Whether uid can add files to the directory st describes. */
static int
pd_can_write(const char *dir, const struct stat *st, uid_t uid)
{
	struct statvfs vfs;

	if (uid == geteuid())
		return access(dir, W_OK | X_OK) == 0;
	/* root asking for the owner: the owner's mode bits decide */
	if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return 0;
	return uid == st->st_uid && (st->st_mode & S_IWUSR) &&
	    (st->st_mode & S_IXUSR);
}

/* state_dir is not there: its parent must be a directory we may write. */
static int
pd_check_create(const char *dir, char *msg, size_t msglen)
{
	char parent[PATH_MAX], who[PD_NAME_MAX];
	struct stat st;

	pd_parent(dir, parent, sizeof(parent));
	pd_user(geteuid(), who, sizeof(who));
	if (stat(parent, &st) != 0) {
		snprintf(msg, msglen, "%s does not exist and cannot be "
		    "created: %s: %s", dir, parent, strerror(errno));
		return FS_ECONFIG;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, msglen, "%s does not exist and cannot be "
		    "created: %s is not a directory", dir, parent);
		return FS_ECONFIG;
	}
	if (!pd_can_write(parent, &st, geteuid())) {
		snprintf(msg, msglen, "%s does not exist and cannot be "
		    "created: %s is not writable by %s", dir, parent, who);
		return FS_ECONFIG;
	}
	snprintf(msg, msglen, "does not exist; flagsync sync or run (as %s) "
	    "will create it%s", who, geteuid() == 0 ? ", owned by root: for "
	    "the service, create it owned by its user instead" : "");
	return 0;
}

int
privdrop_check_state_dir(const char *dir, char *msg, size_t msglen)
{
	char who[PD_NAME_MAX];
	struct stat st;
	uid_t uid;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return pd_check_create(dir, msg, msglen);
		snprintf(msg, msglen, "cannot look at %s: %s", dir,
		    strerror(errno));
		return FS_ECONFIG;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, msglen, "%s is not a directory", dir);
		return FS_ECONFIG;
	}
	/* as root, sync and run become the owner (privdrop_to_owner) */
	uid = geteuid() == 0 ? st.st_uid : geteuid();
	pd_user(uid, who, sizeof(who));
	if (!pd_can_write(dir, &st, uid)) {
		snprintf(msg, msglen, "%s is not writable by %s, who will run "
		    "sync and run (mode %04o)", dir, who,
		    (unsigned)(st.st_mode & 07777));
		return FS_ECONFIG;
	}
	snprintf(msg, msglen, "exists, writable by %s", who);
	return 0;
}

/* ------------------------------------------------------------ denied */

/* The first of the cache's files the caller cannot use as queries do. */
static int
pd_denied_file(const char *dir, char *path, size_t len, struct stat *st,
    const char **what)
{
	static const char *const names[] = { "data.mdb", "lock.mdb" };
	static const int modes[] = { R_OK, R_OK | W_OK };
	static const char *const whats[] = { "read", "write" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, len, "%s/%s", dir, names[i]);
		if (stat(path, st) == 0 && access(path, modes[i]) != 0) {
			*what = whats[i];
			return 1;
		}
	}
	return 0;
}

void
privdrop_denied_hint(const char *dir, char *out, size_t outlen)
{
	char path[PATH_MAX], owner[PD_NAME_MAX], group[PD_NAME_MAX];
	char fowner[PD_NAME_MAX], fgroup[PD_NAME_MAX];
	struct stat st, fst;
	const char *what;

	if (stat(dir, &st) != 0) {
		snprintf(out, outlen, "Permission denied");
		return;
	}
	pd_user(st.st_uid, owner, sizeof(owner));
	pd_group(st.st_gid, group, sizeof(group));
	if (geteuid() != st.st_uid && !pd_in_group(st.st_gid)) {
		snprintf(out, outlen, "Permission denied (queries need read "
		    "access to data.mdb and write access to lock.mdb: ask to "
		    "be added to the %s group, the group of %s)", group, dir);
		return;
	}
	if (access(dir, X_OK) != 0) {
		snprintf(out, outlen, "Permission denied: %s (mode %04o) "
		    "does not let its group %s in; as root, run chmod 750 %s",
		    dir, (unsigned)(st.st_mode & 07777), group, dir);
		return;
	}
	if (!pd_denied_file(dir, path, sizeof(path), &fst, &what)) {
		snprintf(out, outlen, "Permission denied (you are in the %s "
		    "group of %s already)", group, dir);
		return;
	}
	pd_user(fst.st_uid, fowner, sizeof(fowner));
	pd_group(fst.st_gid, fgroup, sizeof(fgroup));
	snprintf(out, outlen, "Permission denied: %s belongs to %s:%s with "
	    "mode %04o, which you cannot %s though you are in the %s group "
	    "already (a command run as root leaves files so); as root, run "
	    "chown %s:%s %s/data.mdb %s/lock.mdb (the next sync or run "
	    "gives the group its access back)", path, fowner, fgroup,
	    (unsigned)(fst.st_mode & 07777), what, group, owner, group, dir,
	    dir);
}
