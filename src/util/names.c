/* Validity of names: see names.h. */
#include "util/names.h"

#include "util/utf8.h"

#include <stdbool.h>
#include <string.h>

const char *names_kind(enum name_kind k) {
    switch (k) {
    case NAME_TENANT:
        return "tenant";
    case NAME_DATABASE:
        return "database";
    case NAME_TABLE:
        return "table";
    case NAME_COLUMN:
        return "column";
    case NAME_USER:
        return "user";
    }
    return "name";
}

static bool is_path_like(enum name_kind k) {
    return k == NAME_TENANT || k == NAME_DATABASE || k == NAME_USER;
}

int names_check(enum name_kind k, const char *p, size_t n, int http, const char *code, err *e) {
    char show[96];
    const char *what = names_kind(k);
    size_t bad;
    if (n == 0) return err_set(e, http, code, "Invalid %s name: the name is empty", what);
    size_t max = is_path_like(k) ? NAMES_MAX_PATH_LIKE : NAMES_MAX;
    utf8_show(show, sizeof show, p, n);
    if (n > max)
        return err_set(e, http, code, "Invalid %s name \"%s\": longer than %zu bytes", what, show,
                       max);
    if (!utf8_valid(p, n, &bad))
        return err_set(e, http, code, "Invalid %s name \"%s\": not valid UTF-8 at byte %zu", what,
                       show, bad);
    bool blank = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7F)
            return err_set(e, http, code,
                           "Invalid %s name \"%s\": control character 0x%02X at byte %zu", what,
                           show, c, i);
        if (c != ' ') blank = false;
        if (c == '/' && is_path_like(k))
            return err_set(e, http, code, "Invalid %s name \"%s\": contains '/'", what, show);
    }
    if (blank) return err_set(e, http, code, "Invalid %s name \"%s\": only spaces", what, show);
    if (is_path_like(k) && ((n == 1 && p[0] == '.') || (n == 2 && !memcmp(p, "..", 2))))
        return err_set(e, http, code, "Invalid %s name \"%s\"", what, show);
    return 0;
}
