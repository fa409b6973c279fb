/* gotmpl.c — parsing and executing Go templates (see gotmpl.h).
 *
 * The parser follows text/template/parse: a list of text and action nodes; an action holds a
 * pipeline of commands; a command holds operands, the first of which is the function or the value.
 * Names are resolved while parsing (functions through gotmpl_func.c, variables against the ones in
 * scope), so that everything ksensor cannot run is refused before a sensor loads. The executor
 * walks the tree with Go's value rules (exec.go): the result of each pipeline stage goes to the
 * next as its last argument, a nil result becomes a missing value, variables live until the end of
 * the control structure that declared them. */
#include "sensor/gotmpl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "sensor/gotmpl_int.h"

/* ---------------------------------------------------------------------------------------------
 * The tree */

typedef enum { OP_FIELD, OP_VAR, OP_DOT, OP_FUNC, OP_STRING, OP_NUMBER, OP_BOOL, OP_NIL, OP_PIPE } op_kind_t;

struct pipe;

typedef struct operand {
    op_kind_t        kind;
    size_t           pos;
    char            *name;          /* OP_VAR: "$" or "$x" */
    const gt_func_t *func;          /* OP_FUNC */
    char            *str;           /* OP_STRING: the decoded bytes; OP_NUMBER: the text */
    size_t           len;
    bool             is_int, is_float, float_text;  /* OP_NUMBER, as Go's NumberNode */
    int64_t          ival;
    double           fval;
    bool             b;             /* OP_BOOL */
    struct pipe     *pipe;          /* OP_PIPE */
    char           **fields;        /* the field chain after the operand (OP_FIELD: on dot) */
    size_t           nfields;
} operand_t;

typedef struct command {
    operand_t *ops;
    size_t     nops;
    size_t     pos;
} command_t;

typedef struct pipe {
    size_t     pos;
    char      *vars[2];
    size_t     nvars;
    bool       assign;              /* $x = …, not $x := … */
    command_t *cmds;
    size_t     ncmds;
} pipe_t;

typedef enum { N_TEXT, N_ACTION, N_IF, N_WITH, N_RANGE, N_BREAK, N_CONTINUE } node_kind_t;

typedef struct node {
    node_kind_t  kind;
    size_t       pos;
    char        *text;              /* N_TEXT */
    size_t       len;
    pipe_t      *pipe;
    struct node *list, *else_list;
    struct node *next;
} node_t;

struct ks_gotmpl {
    node_t *root;
};

static void free_pipe(pipe_t *p);

static void
free_list(node_t *n)
{
    while (n != NULL) {
        node_t *next = n->next;

        free(n->text);
        free_pipe(n->pipe);
        free_list(n->list);
        free_list(n->else_list);
        free(n);
        n = next;
    }
}

static void
free_operand(operand_t *op)
{
    free(op->name);
    free(op->str);
    free_pipe(op->pipe);
    for (size_t f = 0; f < op->nfields; f++)
        free(op->fields[f]);
    free(op->fields);
}

static void
free_pipe(pipe_t *p)
{
    if (p == NULL)
        return;
    for (size_t c = 0; c < p->ncmds; c++) {
        for (size_t o = 0; o < p->cmds[c].nops; o++)
            free_operand(&p->cmds[c].ops[o]);
        free(p->cmds[c].ops);
    }
    free(p->cmds);
    free(p->vars[0]);
    free(p->vars[1]);
    free(p);
}

void
ks_gotmpl_free(ks_gotmpl_t *t)
{
    if (t == NULL)
        return;
    free_list(t->root);
    free(t);
}

/* ---------------------------------------------------------------------------------------------
 * Lexing inside an action */

typedef enum {
    T_CLOSE, T_EOF, T_IDENT, T_FIELD, T_DOT, T_VAR, T_STRING, T_CHAR, T_NUMBER, T_LPAREN, T_RPAREN,
    T_PIPE, T_DECLARE, T_ASSIGN, T_COMMA, T_BAD
} tok_kind_t;

typedef struct tok {
    tok_kind_t kind;
    size_t     pos, len;            /* the token's text in the template */
    bool       space;               /* whitespace came before it */
    bool       trim;                /* T_CLOSE: " -}}" */
} tok_t;

#define MAX_DEPTH 100     /* nesting the parser (and the executor after it) recurses through */

typedef struct parser {
    const char *s;
    size_t      n, i;
    char       *err;
    size_t      errlen;
    size_t      errpos;
    bool        failed;
    char      **vars;               /* variables in scope */
    size_t      nvars, capvars;
    int         ranges;             /* ranges around the current position */
    int         depth;              /* parentheses and control structures around it */
    bool        trim_next;          /* the last action ended with " -}}" */
    tok_t       peeked;
    bool        has_peeked;
} parser_t;

