/* Literals and types: numeric literal values (I64, else U64, else F64, as sqlparser-rs and
 * DataFusion type them), INTERVAL strings, data type names with their modifiers, and typed
 * string literals (`DATE '2024-01-01'`). See parse_internal.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/parse_internal.h"

#include "gis/gis.h"
#include "util/dec.h"
#include "util/timeutil.h"

static bool all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

void sqlp_number_value(const char *text, value *v) {
    memset(v, 0, sizeof *v);
    bool neg = text[0] == '-';
    if (all_digits(text + neg)) {
        errno = 0;
        long long x = strtoll(text, NULL, 10);
        if (!errno) {
            v->type = VT_I64;
            v->v.i = x;
            return;
        }
        if (!neg) {
            errno = 0;
            unsigned long long u = strtoull(text, NULL, 10);
            if (!errno) {
                v->type = VT_U64;
                v->v.u = u;
                return;
            }
        }
    }
    v->type = VT_F64;
    v->v.f = strtod(text, NULL);
}

expr *sqlp_number_lit(parser *p, const token *t) {
    expr *e = sqlp_new_expr(p, EX_LITERAL, t->pos);
    sqlp_number_value(t->text, &e->lit);
    e->text = t->text;
    return e;
}

expr *sqlp_interval_lit(parser *p, const token *vt, const char *text, uint32_t len,
                        const char *unit, srcpos pos) {
    char msg[300];
    interval iv;
    if (!interval_parse(text, len, unit, &iv, msg, sizeof msg)) {
        sqlp_p_error(p, vt, "%s", msg);
        return NULL;
    }
    expr *e = sqlp_new_expr(p, EX_LITERAL, pos);
    e->lit.type = VT_INTERVAL;
    e->lit.v.iv = iv;
    e->text = text;
    return e;
}

bool sqlp_is_interval_unit_kw(int kw) {
    switch (kw) {
    case KW_YEAR:
    case KW_MONTH:
    case KW_WEEK:
    case KW_DAY:
    case KW_HOUR:
    case KW_MINUTE:
    case KW_SECOND:
    case KW_CENTURY:
    case KW_DECADE:
    case KW_DOW:
    case KW_DOY:
    case KW_EPOCH:
    case KW_ISODOW:
    case KW_ISOYEAR:
    case KW_JULIAN:
    case KW_MICROSECOND:
    case KW_MICROSECONDS:
    case KW_MILLENIUM:
    case KW_MILLENNIUM:
    case KW_MILLISECOND:
    case KW_MILLISECONDS:
    case KW_NANOSECOND:
    case KW_NANOSECONDS:
    case KW_QUARTER:
    case KW_TIMEZONE:
    case KW_TIMEZONE_HOUR:
    case KW_TIMEZONE_MINUTE:
        return true;
    default:
        return false;
    }
}

/* INTERVAL '<value>' [unit [(p)]] — after the INTERVAL keyword. A bare number is accepted as
 * its text. The unit is the default for amounts written without one. */
expr *sqlp_parse_interval(parser *p, srcpos pos) {
    const token *vt = pk(p);
    if (vt->kind != TOK_STRING && vt->kind != TOK_NUMBER && vt->kind != TOK_NSTRING &&
        vt->kind != TOK_ESTRING) {
        sqlp_p_expected(p, "a string literal", vt);
        return NULL;
    }
    nx(p);
    const char *unit = "second";
    const token *ut = pk(p);
    if (ut->kind == TOK_WORD && sqlp_is_interval_unit_kw(ut->kw)) {
        nx(p);
        char *u = arena_strdup(p->a, ut->text);
        for (char *c = u; *c; c++) *c = (char)tolower((unsigned char)*c);
        unit = u;
        if (pk(p)->kind == TOK_LPAREN && pk_n(p, 1)->kind == TOK_NUMBER &&
            pk_n(p, 2)->kind == TOK_RPAREN) {
            nx(p), nx(p), nx(p);
        }
        if (is_kw(pk(p), KW_TO)) {
            sqlp_p_error_code(
                p, pk(p), EC_NOT_IMPL,
                "This feature is not implemented: Unsupported Interval Expression with "
                "last_field");
            return NULL;
        }
    }
    return sqlp_interval_lit(p, vt, vt->text, vt->len, unit, pos);
}

