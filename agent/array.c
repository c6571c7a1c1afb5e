#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

int
array_grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	if (size == 0)
		return EINVAL;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return EOVERFLOW;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		return EOVERFLOW;
	if ((p = realloc(*v, ncap * size)) == NULL)
		return ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}
