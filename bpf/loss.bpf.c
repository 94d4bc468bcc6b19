/* Packet loss: Bernoulli with a probability, or Gilbert-Elliott (two states, state kept in a map). */
#include "lueur_common.h"

enum { LOSS_BERNOULLI = 0, LOSS_GILBERT_ELLIOTT = 1 };

/* Probabilities are thresholds out of 2^32 (see lueur_roll). */
struct loss_params {
	__u32 mode;
	__u32 pad;
	__u64 probability;  /* Bernoulli: drop probability */
	__u64 ge_p;         /* Gilbert-Elliott: good -> bad per packet */
	__u64 ge_r;         /* Gilbert-Elliott: bad -> good per packet */
	__u64 ge_loss_good; /* loss probability in the good state */
	__u64 ge_loss_bad;  /* loss probability in the bad state */
};

struct loss_state {
	__u32 bad; /* Gilbert-Elliott: 1 while in the bad state */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loss_params);
} lueur_params SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loss_state);
} lueur_state SEC(".maps");

SEC("tc")
int lueur_loss(struct __sk_buff *skb)
{
	struct lueur_packet pkt;
	__u32 zero = 0;

	if (!lueur_begin(skb, &pkt))
		return LUEUR_PASS;
	const struct loss_params *params = bpf_map_lookup_elem(&lueur_params, &zero);
	if (!params)
		return LUEUR_PASS;
	lueur_count(LUEUR_ELIGIBLE);

	int drop;
	if (params->mode == LOSS_GILBERT_ELLIOTT) {
		struct loss_state *state = bpf_map_lookup_elem(&lueur_state, &zero);
		if (!state)
			return LUEUR_PASS;
		/* Move first, then lose with the new state's probability. Concurrent CPUs may race on the
		 * state word; that only blurs a burst edge by a packet. */
		if (state->bad) {
			if (lueur_roll(params->ge_r))
				state->bad = 0;
		} else {
			if (lueur_roll(params->ge_p))
				state->bad = 1;
		}
		drop = lueur_roll(state->bad ? params->ge_loss_bad : params->ge_loss_good);
	} else {
		drop = lueur_roll(params->probability);
	}
	if (!drop)
		return LUEUR_PASS;
	lueur_count(LUEUR_AFFECTED);
	return LUEUR_DROP;
}

char LICENSE[] SEC("license") = "GPL";
