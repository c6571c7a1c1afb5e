/*
 * outproc.h - one output plugin instance in its own process.
 *
 * The supervisor (supervise.h) runs `flagsync __outproc CONFIG NAME
 * DIGEST WAKE_FD BOARD_FD LEVEL` through fork and exec: a fresh process
 * that opens its own LMDB environment (an environment never crosses a
 * fork), reads the configuration, keeps only its own [plugin NAME]
 * section and the secrets it may see, loads the one module and runs the
 * delivery loop (deliver.h).  A plugin that crashes or hangs takes only
 * this process down.
 *
 * The two share:
 *   - the wake pipe: the supervisor writes a byte after each commit
 *     (OUTPROC_REOPEN on SIGHUP) and closes it to stop the instance;
 *   - the scoreboard, a struct outproc_board in a memfd both map: what
 *     the instance is delivering (seq, since when), its cursor, and how
 *     far it has caught up.  It outlives the process, so after a crash
 *     the supervisor still reads which event it died on.
 * DIGEST is the supervisor's digest of the section (supervise_digest()):
 * a file changed on disk since the supervisor read it is refused rather
 * than run with settings nobody loaded.
 */
#ifndef FLAGSYNC_OUTPROC_H
#define FLAGSYNC_OUTPROC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define OUTPROC_COMMAND		"__outproc"
#define OUTPROC_REOPEN		'R'	/* on the wake pipe: SIGHUP */
#define OUTPROC_WAKE		'W'	/* on the wake pipe: new events */
#define OUTPROC_EXIT_REFUSED	3	/* load or init() failed: no restart */
#define OUTPROC_EXIT_CONFIG	4	/* the section changed on disk */

struct outproc_board {
	_Atomic uint64_t cursor;	/* last seq taken (maybe not durable) */
	_Atomic uint64_t call_seq;	/* the event inside deliver() */
	_Atomic int64_t	 call_since;	/* ms epoch; 0 outside deliver() */
	_Atomic int	 call_replay;	/* ... is a state-replay item */
	_Atomic bool	 stuck;		/* the supervisor reported it stuck */
	_Atomic bool	 stopping;	/* the supervisor is stopping it */
	_Atomic uint64_t wake_gen;	/* bumped by the supervisor */
	_Atomic uint64_t idle_gen;	/* the wake_gen caught up with */
	_Atomic uint64_t restarts;	/* for the status record */
};

/* The process's main(): argv[0] is OUTPROC_COMMAND.  Returns the exit
 * status. */
int	outproc_main(int argc, char **argv);

#endif
