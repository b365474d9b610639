/* InfluxQL's parser: recursive descent over iql_lex.c's tokens into iql.h's AST. The first
 * error ends the parse with InfluxDB's wording, "found X, expected Y at line L, char C", which
 * the caller prefixes with "error parsing query: ". Precedence, loosest first: OR, AND,
 * comparisons (= != <> < <= > >= =~ !~), + -, * / %. */
#include "influxql/iql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct parser {
    iql_lexer lx;
    iql_token tok; /* the current token */
    arena *a;
    err *e;
    int depth; /* parentheses and subqueries open: bounded, the parse recurses on each */
    int ops;   /* operators read: bounded, as evaluation recurses down their chains */
} parser;

/* Nesting deeper than this, or more operators than MAX_OPS in a text, is refused rather than
 * allowed to exhaust a worker's stack. */
#define MAX_DEPTH 200
#define MAX_OPS 5000

static int nest(parser *p) {
    if (++p->depth <= MAX_DEPTH) return 0;
    return err_set(p->e, 400, EC_GENERIC,
                   "error parsing query: more than %d nested parentheses or subqueries at line "
                   "%u, char %u",
                   MAX_DEPTH, p->tok.line, p->tok.col);
}

static void next(parser *p) {
    iql_lex_next(&p->lx, &p->tok);
}

/* Fails at the current token: found it, expected what. */
static int expected(parser *p, const char *what) {
    if (p->tok.t == T_BAD && p->tok.s && !strncmp(p->tok.s, "unterminated", 12))
        return err_set(p->e, 400, EC_GENERIC, "error parsing query: %s at line %u, char %u",
                       p->tok.s, p->tok.line, p->tok.col);
    return err_set(p->e, 400, EC_GENERIC,
                   "error parsing query: found %s, expected %s at line %u, char %u",
                   iql_tok_text(p->a, &p->tok), what, p->tok.line, p->tok.col);
}

static bool accept_kw(parser *p, const char *kw) {
    if (!iql_is(&p->tok, kw)) return false;
    next(p);
    return true;
}

static int expect_kw(parser *p, const char *kw) {
    if (accept_kw(p, kw)) return 0;
    char up[32];
    size_t i = 0;
    for (; kw[i] && i + 1 < sizeof up; i++)
        up[i] = (char)(kw[i] >= 'a' && kw[i] <= 'z' ? kw[i] - 32 : kw[i]);
    up[i] = 0;
    return expected(p, up);
}

static int expect_tok(parser *p, enum iql_tok t, const char *what) {
    if (p->tok.t != t) return expected(p, what);
    next(p);
    return 0;
}

/* Words that cannot name anything unquoted. */
static bool reserved(const iql_token *t) {
    static const char *const kws[] = {"select", "from",   "where",  "group",   "by",   "order",
                                      "limit",  "offset", "slimit", "soffset", "fill", "show",
                                      "create", "drop",   "on",     "with",    "and",  "or",
                                      "as",     "asc",    "desc",   "into",    "in",   "tz"};
    if (t->t != T_IDENT || t->quoted) return false;
    for (size_t i = 0; i < sizeof kws / sizeof *kws; i++)
        if (!strcasecmp(t->s, kws[i])) return true;
    return false;
}

static int ident(parser *p, const char **out) {
    if (p->tok.t != T_IDENT || reserved(&p->tok)) return expected(p, "identifier");
    *out = p->tok.s;
    next(p);
    return 0;
}

static iql_expr *node(parser *p, enum iql_ek k) {
    iql_expr *x = arena_calloc(p->a, sizeof *x);
    x->k = k;
    return x;
}

/* A regex literal: after =~ / !~ (the current token), the next text; at a `/` token (FROM,
 * a call's argument), from that token on. The token after it becomes current. */
