/* table.c - aligned text tables. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "buf.h"
#include "table.h"
#include "utf8.h"

struct table {
	size_t	 ncols;
	size_t	 nrows;		/* rows include the header */
	size_t	 cap;		/* cells allocated */
	char	**cells;	/* nrows * ncols, escaped */
	size_t	*width;		/* of the escaped text */
};

/* A cell as a terminal may show it: remote text escaped (utf8_vis()). */
static char *
table_cell(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	if (utf8_vis(s, strlen(s), 0, &b) != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static int
table_vadd(struct table *t, va_list ap)
{
	char **p;
	size_t i, w;
	const char *s;
	int rc;

	if ((rc = ARRAY_GROW(t->cells, t->cap, (t->nrows + 1) * t->ncols))
	    != 0)
		return rc;
	p = &t->cells[t->nrows * t->ncols];
	for (i = 0; i < t->ncols; i++) {
		s = va_arg(ap, const char *);
		if ((p[i] = table_cell(s ? s : "-")) == NULL) {
			while (i-- > 0)
				free(p[i]);
			return ENOMEM;
		}
		if ((w = utf8_width(p[i])) > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return 0;
}

struct table *
table_new(size_t ncols, ...)
{
	struct table *t;
	va_list ap;
	int rc;

	if (ncols == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	if ((t->width = calloc(ncols, sizeof(*t->width))) == NULL) {
		free(t);
		return NULL;
	}
	va_start(ap, ncols);
	rc = table_vadd(t, ap);
	va_end(ap);
	if (rc != 0) {
		table_free(t);
		return NULL;
	}
	return t;
}

int
table_add(struct table *t, ...)
{
	va_list ap;
	int rc;

	va_start(ap, t);
	rc = table_vadd(t, ap);
	va_end(ap);
	return rc;
}

size_t
table_rows(const struct table *t)
{
	return t->nrows - 1;
}

void
table_print(const struct table *t, FILE *out)
{
	size_t r, c, pad;
	const char *s;

	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			s = t->cells[r * t->ncols + c];
			fputs(s, out);
			if (c + 1 == t->ncols)
				break;
			pad = t->width[c] - utf8_width(s) + 2;
			while (pad--)
				fputc(' ', out);
		}
		fputc('\n', out);
	}
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}
