/* timeit: time program invocations, spawn to reap, with CLOCK_MONOTONIC.
 *
 *   timeit CMD [ARG...]   run once, print "<ns> <status> <minflt>" on stdout.
 *   timeit -s             server: read requests from stdin, one per line, fields
 *                         separated by TAB:  K  FILE1..FILEK  PATH  ARG0 ARG1...
 *                         Creates the K files (O_CREAT|O_EXCL, as a pin tool would)
 *                         inside the timed region, then runs PATH with argv ARG0...,
 *                         and answers "<ns> <status> <minflt>\n".  (K>0 is used for
 *                         unshare(1), which needs its pin files to exist already.)
 *   timeit -p J           parallel: read all requests (same format) until EOF, then
 *                         run them with J in flight; print "<total_ns> <nfailed>\n".
 *
 * The child gets /dev/null as stdin and stdout; stderr is inherited. status is
 * the exit code, 128+signal, or 255 if spawning failed; minflt is the child's
 * page faults (wait4's rusage: from the spawn, so the exec's few are counted
 * too, alike for every tool). Spawning uses
 * posix_spawn (clone(CLONE_VM|CLONE_VFORK) in glibc): the cheapest honest way,
 * and the same for every tool measured.
 * Part of the pinns benchmark (bench/run.sh). Built with gcc -O2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static posix_spawn_file_actions_t fa;

struct req {
	int nfiles;
	char **files;
	char *path;
	char **argv;
};

/* split a line in place; returns 0 on success */
static int parse(char *line, struct req *r)
{
	size_t cap = 16, n = 0;
	char **f = malloc(cap * sizeof *f);
	char *save = NULL;
	for (char *t = strtok_r(line, "\t\n", &save); t; t = strtok_r(NULL, "\t\n", &save)) {
		if (n + 2 >= cap)
			f = realloc(f, (cap *= 2) * sizeof *f);
		f[n++] = t;
	}
	f[n] = NULL;
	if (n < 3)
		return -1;
	r->nfiles = atoi(f[0]);
	if ((size_t)r->nfiles + 3 > n)
		return -1;
	r->files = f + 1;
	r->path = f[1 + r->nfiles];
	r->argv = f + 2 + r->nfiles;
	return 0;
}

static int status_of(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 255;
}

/* create files, spawn; returns pid or -1 */
static pid_t start(struct req *r)
{
	for (int i = 0; i < r->nfiles; i++) {
		int fd = open(r->files[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
		if (fd < 0) {
			fprintf(stderr, "timeit: %s: %s\n", r->files[i], strerror(errno));
			return -1;
		}
		close(fd);
	}
	pid_t pid;
	int e = posix_spawn(&pid, r->path, &fa, NULL, r->argv, environ);
	if (e) {
		fprintf(stderr, "timeit: spawn %s: %s\n", r->path, strerror(e));
		return -1;
	}
	return pid;
}

static int run_one(struct req *r, long long *ns, long *minflt)
{
	int ws = 0;
	struct rusage ru = {0};
	long long t0 = now_ns();
	pid_t pid = start(r);
	if (pid > 0)
		while (wait4(pid, &ws, 0, &ru) < 0 && errno == EINTR)
			;
	*ns = now_ns() - t0;
	*minflt = ru.ru_minflt + ru.ru_majflt;
	return pid > 0 ? status_of(ws) : 255;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);

	if (argc >= 2 && !strcmp(argv[1], "-s")) {
		char *line = NULL;
		size_t cap = 0;
		setvbuf(stdout, NULL, _IOLBF, 0);
		while (getline(&line, &cap, stdin) > 0) {
			struct req r;
			long long ns = 0;
			long minflt = 0;
			int st = 255;
			if (parse(line, &r) == 0)
				st = run_one(&r, &ns, &minflt);
			else
				fprintf(stderr, "timeit: bad request\n");
			printf("%lld %d %ld\n", ns, st, minflt);
			free(r.files - 1);
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "-p")) {
		int j = atoi(argv[2]);
		size_t n = 0, cap = 64;
		struct req *rs = malloc(cap * sizeof *rs);
		char *line = NULL;
		size_t lcap = 0;
		while (getline(&line, &lcap, stdin) > 0) {
			if (n == cap)
				rs = realloc(rs, (cap *= 2) * sizeof *rs);
			char *copy = strdup(line);
			if (parse(copy, &rs[n]) == 0)
				n++;
		}
		size_t next = 0, running = 0;
		int failed = 0;
		long long t0 = now_ns();
		while (next < n || running) {
			while (running < (size_t)j && next < n) {
				if (start(&rs[next++]) > 0)
					running++;
				else
					failed++;
			}
			int ws;
			pid_t p = wait(&ws);
			if (p < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			running--;
			if (status_of(ws) != 0)
				failed++;
		}
		printf("%lld %d\n", now_ns() - t0, failed);
		return 0;
	}
	if (argc >= 2 && argv[1][0] != '-') {
		struct req r = {0, NULL, argv[1], argv + 1};
		long long ns;
		long minflt;
		int st = run_one(&r, &ns, &minflt);
		printf("%lld %d %ld\n", ns, st, minflt);
		return st;
	}
	fprintf(stderr, "usage: timeit CMD [ARG...] | -s | -p JOBS\n");
	return 2;
}