/* ---------------------------------------------------------------------------------------------
 * data types */

static bool is_builtin_type_kw(int kw) {
    switch (kw) {
    case KW_BOOLEAN:
    case KW_BOOL:
    case KW_FLOAT:
    case KW_FLOAT4:
    case KW_FLOAT8:
    case KW_REAL:
    case KW_DOUBLE:
    case KW_TINYINT:
    case KW_SMALLINT:
    case KW_INT:
    case KW_INT2:
    case KW_INT4:
    case KW_INT8:
    case KW_INTEGER:
    case KW_BIGINT:
    case KW_VARCHAR:
    case KW_CHAR:
    case KW_CHARACTER:
    case KW_TEXT:
    case KW_STRING:
    case KW_DATE:
    case KW_TIME:
    case KW_TIMESTAMP:
    case KW_DATETIME:
    case KW_DECIMAL:
    case KW_NUMERIC:
    case KW_BYTEA:
    case KW_UUID:
    case KW_JSON:
        return true;
    default:
        return false;
    }
}

static bool is_int_type_kw(int kw) {
    return kw == KW_TINYINT || kw == KW_SMALLINT || kw == KW_INT || kw == KW_INT2 ||
           kw == KW_INT4 || kw == KW_INT8 || kw == KW_INTEGER || kw == KW_BIGINT;
}

/* Optional `( n [, m] )` after a type name; appends it to the name. */
static int type_params(parser *p, char **name, bool allow_two, int *first) {
    if (pk(p)->kind != TOK_LPAREN) return 0;
    nx(p);
    const token *a = pk(p);
    if (a->kind != TOK_NUMBER) return sqlp_p_expected(p, "literal int", a);
    nx(p);
    if (first) *first = atoi(a->text);
    if (allow_two && sqlp_acc(p, TOK_COMMA)) {
        const token *b = pk(p);
        if (b->kind != TOK_NUMBER) return sqlp_p_expected(p, "literal int", b);
        nx(p);
        *name = arena_printf(p->a, "%s(%s,%s)", *name, a->text, b->text);
    } else {
        *name = arena_printf(p->a, "%s(%s)", *name, a->text);
    }
    return sqlp_exp_tok(p, TOK_RPAREN);
}

/* DECIMAL's `(p [, s])`: DataFusion's defaults are (38, 10), and (p) alone means scale 0. */
static int type_params_dec(parser *p, char **name, int *prec, int *scale) {
    if (pk(p)->kind != TOK_LPAREN) return 0;
    if (pk_n(p, 1)->kind == TOK_NUMBER && pk_n(p, 2)->kind == TOK_COMMA &&
        pk_n(p, 3)->kind == TOK_NUMBER)
        *scale = atoi(pk_n(p, 3)->text);
    else
        *scale = 0;
    return type_params(p, name, true, prec);
}

static int time_zone_suffix(parser *p, char **name) {
    if (sqlp_acc_kws3(p, KW_WITH, KW_TIME, KW_ZONE))
        *name = arena_printf(p->a, "%s WITH TIME ZONE", *name);
    else if (sqlp_acc_kws3(p, KW_WITHOUT, KW_TIME, KW_ZONE))
        *name = arena_printf(p->a, "%s WITHOUT TIME ZONE", *name);
    return 0;
}