static int regex_lit(parser *p, const char **out) {
    if (p->tok.t == T_SLASH) { /* read again from the slash, as a regex */
        p->lx.pos = p->tok.off;
        p->lx.line = p->tok.line;
        p->lx.col = p->tok.col;
    }
    iql_token t;
    iql_lex_regex(&p->lx, &t);
    p->tok = t;
    if (t.t != T_REGEX) return expected(p, "regex");
    *out = t.s;
    next(p);
    return 0;
}

static int expr(parser *p, iql_expr **out);

static int primary(parser *p, iql_expr **out) {
    iql_token t = p->tok;
    iql_expr *x;
    switch (t.t) {
    case T_INT:
        x = node(p, IE_INT);
        x->i = t.i;
        x->f = (double)t.i;
        next(p);
        break;
    case T_NUMBER:
        x = node(p, IE_FLOAT);
        x->f = t.f;
        next(p);
        break;
    case T_DURATION:
        x = node(p, IE_DUR);
        x->i = t.i;
        next(p);
        break;
    case T_STRING:
        x = node(p, IE_STR);
        x->s = t.s;
        next(p);
        break;
    case T_MINUS: {
        next(p);
        bool lit = p->tok.t == T_INT || p->tok.t == T_NUMBER || p->tok.t == T_DURATION;
        if (primary(p, &x) < 0) return -1;
        if (lit) {
            x->i = -x->i;
            x->f = -x->f;
        } else { /* -expr: -1 * expr, named as expr is */
            iql_expr *m = node(p, IE_INT);
            m->i = -1;
            m->f = -1;
            iql_expr *b = node(p, IE_BIN);
            b->op = IO_MUL;
            b->l = m;
            b->r = x;
            x = b;
        }
        break;
    }
    case T_LPAREN:
        if (nest(p) < 0) return -1;
        next(p);
        if (expr(p, &x) < 0 || expect_tok(p, T_RPAREN, ")") < 0) return -1;
        p->depth--;
        break;
    case T_STAR:
        x = node(p, IE_STAR);
        next(p);
        break;
    case T_IDENT:
        if (!t.quoted && (!strcasecmp(t.s, "true") || !strcasecmp(t.s, "false"))) {
            x = node(p, IE_BOOL);
            x->i = !strcasecmp(t.s, "true");
            next(p);
            break;
        }
        if (reserved(&t)) return expected(p, "identifier, string, number, bool");
        next(p);
        if (!t.quoted && p->tok.t == T_LPAREN) {
            x = node(p, IE_CALL);
            char *name = arena_strdup(p->a, t.s);
            for (char *c = name; *c; c++)
                if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
            x->s = name;
            next(p);
            size_t cap = 0;
            if (p->tok.t != T_RPAREN) {
                for (;;) {
                    iql_expr *arg;
                    if (p->tok.t == T_SLASH) { /* a regex argument: /re/ */
                        arg = node(p, IE_REGEX);
                        if (regex_lit(p, &arg->s) < 0) return -1;
                    } else if (expr(p, &arg) < 0) {
                        return -1;
                    }
                    if (x->nargs == cap) {
                        size_t nc = cap ? cap * 2 : 4;
                        x->args = arena_realloc(p->a, x->args, cap * sizeof *x->args,
                                                nc * sizeof *x->args);
                        cap = nc;
                    }
                    x->args[x->nargs++] = arg;
                    if (p->tok.t != T_COMMA) break;
                    next(p);
                }
            }
            if (expect_tok(p, T_RPAREN, ")") < 0) return -1;
            if (!strcmp(x->s, "now") && x->nargs == 0) x->k = IE_NOW;
            break;
        }
        x = node(p, IE_REF);
        x->s = t.s;
        if (p->tok.t == T_DCOLON) {
            next(p);
            if (accept_kw(p, "field"))
                x->cast = IC_FIELD;
            else if (accept_kw(p, "tag"))
                x->cast = IC_TAG;
            else if (p->tok.t == T_IDENT &&
                     (iql_is(&p->tok, "float") || iql_is(&p->tok, "integer") ||
                      iql_is(&p->tok, "string") || iql_is(&p->tok, "boolean") ||
                      iql_is(&p->tok, "unsigned")))
                next(p); /* a type cast: the column's own type is kept */
            else
                return expected(p, "float, integer, string, boolean, field, tag");
        }
        break;
    default:
        return expected(p, "identifier, string, number, bool");
    }
    *out = x;
    return 0;
}

