// SPDX-License-Identifier: MIT
/* test_token: token generation, hashing, constant-time matching and validation. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "token.h"

#define API_TOKEN_HASH "sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0"

/*
 * RAND_bytes and EVP_Digest are interposed here (the executable's definition wins over
 * libcrypto's) so the tests can make them fail or return known bytes; otherwise they
 * forward to the real ones.
 */
enum mock_mode { MOCK_REAL, MOCK_FAIL, MOCK_PATTERN, MOCK_ONES };
static enum mock_mode rand_mode, digest_mode;

int RAND_bytes(unsigned char *buf, int num)
{
	int (*real)(unsigned char *, int);

	switch (rand_mode) {
	case MOCK_FAIL:
		return 0;
	case MOCK_PATTERN:
		for (int i = 0; i < num; i++)
			buf[i] = (unsigned char)i;
		return 1;
	case MOCK_ONES:
		memset(buf, 0xff, (size_t)num);
		return 1;
	default:
		*(void **)&real = dlsym(RTLD_NEXT, "RAND_bytes");
		return real(buf, num);
	}
}

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
	       const EVP_MD *type, ENGINE *impl)
{
	int (*real)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *,
		    ENGINE *);

	if (digest_mode == MOCK_FAIL)
		return 0;
	*(void **)&real = dlsym(RTLD_NEXT, "EVP_Digest");
	return real(data, count, md, size, type, impl);
}

static int reset_mocks(void **state)
{
	(void)state;
	rand_mode = MOCK_REAL;
	digest_mode = MOCK_REAL;
	return 0;
}

