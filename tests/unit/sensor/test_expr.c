/* test_expr.c — govaluate-subset expressions: precedence, types, regexes, short-circuit, errors. */
#include <stdlib.h>
#include <string.h>

#include "sensor/expr.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* expression, its variables' values as a JSON array (in order of first appearance), expected result
 * (1, 0, or -1 with an error containing want_err) */
static const struct {
    const char *text;
    const char *vars;
    int         want;
    const char *want_err;
} eval_cases[] = {
    /* Argo's documented example */
    {"a == \"b\" || c == 10", "[\"b\", 1]", 1, NULL},
    {"a == \"b\" || c == 10", "[\"x\", 10]", 1, NULL},
    {"a == \"b\" || c == 10", "[\"x\", 10.0]", 1, NULL},
    {"a == \"b\" || c == 10", "[\"x\", 11]", 0, NULL},
    {"a == \"b\" || c == 10", "[\"x\", \"10\"]", 0, NULL},
    /* precedence and associativity */
    {"1 + 2 * 3 == 7", "[]", 1, NULL},
    {"(1 + 2) * 3 == 9", "[]", 1, NULL},
    {"10 - 4 - 3 == 3", "[]", 1, NULL},
    {"64 / 4 / 2 == 8", "[]", 1, NULL},
    {"2 ** 3 ** 2 == 64", "[]", 1, NULL},
    {"2 * 3 ** 2 == 18", "[]", 1, NULL},
    {"-2 ** 2 == 4", "[]", 1, NULL},
    {"-a * 2 == -10", "[5]", 1, NULL},
    {"7 % 4 == 3 && 7 / 2 == 3.5", "[]", 1, NULL},
    {"1 - -1 == 2", "[]", 1, NULL},
    {"true || false && false", "[]", 1, NULL},
    {"(true || false) && false", "[]", 0, NULL},
    {"!false && true", "[]", 1, NULL},
    {"!(1 > 2)", "[]", 1, NULL},
    {"!!true", "[]", 1, NULL},
    {"1 + 1 > 1 == true", "[]", 1, NULL},
    {"a > 5 && b < 3 || c", "[6, 2, false]", 1, NULL},
    {"a > 5 && (b < 3 || c)", "[4, 2, true]", 0, NULL},
    /* literals */
    {"0x1F == 31", "[]", 1, NULL},
    {".5 == 0.5", "[]", 1, NULL},
    {"'it\\'s' == a", "[\"it's\"]", 1, NULL},
    {"\"a\\nb\" == 'anb'", "[]", 1, NULL},
    {"\"it's\" == 'it\\'s'", "[]", 1, NULL},
    /* comparisons */
    {"a < b", "[\"apple\", \"banana\"]", 1, NULL},
    {"a >= 'b'", "[\"b\"]", 1, NULL},
    {"'ab' < 'abc' && 'abd' > 'abc'", "[]", 1, NULL},
    {"a <= 2.5", "[2.5]", 1, NULL},
    {"a > b", "[3, 3.0]", 0, NULL},
    {"a > 5", "[\"6\"]", -1, "operator '>' at character 3 needs two numbers or two strings, got string and number"},
    {"a < 'x'", "[true]", -1, "got boolean and string"},
    {"0 / 0 == 0 / 0", "[]", 0, NULL},
    {"1 / 0 > 999999999", "[]", 1, NULL},
    /* equality across types */
    {"a == b", "[null, null]", 1, NULL},
    {"a != b", "[null, 0]", 1, NULL},
    {"a == true", "[true]", 1, NULL},
    {"a == 1", "[true]", 0, NULL},
    {"a == b", "[{\"x\": 1, \"y\": [1, \"s\"]}, {\"y\": [1.0, \"s\"], \"x\": 1.0}]", 1, NULL},
    {"a == b", "[{\"x\": [1, 2]}, {\"x\": [1, 3]}]", 0, NULL},
    {"a != b", "[[1], {\"0\": 1}]", 1, NULL},
    {"a == 'x'", "[[\"x\"]]", 0, NULL},
    {"a > b", "[{}, {}]", -1, "got object and object"},
    /* + on strings */
    {"a + b == 'foobar'", "[\"foo\", \"bar\"]", 1, NULL},
    {"a + 1 == 'x1'", "[\"x\"]", 1, NULL},
    {"1.5 + a == '1.5v'", "[\"v\"]", 1, NULL},
    {"'n' + 1000000 == 'n1e+06'", "[]", 1, NULL},
    {"a + true == 'xtrue'", "[\"x\"]", 1, NULL},
    {"a + b == 'x<nil>'", "[\"x\", null]", 1, NULL},
    {"a + b == 'x'", "[\"x\", {}]", -1, "needs two numbers or a string, got string and object"},
    {"a + true", "[1]", -1, "operator '+' at character 3 needs two numbers or a string, got number and boolean"},
    /* arithmetic type errors and results that are not booleans */
    {"a - 1 > 0", "[\"x\"]", -1, "operator '-' at character 3 needs two numbers, got string and number"},
    {"a * 2", "[2]", -1, "the expression gives a number, not a boolean"},
    {"a", "[\"yes\"]", -1, "the expression gives a string, not a boolean"},
    {"a", "[null]", -1, "gives a null, not a boolean"},
    {"a", "[true]", 1, NULL},
    {"-a > 0", "[true]", -1, "operator '-' at character 1 needs a number, got boolean"},
    {"!a", "[1]", -1, "operator '!' at character 1 needs a boolean, got number"},
    {"1 && true", "[]", -1, "operator '&&' at character 3 needs two booleans, got number and boolean"},
    {"false || 'x'", "[]", -1, "needs two booleans, got boolean and string"},
    /* short-circuit: the right side is not evaluated, so its errors do not happen */
    {"false && a - 1 > 0", "[\"x\"]", 0, NULL},
    {"true || a - 1 > 0", "[\"x\"]", 1, NULL},
    {"a == 1 && b =~ c", "[2, 5, \"(\"]", 0, NULL},
    {"true && a - 1 > 0", "[\"x\"]", -1, "needs two numbers"},
    {"false || a - 1 > 0", "[\"x\"]", -1, "needs two numbers"},
    /* regular expressions: unanchored like Go */
    {"a =~ 'ell'", "[\"hello\"]", 1, NULL},
    {"a =~ '^ell'", "[\"hello\"]", 0, NULL},
    {"a =~ '^h.*o$'", "[\"hello\"]", 1, NULL},
    {"a !~ 'xyz'", "[\"hello\"]", 1, NULL},
    {"a !~ 'l+'", "[\"hello\"]", 0, NULL},
    {"a =~ 'o$'", "[\"foo\\n\"]", 0, NULL},
    {"a =~ '(?i)HELLO' && a =~ '\\\\d{3}'", "[\"hello 123\"]", 1, NULL},
    {"a =~ '\\d'", "[\"d\"]", 1, NULL}, /* a backslash in a string literal takes the next character */
    {"a =~ b", "[\"hello\", \"^h[a-z]+o$\"]", 1, NULL},
    {"a =~ 'x' + b", "[\"xy\", \"y\"]", 1, NULL},
    {"a =~ b", "[\"x\", \"(\"]", -1, "invalid regular expression '(' for '=~' at character 3: missing closing parenthesis"},
    {"a =~ 5", "[\"5\"]", -1, "operator '=~' at character 3 needs a string pattern on the right, got number"},
    {"a =~ 'x'", "[5]", -1, "operator '=~' at character 3 needs a string on the left, got number"},
    {"a =~ 'é.t'", "[\"\xc3\xa9t\xc3\xa9\"]", 0, NULL},
    {"a =~ '^.t.$'", "[\"\xc3\xa9t\xc3\xa9\"]", 1, NULL},
    /* variable names */
    {"dep\\-1 == 2 && [my var] == 'x' && a.b_c", "[2, \"x\", true]", 1, NULL},
};

