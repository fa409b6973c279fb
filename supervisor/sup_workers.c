/* sup_workers.c — forking, retiring and respawning the worker processes (see sup_workers.h). */
#include "sup_workers.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "actions/actions.h"
#include "pipeline/worker.h"

#define BACKOFF_FIRST_S   0.1       /* the first respawn after an unexpected exit */
#define BACKOFF_MAX_S     30.0
#define BACKOFF_RESET_S   60.0      /* a worker that ran this long starts the back-off afresh */
#define REPORT_STALE_S    3.0       /* a worker reports once a second: an older report is not ready */

static void slot_start(ks_slot_t *s);

static void
describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "ended with wait status %#x", status);
}

static void
on_report(struct ev_loop *loop, ev_io *io, int revents)
{
    ks_slot_t   *s = io->data;
    ks_report_t  r;
    ssize_t      n;

    (void)revents;
    while ((n = recv(io->fd, &r, sizeof(r), MSG_DONTWAIT)) > 0) {
        if ((size_t)n == sizeof(r) && r.version == KS_REPORT_VERSION) {
            s->report = r;
            s->reported = ev_now(loop);
        }
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        ev_io_stop(loop, io);       /* the worker is gone: its exit arrives through SIGCHLD */
}

static void
on_restart(struct ev_loop *loop, ev_timer *timer, int revents)
{
    ks_slot_t *s = timer->data;

    (void)loop;
    (void)revents;
    if (!s->ws->stopping && s->index < s->ws->wanted && s->pid == 0)
        slot_start(s);
}

/* In the child: what the worker needs, nothing of the supervisor's. */
static void __attribute__((noreturn))
child_run(ks_slot_t *s, int fd)
{
    ks_workers_t     *ws = s->ws;
    ks_worker_opts_t  opts = { .slot = s->index, .generation = ws->generation, .sup_fd = fd,
                               .bootstrap = ws->bootstrap, .executors = ks_action_executors };
    sigset_t          all;

    for (int i = 0; i < ws->nslots; i++) {
        if (ws->slots[i]->fd >= 0)
            close(ws->slots[i]->fd);
    }
    ws->child_setup(ws->ctx);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    ks_log_setup("worker", s->index, (ks_log_level_t)ws->cfg->log.level, ws->cfg->log.format == KS_LOG_JSON);
    if (ws->cfg->cpu_affinity) {
        long      ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET((int)(s->index % (ncpu > 0 ? ncpu : 1)), &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0)
            ks_log_warning("cannot pin to CPU %ld: %s", s->index % (ncpu > 0 ? ncpu : 1), strerror(errno));
    }
    _exit(ks_worker_run(ws->cfg, ws->pool, &opts));
}

static void
slot_start(ks_slot_t *s)
{
    ks_workers_t *ws = s->ws;
    int           sv[2];
    pid_t         pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        ks_log_error("worker %d: socketpair failed: %s; trying again in %.0f s", s->index, strerror(errno),
                     BACKOFF_MAX_S);
        ev_timer_set(&s->restart, BACKOFF_MAX_S, 0.);
        ev_timer_start(ws->loop, &s->restart);
        return;
    }
    fflush(NULL);           /* nothing buffered may be written twice */
    pid = fork();
    if (pid == 0) {
        close(sv[0]);
        child_run(s, sv[1]);
    }
    close(sv[1]);
    if (pid < 0) {
        ks_log_error("worker %d: fork failed: %s; trying again in %.0f s", s->index, strerror(errno),
                     BACKOFF_MAX_S);
        close(sv[0]);
        ev_timer_set(&s->restart, BACKOFF_MAX_S, 0.);
        ev_timer_start(ws->loop, &s->restart);
        return;
    }
    s->pid = pid;
    s->fd = sv[0];
    s->generation = ws->generation;
    s->retiring = false;
    s->started = ev_now(ws->loop);
    memset(&s->report, 0, sizeof(s->report));
    ev_io_init(&s->io, on_report, s->fd, EV_READ);
    s->io.data = s;
    ev_io_start(ws->loop, &s->io);
    ks_log_info("worker %d started: pid %d, generation %u", s->index, (int)pid, ws->generation);
}

/* Asks the worker to stop: end-of-file on its socket. Its reports are still read until it exits. */
static void
slot_retire(ks_slot_t *s)
{
    if (s->pid == 0 || s->retiring)
        return;
    s->retiring = true;
    if (shutdown(s->fd, SHUT_WR) != 0)
        ks_log_warning("worker %d: shutdown of its socket failed: %s", s->index, strerror(errno));
}

