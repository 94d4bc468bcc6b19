/* Policing: a token bucket in bytes per second with a burst; packets beyond it are dropped (not delayed).
 * skb->len counts a whole GSO packet (up to 64 KiB) at once, so the burst must exceed 64 KiB or TCP
 * collapses; see docs/ebpf.md. */
#include "lueur_common.h"

struct police_params {
	__u64 rate_bytes_per_s;
	__u64 burst_bytes;
};

struct police_state {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tokens;  /* bytes */
	__u64 last_us; /* microseconds of bpf_ktime_get_ns() already turned into tokens */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct police_params);
} lueur_params SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct police_state);
} lueur_state SEC(".maps");

#define REFILL_CAP_US 10000000ULL /* after 10 s idle the bucket is full anyway; caps the product below */

SEC("tc")
int lueur_police(struct __sk_buff *skb)
{
	struct lueur_packet pkt;
	__u32 zero = 0;

	if (!lueur_begin(skb, &pkt))
		return LUEUR_PASS;
	const struct police_params *params = bpf_map_lookup_elem(&lueur_params, &zero);
	struct police_state *state = bpf_map_lookup_elem(&lueur_state, &zero);
	if (!params || !state)
		return LUEUR_PASS;
	lueur_count(LUEUR_ELIGIBLE);

	__u64 now_us = bpf_ktime_get_ns() / 1000;
	__u64 rate = params->rate_bytes_per_s;
	__u64 burst = params->burst_bytes;
	__u64 len = skb->len;
	int drop;

	bpf_spin_lock(&state->lock);
	__u64 elapsed = now_us > state->last_us ? now_us - state->last_us : 0;
	__u64 added;
	if (elapsed > REFILL_CAP_US) {
		added = REFILL_CAP_US * rate / 1000000;
		state->last_us = now_us;
	} else {
		/* Advance the clock only by the time actually turned into whole tokens, so that frequent small
		 * packets do not lose the fractions. */
		added = elapsed * rate / 1000000;
		if (rate)
			state->last_us += added * 1000000 / rate;
	}
	__u64 tokens = state->tokens + added;
	if (tokens > burst)
		tokens = burst;
	if (tokens >= len) {
		tokens -= len;
		drop = 0;
	} else {
		drop = 1;
	}
	state->tokens = tokens;
	bpf_spin_unlock(&state->lock);

	if (!drop)
		return LUEUR_PASS;
	lueur_count(LUEUR_AFFECTED);
	return LUEUR_DROP;
}

char LICENSE[] SEC("license") = "GPL";