START_TEST(test_eval)
{
    json_error_t error;
    json_t      *vars = json_loads(eval_cases[_i].vars, 0, &error), *values[8] = {0};
    char         err[256] = "";
    ks_expr_t   *expr = ks_expr_compile(eval_cases[_i].text, err, sizeof(err));
    size_t       i;
    int          rc;

    ck_assert_msg(vars != NULL, "bad test JSON: %s", error.text);
    ck_assert_msg(expr != NULL, "'%s' did not compile: %s", eval_cases[_i].text, err);
    ck_assert_uint_eq(ks_expr_nvars(expr), json_array_size(vars));
    for (i = 0; i < json_array_size(vars); i++)
        values[i] = json_array_get(vars, i);
    rc = ks_expr_eval(expr, values, err, sizeof(err));
    ck_assert_msg(rc == eval_cases[_i].want, "'%s' gave %d (%s), want %d", eval_cases[_i].text, rc, rc < 0 ? err : "",
                  eval_cases[_i].want);
    if (eval_cases[_i].want_err != NULL)
        ck_assert_msg(strstr(err, eval_cases[_i].want_err) != NULL, "error '%s' lacks '%s'", err,
                      eval_cases[_i].want_err);
    ks_expr_free(expr);
    json_decref(vars);
}
END_TEST