static void
perr(parser_t *p, size_t pos, const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return;
    p->failed = true;
    p->errpos = pos;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alnum(char c)
{
    return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

static bool
at(const parser_t *p, size_t i, const char *lit)
{
    size_t n = strlen(lit);

    return i + n <= p->n && memcmp(p->s + i, lit, n) == 0;
}

/* A closing delimiter at i: "}}", or " -}}" (trim) when i is at the whitespace before it. */
static bool
at_close(const parser_t *p, size_t i, bool *trim, size_t *after)
{
    if (at(p, i, "}}")) {
        *trim = false;
        *after = i + 2;
        return true;
    }
    if (is_space(p->s[i]) && at(p, i + 1, "-}}")) {
        *trim = true;
        *after = i + 4;
        return true;
    }
    return false;
}

static size_t
scan_number(const parser_t *p, size_t i)
{
    bool hex;

    if (p->s[i] == '+' || p->s[i] == '-')
        i++;
    hex = at(p, i, "0x") || at(p, i, "0X");
    while (i < p->n) {
        char c = p->s[i];

        if (isalnum((unsigned char)c) || c == '_' || c == '.') {
            i++;
            if ((!hex && (c == 'e' || c == 'E')) || (hex && (c == 'p' || c == 'P'))) {
                if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
                    i++;
            }
        } else {
            break;
        }
    }
    return i;
}

static size_t
scan_quoted(const parser_t *p, size_t i, char q)
{
    for (i++; i < p->n; i++) {
        if (p->s[i] == '\\' && q != '`') {
            i++;
        } else if (p->s[i] == q) {
            return i + 1;
        } else if (p->s[i] == '\n' && q != '`') {
            break;
        }
    }
    return 0;
}

static tok_t
lex(parser_t *p)
{
    tok_t  t = { T_BAD, 0, 0, false, false };
    size_t i = p->i, after;
    char   c;

    if (p->has_peeked) {
        p->has_peeked = false;
        return p->peeked;
    }
    while (i < p->n && is_space(p->s[i]) && !at_close(p, i, &t.trim, &after)) {
        i++;
        t.space = true;
    }
    t.pos = i;
    if (i >= p->n) {
        t.kind = T_EOF;
        p->i = i;
        return t;
    }
    if (at_close(p, i, &t.trim, &after)) {
        t.kind = T_CLOSE;
        t.space = t.space || t.trim;
        p->i = after;
        return t;
    }
    c = p->s[i];
    if (c == '.' && i + 1 < p->n && is_alnum(p->s[i + 1]) && !isdigit((unsigned char)p->s[i + 1])) {
        for (i++; i < p->n && is_alnum(p->s[i]); i++)
            ;
        t.kind = T_FIELD;
    } else if (isdigit((unsigned char)c) || ((c == '-' || c == '+' || c == '.') && i + 1 < p->n &&
                                             isdigit((unsigned char)p->s[i + 1]))) {
        i = scan_number(p, i);
        t.kind = T_NUMBER;
    } else if (c == '.') {
        i++;
        t.kind = T_DOT;
    } else if (c == '$') {
        for (i++; i < p->n && is_alnum(p->s[i]); i++)
            ;
        t.kind = T_VAR;
    } else if (c == '"' || c == '`' || c == '\'') {
        size_t end = scan_quoted(p, i, c);

        if (end == 0) {
            perr(p, i, "unterminated %s", c == '\'' ? "character constant" : "quoted string");
            t.kind = T_BAD;
            return t;
        }
        t.kind = c == '\'' ? T_CHAR : T_STRING;
        i = end;
    } else if (is_alnum(c)) {
        for (; i < p->n && is_alnum(p->s[i]); i++)
            ;
        t.kind = T_IDENT;
    } else if (c == ':' && i + 1 < p->n && p->s[i + 1] == '=') {
        i += 2;
        t.kind = T_DECLARE;
    } else {
        i++;
        switch (c) {
        case '(': t.kind = T_LPAREN; break;
        case ')': t.kind = T_RPAREN; break;
        case '|': t.kind = T_PIPE; break;
        case '=': t.kind = T_ASSIGN; break;
        case ',': t.kind = T_COMMA; break;
        default:
            perr(p, t.pos, "unexpected character '%c' in action", c);
            t.kind = T_BAD;
            return t;
        }
    }
    t.len = i - t.pos;
    p->i = i;
    return t;
}

static tok_t
peek(parser_t *p)
{
    if (!p->has_peeked) {
        p->peeked = lex(p);
        p->has_peeked = true;
    }
    return p->peeked;
}

static bool
tok_is(const parser_t *p, const tok_t *t, const char *word)
{
    return t->kind == T_IDENT && t->len == strlen(word) && memcmp(p->s + t->pos, word, t->len) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Literals */

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* strconv.Unquote of a "…", `…` or '…' token into b; for a character, its value in *rune.
 * Returns false on a bad escape. */
static bool
unquote(const char *s, size_t n, gt_buf_t *b, int64_t *rune)
{
    char   q = s[0];
    size_t i = 1, end = n - 1, chars = 0;

    if (q == '`') {
        for (; i < end; i++) {
            if (s[i] != '\r')
                gt_buf_addc(b, s[i]);
        }
        return true;
    }
    while (i < end) {
        uint32_t r;
        int      digits = 0, base = 16;

        chars++;
        if (s[i] != '\\') {
            size_t start = b->len;

            gt_buf_addc(b, s[i++]);
            while (i < end && ((unsigned char)s[i] & 0xC0) == 0x80)
                gt_buf_addc(b, s[i++]);
            if (q == '\'') {
                size_t size;

                *rune = gt_rune_at(b->data + start, b->len - start, &size);
            }
            continue;
        }
        if (++i >= end)
            return false;
        switch (s[i++]) {
        case 'a': r = '\a'; break;
        case 'b': r = '\b'; break;
        case 'f': r = '\f'; break;
        case 'n': r = '\n'; break;
        case 'r': r = '\r'; break;
        case 't': r = '\t'; break;
        case 'v': r = '\v'; break;
        case '\\': r = '\\'; break;
        case '"':
            if (q != '"')
                return false;
            r = '"';
            break;
        case '\'':
            if (q != '\'')
                return false;
            r = '\'';
            break;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
            i--;
            digits = 3;
            base = 8;
            break;
        default:
            return false;
        }
        if (digits > 0) {
            r = 0;
            for (int d = 0; d < digits; d++, i++) {
                int v = i < end ? hexval(s[i]) : -1;

                if (v < 0 || v >= base)
                    return false;
                r = r * (uint32_t)base + (uint32_t)v;
            }
            if (base == 8 && r > 255)
                return false;
            if (digits == 2 || base == 8) {         /* a byte, not a character */
                gt_buf_addc(b, (char)r);
                if (q == '\'')
                    *rune = r;
                continue;
            }
            if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
                return false;
        }
        if (q == '\'')
            *rune = r;
        gt_buf_add_rune(b, r);
    }
    return q != '\'' || chars == 1;
}

/* Go's NumberNode: what the text can be as an int and as a float. */
static bool
parse_number(operand_t *op, const char *text, size_t len)
{
    char  buf[128], *end;
    bool  hex, octal_prefix, binary;
    const char *digits;
    bool  neg = false;

    if (len >= sizeof(buf) || memchr(text, '_', len) != NULL || text[len - 1] == 'i')
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    digits = buf;
    if (*digits == '+' || *digits == '-')
        neg = *digits++ == '-';
    hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
    octal_prefix = digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O');
    binary = digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B');

    errno = 0;
    if (octal_prefix || binary) {
        unsigned long long v = strtoull(digits + 2, &end, binary ? 2 : 8);

        if (*end != '\0' || errno != 0 || v > (unsigned long long)INT64_MAX || digits[2] == '\0')
            return false;
        op->is_int = true;
        op->ival = neg ? -(int64_t)v : (int64_t)v;
    } else {
        long long v = strtoll(buf, &end, hex ? 16 : (digits[0] == '0' && digits[1] != '\0' &&
                                                     strpbrk(digits, ".eE") == NULL ? 8 : 10));

        if (*end == '\0' && errno == 0) {
            op->is_int = true;
            op->ival = v;
        }
    }
    if (op->is_int) {
        op->is_float = true;
        op->fval = (double)op->ival;
    } else if (!hex) {
        double f;

        errno = 0;
        f = strtod(buf, &end);
        if (*end != '\0' || errno != 0 || strpbrk(digits, "0123456789") != digits)
            return false;
        op->is_float = true;
        op->fval = f;
        if (f > -9.2e18 && f < 9.2e18 && f == (double)(int64_t)f) {
            op->is_int = true;
            op->ival = (int64_t)f;
        }
    } else {
        return false;
    }
    op->float_text = !hex && op->is_float && strpbrk(buf, ".eEpP") != NULL;
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing */

static pipe_t *parse_pipeline(parser_t *p, const char *context, tok_kind_t end, bool decl_ok);

static bool
var_defined(const parser_t *p, const char *s, size_t n)
{
    for (size_t i = p->nvars; i-- > 0;) {
        if (strlen(p->vars[i]) == n && memcmp(p->vars[i], s, n) == 0)
            return true;
    }
    return false;
}

static void
var_push(parser_t *p, const char *name)
{
    if (p->nvars == p->capvars) {
        p->capvars = p->capvars ? 2 * p->capvars : 8;
        p->vars = ks_realloc(p->vars, p->capvars * sizeof(*p->vars));
    }
    p->vars[p->nvars++] = ks_strdup(name);
}

static void
var_pop(parser_t *p, size_t mark)
{
    while (p->nvars > mark)
        free(p->vars[--p->nvars]);
}

/* The field chain right after an operand (no space before each field). */
static void
parse_chain(parser_t *p, operand_t *op)
{
    for (;;) {
        tok_t t = peek(p);

        if (t.kind != T_FIELD || t.space)
            return;
        lex(p);
        op->fields = ks_realloc(op->fields, (op->nfields + 1) * sizeof(*op->fields));
        op->fields[op->nfields++] = ks_strndup(p->s + t.pos + 1, t.len - 1);
    }
}

/* One operand; false at the end of the command (nothing consumed). */
static bool
parse_operand(parser_t *p, operand_t *op)
{
    tok_t t = peek(p);

    memset(op, 0, sizeof(*op));
    op->pos = t.pos;
    switch (t.kind) {
    case T_FIELD:
        lex(p);
        op->kind = OP_FIELD;
        op->fields = ks_malloc(sizeof(*op->fields));
        op->fields[op->nfields++] = ks_strndup(p->s + t.pos + 1, t.len - 1);
        parse_chain(p, op);
        return true;
    case T_DOT:
        lex(p);
        op->kind = OP_DOT;
        break;
    case T_VAR:
        lex(p);
        if (!var_defined(p, p->s + t.pos, t.len)) {
            perr(p, t.pos, "undefined variable \"%.*s\"", (int)t.len, p->s + t.pos);
            return false;
        }
        op->kind = OP_VAR;
        op->name = ks_strndup(p->s + t.pos, t.len);
        break;
    case T_STRING:
    case T_CHAR: {
        gt_buf_t b = {0};
        int64_t  rune = 0;

        lex(p);
        if (!unquote(p->s + t.pos, t.len, &b, &rune)) {
            free(b.data);
            perr(p, t.pos, "bad %s %.*s", t.kind == T_CHAR ? "character constant" : "string",
                 (int)t.len, p->s + t.pos);
            return false;
        }
        if (t.kind == T_CHAR) {
            free(b.data);
            op->kind = OP_NUMBER;
            op->is_int = op->is_float = true;
            op->ival = rune;
            op->fval = (double)rune;
            op->str = ks_strndup(p->s + t.pos, t.len);
            op->len = t.len;
        } else {
            op->kind = OP_STRING;
            op->len = b.len;
            op->str = b.data ? b.data : ks_strdup("");
        }
        break;
    }
    case T_NUMBER:
        lex(p);
        op->kind = OP_NUMBER;
        op->str = ks_strndup(p->s + t.pos, t.len);
        op->len = t.len;
        if (!parse_number(op, p->s + t.pos, t.len)) {
            perr(p, t.pos, "number %.*s is not supported", (int)t.len, p->s + t.pos);
            return false;
        }
        break;
    case T_LPAREN:
        lex(p);
        if (++p->depth > MAX_DEPTH) {
            perr(p, t.pos, "nesting deeper than %d", MAX_DEPTH);
            return false;
        }
        op->kind = OP_PIPE;
        op->pipe = parse_pipeline(p, "parenthesized pipeline", T_RPAREN, false);
        p->depth--;
        if (p->failed)
            return false;
        break;
    case T_IDENT:
        lex(p);
        if (tok_is(p, &t, "true") || tok_is(p, &t, "false")) {
            op->kind = OP_BOOL;
            op->b = tok_is(p, &t, "true");
        } else if (tok_is(p, &t, "nil")) {
            op->kind = OP_NIL;
        } else if ((op->func = gt_func_find(p->s + t.pos, t.len)) != NULL) {
            op->kind = OP_FUNC;
        } else {
            perr(p, t.pos, "function \"%.*s\" is not supported", (int)t.len, p->s + t.pos);
            return false;
        }
        break;
    default:
        return false;
    }
    if (op->kind == OP_VAR || op->kind == OP_PIPE || op->kind == OP_DOT) {
        parse_chain(p, op);
    } else {
        tok_t n = peek(p);

        if (n.kind == T_FIELD && !n.space) {
            perr(p, n.pos, "unexpected %.*s after a literal or function", (int)n.len, p->s + n.pos);
            return false;
        }
    }
    return true;
}

static void
parse_command(parser_t *p, command_t *cmd, size_t stage)
{
    for (;;) {
        operand_t op;
        tok_t     t = peek(p);

        if (t.kind == T_CLOSE || t.kind == T_PIPE || t.kind == T_RPAREN || t.kind == T_EOF)
            break;
        if (cmd->nops > 0 && !t.space && t.kind != T_LPAREN && t.kind != T_BAD) {
            perr(p, t.pos, "missing space before %.*s", (int)t.len, p->s + t.pos);
            return;
        }
        if (!parse_operand(p, &op)) {
            perr(p, t.pos, "unexpected %.*s in command", (int)(t.len ? t.len : 1), p->s + t.pos);
            free_operand(&op);
            return;
        }
        cmd->ops = ks_realloc(cmd->ops, (cmd->nops + 1) * sizeof(*cmd->ops));
        cmd->ops[cmd->nops++] = op;
    }
    if (cmd->nops == 0) {
        perr(p, cmd->pos, "missing value for command");
        return;
    }
    if (cmd->ops[0].kind != OP_FUNC && (cmd->nops > 1 || stage > 0)) {
        if (cmd->ops[0].kind == OP_NIL)
            perr(p, cmd->ops[0].pos, "nil is not a command");
        else
            perr(p, cmd->ops[0].pos, "%s: only a function takes arguments%s", stage > 0 ? "non executable "
                 "command in pipeline" : "can't give argument to non-function",
                 stage > 0 ? " from a pipe" : "");
    } else if (cmd->ops[0].kind == OP_NIL) {
        perr(p, cmd->ops[0].pos, "nil is not a command");
    }
}

/* [$x :=] command { | command }, up to end (T_CLOSE or T_RPAREN, consumed). */
static pipe_t *
parse_pipeline(parser_t *p, const char *context, tok_kind_t end, bool decl_ok)
{
    pipe_t *pipe = ks_calloc(1, sizeof(*pipe));
    tok_t   t = peek(p);

    pipe->pos = t.pos;
    if (t.kind == T_VAR) {
        /* a declaration: $x :=, $x =, or (range) $i, $v := */
        parser_t look = *p;
        tok_t    v1 = lex(&look), n = lex(&look), v2 = {0};

        if (n.kind == T_COMMA) {
            v2 = lex(&look);
            n = lex(&look);
            if (v2.kind != T_VAR || n.kind != T_DECLARE) {
                perr(p, v1.pos, "bad declaration in %s", context);
                return pipe;
            }
        }
        if (n.kind == T_DECLARE || n.kind == T_ASSIGN) {
            if (!decl_ok) {
                perr(p, v1.pos, "declaration in %s is not supported", context);
                return pipe;
            }
            if (v2.kind == T_VAR && strcmp(context, "range") != 0) {
                perr(p, v1.pos, "too many declarations in %s", context);
                return pipe;
            }
            if (n.kind == T_ASSIGN && (strcmp(context, "range") == 0 ||
                                       !var_defined(p, p->s + v1.pos, v1.len))) {
                perr(p, v1.pos, strcmp(context, "range") == 0 ? "assignment in range is not supported"
                     : "undefined variable \"%.*s\"", (int)v1.len, p->s + v1.pos);
                return pipe;
            }
            if (v1.len == 1 || (v2.kind == T_VAR && v2.len == 1)) {
                perr(p, v1.pos, "cannot declare $");
                return pipe;
            }
            pipe->vars[0] = ks_strndup(p->s + v1.pos, v1.len);
            if (v2.kind == T_VAR)
                pipe->vars[1] = ks_strndup(p->s + v2.pos, v2.len);
            pipe->nvars = v2.kind == T_VAR ? 2 : 1;
            pipe->assign = n.kind == T_ASSIGN;
            *p = look;      /* the declaration consumed; otherwise the variable starts a command */
        }
    }
    for (;;) {
        command_t cmd = { NULL, 0, peek(p).pos };

        parse_command(p, &cmd, pipe->ncmds);
        pipe->cmds = ks_realloc(pipe->cmds, (pipe->ncmds + 1) * sizeof(*pipe->cmds));
        pipe->cmds[pipe->ncmds++] = cmd;
        if (p->failed)
            return pipe;
        t = lex(p);
        if (t.kind == end) {
            if (end == T_CLOSE)
                p->trim_next = t.trim;
            break;
        }
        if (t.kind == T_PIPE && peek(p).kind == end) {
            /* Go ignores a pipe with nothing after it */
            t = lex(p);
            if (end == T_CLOSE)
                p->trim_next = t.trim;
            break;
        }
        if (t.kind != T_PIPE) {
            if (t.kind == T_EOF)
                perr(p, t.pos, "unclosed action");
            else
                perr(p, t.pos, "unexpected %.*s in %s", (int)(t.len ? t.len : 2), p->s + t.pos, context);
            return pipe;
        }
    }
    /* the declared variables are in scope after the pipeline */
    if (!pipe->assign) {
        for (size_t v = 0; v < pipe->nvars; v++)
            var_push(p, pipe->vars[v]);
    }
    return pipe;
}

typedef enum { END_EOF, END_END, END_ELSE } list_end_t;

static node_t *parse_list(parser_t *p, list_end_t *how, tok_t *else_tok);

static node_t *
new_node(node_kind_t kind, size_t pos)
{
    node_t *n = ks_calloc(1, sizeof(*n));

    n->kind = kind;
    n->pos = pos;
    return n;
}

static void
expect_close(parser_t *p, const char *what)
{
    tok_t t = lex(p);

    if (t.kind != T_CLOSE)
        perr(p, t.pos, "unexpected %.*s in %s", (int)(t.len ? t.len : 2), p->s + t.pos, what);
    else
        p->trim_next = t.trim;
}

/* if/with/range: the pipeline, the list, an else branch ("else if"/"else with" chain into a
 * nested node, as Go's parser does). */
static node_t *
parse_control(parser_t *p, node_kind_t kind, size_t pos, const char *context)
{
    node_t    *n = new_node(kind, pos);
    size_t     mark = p->nvars;
    list_end_t how;
    tok_t      else_tok;

    if (++p->depth > MAX_DEPTH) {
        perr(p, pos, "nesting deeper than %d", MAX_DEPTH);
        p->depth--;
        return n;
    }
    n->pipe = parse_pipeline(p, context, T_CLOSE, true);
    if (p->failed)
        goto out;
    if (kind == N_RANGE)
        p->ranges++;
    n->list = parse_list(p, &how, &else_tok);
    if (kind == N_RANGE)
        p->ranges--;
    if (p->failed)
        goto out;
    if (how == END_EOF) {
        perr(p, pos, "unexpected EOF: {{%s}} has no {{end}}", context);
    } else if (how == END_ELSE) {
        tok_t t = peek(p);

        if (kind != N_RANGE && (tok_is(p, &t, "if") || tok_is(p, &t, "with"))) {
            /* else if / else with: the rest of the chain is the else list, and it ends ours */
            node_kind_t nested = tok_is(p, &t, "if") ? N_IF : N_WITH;

            if ((nested == N_IF) != (kind == N_IF)) {
                perr(p, t.pos, "else %.*s inside {{%s}}", (int)t.len, p->s + t.pos, context);
                goto out;
            }
            lex(p);
            n->else_list = parse_control(p, nested, t.pos, context);
        } else {
            expect_close(p, "else");
            if (p->failed)
                goto out;
            n->else_list = parse_list(p, &how, &else_tok);
            if (!p->failed && how != END_END)
                perr(p, how == END_ELSE ? else_tok.pos : pos,
                     how == END_ELSE ? "{{else}} after {{else}}" : "unexpected EOF: {{%s}} has no {{end}}", context);
        }
    }
out:
    p->depth--;
    var_pop(p, mark);
    return n;
}

/* One action after "{{" (and its trim marker): a node, NULL for a comment, or an end/else. */
static node_t *
parse_action(parser_t *p, size_t pos, list_end_t *how, tok_t *else_tok)
{
    tok_t t;

    if (at(p, p->i, "/*")) {
        const char *end = NULL;

        for (size_t i = p->i + 2; i + 1 < p->n; i++) {
            if (p->s[i] == '*' && p->s[i + 1] == '/') {
                end = p->s + i;
                break;
            }
        }
        if (end == NULL) {
            perr(p, pos, "unclosed comment");
            return NULL;
        }
        p->i = (size_t)(end - p->s) + 2;
        t = lex(p);
        if (t.kind != T_CLOSE || (t.space && !t.trim))
            perr(p, pos, "comment ends before closing delimiter");
        else
            p->trim_next = t.trim;
        return NULL;
    }
    t = peek(p);
    if (t.kind == T_IDENT) {
        static const char *const refused[] = { "define", "template", "block" };

        for (size_t i = 0; i < 3; i++) {
            if (tok_is(p, &t, refused[i])) {
                perr(p, t.pos, "{{%s}} is not supported", refused[i]);
                return NULL;
            }
        }
        if (tok_is(p, &t, "if") || tok_is(p, &t, "with") || tok_is(p, &t, "range")) {
            node_kind_t kind = tok_is(p, &t, "if") ? N_IF : tok_is(p, &t, "with") ? N_WITH : N_RANGE;

            lex(p);
            return parse_control(p, kind, t.pos, kind == N_IF ? "if" : kind == N_WITH ? "with" : "range");
        }
        if (tok_is(p, &t, "end") || tok_is(p, &t, "else")) {
            lex(p);
            *how = tok_is(p, &t, "end") ? END_END : END_ELSE;
            *else_tok = t;
            if (*how == END_END)
                expect_close(p, "end");
            return NULL;
        }
        if (tok_is(p, &t, "break") || tok_is(p, &t, "continue")) {
            node_t *n = new_node(tok_is(p, &t, "break") ? N_BREAK : N_CONTINUE, t.pos);

            lex(p);
            if (p->ranges == 0)
                perr(p, t.pos, "{{%.*s}} outside {{range}}", (int)t.len, p->s + t.pos);
            else
                expect_close(p, "break or continue");
            return n;
        }
    }
    {
        node_t *n = new_node(N_ACTION, pos);

        if (t.kind == T_CLOSE) {
            perr(p, pos, "missing value for command");
            return n;
        }
        n->pipe = parse_pipeline(p, "command", T_CLOSE, true);
        return n;
    }
}

static node_t *
parse_list(parser_t *p, list_end_t *how, tok_t *else_tok)
{
    node_t  *head = NULL, **tail = &head;
    node_t  *last_text = NULL;

    *how = END_EOF;
    while (!p->failed && p->i < p->n) {
        const char *open = NULL;
        size_t      start = p->i, end;

        for (size_t i = p->i; i + 1 < p->n; i++) {
            if (p->s[i] == '{' && p->s[i + 1] == '{') {
                open = p->s + i;
                break;
            }
        }
        end = open ? (size_t)(open - p->s) : p->n;
        if (p->trim_next) {
            while (start < end && is_space(p->s[start]))
                start++;
            p->trim_next = false;
        }
        last_text = NULL;
        if (end > start) {
            last_text = new_node(N_TEXT, start);
            last_text->text = ks_strndup(p->s + start, end - start);
            last_text->len = end - start;
            *tail = last_text;
            tail = &last_text->next;
        }
        if (open == NULL) {
            p->i = p->n;
            break;
        }
        p->i = end + 2;
        /* "{{- " trims the text before */
        if (p->i + 1 < p->n && p->s[p->i] == '-' && is_space(p->s[p->i + 1])) {
            while (last_text != NULL && last_text->len > 0 && is_space(last_text->text[last_text->len - 1]))
                last_text->text[--last_text->len] = '\0';
            p->i += 2;
        }
        p->has_peeked = false;
        {
            node_t *n = parse_action(p, end, how, else_tok);

            if (n != NULL) {
                *tail = n;
                tail = &n->next;
            }
            if (*how != END_EOF || p->failed)
                break;
        }
    }
    return head;
}

ks_gotmpl_t *
ks_gotmpl_parse(const char *text, size_t *offset, char *err, size_t errlen)
{
    parser_t    p = { .s = text, .n = strlen(text), .err = err, .errlen = errlen };
    ks_gotmpl_t *t = ks_calloc(1, sizeof(*t));
    list_end_t  how;
    tok_t       else_tok;

    var_push(&p, "$");
    t->root = parse_list(&p, &how, &else_tok);
    if (!p.failed && how != END_EOF)
        perr(&p, else_tok.pos, "unexpected {{%s}}", how == END_END ? "end" : "else");
    var_pop(&p, 0);
    free(p.vars);
    if (p.failed) {
        *offset = p.errpos;
        ks_gotmpl_free(t);
        return NULL;
    }
    return t;
}

/* ---------------------------------------------------------------------------------------------
 * Execution */

typedef struct var {
    const char *name;
    gt_value_t  value;
} var_t;

typedef struct exec {
    gt_run_t  run;
    gt_buf_t  out;
    var_t    *vars;
    size_t    nvars, capvars;
} exec_t;

enum { WALK_OK = 0, WALK_BREAK = 1, WALK_CONTINUE = 2 };

static int eval_pipe(exec_t *x, const gt_value_t *dot, const pipe_t *pipe, gt_value_t *out);

static void
push_var(exec_t *x, const char *name, gt_value_t v)
{
    if (x->nvars == x->capvars) {
        x->capvars = x->capvars ? 2 * x->capvars : 8;
        x->vars = ks_realloc(x->vars, x->capvars * sizeof(*x->vars));
    }
    x->vars[x->nvars++] = (var_t){ name, v };
}

static var_t *
find_var(exec_t *x, const char *name)
{
    for (size_t i = x->nvars; i-- > 0;) {
        if (strcmp(x->vars[i].name, name) == 0)
            return &x->vars[i];
    }
    return NULL;    /* the parser saw to it that this does not happen */
}

static int
step(exec_t *x)
{
    if (++x->run.steps > KS_GOTMPL_MAX_STEPS)
        return gt_fail(&x->run, "the template ran more than %ld steps", KS_GOTMPL_MAX_STEPS);
    if (x->out.len > KS_GOTMPL_MAX_OUTPUT)
        return gt_fail(&x->run, "the template wrote more than %u bytes", KS_GOTMPL_MAX_OUTPUT);
    return 0;
}

/* receiver.name, with Go's rules for maps, missing values and nil. */
static int
field(exec_t *x, const gt_value_t *recv, const char *name, gt_value_t *out)
{
    switch (recv->kind) {
    case GT_NONE:
        *out = (gt_value_t){ .kind = GT_NONE };
        return 0;
    case GT_MAP: {
        const json_t *m = json_object_get(recv->u.json, name);

        *out = m ? gt_from_json(m) : (gt_value_t){ .kind = GT_NONE };
        return 0;
    }
    case GT_NIL:
        return gt_fail(&x->run, "nil pointer evaluating interface {}.%s", name);
    default:
        return gt_fail(&x->run, "can't evaluate field %s in type %s", name, gt_type_name(recv));
    }
}

static int
chain(exec_t *x, const operand_t *op, gt_value_t *v)
{
    for (size_t f = 0; f < op->nfields; f++) {
        gt_value_t next;

        if (field(x, v, op->fields[f], &next) != 0)
            return -1;
        *v = next;
    }
    return 0;
}

static gt_value_t
number_value(const operand_t *op)
{
    if (op->float_text || !op->is_int)
        return (gt_value_t){ .kind = GT_FLOAT, .u.f = op->fval };
    return (gt_value_t){ .kind = GT_INT, .u.i = op->ival };
}

static int call(exec_t *x, const gt_value_t *dot, const command_t *cmd, const gt_value_t *final, gt_value_t *out);

static int
eval_operand(exec_t *x, const gt_value_t *dot, const operand_t *op, gt_value_t *out)
{
    switch (op->kind) {
    case OP_FIELD:
    case OP_DOT:
        *out = *dot;
        break;
    case OP_VAR:
        *out = find_var(x, op->name)->value;
        break;
    case OP_STRING:
        *out = (gt_value_t){ .kind = GT_STRING, .u.str = { op->str, op->len } };
        return 0;
    case OP_NUMBER:
        *out = number_value(op);
        return 0;
    case OP_BOOL:
        *out = (gt_value_t){ .kind = GT_BOOL, .u.b = op->b };
        return 0;
    case OP_NIL:
        *out = (gt_value_t){ .kind = GT_NIL };
        return 0;
    case OP_PIPE:
        if (eval_pipe(x, dot, op->pipe, out) != 0)
            return -1;
        break;
    case OP_FUNC: {
        command_t one = { (operand_t *)op, 1, op->pos };

        return call(x, dot, &one, NULL, out);
    }
    }
    return chain(x, op, out);
}

/* An argument converted to a parameter's type, as text/template's evalArg does. */
static int
convert_arg(exec_t *x, const gt_func_t *fn, char type, const operand_t *op, const gt_value_t *given,
            gt_value_t *out)
{
    gt_value_t v;

    if (op != NULL && op->kind == OP_NUMBER && (type == 's' || type == 'i')) {
        if (type == 's' || !op->is_int)
            return gt_fail(&x->run, "%s: expected %s; found %s", fn->name, type == 's' ? "string" : "integer",
                           op->str);
        *out = (gt_value_t){ .kind = GT_INT, .u.i = op->ival };
        return 0;
    }
    if (op != NULL && op->kind == OP_NIL && (type == 's' || type == 'i'))
        return gt_fail(&x->run, "%s: cannot assign nil to %s", fn->name, type == 's' ? "string" : "int");
    if (op != NULL) {
        if (eval_operand(x, given, op, &v) != 0)
            return -1;
    } else {
        v = *given;
    }
    switch (type) {
    case 's':
    case 'i':
        if (v.kind == (type == 's' ? GT_STRING : GT_INT)) {
            *out = v;
            return 0;
        }
        if (v.kind == GT_NONE || v.kind == GT_NIL)
            return gt_fail(&x->run, "%s: invalid value; expected %s", fn->name, type == 's' ? "string" : "int");
        return gt_fail(&x->run, "%s: wrong type for value; expected %s; got %s", fn->name,
                       type == 's' ? "string" : "int", gt_type_name(&v));
    case 'a':
        if (v.kind == GT_NONE)
            v.kind = GT_NIL;
        break;
    default:
        break;
    }
    *out = v;
    return 0;
}

/* and/or: Go's short-circuit, returning the deciding argument itself. */
static int
call_logic(exec_t *x, const gt_value_t *dot, const command_t *cmd, const gt_value_t *final, bool is_and,
           gt_value_t *out)
{
    size_t n = cmd->nops - 1 + (final != NULL);

    if (n == 0)
        return gt_fail(&x->run, "wrong number of args for %s: want at least 1 got 0", is_and ? "and" : "or");
    for (size_t i = 0; i < n; i++) {
        if (i < cmd->nops - 1) {
            if (eval_operand(x, dot, &cmd->ops[i + 1], out) != 0)
                return -1;
        } else {
            *out = *final;
        }
        if (gt_truth(out) != is_and)
            return 0;
    }
    return 0;
}

static int
call(exec_t *x, const gt_value_t *dot, const command_t *cmd, const gt_value_t *final, gt_value_t *out)
{
    const gt_func_t *fn = cmd->ops[0].func;
    size_t           n = cmd->nops - 1 + (final != NULL);
    size_t           fixed = strlen(fn->params);
    bool             variadic = fixed > 0 && fn->params[fixed - 1] == '*';
    gt_value_t       stack[8], *args;
    int              rc = 0;

    if (step(x) != 0)
        return -1;
    if (fn->fn == NULL)
        return call_logic(x, dot, cmd, final, fn->name[0] == 'a', out);
    if (variadic)
        fixed -= 2;     /* the repeated letter and its star */
    if (variadic ? n < fixed : n != fixed)
        return gt_fail(&x->run, "wrong number of args for %s: want %s%zu got %zu", fn->name,
                       variadic ? "at least " : "", fixed, n);
    args = n <= 8 ? stack : ks_calloc(n, sizeof(*args));
    for (size_t i = 0; i < n && rc == 0; i++) {
        char type = i < fixed ? fn->params[i] : fn->params[fixed];

        if (i < cmd->nops - 1)
            rc = convert_arg(x, fn, type, &cmd->ops[i + 1], dot, &args[i]);
        else
            rc = convert_arg(x, fn, type, NULL, final, &args[i]);
    }
    if (rc == 0)
        rc = fn->fn(&x->run, args, n, out);
    if (args != stack)
        free(args);
    return rc;
}

static int
eval_pipe(exec_t *x, const gt_value_t *dot, const pipe_t *pipe, gt_value_t *out)
{
    gt_value_t v = { .kind = GT_NONE };

    for (size_t c = 0; c < pipe->ncmds; c++) {
        const command_t *cmd = &pipe->cmds[c];
        gt_value_t       prev = v;

        if (cmd->ops[0].kind == OP_FUNC) {
            if (call(x, dot, cmd, c > 0 ? &prev : NULL, &v) != 0)
                return -1;
        } else if (eval_operand(x, dot, &cmd->ops[0], &v) != 0) {
            return -1;
        }
        if (v.kind == GT_NIL)       /* Go: an empty interface is dug into; nil becomes invalid */
            v.kind = GT_NONE;
    }
    for (size_t i = 0; i < pipe->nvars; i++) {
        if (pipe->assign)
            find_var(x, pipe->vars[i])->value = v;
        else
            push_var(x, pipe->vars[i], v);
    }
    *out = v;
    return 0;
}

static int walk(exec_t *x, const gt_value_t *dot, const node_t *list);

static int
sorted_keys_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One iteration of a range: its variables, its body; break and continue come back as codes. */
static int
iteration(exec_t *x, const node_t *n, size_t mark, gt_value_t index, gt_value_t elem)
{
    int rc;

    if (step(x) != 0)
        return -1;
    if (n->pipe->nvars == 1) {
        x->vars[mark - 1].value = elem;
    } else if (n->pipe->nvars == 2) {
        x->vars[mark - 2].value = index;
        x->vars[mark - 1].value = elem;
    }
    rc = walk(x, &elem, n->list);
    x->nvars = mark;
    return rc;
}

static int
walk_range(exec_t *x, const gt_value_t *dot, const node_t *n)
{
    size_t     mark = x->nvars, inner;
    gt_value_t v;
    size_t     count = 0;
    int        rc = 0;

    if (eval_pipe(x, dot, n->pipe, &v) != 0)
        return -1;
    inner = x->nvars;
    switch (v.kind) {
    case GT_LIST:
        for (size_t i = 0; i < json_array_size(v.u.json) && rc != WALK_BREAK && rc >= 0; i++, count++)
            rc = iteration(x, n, inner, (gt_value_t){ .kind = GT_INT, .u.i = (int64_t)i },
                           gt_from_json(json_array_get(v.u.json, i)));
        break;
    case GT_MAP: {
        size_t       nkeys = json_object_size(v.u.json), k = 0;
        const char **keys = ks_calloc(nkeys ? nkeys : 1, sizeof(*keys));
        const char  *key;
        json_t      *item;

        json_object_foreach((json_t *)v.u.json, key, item)
            keys[k++] = key;
        qsort(keys, nkeys, sizeof(*keys), sorted_keys_cmp);
        for (k = 0; k < nkeys && rc != WALK_BREAK && rc >= 0; k++, count++)
            rc = iteration(x, n, inner, (gt_value_t){ .kind = GT_STRING, .u.str = { keys[k], strlen(keys[k]) } },
                           gt_from_json(json_object_get(v.u.json, keys[k])));
        free(keys);
        break;
    }
    case GT_INT:
        if (n->pipe->nvars == 2) {
            rc = gt_fail(&x->run, "can't use %lld to iterate over more than one variable", (long long)v.u.i);
            break;
        }
        for (int64_t i = 0; i < v.u.i && rc != WALK_BREAK && rc >= 0; i++, count++)
            rc = iteration(x, n, inner, (gt_value_t){ .kind = GT_NONE },
                           (gt_value_t){ .kind = GT_INT, .u.i = i });
        break;
    case GT_NONE:
    case GT_NIL:
        break;
    default:
        rc = gt_fail(&x->run, "range can't iterate over a %s", gt_type_name(&v));
        break;
    }
    if (rc >= 0 && count == 0 && n->else_list != NULL)
        rc = walk(x, dot, n->else_list);
    x->nvars = mark;
    return rc < 0 ? -1 : 0;
}

static int
walk(exec_t *x, const gt_value_t *dot, const node_t *list)
{
    for (const node_t *n = list; n != NULL; n = n->next) {
        gt_value_t v;
        size_t     mark = x->nvars;
        int        rc;

        if (step(x) != 0)
            return -1;
        switch (n->kind) {
        case N_TEXT:
            gt_buf_add(&x->out, n->text, n->len);
            break;
        case N_ACTION:
            if (eval_pipe(x, dot, n->pipe, &v) != 0)
                return -1;
            if (n->pipe->nvars == 0)
                gt_fmt_value(&x->out, &v, true);
            break;
        case N_IF:
        case N_WITH:
            if (eval_pipe(x, dot, n->pipe, &v) != 0)
                return -1;
            if (gt_truth(&v))
                rc = walk(x, n->kind == N_WITH ? &v : dot, n->list);
            else
                rc = walk(x, dot, n->else_list);
            x->nvars = mark;
            if (rc != WALK_OK)
                return rc;
            break;
        case N_RANGE:
            if (walk_range(x, dot, n) != 0)
                return -1;
            break;
        case N_BREAK:
            return WALK_BREAK;
        case N_CONTINUE:
            return WALK_CONTINUE;
        }
    }
    return WALK_OK;
}

char *
ks_gotmpl_exec(const ks_gotmpl_t *t, const json_t *input, size_t *len, char *err, size_t errlen)
{
    exec_t     x = { .run = { .err = err, .errlen = errlen } };
    json_t    *root = json_object();
    gt_value_t dot;
    int        rc;

    json_object_set(root, "Input", input ? (json_t *)input : json_null());
    dot = (gt_value_t){ .kind = GT_MAP, .u.json = root };
    push_var(&x, "$", dot);
    rc = walk(&x, &dot, t->root);
    if (rc == 0)
        rc = step(&x);
    for (size_t i = 0; i < x.run.nowned; i++)
        free(x.run.owned[i]);
    for (size_t i = 0; i < x.run.nrefs; i++)
        json_decref(x.run.refs[i]);
    free(x.run.owned);
    free(x.run.refs);
    free(x.vars);
    json_decref(root);
    if (rc != 0) {
        free(x.out.data);
        return NULL;
    }
    gt_buf_addc(&x.out, '\0');
    if (len != NULL)
        *len = x.out.len - 1;
    return x.out.data;
}
