/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the command-line parser must never crash or leak, whatever the
 * bootloader (or an attacker with access to it) passes. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct cmdline c;
	if (cmdline_parse(text, &c) == 0) {
		for (size_t i = 0; i < c.n_args; i++) {
			assert(c.args[i].key[0] != '\0' || c.args[i].value);
			(void) cmdline_get(&c, c.args[i].key);
		}
		size_t pos = 0;
		while (cmdline_next(&c, "kairos.slot", &pos))
			;
		cmdline_free(&c);
	}
	free(text);
	return 0;
}
