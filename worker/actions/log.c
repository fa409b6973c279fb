/* log.c — the log executor: one structured line per firing, written once the batch has committed
 * (never twice; lost if the process dies between the commit and the write). intervalSeconds keeps at
 * most one line per interval and trigger; the ledger still records every firing. */
#include <stdlib.h>
#include <time.h>

#include "actions/actions.h"
#include "core/mem.h"

typedef struct log_state {
    ks_batch_t *batch;
    int64_t    *last;           /* per trigger: when its last line was decided, Unix ms */
} log_state_t;

static void *
log_open(const ks_exec_env_t *env)
{
    log_state_t *s = ks_calloc(1, sizeof(*s));

    s->batch = env->batch;
    s->last = ks_calloc(env->ntriggers ? env->ntriggers : 1, sizeof(*s->last));
    return s;
}

static void
log_close(void *state)
{
    log_state_t *s = state;

    free(s->last);
    free(s);
}

static int
log_run(void *state, const ks_firing_t *f, char *err, size_t errlen)
{
    log_state_t *s = state;
    int64_t      interval = json_integer_value(json_object_get(json_object_get(f->trig->tmpl, "log"),
                                                               "intervalSeconds")) * 1000;
    int64_t      now = (int64_t)time(NULL) * 1000;
    json_t      *line;
    char        *text;

    (void)err;
    (void)errlen;
    if (interval > 0 && now - s->last[f->slot] < interval)
        return 0;
    s->last[f->slot] = now;
    line = json_pack("{s:s, s:s, s:s, s:O}", "firing", f->id, "sensor", f->trig->sensor->name, "trigger",
                     f->trig->name, "events", f->events);
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ks_batch_after_commit(s->batch, ks_asprintf("action log: %s", text));
    free(text);
    json_decref(line);
    return 0;
}

const ks_executor_t ks_exec_log = {
    .kind = "log",
    .open = log_open,
    .close = log_close,
    .run = log_run,
};
