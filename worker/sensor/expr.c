/* expr.c — compiles and evaluates the govaluate subset of Argo expression filters.
 *
 * The text is cut into tokens, parsed by recursive descent (one function per precedence level) into
 * an array of nodes, and evaluated by walking that tree; nothing refers back to the text afterwards.
 * Each node keeps the character position of its operator for runtime messages. */
#include "sensor/expr.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/mem.h"
#include "sensor/jpath.h"

#define NONE      SIZE_MAX
#define MAX_DEPTH 200   /* nested parentheses and prefixes; deeper would only risk the stack */
#define MAX_NODES 4096  /* the evaluator recurses along the tree, so its size bounds the depth */

typedef enum {
    OP_OR, OP_AND,
    OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_REQ, OP_NREQ,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW,
    OP_NOT, OP_NEG, OP_NONE
} expr_op_t;

/* Operators by spelling, longest first so "**" wins over "*"; level 0 is refused, 7 is prefix-only. */
static const struct {
    const char *text;
    expr_op_t   op;
    int         level;
} ops[] = {
    {"||", OP_OR, 1},   {"&&", OP_AND, 2},  {"==", OP_EQ, 3},   {"!=", OP_NE, 3},  {">=", OP_GE, 3},
    {"<=", OP_LE, 3},   {"=~", OP_REQ, 3},  {"!~", OP_NREQ, 3}, {"**", OP_POW, 6}, {"??", OP_NONE, 0},
    {"<<", OP_NONE, 0}, {">>", OP_NONE, 0}, {">", OP_GT, 3},    {"<", OP_LT, 3},   {"+", OP_ADD, 4},
    {"-", OP_SUB, 4},   {"*", OP_MUL, 5},   {"/", OP_DIV, 5},   {"%", OP_MOD, 5},  {"!", OP_NOT, 7},
    {"?", OP_NONE, 0},  {":", OP_NONE, 0},  {"&", OP_NONE, 0},  {"|", OP_NONE, 0}, {"^", OP_NONE, 0},
    {"~", OP_NONE, 0},  {",", OP_NONE, 0},
};

static const char *const op_names[] = {"||", "&&", "==", "!=", ">", ">=", "<", "<=", "=~", "!~",
                                       "+",  "-",  "*",  "/",  "%", "**", "!", "-"};

typedef enum { T_END, T_NUM, T_STR, T_VAR, T_BOOL, T_LPAREN, T_RPAREN, T_OP } tok_kind_t;

typedef struct expr_tok {
    tok_kind_t kind;
    int        op;    /* index into ops[] for T_OP */
    double     num;
    bool       b;
    char      *str;   /* T_STR, T_VAR: the text with escapes resolved (owned until moved to a node) */
    size_t     len;
    size_t     off;   /* byte offset in the source, and byte length there */
    size_t     src_len;
    size_t     col;   /* 1-based character position */
} expr_tok_t;

typedef enum { N_NUM, N_STR, N_BOOL, N_VAR, N_UNARY, N_BINARY } node_kind_t;

typedef struct expr_node {
    node_kind_t kind;
    expr_op_t   op;
    size_t      col;          /* 1-based character position of the operator or value */
    size_t      left, right;  /* children (a prefix operator has only right) */
    double      num;
    bool        b;
    char       *str;          /* N_STR */
    size_t      len;
    size_t      var;          /* N_VAR */
    pcre2_code *re;           /* =~ and !~ whose pattern is a literal */
} expr_node_t;

struct ks_expr {
    expr_node_t *nodes;
    size_t       nnodes;
    size_t       cap;
    size_t       root;
    char       **vars;
    size_t       nvars;
};

typedef struct expr_parser {
    const char *text;
    expr_tok_t *toks;
    size_t      ntoks;
    size_t      at;
    int         depth;
    ks_expr_t  *expr;
    char       *err;
    size_t      errlen;
} expr_parser_t;

