/* InfluxQL's lexer (see iql_int.h). Positions are counted as InfluxDB reports them: line from
 * 1, char from 1 within the line, one per character (not byte). Identifiers and strings are
 * unescaped into the arena (`\"` in an identifier, `\'` and `\\` in a string, `\/` in a
 * regex). A regex is read only where the parser asks for one, since `/` is also division. */
#include "influxql/iql_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void iql_lex_init(iql_lexer *lx, arena *a, const char *q, size_t len) {
    lx->a = a;
    lx->p = q;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
    lx->col = 1;
}

static int peekc(const iql_lexer *lx, size_t ahead) {
    return lx->pos + ahead < lx->len ? (unsigned char)lx->p[lx->pos + ahead] : -1;
}

/* Moves past one byte, counting a character at the first byte of each UTF-8 sequence. */
static void adv(iql_lexer *lx) {
    unsigned char ch = (unsigned char)lx->p[lx->pos++];
    if (ch == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((ch & 0xC0) != 0x80) {
        lx->col++;
    }
}

static void skip_space(iql_lexer *lx) {
    for (;;) {
        int c = peekc(lx, 0);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            adv(lx);
        } else if (c == '-' && peekc(lx, 1) == '-') { /* comment to the end of the line */
            while (peekc(lx, 0) >= 0 && peekc(lx, 0) != '\n') adv(lx);
        } else {
            return;
        }
    }
}

bool iql_duration(const char *s, size_t n, int64_t *ns) {
    size_t i = 0;
    int64_t v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
            return false;
        i++;
    }
    if (i == 0 || i == n) return false;
    const char *u = s + i;
    size_t un = n - i;
    int64_t mul;
    if (un == 2 && !memcmp(u, "ns", 2))
        mul = 1;
    else if ((un == 1 && *u == 'u') || (un == 2 && !memcmp(u, "\xC2\xB5", 2)))
        mul = 1000;
    else if (un == 2 && !memcmp(u, "ms", 2))
        mul = 1000000;
    else if (un == 1 && *u == 's')
        mul = 1000000000LL;
    else if (un == 1 && *u == 'm')
        mul = 60000000000LL;
    else if (un == 1 && *u == 'h')
        mul = 3600000000000LL;
    else if (un == 1 && *u == 'd')
        mul = 86400000000000LL;
    else if (un == 1 && *u == 'w')
        mul = 604800000000000LL;
    else
        return false;
    return !__builtin_mul_overflow(v, mul, ns);
}

