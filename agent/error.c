/* error.c - words for the project's error codes. */
#include "autoconf.h"

#include <string.h>

#include <lmdb.h>

#include "error.h"

const char *
fs_strerror(int rc)
{
	static const char *const msg[] = {
		"not found",
		"authentication failed",
		"unexpected HTTP status",
		"malformed answer",
		"timed out",
		"canceled",
		"configuration error",
		"cache schema mismatch",
		"locked by another process",
		"rate limited",
		"network error",
		"the cache is damaged (rebuild it: flagsync rebuild)",
	};

	if (rc == 0)
		return "success";
	if (rc >= FS_EFIRST && rc < FS_ELAST)
		return msg[rc - FS_EFIRST];
	if (rc < 0)
		return mdb_strerror(rc);
	return strerror(rc);
}
