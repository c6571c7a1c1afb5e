/*
 * fuzz_common.h - what several fuzz targets share: quiet logs, and the
 * checks every view that a parser produced must pass.
 */
#ifndef FLAGSYNC_FUZZ_COMMON_H
#define FLAGSYNC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "view.h"

/* libFuzzer's entry points (no header of its own in C). */
int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Logs nothing: a fuzzer prints its own findings. */
void	fuzz_quiet(void);

/*
 * Encodes v, decodes the record and encodes again: the two records must
 * be equal byte for byte (the cache compares records to see a change),
 * and the view must turn into JSON and words.  Aborts when it does not
 * hold, so libFuzzer reports the input.  With FUZZ_RECORD_DIR set in the
 * environment, each record is also written there (seed.sh).
 */
void	fuzz_check_view(const struct flag_view *v);

/* abort() with a one-line reason on stderr. */
void	fuzz_fail(const char *what) __attribute__((noreturn));

#endif
