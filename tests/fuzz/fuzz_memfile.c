/*
 * fuzz_memfile.c - see fuzz_memfile.h.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <stdio.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_memfile.h"

static int memfile_fd = -1;
static char memfile_path[64];

const char *
fuzz_memfile_put(const uint8_t *data, size_t size)
{
	size_t done;
	ssize_t n;

	if (memfile_fd == -1) {
		if ((memfile_fd = memfd_create("fuzz-input", MFD_CLOEXEC)) ==
		    -1 || fchmod(memfile_fd, 0600) != 0)
			fuzz_fail("memfd_create or fchmod failed");
		snprintf(memfile_path, sizeof(memfile_path),
		    "/proc/self/fd/%d", memfile_fd);
	}
	if (ftruncate(memfile_fd, 0) != 0)
		fuzz_fail("ftruncate of the memfd failed");
	for (done = 0; done < size; done += (size_t)n)
		if ((n = pwrite(memfile_fd, data + done, size - done,
		    (off_t)done)) <= 0)
			fuzz_fail("writing the memfd failed");
	return memfile_path;
}
