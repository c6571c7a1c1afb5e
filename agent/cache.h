/*
 * cache.h - the LMDB cache: flag views, links, the event log, poll status.
 *
 * One LMDB environment in state_dir (data.mdb, lock.mdb, mode 0660 so the
 * service's group can query it).  Named databases:
 *   meta    "schema" -> u32 CACHE_SCHEMA, "seq" -> u64 last event seq
 *   flags   "PROJECT\0FLAG" -> view record (view.h)
 *   links   "PROJECT\0FLAG\0ISSUE" -> u32 source mask
 *   issues  "ISSUE\0PROJECT\0FLAG" -> u32 source mask (reverse index)
 *   events  u64 big-endian seq -> event JSON text
 *   status  source name -> status JSON text
 *   cursors "INSTANCE" -> u64 last seq the output plugin instance took
 *   dead    "INSTANCE\0" u64 big-endian seq -> dead letter JSON text
 *   kv      "INSTANCE\0KEY" -> a plugin instance's private value
 *   findings "KIND\0..." -> findings.c's records (open and closed
 *           findings, the state each flag is in since when)
 *   istatus "ISSUE" -> a linked Jira issue's status record (issuestatus.h)
 *   owntags "PROJECT\0FLAG\0TAG" -> who in flagsync wrote that Split tag
 * The cache knows nothing of HTTP and does not interpret records or JSON,
 * save an event's leading time (cache_event_time()).
 *
 * Writes go through cache_write(), which runs a callback in one write
 * transaction, commits only if the callback changed something, and on
 * MDB_MAP_FULL aborts, doubles the map and runs the callback again; so
 * callbacks must compute from their argument only and never do network
 * I/O.  Readers (the CLI) open with CACHE_RDONLY and never block the
 * writer.
 *
 * Ownership: pointers returned by get/foreach functions point into the
 * map and are valid only until the transaction ends; never free or modify
 * them.  Strings passed in are copied by LMDB.  Names handed to foreach
 * callbacks (project, flag, instance, key...) are copies valid only
 * during the call.
 */
#ifndef FLAGSYNC_CACHE_H
#define FLAGSYNC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_SCHEMA		1
#define CACHE_RDONLY		0x1
#define CACHE_INITIAL_MAP	(64u * 1024 * 1024)
#define CACHE_KV_KEY_MAX	256			/* bytes, NUL aside */
#define CACHE_KV_VAL_MAX	(1024u * 1024)		/* bytes */

struct cache;
struct cache_txn;

/*
 * Opens (and in write mode creates) the environment in dir.  Returns 0,
 * FS_ENOTFOUND (read-only and no cache yet), FS_ESCHEMA (written by
 * another schema version), EACCES (err says which file and the group to
 * join), or another errno / LMDB code.  err gets one line.
 */
int	cache_open(struct cache **out, const char *dir, int flags, char *err,
	    size_t errlen);
void	cache_close(struct cache *c);

/* Read transactions.  Retry transparently after a map resize by the
 * writer. */
int	cache_read_begin(struct cache *c, struct cache_txn **out);
void	cache_read_end(struct cache_txn *t);

/*
 * Runs fn(txn, arg) in a write transaction.  If fn returns non-zero the
 * transaction is aborted and that value returned.  If fn returns 0 and
 * made no change, the transaction is aborted and 0 returned: nothing is
 * written.  Otherwise it commits.  MDB_MAP_FULL (from fn or the commit)
 * grows the map and reruns fn, up to a limit.
 */
typedef int (*cache_write_fn)(struct cache_txn *t, void *arg);
int	cache_write(struct cache *c, cache_write_fn fn, void *arg);

/*
 * Lets the kernel drop this process's resident pages of the map.  They
 * stay in the page cache and are mapped again on the next access, with
 * the same content (LMDB never rewrites a page a reader may see), so it is
 * safe at any time; a poll calls it while it walks 100k flags to keep its
 * resident set small.
 */
void	cache_release_pages(struct cache *c);