static iql_expr *bin(parser *p, enum iql_op op, iql_expr *l, iql_expr *r) {
    p->ops++;
    iql_expr *x = node(p, IE_BIN);
    x->op = op;
    x->l = l;
    x->r = r;
    return x;
}

static int term(parser *p, iql_expr **out) {
    if (primary(p, out) < 0) return -1;
    for (;;) {
        enum iql_op op;
        if (p->tok.t == T_STAR)
            op = IO_MUL;
        else if (p->tok.t == T_SLASH)
            op = IO_DIV;
        else if (p->tok.t == T_PERCENT)
            op = IO_MOD;
        else
            return 0;
        next(p);
        iql_expr *r;
        if (primary(p, &r) < 0) return -1;
        *out = bin(p, op, *out, r);
    }
}

static int sum(parser *p, iql_expr **out) {
    if (term(p, out) < 0) return -1;
    for (;;) {
        enum iql_op op;
        if (p->tok.t == T_PLUS)
            op = IO_ADD;
        else if (p->tok.t == T_MINUS)
            op = IO_SUB;
        else
            return 0;
        next(p);
        iql_expr *r;
        if (term(p, &r) < 0) return -1;
        *out = bin(p, op, *out, r);
    }
}

static int cmp(parser *p, iql_expr **out) {
    if (sum(p, out) < 0) return -1;
    enum iql_op op;
    switch (p->tok.t) {
    case T_EQ:
        op = IO_EQ;
        break;
    case T_NE:
        op = IO_NE;
        break;
    case T_LT:
        op = IO_LT;
        break;
    case T_LE:
        op = IO_LE;
        break;
    case T_GT:
        op = IO_GT;
        break;
    case T_GE:
        op = IO_GE;
        break;
    case T_EQRE:
        op = IO_RE;
        break;
    case T_NEQRE:
        op = IO_NRE;
        break;
    default:
        return 0;
    }
    iql_expr *r;
    if (op == IO_RE || op == IO_NRE) {
        r = node(p, IE_REGEX);
        if (regex_lit(p, &r->s) < 0) return -1;
    } else {
        next(p);
        if (sum(p, &r) < 0) return -1;
    }
    *out = bin(p, op, *out, r);
    return 0;
}

static int and_expr(parser *p, iql_expr **out) {
    if (cmp(p, out) < 0) return -1;
    while (accept_kw(p, "and")) {
        iql_expr *r;
        if (cmp(p, &r) < 0) return -1;
        *out = bin(p, IO_AND, *out, r);
    }
    return 0;
}

static int expr(parser *p, iql_expr **out) {
    if (and_expr(p, out) < 0) return -1;
    if (p->ops > MAX_OPS)
        return err_set(p->e, 400, EC_GENERIC,
                       "error parsing query: more than %d operators at line %u, char %u", MAX_OPS,
                       p->tok.line, p->tok.col);
    while (accept_kw(p, "or")) {
        iql_expr *r;
        if (and_expr(p, &r) < 0) return -1;
        *out = bin(p, IO_OR, *out, r);
    }
    return 0;
}

/* Appends to a growing arena array of pointers. */
static void push(arena *a, void *arr_p, size_t *n, size_t *cap, const void *item, size_t sz) {
    char **arr = arr_p;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        *arr = arena_realloc(a, *arr, *cap * sz, nc * sz);
        *cap = nc;
    }
    memcpy(*arr + *n * sz, item, sz);
    (*n)++;
}