static bool is_b64url(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

static void test_token_hash_vectors(void **state)
{
	char out[TOKEN_HASH_TEXT_LEN + 1];

	(void)state;
	/* printf %s api_token | sha256sum */
	assert_int_equal(token_hash("api_token", 9, out), 0);
	assert_string_equal(out, API_TOKEN_HASH);
	assert_int_equal(strlen(out), TOKEN_HASH_TEXT_LEN);
	assert_int_equal(token_hash("secret_token", 12, out), 0);
	assert_string_equal(
	    out, "sha256:26d141c9a7204906121db95e892d2c8b500c3db440c06d3eaa6715f0cbf8763f");
	/* len, not the NUL, ends the input */
	assert_int_equal(token_hash("api_token-and-more", 9, out), 0);
	assert_string_equal(out, API_TOKEN_HASH);
	assert_int_equal(token_hash("a\0b", 3, out), 0);
	assert_string_equal(
	    out, "sha256:59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
	assert_int_equal(token_hash(NULL, 0, out), 0);
	assert_string_equal(
	    out, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_token_hash_failure(void **state)
{
	char out[TOKEN_HASH_TEXT_LEN + 1];

	(void)state;
	digest_mode = MOCK_FAIL;
	memset(out, 'x', sizeof(out));
	assert_int_equal(token_hash("api_token", 9, out), -EIO);
	assert_string_equal(out, "");
	assert_false(token_matches("api_token", 9, API_TOKEN_HASH));
}

/* 2,000 draws: a leading '-' (1 in 32 before) would have come about 60 times. */
static void test_token_generate_never_leading_dash(void **state)
{
	char tok[TOKEN_TEXT_LEN + 1];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(token_generate(tok), 0);
		assert_int_not_equal(tok[0], '-');
	}
}

static void test_token_generate_format(void **state)
{
	char tok[64][TOKEN_TEXT_LEN + 1];

	(void)state;
	for (size_t i = 0; i < 64; i++) {
		memset(tok[i], '!', sizeof(tok[i]));
		assert_int_equal(token_generate(tok[i]), 0);
		assert_int_equal(strlen(tok[i]), TOKEN_TEXT_LEN);
		for (size_t j = 0; j < TOKEN_TEXT_LEN; j++)
			assert_true(is_b64url(tok[i][j]));
		/* 256 bits in 43 characters: the last one carries 4 bits and 2 zero bits */
		assert_non_null(strchr("AEIMQUYcgkosw048", tok[i][TOKEN_TEXT_LEN - 1]));
		assert_int_equal(token_validate(tok[i], TOKEN_TEXT_LEN), 0);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(tok[i], tok[k]);
	}
}

static void test_token_generate_encoding(void **state)
{
	char tok[TOKEN_TEXT_LEN + 1];

	(void)state;
	rand_mode = MOCK_PATTERN; /* bytes 0..31 */
	assert_int_equal(token_generate(tok), 0);
	assert_string_equal(tok, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
	rand_mode = MOCK_ONES; /* 0xff everywhere: '-' and '_' are the url-safe alphabet */
	assert_int_equal(token_generate(tok), 0);
	assert_string_equal(tok, "__________________________________________8");
}

static void test_token_generate_rand_fails(void **state)
{
	char tok[TOKEN_TEXT_LEN + 1] = "untouched";

	(void)state;
	rand_mode = MOCK_FAIL;
	assert_int_equal(token_generate(tok), -EIO);
	assert_string_equal(tok, "untouched");
}

static void test_token_matches(void **state)
{
	char tok[TOKEN_TEXT_LEN + 1], hash[TOKEN_HASH_TEXT_LEN + 1];

	(void)state;
	assert_true(token_matches("api_token", 9, API_TOKEN_HASH));
	assert_true(token_matches("api_token\n", 9, API_TOKEN_HASH)); /* only len bytes count */
	assert_false(token_matches("api_token", 8, API_TOKEN_HASH));
	assert_false(token_matches("api_tokenX", 10, API_TOKEN_HASH));
	assert_false(token_matches("API_TOKEN", 9, API_TOKEN_HASH));
	assert_false(token_matches("api_token ", 10, API_TOKEN_HASH));
	assert_false(token_matches("secret_token", 12, API_TOKEN_HASH));
	/* well formed, one digit off at either end: every digit is compared */
	assert_false(token_matches(
	    "api_token", 9,
	    "sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c1"));
	assert_false(token_matches(
	    "api_token", 9,
	    "sha256:5f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0"));
	assert_false(token_matches("", 0, API_TOKEN_HASH));
	assert_false(token_matches(NULL, 0, API_TOKEN_HASH));
	assert_false(token_matches(NULL, 9, API_TOKEN_HASH));
	/* empty tokens never match, even against the hash of "" */
	assert_false(token_matches(
	    "", 0, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));

	assert_int_equal(token_generate(tok), 0);
	assert_int_equal(token_hash(tok, strlen(tok), hash), 0);
	assert_true(token_matches(tok, strlen(tok), hash));
	tok[0] = tok[0] == 'A' ? 'B' : 'A';
	assert_false(token_matches(tok, strlen(tok), hash));
}

static void test_token_matches_malformed_hash(void **state)
{
	static const char *const bad[] = {
		"",
		"sha256:",
		"sha256",
		"4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0",
		"SHA256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0",
		"sha512:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0",
		"sha256:4F89C033B5EE1A094B6F16B5F315FE7CE180FD1512D9AB031848472E150095C0",
		"sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c",
		"sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c00",
		"sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0 ",
		"sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0\n",
		" sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0",
		"sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095g0",
		"sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095\0c0",
		"sha256: 4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (token_matches("api_token", 9, bad[i]))
			fail_msg("malformed hash #%zu matched", i);
	}
	assert_false(token_matches("api_token", 9, NULL));
}

static void test_token_validate_good(void **state)
{
	char longest[TOKEN_USER_MAX];

	(void)state;
	memset(longest, 'a', sizeof(longest));
	assert_int_equal(token_validate("secret_token", 12), 0);
	assert_int_equal(token_validate("api_access_token", 16), 0);
	assert_int_equal(token_validate("!", 1), 0);
	assert_int_equal(token_validate("~", 1), 0);
	assert_int_equal(token_validate("p@ss:w0rd/\"'{}[]`\\", 18), 0);
	assert_int_equal(token_validate(longest, sizeof(longest)), 0);
	assert_int_equal(token_validate("ab\n", 2), 0); /* only len bytes count */
}

static void test_token_validate_bad(void **state)
{
	static const char *const bad[] = {
		" ",	   "a b",  " lead",	 "trail ",	"tab\there", "new\nline", "cr\r",
		"del\x7f", "\x01", "esc\x1b[0m", "caf\xc3\xa9", "\x80",	     "\xff",
	};
	char toolong[TOKEN_USER_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (token_validate(bad[i], strlen(bad[i])) != -EINVAL)
			fail_msg("bad token #%zu accepted", i);
	}
	memset(toolong, 'a', sizeof(toolong));
	assert_int_equal(token_validate(toolong, sizeof(toolong)), -EINVAL);
	assert_int_equal(token_validate("", 0), -EINVAL);
	assert_int_equal(token_validate("abc", 0), -EINVAL);
	assert_int_equal(token_validate(NULL, 0), -EINVAL);
	assert_int_equal(token_validate(NULL, 5), -EINVAL);
	assert_int_equal(token_validate("a\0b", 3), -EINVAL); /* NUL inside */
	assert_int_equal(token_validate("abc", SIZE_MAX), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_token_hash_vectors, reset_mocks),
		cmocka_unit_test_setup(test_token_hash_failure, reset_mocks),
		cmocka_unit_test_setup(test_token_generate_format, reset_mocks),
		cmocka_unit_test_setup(test_token_generate_never_leading_dash, reset_mocks),
		cmocka_unit_test_setup(test_token_generate_encoding, reset_mocks),
		cmocka_unit_test_setup(test_token_generate_rand_fails, reset_mocks),
		cmocka_unit_test_setup(test_token_matches, reset_mocks),
		cmocka_unit_test_setup(test_token_matches_malformed_hash, reset_mocks),
		cmocka_unit_test_setup(test_token_validate_good, reset_mocks),
		cmocka_unit_test_setup(test_token_validate_bad, reset_mocks),
	};

	return cmocka_run_group_tests(tests, NULL, reset_mocks);
}
