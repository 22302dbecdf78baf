// SPDX-License-Identifier: MIT
/* token: owner and source tokens: generation, storage hash and constant-time checking. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "token.h"

#define TOKEN_PREFIX_LEN (sizeof(TOKEN_HASH_PREFIX) - 1)
#define TOKEN_DIGEST_LEN 32

_Static_assert(TOKEN_TEXT_LEN == (TOKEN_RAW_LEN * 8 + 5) / 6, "base64url length");
_Static_assert(TOKEN_HASH_TEXT_LEN == TOKEN_PREFIX_LEN + 2 * TOKEN_DIGEST_LEN, "hash length");

/* base64url (RFC 4648 section 5) without padding; out holds (len * 8 + 5) / 6 + 1 bytes. */
static void token_base64url(const unsigned char *in, size_t len, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = abc[(acc >> bits) & 0x3f];
		}
	}
	if (bits)
		*out++ = abc[(acc << (6 - bits)) & 0x3f];
	*out = '\0';
}

int token_generate(char out[TOKEN_TEXT_LEN + 1])
{
	unsigned char raw[TOKEN_RAW_LEN];

	/* A token that begins with '-' would be taken for an option when an operator passes it
	 * on a command line (1 draw in 32): drawn again, which costs under 0.05 bits. */
	do {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return -EIO;
		token_base64url(raw, sizeof(raw), out);
	} while (out[0] == '-');
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int token_hash(const char *token, size_t len, char out[TOKEN_HASH_TEXT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *o = out;

	if (!token)
		token = "";
	if (EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != TOKEN_DIGEST_LEN) {
		out[0] = '\0';
		return -EIO;
	}
	memcpy(o, TOKEN_HASH_PREFIX, TOKEN_PREFIX_LEN);
	o += TOKEN_PREFIX_LEN;
	for (unsigned i = 0; i < TOKEN_DIGEST_LEN; i++) {
		*o++ = hex[md[i] >> 4];
		*o++ = hex[md[i] & 0xf];
	}
	*o = '\0';
	return 0;
}

/* A stored hash is exactly "sha256:" and 64 lowercase hex digits. */
static bool token_hash_well_formed(const char *h)
{
	if (strncmp(h, TOKEN_HASH_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return false;
	for (size_t i = TOKEN_PREFIX_LEN; i < TOKEN_HASH_TEXT_LEN; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false; /* also stops at a NUL before the end */
	return h[TOKEN_HASH_TEXT_LEN] == '\0';
}

bool token_matches(const char *token, size_t len, const char *stored_hash)
{
	char mine[TOKEN_HASH_TEXT_LEN + 1];
	bool ok;

	if (!token || !len || !stored_hash || !token_hash_well_formed(stored_hash))
		return false;
	if (token_hash(token, len, mine))
		return false;
	/* Only the digests are secret-dependent; the prefix and format checks above are not. */
	ok = CRYPTO_memcmp(mine, stored_hash, TOKEN_HASH_TEXT_LEN) == 0;
	OPENSSL_cleanse(mine, sizeof(mine));
	return ok;
}

int token_validate(const char *token, size_t len)
{
	if (!token || len == 0 || len > TOKEN_USER_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)token[i] < 0x21 || (unsigned char)token[i] > 0x7e)
			return -EINVAL;
	return 0;
}
