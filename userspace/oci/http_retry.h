/* SPDX-License-Identifier: Apache-2.0 */
/* The transport's retry policy (http.c's request loop asks it). */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>

/* A network failure worth another attempt (connection, timeout, cut stream). */
bool http_curl_error_is_transient(CURLcode code);
/* Final (non-transient) failures: an errno and a hint for the message. */
int http_curl_error_to_errno(CURLcode code, const char **ret_hint);
/* 429 and the 5xx a restarting or overloaded registry answers. */
bool http_status_is_transient(long status);
/* Waits before attempt number attempt: what Retry-After asks (at most 60 s),
 * else exponentially longer from half a second. */
void http_backoff(unsigned attempt, const char *retry_after);
