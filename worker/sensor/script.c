/* script.c — Lua filters and transforms in a sandbox, jq transforms (see script.h). */
#include "sensor/script.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/mem.h"

#define HOOK_EVERY 1000         /* instructions between two checks of the budget */
#define MAX_DEPTH  64           /* of tables converted to JSON */

struct ks_scripts {
    lua_State *L;
    size_t     used;            /* bytes the state holds */
    long       budget;          /* instructions left to the call under way */
    int        env_meta;        /* registry ref: the metatable of a call's environment */
    int        result;          /* registry ref: where a call leaves its result */
    int        is_array;        /* registry ref: the string "__is_array" */
};

/* What a protected call is given. */
typedef struct call_args {
    ks_scripts_t *s;
    int           script;
    const json_t *data;
} call_args_t;

struct ks_jq {
    jq_state *jq;
    char      error[256];       /* the last message jq reported */
};

/* ---- the state -------------------------------------------------------------------------------- */

/* lua_Alloc with a cap: a request past KS_SCRIPT_MEMORY is refused (Lua raises "not enough memory"). */
static void *
capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    ks_scripts_t *s = ud;
    void         *p;

    if (nsize == 0) {
        free(ptr);
        s->used -= osize;
        return NULL;
    }
    if (nsize > osize && s->used + (nsize - osize) > KS_SCRIPT_MEMORY)
        return NULL;
    if ((p = realloc(ptr, nsize)) == NULL)
        return NULL;
    s->used = s->used - osize + nsize;
    return p;
}

static void
count_hook(lua_State *L, lua_Debug *ar)
{
    void         *ud;
    ks_scripts_t *s;

    (void)ar;
    lua_getallocf(L, &ud);
    s = ud;
    if ((s->budget -= HOOK_EVERY) <= 0)
        luaL_error(L, "the script ran more than %d instructions", (int)KS_SCRIPT_INSTRUCTIONS);
}

static int
refuse_write(lua_State *L)
{
    return luaL_error(L, "the standard libraries are read-only here");
}

static int
quiet_print(lua_State *L)
{
    (void)L;
    return 0;
}

/* Replaces the table on top of the stack with a read-only view of it. */
static void
read_only(lua_State *L)
{
    lua_newtable(L);                        /* view */
    lua_newtable(L);                        /* its metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, refuse_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");     /* setmetatable and getmetatable refuse it */
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
}

static void
open_library(lua_State *L, lua_CFunction open, const char *name)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

ks_scripts_t *
ks_scripts_new(void)
{
    static const char *const base[] = {
        "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring", "type",
        "unpack", "xpcall", "setmetatable", "_VERSION", NULL,
    };
    static const char *const libraries[] = { LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME, NULL };
    ks_scripts_t            *s = ks_calloc(1, sizeof(*s));
    lua_State               *L = lua_newstate(capped_alloc, s);

    if (L == NULL)
        abort();
    s->L = L;
    open_library(L, luaopen_base, "");
    open_library(L, luaopen_string, LUA_STRLIBNAME);
    open_library(L, luaopen_table, LUA_TABLIBNAME);
    open_library(L, luaopen_math, LUA_MATHLIBNAME);

    lua_newtable(L);                                    /* what a script sees */
    for (size_t i = 0; base[i] != NULL; i++) {
        lua_getglobal(L, base[i]);
        lua_setfield(L, -2, base[i]);
    }
    lua_pushcfunction(L, quiet_print);
    lua_setfield(L, -2, "print");
    for (size_t i = 0; libraries[i] != NULL; i++) {
        lua_getglobal(L, libraries[i]);
        read_only(L);
        lua_setfield(L, -2, libraries[i]);
    }
    read_only(L);
    lua_newtable(L);                                    /* the metatable of a call's environment */
    lua_insert(L, -2);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    s->env_meta = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushboolean(L, 0);
    s->result = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushliteral(L, "__is_array");
    s->is_array = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return s;
}

void
ks_scripts_free(ks_scripts_t *s)
{
    if (s == NULL)
        return;
    lua_close(s->L);
    free(s);
}

int
ks_script_compile(ks_scripts_t *s, const char *source, const char *name, char *err, size_t errlen)
{
    lua_State *L = s->L;

    if (luaL_loadbuffer(L, source, strlen(source), name) != 0) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "does not compile");
        lua_pop(L, 1);
        return -1;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* ---- JSON to Lua, as Argo's mapToTable does it --------------------------------------------------- */

static void push_json(lua_State *L, const json_t *v);

/* Whether v has a Lua value: JSON null has none, and an array nested in an array is left out. */
static bool
convertible(const json_t *v, bool in_array)
{
    return !json_is_null(v) && !(in_array && json_is_array(v));
}

