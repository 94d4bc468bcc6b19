/* Connection reset: with a probability, a data segment of an established TCP connection becomes a RST
 * (flags rewritten in place, checksum fixed). Its sequence number is the receiver's next expected one,
 * so the receiver's stack resets the connection and the application sees ECONNRESET. */
#include "lueur_common.h"

struct reset_params {
	__u64 probability; /* threshold out of 2^32, rolled once per data segment */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct reset_params);
} lueur_params SEC(".maps");

SEC("tc")
int lueur_reset(struct __sk_buff *skb)
{
	struct lueur_packet pkt;
	__u32 zero = 0;

	if (!lueur_begin(skb, &pkt))
		return LUEUR_PASS;
	if (pkt.protocol != IPPROTO_TCP || !pkt.l4_off)
		return LUEUR_PASS;
	/* Established data: ACK set, no SYN/FIN/RST, and a payload. */
	if ((pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) || !(pkt.tcp_flags & TCP_FLAG_ACK))
		return LUEUR_PASS;
	if (skb->len <= pkt.payload_off)
		return LUEUR_PASS;
	const struct reset_params *params = bpf_map_lookup_elem(&lueur_params, &zero);
	if (!params)
		return LUEUR_PASS;
	lueur_count(LUEUR_ELIGIBLE);
	if (!lueur_roll(params->probability))
		return LUEUR_PASS;

	/* Bytes 12-13 of the TCP header: data offset and flags, one 16-bit checksum word. */
	__u8 word[2];
	if (bpf_skb_load_bytes(skb, pkt.l4_off + 12, word, sizeof(word)) < 0)
		return LUEUR_PASS;
	__u16 old_word = *(__u16 *)word;
	word[1] = TCP_FLAG_RST | TCP_FLAG_ACK;
	__u16 new_word = *(__u16 *)word;
	if (bpf_skb_store_bytes(skb, pkt.l4_off + 13, &word[1], 1, 0) < 0)
		return LUEUR_PASS;
	if (bpf_l4_csum_replace(skb, pkt.l4_off + 16, old_word, new_word, sizeof(__u16)) < 0)
		return LUEUR_PASS;
	lueur_count(LUEUR_AFFECTED);
	return LUEUR_PASS;
}

char LICENSE[] SEC("license") = "GPL";
