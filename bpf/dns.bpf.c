/* DNS answer faults: with a probability, a DNS response over UDP (source port 53 by default) becomes
 * NXDOMAIN, SERVFAIL or REFUSED (rcode set, record counts zeroed) or is dropped (the client times out).
 * The UDP checksum is fixed (or left 0 when the sender sent none). */
#include "lueur_common.h"

enum { DNS_REWRITE = 0, DNS_DROP = 1 };

struct dns_params {
	__u64 probability; /* threshold out of 2^32 */
	__u32 action;
	__u32 rcode;       /* DNS_REWRITE: 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED */
	__u16 port;        /* the DNS server's port, usually 53 */
	__u16 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_params);
} lueur_params SEC(".maps");

SEC("tc")
int lueur_dns(struct __sk_buff *skb)
{
	struct lueur_packet pkt;
	__u32 zero = 0;
	__u8 header[12]; /* id, flags, qdcount, ancount, nscount, arcount */

	if (!lueur_begin(skb, &pkt))
		return LUEUR_PASS;
	const struct dns_params *params = bpf_map_lookup_elem(&lueur_params, &zero);
	if (!params)
		return LUEUR_PASS;
	if (pkt.protocol != IPPROTO_UDP || !pkt.l4_off || pkt.sport != params->port)
		return LUEUR_PASS;
	if (bpf_skb_load_bytes(skb, pkt.payload_off, header, sizeof(header)) < 0)
		return LUEUR_PASS;
	if (!(header[2] & 0x80)) /* QR = 0: a query, not an answer */
		return LUEUR_PASS;
	lueur_count(LUEUR_ELIGIBLE);
	if (!lueur_roll(params->probability))
		return LUEUR_PASS;
	if (params->action == DNS_DROP) {
		lueur_count(LUEUR_AFFECTED);
		return LUEUR_DROP;
	}

	__u8 rewritten[12];
	__builtin_memcpy(rewritten, header, sizeof(header));
	rewritten[3] = (header[3] & 0xf0) | (params->rcode & 0x0f);
	/* No answer, authority or additional records: their bytes stay behind the question, uncounted. */
	for (int i = 6; i < 12; i++)
		rewritten[i] = 0;
	/* The DNS header starts 8 bytes into the UDP header: word-aligned for the checksum. */
	__s64 diff = bpf_csum_diff((__be32 *)header, sizeof(header), (__be32 *)rewritten, sizeof(rewritten), 0);
	if (diff < 0)
		return LUEUR_PASS;
	if (bpf_skb_store_bytes(skb, pkt.payload_off, rewritten, sizeof(rewritten), 0) < 0)
		return LUEUR_PASS;
	if (bpf_l4_csum_replace(skb, pkt.l4_off + 6, 0, diff, BPF_F_MARK_MANGLED_0) < 0)
		return LUEUR_PASS;
	lueur_count(LUEUR_AFFECTED);
	return LUEUR_PASS;
}

char LICENSE[] SEC("license") = "GPL";