/* A measurement name: m, rp.m, db.rp.m or db..m; the last part names the table, *db the
 * database of a three-part name (NULL otherwise: the retention policy is not kept). */
static int measurement(parser *p, const char **out, const char **db) {
    const char *parts[3];
    size_t n = 0;
    bool skipped = false;
    if (ident(p, &parts[n++]) < 0) return -1;
    while (p->tok.t == T_DOT && n < 3) {
        next(p);
        if (p->tok.t == T_DOT && !skipped && n == 1) { /* db..m */
            skipped = true;
            parts[n++] = NULL;
            continue;
        }
        if (ident(p, &parts[n++]) < 0) return -1;
    }
    if (p->tok.t == T_DOT) return expected(p, "identifier");
    *out = parts[n - 1];
    if (db) *db = n == 3 ? parts[0] : NULL;
    return 0;
}

static int select_stmt(parser *p, iql_select *s);

/* FROM a, b | FROM /re/ | FROM (SELECT ...), the last alone; sub NULL where it cannot be. */
static int from_clause(parser *p, const char ***names, size_t *n, const char **re, const char **db,
                       iql_select **sub) {
    size_t cap = 0;
    if (sub && p->tok.t == T_LPAREN) {
        if (nest(p) < 0) return -1;
        next(p);
        if (expect_kw(p, "select") < 0) return -1;
        iql_select *in = arena_calloc(p->a, sizeof *in);
        if (select_stmt(p, in) < 0 || expect_tok(p, T_RPAREN, ")") < 0) return -1;
        p->depth--;
        *sub = in;
        return 0;
    }
    for (;;) {
        if (p->tok.t == T_SLASH) {
            if (regex_lit(p, re) < 0) return -1;
        } else {
            const char *m;
            const char *mdb;
            if (measurement(p, &m, &mdb) < 0) return -1;
            if (mdb && db) *db = mdb;
            push(p->a, names, n, &cap, &m, sizeof m);
        }
        if (p->tok.t != T_COMMA) return 0;
        next(p);
    }
}

static int int_arg(parser *p, int64_t *out) {
    if (p->tok.t != T_INT) return expected(p, "integer");
    *out = p->tok.i;
    next(p);
    return 0;
}

/* LIMIT n OFFSET n SLIMIT n SOFFSET n, in that order, each optional. */
static int limits(parser *p, int64_t *limit, int64_t *offset, int64_t *slimit, int64_t *soffset) {
    if (accept_kw(p, "limit") && int_arg(p, limit) < 0) return -1;
    if (accept_kw(p, "offset") && int_arg(p, offset) < 0) return -1;
    if (slimit && accept_kw(p, "slimit") && int_arg(p, slimit) < 0) return -1;
    if (soffset && accept_kw(p, "soffset") && int_arg(p, soffset) < 0) return -1;
    return 0;
}

static int group_by(parser *p, iql_select *s) {
    size_t cap = 0;
    for (;;) {
        if (p->tok.t == T_STAR) {
            s->group_all = true;
            next(p);
        } else if (p->tok.t == T_SLASH) { /* tags whose keys match /re/ */
            if (s->tags_re) return expected(p, "identifier");
            if (regex_lit(p, &s->tags_re) < 0) return -1;
        } else if (iql_is(&p->tok, "time")) {
            next(p);
            if (expect_tok(p, T_LPAREN, "(") < 0) return -1;
            if (p->tok.t != T_DURATION) return expected(p, "duration");
            s->every = p->tok.i;
            if (s->every <= 0) return expected(p, "a positive duration");
            next(p);
            if (p->tok.t == T_COMMA) {
                next(p);
                bool neg = false;
                if (p->tok.t == T_MINUS) {
                    neg = true;
                    next(p);
                }
                if (p->tok.t == T_DURATION) {
                    s->offset = neg ? -p->tok.i : p->tok.i;
                    next(p);
                } else if (iql_is(&p->tok, "now")) {
                    next(p);
                    if (expect_tok(p, T_LPAREN, "(") < 0 || expect_tok(p, T_RPAREN, ")") < 0)
                        return -1;
                    s->offset = INT64_MIN; /* now(): resolved at execution */
                } else {
                    return expected(p, "duration");
                }
            }
            if (expect_tok(p, T_RPAREN, ")") < 0) return -1;
        } else {
            const char *t;
            if (ident(p, &t) < 0) return -1;
            if (p->tok.t == T_DCOLON) { /* "host"::tag, as Grafana may write it */
                next(p);
                if (expect_kw(p, "tag") < 0) return -1;
            }
            push(p->a, &s->tags, &s->ntags, &cap, &t, sizeof t);
        }
        if (p->tok.t != T_COMMA) return 0;
        next(p);
    }
}

