/* ctl.h — ksensorctl's subcommands. Each takes its own argv (argv[0] is the command's name) and
 * returns the exit status: 0 success, 1 a problem with what was inspected, 2 a usage error. */
#ifndef CTL_H
#define CTL_H

#include <stdio.h>

#include <jansson.h>
#include <sqlite3.h>

#include "sensor/sensor.h"
#include "core/config.h"

#define CTL_OK      0
#define CTL_PROBLEM 1
#define CTL_USAGE   2

int ctl_check(int argc, char **argv);
int ctl_eval(int argc, char **argv);
int ctl_emit(int argc, char **argv);
int ctl_sensors(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_offsets(int argc, char **argv);
/* pending, firings, ledger: the SQLite task files, read-only (argv[0] says which). */
int ctl_state(int argc, char **argv);

/* Parses the options of a command that takes only -c FILE, --json and --help. Returns -1 when the
 * command goes on, else the exit status (the help was printed, or a usage error). */
int  ctl_config_options(int argc, char **argv, void (*usage)(FILE *out), const char **config, bool *json);

/* A table for people: rows of ncols strings; ctl_table_print() pads every column but the last. */
typedef struct ctl_table {
    json_t *rows;               /* array of arrays of strings */
    size_t  ncols;
    size_t  width[12];
} ctl_table_t;

void ctl_table_add(ctl_table_t *t, const char *const *cells);
void ctl_table_print(const ctl_table_t *t);

/* Opens a task file read-only, checking it is a ksensor task file (it has table) with a schema this
 * tool knows; prints why not to stderr and returns NULL otherwise. */
sqlite3 *ctl_open_task(const char *path, const char *table);

/* The glob of a state directory's task files of one kind ("trigger" or "action"): the pool's
 * (<pool>-trigger-<p>.db), or with topicLayout per-sensor every sensor's
 * (<event topic>-<sensor>-trigger-<p>.db); per_sensor_topic is NULL for the shared layout. */
void ctl_task_pattern(char *buf, size_t len, const char *data_dir, const char *pool, const char *per_sensor_topic,
                      const char *kind);

/* The bootstrap servers for brokers (the configuration's, or --brokers): itself, or for "embedded"
 * the address the running daemon published; -1 with a message when there is none. */
int  ctl_daemon_brokers(const ks_config_t *cfg, const char *brokers, char *buf, size_t len);
/* host:port of the daemon's HTTP listener: the address it published (it may have asked for port 0),
 * else the configuration's `listen`. */
void ctl_daemon_listener(const ks_config_t *cfg, char *buf, size_t len);

/* Loads sensor files into pool, printing every problem to stderr; returns how many were refused. */
size_t ctl_load_sensors(ks_pool_t *pool, char *const *files, int nfiles);

#endif
