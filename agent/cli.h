/*
 * cli.h - the command line (flagsync(8)): option parsing and the commands.
 */
#ifndef FLAGSYNC_CLI_H
#define FLAGSYNC_CLI_H

#define EXIT_RUNTIME	1	/* runtime failure or not found */
#define EXIT_USAGE	2	/* usage or configuration error */

/* Runs the command line; returns the process exit status. */
int	cli_main(int argc, char **argv);

#endif
