/* Password storage: see passwd.h. Argon2id from libargon2, randomness and HMAC-SHA256 from
 * libcrypto. */
#include "util/passwd.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* OWASP's recommended minimum for Argon2id: 19 MiB, two passes, one lane. */
#define PW_T_COST 2
#define PW_M_COST (19 * 1024)
#define PW_LANES 1
#define PW_SALT 16
#define PW_LEN 32

int passwd_hash(const char *password, size_t len, char *out, err *e) {
    unsigned char salt[PW_SALT];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return err_set(e, 500, EC_INTERNAL, "cannot draw a random salt for a password");
    int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_LANES, password, len, salt, sizeof salt,
                                   PW_LEN, out, PASSWD_HASH_MAX);
    if (rc != ARGON2_OK)
        return err_set(e, 500, EC_INTERNAL, "cannot hash a password: %s", argon2_error_message(rc));
    return 0;
}

bool passwd_verify(const char *hash, const char *password, size_t len) {
    if (strncmp(hash, "$argon2id$", 10) != 0) return false;
    return argon2id_verify(hash, password, len) == ARGON2_OK;
}

static unsigned char mac_key[32];
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void mac_init(void) {
    if (RAND_bytes(mac_key, sizeof mac_key) != 1) {
        /* Without randomness the cache would be keyed predictably: never let it match. */
        memset(mac_key, 0, sizeof mac_key);
    }
}

void passwd_mac(const char *user, const char *password, size_t len,
                unsigned char out[PASSWD_MAC_LEN]) {
    pthread_once(&mac_once, mac_init);
    /* the user's length first, so ("ab", "c") and ("a", "bc") differ */
    size_t ul = strlen(user), n = 8 + ul + len;
    unsigned char *msg = xmalloc(n);
    for (int i = 0; i < 8; i++) msg[i] = (unsigned char)((uint64_t)ul >> (8 * i));
    memcpy(msg + 8, user, ul);
    if (len) memcpy(msg + 8 + ul, password, len);
    unsigned int got = 0;
    if (!HMAC(EVP_sha256(), mac_key, sizeof mac_key, msg, n, out, &got) || got != PASSWD_MAC_LEN)
        RAND_bytes(out, PASSWD_MAC_LEN); /* a digest nothing can match */
    OPENSSL_cleanse(msg, n);
    free(msg);
}

bool passwd_mac_equal(const unsigned char *a, const unsigned char *b) {
    return CRYPTO_memcmp(a, b, PASSWD_MAC_LEN) == 0;
}