static void
push_json(lua_State *L, const json_t *v)
{
    const char *key;
    json_t     *item;
    size_t      i, n = 0;

    luaL_checkstack(L, 4, "the event is too deep");
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        lua_newtable(L);
        json_object_foreach((json_t *)v, key, item) {
            if (convertible(item, false)) {
                push_json(L, item);
                lua_setfield(L, -2, key);
            }
        }
        break;
    case JSON_ARRAY:
        lua_newtable(L);
        json_array_foreach(v, i, item) {
            if (convertible(item, true)) {
                push_json(L, item);
                lua_rawseti(L, -2, (int)++n);
            }
        }
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushnumber(L, (lua_Number)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        lua_pushboolean(L, json_is_true(v));
        break;
    default:
        lua_pushnil(L);
        break;
    }
}

/* ---- Lua to JSON, as Argo's transform reads a table back ---------------------------------------- */

/* A number as Go's JSON writes a float64: integral values without a fraction. */
static json_t *
number_json(lua_Number x)
{
    if (!isfinite(x))
        return NULL;
    if (x == floor(x) && fabs(x) < 9007199254740992.)
        return json_integer((json_int_t)x);
    return json_real(x);
}

static json_t *value_json(lua_State *L, int idx, int depth, char *err, size_t errlen);

static json_t *
table_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    size_t  n = lua_objlen(L, idx);
    json_t *out;
    bool    as_array = n > 0;

    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "the script's result nests deeper than %d tables", MAX_DEPTH);
        return NULL;
    }
    if (n == 0 && lua_getmetatable(L, idx)) {       /* {} is an object unless __is_array says otherwise */
        void         *ud;
        ks_scripts_t *s;

        lua_getallocf(L, &ud);
        s = ud;
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->is_array);
        lua_rawget(L, -2);
        as_array = lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    out = as_array ? json_array() : json_object();
    if (as_array) {
        for (size_t i = 1; i <= n; i++) {
            json_t *item;

            lua_rawgeti(L, idx, (int)i);
            item = value_json(L, lua_gettop(L), depth + 1, err, errlen);
            lua_pop(L, 1);
            if (item == NULL) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, item);
        }
        return out;
    }
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        json_t     *item;
        const char *key = NULL;
        char        num[32];

        /* the key as tostring writes it, without converting it in place (lua_next needs it as it
         * is) and without allocating (this runs outside a protected call) */
        if (lua_type(L, -2) == LUA_TSTRING)
            key = lua_tostring(L, -2);
        else if (lua_type(L, -2) == LUA_TNUMBER)
            snprintf(num, sizeof(num), LUA_NUMBER_FMT, lua_tonumber(L, -2)), key = num;
        item = key != NULL ? value_json(L, lua_gettop(L), depth + 1, err, errlen) : NULL;
        if (key == NULL)
            snprintf(err, errlen, "the script's result has a key that is not a string or number");
        if (item == NULL) {
            lua_pop(L, 2);
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, key, item);
        lua_pop(L, 1);
    }
    return out;
}

/* The value at idx as JSON (table_json for tables). */
static json_t *
value_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    json_t *v;
    size_t  len;

    switch (lua_type(L, idx)) {
    case LUA_TTABLE:
        return table_json(L, idx, depth, err, errlen);
    case LUA_TNUMBER:
        if ((v = number_json(lua_tonumber(L, idx))) == NULL)
            snprintf(err, errlen, "the script's result holds a number JSON cannot (inf or nan)");
        return v;
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, idx, &len);

        if ((v = json_stringn(s, len)) == NULL)
            snprintf(err, errlen, "the script's result holds a string that is not UTF-8");
        return v;
    }
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    default:
        snprintf(err, errlen, "the script's result holds a %s, which JSON cannot", lua_typename(L, lua_type(L, idx)));
        return NULL;
    }
}

/* ---- calls ------------------------------------------------------------------------------------------ */

/* Inside lua_cpcall: everything that may allocate — the environment, the event's table, the call,
 * the stack the conversion of the result will need — so that running out of memory is an error
 * of the call, never a panic of the state. The result goes to the registry's result slot. */
static int
protected_call(lua_State *L)
{
    call_args_t *c = lua_touserdata(L, 1);

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->script);
    lua_newtable(L);                                /* this call's globals */
    push_json(L, c->data);
    lua_setfield(L, -2, "event");
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->s->env_meta);
    lua_setmetatable(L, -2);
    lua_setfenv(L, -2);
    lua_call(L, 0, 1);
    luaL_checkstack(L, 2 * MAX_DEPTH + 8, "no stack for the script's result");
    lua_rawseti(L, LUA_REGISTRYINDEX, c->s->result);
    return 0;
}

static int
collect(lua_State *L)
{
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}

