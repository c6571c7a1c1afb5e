/*
 * error.h - the project's error space, LMDB style.
 *
 * Functions return 0 on success, a positive errno value (ENOMEM, EIO...)
 * for system errors, or one of the FS_E* codes below, which sit in a
 * negative range clear of LMDB's (-30800 ... -30780).
 */
#ifndef FLAGSYNC_ERROR_H
#define FLAGSYNC_ERROR_H

enum fs_error {
	FS_EFIRST = -32100,
	FS_ENOTFOUND = FS_EFIRST,	/* no such flag, issue, workspace... */
	FS_EAUTH,			/* 401/403 from an API */
	FS_EHTTP,			/* an HTTP status we cannot use */
	FS_EPROTO,			/* malformed or inconsistent answer */
	FS_ETIMEOUT,			/* request timed out (after retries) */
	FS_ECANCELED,			/* stop requested */
	FS_ECONFIG,			/* bad configuration */
	FS_ESCHEMA,			/* cache written by another schema */
	FS_ELOCKED,			/* another sync/run holds the lock */
	FS_ERATELIMIT,			/* still rate limited after waiting */
	FS_ENETWORK,			/* connection failed (after retries) */
	FS_EDAMAGED,			/* the cache's files are damaged */
	FS_ELAST
};

/* A static string for any return code of this project, LMDB's included. */
const char *fs_strerror(int rc);

#endif
