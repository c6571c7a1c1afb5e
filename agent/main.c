/* main.c - flagsync entry point. */
#include "autoconf.h"

#include "cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
