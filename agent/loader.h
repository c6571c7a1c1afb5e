/*
 * loader.h - finding, opening and checking output plugins.
 *
 * A module is NAME (looked up as PLUGINDIR/NAME.so, or in
 * $FLAGSYNC_PLUGIN_DIR when built with --enable-test-hooks) or an absolute
 * path to a .so.  Before it is opened, the file and its directory (and,
 * through a symlink, the real file and its directory) must be owned by
 * root or the running user and not writable by group or others.  It is
 * opened with dlopen(RTLD_NOW | RTLD_LOCAL) and must export
 * `flagsync_plugin` with our ABI major, an ABI minor no newer than ours,
 * a struct_size at least as large as ABI 1.0's, a name and the init,
 * deliver and shutdown callbacks.  Every refusal names the file and what
 * is wrong, with both ABI versions when they differ.
 *
 * A module opened more than once (several instances) is one module: its
 * ABI 1.1 load() runs when the first opening loads it, unload() when the
 * last one closes.
 *
 * Ownership: a struct loaded_plugin owns its dlopen handle; loader_close()
 * dlcloses it.  The descriptor points into the module and is valid until
 * then.
 */
#ifndef FLAGSYNC_LOADER_H
#define FLAGSYNC_LOADER_H

#include <stddef.h>

#include <flagsync/plugin.h>

struct loaded_plugin {
	void	*handle;
	char	*path;		/* the file opened */
	const struct flagsync_plugin *desc;
};

/* True when descriptor p provides the optional member (ABI 1.1 entries
 * lie past a 1.0 descriptor's end: never read them there). */
#define LOADER_HAS(p, member)						\
	((p)->struct_size >= offsetof(struct flagsync_plugin, member) +	\
	    sizeof((p)->member) && (p)->member != NULL)

/* Returns 0 or FS_ECONFIG with one line in err. */
int	loader_open(const char *module, struct loaded_plugin *lp, char *err,
	    size_t errlen);
void	loader_close(struct loaded_plugin *lp);

#endif
