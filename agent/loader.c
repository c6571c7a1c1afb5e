/* loader.c - finding, opening and checking output plugins. */
#include "autoconf.h"

#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "error.h"
#include "loader.h"

/* The size of struct flagsync_plugin in ABI 1.0: what every plugin has. */
#define LOADER_MIN_SIZE	(offsetof(struct flagsync_plugin, shutdown) + \
	sizeof(((struct flagsync_plugin *)0)->shutdown))

/* Modules open now, with how many openings share each dlopen handle. */
struct loader_ref {
	void	*handle;
	size_t	 refs;
};

static pthread_mutex_t loader_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct loader_ref *loader_refs;
static size_t loader_nrefs, loader_refs_cap;

static struct loader_ref *
loader_ref_find(void *handle)
{
	size_t i;

	for (i = 0; i < loader_nrefs; i++)
		if (loader_refs[i].handle == handle)
			return &loader_refs[i];
	return NULL;
}

/*
 * Counts one more opening of lp's module; the first one runs its load().
 * 0, or FS_ECONFIG / ENOMEM with a line in err.
 */
static int
loader_ref_take(struct loaded_plugin *lp, char *err, size_t errlen)
{
	const struct flagsync_plugin *p = lp->desc;
	struct loader_ref *r;
	char why[512];
	int rc = 0;

	pthread_mutex_lock(&loader_mtx);
	if ((r = loader_ref_find(lp->handle)) != NULL) {
		r->refs++;
		goto unlock;
	}
	if ((rc = ARRAY_GROW(loader_refs, loader_refs_cap,
	    loader_nrefs + 1)) != 0) {
		snprintf(err, errlen, "%s: cannot load: %s", lp->path,
		    strerror(rc));
		goto unlock;
	}
	if (LOADER_HAS(p, load)) {
		err[0] = '\0';
		if (p->load(err, errlen) != 0) {
			/* the plugin's words go after the file name */
			err[errlen - 1] = '\0';
			snprintf(why, sizeof(why), "%s", err[0] ? err :
			    "no reason given");
			snprintf(err, errlen, "%s: the module's load() "
			    "refused: %s", lp->path, why);
			rc = FS_ECONFIG;
			goto unlock;
		}
	}
	loader_refs[loader_nrefs].handle = lp->handle;
	loader_refs[loader_nrefs].refs = 1;
	loader_nrefs++;
unlock:
	pthread_mutex_unlock(&loader_mtx);
	return rc;
}

/* One opening less; the last one runs the module's unload(). */
static void
loader_ref_drop(struct loaded_plugin *lp)
{
	struct loader_ref *r;

	pthread_mutex_lock(&loader_mtx);
	if ((r = loader_ref_find(lp->handle)) != NULL && --r->refs == 0) {
		if (LOADER_HAS(lp->desc, unload))
			lp->desc->unload();
		*r = loader_refs[--loader_nrefs];
	}
	pthread_mutex_unlock(&loader_mtx);
}

static int
loader_path(const char *module, char **path, char *err, size_t errlen)
{
	const char *dir;
	size_t n;

	if (module[0] == '/') {
		*path = strdup(module);
		return *path ? 0 : ENOMEM;
	}
	if (strchr(module, '/') != NULL || module[0] == '\0') {
		snprintf(err, errlen, "module '%s': give a name (looked up in "
		    "the plugin directory) or an absolute path", module);
		return FS_ECONFIG;
	}
	dir = PLUGINDIR;
#ifdef FLAGSYNC_TEST_HOOKS
	if (getenv("FLAGSYNC_PLUGIN_DIR") != NULL &&
	    getenv("FLAGSYNC_PLUGIN_DIR")[0] != '\0')
		dir = getenv("FLAGSYNC_PLUGIN_DIR");
#endif
	n = strlen(dir) + strlen(module) + 5;
	if ((*path = malloc(n)) == NULL)
		return ENOMEM;
	snprintf(*path, n, "%s/%s.so", dir, module);
	return 0;
}

/*
 * Whoever can write a module or its directory runs code as flagsync: only
 * root and the running user may own them, and neither may be writable by
 * group or others.  path names the file or directory, module the module
 * (for a directory's message).
 */
static int
loader_trust(const char *path, const char *module, char *err, size_t errlen)
{
	const char *of = module ? " from it" : "";
	struct stat st;
	uid_t me = geteuid();

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: cannot check before loading%s%s: %s",
		    path, of, module ? module : "", strerror(errno));
		return FS_ECONFIG;
	}
	if (!module && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: refusing to load: not a regular "
		    "file", path);
		return FS_ECONFIG;
	}
	if (st.st_uid != 0 && st.st_uid != me) {
		snprintf(err, errlen, "%s: refusing to load%s%s: owned by uid "
		    "%u, not root or uid %u; run chown root %s", path,
		    module ? " " : "", module ? module : "",
		    (unsigned)st.st_uid, (unsigned)me, path);
		return FS_ECONFIG;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: refusing to load%s%s: writable by "
		    "group or others (mode %o); run chmod go-w %s", path,
		    module ? " " : "", module ? module : "",
		    (unsigned)(st.st_mode & 07777), path);
		return FS_ECONFIG;
	}
	return 0;
}

