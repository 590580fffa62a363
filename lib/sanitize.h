/* SPDX-License-Identifier: Apache-2.0 */
/* Text from the network, an image or a disk (tar paths, media types,
 * platforms, registry answers, labels, state files) on its way to a
 * terminal, a log or JSON. Its printable form keeps printable ASCII and
 * valid UTF-8 and shows as an escape everything a terminal could act on:
 * C0 controls and DEL as \xNN, the C1 controls (U+0080..U+009F, CSI among
 * them), line separators and invisible format characters (bidirectional
 * and zero-width marks, the BOM) as \uNNNN (tags as \UNNNNNNNN), and each
 * byte that is not valid UTF-8 (a lone 0x9b, an overlong form, a
 * surrogate) as \xNN. Every log line goes through it (log.c); output
 * built from such strings uses the functions below. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether s is 1..max bytes of printable ASCII (0x20..0x7e): a value
 * taken as it is, never escaped. false for NULL. */
bool sanitize_is_printable_ascii(const char *s, size_t max);
/* The printable form of src in dst (size > 0 bytes, always terminated),
 * cut at a character boundary when it does not fit. Returns the length the
 * whole form needs, like snprintf(). */
size_t sanitize_to(char *dst, size_t size, const char *src);
/* The printable form in a new string; NULL for NULL and on ENOMEM. */
char *sanitize_strdup(const char *src);
/* src as a JSON string: its printable form, quoted, '"' and '\' escaped
 * (so valid JSON with no control character); null for NULL. */
void sanitize_json_string(FILE *f, const char *src);
/* printf() of one line in its printable form, then a newline: for output
 * that formats such strings. */
void sanitize_print_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