/* 1-based character (not byte) position of byte offset off. */
static size_t
char_col(const char *text, size_t off)
{
    size_t col = 1, i;

    for (i = 0; i < off && text[i] != '\0'; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            col++;
    return col;
}

/* ---- lexer ------------------------------------------------------------------------------------ */

static bool
is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (unsigned char)c >= 0x80;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads up to (not including) stop, or while name characters last when stop is 0; a backslash takes
 * the next character literally. Returns the end offset, or NONE when stop never came. */
static size_t
read_escaped(const char *s, size_t i, char stop, char **out, size_t *outlen)
{
    char  *buf = ks_malloc(strlen(s + i) + 1);
    size_t n = 0;

    for (;; i++) {
        char c = s[i];

        if (stop != '\0' ? c == stop : !(is_letter(c) || is_digit(c) || c == '_' || c == '.' || c == '\\'))
            break;
        if (c == '\0') {
            free(buf);
            return NONE;
        }
        if (c == '\\') {
            if (s[i + 1] == '\0') {
                if (stop != '\0') {
                    free(buf);
                    return NONE;
                }
                break;
            }
            c = s[++i];
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return i;
}

/* Writes "<message> at character N" for a problem at byte offset off; returns -1. */
static int __attribute__((format(printf, 3, 4)))
lex_error(expr_parser_t *ps, size_t off, const char *fmt, ...)
{
    va_list ap;
    size_t  n;

    va_start(ap, fmt);
    vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
    n = strlen(ps->err);
    if (n < ps->errlen)
        snprintf(ps->err + n, ps->errlen - n, " at character %zu", char_col(ps->text, off));
    return -1;
}

static bool
is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A number as govaluate reads it: digits and dots (no exponent), or 0x and hex digits. */
static int
lex_number(expr_parser_t *ps, size_t i, expr_tok_t *tok, size_t *end)
{
    const char *s = ps->text;
    bool        hex = s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
    size_t      e = hex ? i + 2 : i;
    char       *text, *stop;

    while (hex ? (is_digit(s[e]) || (s[e] >= 'a' && s[e] <= 'f') || (s[e] >= 'A' && s[e] <= 'F'))
               : (is_digit(s[e]) || s[e] == '.'))
        e++;
    text = ks_strndup(s + i, e - i);
    tok->num = hex ? (double)strtoull(text + 2, &stop, 16) : strtod(text, &stop);
    if (*stop != '\0' || stop == text + (hex ? 2 : 0)) {
        lex_error(ps, i, "invalid number '%s'", text);
        free(text);
        return -1;
    }
    free(text);
    tok->kind = T_NUM;
    *end = e;
    return 0;
}

/* A variable name, true or false; "in" and function calls are refused. */
static int
lex_name(expr_parser_t *ps, size_t i, expr_tok_t *tok, size_t *end)
{
    const char *s = ps->text;
    size_t      k;

    *end = read_escaped(s, i, '\0', &tok->str, &tok->len);
    tok->kind = T_VAR;
    if (strcmp(tok->str, "in") == 0 || strcmp(tok->str, "IN") == 0)
        return lex_error(ps, i, "operator '%s' is not supported", tok->str);
    for (k = *end; is_space(s[k]);)
        k++;
    if (s[k] == '(')
        return lex_error(ps, i, "function call '%s(...)' is not supported", tok->str);
    if (strcmp(tok->str, "true") == 0 || strcmp(tok->str, "false") == 0) {
        tok->kind = T_BOOL;
        tok->b = tok->str[0] == 't';
        free(tok->str);
        tok->str = NULL;
    }
    return 0;
}

/* An operator, longest spelling first. */
static int
lex_operator(expr_parser_t *ps, size_t i, expr_tok_t *tok, size_t *end)
{
    const char *s = ps->text;
    size_t      k, n;

    for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
        if (strncmp(s + i, ops[k].text, strlen(ops[k].text)) == 0)
            break;
    if (k == sizeof(ops) / sizeof(ops[0])) {
        if (s[i] == '=') {
            snprintf(ps->err, ps->errlen, "unknown operator '=' at character %zu (compare with '==')",
                     char_col(s, i));
            return -1;
        }
        for (n = 1; n < 4 && ((unsigned char)s[i + n] & 0xC0) == 0x80;)
            n++;
        return lex_error(ps, i, "unexpected character '%.*s'", (int)n, s + i);
    }
    if (ops[k].level == 0)
        return lex_error(ps, i, "operator '%s' is not supported", ops[k].text);
    tok->kind = T_OP;
    tok->op = (int)k;
    *end = i + strlen(ops[k].text);
    return 0;
}

/* Reads one token at *pos into tok; 0, or -1 with a message (tok->str is then already freed). */
static int
lex_one(expr_parser_t *ps, size_t *pos, expr_tok_t *tok)
{
    const char *s = ps->text;
    size_t      i = *pos, end = 0;
    int         rc = 0;

    while (is_space(s[i]))
        i++;
    memset(tok, 0, sizeof(*tok));
    tok->off = i;
    if (s[i] == '\0') {
        tok->kind = T_END;
        end = i;
    } else if (is_digit(s[i]) || s[i] == '.') {
        rc = lex_number(ps, i, tok, &end);
    } else if (s[i] == '"' || s[i] == '\'' || s[i] == '[') {
        end = read_escaped(s, i + 1, s[i] == '[' ? ']' : s[i], &tok->str, &tok->len);
        if (end == NONE)
            rc = lex_error(ps, i, s[i] == '[' ? "unclosed variable name '['" : "unclosed string");
        tok->kind = s[i] == '[' ? T_VAR : T_STR;
        end++;
    } else if (is_letter(s[i])) {
        rc = lex_name(ps, i, tok, &end);
    } else if (s[i] == '(' || s[i] == ')') {
        tok->kind = s[i] == '(' ? T_LPAREN : T_RPAREN;
        end = i + 1;
    } else {
        rc = lex_operator(ps, i, tok, &end);
    }
    if (rc != 0) {
        free(tok->str);
        tok->str = NULL;
        return -1;
    }
    tok->src_len = end - i;
    *pos = end;
    return 0;
}

/* Cuts the whole text into tokens, counting characters as it goes (char_col on each would be slow). */
static int
lex_all(expr_parser_t *ps)
{
    size_t     pos = 0, cap = 0, off = 0, col = 1;
    expr_tok_t tok;

    do {
        if (lex_one(ps, &pos, &tok) != 0)
            return -1;
        for (; off < tok.off; off++)
            if (((unsigned char)ps->text[off] & 0xC0) != 0x80)
                col++;
        tok.col = col;
        if (ps->ntoks == cap) {
            cap = cap ? cap * 2 : 16;
            ps->toks = ks_realloc(ps->toks, cap * sizeof(*ps->toks));
        }
        ps->toks[ps->ntoks++] = tok;
    } while (tok.kind != T_END);
    return 0;
}

/* ---- parser ----------------------------------------------------------------------------------- */

static int
unexpected(expr_parser_t *ps, const expr_tok_t *tok)
{
    if (tok->kind == T_END)
        snprintf(ps->err, ps->errlen, "unexpected end of expression at character %zu", tok->col);
    else
        snprintf(ps->err, ps->errlen, "unexpected '%.*s' at character %zu", (int)(tok->src_len > 40 ? 40 : tok->src_len),
                 ps->text + tok->off, tok->col);
    return -1;
}

static size_t
add_node(expr_parser_t *ps, node_kind_t kind, expr_op_t op, size_t col)
{
    ks_expr_t   *expr = ps->expr;
    expr_node_t *node;

    if (expr->nnodes == MAX_NODES) {
        snprintf(ps->err, ps->errlen, "expression is too long at character %zu (more than %d terms)", col,
                 MAX_NODES);
        return NONE;
    }
    if (expr->nnodes == expr->cap) {
        expr->cap = expr->cap ? expr->cap * 2 : 16;
        expr->nodes = ks_realloc(expr->nodes, expr->cap * sizeof(*expr->nodes));
    }
    node = &expr->nodes[expr->nnodes];
    memset(node, 0, sizeof(*node));
    node->kind = kind;
    node->op = op;
    node->col = col;
    node->left = node->right = NONE;
    return expr->nnodes++;
}

static size_t
var_index(ks_expr_t *expr, char *name)
{
    size_t i;

    for (i = 0; i < expr->nvars; i++) {
        if (strcmp(expr->vars[i], name) == 0) {
            free(name);
            return i;
        }
    }
    expr->vars = ks_realloc(expr->vars, (expr->nvars + 1) * sizeof(*expr->vars));
    expr->vars[expr->nvars] = name;
    return expr->nvars++;
}

static size_t parse_level(expr_parser_t *ps, int level);

/* Enters a parenthesis or prefix operator; -1 with a message when that goes too deep. */
static int
nest(expr_parser_t *ps, const expr_tok_t *tok)
{
    if (++ps->depth <= MAX_DEPTH)
        return 0;
    snprintf(ps->err, ps->errlen, "expression nests more than %d levels deep at character %zu", MAX_DEPTH,
             tok->col);
    return -1;
}

static size_t
parse_primary(expr_parser_t *ps)
{
    expr_tok_t *tok = &ps->toks[ps->at];
    size_t      n, inner;

    switch (tok->kind) {
    case T_NUM:
    case T_BOOL:
        if ((n = add_node(ps, tok->kind == T_NUM ? N_NUM : N_BOOL, OP_NONE, tok->col)) == NONE)
            return NONE;
        ps->expr->nodes[n].num = tok->num;
        ps->expr->nodes[n].b = tok->b;
        break;
    case T_STR:
    case T_VAR:
        if ((n = add_node(ps, tok->kind == T_STR ? N_STR : N_VAR, OP_NONE, tok->col)) == NONE)
            return NONE;
        if (tok->kind == T_STR) {
            ps->expr->nodes[n].str = tok->str;
            ps->expr->nodes[n].len = tok->len;
        } else {
            ps->expr->nodes[n].var = var_index(ps->expr, tok->str);
        }
        tok->str = NULL;
        break;
    case T_LPAREN:
        if (nest(ps, tok) != 0)
            return NONE;
        ps->at++;
        if ((inner = parse_level(ps, 1)) == NONE)
            return NONE;
        if (ps->toks[ps->at].kind != T_RPAREN) {
            snprintf(ps->err, ps->errlen, "missing ')' for the '(' at character %zu", tok->col);
            return NONE;
        }
        ps->depth--;
        ps->at++;
        return inner;
    default:
        unexpected(ps, tok);
        return NONE;
    }
    ps->at++;
    return n;
}

/* Prefix '!' and '-' bind tightest, as in govaluate: -2 ** 2 is 4. */
static size_t
parse_unary(expr_parser_t *ps)
{
    const expr_tok_t *tok = &ps->toks[ps->at];
    size_t            n, operand;

    if (tok->kind != T_OP || (ops[tok->op].op != OP_NOT && ops[tok->op].op != OP_SUB))
        return parse_primary(ps);
    if (nest(ps, tok) != 0)
        return NONE;
    ps->at++;
    if ((operand = parse_unary(ps)) == NONE)
        return NONE;
    ps->depth--;
    if ((n = add_node(ps, N_UNARY, ops[tok->op].op == OP_NOT ? OP_NOT : OP_NEG, tok->col)) == NONE)
        return NONE;
    ps->expr->nodes[n].right = operand;
    return n;
}

/* A literal pattern is compiled once, here; PCRE2 is told to behave like Go where they differ. */
static pcre2_code *
compile_regex(const char *pattern, size_t len, char *msg, size_t msglen)
{
    pcre2_code *re;
    PCRE2_SIZE  off;
    int         code;

    re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
                       &code, &off, NULL);
    if (re == NULL)
        pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, msglen);
    return re;
}

/* One binary precedence level (1 = ||, ..., 6 = **), left-associative. */
static size_t
parse_level(expr_parser_t *ps, int level)
{
    size_t left, right, n;

    if (level > 6)
        return parse_unary(ps);
    if ((left = parse_level(ps, level + 1)) == NONE)
        return NONE;
    for (;;) {
        const expr_tok_t *tok = &ps->toks[ps->at];
        expr_node_t      *node;

        if (tok->kind != T_OP || ops[tok->op].level != level)
            return left;
        ps->at++;
        if ((right = parse_level(ps, level + 1)) == NONE || (n = add_node(ps, N_BINARY, ops[tok->op].op, tok->col)) == NONE)
            return NONE;
        node = &ps->expr->nodes[n];
        node->left = left;
        node->right = right;
        if ((node->op == OP_REQ || node->op == OP_NREQ) && ps->expr->nodes[right].kind == N_STR) {
            char msg[256];

            node->re = compile_regex(ps->expr->nodes[right].str, ps->expr->nodes[right].len, msg, sizeof(msg));
            if (node->re == NULL) {
                snprintf(ps->err, ps->errlen, "invalid regular expression '%s' at character %zu: %s",
                         ps->expr->nodes[right].str, ps->expr->nodes[right].col, msg);
                return NONE;
            }
        }
        left = n;
    }
}

ks_expr_t *
ks_expr_compile(const char *text, char *err, size_t errlen)
{
    expr_parser_t ps = {.text = text, .err = err, .errlen = errlen};
    size_t        i;
    bool          ok = false;

    ps.expr = ks_calloc(1, sizeof(*ps.expr));
    if (lex_all(&ps) == 0) {
        if (ps.toks[0].kind == T_END)
            snprintf(err, errlen, "expression is empty at character 1");
        else if ((ps.expr->root = parse_level(&ps, 1)) != NONE && ps.toks[ps.at].kind != T_END)
            unexpected(&ps, &ps.toks[ps.at]);
        else
            ok = ps.expr->root != NONE;
    }
    for (i = 0; i < ps.ntoks; i++)
        free(ps.toks[i].str);
    free(ps.toks);
    if (!ok) {
        ks_expr_free(ps.expr);
        return NULL;
    }
    return ps.expr;
}

size_t
ks_expr_nvars(const ks_expr_t *expr)
{
    return expr->nvars;
}

const char *
ks_expr_var(const ks_expr_t *expr, size_t i)
{
    return i < expr->nvars ? expr->vars[i] : NULL;
}

void
ks_expr_free(ks_expr_t *expr)
{
    size_t i;

    if (expr == NULL)
        return;
    for (i = 0; i < expr->nnodes; i++) {
        free(expr->nodes[i].str);
        pcre2_code_free(expr->nodes[i].re);
    }
    for (i = 0; i < expr->nvars; i++)
        free(expr->vars[i]);
    free(expr->nodes);
    free(expr->vars);
    free(expr);
}

/* ---- evaluation ------------------------------------------------------------------------------- */

typedef enum { V_NULL, V_BOOL, V_NUM, V_STR, V_JSON } val_type_t;

typedef struct expr_val {
    val_type_t    type;
    bool          b;
    double        num;
    const char   *s;    /* V_STR: borrowed from a variable or the tree, or own */
    size_t        len;
    char         *own;
    const json_t *json; /* V_JSON: an object or array variable */
} expr_val_t;

typedef struct expr_eval {
    const ks_expr_t *expr;
    json_t *const   *vars;
    char            *err;
    size_t           errlen;
} expr_eval_t;

static const char *
type_name(const expr_val_t *v)
{
    static const char *const names[] = {"null", "boolean", "number", "string"};

    if (v->type == V_JSON)
        return json_is_object(v->json) ? "object" : "array";
    return names[v->type];
}

/* Deep equality where every number is a float64, as reflect.DeepEqual sees gjson's Value(). */
static bool
json_same(const json_t *a, const json_t *b)
{
    const char *key;
    json_t     *item;
    size_t      i;

    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, key, item) {
            const json_t *other = json_object_get(b, key);

            if (other == NULL || !json_same(item, other))
                return false;
        }
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        json_array_foreach(a, i, item) {
            if (!json_same(item, json_array_get(b, i)))
                return false;
        }
        return true;
    }
    return json_equal(a, b);
}