static int select_stmt(parser *p, iql_select *s) {
    s->limit = s->slimit = -1;
    size_t cap = 0;
    for (;;) {
        iql_field f = {0};
        if (expr(p, &f.e) < 0) return -1;
        if (accept_kw(p, "as") && ident(p, &f.alias) < 0) return -1;
        push(p->a, &s->fields, &s->nfields, &cap, &f, sizeof f);
        if (p->tok.t != T_COMMA) break;
        next(p);
    }
    if (iql_is(&p->tok, "into"))
        return err_set(p->e, 400, EC_GENERIC,
                       "error parsing query: SELECT ... INTO is not supported by Strata at line "
                       "%u, char %u",
                       p->tok.line, p->tok.col);
    if (expect_kw(p, "from") < 0) return -1;
    if (from_clause(p, &s->from, &s->nfrom, &s->from_re, &s->db, &s->sub) < 0) return -1;
    if (accept_kw(p, "where") && expr(p, &s->where) < 0) return -1;
    if (accept_kw(p, "group")) {
        if (expect_kw(p, "by") < 0 || group_by(p, s) < 0) return -1;
    }
    if (accept_kw(p, "fill")) {
        if (expect_tok(p, T_LPAREN, "(") < 0) return -1;
        if (accept_kw(p, "null"))
            s->fill = FILL_NULL;
        else if (accept_kw(p, "none"))
            s->fill = FILL_NONE;
        else if (accept_kw(p, "previous"))
            s->fill = FILL_PREVIOUS;
        else if (accept_kw(p, "linear"))
            s->fill = FILL_LINEAR;
        else if (p->tok.t == T_INT || p->tok.t == T_NUMBER || p->tok.t == T_MINUS) {
            s->fill = FILL_VALUE;
            if (primary(p, &s->fill_value) < 0) return -1;
        } else {
            return expected(p, "null, none, previous, linear, number");
        }
        if (expect_tok(p, T_RPAREN, ")") < 0) return -1;
    }
    if (accept_kw(p, "order")) {
        if (expect_kw(p, "by") < 0) return -1;
        if (!iql_is(&p->tok, "time")) return expected(p, "time");
        next(p);
        if (accept_kw(p, "desc"))
            s->desc = true;
        else
            accept_kw(p, "asc");
    }
    if (limits(p, &s->limit, &s->offset_rows, &s->slimit, &s->soffset) < 0) return -1;
    if (accept_kw(p, "tz")) {
        if (expect_tok(p, T_LPAREN, "(") < 0) return -1;
        if (p->tok.t != T_STRING) return expected(p, "string");
        s->tz = p->tok.s;
        next(p);
        if (expect_tok(p, T_RPAREN, ")") < 0) return -1;
    }
    return 0;
}

static int on_db(parser *p, iql_stmt *st) {
    if (accept_kw(p, "on")) return ident(p, &st->db);
    return 0;
}

