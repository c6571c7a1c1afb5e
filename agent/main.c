/* main.c - flagsync entry point. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "outproc.h"
#include "scrub.h"

int
main(int argc, char **argv)
{
	/* Before anything is printed: every byte to stderr, from the CLI's
	 * messages to a plugin's own prints, passes the scrubber. */
	if (scrub_stderr() != 0)
		fputs("flagsync: cannot filter stderr; continuing without\n",
		    stderr);
	/* an output instance's process, started by the supervisor */
	if (argc > 1 && strcmp(argv[1], OUTPROC_COMMAND) == 0)
		return outproc_main(argc - 1, argv + 1);
	return cli_main(argc, argv);
}
