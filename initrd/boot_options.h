/* SPDX-License-Identifier: Apache-2.0 */
/* What the helper is told: the kernel command line (docs/DESIGN.md) and
 * /etc/kairos/boot.conf inside the image. The command line wins. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "boot_state.h"
#include "cmdline.h"

#define BOOT_PATHS_MAX 32
#define BOOT_PATH_MAX 256
#define BOOT_LABEL_MAX 64

#define BOOT_DEFAULT_OVERLAY "/etc,/var,/srv,/tmp"
#define BOOT_DEFAULT_PERSISTENT "/home,/root,/opt,/var/log,/etc/ssh"
#define BOOT_DEFAULT_WAIT_SECONDS 30
#define BOOT_WAIT_SECONDS_MAX 3600

struct path_list {
	char paths[BOOT_PATHS_MAX][BOOT_PATH_MAX];
	size_t n;
};

/* kairos.via=: how GRUB came to boot kairos.slot (docs/DESIGN.md). */
enum boot_via {
	BOOT_VIA_UNKNOWN,     /* absent (an older grub.cfg, a direct kernel boot) */
	BOOT_VIA_RULES,       /* GRUB's rules chose active */
	BOOT_VIA_ONE_SHOT,    /* the one-shot choice */
	BOOT_VIA_FALLBACK,    /* the rules fell back past active, or the entry did not load */
	BOOT_VIA_MENU,        /* a person picked the entry */
	BOOT_VIA_LAST_RESORT, /* every slot the rules allow failed (boot_state_fallback) */
};

struct boot_options {
	char state_label[BOOT_LABEL_MAX];
	char recovery_label[BOOT_LABEL_MAX];
	char persistent_label[BOOT_LABEL_MAX];
	char live_label[BOOT_LABEL_MAX]; /* kairos.live=: boot the live medium with this label; "" otherwise */
	char state_uuid[BOOT_LABEL_MAX]; /* kairos.state_uuid=: the state filesystem GRUB read; "" if absent */
	unsigned wait_seconds;

	struct path_list overlay, persistent;
	/* Set when the command line named them: boot.conf then may not. */
	bool overlay_from_cmdline, persistent_from_cmdline;

	enum boot_slot grub_slot; /* kairos.slot=, BOOT_SLOT_NONE if absent */
	char grub_image[IMAGE_ID_LEN + 1];
	bool counted;             /* kairos.counted=1: GRUB decided and spent the try */
	enum boot_via via;        /* kairos.via= */
	char init[BOOT_PATH_MAX]; /* init=, default /sbin/init */
	/* kairos.verity=ROOT:DATA_BLOCKS:HASH_START_BLOCK: the live image's
	 * record (its medium's grub.cfg; state.env's format). A value that does
	 * not parse is SLOT_VERITY_DAMAGED, never "none". */
	struct slot_verity live_verity;
};

void boot_options_init(struct boot_options *o);
/* Read what the command line says. -EINVAL for a value that cannot be used
 * (bad path list, label, slot, image id): logged, and that key keeps its default. */
int boot_options_from_cmdline(struct boot_options *o, const struct cmdline *c);
/* Apply boot.conf text ("key=value" lines, '#' comments): overlay= and
 * persistent=, unless the command line already set them. */
int boot_options_apply_conf(struct boot_options *o, const char *text);

/* A path we may mount over: absolute, no empty, "." or ".." component, not
 * "/" itself, no trailing slash, printable, no ',' (the list separator), ':' or a backslash (overlayfs option syntax). */
bool boot_path_is_valid(const char *path);
/* Parse "a,b,c" (empty entries ignored, duplicates dropped). -EINVAL if any
 * entry is not a valid path (the list is then left empty), -E2BIG if too many. */
int path_list_parse(const char *text, struct path_list *list);
bool path_list_contains(const struct path_list *list, const char *path);
