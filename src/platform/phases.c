#include "platform/phases.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const names[] = {"start", "stop", "restart", "snapshot", "restore"};
#define NPHASE (sizeof(names) / sizeof(names[0]))
/* Upper bounds in seconds: a container start is tens of ms, a restore of a big tree seconds. */
static const double bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define NBOUND (sizeof(bounds) / sizeof(bounds[0]))

static struct {
	unsigned long long bucket[NBOUND]; /* non-cumulative here, summed when printed */
	unsigned long long count;
	double sum;
} table[NPHASE];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

double vsd_phase_clock(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void vsd_phase_observe(const char *phase, double secs)
{
	for (size_t p = 0; p < NPHASE; p++) {
		if (strcmp(phase, names[p]))
			continue;
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < NBOUND; i++)
			if (secs <= bounds[i]) {
				table[p].bucket[i]++;
				break;
			}
		table[p].count++;
		table[p].sum += secs;
		pthread_mutex_unlock(&lock);
		return;
	}
}

char *vsd_phase_prom(void)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	if (!f)
		return NULL;
	fputs("# HELP vessel_phase_seconds How long each lifecycle phase of an instance took.\n"
	      "# TYPE vessel_phase_seconds histogram\n", f);
	pthread_mutex_lock(&lock);
	for (size_t p = 0; p < NPHASE; p++) {
		unsigned long long cum = 0;
		for (size_t i = 0; i < NBOUND; i++) {
			cum += table[p].bucket[i];
			fprintf(f, "vessel_phase_seconds_bucket{phase=\"%s\",le=\"%g\"} %llu\n", names[p], bounds[i], cum);
		}
		fprintf(f, "vessel_phase_seconds_bucket{phase=\"%s\",le=\"+Inf\"} %llu\n", names[p], table[p].count);
		fprintf(f, "vessel_phase_seconds_sum{phase=\"%s\"} %.9g\n", names[p], table[p].sum);
		fprintf(f, "vessel_phase_seconds_count{phase=\"%s\"} %llu\n", names[p], table[p].count);
	}
	pthread_mutex_unlock(&lock);
	return fclose(f) == 0 ? s : (free(s), NULL);
}
