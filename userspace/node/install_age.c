/* SPDX-License-Identifier: Apache-2.0 */
#include "install_age.h"

#include <errno.h>

#include "downgrade.h"
#include "log.h"

int image_install_check_age(const struct image_install *in, const struct state_dir *sd, enum boot_slot slot,
			    const char *installed_id, bool allow_downgrade)
{
	if (!installed_id || !installed_id[0])
		return 0; /* an empty slot: nothing to be older than */
	struct image_meta meta = { 0 };
	(void) state_dir_read_meta(sd, slot, installed_id, &meta); /* none: its age is unknown */
	const struct image_age have = { .created = meta.created, .version = meta.version };
	const struct image_age want = { .created = pull_created(in->img), .version = pull_version(in->img) };
	char why[256];
	enum downgrade_verdict v = downgrade_decide(&have, &want, why, sizeof(why));
	const char *slot_name = boot_slot_to_string(slot);
	int r = 0;
	if (v == DOWNGRADE_UNKNOWN)
		log_warning("Cannot tell whether %s (%s) is older than the %s image %.12s: %s (version %s, created "
			    "%s; installed: version %s, created %s). Installing it; images that declare the "
			    "org.opencontainers.image.version label are protected against downgrades",
			    pull_name(in->img), pull_digest(in->img), slot_name, installed_id, why,
			    want.version ?: "none", want.created ?: "none", have.version ?: "none",
			    have.created ?: "none");
	else if (v == DOWNGRADE_OLDER && allow_downgrade)
		log_warning("Installing %s (%s) although it is older than the %s image %.12s (version %s, created "
			    "%s; installed: version %s, created %s): --allow-downgrade",
			    pull_name(in->img), pull_digest(in->img), slot_name, installed_id, want.version ?: "none",
			    want.created ?: "none", have.version ?: "none", have.created ?: "none");
	else if (v == DOWNGRADE_OLDER)
		r = log_error_errno(-EPERM,
				    "Refusing %s (%s): it is older than the %s image %.12s (version %s, created %s; "
				    "installed: version %s, created %s). Nothing was changed. A registry can serve "
				    "an older signed image with a known hole; if this downgrade is meant, retry "
				    "with --allow-downgrade",
				    pull_name(in->img), pull_digest(in->img), slot_name, installed_id,
				    want.version ?: "none", want.created ?: "none", have.version ?: "none",
				    have.created ?: "none");
	else
		log_debug("%s is not older than the %s image: %s", pull_name(in->img), slot_name, why);
	image_meta_done(&meta);
	return r;
}

bool image_meta_age_unknown(const struct image_meta *meta)
{
	/* Compared with itself, an image with any usable fact is the same age:
	 * the rule's own definition, not a copy of it. */
	const struct image_age age = { .created = meta->created, .version = meta->version };
	return downgrade_decide(&age, &age, NULL, 0) == DOWNGRADE_UNKNOWN;
}