/* expression -> the exact compile error */
static const struct {
    const char *text;
    const char *want;
} compile_cases[] = {
    {"a == (b", "missing ')' for the '(' at character 6"},
    {"a == b)", "unexpected ')' at character 7"},
    {"a ==", "unexpected end of expression at character 5"},
    {"", "expression is empty at character 1"},
    {"   ", "expression is empty at character 1"},
    {"()", "unexpected ')' at character 2"},
    {"a == 'x' b", "unexpected 'b' at character 10"},
    {"a b", "unexpected 'b' at character 3"},
    {"1e5 > a", "unexpected 'e5' at character 2"},
    {"\"\xc3\xa9\" == )", "unexpected ')' at character 8"},
    {"a ? b : c", "operator '?' is not supported at character 3"},
    {"a ?\? b", "operator '?\?' is not supported at character 3"},
    {"a in (1, 2)", "operator 'in' is not supported at character 3"},
    {"a IN b", "operator 'IN' is not supported at character 3"},
    {"a & b", "operator '&' is not supported at character 3"},
    {"a | b", "operator '|' is not supported at character 3"},
    {"a ^ b", "operator '^' is not supported at character 3"},
    {"~a", "operator '~' is not supported at character 1"},
    {"a << 2", "operator '<<' is not supported at character 3"},
    {"a >> 2", "operator '>>' is not supported at character 3"},
    {"a, b", "operator ',' is not supported at character 2"},
    {"len(a) > 2", "function call 'len(...)' is not supported at character 1"},
    {"x + now ()", "function call 'now(...)' is not supported at character 5"},
    {"a = 1", "unknown operator '=' at character 3 (compare with '==')"},
    {"a $ b", "unexpected character '$' at character 3"},
    {"a == \xc3\xa9", "variable"},
    {"'abc", "unclosed string at character 1"},
    {"a == \"abc\\\"", "unclosed string at character 6"},
    {"[abc", "unclosed variable name '[' at character 1"},
    {"1.2.3 > a", "invalid number '1.2.3' at character 1"},
    {"a == .", "invalid number '.' at character 6"},
    {"0x > 1", "invalid number '0x' at character 1"},
    {"a =~ '('", "invalid regular expression '(' at character 6: missing closing parenthesis"},
    {"a !~ \"[z-a]\"", "invalid regular expression '[z-a]' at character 6: range out of order in character class"},
};

START_TEST(test_compile_errors)
{
    char       err[256] = "";
    ks_expr_t *expr = ks_expr_compile(compile_cases[_i].text, err, sizeof(err));

    if (strcmp(compile_cases[_i].want, "variable") == 0) {
        /* a non-ASCII letter starts a variable name, as in govaluate (unicode.IsLetter) */
        ck_assert_msg(expr != NULL, "'%s': %s", compile_cases[_i].text, err);
        ck_assert_str_eq(ks_expr_var(expr, 1), "\xc3\xa9");
        ks_expr_free(expr);
        return;
    }
    ck_assert_msg(expr == NULL, "'%s' compiled", compile_cases[_i].text);
    ck_assert_str_eq(err, compile_cases[_i].want);
}
END_TEST

