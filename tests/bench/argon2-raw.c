/* tests/bench/argon2-raw.c — the ceiling for password logins: how many Argon2id
 * hashes per second libsodium's crypto_pwhash_str computes on this machine with
 * the daemon's parameters, on THREADS threads for SECONDS seconds. The bench
 * compares authd's logins/s with this figure.
 *
 * usage: argon2-raw THREADS SECONDS MEMORY_KIB OPS
 * prints: hashes=N seconds=S rate=R (hashes per second over all threads) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define MAX_THREADS 256

static atomic_ulong hashes;
static atomic_int stop;
static atomic_int failed;
static unsigned long long memlimit;
static unsigned long long opslimit;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
	char out[crypto_pwhash_STRBYTES];
	char pw[32];

	(void)arg;
	/* A different password each time, as real logins are. */
	while (!atomic_load(&stop)) {
		randombytes_buf(pw, sizeof(pw));
		if (crypto_pwhash_str(out, pw, sizeof(pw), opslimit, (size_t)memlimit) != 0) {
			atomic_store(&failed, 1);
			break;
		}
		atomic_fetch_add(&hashes, 1);
	}
	sodium_memzero(pw, sizeof(pw));
	return NULL;
}

static int
parse(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *v)
{
	char *end;

	*v = strtoull(s, &end, 10);
	return *end == '\0' && end != s && *v >= lo && *v <= hi ? 0 : -1;
}

int
main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	unsigned long long nthreads, seconds, kib;
	double t0, t1;
	unsigned long long i, started = 0;

	if (argc != 5 || parse(argv[1], 1, MAX_THREADS, &nthreads) != 0 ||
	    parse(argv[2], 1, 60, &seconds) != 0 ||
	    parse(argv[3], 8, 4194304, &kib) != 0 ||
	    parse(argv[4], 1, 32, &opslimit) != 0) {
		fprintf(stderr, "usage: argon2-raw THREADS(1-256) SECONDS(1-60) MEMORY_KIB OPS\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "argon2-raw: sodium_init failed\n");
		return 1;
	}
	memlimit = kib * 1024;
	t0 = now();
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			break;
		started++;
	}
	if (started == nthreads) {
		struct timespec ts = { .tv_sec = (time_t)seconds, .tv_nsec = 0 };

		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	t1 = now();
	if (started != nthreads || atomic_load(&failed)) {
		fprintf(stderr, "argon2-raw: %s\n", started != nthreads ?
		    "cannot start threads" : "crypto_pwhash_str failed (out of memory?)");
		return 1;
	}
	printf("hashes=%lu seconds=%.3f rate=%.1f\n", atomic_load(&hashes), t1 - t0,
	    (double)atomic_load(&hashes) / (t1 - t0));
	return 0;
}
