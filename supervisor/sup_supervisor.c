/* sup_supervisor.c — the daemon's life: start, reload, stop (see sup_supervisor.h). */
#include "sup_supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <systemd/sd-daemon.h>

#include "core/log.h"
#include "core/mem.h"
#include "sensor/load.h"
#include "sup_daemon.h"
#include "sup_embedded.h"
#include "sup_http.h"
#include "sup_metrics.h"
#include "sup_workers.h"

#define MAX_FIXED_KEYS 32

typedef struct supervisor {
    struct ev_loop *loop;
    const char     *path;
    ks_config_t    *cfg;                /* the running generation's */
    ks_pool_t      *pool;
    ks_workers_t    workers;
    ks_embedded_t   embedded;
    ks_http_t      *http;
    int             sigfd;
    ev_io           sig_io;
    ev_timer        shutdown_timer;
    ev_timer        status_timer;
    int             pid_fd, data_fd;
    char           *pid_path;
    bool            stopping;
    int             exit_code;
    int             last_ready;         /* for sd_notify STATUS */
    unsigned        ready_logged;       /* the last generation whose readiness was logged */
    ks_sup_stats_t  stats;
} supervisor_t;

int
ks_supervisor_load(const char *path, ks_config_t **cfgp, ks_pool_t **poolp, ks_diag_t *diag)
{
    ks_config_t *cfg = ks_config_load(path, diag);
    ks_pool_t   *pool;

    if (cfg == NULL)
        return -1;
    pool = ks_calloc(1, sizeof(*pool));
    if (ks_pool_load_glob(pool, cfg->sensors, diag) > 0) {
        ks_pool_free(pool);
        free(pool);
        ks_config_free(cfg);
        return -1;
    }
    ks_pool_index(pool);
    *cfgp = cfg;
    *poolp = pool;
    return 0;
}

static void
pool_destroy(ks_pool_t *pool)
{
    ks_pool_free(pool);
    free(pool);
}

static void
notify_status(supervisor_t *sv, const char *state)
{
    sd_notifyf(0, "%sSTATUS=generation %u: %d of %d workers ready, %zu sensors", state, sv->stats.generation,
               ks_workers_ready(&sv->workers), sv->workers.wanted, sv->pool->nsensors);
}

/* In every forked child: the supervisor's descriptors must not live on there (the pid file and
 * dataDir locks are inherited on purpose: they are held while any process of the instance lives). */
static void
child_setup(void *ctx)
{
    supervisor_t *sv = ctx;

    close(sv->sigfd);
    if (sv->loop != NULL)
        ev_loop_destroy(sv->loop);      /* closes its kernel state; no watcher is touched */
    if (sv->http != NULL)
        ks_http_close_after_fork(sv->http);
    if (sv->embedded.ctl >= 0)
        close(sv->embedded.ctl);
}

static void
finish_if_done(supervisor_t *sv)
{
    if (!sv->stopping || ks_workers_running(&sv->workers) > 0)
        return;
    ks_log_notice("every worker has stopped");
    ev_break(sv->loop, EVBREAK_ALL);
}

static void
begin_stop(supervisor_t *sv, const char *why, int code)
{
    if (sv->stopping) {
        ks_log_warning("%s while stopping: killing the %d remaining workers", why, ks_workers_running(&sv->workers));
        ks_workers_signal(&sv->workers, SIGKILL);
        sv->exit_code = 1;
        return;
    }
    sv->stopping = true;
    sv->exit_code = code;
    sd_notify(0, "STOPPING=1");
    ks_log_notice("%s: stopping; the workers finish their batch and exit (shutdownTimeout %.1f s)", why,
                  (double)sv->cfg->shutdown_timeout_ms / 1000.);
    ks_workers_stop(&sv->workers);
    ev_timer_set(&sv->shutdown_timer, (double)sv->cfg->shutdown_timeout_ms / 1000., 0.);
    ev_timer_start(sv->loop, &sv->shutdown_timer);
    finish_if_done(sv);
}

static void
on_shutdown_timeout(struct ev_loop *loop, ev_timer *timer, int revents)
{
    supervisor_t *sv = timer->data;

    (void)loop;
    (void)revents;
    ks_log_error("%d workers still running after shutdownTimeout: killing them", ks_workers_running(&sv->workers));
    ks_workers_signal(&sv->workers, SIGKILL);
    sv->exit_code = 1;
}

