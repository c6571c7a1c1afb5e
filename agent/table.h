/*
 * table.h - aligned text tables for people (the non --json output).
 *
 * Cells are copied, escaped for a terminal (utf8_vis(): control
 * characters, invalid UTF-8 and backslashes as \x1b, \xff, \\), and
 * aligned on the escaped text's width; the last column is never padded.
 * table_free() releases everything.
 */
#ifndef FLAGSYNC_TABLE_H
#define FLAGSYNC_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

struct table *table_new(size_t ncols, ...);	/* the header cells */
/* Appends a row of ncols cells (NULL prints as "-"); 0 or ENOMEM. */
int	table_add(struct table *t, ...);
size_t	table_rows(const struct table *t);
void	table_print(const struct table *t, FILE *out);
void	table_free(struct table *t);

#endif
