/* tests/bench/work-classes.c — why the worker pool has two classes
 * (docs/decisions/0007-work-pool.md): the latency of store-bound jobs (one
 * durable store write, fsync on) while the CPU threads are flooded with
 * Argon2id hashes (the daemon's parameters) from many address groups, once with
 * the store jobs in the same class as the hashes (a single pool) and once in
 * the WORK_STORE class.
 *
 * usage: work-classes CPU_THREADS FLOOD_SOURCES SAMPLES MEMORY_KIB OPS
 * prints one line per mode: mode=... samples=N p50_ms=X max_ms=Y hashes_per_s=Z */
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../../authd/store.h"
#include "../../authd/work.h"

#define MAX_SOURCES 256
#define MAX_SAMPLES 1000

static struct work_pool *pool;
static struct store *store;
static unsigned long long memlimit, opslimit;
static atomic_int stopping;
static atomic_ulong hashes;
static char sources[MAX_SOURCES][24];

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void flood_done(void *arg);

static void
hash_work(void *arg)
{
	char out[crypto_pwhash_STRBYTES];

	if (crypto_pwhash_str(out, "correct horse", 13, opslimit, (size_t)memlimit) == 0)
		atomic_fetch_add(&hashes, 1);
}

/* Each flood source keeps one hash queued or running until the end. */
static void
flood_submit(int src)
{
	struct work_slot *s;

	if (atomic_load(&stopping))
		return;
	if (work_admit(pool, WORK_CPU, sources[src], NULL, NULL, NULL, &s) == ST_OK)
		work_submit(s, hash_work, flood_done, (void *)(intptr_t)src);
}

static void
flood_done(void *arg)
{
	flood_submit((int)(intptr_t)arg);
}

static int
put_fn(struct store_txn *t, void *ctx)
{
	json_t *v = json_pack("{s:f}", "t", now_ms());
	int rc = v != NULL ? store_puts(t, T_META, "bench", v, 0) : ST_IO;

	json_decref(v);
	return rc;
}

struct sample {
	double start, end;
	atomic_int done;
};

static void
store_work(void *arg)
{
	store_write_sync(store, put_fn, NULL);
}

static void
store_done(void *arg)
{
	struct sample *s = arg;

	s->end = now_ms();
	atomic_store(&s->done, 1);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
run(const char *mode, enum work_class c, int nsrc, int nsamples)
{
	static struct sample smp[MAX_SAMPLES];
	double lat[MAX_SAMPLES], t0, rate;
	int i;

	atomic_store(&stopping, 0);
	atomic_store(&hashes, 0);
	for (i = 0; i < nsrc; i++)
		flood_submit(i);
	usleep(200000); /* let the flood fill the CPU threads */
	t0 = now_ms();
	for (i = 0; i < nsamples; i++) {
		struct work_slot *s;

		memset(&smp[i], 0, sizeof(smp[i]));
		smp[i].start = now_ms();
		if (work_admit(pool, c, "store-user", NULL, NULL, NULL, &s) != ST_OK ||
		    work_submit(s, store_work, store_done, &smp[i]) != ST_OK) {
			fprintf(stderr, "work-classes: admission refused\n");
			exit(1);
		}
		while (!atomic_load(&smp[i].done))
			usleep(200);
		lat[i] = smp[i].end - smp[i].start;
		usleep(20000);
	}
	rate = (double)atomic_load(&hashes) * 1e3 / (now_ms() - t0);
	qsort(lat, (size_t)nsamples, sizeof(lat[0]), cmp);
	printf("mode=%s samples=%d p50_ms=%.1f max_ms=%.1f hashes_per_s=%.1f\n", mode, nsamples,
	    lat[nsamples / 2], lat[nsamples - 1], rate);
	atomic_store(&stopping, 1);
	/* Let the flood's last hashes finish before the next mode. */
	while (work_held(pool, WORK_CPU) > 0)
		usleep(10000);
}

int
main(int argc, char **argv)
{
	struct work_opts o = {
		.threads = { 0, 0 }, .per_source = 4, .per_account = 4, .total = 4096
	};
	struct store_opts so = { .map_size = 64u << 20 };
	char dir[] = "/tmp/authd-work-classes-XXXXXX";
	int nsrc, nsamples, i;

	if (argc != 6) {
		fprintf(stderr,
		    "usage: work-classes CPU_THREADS FLOOD_SOURCES SAMPLES MEMORY_KIB OPS\n");
		return 2;
	}
	o.threads[WORK_CPU] = atoi(argv[1]);
	nsrc = atoi(argv[2]);
	nsamples = atoi(argv[3]);
	memlimit = strtoull(argv[4], NULL, 10) * 1024;
	opslimit = strtoull(argv[5], NULL, 10);
	if (o.threads[WORK_CPU] < 1 || nsrc < 1 || nsrc > MAX_SOURCES || nsamples < 1 ||
	    nsamples > MAX_SAMPLES || sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 2;
	for (i = 0; i < nsrc; i++)
		snprintf(sources[i], sizeof(sources[i]), "flood-%d", i);
	if (store_open(&store, dir, &so) != ST_OK || work_pool_start(&pool, &o) != ST_OK) {
		fprintf(stderr, "work-classes: cannot start\n");
		return 1;
	}
	run("one-class", WORK_CPU, nsrc, nsamples);
	run("two-classes", WORK_STORE, nsrc, nsamples);
	work_pool_free(pool);
	store_close(store);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