/*
 * Frees the reader slots of processes that died inside a read transaction
 * (a query killed with -9): they pin old pages, so the file grows.  The
 * writer calls it once a cycle; *dead (may be NULL) gets how many.
 */
int	cache_readers_clear(struct cache *c, int *dead);

/*
 * For commands that read the cache: a damaged page can make LMDB, or a
 * reader of a record, fault (past the end of a truncated file, or through
 * a wild page number) before any check sees it.  After this, SIGSEGV or
 * SIGBUS inside an LMDB call or within the map prints "the cache at DIR
 * is damaged ..." and exits 1; any other fault still kills as before.
 * Errors that LMDB reports (a page of the wrong type...) and records that
 * do not decode are FS_EDAMAGED; cache_open() checks data.mdb's meta
 * pages and says "the cache at DIR is damaged: WHY; rebuild it ...".
 */
int	cache_guard(struct cache *c);

/* The directory the cache was opened in, for messages; valid until
 * cache_close(). */
const char *cache_dir(struct cache *c);

/* Current map size and last committed transaction id (benchmark, tests). */
int	cache_info(struct cache *c, size_t *mapsize, uint64_t *last_txnid);

/* Flags.  get returns FS_ENOTFOUND when absent. */
int	cache_flag_get(struct cache_txn *t, const char *project,
	    const char *flag, const void **rec, size_t *len);
int	cache_flag_put(struct cache_txn *t, const char *project,
	    const char *flag, const void *rec, size_t len);
int	cache_flag_del(struct cache_txn *t, const char *project,
	    const char *flag);
/* Stores rec only when the flag has no record: 0 when stored, EEXIST
 * with *old and *oldlen the stored record (valid until the next write
 * in t) when it has one.  One search where a get and a put take two. */
int	cache_flag_add(struct cache_txn *t, const char *project,
	    const char *flag, const void *rec, size_t len, const void **old,
	    size_t *oldlen);
typedef int (*cache_flag_cb)(void *arg, const char *project,
	    const char *flag, const void *rec, size_t len);
/* In key order; project NULL means every project.  A non-zero return
 * from cb stops the walk and is returned. */
int	cache_flag_foreach(struct cache_txn *t, const char *project,
	    cache_flag_cb cb, void *arg);

/* Links.  set with mask 0 deletes; both directions kept in step. */
int	cache_link_get(struct cache_txn *t, const char *project,
	    const char *flag, const char *issue, uint32_t *mask);
int	cache_link_set(struct cache_txn *t, const char *project,
	    const char *flag, const char *issue, uint32_t mask);
/* Sets (add) or clears one source bit of a link's mask, deleting the link
 * when none is left; *old is the mask before, 0 when there was no link. */
int	cache_link_update(struct cache_txn *t, const char *project,
	    const char *flag, const char *issue, uint32_t bit, bool add,
	    uint32_t *old);
typedef int (*cache_link_cb)(void *arg, const char *project,
	    const char *flag, const char *issue, uint32_t mask);
/* project NULL: all links; in (project, flag, issue) order. */
int	cache_link_foreach(struct cache_txn *t, const char *project,
	    cache_link_cb cb, void *arg);
int	cache_link_foreach_flag(struct cache_txn *t, const char *project,
	    const char *flag, cache_link_cb cb, void *arg);
/* In (project, flag) order. */
int	cache_link_foreach_issue(struct cache_txn *t, const char *issue,
	    cache_link_cb cb, void *arg);
/* Distinct issue keys, in order. */
typedef int (*cache_issue_cb)(void *arg, const char *issue);
int	cache_issue_foreach(struct cache_txn *t, cache_issue_cb cb, void *arg);

/* Events.  Sequence numbers start at 1 and have no gaps: put refuses
 * (EINVAL) any seq but last + 1. */
int	cache_event_last(struct cache_txn *t, uint64_t *seq);
int	cache_event_first(struct cache_txn *t, uint64_t *seq);	/* 0 if empty */
int	cache_event_put(struct cache_txn *t, uint64_t seq, const char *json,
	    size_t len);
