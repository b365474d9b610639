/* Password storage: salted, slow hashes, compared in constant time.
 *
 * A password is kept only as an Argon2id string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash",
 * libargon2's encoding, so the parameters travel with each hash and can be raised later without
 * invalidating old ones). Hashing costs tens of milliseconds and 19 MiB on purpose (OWASP's
 * Argon2id minimum), so a stolen catalog cannot be brute-forced cheaply; the catalog therefore
 * remembers, per user, a keyed digest of the last password that verified (passwd_mac), so a
 * request with the same credentials costs a hash of a few bytes, not an Argon2 run. The key is
 * random per process: the digest is never written anywhere. */
#ifndef STRATA_UTIL_PASSWD_H
#define STRATA_UTIL_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define PASSWD_HASH_MAX 128
#define PASSWD_MAC_LEN 32

/* Hashes password (len bytes) with a fresh random salt into out (PASSWD_HASH_MAX bytes). */
int passwd_hash(const char *password, size_t len, char *out, err *e);
/* Whether password matches the stored hash (false for a malformed hash). */
bool passwd_verify(const char *hash, const char *password, size_t len);
/* The process-keyed digest of (user, password) for the catalog's verification cache. */
void passwd_mac(const char *user, const char *password, size_t len,
                unsigned char out[PASSWD_MAC_LEN]);
/* Constant-time comparison of two digests. */
bool passwd_mac_equal(const unsigned char *a, const unsigned char *b);

#endif
