/* SPDX-License-Identifier: Apache-2.0 */
/* The transport's retry policy: which failures are worth another attempt,
 * what a final one means, and how long to wait in between. */
#include "http_retry.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

bool http_curl_error_is_transient(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* Final (non-transient) failures: an errno and a hint for the message.
 * A failed handshake is often a plain-HTTP server; a refused certificate
 * is a question of trust. */
int http_curl_error_to_errno(CURLcode code, const char **ret_hint)
{
	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		*ret_hint = " (for a private CA use --ca-file; --insecure skips verification)";
		return -EPERM;
	case CURLE_SSL_CONNECT_ERROR:
		*ret_hint = " (TLS handshake failed; a plain-HTTP registry needs --insecure)";
		return -ECONNABORTED;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_TOO_MANY_REDIRECTS:
		*ret_hint = " (redirect refused: too many, or to a protocol not allowed)";
		return -EPROTO;
	default:
		*ret_hint = "";
		return -EIO;
	}
}

bool http_status_is_transient(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Waits before the next attempt: what Retry-After asks (within reason),
 * else exponentially longer from half a second. */
void http_backoff(unsigned attempt, const char *retry_after)
{
	unsigned ms = 500u << (attempt < 4u ? attempt : 4u);
	if (retry_after) {
		char *end;
		errno = 0;
		unsigned long seconds = strtoul(retry_after, &end, 10);
		if (errno == 0 && end != retry_after && *end == '\0' && seconds <= 60)
			ms = (unsigned) seconds * 1000u;
	}
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}