/* SIGHUP: a new generation, or — on any problem — the running one unchanged. */
static void
reload(supervisor_t *sv)
{
    ks_diag_t    diag = {0};
    ks_config_t *cfg;
    ks_pool_t   *pool;
    const char  *fixed[MAX_FIXED_KEYS];
    size_t       nfixed;

    if (sv->stopping)
        return;
    sd_notify(0, "RELOADING=1");
    ks_log_notice("SIGHUP: reloading %s", sv->path);
    if (ks_supervisor_load(sv->path, &cfg, &pool, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            ks_log_error("%s", diag.msgs[i]);
        ks_log_error("reload refused (%zu problem%s): generation %u keeps running unchanged", diag.n,
                     diag.n == 1 ? "" : "s", sv->stats.generation);
        ks_diag_free(&diag);
        sv->stats.reloads_failed++;
        notify_status(sv, "READY=1\n");
        return;
    }
    nfixed = ks_config_keep_fixed(cfg, sv->cfg, fixed, MAX_FIXED_KEYS);
    for (size_t i = 0; i < nfixed && i < MAX_FIXED_KEYS; i++)
        ks_log_warning("reload: %s changed; the running value stays until ksensord restarts", fixed[i]);
    for (size_t i = 0; i < pool->warnings.n; i++)
        ks_log_warning("%s", pool->warnings.msgs[i]);
    ks_log_setup("supervisor", -1, (ks_log_level_t)cfg->log.level, cfg->log.format == KS_LOG_JSON);
    if (strcmp(cfg->log.file, sv->cfg->log.file) != 0 && ks_log_open(cfg->log.file) != 0)
        ks_log_error("reload: cannot open the log file %s; logging goes on where it was", cfg->log.file);

    sv->stats.generation++;
    sv->stats.reloads_ok++;
    ks_workers_apply(&sv->workers, cfg, pool, sv->stats.generation);
    ks_config_free(sv->cfg);
    pool_destroy(sv->pool);
    sv->cfg = cfg;
    sv->pool = pool;
    ks_log_notice("generation %u: %zu sensors; the workers are being replaced", sv->stats.generation,
                  pool->nsensors);
    notify_status(sv, "READY=1\n");
}

static void
reap(supervisor_t *sv)
{
    pid_t pid;
    int   status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == sv->embedded.pid) {
            sv->embedded.pid = 0;
            ks_log_error("the embedded broker exited (wait status %#x): stopping", status);
            if (!sv->stopping)
                begin_stop(sv, "embedded broker gone", 1);
            continue;
        }
        ks_workers_reaped(&sv->workers, pid, status);
        if (sv->workers.unfit && !sv->stopping)
            begin_stop(sv, "an internal topic does not fit the configuration", 1);
    }
    finish_if_done(sv);
}

static void
on_signal(struct ev_loop *loop, ev_io *io, int revents)
{
    supervisor_t            *sv = io->data;
    struct signalfd_siginfo  si;

    (void)loop;
    (void)revents;
    while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            reap(sv);
            break;
        case SIGHUP:
            reload(sv);
            break;
        case SIGTERM:
        case SIGINT:
            begin_stop(sv, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", 0);
            break;
        case SIGUSR1:
            if (ks_log_open(sv->cfg->log.file) != 0)
                ks_log_error("SIGUSR1: cannot reopen the log file; logging goes on where it was");
            else
                ks_log_notice("SIGUSR1: log file reopened; the workers reopen theirs");
            ks_workers_signal(&sv->workers, SIGUSR1);
            break;
        }
    }
}

/* Once a second: readiness changes are logged and told to systemd. */
static void
on_status_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    supervisor_t *sv = timer->data;
    int           ready = ks_workers_ready(&sv->workers);

    (void)loop;
    (void)revents;
    if (sv->stopping)
        return;
    if (ready == sv->workers.wanted && sv->ready_logged != sv->stats.generation) {
        ks_log_notice("generation %u: all %d workers ready", sv->stats.generation, ready);
        sv->ready_logged = sv->stats.generation;
    }
    if (ready != sv->last_ready) {
        sv->last_ready = ready;
        notify_status(sv, "");
    }
}

