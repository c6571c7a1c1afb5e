/*
 * fuzz_memfile.h - the fuzz input as a file with a path, for the loaders
 * that read a path (flagsync.ini, links.yaml).
 *
 * The file is a memfd (no disk, nothing left behind), mode 0600 so that
 * the config loader's check against world-readable inline secrets does
 * not refuse every input; its path is /proc/self/fd/N.
 */
#ifndef FLAGSYNC_FUZZ_MEMFILE_H
#define FLAGSYNC_FUZZ_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

/* Replaces the file's contents with data; returns its path (static). */
const char *fuzz_memfile_put(const uint8_t *data, size_t size);

#endif
