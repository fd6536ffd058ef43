/* sudo for the CirrOS-like test image: CirrOS gives the 'cirros' user
 * password-less sudo; busybox has none, and its setuid configuration
 * (/etc/busybox.conf) crashes Debian 12's static busybox once a shell runs
 * applets. Installed setuid root; members of group 'wheel' (gid 10) and root
 * run COMMAND as root.
 *   sudo COMMAND [ARG]...   sudo -i | sudo -s   (a root login shell)
 * Built static by tests/images/build-cirros-like. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WHEEL_GID 10

static int may_sudo(void)
{
	gid_t groups[64];
	int n;

	if (getuid() == 0 || getgid() == WHEEL_GID)
		return 1;
	n = getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == WHEEL_GID)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char *login_shell[] = { "-sh", NULL };

	if (argc < 2) {
		fprintf(stderr, "usage: sudo COMMAND [ARG]... | sudo -i | sudo -s\n");
		return 1;
	}
	if (!may_sudo()) {
		fprintf(stderr, "sudo: uid %u is not in group wheel (gid %d)\n",
			(unsigned)getuid(), WHEEL_GID);
		return 1;
	}
	if (setgroups(0, NULL) || setgid(0) || setuid(0)) {
		fprintf(stderr, "sudo: becoming root: %s (is sudo setuid root?)\n",
			strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "-i") || !strcmp(argv[1], "-s")) {
		execv("/bin/sh", login_shell);
		fprintf(stderr, "sudo: /bin/sh: %s\n", strerror(errno));
		return 127;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "sudo: %s: %s\n", argv[1], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
