/* ctl.h — ksensorctl's subcommands. Each takes its own argv (argv[0] is the command's name) and
 * returns the exit status: 0 success, 1 a problem with what was inspected, 2 a usage error. */
#ifndef CTL_H
#define CTL_H

#include <stdio.h>

#include "sensor.h"

#define CTL_OK      0
#define CTL_PROBLEM 1
#define CTL_USAGE   2

int ctl_check(int argc, char **argv);
int ctl_eval(int argc, char **argv);
/* pending, firings, ledger: the SQLite task files, read-only (argv[0] says which). */
int ctl_state(int argc, char **argv);

/* Loads sensor files into pool, printing every problem to stderr; returns how many were refused. */
size_t ctl_load_sensors(ks_pool_t *pool, char *const *files, int nfiles);

#endif
