/* SPDX-License-Identifier: MIT */
/* token: owner and source tokens: generation, storage hash and constant-time checking. */
#ifndef PORTGATE_TOKEN_H
#define PORTGATE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_RAW_LEN	    32
#define TOKEN_TEXT_LEN	    43 /* base64url of 32 bytes, no padding */
#define TOKEN_HASH_PREFIX   "sha256:"
#define TOKEN_HASH_TEXT_LEN 71 /* "sha256:" + 64 lowercase hex */
#define TOKEN_USER_MAX	    256

/* Writes a new random token, TOKEN_TEXT_LEN characters of [A-Za-z0-9_-] and a NUL, to out.
 * 0, or -EIO if the random generator fails (out is then untouched). */
int token_generate(char out[TOKEN_TEXT_LEN + 1]);

/* Writes "sha256:<64 lowercase hex>" of token[0..len) and a NUL to out; the only form in
 * which a token is stored. 0, or -EIO if the digest fails, with out set to "" (never a valid
 * stored hash, so nothing can match it). token may be NULL when len is 0. */
int token_hash(const char *token, size_t len, char out[TOKEN_HASH_TEXT_LEN + 1]);

/* True if token[0..len) hashes to stored_hash ("sha256:<hex>"), compared in constant time
 * (CRYPTO_memcmp). False for an empty token and for a malformed stored value (NULL, wrong
 * length or prefix, upper-case or non-hex digits). */
bool token_matches(const char *token, size_t len, const char *stored_hash);

/* Checks a user-chosen token (e.g. "secret_token"): 1..TOKEN_USER_MAX bytes of visible
 * ASCII 0x21-0x7E (no blanks, no control or non-ASCII bytes). 0 or -EINVAL. */
int token_validate(const char *token, size_t len);

#endif
