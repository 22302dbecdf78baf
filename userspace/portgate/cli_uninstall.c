// SPDX-License-Identifier: MIT
/* cli_uninstall: portgate's BPF pins and nftables table removed without
 * portgated. */
#include <string.h>

#include "bpf_enforce.h"
#include "cli_uninstall.h"
#include "nft.h"

int cli_uninstall_offline(const char *pin_dir, const char *netns, struct cli_uninstall_result *res)
{
	struct nft_opts opts = { .netns = netns };
	struct cli_uninstall_result r = { 0 };
	struct nft_ctx *nft = NULL;
	struct nft_status st;

	/* BPF first: the bind hooks are what refuse a process; the table only filters
	 * packets. */
	r.bpf = bpf_enforce_uninstall(pin_dir);
	r.nft = nft_open(&opts, &nft, r.nft_err, sizeof(r.nft_err));
	if (r.nft >= 0) {
		r.nft_err[0] = '\0';
		/* nft_uninstall succeeds on an absent table too: look first, to say which.
		 */
		r.nft_table = nft_check(nft, &st) >= 0 && st.table;
		r.nft = nft_uninstall(nft);
		nft_close(nft);
	}
	*res = r;
	if (r.bpf < 0)
		return r.bpf;
	return r.nft < 0 ? r.nft : 0;
}
