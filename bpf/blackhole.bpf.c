/* Blackhole: drop every matching packet, or only new TCP connections, or only established TCP traffic. */
#include "lueur_common.h"

enum {
	BLACKHOLE_ALL = 0,         /* every packet in scope */
	BLACKHOLE_NEW = 1,         /* TCP SYN without ACK: connects time out, open connections go on */
	BLACKHOLE_ESTABLISHED = 2, /* TCP segments without SYN: the handshake completes, then nothing passes */
};

struct blackhole_params {
	__u32 mode;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blackhole_params);
} lueur_params SEC(".maps");

SEC("tc")
int lueur_blackhole(struct __sk_buff *skb)
{
	struct lueur_packet pkt;
	__u32 zero = 0;

	if (!lueur_begin(skb, &pkt))
		return LUEUR_PASS;
	const struct blackhole_params *params = bpf_map_lookup_elem(&lueur_params, &zero);
	if (!params)
		return LUEUR_PASS;

	if (params->mode != BLACKHOLE_ALL) {
		if (pkt.protocol != IPPROTO_TCP || !pkt.l4_off)
			return LUEUR_PASS;
		int syn = pkt.tcp_flags & TCP_FLAG_SYN;
		if (params->mode == BLACKHOLE_NEW && !(syn && !(pkt.tcp_flags & TCP_FLAG_ACK)))
			return LUEUR_PASS;
		if (params->mode == BLACKHOLE_ESTABLISHED && syn)
			return LUEUR_PASS;
	}
	lueur_count(LUEUR_ELIGIBLE);
	lueur_count(LUEUR_AFFECTED);
	return LUEUR_DROP;
}

char LICENSE[] SEC("license") = "GPL";
