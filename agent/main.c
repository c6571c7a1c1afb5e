/* main.c - flagsync entry point. */
#include "autoconf.h"

#include <stdio.h>

#include "cli.h"
#include "scrub.h"

int
main(int argc, char **argv)
{
	/* Before anything is printed: every byte to stderr, from the CLI's
	 * messages to a plugin's own prints, passes the scrubber. */
	if (scrub_stderr() != 0)
		fputs("flagsync: cannot filter stderr; continuing without\n",
		    stderr);
	return cli_main(argc, argv);
}
