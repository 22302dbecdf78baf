/* SPDX-License-Identifier: MIT */
/* nflog_msg: the NFNETLINK_LOG messages portgate sends (libmnl). */
#ifndef PORTGATE_NFLOG_MSG_H
#define PORTGATE_NFLOG_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

/*
 * Builds in buf (MNL_SOCKET_BUFFER_SIZE bytes, 8-aligned) one NFULNL_MSG_CONFIG request for
 * NFLOG group with one attribute (attr, data[0..len)), asking for an ACK with sequence seq.
 * Returns the message, ready for mnl_socket_sendto(nl, nlh, nlh->nlmsg_len).
 */
struct nlmsghdr *nflog_config_msg(void *buf, uint16_t group, uint16_t attr, const void *data,
				  size_t len, uint32_t seq);

#endif
