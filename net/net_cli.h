/* `minivmm net ...`: argv[0] is "net". Returns the process exit status
 * (0 success, 1 error; the error was printed once). */
#ifndef MINIVMM_NET_CLI_H
#define MINIVMM_NET_CLI_H

int net_main(int argc, char **argv);

#endif