static bool
val_equal(const expr_val_t *a, const expr_val_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case V_NULL:
        return true;
    case V_BOOL:
        return a->b == b->b;
    case V_NUM:
        return a->num == b->num;
    case V_STR:
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    case V_JSON:
        break;
    }
    return json_same(a->json, b->json);
}

/* Go's %v of a value joined to a string; objects and arrays are refused by the caller. */
static size_t
val_text(const expr_val_t *v, char *buf, size_t size, const char **text)
{
    switch (v->type) {
    case V_STR:
        *text = v->s;
        return v->len;
    case V_NUM:
        *text = buf;
        return ks_jpath_format_float(buf, size, v->num, 'g');
    case V_BOOL:
        *text = v->b ? "true" : "false";
        break;
    default:
        *text = "<nil>";
        break;
    }
    return strlen(*text);
}

static int
type_error(const expr_eval_t *ev, const expr_node_t *node, const char *needs, const expr_val_t *l,
           const expr_val_t *r)
{
    snprintf(ev->err, ev->errlen, "operator '%s' at character %zu needs %s, got %s%s%s", op_names[node->op],
             node->col, needs, l ? type_name(l) : "", l ? " and " : "", type_name(r));
    return -1;
}

static int eval_node(const expr_eval_t *ev, size_t i, expr_val_t *out);

