/* SQL tokenizer: see lexer.h. A statement of up to LEX_ONE_PASS bytes is scanned once into a
 * token array and a text pool sized by its length (a token takes at least one byte of text).
 * A longer one is scanned twice: a first pass counts the tokens and the bytes of their texts
 * and reports any error, the second fills an array and a pool of exactly that size, since an
 * INSERT of 100k rows is a million tokens and bounds from its length would waste as much. */
#include "sql/lexer.h"

#include <stdbool.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>

#define SQL_KW_NAME(k) #k,
static const char *const kw_names[] = {"", SQL_KEYWORDS(SQL_KW_NAME)};
#undef SQL_KW_NAME

/* Longest keyword; longer words cannot be keywords and skip the lookup. */
#define KW_MAX_LEN 20

const char *sql_kw_name(int kw) {
    return kw > 0 && kw < KW__COUNT ? kw_names[kw] : "";
}

/* Keywords by hash of their upper-case text: open addressing in a power-of-two table at most
 * a quarter full, built once. A lookup per word of every statement: cheaper than a binary
 * search of strcmp calls. */
#define KW_SLOTS 2048
static uint16_t kw_table[KW_SLOTS];
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

static uint32_t kw_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void kw_build(void) {
    _Static_assert(KW__COUNT * 4 <= KW_SLOTS, "keyword table too full");
    for (int k = 1; k < KW__COUNT; k++) {
        uint32_t i = kw_hash(kw_names[k], strlen(kw_names[k])) & (KW_SLOTS - 1);
        while (kw_table[i]) i = (i + 1) & (KW_SLOTS - 1);
        kw_table[i] = (uint16_t)k;
    }
}

int sql_kw_lookup(const char *s, size_t n) {
    if (n == 0 || n > KW_MAX_LEN) return KW_NONE;
    char up[KW_MAX_LEN + 1];
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) return KW_NONE;
        up[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    pthread_once(&kw_once, kw_build);
    for (uint32_t i = kw_hash(up, n) & (KW_SLOTS - 1); kw_table[i]; i = (i + 1) & (KW_SLOTS - 1)) {
        const char *name = kw_names[kw_table[i]];
        if (!strncmp(name, up, n) && !name[n]) return kw_table[i];
    }
    return KW_NONE;
}

typedef struct lexer {
    arena *ta; /* the token array and scratch space; texts go to a pool allocated up front */
    const char *s;
    size_t n, i;
    uint32_t line, col;
    err *e;
    bool counting; /* first pass: count tokens and text bytes only */
    bool overflow; /* the one-pass bounds did not hold (they do; a guard, not a path) */
    token *toks;
    uint32_t ntoks, cap;
    char *pool; /* token texts, NUL-terminated, back to back */
    size_t pool_len, pool_cap;
    token dummy; /* what push() hands out while counting */
    /* Scratch for unescaping string contents: grown on the arena, reused per literal. */
    char *scratch;
    size_t scap;
} lexer;

static inline int peekc(const lexer *lx, size_t ahead) {
    return lx->i + ahead < lx->n ? (unsigned char)lx->s[lx->i + ahead] : -1;
}

