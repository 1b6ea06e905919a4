/* floor: the least a process can do to pin a pod's net+ipc+uts namespaces.
 *
 *   floor pin    DIR NAME          unshare(NET|IPC|UTS); for each of net,ipc,uts:
 *                                  open(DIR/<t>ns/NAME, O_CREAT|O_EXCL) + bind-mount
 *                                  /proc/self/ns/<t> onto it.  DIR/<t>ns must exist.
 *   floor unpin  DIR NAME          umount2(MNT_DETACH) + unlink for the three.
 *   floor bulk   DIR PREFIX FROM N pin PREFIX<FROM>..PREFIX<FROM+N-1> in one process
 *                                  (used only to pre-populate a directory quickly)
 *   floor bulk-unpin DIR PREFIX FROM N
 *   floor pause                    unshare(NET|IPC|UTS), then pause() forever:
 *                                  a "pause-container"-style holder of the namespaces.
 *   floor noop                     exit at once: what being a process costs (spawn,
 *                                  exec, libc start-up, exit, reap), pinning nothing.
 *
 * Part of the pinns benchmark (bench/run.sh). Built with gcc -O2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static const char *const types[3] = {"net", "ipc", "uts"};
#define FLAGS (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)

static void unpin_one(const char *dir, const char *name, int n)
{
	char p[4096];
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/%sns/%s", dir, types[i], name);
		umount2(p, MNT_DETACH);
		unlink(p);
	}
}

/* returns 0 on success; on failure undoes what it did and returns -1 */
static int pin_one(const char *dir, const char *name)
{
	char p[4096], src[32];
	if (unshare(FLAGS) < 0) {
		fprintf(stderr, "floor: unshare: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%sns/%s", dir, types[i], name);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
		if (fd < 0) {
			fprintf(stderr, "floor: %s: %s\n", p, strerror(errno));
			unpin_one(dir, name, i);
			return -1;
		}
		close(fd);
		snprintf(src, sizeof src, "/proc/self/ns/%s", types[i]);
		if (mount(src, p, NULL, MS_BIND, NULL) < 0) {
			fprintf(stderr, "floor: mount %s: %s\n", p, strerror(errno));
			unlink(p);
			unpin_one(dir, name, i);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "pin"))
		return pin_one(argv[2], argv[3]) ? 1 : 0;
	if (argc == 4 && !strcmp(argv[1], "unpin")) {
		unpin_one(argv[2], argv[3], 3);
		return 0;
	}
	if (argc == 6 && (!strcmp(argv[1], "bulk") || !strcmp(argv[1], "bulk-unpin"))) {
		long from = atol(argv[4]), n = atol(argv[5]);
		char name[256];
		for (long i = from; i < from + n; i++) {
			snprintf(name, sizeof name, "%s%ld", argv[3], i);
			if (argv[1][4] == '\0') {
				if (pin_one(argv[2], name))
					return 1;
			} else {
				unpin_one(argv[2], name, 3);
			}
		}
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "noop"))
		return 0;
	if (argc == 2 && !strcmp(argv[1], "pause")) {
		if (unshare(FLAGS) < 0) {
			perror("floor: unshare");
			return 1;
		}
		for (;;)
			pause();
	}
	fprintf(stderr, "usage: floor pin|unpin DIR NAME | bulk|bulk-unpin DIR PREFIX FROM N | pause | noop\n");
	return 2;
}
