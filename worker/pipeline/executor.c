/* executor.c — a worker's table of executors and their states (see executor.h). */
#include "pipeline/executor.h"

#include <stdio.h>
#include <string.h>

void
ks_executors_open(ks_executors_t *x, const ks_executor_t *const *table, const ks_exec_env_t *env)
{
    memset(x, 0, sizeof(*x));
    for (int k = 0; k < KS_ACTION_KINDS; k++) {
        x->by_kind[k] = table[k];
        if (table[k] != NULL && table[k]->open != NULL)
            x->state[k] = table[k]->open(env);
    }
}

void
ks_executors_close(ks_executors_t *x)
{
    for (int k = 0; k < KS_ACTION_KINDS; k++) {
        if (x->by_kind[k] != NULL && x->by_kind[k]->close != NULL)
            x->by_kind[k]->close(x->state[k]);
    }
    memset(x, 0, sizeof(*x));
}

const ks_executor_t *
ks_executor_of(const ks_executors_t *x, const ks_trigger_t *trig)
{
    return (int)trig->kind < KS_ACTION_KINDS ? x->by_kind[trig->kind] : NULL;
}

int
ks_executor_run(ks_executors_t *x, const ks_firing_t *f, char *err, size_t errlen)
{
    const ks_executor_t *e = ks_executor_of(x, f->trig);

    if (e == NULL || e->run == NULL) {
        snprintf(err, errlen, "no executor runs %s triggers within a batch", ks_action_kind_name(f->trig->kind));
        return -1;
    }
    return e->run(x->state[f->trig->kind], f, err, errlen);
}