static int show_from_where(parser *p, iql_stmt *st, bool with_key) {
    if (on_db(p, st) < 0) return -1;
    if (accept_kw(p, "from")) {
        const char **names = NULL;
        size_t n = 0;
        if (from_clause(p, &names, &n, &st->from_re, &st->db, NULL) < 0) return -1;
        if (n) st->name = names[0];
    }
    if (with_key) {
        if (expect_kw(p, "with") < 0 || expect_kw(p, "key") < 0) return -1;
        switch (p->tok.t) {
        case T_EQ:
            st->key_op = IO_EQ;
            break;
        case T_NE:
            st->key_op = IO_NE;
            break;
        case T_EQRE:
            st->key_op = IO_RE;
            break;
        case T_NEQRE:
            st->key_op = IO_NRE;
            break;
        default:
            if (!iql_is(&p->tok, "in")) return expected(p, "=, !=, =~, !~, IN");
            st->key_op = IO_ADD;
        }
        if (st->key_op == IO_RE || st->key_op == IO_NRE) {
            if (regex_lit(p, &st->key_re) < 0) return -1;
        } else {
            next(p);
            size_t cap = 0;
            bool list = st->key_op == IO_ADD;
            if (list && expect_tok(p, T_LPAREN, "(") < 0) return -1;
            for (;;) {
                const char *k;
                if (ident(p, &k) < 0) return -1;
                push(p->a, &st->keys, &st->nkeys, &cap, &k, sizeof k);
                if (!list || p->tok.t != T_COMMA) break;
                next(p);
            }
            if (list && expect_tok(p, T_RPAREN, ")") < 0) return -1;
        }
    }
    if (accept_kw(p, "where") && expr(p, &st->where) < 0) return -1;
    return limits(p, &st->limit, &st->offset, NULL, NULL);
}

static int show_stmt(parser *p, iql_stmt *st) {
    st->limit = -1;
    if (accept_kw(p, "databases")) {
        st->k = IS_SHOW_DATABASES;
        return 0;
    }
    if (accept_kw(p, "measurements")) {
        st->k = IS_SHOW_MEASUREMENTS;
        if (on_db(p, st) < 0) return -1;
        if (accept_kw(p, "with")) {
            if (expect_kw(p, "measurement") < 0) return -1;
            if (p->tok.t == T_EQRE) {
                if (regex_lit(p, &st->meas_re) < 0) return -1;
            } else if (p->tok.t == T_EQ) {
                next(p);
                if (measurement(p, &st->name, NULL) < 0) return -1;
            } else {
                return expected(p, "=~, =");
            }
        }
        if (accept_kw(p, "where") && expr(p, &st->where) < 0) return -1;
        return limits(p, &st->limit, &st->offset, NULL, NULL);
    }
    if (accept_kw(p, "tag")) {
        if (accept_kw(p, "keys")) {
            st->k = IS_SHOW_TAG_KEYS;
            return show_from_where(p, st, false);
        }
        if (expect_kw(p, "values") < 0) return -1;
        st->k = IS_SHOW_TAG_VALUES;
        return show_from_where(p, st, true);
    }
    if (accept_kw(p, "field")) {
        if (expect_kw(p, "keys") < 0) return -1;
        st->k = IS_SHOW_FIELD_KEYS;
        return show_from_where(p, st, false);
    }
    if (accept_kw(p, "series")) {
        st->k = IS_SHOW_SERIES;
        return show_from_where(p, st, false);
    }
    if (accept_kw(p, "retention")) {
        if (expect_kw(p, "policies") < 0) return -1;
        st->k = IS_SHOW_RP;
        return on_db(p, st);
    }
    return expected(p, "DATABASES, FIELD, MEASUREMENTS, RETENTION, SERIES, TAG");
}

