/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: one line per event, to stderr (and /dev/kmsg in the initramfs),
 * in its printable form (sanitize.h): arguments may come from the network,
 * an image or a disk.
 * The _errno variants set errno from a negative error so "%m" works, and
 * return that error, so a caller can write: return log_error_errno(r, "...: %m"); */
#pragma once

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR = 3, LOG_LEVEL_WARNING = 4, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };

void log_set_program(const char *name);
void log_set_max_level(enum log_level level);
/* Also copy every message to this fd (e.g. /dev/kmsg); -1 to stop. */
void log_set_kmsg_fd(int fd);

int log_full_errno(enum log_level level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_LEVEL_INFO, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