static int
on_http(void *ctx, const char *path, char **body, size_t *len, const char **type)
{
    supervisor_t *sv = ctx;

    if (strcmp(path, "/healthz") == 0) {
        *body = ks_strdup(sv->stopping ? "stopping\n" : "ok\n");
        *len = strlen(*body);
        return sv->stopping ? 503 : 200;
    }
    if (strcmp(path, "/readyz") == 0) {
        int ready = ks_workers_ready(&sv->workers), wanted = sv->workers.wanted;

        if (!sv->stopping && ready == wanted) {
            *body = ks_asprintf("ready: %d of %d workers, generation %u\n", ready, wanted, sv->stats.generation);
            *len = strlen(*body);
            return 200;
        }
        *body = ks_asprintf("not ready: %d of %d workers ready, generation %u%s\n", ready, wanted,
                            sv->stats.generation, sv->stopping ? ", stopping" : "");
        *len = strlen(*body);
        return 503;
    }
    if (strcmp(path, "/metrics") == 0) {
        ks_report_t *live = ks_calloc((size_t)sv->workers.nslots + 1, sizeof(*live));
        size_t       n = ks_workers_reports(&sv->workers, live);

        sv->stats.worker_restarts = sv->workers.restarts;
        sv->stats.workers_wanted = sv->workers.wanted;
        sv->stats.workers_up = ks_workers_up(&sv->workers);
        sv->stats.workers_ready = ks_workers_ready(&sv->workers);
        sv->stats.sensors = sv->pool->nsensors;
        *body = ks_metrics_render(live, n, &sv->workers.retired, &sv->stats, len);
        *type = KS_METRICS_CONTENT_TYPE;
        free(live);
        return 200;
    }
    *body = ks_strdup("not found: try /healthz, /readyz or /metrics\n");
    *len = strlen(*body);
    return 404;
}

/* What can fail is done before detaching, so that the message reaches whoever started us. */
static int
prepare(supervisor_t *sv, bool foreground)
{
    char        err[1024], lock[4096];
    const char *owned[4];

    umask(077);             /* dataDir 0700, SQLite files 0600 */
    if (ks_daemon_mkdirs(sv->cfg->data_dir, err, sizeof(err)) != 0)
        goto fail;
    if ((sv->pid_fd = ks_daemon_lock(sv->cfg->pid_file, "pid file", err, sizeof(err))) < 0)
        goto fail;
    snprintf(lock, sizeof(lock), "%s/ksensord.lock", sv->cfg->data_dir);
    if ((sv->data_fd = ks_daemon_lock(lock, "data directory lock", err, sizeof(err))) < 0)
        goto fail;
    if ((sv->http = ks_http_listen(sv->cfg->listen, err, sizeof(err))) == NULL)
        goto fail;
    if (!foreground && ks_daemon_detach(sv->cfg->log.file[0] == '\0', err, sizeof(err)) != 0)
        goto fail;
    if (ks_daemon_write_pid(sv->pid_fd, err, sizeof(err)) != 0 || ks_daemon_write_pid(sv->data_fd, err, sizeof(err)) != 0)
        goto fail;
    owned[0] = sv->cfg->data_dir;
    owned[1] = lock;
    owned[2] = sv->cfg->log.file;
    owned[3] = NULL;
    if (ks_daemon_drop_user(sv->cfg->user, owned, err, sizeof(err)) != 0)
        goto fail;
    return 0;
fail:
    ks_log_error("%s", err);
    if (sv->cfg->log.file[0] != '\0')     /* whoever started us must see why, not only the log file */
        fprintf(stderr, "ksensord: %s\n", err);
    return -1;
}