static int
eval_regex(const expr_eval_t *ev, const expr_node_t *node, const expr_val_t *l, const expr_val_t *r, bool *match)
{
    pcre2_code       *re = node->re;
    pcre2_match_data *md;
    char              msg[256];
    int               rc;

    if (l->type != V_STR)
        return type_error(ev, node, "a string on the left", NULL, l);
    if (re == NULL && r->type != V_STR)
        return type_error(ev, node, "a string pattern on the right", NULL, r);
    if (re == NULL && (re = compile_regex(r->s, r->len, msg, sizeof(msg))) == NULL) {
        snprintf(ev->err, ev->errlen, "invalid regular expression '%.*s' for '%s' at character %zu: %s",
                 (int)(r->len > 200 ? 200 : r->len), r->s, op_names[node->op], node->col, msg);
        return -1;
    }
    md = pcre2_match_data_create(1, NULL);
    rc = pcre2_match(re, (PCRE2_SPTR)l->s, l->len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    if (re != node->re)
        pcre2_code_free(re);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof(msg));
        snprintf(ev->err, ev->errlen, "regular expression match at character %zu failed: %s", node->col, msg);
        return -1;
    }
    *match = rc >= 0;
    return 0;
}

static int
eval_binary(const expr_eval_t *ev, const expr_node_t *node, const expr_val_t *l, const expr_val_t *r,
            expr_val_t *out)
{
    bool nums = l->type == V_NUM && r->type == V_NUM, strs = l->type == V_STR && r->type == V_STR, match = false;
    int  cmp = 0;

    out->type = V_BOOL;
    switch (node->op) {
    case OP_EQ:
    case OP_NE:
        out->b = val_equal(l, r) == (node->op == OP_EQ);
        return 0;
    case OP_GT:
    case OP_GE:
    case OP_LT:
    case OP_LE:
        if (!nums && !strs)
            return type_error(ev, node, "two numbers or two strings", l, r);
        if (nums)
            cmp = (l->num > r->num) - (l->num < r->num);
        else if ((cmp = memcmp(l->s, r->s, l->len < r->len ? l->len : r->len)) == 0)
            cmp = (l->len > r->len) - (l->len < r->len);
        /* NaN compares false both ways, as in Go. */
        if (nums && (isnan(l->num) || isnan(r->num)))
            out->b = false;
        else
            out->b = node->op == OP_GT ? cmp > 0 : node->op == OP_GE ? cmp >= 0 : node->op == OP_LT ? cmp < 0 : cmp <= 0;
        return 0;
    case OP_REQ:
    case OP_NREQ:
        if (eval_regex(ev, node, l, r, &match) != 0)
            return -1;
        out->b = match == (node->op == OP_REQ);
        return 0;
    case OP_ADD:
        if (!nums && (l->type == V_STR || r->type == V_STR) && l->type != V_JSON && r->type != V_JSON) {
            char        lb[64], rb[64];
            const char *lt, *rt;
            size_t      ll = val_text(l, lb, sizeof(lb), &lt), rl = val_text(r, rb, sizeof(rb), &rt);

            out->type = V_STR;
            out->own = ks_malloc(ll + rl + 1);
            memcpy(out->own, lt, ll);
            memcpy(out->own + ll, rt, rl);
            out->own[ll + rl] = '\0';
            out->s = out->own;
            out->len = ll + rl;
            return 0;
        }
        if (!nums)
            return type_error(ev, node, "two numbers or a string", l, r);
        break;
    default:
        if (!nums)
            return type_error(ev, node, "two numbers", l, r);
        break;
    }
    out->type = V_NUM;
    switch (node->op) {
    case OP_ADD: out->num = l->num + r->num; break;
    case OP_SUB: out->num = l->num - r->num; break;
    case OP_MUL: out->num = l->num * r->num; break;
    case OP_DIV: out->num = l->num / r->num; break;
    case OP_MOD: out->num = fmod(l->num, r->num); break;
    default:     out->num = pow(l->num, r->num); break;
    }
    return 0;
}