static inline void adv(lexer *lx) {
    if (lx->s[lx->i] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->i++;
}

static inline void advn(lexer *lx, size_t k) {
    while (k--) adv(lx);
}

static inline bool ident_start(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '#' || c == '@' ||
           c >= 0x80;
}

static inline bool ident_part(int c) {
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static inline bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

static token *push(lexer *lx, uint8_t kind, srcpos pos) {
    if (!lx->counting && lx->ntoks >= lx->cap) lx->overflow = true;
    token *t = lx->counting || lx->overflow ? &lx->dummy : &lx->toks[lx->ntoks];
    lx->ntoks++;
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->pos = pos;
    return t;
}

/* Keeps n bytes of text for a token: counted in the first pass, copied in the second. */
static const char *keep(lexer *lx, const char *s, size_t n) {
    if (!lx->counting && lx->pool_len + n + 1 > lx->pool_cap) lx->overflow = true;
    if (lx->counting || lx->overflow) {
        lx->pool_len += n + 1;
        return "";
    }
    char *d = lx->pool + lx->pool_len;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    lx->pool_len += n + 1;
    return d;
}

static int lex_error(lexer *lx, srcpos at, const char *msg) {
    return err_set(lx->e, 422, EC_SQL_PARSE, "sql parser error: %s at Line: %u, Column %u", msg,
                   at.line, at.col);
}

static void scratch_put(lexer *lx, size_t *len, char c) {
    if (*len + 1 >= lx->scap) {
        size_t ncap = lx->scap ? lx->scap * 2 : 256;
        char *p = arena_alloc(lx->ta, ncap);
        if (*len) memcpy(p, lx->scratch, *len);
        lx->scratch = p;
        lx->scap = ncap;
    }
    lx->scratch[(*len)++] = c;
}

/* Reads a quoted run after the opening quote; a doubled quote stands for one. With `escapes`
 * (E'...') a backslash escapes the next character as in C. Returns 0 on the closing quote,
 * -1 if the text ended first. */
static int read_quoted(lexer *lx, char q, bool escapes, size_t *outlen) {
    size_t len = 0;
    while (lx->i < lx->n) {
        char c = lx->s[lx->i];
        if (c == q) {
            adv(lx);
            if (peekc(lx, 0) == (unsigned char)q) {
                scratch_put(lx, &len, q);
                adv(lx);
                continue;
            }
            *outlen = len;
            return 0;
        }
        if (escapes && c == '\\' && lx->i + 1 < lx->n) {
            adv(lx);
            char d = lx->s[lx->i];
            switch (d) {
            case 'n':
                d = '\n';
                break;
            case 't':
                d = '\t';
                break;
            case 'r':
                d = '\r';
                break;
            case 'b':
                d = '\b';
                break;
            case 'f':
                d = '\f';
                break;
            case '0':
                d = '\0';
                break;
            default:
                break;
            }
            scratch_put(lx, &len, d);
            adv(lx);
            continue;
        }
        scratch_put(lx, &len, c);
        adv(lx);
    }
    return -1;
}

static int lex_string(lexer *lx, uint8_t kind, size_t prefix) {
    srcpos pos = {lx->line, lx->col};
    advn(lx, prefix + 1); /* prefix letter(s) and the opening quote */
    size_t len = 0;
    if (read_quoted(lx, '\'', kind == TOK_ESTRING, &len) < 0)
        return lex_error(lx, pos, "Unterminated string literal");
    token *t = push(lx, kind, pos);
    t->text = keep(lx, lx->scratch, len);
    t->len = (uint32_t)len;
    return 0;
}

static int lex_quoted_ident(lexer *lx, char open) {
    srcpos pos = {lx->line, lx->col};
    adv(lx);
    size_t len = 0;
    if (read_quoted(lx, open, false, &len) < 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "Expected close delimiter '%c' before EOF.", open);
        return lex_error(lx, pos, msg);
    }
    token *t = push(lx, TOK_WORD, pos);
    t->quote = open;
    t->text = keep(lx, lx->scratch, len);
    t->len = (uint32_t)len;
    return 0;
}

static void lex_word(lexer *lx) {
    srcpos pos = {lx->line, lx->col};
    size_t start = lx->i;
    while (lx->i < lx->n && ident_part((unsigned char)lx->s[lx->i])) adv(lx);
    size_t len = lx->i - start;
    token *t = push(lx, TOK_WORD, pos);
    t->text = keep(lx, lx->s + start, len);
    t->len = (uint32_t)len;
    t->kw = (uint16_t)sql_kw_lookup(lx->s + start, len);
}

/* Digits, an optional period and digits, an optional exponent. A lone period is TOK_PERIOD. */
static void lex_number(lexer *lx) {
    srcpos pos = {lx->line, lx->col};
    size_t start = lx->i;
    while (is_digit(peekc(lx, 0))) adv(lx);
    if (peekc(lx, 0) == '.') adv(lx);
    while (is_digit(peekc(lx, 0))) adv(lx);
    if (lx->i - start == 1 && lx->s[start] == '.') {
        push(lx, TOK_PERIOD, pos);
        return;
    }
    int c = peekc(lx, 0);
    if (c == 'e' || c == 'E') {
        size_t k = 1;
        int s = peekc(lx, 1);
        if (s == '+' || s == '-') k = 2;
        if (is_digit(peekc(lx, k))) {
            advn(lx, k);
            while (is_digit(peekc(lx, 0))) adv(lx);
        }
    }
    size_t len = lx->i - start;
    token *t = push(lx, TOK_NUMBER, pos);
    t->text = keep(lx, lx->s + start, len);
    t->len = (uint32_t)len;
}

static int skip_block_comment(lexer *lx) {
    srcpos pos = {lx->line, lx->col};
    advn(lx, 2);
    int nest = 1;
    while (lx->i < lx->n) {
        if (peekc(lx, 0) == '/' && peekc(lx, 1) == '*') {
            advn(lx, 2);
            nest++;
        } else if (peekc(lx, 0) == '*' && peekc(lx, 1) == '/') {
            advn(lx, 2);
            if (--nest == 0) return 0;
        } else {
            adv(lx);
        }
    }
    return lex_error(lx, pos, "Unexpected EOF while in a multi-line comment");
}

/* Punctuation: the longest operator that starts here. */
static void lex_punct(lexer *lx) {
    srcpos pos = {lx->line, lx->col};
    int c = peekc(lx, 0), d = peekc(lx, 1), e3 = peekc(lx, 2);
    uint8_t k = TOK_CHAR;
    size_t w = 1;
    switch (c) {
    case '(':
        k = TOK_LPAREN;
        break;
    case ')':
        k = TOK_RPAREN;
        break;
    case ',':
        k = TOK_COMMA;
        break;
    case ';':
        k = TOK_SEMI;
        break;
    case '+':
        k = TOK_PLUS;
        break;
    case '*':
        k = TOK_MUL;
        break;
    case '/':
        k = TOK_DIV;
        break;
    case '%':
        k = TOK_MOD;
        break;
    case '&':
        k = TOK_AMP;
        break;
    case '^':
        k = TOK_CARET;
        break;
    case '[':
        k = TOK_LBRACKET;
        break;
    case ']':
        k = TOK_RBRACKET;
        break;
    case '{':
        k = TOK_LBRACE;
        break;
    case '}':
        k = TOK_RBRACE;
        break;
    case '\\':
        k = TOK_BACKSLASH;
        break;
    case '-':
        if (d == '>' && e3 == '>')
            k = TOK_LONG_ARROW, w = 3;
        else if (d == '>')
            k = TOK_ARROW, w = 2;
        else
            k = TOK_MINUS;
        break;
    case '|':
        if (d == '/')
            k = TOK_PIPE_SLASH, w = 2;
        else if (d == '|' && e3 == '/')
            k = TOK_DPIPE_SLASH, w = 3;
        else if (d == '|')
            k = TOK_CONCAT, w = 2;
        else
            k = TOK_PIPE;
        break;
    case '=':
        if (d == '>')
            k = TOK_RARROW, w = 2;
        else if (d == '=')
            k = TOK_DEQ, w = 2;
        else
            k = TOK_EQ;
        break;
    case '!':
        if (d == '=')
            k = TOK_NEQ, w = 2;
        else if (d == '!')
            k = TOK_DEXCL, w = 2;
        else if (d == '~' && e3 == '*')
            k = TOK_EXCL_TILDE_STAR, w = 3;
        else if (d == '~')
            k = TOK_EXCL_TILDE, w = 2;
        else
            k = TOK_EXCL;
        break;
    case '<':
        if (d == '=' && e3 == '>')
            k = TOK_SPACESHIP, w = 3;
        else if (d == '=')
            k = TOK_LE, w = 2;
        else if (d == '>')
            k = TOK_NEQ, w = 2;
        else if (d == '<')
            k = TOK_SHL, w = 2;
        else
            k = TOK_LT;
        break;
    case '>':
        if (d == '=')
            k = TOK_GE, w = 2;
        else if (d == '>')
            k = TOK_SHR, w = 2;
        else
            k = TOK_GT;
        break;
    case ':':
        if (d == ':')
            k = TOK_DCOLON, w = 2;
        else
            k = TOK_COLON;
        break;
    case '~':
        if (d == '*')
            k = TOK_TILDE_STAR, w = 2;
        else
            k = TOK_TILDE;
        break;
    case '?':
        k = TOK_PLACEHOLDER;
        break;
    case '$':
        k = TOK_PLACEHOLDER;
        while (lx->i + w < lx->n) {
            int x = (unsigned char)lx->s[lx->i + w];
            if (!(is_digit(x) || (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || x == '_'))
                break;
            w++;
        }
        break;
    default:
        break;
    }
    token *t = push(lx, k, pos);
    if (k == TOK_CHAR || k == TOK_PLACEHOLDER) {
        t->text = keep(lx, lx->s + lx->i, w);
        t->len = (uint32_t)w;
    }
    advn(lx, w);
}

static int lex_pass(lexer *lx0) {
    lexer lx = *lx0;
    while (lx.i < lx.n) {
        int c = peekc(&lx, 0), d = peekc(&lx, 1);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            adv(&lx);
        } else if (c == '-' && d == '-') {
            while (lx.i < lx.n && lx.s[lx.i] != '\n') adv(&lx);
        } else if (c == '/' && d == '*') {
            if (skip_block_comment(&lx) < 0) return -1;
        } else if ((c == 'N' || c == 'n') && d == '\'') {
            if (lex_string(&lx, TOK_NSTRING, 1) < 0) return -1;
        } else if ((c == 'E' || c == 'e') && d == '\'') {
            if (lex_string(&lx, TOK_ESTRING, 1) < 0) return -1;
        } else if ((c == 'X' || c == 'x') && d == '\'') {
            if (lex_string(&lx, TOK_XSTRING, 1) < 0) return -1;
        } else if (ident_start(c)) {
            lex_word(&lx);
        } else if (c == '\'') {
            if (lex_string(&lx, TOK_STRING, 0) < 0) return -1;
        } else if (c == '"' || c == '`') {
            if (lex_quoted_ident(&lx, (char)c) < 0) return -1;
        } else if (is_digit(c) || c == '.') {
            lex_number(&lx);
        } else {
            lex_punct(&lx);
        }
    }
    push(&lx, TOK_EOF, (srcpos){lx.line, lx.col});
    *lx0 = lx;
    return 0;
}

#define LEX_ONE_PASS 16384

int sql_lex(arena *a, arena *tok_arena, const char *sql, size_t len, token **toks, uint32_t *ntoks,
            err *e) {
    if (len <= LEX_ONE_PASS) {
        lexer one = {.ta = tok_arena, .s = sql, .n = len, .line = 1, .col = 1, .e = e};
        one.cap = (uint32_t)len + 1;
        one.toks = arena_alloc(tok_arena, one.cap * sizeof(token));
        one.pool_cap = 2 * len + 1;
        one.pool = arena_alloc(a, one.pool_cap);
        if (lex_pass(&one) < 0) return -1;
        if (!one.overflow) {
            *toks = one.toks;
            *ntoks = one.ntoks;
            return 0;
        }
    }
    lexer lx = {.ta = tok_arena, .s = sql, .n = len, .line = 1, .col = 1, .e = e, .counting = true};
    if (lex_pass(&lx) < 0) return -1;
    lexer fill = {.ta = tok_arena, .s = sql, .n = len, .line = 1, .col = 1, .e = e};
    fill.cap = lx.ntoks;
    fill.toks = arena_alloc(tok_arena, lx.ntoks * sizeof(token));
    fill.pool_cap = lx.pool_len ? lx.pool_len : 1;
    fill.pool = arena_alloc(a, fill.pool_cap);
    fill.scratch = lx.scratch;
    fill.scap = lx.scap;
    if (lex_pass(&fill) < 0) return -1; /* cannot happen: the text is the same */
    *toks = fill.toks;
    *ntoks = fill.ntoks;
    return 0;
}

static const char *punct_text(int kind) {
    switch (kind) {
    case TOK_COMMA:
        return ",";
    case TOK_LPAREN:
        return "(";
    case TOK_RPAREN:
        return ")";
    case TOK_PERIOD:
        return ".";
    case TOK_SEMI:
        return ";";
    case TOK_COLON:
        return ":";
    case TOK_DCOLON:
        return "::";
    case TOK_EQ:
        return "=";
    case TOK_DEQ:
        return "==";
    case TOK_NEQ:
        return "<>";
    case TOK_LT:
        return "<";
    case TOK_GT:
        return ">";
    case TOK_LE:
        return "<=";
    case TOK_GE:
        return ">=";
    case TOK_SPACESHIP:
        return "<=>";
    case TOK_PLUS:
        return "+";
    case TOK_MINUS:
        return "-";
    case TOK_MUL:
        return "*";
    case TOK_DIV:
        return "/";
    case TOK_MOD:
        return "%";
    case TOK_CONCAT:
        return "||";
    case TOK_PIPE:
        return "|";
    case TOK_AMP:
        return "&";
    case TOK_CARET:
        return "^";
    case TOK_SHL:
        return "<<";
    case TOK_SHR:
        return ">>";
    case TOK_TILDE:
        return "~";
    case TOK_TILDE_STAR:
        return "~*";
    case TOK_EXCL_TILDE:
        return "!~";
    case TOK_EXCL_TILDE_STAR:
        return "!~*";
    case TOK_EXCL:
        return "!";
    case TOK_DEXCL:
        return "!!";
    case TOK_LBRACKET:
        return "[";
    case TOK_RBRACKET:
        return "]";
    case TOK_LBRACE:
        return "{";
    case TOK_RBRACE:
        return "}";
    case TOK_BACKSLASH:
        return "\\";
    case TOK_ARROW:
        return "->";
    case TOK_LONG_ARROW:
        return "->>";
    case TOK_RARROW:
        return "=>";
    case TOK_PIPE_SLASH:
        return "|/";
    case TOK_DPIPE_SLASH:
        return "||/";
    default:
        return "?";
    }
}

void sql_tok_display(const token *t, char *out, size_t outsz) {
    switch (t->kind) {
    case TOK_EOF:
        snprintf(out, outsz, "EOF");
        break;
    case TOK_WORD:
        if (t->quote)
            snprintf(out, outsz, "%c%s%c", t->quote, t->text, t->quote);
        else
            snprintf(out, outsz, "%s", t->text);
        break;
    case TOK_NUMBER:
    case TOK_PLACEHOLDER:
    case TOK_CHAR:
        snprintf(out, outsz, "%s", t->text);
        break;
    case TOK_STRING:
        snprintf(out, outsz, "'%s'", t->text);
        break;
    case TOK_NSTRING:
        snprintf(out, outsz, "N'%s'", t->text);
        break;
    case TOK_ESTRING:
        snprintf(out, outsz, "E'%s'", t->text);
        break;
    case TOK_XSTRING:
        snprintf(out, outsz, "X'%s'", t->text);
        break;
    default:
        snprintf(out, outsz, "%s", punct_text(t->kind));
        break;
    }
}