static ks_slot_t *
slot_new(ks_workers_t *ws, int index)
{
    ks_slot_t *s = ks_calloc(1, sizeof(*s));

    s->ws = ws;
    s->index = index;
    s->fd = -1;
    ev_init(&s->restart, on_restart);
    s->restart.data = s;
    return s;
}

void
ks_workers_init(ks_workers_t *ws, struct ev_loop *loop, const char *bootstrap, void (*child_setup)(void *ctx),
                void *ctx)
{
    memset(ws, 0, sizeof(*ws));
    ws->loop = loop;
    ws->bootstrap = bootstrap;
    ws->child_setup = child_setup;
    ws->ctx = ctx;
}

/* The CPU quota of a cgroup (v2 "cpu.max", or v1 "cpu.cfs_quota_us" and "cpu.cfs_period_us"), in
 * whole CPUs rounded up; 0 when there is none. */
static int
cgroup_cpus(const char *dir)
{
    char      path[512];
    long long quota = -1, period = 0;
    FILE     *fp;

    snprintf(path, sizeof(path), "%s/cpu.max", dir);
    if ((fp = fopen(path, "r")) != NULL) {
        if (fscanf(fp, "%lld %lld", &quota, &period) != 2)
            quota = -1;         /* "max 100000": no quota */
        fclose(fp);
    } else {
        snprintf(path, sizeof(path), "%s/cpu/cpu.cfs_quota_us", dir);
        if ((fp = fopen(path, "r")) != NULL) {
            if (fscanf(fp, "%lld", &quota) != 1)
                quota = -1;
            fclose(fp);
        }
        snprintf(path, sizeof(path), "%s/cpu/cpu.cfs_period_us", dir);
        if ((fp = fopen(path, "r")) != NULL) {
            if (fscanf(fp, "%lld", &period) != 1)
                period = 0;
            fclose(fp);
        }
    }
    if (quota <= 0 || period <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
}

int
ks_workers_auto(const char *cgroup_dir)
{
    cpu_set_t set;
    int       n = 0, quota = cgroup_cpus(cgroup_dir);

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (quota > 0 && quota < n)
        n = quota;
    return n > 0 ? n : 1;
}

/* This process's cgroup v2 directory (a systemd service's, or a container's root), else the root. */
static const char *
own_cgroup(char *dir, size_t len)
{
    char  line[512];
    FILE *fp = fopen("/proc/self/cgroup", "r");

    snprintf(dir, len, "/sys/fs/cgroup");
    while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, "0::/", 4) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(dir, len, "/sys/fs/cgroup%s", line + 3);
        }
    }
    if (fp != NULL)
        fclose(fp);
    return dir;
}

void
ks_workers_apply(ks_workers_t *ws, const ks_config_t *cfg, const ks_pool_t *pool, unsigned generation)
{
    char cgroup[600];

    ws->cfg = cfg;
    ws->pool = pool;
    ws->generation = generation;
    ws->wanted = cfg->workers > 0 ? cfg->workers : ks_workers_auto(own_cgroup(cgroup, sizeof(cgroup)));
    if (ws->wanted > ws->nslots) {
        ws->slots = ks_realloc(ws->slots, (size_t)ws->wanted * sizeof(*ws->slots));
        for (int i = ws->nslots; i < ws->wanted; i++)
            ws->slots[i] = slot_new(ws, i);
        ws->nslots = ws->wanted;
    }
    for (int i = 0; i < ws->nslots; i++) {
        ks_slot_t *s = ws->slots[i];

        if (i >= ws->wanted) {
            ev_timer_stop(ws->loop, &s->restart);
            slot_retire(s);
        } else if (s->pid != 0 && s->generation != generation) {
            slot_retire(s);             /* its successor starts when it has exited */
        } else if (s->pid == 0 && !ev_is_active(&s->restart)) {
            slot_start(s);
        }
    }
}

void
ks_workers_stop(ks_workers_t *ws)
{
    ws->stopping = true;
    for (int i = 0; i < ws->nslots; i++) {
        ev_timer_stop(ws->loop, &ws->slots[i]->restart);
        slot_retire(ws->slots[i]);
    }
}

