#include "platform/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct vsd_sha256 {
	EVP_MD_CTX *ctx;
};

static void to_hex(const unsigned char *md, char out[VSD_SHA256_HEX])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void vsd_sha256_hex(const void *data, size_t len, char out[VSD_SHA256_HEX])
{
	vsd_sha256 *h = vsd_sha256_new();
	vsd_sha256_update(h, data, len);
	vsd_sha256_final(h, out);
}

vsd_sha256 *vsd_sha256_new(void)
{
	static __thread vsd_sha256 h; /* one in flight per thread is all callers need */
	h.ctx = EVP_MD_CTX_new();
	if (!h.ctx || EVP_DigestInit_ex(h.ctx, EVP_sha256(), NULL) != 1)
		abort();
	return &h;
}

void vsd_sha256_update(vsd_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void vsd_sha256_final(vsd_sha256 *h, char out[VSD_SHA256_HEX])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	to_hex(md, out);
}

int vsd_sha256_file(const char *path, char out[VSD_SHA256_HEX], vs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, errno, "open %s", path);
	vsd_sha256 *h = vsd_sha256_new();
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		vsd_sha256_update(h, buf, (size_t)n);
	int saved = errno;
	close(fd);
	vsd_sha256_final(h, out);
	return n < 0 ? vs_fail(err, saved, "read %s", path) : 0;
}