int	cache_event_get(struct cache_txn *t, uint64_t seq, const char **json,
	    size_t *len);
/* json (here, in cache_event_get and the status functions) is not
 * NUL-terminated: len is authoritative. */
typedef int (*cache_event_cb)(void *arg, uint64_t seq, const char *json,
	    size_t len);
/* Ascending from the first seq > after. */
int	cache_event_foreach(struct cache_txn *t, uint64_t after,
	    cache_event_cb cb, void *arg);
/* Descending from the newest. */
int	cache_event_foreach_reverse(struct cache_txn *t, cache_event_cb cb,
	    void *arg);
/* Deletes events with seq <= upto (the last seq is kept in meta). */
int	cache_event_prune(struct cache_txn *t, uint64_t upto);
/*
 * The event's "time" in ms since the epoch, read without a JSON parser
 * from the text event.h writes: {"seq":SEQ,"time":"YYYY-MM-DDTHH:MM:SSZ",
 * followed by ',' or '}'.  FS_ENOTFOUND when there is no such event,
 * FS_EPROTO when its text does not start that way (another seq, spaces,
 * another time format, an impossible date).
 */
int	cache_event_time(struct cache_txn *t, uint64_t seq, int64_t *ms);

/* Poll status per source ("split:Default", "file", ...). */
int	cache_status_get(struct cache_txn *t, const char *source,
	    const char **json, size_t *len);
int	cache_status_put(struct cache_txn *t, const char *source,
	    const char *json, size_t len);
typedef int (*cache_status_cb)(void *arg, const char *source,
	    const char *json, size_t len);
int	cache_status_foreach(struct cache_txn *t, cache_status_cb cb,
	    void *arg);

/*
 * Output plugin delivery (flagsync-plugin(3)).  Instance names and kv keys are
 * non-empty strings; a key of an instance name plus kv key or seq must
 * fit LMDB's 511 bytes.  As elsewhere, a non-zero return from a callback
 * stops the walk and is returned.  A cache written before these databases
 * existed opens read-only with them empty; a write open creates them.
 */

/* The last seq each instance took.  get: FS_ENOTFOUND, with *seq 0,
 * when never set; del: FS_ENOTFOUND when there was none. */
int	cache_cursor_get(struct cache_txn *t, const char *instance,
	    uint64_t *seq);
int	cache_cursor_put(struct cache_txn *t, const char *instance,
	    uint64_t seq);
int	cache_cursor_del(struct cache_txn *t, const char *instance);
typedef int (*cache_cursor_cb)(void *arg, const char *instance,
	    uint64_t seq);
/* In instance order. */
int	cache_cursor_foreach(struct cache_txn *t, cache_cursor_cb cb,
	    void *arg);

/* Dead letters, {"seq","instance","message","time"}, stored as given
 * (not NUL-terminated: len is authoritative).  put replaces the letter
 * of the same (instance, seq). */
int	cache_dead_put(struct cache_txn *t, const char *instance,
	    uint64_t seq, const char *json, size_t len);
/* FS_ENOTFOUND when there was none. */
int	cache_dead_del(struct cache_txn *t, const char *instance,
	    uint64_t seq);
typedef int (*cache_dead_cb)(void *arg, const char *instance, uint64_t seq,
	    const char *json, size_t len);
/* In (instance, numeric seq) order; instance NULL means every instance. */
int	cache_dead_foreach(struct cache_txn *t, const char *instance,
	    cache_dead_cb cb, void *arg);
/* How many letters instance (NULL: every instance) has; *n is 0 on
 * error. */
int	cache_dead_count(struct cache_txn *t, const char *instance,
	    uint64_t *n);

/*
 * Each instance's private key/value store: keys up to CACHE_KV_KEY_MAX
 * bytes, values up to CACHE_KV_VAL_MAX bytes (EINVAL beyond).  get and
 * del return FS_ENOTFOUND when the key is absent; put replaces.
 */
int	cache_kv_get(struct cache_txn *t, const char *instance,
	    const char *key, const void **val, size_t *len);
