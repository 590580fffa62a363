/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the grubenv parser must never crash, and whatever it accepts
 * must survive a format/parse round trip unchanged. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "grubenv.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grubenv env, again;
	if (grubenv_parse((const char *) data, size, &env) < 0)
		return 0;

	char block[GRUBENV_SIZE];
	/* What was read from a block can be re-serialized: escaping never
	 * grows it beyond what was read (longer inputs may not fit). */
	int r = grubenv_format(&env, block);
	assert(r == 0 || (r == -ENOSPC && size > GRUBENV_SIZE));
	if (r < 0) {
		grubenv_free(&env);
		return 0;
	}
	assert(grubenv_parse(block, sizeof(block), &again) == 0);
	assert(again.n_vars == env.n_vars);
	for (size_t i = 0; i < env.n_vars; i++)
		assert(streq_ptr(grubenv_get(&again, env.vars[i].key), env.vars[i].value));
	grubenv_free(&again);
	grubenv_free(&env);
	return 0;
}