static int create_stmt(parser *p, iql_stmt *st) {
    if (expect_kw(p, "database") < 0) return -1;
    st->k = IS_CREATE_DB;
    if (ident(p, &st->db) < 0) return -1;
    if (!accept_kw(p, "with")) return 0;
    bool any = false;
    for (;;) {
        if (accept_kw(p, "duration")) {
            if (iql_is(&p->tok, "inf")) {
                st->duration = 0;
                next(p);
            } else if (p->tok.t == T_DURATION) {
                st->duration = p->tok.i;
                next(p);
            } else {
                return expected(p, "duration");
            }
        } else if (accept_kw(p, "replication")) {
            int64_t n;
            if (int_arg(p, &n) < 0) return -1;
        } else if (accept_kw(p, "shard")) {
            if (expect_kw(p, "duration") < 0) return -1;
            if (p->tok.t != T_DURATION) return expected(p, "duration");
            next(p);
        } else if (accept_kw(p, "name")) {
            const char *rp;
            if (ident(p, &rp) < 0) return -1;
        } else {
            if (!any) return expected(p, "DURATION, NAME, REPLICATION, SHARD");
            return 0;
        }
        any = true;
    }
}

/* DELETE / DROP SERIES: [FROM m[, m2 | /re/]] [WHERE cond], one of the two at least. */
static int delete_stmt(parser *p, iql_stmt *st) {
    bool any = false;
    if (accept_kw(p, "from")) {
        const char **names = NULL;
        size_t n = 0;
        if (from_clause(p, &names, &n, &st->from_re, &st->db, NULL) < 0) return -1;
        if (n) st->name = names[0];
        if (n > 1) return expected(p, "one measurement");
        any = true;
    }
    if (accept_kw(p, "where")) {
        if (expr(p, &st->where) < 0) return -1;
        any = true;
    }
    if (!any) return expected(p, "FROM, WHERE");
    return 0;
}

static int drop_stmt(parser *p, iql_stmt *st) {
    if (accept_kw(p, "database")) {
        st->k = IS_DROP_DB;
        return ident(p, &st->db);
    }
    if (accept_kw(p, "measurement")) {
        st->k = IS_DROP_MEASUREMENT;
        return measurement(p, &st->name, &st->db);
    }
    if (accept_kw(p, "series")) {
        st->k = IS_DROP_SERIES;
        return delete_stmt(p, st);
    }
    return expected(p, "DATABASE, MEASUREMENT, SERIES");
}

static int statement(parser *p, iql_stmt *st) {
    memset(st, 0, sizeof *st);
    if (accept_kw(p, "select")) {
        st->k = IS_SELECT;
        return select_stmt(p, &st->sel);
    }
    if (accept_kw(p, "show")) return show_stmt(p, st);
    if (accept_kw(p, "create")) return create_stmt(p, st);
    if (accept_kw(p, "drop")) return drop_stmt(p, st);
    if (accept_kw(p, "delete")) {
        st->k = IS_DELETE;
        return delete_stmt(p, st);
    }
    return expected(p, "SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, "
                       "KILL");
}

int iql_parse(arena *a, const char *q, size_t len, iql_query *out, err *e) {
    parser p = {.a = a, .e = e};
    iql_lex_init(&p.lx, a, q, len);
    next(&p);
    size_t cap = 0;
    out->stmts = NULL;
    out->n = 0;
    for (;;) {
        while (p.tok.t == T_SEMI) next(&p);
        if (p.tok.t == T_EOF) break;
        iql_stmt st;
        if (statement(&p, &st) < 0) return -1;
        push(a, &out->stmts, &out->n, &cap, &st, sizeof st);
        if (p.tok.t == T_EOF) break;
        if (p.tok.t != T_SEMI) return expected(&p, ";");
    }
    if (out->n == 0)
        return err_set(e, 400, EC_GENERIC,
                       "error parsing query: found EOF, expected SELECT, "
                       "DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, "
                       "ALTER, SET, KILL at line 1, char %u",
                       (unsigned)(len + 1));
    return 0;
}