int	cache_kv_put(struct cache_txn *t, const char *instance,
	    const char *key, const void *val, size_t len);
int	cache_kv_del(struct cache_txn *t, const char *instance,
	    const char *key);
typedef int (*cache_kv_cb)(void *arg, const char *key, const void *val,
	    size_t len);
/* The keys of one instance, in key order. */
int	cache_kv_foreach(struct cache_txn *t, const char *instance,
	    cache_kv_cb cb, void *arg);

/*
 * Findings (findings.h owns the layout): keys of n non-empty string
 * parts (at most 8), values opaque.  get and del: FS_ENOTFOUND when
 * absent; put writes only when the value differs.  foreach walks, in
 * key order, the keys that start with the nprefix parts of prefix,
 * handing cb each key split into nparts parts (FS_EDAMAGED when a key
 * has another number).
 */
typedef int (*cache_finding_cb)(void *arg, const char *const *parts,
	    const void *val, size_t len);
int	cache_finding_get(struct cache_txn *t, const char *const *parts, int n,
	    const void **val, size_t *len);
int	cache_finding_put(struct cache_txn *t, const char *const *parts, int n,
	    const void *val, size_t len);
int	cache_finding_del(struct cache_txn *t, const char *const *parts, int n);
int	cache_finding_foreach(struct cache_txn *t, const char *const *prefix,
	    int nprefix, int nparts, cache_finding_cb cb, void *arg);

/*
 * Jira issue status records, by issue key; the bytes are issuestatus.c's
 * (the cache does not read them).  get: FS_ENOTFOUND when absent; put
 * writes only when the bytes differ (EINVAL for an empty record); del:
 * FS_ENOTFOUND when there was none.  foreach: in key order.  A cache
 * made before this database opens read-only with it empty.
 */
int	cache_istatus_get(struct cache_txn *t, const char *issue,
	    const void **rec, size_t *len);
int	cache_istatus_put(struct cache_txn *t, const char *issue,
	    const void *rec, size_t len);
int	cache_istatus_del(struct cache_txn *t, const char *issue);
typedef int (*cache_istatus_cb)(void *arg, const char *issue,
	    const void *rec, size_t len);
int	cache_istatus_foreach(struct cache_txn *t, cache_istatus_cb cb,
	    void *arg);

/*
 * Split tags flagsync itself wrote on a flag (the issue key of a flag it
 * created from Jira, the tags the split output keeps in step with the
 * links), so that the split-tag source never counts them as links: a
 * link must not hold itself up.  The value names the writer ("create",
 * or an output instance), at most CACHE_OWNTAG_BY_MAX bytes.  A tag is
 * recorded before it is written to Split and forgotten after it is
 * removed there, so a crash in between leaves at worst a record of a tag
 * that is not there, never a tag of ours that counts as a person's.
 * get: 0 when recorded, FS_ENOTFOUND otherwise; put writes only when the
 * value differs; del: FS_ENOTFOUND when there was none.  foreach: every
 * tag (project NULL), a project's, or one flag's, in key order.  A cache
 * made before this database opens read-only with it empty.
 */
#define CACHE_OWNTAG_BY_MAX	64
int	cache_owntag_get(struct cache_txn *t, const char *project,
	    const char *flag, const char *tag);
int	cache_owntag_put(struct cache_txn *t, const char *project,
	    const char *flag, const char *tag, const char *by);
int	cache_owntag_del(struct cache_txn *t, const char *project,
	    const char *flag, const char *tag);
typedef int (*cache_owntag_cb)(void *arg, const char *project,
	    const char *flag, const char *tag, const char *by);
int	cache_owntag_foreach(struct cache_txn *t, const char *project,
	    const char *flag, cache_owntag_cb cb, void *arg);

/*
 * For tests only: when non-zero, cache_open() uses this initial map size
 * instead of CACHE_INITIAL_MAP, so tests can make the map fill up and
 * grow.  Production code never sets it.
 */
extern size_t cache_test_initial_map;

#endif