static int
eval_node(const expr_eval_t *ev, size_t i, expr_val_t *out)
{
    const expr_node_t *node = &ev->expr->nodes[i];
    const json_t      *v;
    expr_val_t         l = {0}, r = {0};
    int                rc;

    memset(out, 0, sizeof(*out));
    switch (node->kind) {
    case N_NUM:
        out->type = V_NUM;
        out->num = node->num;
        return 0;
    case N_BOOL:
        out->type = V_BOOL;
        out->b = node->b;
        return 0;
    case N_STR:
        out->type = V_STR;
        out->s = node->str;
        out->len = node->len;
        return 0;
    case N_VAR:
        if ((v = ev->vars[node->var]) == NULL) {
            snprintf(ev->err, ev->errlen, "variable '%s' at character %zu has no value", ev->expr->vars[node->var],
                     node->col);
            return -1;
        }
        if (json_is_string(v)) {
            out->type = V_STR;
            out->s = json_string_value(v);
            out->len = json_string_length(v);
        } else if (json_is_number(v)) {
            out->type = V_NUM;
            out->num = json_number_value(v);
        } else if (json_is_boolean(v)) {
            out->type = V_BOOL;
            out->b = json_is_true(v);
        } else {
            out->type = json_is_null(v) ? V_NULL : V_JSON;
            out->json = v;
        }
        return 0;
    case N_UNARY:
        if (eval_node(ev, node->right, &r) != 0)
            return -1;
        rc = 0;
        if (node->op == OP_NOT && r.type == V_BOOL) {
            out->type = V_BOOL;
            out->b = !r.b;
        } else if (node->op == OP_NEG && r.type == V_NUM) {
            out->type = V_NUM;
            out->num = -r.num;
        } else {
            rc = type_error(ev, node, node->op == OP_NOT ? "a boolean" : "a number", NULL, &r);
        }
        free(r.own);
        return rc;
    case N_BINARY:
        break;
    }
    if (eval_node(ev, node->left, &l) != 0)
        return -1;
    /* govaluate short-circuits only on a boolean that decides; anything else goes to the type check. */
    if ((node->op == OP_AND || node->op == OP_OR) && l.type == V_BOOL && l.b == (node->op == OP_OR)) {
        out->type = V_BOOL;
        out->b = l.b;
        return 0;
    }
    if (eval_node(ev, node->right, &r) != 0) {
        free(l.own);
        return -1;
    }
    if (node->op == OP_AND || node->op == OP_OR) {
        if (l.type == V_BOOL && r.type == V_BOOL) {
            out->type = V_BOOL;
            out->b = r.b;
            rc = 0;
        } else {
            rc = type_error(ev, node, "two booleans", &l, &r);
        }
    } else {
        rc = eval_binary(ev, node, &l, &r, out);
    }
    free(l.own);
    free(r.own);
    return rc;
}

int
ks_expr_eval(const ks_expr_t *expr, json_t *const *vars, char *err, size_t errlen)
{
    expr_eval_t ev = {.expr = expr, .vars = vars, .err = err, .errlen = errlen};
    expr_val_t  res;
    int         rc;

    if (eval_node(&ev, expr->root, &res) != 0)
        return -1;
    rc = res.type == V_BOOL ? res.b : -1;
    if (rc < 0)
        snprintf(err, errlen, "the expression gives a %s, not a boolean", type_name(&res));
    free(res.own);
    return rc;
}
