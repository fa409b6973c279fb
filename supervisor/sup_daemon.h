/* sup_daemon.h — becoming a daemon: exclusive locks on the pid file and the data directory,
 * detaching from the terminal, dropping privileges.
 *
 * Locks are flock(2) locks on open descriptors that the workers inherit: while any process of an
 * instance lives — a draining worker included — a second instance on the same pid file or dataDir
 * is refused. Everything that can fail is done before detaching, so the error reaches the terminal
 * that started the daemon. */
#ifndef SUP_DAEMON_H
#define SUP_DAEMON_H

#include <stddef.h>

/* Creates dir (and its parents) with mode 0700 if missing. Returns 0, or -1 with a message. */
int ks_daemon_mkdirs(const char *dir, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Opens path (creating it 0644) and takes an exclusive lock on it; what names it in messages ("pid
 * file", "data directory"). Returns the descriptor, or -1 with a message naming the holder's pid
 * when another process holds the lock. */
int ks_daemon_lock(const char *path, const char *what, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Replaces the content of the locked file fd with this process's pid. */
int ks_daemon_write_pid(int fd, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Double fork, setsid, chdir("/"), standard descriptors on /dev/null (stderr too unless keep_stderr).
 * Returns in the daemon only. */
int ks_daemon_detach(int keep_stderr, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Switches to user (name or uid) and its groups, after chowning each of the paths (NULL-terminated)
 * to it; a no-op for "" or when the user is already the current one. */
int ks_daemon_drop_user(const char *user, const char *const *paths, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
