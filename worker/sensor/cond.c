/* cond.c — condition parser (recursive descent) and postfix evaluator (see cond.h). */
#include "sensor/cond.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define COND_MAX_OPS   512     /* operands plus operators; bounds the evaluation stack */
#define COND_MAX_DEPTH 64      /* nesting of parentheses */

enum { OP_AND = -1, OP_OR = -2 };   /* other values: a dependency index */

struct ks_cond {
    int    *ops;
    size_t  nops;
    bool    has_and;
};

typedef struct cond_parser {
    const char        *text;
    size_t             pos;
    const char *const *deps;
    size_t             ndeps;
    int                ops[COND_MAX_OPS];
    size_t             nops;
    int                depth;
    char              *err;
    size_t             errlen;
    size_t             where;
    bool               failed;
} cond_parser_t;

static void
cond_fail(cond_parser_t *p, size_t where, const char *fmt, const char *arg)
{
    if (p->failed)
        return;
    p->failed = true;
    p->where = where;
    snprintf(p->err, p->errlen, fmt, arg);
}

static void
cond_emit(cond_parser_t *p, int op)
{
    if (p->nops == COND_MAX_OPS) {
        cond_fail(p, p->pos, "condition is too long (more than %s terms)", "512");
        return;
    }
    p->ops[p->nops++] = op;
}

static void
cond_skip_space(cond_parser_t *p)
{
    while (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\n'
           || p->text[p->pos] == '\r')
        p->pos++;
}

static bool
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
        || c == '-' || c == '.';
}

static void cond_or(cond_parser_t *p);

static void
cond_primary(cond_parser_t *p)
{
    size_t start;
    char   name[256];

    cond_skip_space(p);
    start = p->pos;
    if (p->text[p->pos] == '(') {
        if (++p->depth > COND_MAX_DEPTH) {
            cond_fail(p, start, "parentheses nest too deep (more than %s levels)", "64");
            return;
        }
        p->pos++;
        cond_or(p);
        cond_skip_space(p);
        if (p->failed)
            return;
        if (p->text[p->pos] != ')') {
            cond_fail(p, p->pos, "expected ')'%s", p->text[p->pos] ? "" : " before the end");
            return;
        }
        p->pos++;
        p->depth--;
        return;
    }
    while (is_name_char(p->text[p->pos]))
        p->pos++;
    if (p->pos == start) {
        if (p->text[start] == '\0')
            cond_fail(p, start, "expected a dependency name before the end%s", "");
        else if (p->text[start] == '!')
            cond_fail(p, start, "'!' is not supported: Argo conditions have no negation%s", "");
        else
            cond_fail(p, start, "expected a dependency name, got '%.1s'", p->text + start);
        return;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(p->pos - start), p->text + start);
    for (size_t i = 0; i < p->ndeps; i++) {
        if (strcmp(p->deps[i], name) == 0) {
            cond_emit(p, (int)i);
            return;
        }
    }
    cond_fail(p, start, "unknown dependency '%s'", name);
}

/* Reads "&&" or "||" when present; a single '&' or '|' is an error. */
static bool
cond_operator(cond_parser_t *p, char c)
{
    cond_skip_space(p);
    if (p->text[p->pos] != c)
        return false;
    if (p->text[p->pos + 1] != c) {
        cond_fail(p, p->pos, c == '&' ? "'&' must be written '&&'%s" : "'|' must be written '||'%s", "");
        return false;
    }
    p->pos += 2;
    return true;
}

static void
cond_and(cond_parser_t *p)
{
    cond_primary(p);
    while (!p->failed && cond_operator(p, '&')) {
        cond_primary(p);
        cond_emit(p, OP_AND);
    }
}

static void
cond_or(cond_parser_t *p)
{
    cond_and(p);
    while (!p->failed && cond_operator(p, '|')) {
        cond_and(p);
        cond_emit(p, OP_OR);
    }
}

ks_cond_t *
ks_cond_compile(const char *text, const char *const *deps, size_t ndeps, char *err, size_t errlen,
                size_t *where)
{
    cond_parser_t *p = ks_calloc(1, sizeof(*p));
    ks_cond_t     *cond = NULL;

    p->text = text ? text : "";
    p->deps = deps;
    p->ndeps = ndeps;
    p->err = err;
    p->errlen = errlen;

    cond_skip_space(p);
    if (p->text[p->pos] == '\0') {
        /* no condition: every dependency must have arrived */
        if (ndeps == 0 || ndeps > COND_MAX_OPS / 2)
            cond_fail(p, 0, "%s", ndeps == 0 ? "no dependencies to wait for" : "too many dependencies");
        for (size_t i = 0; i < ndeps && !p->failed; i++) {
            cond_emit(p, (int)i);
            if (i > 0)
                cond_emit(p, OP_AND);
        }
    } else {
        cond_or(p);
        cond_skip_space(p);
        if (!p->failed && p->text[p->pos] != '\0')
            cond_fail(p, p->pos, "unexpected '%.1s'", p->text + p->pos);
    }

    if (p->failed) {
        *where = p->where;
    } else {
        cond = ks_calloc(1, sizeof(*cond));
        cond->ops = ks_malloc(p->nops * sizeof(*cond->ops));
        memcpy(cond->ops, p->ops, p->nops * sizeof(*cond->ops));
        cond->nops = p->nops;
        for (size_t i = 0; i < p->nops; i++)
            cond->has_and = cond->has_and || p->ops[i] == OP_AND;
    }
    free(p);
    return cond;
}

void
ks_cond_free(ks_cond_t *cond)
{
    if (cond == NULL)
        return;
    free(cond->ops);
    free(cond);
}

bool
ks_cond_eval(const ks_cond_t *cond, const bool *held)
{
    bool   stack[COND_MAX_OPS];
    size_t top = 0;

    for (size_t i = 0; i < cond->nops; i++) {
        int op = cond->ops[i];

        if (op >= 0) {
            stack[top++] = held[op];
        } else {
            bool right = stack[--top];

            stack[top - 1] = op == OP_AND ? (stack[top - 1] && right) : (stack[top - 1] || right);
        }
    }
    return top == 1 && stack[0];
}

bool
ks_cond_has_and(const ks_cond_t *cond)
{
    return cond->has_and;
}

bool
ks_cond_uses(const ks_cond_t *cond, size_t dep)
{
    for (size_t i = 0; i < cond->nops; i++) {
        if (cond->ops[i] == (int)dep)
            return true;
    }
    return false;
}