/* Runs script with `event` set to data: 0 with its result pushed, or -1 with err. */
static int
call(ks_scripts_t *s, int script, const json_t *data, char *err, size_t errlen)
{
    lua_State  *L = s->L;
    call_args_t c = { s, script, data };
    int         rc;

    if (!json_is_object(data)) {
        snprintf(err, errlen, "the event's data is not a JSON object");
        return -1;
    }
    s->budget = KS_SCRIPT_INSTRUCTIONS;
    if ((rc = lua_cpcall(L, protected_call, &c)) != 0) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "the script failed");
        lua_pop(L, 1);
        if (rc == LUA_ERRMEM)
            (void)lua_cpcall(L, collect, NULL);     /* give the next call its memory back */
        return -1;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->result);
    lua_pushboolean(L, 0);                          /* the slot lets go of it (an existing slot: no allocation) */
    lua_rawseti(L, LUA_REGISTRYINDEX, s->result);
    return 0;
}

int
ks_script_filter(ks_scripts_t *s, int script, const json_t *data, char *err, size_t errlen)
{
    int pass;

    if (data == NULL)
        return 1;                                   /* Argo: no data passes */
    if (call(s, script, data, err, errlen) != 0)
        return -1;
    pass = lua_type(s->L, -1) == LUA_TBOOLEAN && lua_toboolean(s->L, -1);
    lua_pop(s->L, 1);
    return pass;
}

json_t *
ks_script_transform(ks_scripts_t *s, int script, const json_t *data, char *err, size_t errlen)
{
    json_t *out;

    if (call(s, script, data, err, errlen) != 0)
        return NULL;
    if (lua_type(s->L, -1) != LUA_TTABLE) {
        snprintf(err, errlen, "transformation script output type is not of lua table (got %s)",
                 lua_typename(s->L, lua_type(s->L, -1)));
        lua_pop(s->L, 1);
        return NULL;
    }
    out = table_json(s->L, lua_gettop(s->L), 0, err, errlen);
    lua_pop(s->L, 1);
    return out;
}

/* ---- jq ------------------------------------------------------------------------------------------------ */

static void
on_jq_error(void *data, jv msg)
{
    ks_jq_t *q = data;

    if (q->error[0] == '\0') {    /* the first says what is wrong; the last only counts the errors */
        if (jv_get_kind(msg) == JV_KIND_STRING)
            snprintf(q->error, sizeof(q->error), "%s", jv_string_value(msg));
        else
            snprintf(q->error, sizeof(q->error), "jq error");
        q->error[strcspn(q->error, "\n")] = '\0';
    }
    jv_free(msg);
}

ks_jq_t *
ks_jq_compile(const char *program, char *err, size_t errlen)
{
    ks_jq_t *q = ks_calloc(1, sizeof(*q));

    if ((q->jq = jq_init()) == NULL)
        abort();
    jq_set_error_cb(q->jq, on_jq_error, q);
    if (!jq_compile(q->jq, program)) {
        snprintf(err, errlen, "%s", q->error[0] ? q->error : "does not compile");
        ks_jq_free(q);
        return NULL;
    }
    return q;
}

void
ks_jq_free(ks_jq_t *q)
{
    if (q == NULL)
        return;
    jq_teardown(&q->jq);
    free(q);
}

char *
ks_jq_transform(ks_jq_t *q, const char *data, size_t len, size_t *outlen, char *err, size_t errlen)
{
    jv    in = jv_parse_sized(data, (int)len), out;
    char *text;

    if (!jv_is_valid(in) || jv_get_kind(in) != JV_KIND_OBJECT) {
        jv_free(in);
        snprintf(err, errlen, "the event's data is not a JSON object");
        return NULL;
    }
    jq_start(q->jq, in, 0);
    out = jq_next(q->jq);
    if (!jv_is_valid(out)) {
        if (jv_invalid_has_msg(jv_copy(out))) {
            jv msg = jv_invalid_get_msg(out);

            if (jv_get_kind(msg) == JV_KIND_STRING) {
                snprintf(err, errlen, "jq: %s", jv_string_value(msg));
                jv_free(msg);
            } else {
                jv dumped = jv_dump_string(msg, 0);

                snprintf(err, errlen, "jq: %s (not a string)", jv_string_value(dumped));
                jv_free(dumped);
            }
        } else {
            jv_free(out);
            snprintf(err, errlen, "no output available from the jq command execution");
        }
        return NULL;
    }
    if (jv_get_kind(out) != JV_KIND_OBJECT) {
        jv_free(out);
        snprintf(err, errlen, "jq transformation output must be a JSON object");
        return NULL;
    }
    out = jv_dump_string(out, JV_PRINT_SORTED);     /* Go's encoder sorts keys too */
    *outlen = (size_t)jv_string_length_bytes(jv_copy(out));
    text = ks_malloc(*outlen + 1);
    memcpy(text, jv_string_value(out), *outlen + 1);
    jv_free(out);
    return text;
}