/* TIMESTAMP(prec): 9 (the default), 6, 3 or 0 digits of seconds; any other is unknown. */
static void timestamp_type(int prec, sql_type *ty) {
    ty->vt = VT_TS;
    switch (prec) {
    case -1:
    case 9:
        ty->unit = TU_NS;
        break;
    case 6:
        ty->unit = TU_US;
        break;
    case 3:
        ty->unit = TU_MS;
        break;
    case 0:
        ty->unit = TU_S;
        break;
    default:
        ty->vt = VT_NULL;
        break;
    }
}

/* GEOMETRY(sub_type, srid), its k modifiers just read: a sound one is a string column with its
 * sub_type, anything else stays unknown with what is wrong, for the DDL to report. */
static void geometry_mods(int k, const token *st, const token *srid, sql_type *ty) {
    ty->geo_err = GEO_ERR_FORMAT;
    if (k != 2) return;
    enum gis_type g = st->kind == TOK_WORD ? gis_type_parse(st->text, strlen(st->text)) : GIS_NONE;
    if (g == GIS_NONE) {
        ty->geo_err = GEO_ERR_SUBTYPE;
        return;
    }
    if (srid->kind != TOK_NUMBER || strspn(srid->text, "0") != strlen(srid->text)) {
        ty->geo_err = GEO_ERR_SRID;
        return;
    }
    ty->geo_err = GEO_ERR_NONE;
    ty->geo = (uint8_t)g;
    ty->vt = VT_STR;
}

/* A type name Strata does not know (GEOMETRY(POINT, 0) among them): kept with its modifiers,
 * for the binder to accept or report. */
static int unknown_type(parser *p, const token *t, char **name, sql_type *ty) {
    if (t->kw == KW_GEOMETRY) ty->geo_err = GEO_ERR_FORMAT; /* until its modifiers say better */
    if (pk(p)->kind == TOK_LPAREN) {
        nx(p);
        char *mods = "", *raw = "";
        int k = 0;
        const token *first2[2] = {NULL, NULL};
        while (!sqlp_acc(p, TOK_RPAREN)) {
            const token *m = pk(p);
            if (m->kind != TOK_WORD && m->kind != TOK_NUMBER && m->kind != TOK_STRING)
                return sqlp_p_expected(p, "type modifiers", m);
            nx(p);
            if (k < 2) first2[k] = m;
            raw = arena_printf(p->a, "%s%s%s", raw, k ? ", " : "", m->text);
            mods = arena_printf(p->a, "%s%s%s", mods, k ? ", " : "", m->text);
            k++;
            if (!sqlp_acc(p, TOK_COMMA) && pk(p)->kind != TOK_RPAREN)
                return sqlp_p_expected(p, ")", pk(p));
        }
        if (t->kw == KW_GEOMETRY) {
            for (char *c = mods; *c; c++) *c = (char)toupper((unsigned char)*c);
            geometry_mods(k, first2[0], first2[1], ty);
        }
        if (k) {
            *name = arena_printf(p->a, "%s(%s)", *name, mods);
            ty->text = arena_printf(p->a, "%s(%s)", t->text, raw);
        }
    }
    return 0;
}

