/*
 * array.h - one checked way to grow an array.
 *
 * array_grow() makes room for at least need elements of size bytes in *v,
 * whose capacity is *cap elements.  It doubles (from 16), refuses sizes
 * whose byte count would overflow, and leaves *v and *cap untouched on
 * failure, so the caller still owns and frees the old array.
 */
#ifndef FLAGSYNC_ARRAY_H
#define FLAGSYNC_ARRAY_H

#include <stddef.h>

/* 0, ENOMEM, or EOVERFLOW when need * size does not fit a size_t. */
int	array_grow(void **v, size_t *cap, size_t need, size_t size);

/* ARRAY_GROW(p, cap, need): p is a typed pointer lvalue. */
#define ARRAY_GROW(p, cap, need) \
	array_grow((void **)&(p), &(cap), (need), sizeof(*(p)))

#endif
