/* Shared by every lueur-net fault program: packet parsing, scope, time windows, deadline and counters.
 *
 * Maps are the only channel between Python and a program (lueur_net/dataplane/ebpf/maps.py mirrors the
 * structures below byte for byte; a size check at load time catches drift):
 *   lueur_scope    which packets a fault may touch (up to LUEUR_MAX_RULES rules, OR-ed; no rule = all)
 *   lueur_timing   active windows on the kernel's monotonic clock and a fail-open deadline
 *   lueur_alive    the controller's heartbeat: when it is older than its maximum age, pass everything
 *   lueur_counters per-CPU packet counters (enum lueur_counter)
 *   lueur_params   the fault's own parameters (defined by each program)
 *
 * Programs return TC_ACT_UNSPEC when they have no opinion, so programs and filters behind them still run
 * (TC_ACT_OK would end the chain), and TC_ACT_SHOT to drop.
 * IPv4 over Ethernet only: other packets are counted as seen and passed untouched.
 */
#ifndef LUEUR_COMMON_H
#define LUEUR_COMMON_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define LUEUR_MAX_RULES 8
#define LUEUR_MAX_WINDOWS 16

#define LUEUR_PASS TC_ACT_UNSPEC
#define LUEUR_DROP TC_ACT_SHOT

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10

/* One scope rule; a packet matches when every field matches. Addresses and masks in network byte order
 * (mask 0 = any address); ports in host byte order, inclusive (0..65535 = any, and then packets without
 * ports such as ICMP or later fragments match too); protocol 0 = any. */
struct lueur_rule {
	__u32 src_addr;
	__u32 src_mask;
	__u32 dst_addr;
	__u32 dst_mask;
	__u16 sport_min;
	__u16 sport_max;
	__u16 dport_min;
	__u16 dport_max;
	__u8 protocol;
	__u8 pad[3];
};

struct lueur_scope {
	__u32 count; /* 0 = every IPv4 packet is in scope */
	__u32 pad;
	struct lueur_rule rules[LUEUR_MAX_RULES];
};

/* Times are bpf_ktime_get_ns(): CLOCK_MONOTONIC, the clock of Python's time.monotonic_ns(). */
struct lueur_window {
	__u64 start_ns; /* inclusive */
	__u64 end_ns;   /* exclusive */
};

struct lueur_timing {
	__u64 deadline_ns; /* from then on the program passes everything (fail-open); 0 = no deadline */
	__u32 count;       /* 0 = always active (until the deadline) */
	__u32 pad;
	struct lueur_window windows[LUEUR_MAX_WINDOWS];
};

/* The heartbeat (fail-open when the controller stalls: SIGSTOP, a debugger, a machine frozen under load). The
 * controller writes bpf_ktime_get_ns() into last_ns every fraction of a second from a thread of its own; when
 * now - last_ns exceeds max_age_ns the program passes everything until the next beat. max_age_ns 0 = no check. */
struct lueur_alive {
	__u64 last_ns;
	__u64 max_age_ns;
};

enum lueur_counter {
	LUEUR_SEEN = 0,          /* every packet through the hook */
	LUEUR_MATCHED = 1,       /* in scope, inside an active window, before the deadline */
	LUEUR_ELIGIBLE = 2,      /* matched and of the kind the fault acts on (a status line, a DNS answer, ...) */
	LUEUR_AFFECTED = 3,      /* dropped, rewritten or reset */
	LUEUR_PAST_DEADLINE = 4, /* in scope but passed because the deadline is over */
	LUEUR_STALE = 5,         /* in scope but passed because the controller's heartbeat is too old */
	LUEUR_COUNTERS = 6,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lueur_scope);
} lueur_scope SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lueur_timing);
} lueur_timing SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lueur_alive);
} lueur_alive SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LUEUR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} lueur_counters SEC(".maps");

/* What the parser learnt about one packet. Offsets are from the start of the Ethernet header. */
struct lueur_packet {
	__u32 l4_off;      /* 0 when there is no transport header (not TCP/UDP, or a later fragment) */
	__u32 payload_off; /* first byte after the TCP/UDP header */
	__u32 saddr;       /* network byte order */
	__u32 daddr;
	__u16 sport;       /* host byte order, 0 without a transport header */
	__u16 dport;
	__u8 protocol;
	__u8 tcp_flags;
};

static __always_inline void lueur_count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&lueur_counters, &counter);
	if (value)
		*value += 1; /* per-CPU slot: no atomics needed */
}