/* The module file, its directory, and those of the file a symlink names. */
static int
loader_trust_all(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX], real[PATH_MAX];
	int rc;

	if ((rc = loader_trust(path, NULL, err, errlen)) != 0)
		return rc;
	snprintf(buf, sizeof(buf), "%s", path);
	if ((rc = loader_trust(dirname(buf), path, err, errlen)) != 0)
		return rc;
	if (realpath(path, real) == NULL) {
		snprintf(err, errlen, "%s: cannot resolve before loading: %s",
		    path, strerror(errno));
		return FS_ECONFIG;
	}
	if (strcmp(real, path) == 0)
		return 0;
	if ((rc = loader_trust(real, NULL, err, errlen)) != 0)
		return rc;
	snprintf(buf, sizeof(buf), "%s", real);
	return loader_trust(dirname(buf), real, err, errlen);
}

/* Refuses a descriptor this host cannot drive, saying why. */
static int
loader_check(const struct loaded_plugin *lp, char *err, size_t errlen)
{
	const struct flagsync_plugin *p = lp->desc;

	if (p->abi_major != FLAGSYNC_PLUGIN_ABI_MAJOR) {
		snprintf(err, errlen, "%s: plugin ABI %u.%u, but this flagsync "
		    "speaks ABI %u.%u: rebuild the plugin against this "
		    "flagsync's <flagsync/plugin.h>", lp->path, p->abi_major,
		    p->abi_minor, FLAGSYNC_PLUGIN_ABI_MAJOR,
		    FLAGSYNC_PLUGIN_ABI_MINOR);
		return FS_ECONFIG;
	}
	if (p->abi_minor > FLAGSYNC_PLUGIN_ABI_MINOR) {
		snprintf(err, errlen, "%s: plugin built for ABI %u.%u, newer "
		    "than this flagsync's %u.%u: upgrade flagsync", lp->path,
		    p->abi_major, p->abi_minor, FLAGSYNC_PLUGIN_ABI_MAJOR,
		    FLAGSYNC_PLUGIN_ABI_MINOR);
		return FS_ECONFIG;
	}
	if (p->struct_size < LOADER_MIN_SIZE) {
		snprintf(err, errlen, "%s: plugin descriptor is %zu bytes, "
		    "ABI %u.0 needs at least %zu", lp->path, p->struct_size,
		    FLAGSYNC_PLUGIN_ABI_MAJOR, (size_t)LOADER_MIN_SIZE);
		return FS_ECONFIG;
	}
	if (p->name == NULL || p->init == NULL || p->deliver == NULL ||
	    p->shutdown == NULL) {
		snprintf(err, errlen, "%s: plugin descriptor lacks %s", lp->path,
		    p->name == NULL ? "a name" : p->init == NULL ? "init()" :
		    p->deliver == NULL ? "deliver()" : "shutdown()");
		return FS_ECONFIG;
	}
	return 0;
}

int
loader_open(const char *module, struct loaded_plugin *lp, char *err,
    size_t errlen)
{
	const char *why;
	int rc;

	memset(lp, 0, sizeof(*lp));
	if ((rc = loader_path(module, &lp->path, err, errlen)) != 0)
		return rc;
	if (access(lp->path, F_OK) == -1) {
		snprintf(err, errlen, "%s: no such plugin file (module '%s')",
		    lp->path, module);
		rc = FS_ECONFIG;
		goto path_free;
	}
	if ((rc = loader_trust_all(lp->path, err, errlen)) != 0)
		goto path_free;
	if ((lp->handle = dlopen(lp->path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		snprintf(err, errlen, "%s: cannot load: %s", lp->path,
		    why ? why : "unknown error");
		rc = FS_ECONFIG;
		goto path_free;
	}
	dlerror();
	lp->desc = dlsym(lp->handle, FLAGSYNC_PLUGIN_SYMBOL);
	if (lp->desc == NULL) {
		snprintf(err, errlen, "%s: no '%s' symbol: not a flagsync "
		    "plugin (see <flagsync/plugin.h>)", lp->path,
		    FLAGSYNC_PLUGIN_SYMBOL);
		rc = FS_ECONFIG;
		goto handle_close;
	}
	if ((rc = loader_check(lp, err, errlen)) != 0 ||
	    (rc = loader_ref_take(lp, err, errlen)) != 0)
		goto handle_close;
	return 0;
handle_close:
	dlclose(lp->handle);
path_free:
	free(lp->path);
	memset(lp, 0, sizeof(*lp));
	return rc;
}

void
loader_close(struct loaded_plugin *lp)
{
	if (lp->handle) {
		loader_ref_drop(lp);
		dlclose(lp->handle);
	}
	free(lp->path);
	memset(lp, 0, sizeof(*lp));
}