void
ks_workers_signal(ks_workers_t *ws, int sig)
{
    for (int i = 0; i < ws->nslots; i++) {
        if (ws->slots[i]->pid != 0)
            kill(ws->slots[i]->pid, sig);
    }
}

bool
ks_workers_reaped(ks_workers_t *ws, pid_t pid, int status)
{
    ks_slot_t *s = NULL;
    char       what[128];
    double     delay;

    for (int i = 0; i < ws->nslots && s == NULL; i++) {
        if (ws->slots[i]->pid == pid)
            s = ws->slots[i];
    }
    if (s == NULL)
        return false;
    on_report(ws->loop, &s->io, EV_READ);           /* its last words */
    ev_io_stop(ws->loop, &s->io);
    close(s->fd);
    ks_report_add(&ws->retired, &s->report);
    memset(&s->report, 0, sizeof(s->report));
    s->fd = -1;
    s->pid = 0;
    describe_status(status, what, sizeof(what));

    if (s->retiring) {
        s->retiring = false;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ks_log_info("worker %d (pid %d) stopped", s->index, (int)pid);
        else
            ks_log_warning("worker %d (pid %d) %s while stopping", s->index, (int)pid, what);
        if (!ws->stopping && s->index < ws->wanted)
            slot_start(s);              /* the next generation takes the slot */
        return true;
    }
    if (ws->stopping || s->index >= ws->wanted) {
        ks_log_warning("worker %d (pid %d) %s", s->index, (int)pid, what);
        return true;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == KS_EXIT_UNFIT) {
        /* its topics do not fit the configuration: another worker would find the same */
        ks_log_error("worker %d (pid %d) %s: the cluster does not fit the configuration; not respawned",
                     s->index, (int)pid, what);
        ws->unfit = true;
        return true;
    }
    /* unexpected: respawn after a back-off that doubles while the worker keeps dying young */
    ws->restarts++;
    if (ev_now(ws->loop) - s->started >= BACKOFF_RESET_S)
        s->failures = 0;
    delay = BACKOFF_FIRST_S;
    for (int i = 0; i < s->failures && delay < BACKOFF_MAX_S; i++)
        delay *= 2;
    if (delay > BACKOFF_MAX_S)
        delay = BACKOFF_MAX_S;
    s->failures++;
    ks_log_error("worker %d (pid %d) %s; respawning in %.1f s (exit %d in a row)", s->index, (int)pid, what,
                 delay, s->failures);
    ev_timer_set(&s->restart, delay, 0.);
    ev_timer_start(ws->loop, &s->restart);
    return true;
}

int
ks_workers_running(const ks_workers_t *ws)
{
    int n = 0;

    for (int i = 0; i < ws->nslots; i++)
        n += ws->slots[i]->pid != 0;
    return n;
}

/* Workers of the current generation in the wanted slots, not retiring; only the ready ones if asked:
 * ready by their newest report, and reporting (a worker reports once a second; one whose loop is
 * stuck — in a Kafka call while the brokers are away, say — is not ready). */
static int
count_current(const ks_workers_t *ws, bool ready_only)
{
    int n = 0;

    for (int i = 0; i < ws->wanted && i < ws->nslots; i++) {
        const ks_slot_t *s = ws->slots[i];

        n += s->pid != 0 && s->generation == ws->generation && !s->retiring
             && (!ready_only || (s->report.ready && ev_now(ws->loop) - s->reported <= REPORT_STALE_S));
    }
    return n;
}

int
ks_workers_up(const ks_workers_t *ws)
{
    return count_current(ws, false);
}

int
ks_workers_ready(const ks_workers_t *ws)
{
    return count_current(ws, true);
}

size_t
ks_workers_reports(const ks_workers_t *ws, ks_report_t *out)
{
    size_t n = 0;

    for (int i = 0; i < ws->nslots; i++) {
        if (ws->slots[i]->pid != 0 && ws->slots[i]->report.version == KS_REPORT_VERSION)
            out[n++] = ws->slots[i]->report;
    }
    return n;
}

void
ks_workers_free(ks_workers_t *ws)
{
    for (int i = 0; i < ws->nslots; i++) {
        ev_timer_stop(ws->loop, &ws->slots[i]->restart);
        ev_io_stop(ws->loop, &ws->slots[i]->io);
        if (ws->slots[i]->fd >= 0)
            close(ws->slots[i]->fd);
        free(ws->slots[i]);
    }
    free(ws->slots);
    ws->slots = NULL;
    ws->nslots = 0;
}