/* Parse an IPv4 packet; returns 0 on success, -1 for anything else (not IPv4, truncated). */
static __always_inline int lueur_parse(struct __sk_buff *skb, struct lueur_packet *pkt)
{
	struct iphdr ip;
	__u32 ip_off = sizeof(struct ethhdr);

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return -1;
	if (bpf_skb_load_bytes(skb, ip_off, &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.ihl < 5)
		return -1;
	pkt->saddr = ip.saddr;
	pkt->daddr = ip.daddr;
	pkt->protocol = ip.protocol;
	pkt->l4_off = 0;
	pkt->payload_off = 0;
	pkt->sport = 0;
	pkt->dport = 0;
	pkt->tcp_flags = 0;
	if (ip.frag_off & bpf_htons(0x1fff)) /* a later fragment: no transport header */
		return 0;

	__u32 l4_off = ip_off + ip.ihl * 4;
	if (ip.protocol == IPPROTO_TCP) {
		__u8 tcp[14]; /* ports, seq, ack, data offset, flags */
		if (bpf_skb_load_bytes(skb, l4_off, tcp, sizeof(tcp)) < 0)
			return 0;
		pkt->sport = ((__u16)tcp[0] << 8) | tcp[1];
		pkt->dport = ((__u16)tcp[2] << 8) | tcp[3];
		pkt->tcp_flags = tcp[13];
		pkt->l4_off = l4_off;
		pkt->payload_off = l4_off + (tcp[12] >> 4) * 4;
	} else if (ip.protocol == IPPROTO_UDP) {
		__u8 udp[4];
		if (bpf_skb_load_bytes(skb, l4_off, udp, sizeof(udp)) < 0)
			return 0;
		pkt->sport = ((__u16)udp[0] << 8) | udp[1];
		pkt->dport = ((__u16)udp[2] << 8) | udp[3];
		pkt->l4_off = l4_off;
		pkt->payload_off = l4_off + 8;
	}
	return 0;
}

static __always_inline int lueur_rule_matches(const struct lueur_rule *rule, const struct lueur_packet *pkt)
{
	if (rule->protocol && rule->protocol != pkt->protocol)
		return 0;
	if ((pkt->saddr & rule->src_mask) != (rule->src_addr & rule->src_mask))
		return 0;
	if ((pkt->daddr & rule->dst_mask) != (rule->dst_addr & rule->dst_mask))
		return 0;
	if (pkt->sport < rule->sport_min || pkt->sport > rule->sport_max)
		return 0;
	if (pkt->dport < rule->dport_min || pkt->dport > rule->dport_max)
		return 0;
	return 1;
}

static __always_inline int lueur_in_scope(const struct lueur_packet *pkt)
{
	__u32 zero = 0;
	const struct lueur_scope *scope = bpf_map_lookup_elem(&lueur_scope, &zero);
	if (!scope)
		return 0;
	if (scope->count == 0)
		return 1;
	for (int i = 0; i < LUEUR_MAX_RULES; i++) {
		if (i >= scope->count)
			break;
		if (lueur_rule_matches(&scope->rules[i], pkt))
			return 1;
	}
	return 0;
}

/* 1 = active now, 0 = outside every window, -1 = past the deadline, -2 = the heartbeat is too old. */
static __always_inline int lueur_active(void)
{
	__u32 zero = 0;
	const struct lueur_timing *timing = bpf_map_lookup_elem(&lueur_timing, &zero);
	if (!timing)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (timing->deadline_ns && now >= timing->deadline_ns)
		return -1;
	const struct lueur_alive *alive = bpf_map_lookup_elem(&lueur_alive, &zero);
	if (!alive)
		return 0;
	/* last_ns may be a hair ahead of now (written on another CPU): only an old beat counts. */
	if (alive->max_age_ns && now > alive->last_ns && now - alive->last_ns > alive->max_age_ns)
		return -2;
	if (timing->count == 0)
		return 1;
	for (int i = 0; i < LUEUR_MAX_WINDOWS; i++) {
		if (i >= timing->count)
			break;
		if (now >= timing->windows[i].start_ns && now < timing->windows[i].end_ns)
			return 1;
	}
	return 0;
}

/* The common prologue: parse, count, and say whether the fault may act on this packet. */
static __always_inline int lueur_begin(struct __sk_buff *skb, struct lueur_packet *pkt)
{
	lueur_count(LUEUR_SEEN);
	if (lueur_parse(skb, pkt) < 0)
		return 0;
	if (!lueur_in_scope(pkt))
		return 0;
	int active = lueur_active();
	if (active < 0) {
		lueur_count(active == -2 ? LUEUR_STALE : LUEUR_PAST_DEADLINE);
		return 0;
	}
	if (!active)
		return 0;
	lueur_count(LUEUR_MATCHED);
	return 1;
}

/* True with probability threshold / 2^32 (threshold 0 = never, 2^32 = always). */
static __always_inline int lueur_roll(__u64 threshold)
{
	return (__u64)bpf_get_prandom_u32() < threshold;
}

#endif