START_TEST(test_nesting_limits)
{
    char       err[256], *text = malloc(4096);
    ks_expr_t *expr;
    int        i;

    /* 150 parentheses are fine, 300 are refused instead of risking the stack */
    memset(text, '(', 150);
    strcpy(text + 150, "true");
    memset(text + 154, ')', 150);
    text[304] = '\0';
    expr = ks_expr_compile(text, err, sizeof(err));
    ck_assert_msg(expr != NULL, "%s", err);
    ck_assert_int_eq(ks_expr_eval(expr, NULL, err, sizeof(err)), 1);
    ks_expr_free(expr);
    memset(text, '(', 300);
    strcpy(text + 300, "true");
    ck_assert_ptr_null(ks_expr_compile(text, err, sizeof(err)));
    ck_assert_str_eq(err, "expression nests more than 200 levels deep at character 201");
    memset(text, '!', 300);
    ck_assert_ptr_null(ks_expr_compile(text, err, sizeof(err)));
    ck_assert_str_eq(err, "expression nests more than 200 levels deep at character 201");
    free(text);

    /* a long flat chain is fine up to 4096 nodes; the evaluator's recursion follows the tree */
    text = malloc(5 * 4096 + 16);
    for (i = 0; i < 1500; i++)
        memcpy(text + 2 * i, "1+", 2);
    strcpy(text + 3000, "1 == 1501");
    expr = ks_expr_compile(text, err, sizeof(err));
    ck_assert_msg(expr != NULL, "%s", err);
    ck_assert_int_eq(ks_expr_eval(expr, NULL, err, sizeof(err)), 1);
    ks_expr_free(expr);
    for (i = 0; i < 2100; i++)
        memcpy(text + 2 * i, "1+", 2);
    strcpy(text + 4200, "1");
    ck_assert_ptr_null(ks_expr_compile(text, err, sizeof(err)));
    ck_assert_str_eq(err, "expression is too long at character 4096 (more than 4096 terms)");
    free(text);
}
END_TEST

START_TEST(test_variables)
{
    char       err[256];
    ks_expr_t *expr = ks_expr_compile("b + a > a && [x y] == c\\.d || b == 'a'", err, sizeof(err));
    json_t    *vars[4] = {0};

    ck_assert_msg(expr != NULL, "%s", err);
    ck_assert_uint_eq(ks_expr_nvars(expr), 4);
    ck_assert_str_eq(ks_expr_var(expr, 0), "b");
    ck_assert_str_eq(ks_expr_var(expr, 1), "a");
    ck_assert_str_eq(ks_expr_var(expr, 2), "x y");
    ck_assert_str_eq(ks_expr_var(expr, 3), "c.d");
    ck_assert_ptr_null(ks_expr_var(expr, 4));
    /* a variable without a value is an error, not a crash */
    vars[0] = json_integer(1);
    ck_assert_int_eq(ks_expr_eval(expr, vars, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "variable 'a' at character 5 has no value");
    json_decref(vars[0]);
    ks_expr_free(expr);
    ks_expr_free(NULL);
}
END_TEST

START_TEST(test_independent_of_text)
{
    char      *text = strdup("a =~ 'ab+c' && b + 'x' == 'yx' && n * 2 >= 10");
    char       err[256];
    ks_expr_t *expr = ks_expr_compile(text, err, sizeof(err));
    json_t    *vars[3];
    int        round;

    ck_assert_msg(expr != NULL, "%s", err);
    memset(text, '#', strlen(text));
    free(text);
    vars[0] = json_string("xxabbbcxx");
    vars[1] = json_string("y");
    vars[2] = json_real(5.0);
    /* evaluated many times: the result is stable and nothing accumulates */
    for (round = 0; round < 100; round++)
        ck_assert_int_eq(ks_expr_eval(expr, vars, err, sizeof(err)), 1);
    json_decref(vars[2]);
    vars[2] = json_integer(4);
    ck_assert_int_eq(ks_expr_eval(expr, vars, err, sizeof(err)), 0);
    for (round = 0; round < 3; round++)
        json_decref(vars[round]);
    ks_expr_free(expr);
}
END_TEST

Suite *
suite_expr(void)
{
    Suite *s = suite_create("expr");
    TCase *tc = tcase_create("expr");

    tcase_add_loop_test(tc, test_eval, 0, (int)N(eval_cases));
    tcase_add_loop_test(tc, test_compile_errors, 0, (int)N(compile_cases));
    tcase_add_test(tc, test_nesting_limits);
    tcase_add_test(tc, test_variables);
    tcase_add_test(tc, test_independent_of_text);
    suite_add_tcase(s, tc);
    return s;
}