static bool ident_start(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
static bool ident_char(int c) {
    return ident_start(c) || (c >= '0' && c <= '9');
}

/* A quoted identifier, string or regex: unescapes up to the closing quote q. */
static void quoted(iql_lexer *lx, iql_token *t, char q, enum iql_tok kind) {
    buf b;
    buf_init(&b);
    adv(lx); /* the opening quote */
    for (;;) {
        int c = peekc(lx, 0);
        if (c < 0 || (c == '\n' && q != '/')) {
            t->t = T_BAD;
            t->s = q == '\''  ? "unterminated string"
                   : q == '"' ? "unterminated quoted identifier"
                              : "unterminated regex";
            buf_free(&b);
            return;
        }
        if (c == q) {
            adv(lx);
            break;
        }
        if (c == '\\' && peekc(lx, 1) >= 0) {
            int d = peekc(lx, 1);
            if (q == '/') {
                /* a regex keeps its escapes but `\/` */
                if (d != '/') buf_putc(&b, '\\');
            } else if (d == 'n') {
                d = '\n';
            } else if (d != '\\' && d != q) {
                buf_putc(&b, '\\');
            }
            buf_putc(&b, (char)d);
            adv(lx);
            adv(lx);
            continue;
        }
        buf_putc(&b, (char)c);
        adv(lx);
    }
    t->t = kind;
    t->len = b.len;
    t->s = arena_strndup(lx->a, b.p ? b.p : "", b.len);
    t->quoted = q == '"';
    buf_free(&b);
}

void iql_lex_regex(iql_lexer *lx, iql_token *t) {
    skip_space(lx);
    memset(t, 0, sizeof *t);
    t->line = lx->line;
    t->col = lx->col;
    t->off = lx->pos;
    if (peekc(lx, 0) != '/') {
        iql_lex_next(lx, t);
        return;
    }
    quoted(lx, t, '/', T_REGEX);
}

void iql_lex_next(iql_lexer *lx, iql_token *t) {
    skip_space(lx);
    memset(t, 0, sizeof *t);
    t->line = lx->line;
    t->col = lx->col;
    t->off = lx->pos;
    int c = peekc(lx, 0);
    if (c < 0) {
        t->t = T_EOF;
        return;
    }
    size_t start = lx->pos;
    if (ident_start(c) && !(c == 0xC2 && peekc(lx, 1) == 0xB5)) {
        while (ident_char(peekc(lx, 0))) adv(lx);
        t->t = T_IDENT;
        t->s = arena_strndup(lx->a, lx->p + start, lx->pos - start);
        t->len = lx->pos - start;
        return;
    }
    if (c >= '0' && c <= '9') {
        while (peekc(lx, 0) >= '0' && peekc(lx, 0) <= '9') adv(lx);
        bool frac = false;
        if (peekc(lx, 0) == '.' && peekc(lx, 1) >= '0' && peekc(lx, 1) <= '9') {
            frac = true;
            adv(lx);
            while (peekc(lx, 0) >= '0' && peekc(lx, 0) <= '9') adv(lx);
        }
        size_t digits_end = lx->pos;
        if (!frac) {
            /* a unit right after the digits makes a duration */
            size_t save = lx->pos;
            unsigned sl = lx->line, sc = lx->col;
            while (ident_char(peekc(lx, 0))) adv(lx);
            if (lx->pos > save) {
                t->s = arena_strndup(lx->a, lx->p + start, lx->pos - start);
                t->len = lx->pos - start;
                if (iql_duration(t->s, t->len, &t->i)) {
                    t->t = T_DURATION;
                    return;
                }
                lx->pos = save;
                lx->line = sl;
                lx->col = sc;
            }
        }
        t->s = arena_strndup(lx->a, lx->p + start, digits_end - start);
        t->len = digits_end - start;
        if (frac) {
            t->t = T_NUMBER;
            sscanf(t->s, "%lf", &t->f);
        } else {
            t->t = T_INT;
            int64_t v = 0;
            bool big = false;
            for (size_t i = 0; i < t->len; i++)
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, t->s[i] - '0', &v))
                    big = true;
            if (big) { /* past int64: a float, as InfluxDB reads it */
                t->t = T_NUMBER;
                sscanf(t->s, "%lf", &t->f);
            }
            t->i = v;
        }
        return;
    }
    if (c == '"' || c == '\'') {
        quoted(lx, t, (char)c, c == '"' ? T_IDENT : T_STRING);
        return;
    }
    adv(lx);
    int d = peekc(lx, 0);
    switch (c) {
    case ',':
        t->t = T_COMMA;
        break;
    case '(':
        t->t = T_LPAREN;
        break;
    case ')':
        t->t = T_RPAREN;
        break;
    case ';':
        t->t = T_SEMI;
        break;
    case '.':
        t->t = T_DOT;
        break;
    case '*':
        t->t = T_STAR;
        break;
    case '+':
        t->t = T_PLUS;
        break;
    case '-':
        t->t = T_MINUS;
        break;
    case '/':
        t->t = T_SLASH;
        break;
    case '%':
        t->t = T_PERCENT;
        break;
    case ':':
        if (d == ':') {
            adv(lx);
            t->t = T_DCOLON;
        } else {
            t->t = T_BAD;
        }
        break;
    case '=':
        if (d == '~') {
            adv(lx);
            t->t = T_EQRE;
        } else {
            t->t = T_EQ;
        }
        break;
    case '!':
        if (d == '=') {
            adv(lx);
            t->t = T_NE;
        } else if (d == '~') {
            adv(lx);
            t->t = T_NEQRE;
        } else {
            t->t = T_BAD;
        }
        break;
    case '<':
        if (d == '=') {
            adv(lx);
            t->t = T_LE;
        } else if (d == '>') {
            adv(lx);
            t->t = T_NE;
        } else {
            t->t = T_LT;
        }
        break;
    case '>':
        if (d == '=') {
            adv(lx);
            t->t = T_GE;
        } else {
            t->t = T_GT;
        }
        break;
    default:
        t->t = T_BAD;
    }
    t->s = arena_strndup(lx->a, lx->p + start, lx->pos - start);
    t->len = lx->pos - start;
}

const char *iql_tok_text(arena *a, const iql_token *t) {
    switch (t->t) {
    case T_EOF:
        return "EOF";
    case T_STRING:
        return arena_printf(a, "'%s'", t->s);
    case T_REGEX:
        return arena_printf(a, "/%s/", t->s);
    case T_IDENT:
        if (t->quoted) return arena_printf(a, "\"%s\"", t->s);
        /* keywords are named in upper case, as InfluxDB does */
        {
            char *u = arena_strdup(a, t->s);
            static const char *const kws[] = {
                "select",   "from",      "where",       "group",        "by",   "order",  "limit",
                "offset",   "slimit",    "soffset",     "fill",         "show", "create", "drop",
                "database", "databases", "measurement", "measurements", "tag",  "field",  "keys",
                "values",   "series",    "retention",   "policies",     "on",   "with",   "key",
                "and",      "or",        "as",          "asc",          "desc", "in",     "into",
                "tz",       "duration",  "time"};
            for (size_t i = 0; i < sizeof kws / sizeof *kws; i++)
                if (!strcasecmp(u, kws[i])) {
                    for (char *p = u; *p; p++)
                        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
                    break;
                }
            return u;
        }
    default:
        return t->s ? t->s : "?";
    }
}

bool iql_is(const iql_token *t, const char *kw) {
    return t->t == T_IDENT && !t->quoted && !strcasecmp(t->s, kw);
}