int sqlp_parse_type(parser *p, sql_type *ty) {
    const token *t = pk(p);
    if (t->kind != TOK_WORD) return sqlp_p_expected(p, "a data type name", t);
    nx(p);
    memset(ty, 0, sizeof *ty);
    ty->vt = VT_NULL;
    if (t->quote) {
        ty->name = ty->text = t->text;
        return 0;
    }
    char *name = arena_strdup(p->a, t->text);
    for (char *c = name; *c; c++) *c = (char)toupper((unsigned char)*c);
    int kw = t->kw;
    if (kw == KW_UNSIGNED && pk(p)->kind == TOK_WORD && is_int_type_kw(pk(p)->kw)) {
        /* UNSIGNED BIGINT: accepted as BIGINT UNSIGNED */
        const token *u = nx(p);
        name = arena_strdup(p->a, sql_kw_name(u->kw));
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_U64;
        ty->name = ty->text = arena_printf(p->a, "%s UNSIGNED", name);
        return 0;
    }
    switch (kw) {
    case KW_BOOLEAN:
    case KW_BOOL:
        ty->vt = VT_BOOL;
        break;
    case KW_FLOAT:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_F64;
        break;
    case KW_FLOAT4:
    case KW_FLOAT8:
    case KW_REAL:
        ty->vt = VT_F64;
        break;
    case KW_DOUBLE:
        if (sqlp_acc_kw(p, KW_PRECISION)) name = arena_printf(p->a, "%s PRECISION", name);
        ty->vt = VT_F64;
        break;
    case KW_TINYINT:
    case KW_SMALLINT:
    case KW_INT:
    case KW_INT2:
    case KW_INT4:
    case KW_INT8:
    case KW_INTEGER:
    case KW_BIGINT:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_I64;
        if (sqlp_acc_kw(p, KW_UNSIGNED)) {
            name = arena_printf(p->a, "%s UNSIGNED", name);
            ty->vt = VT_U64;
        }
        break;
    case KW_CHARACTER:
    case KW_CHAR:
        if (sqlp_acc_kw(p, KW_VARYING)) name = arena_printf(p->a, "%s VARYING", name);
        /* fallthrough */
    case KW_VARCHAR:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_STR;
        break;
    case KW_TEXT:
    case KW_STRING:
        ty->vt = VT_STR;
        break;
    case KW_DATE:
        ty->vt = VT_DATE;
        break;
    case KW_TIMESTAMP: {
        int prec = -1;
        if (type_params(p, &name, false, &prec) < 0) return -1;
        time_zone_suffix(p, &name);
        timestamp_type(prec, ty);
        break;
    }
    case KW_TIME:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        time_zone_suffix(p, &name);
        break;
    case KW_INTERVAL:
        ty->vt = VT_INTERVAL;
        break;
    case KW_DECIMAL:
    case KW_NUMERIC: {
        int prec = 38, scale = 10;
        if (type_params_dec(p, &name, &prec, &scale) < 0) return -1;
        /* an out-of-range pair stays untyped: the statement using it reports it */
        int code = dec_code(prec, scale);
        if (code >= 0) {
            ty->vt = VT_DEC128;
            ty->unit = (uint8_t)code;
        }
        break;
    }
    case KW_DATETIME:
    case KW_BYTEA:
    case KW_UUID:
    case KW_JSON:
        break;
    default:
        if (unknown_type(p, t, &name, ty) < 0) return -1;
        if (!ty->text) ty->text = t->text;
        break;
    }
    ty->name = name;
    if (!ty->text) ty->text = name;
    return 0;
}

/* `<builtin type> 'string'` is a typed literal. The attempt is undone, with its error, when
 * no string follows the type (so `date`, `time` and friends stay column names). */
expr *sqlp_typed_string(parser *p) {
    const token *t = pk(p);
    if (t->kind != TOK_WORD || t->quote || !is_builtin_type_kw(t->kw)) return NULL;
    uint32_t save_i = p->i;
    int save_depth = p->depth;
    err scratch, *save_e = p->e;
    p->e = &scratch;
    sql_type ty;
    int rc = sqlp_parse_type(p, &ty);
    p->e = save_e;
    const token *s = pk(p);
    if (rc < 0 || (s->kind != TOK_STRING && s->kind != TOK_NSTRING && s->kind != TOK_ESTRING)) {
        p->i = save_i;
        p->depth = save_depth;
        return NULL;
    }
    nx(p);
    expr *e = sqlp_new_expr(p, EX_CAST, t->pos);
    e->cast_type = ty;
    e->args = arena_alloc(p->a, sizeof(expr *));
    e->args[0] = sqlp_str_lit(p, s->text, s->len, s->pos);
    e->nargs = 1;
    return sqlp_expr_fin(p, e);
}
