/* SPDX-License-Identifier: Apache-2.0 */
#include "progress.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sanitize.h"
#include "util.h"

#define TTY_INTERVAL_NS (250 * 1000000LL)
#define JSON_INTERVAL_NS (1000 * 1000000LL)

struct progress {
	enum progress_mode mode;
	pthread_mutex_t lock;
	size_t n_layers, layers_done;
	bool *done;
	uint64_t total_bytes, bytes;
	long long start_ns, last_ns;
	bool line_open;
	bool begun;
};

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int progress_mode_from_string(const char *s, enum progress_mode *ret)
{
	static const char *const names[] = { "auto", "none", "tty", "json" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i])) {
			*ret = (enum progress_mode) i;
			return 0;
		}
	return -EINVAL;
}

struct progress *progress_new(enum progress_mode mode)
{
	struct progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (mode == PROGRESS_AUTO)
		mode = isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_NONE;
	p->mode = mode;
	pthread_mutex_init(&p->lock, NULL);
	p->start_ns = p->last_ns = now_ns();
	return p;
}

struct progress *progress_free(struct progress *p)
{
	if (!p)
		return NULL;
	pthread_mutex_destroy(&p->lock);
	free(p->done);
	free(p);
	return NULL;
}

static void format_bytes(char *buf, size_t size, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;
	while (bytes >= 1024 && u + 1 < ELEMENTSOF(units)) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

/* Called with the lock held. */
static void render(struct progress *p, bool final)
{
	long long now = now_ns();
	double seconds = (double) (now - p->start_ns) / 1e9;
	double rate = seconds > 0 ? (double) p->bytes / seconds : 0;
	uint64_t left = p->total_bytes > p->bytes ? p->total_bytes - p->bytes : 0;
	/* left comes from the manifest's claimed sizes: no ETA past ~30000 years
	 * (a double past LONG_MAX does not convert) */
	double eta_s = rate > 0 ? (double) left / rate + 0.5 : -1;
	long eta = eta_s < 1e12 ? (long) eta_s : -1;

	if (p->mode == PROGRESS_JSON) {
		printf("{\"event\":\"progress\",\"layers_done\":%zu,\"layers_total\":%zu,\"bytes\":%llu,"
		       "\"bytes_total\":%llu,\"bytes_per_second\":%.0f,\"eta_seconds\":%ld}\n",
		       p->layers_done, p->n_layers, (unsigned long long) p->bytes, (unsigned long long) p->total_bytes,
		       rate, final ? 0 : eta);
		fflush(stdout);
		return;
	}
	char got[32], total[32], speed[32];
	format_bytes(got, sizeof(got), (double) p->bytes);
	format_bytes(total, sizeof(total), (double) p->total_bytes);
	format_bytes(speed, sizeof(speed), rate);
	char eta_text[32] = "";
	if (!final && eta >= 0)
		snprintf(eta_text, sizeof(eta_text), ", ETA %ld:%02ld", eta / 60, eta % 60);
	fprintf(stderr, "\r\033[KLayers %zu/%zu, %s of %s, %s/s%s", p->layers_done, p->n_layers, got, total, speed,
		eta_text);
	p->line_open = true;
	fflush(stderr);
}

void progress_begin(struct progress *p, const char *image, const char *digest, size_t n_layers, uint64_t total_bytes)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->n_layers = n_layers;
	p->total_bytes = total_bytes;
	free(p->done);
	p->done = calloc(n_layers ?: 1, sizeof(bool));
	p->start_ns = p->last_ns = now_ns();
	p->begun = true;
	if (p->mode == PROGRESS_JSON) {
		fputs("{\"event\":\"start\",\"image\":", stdout);
		sanitize_json_string(stdout, image);
		fputs(",\"digest\":", stdout);
		sanitize_json_string(stdout, digest);
		printf(",\"layers_total\":%zu,\"bytes_total\":%llu}\n", n_layers, (unsigned long long) total_bytes);
		fflush(stdout);
	}
	if (p->mode != PROGRESS_NONE)
		render(p, false);
	pthread_mutex_unlock(&p->lock);
}

static void update_bytes(struct progress *p, uint64_t bytes, bool absolute)
{
	if (!p || p->mode == PROGRESS_NONE)
		return;
	pthread_mutex_lock(&p->lock);
	if (!absolute)
		p->bytes += bytes;
	else if (bytes > p->bytes)
		p->bytes = bytes;
	long long now = now_ns();
	if (now - p->last_ns >= (p->mode == PROGRESS_JSON ? JSON_INTERVAL_NS : TTY_INTERVAL_NS)) {
		p->last_ns = now;
		render(p, false);
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_add_bytes(struct progress *p, uint64_t bytes)
{
	update_bytes(p, bytes, false);
}

void progress_set_bytes(struct progress *p, uint64_t bytes)
{
	update_bytes(p, bytes, true);
}

void progress_layer_done(struct progress *p, size_t index)
{
	if (!p || p->mode == PROGRESS_NONE)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->done && index < p->n_layers && !p->done[index]) {
		p->done[index] = true;
		p->layers_done++;
		render(p, false);
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_reused(struct progress *p, size_t n_layers, uint64_t bytes, const char *from)
{
	if (!p || p->mode == PROGRESS_NONE)
		return;
	pthread_mutex_lock(&p->lock);
	p->total_bytes = p->total_bytes > bytes ? p->total_bytes - bytes : 0;
	for (size_t i = 0; p->done && i < n_layers && i < p->n_layers; i++)
		if (!p->done[i]) {
			p->done[i] = true;
			p->layers_done++;
		}
	if (p->mode == PROGRESS_JSON) {
		printf("{\"event\":\"reuse\",\"layers\":%zu,\"bytes_skipped\":%llu,\"from\":", n_layers,
		       (unsigned long long) bytes);
		sanitize_json_string(stdout, from);
		fputs("}\n", stdout);
		fflush(stdout);
	} else /* the builder's log says it in words */
		render(p, false);
	pthread_mutex_unlock(&p->lock);
}

void progress_end(struct progress *p, int error)
{
	if (!p || p->mode == PROGRESS_NONE)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->begun)
		render(p, true);
	if (p->mode == PROGRESS_JSON) {
		printf("{\"event\":\"done\",\"result\":\"%s\",\"error\":\"%s\"}\n", error < 0 ? "failed" : "ok",
		       error < 0 ? strerrorname_np(-error) ?: "unknown" : "");
		fflush(stdout);
	} else if (p->line_open) {
		fputc('\n', stderr);
		p->line_open = false;
	}
	pthread_mutex_unlock(&p->lock);
}
