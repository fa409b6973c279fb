/* expr.h — the Knetic/govaluate subset that Argo users write in `filters.exprs[].expr`.
 *
 * An expression is compiled once (when the sensor is loaded) into a small tree and evaluated for each
 * event with the values of its variables, which the caller looks up with gjson paths.
 *
 * Supported, with govaluate's precedence from loosest to tightest:
 *   ||   &&   == != > >= < <= =~ !~   + -   * / %   **   unary ! -
 * All binary operators are left-associative; && and || short-circuit (the right side is not evaluated,
 * so it cannot fail, when the left side decides). Numbers are float64: JSON integers and reals compare
 * equal when their values are. '+' adds two numbers, or joins when either side is a string (the other
 * may be a string, number, boolean or null, printed like Go's %v: 1e+06, true, <nil>). > >= < <= take
 * two numbers or two strings (bytewise). == and != take any two values; different types are unequal;
 * objects and arrays compare deeply. =~ and !~ take a string on the left and a PCRE2 pattern on the
 * right, unanchored like Go's regexp.Match; a literal pattern is compiled with the expression.
 * Literals: numbers (123, 1.5, .5, 0x1F), strings in '...' or "..." where a backslash takes the next
 * character literally (govaluate has no \n), true, false. Variables: a letter followed by letters,
 * digits, '_' and '.', where a backslash takes the next character ("dep\-1" is the variable "dep-1"),
 * or any text in brackets ("[my var]").
 * Refused at compile time: ternary ?:, ??, in, bitwise & | ^ ~ << >>, ',' and function calls.
 * Where this differs from govaluate (commit 9aa4983, the one Argo pins): a dotted name such as a.b is
 * one variable (govaluate makes it a struct accessor, an error for Argo's map parameters); "a==-1"
 * needs no space (govaluate reads "==-" as one unknown operator); a string must end with the quote
 * that opened it ("it's" works); a string that looks like a date stays a string (govaluate turns
 * '2020-01-01' into a Unix time); a result that is not a boolean is an error (Argo treats it as false). */
#ifndef KS_SENSOR_EXPR_H
#define KS_SENSOR_EXPR_H

#include <stddef.h>

#include <jansson.h>

typedef struct ks_expr ks_expr_t;

/* Compiles an expression. Variable names are collected in order of first appearance. On error returns
 * NULL and writes a one-sentence message that includes the 1-based character position, e.g.
 * "unexpected ')' at character 7". */
ks_expr_t *ks_expr_compile(const char *text, char *err, size_t errlen) __attribute__((warn_unused_result));

size_t      ks_expr_nvars(const ks_expr_t *expr);
const char *ks_expr_var(const ks_expr_t *expr, size_t i);

/* Evaluates with vars[i] the value of variable i (string, integer, real, true, false, null; objects and
 * arrays only make sense with == and !=). Returns 1 (true), 0 (false) or -1 with a message in err
 * (type mismatch, a result that is not a boolean, a bad dynamic regex, a missing variable). */
int ks_expr_eval(const ks_expr_t *expr, json_t *const *vars, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void ks_expr_free(ks_expr_t *expr);

#endif
