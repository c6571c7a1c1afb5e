/*
 * fuzz_view_record.c - the cache record decoder: view_decode() of
 * arbitrary bytes (a corrupt or hostile cache) must refuse or succeed
 * without fault, and a record it accepts must be the one view_encode()
 * writes for the decoded view, byte for byte (the cache compares records
 * to decide that a flag did not change).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "view.h"

#include "fuzz_common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flag_view v;
	struct buf rec;

	view_init(&v);
	if (view_decode(&v, data, size) != 0) {
		view_release(&v);
		return 0;
	}
	buf_init(&rec, 0);
	if (view_encode(&v, &rec) != 0)
		fuzz_fail("view_encode failed on a decoded view");
	if (rec.len != size || memcmp(rec.data, data, size) != 0)
		fuzz_fail("an accepted record is not what encode writes");
	buf_release(&rec);
	fuzz_check_view(&v);
	view_release(&v);
	return 0;
}
