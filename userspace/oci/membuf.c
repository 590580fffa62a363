/* SPDX-License-Identifier: Apache-2.0 */
#include "membuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int membuf_append(struct membuf *m, const void *data, size_t size)
{
	if (size > m->max - m->size)
		return -EFBIG;
	size_t need = m->size + size + 1;
	if (need > m->allocated) {
		/* doubling, within the limit: appends stay cheap */
		size_t cap = m->max < SIZE_MAX ? m->max + 1 : SIZE_MAX;
		size_t n = m->allocated ? m->allocated : 256;
		while (n < need)
			n = n <= cap / 2 ? n * 2 : cap;
		if (n > cap)
			n = cap;
		char *p = realloc(m->data, n);
		if (!p)
			return -ENOMEM;
		m->data = p;
		m->allocated = n;
	}
	if (size > 0)
		memcpy(m->data + m->size, data, size);
	m->size += size;
	m->data[m->size] = '\0';
	return 0;
}

int membuf_sink(void *userdata, const void *data, size_t size)
{
	return membuf_append(userdata, data, size);
}

void membuf_reset(struct membuf *m)
{
	free(m->data);
	m->data = NULL;
	m->size = m->allocated = 0;
}

char *membuf_steal(struct membuf *m, size_t *ret_size)
{
	char *p = m->data ?: strdup("");
	if (p)
		*ret_size = m->size;
	m->data = NULL;
	m->size = m->allocated = 0;
	return p;
}
