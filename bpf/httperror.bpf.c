/* HTTP status rewrite: with a probability, the status code of a plaintext HTTP/1.x response becomes
 * another one, in place ("HTTP/1.1 200 OK" -> "HTTP/1.1 503 OK"): same length, so TCP sequence numbers
 * stay right; the TCP checksum is fixed with bpf_l4_csum_replace. Attach where responses flow (client
 * ingress or server egress). The server did run the request. Only a status line at the start of a
 * segment is seen (see docs/ebpf.md for the limits). */
#include "lueur_common.h"

struct httperror_params {
	__u64 probability; /* threshold out of 2^32 */
	__u8 status[4];    /* three ASCII digits, then 0 */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct httperror_params);
} lueur_params SEC(".maps");

static __always_inline int is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

SEC("tc")
int lueur_httperror(struct __sk_buff *skb)
{
	struct lueur_packet pkt;
	__u32 zero = 0;
	__u8 line[12]; /* "HTTP/1.1 200" */

	if (!lueur_begin(skb, &pkt))
		return LUEUR_PASS;
	if (pkt.protocol != IPPROTO_TCP || !pkt.l4_off)
		return LUEUR_PASS;
	/* TCP data on veth sits in page fragments, out of reach of direct packet access: load it. */
	if (bpf_skb_load_bytes(skb, pkt.payload_off, line, sizeof(line)) < 0)
		return LUEUR_PASS;
	if (line[0] != 'H' || line[1] != 'T' || line[2] != 'T' || line[3] != 'P' || line[4] != '/' ||
	    line[5] != '1' || line[6] != '.' || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
	    !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]))
		return LUEUR_PASS;
	const struct httperror_params *params = bpf_map_lookup_elem(&lueur_params, &zero);
	if (!params)
		return LUEUR_PASS;
	lueur_count(LUEUR_ELIGIBLE);
	if (!lueur_roll(params->probability))
		return LUEUR_PASS;

	/* Bytes 8..11 (" 200") start 4-byte aligned from the TCP header (its length is a multiple of 4),
	 * so their 16-bit words line up with the checksum's: a plain diff over them is exact. */
	__u8 old_word[4] = { line[8], line[9], line[10], line[11] };
	__u8 new_word[4] = { line[8], params->status[0], params->status[1], params->status[2] };
	__s64 diff = bpf_csum_diff((__be32 *)old_word, 4, (__be32 *)new_word, 4, 0);
	if (diff < 0)
		return LUEUR_PASS;
	if (bpf_skb_store_bytes(skb, pkt.payload_off + 9, &new_word[1], 3, 0) < 0)
		return LUEUR_PASS;
	if (bpf_l4_csum_replace(skb, pkt.l4_off + 16, 0, diff, 0) < 0)
		return LUEUR_PASS;
	lueur_count(LUEUR_AFFECTED);
	return LUEUR_PASS;
}

char LICENSE[] SEC("license") = "GPL";
