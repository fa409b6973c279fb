/* script.h — the small languages of Argo's dependencies: Lua filters and transforms
 * (`filters.script`, `transform.script`) and jq transforms (`transform.jq`).
 *
 * Lua is PUC Lua 5.1, the language gopher-lua (Argo's) implements, run in a sandbox because the
 * script comes from a manifest and runs on event data: only the base (without dofile, loadfile,
 * load, loadstring, require, module, getfenv, setfenv, rawset, rawget, rawequal, getmetatable,
 * collectgarbage, newproxy, print), string, table and math libraries; the state's memory capped by
 * its allocator; an instruction budget per call (a count hook), so `while true do end` stops.
 * One state per pool, every script compiled into it once when the pool loads; each call runs
 * the script's function with a fresh environment whose only own global is `event` (the library
 * tables are read-only views), so nothing a script sets outlives its call.
 *
 * Argo's contract (gopher-lua, Argo's transform.go and filter.go): `event` is the data as a table
 * (JSON null members and arrays nested in arrays left out); a filter passes only on an exact `true`;
 * a transform returns a table, which becomes a JSON object, or an array when it has a sequence part
 * (an empty table is {} unless its metatable sets __is_array = true). jq (libjq) takes the data and
 * its first output, which must be an object, replaces it; keys are written sorted, as Go writes
 * them. */
#ifndef KS_SENSOR_SCRIPT_H
#define KS_SENSOR_SCRIPT_H

#include <stddef.h>

#include <jansson.h>

typedef struct ks_scripts ks_scripts_t;
typedef struct ks_jq      ks_jq_t;

#define KS_SCRIPT_MEMORY       (32u << 20)     /* bytes a pool's Lua state may hold */
#define KS_SCRIPT_INSTRUCTIONS 10000000L       /* Lua instructions one call may run */

/* A pool's Lua state. */
ks_scripts_t *ks_scripts_new(void);
void          ks_scripts_free(ks_scripts_t *s);

/* Compiles a Lua chunk (name for messages, Lua's chunk-name rules): its handle (> 0: 0 is never
 * one, so that a zeroed structure names no script), or -1 with the error in err. */
int ks_script_compile(ks_scripts_t *s, const char *source, const char *name, char *err, size_t errlen);

/* Runs script as a filter on data (a JSON object, or NULL: no data, which passes):
 * 1 passes, 0 does not, -1 failed (error, a limit, data that is not an object; reason in err). */
int ks_script_filter(ks_scripts_t *s, int script, const json_t *data, char *err, size_t errlen);

/* Runs script as a transform of data: the new data, or NULL with the reason in err. */
json_t *ks_script_transform(ks_scripts_t *s, int script, const json_t *data, char *err, size_t errlen);

/* A compiled jq program, or NULL with the error in err. */
ks_jq_t *ks_jq_compile(const char *program, char *err, size_t errlen);
void     ks_jq_free(ks_jq_t *jq);

/* The first output of the program on data (JSON text of an object), itself an object: compact
 * JSON text with sorted keys (malloc'd, its length in *outlen), or NULL with the reason in err.
 * Text in, text out: the data is parsed once, by jq. */
char *ks_jq_transform(ks_jq_t *jq, const char *data, size_t len, size_t *outlen, char *err, size_t errlen);

#endif
