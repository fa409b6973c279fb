/* sup_daemon.c — pid file and data directory locks, detaching, dropping privileges. */
#include "sup_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
ks_daemon_mkdirs(const char *dir, char *err, size_t errlen)
{
    char path[4096];

    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    for (char *p = path + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;

        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir(\"%s\") failed: %s", path, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    return 0;
}

int
ks_daemon_lock(const char *path, const char *what, char *err, size_t errlen)
{
    int  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    char holder[32] = "";

    if (fd < 0) {
        snprintf(err, errlen, "cannot open the %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    if (errno == EWOULDBLOCK) {
        ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);

        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\r\n")] = '\0';
        snprintf(err, errlen, "another ksensord%s%s%s holds the %s %s; refusing to start a second instance",
                 holder[0] ? " (pid " : "", holder, holder[0] ? ")" : "", what, path);
    } else {
        snprintf(err, errlen, "cannot lock the %s %s: %s", what, path, strerror(errno));
    }
    close(fd);
    return -1;
}

int
ks_daemon_write_pid(int fd, char *err, size_t errlen)
{
    char    buf[32];
    int     n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write the pid file: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int
ks_daemon_detach(int keep_stderr, char *err, size_t errlen)
{
    pid_t pid;
    int   null;

    fflush(NULL);
    if ((pid = fork()) < 0)
        goto fail;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        goto fail;
    if ((pid = fork()) < 0)     /* no longer a session leader: never gets a controlling terminal */
        goto fail;
    if (pid > 0)
        _exit(0);
    if (chdir("/") != 0)
        goto fail;
    if ((null = open("/dev/null", O_RDWR)) < 0)
        goto fail;
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (!keep_stderr)
        dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO)
        close(null);
    return 0;
fail:
    snprintf(err, errlen, "cannot become a daemon: %s", strerror(errno));
    return -1;
}

int
ks_daemon_drop_user(const char *user, const char *const *paths, char *err, size_t errlen)
{
    struct passwd *pw;
    char          *end;

    if (user[0] == '\0')
        return 0;
    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        unsigned long uid = strtoul(user, &end, 10);

        if (*end == '\0')
            pw = getpwuid((uid_t)uid);
    }
    if (pw == NULL) {
        snprintf(err, errlen, "user %s: no such user", user);
        return -1;
    }
    if (pw->pw_uid == geteuid())
        return 0;
    for (; paths != NULL && *paths != NULL; paths++) {
        if ((*paths)[0] != '\0' && chown(*paths, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "chown(\"%s\") to %s failed: %s", *paths, user, strerror(errno));
            return -1;
        }
    }
    if (setgroups(0, NULL) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0
        || setuid(pw->pw_uid) != 0) {
        snprintf(err, errlen, "cannot switch to user %s: %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        snprintf(err, errlen, "switching to user %s did not drop root", user);
        return -1;
    }
    return 0;
}