static int
signals_setup(supervisor_t *sv)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0
        || (sv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        ks_log_error("signalfd failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void
remove_runtime_file(const ks_config_t *cfg, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, name);
    if (unlink(path) != 0 && errno != ENOENT)
        ks_log_warning("cannot remove %s: %s", path, strerror(errno));
}

/* The HTTP listener's address as bound (a port 0 in `listen` becomes the one chosen) goes to
 * <dataDir>/http-listener, where `ksensorctl status` finds it. */
static void
write_listener(supervisor_t *sv)
{
    const char *listen = sv->cfg->listen, *colon = strrchr(listen, ':');
    char        path[4096];
    FILE       *fp;

    snprintf(path, sizeof(path), "%s/http-listener", sv->cfg->data_dir);
    if ((fp = fopen(path, "w")) == NULL
        || fprintf(fp, "%.*s:%d\n", (int)(colon - listen), listen, ks_http_port(sv->http)) < 0 || fclose(fp) != 0)
        ks_log_warning("cannot write %s: %s", path, strerror(errno));
}

/* The embedded broker: its address also goes to <dataDir>/embedded-broker for `ksensorctl emit`. */
static int
embedded_start(supervisor_t *sv)
{
    char  err[512], path[4096];
    FILE *fp;

    ks_log_warning("eventbus.brokers is \"embedded\": an in-memory broker for trying ksensor out; it keeps "
                   "nothing across restarts and gives none of the guarantees");
    if (ks_embedded_start(&sv->embedded, sv->cfg, sv->pool, child_setup, sv, err, sizeof(err)) != 0) {
        ks_log_error("%s", err);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/embedded-broker", sv->cfg->data_dir);
    if ((fp = fopen(path, "w")) == NULL || fprintf(fp, "%s\n", sv->embedded.bootstrap) < 0 || fclose(fp) != 0)
        ks_log_warning("cannot write %s: %s", path, strerror(errno));
    ks_log_notice("embedded broker: pid %d, bootstrap %s (written to %s)", (int)sv->embedded.pid,
                  sv->embedded.bootstrap, path);
    return 0;
}

int
ks_supervisor_run(ks_config_t *cfg, ks_pool_t *pool, const char *path, bool foreground)
{
    supervisor_t sv = { .path = path, .cfg = cfg, .pool = pool, .sigfd = -1, .pid_fd = -1, .data_fd = -1,
                        .embedded = { .ctl = -1 }, .exit_code = 1, .last_ready = -1 };
    bool         embedded = strcmp(cfg->eventbus.brokers, "embedded") == 0;

    sv.stats.generation = 1;
    sv.stats.start_time = (double)time(NULL);
    if (prepare(&sv, foreground) != 0 || signals_setup(&sv) != 0)
        goto out;
    sv.pid_path = ks_strdup(cfg->pid_file);
    if ((sv.loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
        ks_log_error("cannot create the event loop");
        goto out;
    }
    ks_log_notice("ksensord %s: supervisor pid %d, configuration %s, pool %s, %zu sensors, http port %d",
                  KS_VERSION, (int)getpid(), path, cfg->pool, pool->nsensors, ks_http_port(sv.http));
    write_listener(&sv);
    if (embedded && embedded_start(&sv) != 0)
        goto out;
    ev_io_init(&sv.sig_io, on_signal, sv.sigfd, EV_READ);
    sv.sig_io.data = &sv;
    ev_io_start(sv.loop, &sv.sig_io);
    ev_init(&sv.shutdown_timer, on_shutdown_timeout);
    sv.shutdown_timer.data = &sv;
    ev_timer_init(&sv.status_timer, on_status_timer, 1., 1.);
    sv.status_timer.data = &sv;
    ev_timer_start(sv.loop, &sv.status_timer);

    ks_workers_init(&sv.workers, sv.loop, embedded ? sv.embedded.bootstrap : NULL, child_setup, &sv);
    ks_workers_apply(&sv.workers, sv.cfg, sv.pool, sv.stats.generation);
    ks_http_start(sv.http, sv.loop, on_http, &sv);
    notify_status(&sv, "READY=1\n");

    ev_run(sv.loop, 0);
    ks_log_notice("ksensord stopped (exit status %d)", sv.exit_code);

out:
    if (sv.embedded.pid > 0) {
        ks_embedded_stop(&sv.embedded);
        waitpid(sv.embedded.pid, NULL, 0);
    }
    ks_http_free(sv.http);
    if (sv.loop != NULL) {
        ks_workers_free(&sv.workers);
        ev_loop_destroy(sv.loop);
    }
    if (sv.pid_path != NULL) {
        /* what this instance published in dataDir is no longer true */
        remove_runtime_file(sv.cfg, "http-listener");
        remove_runtime_file(sv.cfg, "embedded-broker");
    }
    /* after dropping privileges the directory may not let us remove it: then leave it empty */
    if (sv.pid_path != NULL && unlink(sv.pid_path) != 0 && errno != ENOENT && ftruncate(sv.pid_fd, 0) != 0)
        ks_log_warning("cannot remove the pid file %s: %s", sv.pid_path, strerror(errno));
    free(sv.pid_path);
    if (sv.sigfd >= 0)
        close(sv.sigfd);
    if (sv.pid_fd >= 0)
        close(sv.pid_fd);
    if (sv.data_fd >= 0)
        close(sv.data_fd);
    ks_config_free(sv.cfg);
    pool_destroy(sv.pool);
    return sv.exit_code;
}
