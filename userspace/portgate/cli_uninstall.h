/* SPDX-License-Identifier: MIT */
/* cli_uninstall: portgate's kernel objects removed without portgated (offline uninstall). */
#ifndef PORTGATE_CLI_UNINSTALL_H
#define PORTGATE_CLI_UNINSTALL_H

#include <stdbool.h>
#include <stddef.h>

/* What each half of an offline uninstall gave. */
struct cli_uninstall_result {
	int bpf;	   /* bpf_enforce_uninstall(): pins removed (0: none were there), -errno */
	int nft;	   /* nft_open() then nft_uninstall(): 0 done, or -errno */
	bool nft_table;	   /* table inet portgate was there before */
	char nft_err[256]; /* nft_open's reason when it failed, else "" */
};

/*
 * Removes what portgated leaves in the kernel, for when it is not running: the BPF links
 * and maps pinned under pin_dir (which detaches the programs), and the nftables table
 * inet portgate in network namespace netns (NULL: this process's). Each half is tried
 * whatever the other gives; nothing is printed. *res is always written.
 * Returns 0 when both halves succeeded, else the first -errno (details in *res).
 */
int cli_uninstall_offline(const char *pin_dir, const char *netns, struct cli_uninstall_result *res);

#endif
