//! Choosing one deployment among the healthy candidates for a request.
//!
//! Every strategy runs in a few passes over a small slice, without allocating.
//! Weight 0 means "standby" for every strategy: such a candidate is chosen only when
//! every candidate has weight 0 (then they are all treated as equal).

/// How traffic is spread over a model's deployments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Proportional to the configured weights.
    #[default]
    WeightedRandom,
    /// The deployment with the fewest requests in flight; ties by weight.
    LeastOutstanding,
    /// Power of two choices on `ewma latency × (outstanding + 1)`.
    LatencyAware,
    /// The lowest price; ties by configured order.
    Cheapest,
}

/// One healthy deployment as the balancer sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// The caller's identifier for the deployment; `pick` returns it.
    pub index: usize,
    pub weight: u32,
    /// Requests in flight now.
    pub outstanding: u32,
    /// Smoothed latency in microseconds; 0.0 when the deployment has no sample yet.
    pub ewma_latency_us: f64,
    /// Price rank, lower is cheaper; `u64::MAX` when unknown.
    pub cost: u64,
    /// Position in the configured list.
    pub order: usize,
}

/// Picks one candidate's `index`; `None` when `candidates` is empty. Candidates are
/// already filtered to healthy ones.
pub fn pick(
    strategy: Strategy,
    candidates: &[Candidate],
    rng: &mut fastrand::Rng,
) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    // With any positive weight, zero-weight candidates are out; otherwise all are in.
    let any_weight = candidates.iter().any(|c| c.weight > 0);
    let eligible = |c: &Candidate| !any_weight || c.weight > 0;
    let chosen = match strategy {
        Strategy::WeightedRandom => weighted(candidates, rng, |_, c| eligible(c)),
        Strategy::LeastOutstanding => {
            let least = candidates
                .iter()
                .filter(|c| eligible(c))
                .map(|c| c.outstanding)
                .min()?;
            weighted(candidates, rng, |_, c| {
                eligible(c) && c.outstanding == least
            })
        }
        Strategy::LatencyAware => two_choices(candidates, rng, &eligible),
        Strategy::Cheapest => candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| eligible(c))
            .min_by_key(|(pos, c)| (c.cost, c.order, *pos))
            .map(|(pos, _)| pos),
    }?;
    candidates.get(chosen).map(|c| c.index)
}

/// Power of two choices: two distinct eligible candidates drawn by weight, the one with
/// the lower load score wins. Cheap, and it avoids the herd that "always the fastest"
/// causes while still sending most traffic to the fast deployments.
fn two_choices(
    candidates: &[Candidate],
    rng: &mut fastrand::Rng,
    eligible: &impl Fn(&Candidate) -> bool,
) -> Option<usize> {
    let first = weighted(candidates, rng, |_, c| eligible(c))?;
    let Some(second) = weighted(candidates, rng, |pos, c| pos != first && eligible(c)) else {
        return Some(first); // only one eligible candidate
    };
    let score = |pos: usize| candidates.get(pos).map_or(f64::INFINITY, load_score);
    Some(if score(second) < score(first) {
        second
    } else {
        first
    })
}

/// Expected wait: latency scaled by the queue in front of us. A deployment without a
/// latency sample scores 0, the best, so new deployments get tried.
fn load_score(c: &Candidate) -> f64 {
    if c.ewma_latency_us.is_finite() && c.ewma_latency_us > 0.0 {
        c.ewma_latency_us * (f64::from(c.outstanding) + 1.0)
    } else {
        0.0
    }
}

/// Position of a candidate drawn among those `keep` accepts, proportionally to weight;
/// uniformly when they all have weight 0. `None` when `keep` accepts none.
fn weighted(
    candidates: &[Candidate],
    rng: &mut fastrand::Rng,
    keep: impl Fn(usize, &Candidate) -> bool,
) -> Option<usize> {
    let kept = || {
        candidates
            .iter()
            .enumerate()
            .filter(|(pos, c)| keep(*pos, c))
    };
    let (count, total) = kept().fold((0usize, 0u64), |(n, w), (_, c)| {
        (n + 1, w + u64::from(c.weight))
    });
    if count == 0 {
        return None;
    }
    if total == 0 {
        return kept().nth(rng.usize(..count)).map(|(pos, _)| pos);
    }
    let mut ticket = rng.u64(..total);
    for (pos, c) in kept() {
        let w = u64::from(c.weight);
        if ticket < w {
            return Some(pos);
        }
        ticket -= w;
    }
    None // unreachable: the tickets add up to `total`
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(index: usize, weight: u32) -> Candidate {
        Candidate {
            index,
            weight,
            outstanding: 0,
            ewma_latency_us: 0.0,
            cost: u64::MAX,
            order: index,
        }
    }

    /// How often each index (0..n) is picked over `rounds` picks.
    fn histogram(strategy: Strategy, cands: &[Candidate], rounds: usize, seed: u64) -> Vec<usize> {
        let n = cands.iter().map(|c| c.index).max().map_or(0, |m| m + 1);
        let mut hits = vec![0; n];
        let mut rng = fastrand::Rng::with_seed(seed);
        for _ in 0..rounds {
            match pick(strategy, cands, &mut rng) {
                Some(i) => hits[i] += 1,
                None => panic!("no pick from {cands:?}"),
            }
        }
        hits
    }

    const ALL: [Strategy; 4] = [
        Strategy::WeightedRandom,
        Strategy::LeastOutstanding,
        Strategy::LatencyAware,
        Strategy::Cheapest,
    ];

    #[test]
    fn empty_and_single() {
        let mut rng = fastrand::Rng::with_seed(1);
        for s in ALL {
            assert_eq!(pick(s, &[], &mut rng), None, "{s:?}");
            assert_eq!(pick(s, &[cand(7, 3)], &mut rng), Some(7), "{s:?}");
            assert_eq!(
                pick(s, &[cand(9, 0)], &mut rng),
                Some(9),
                "{s:?} weight 0 alone"
            );
        }
    }

    #[test]
    fn weighted_random_follows_weights() {
        let cands = [cand(0, 1), cand(1, 3), cand(2, 6)];
        for seed in [1, 2, 3] {
            let hits = histogram(Strategy::WeightedRandom, &cands, 10_000, seed);
            // Expected 1000 / 3000 / 6000; allow ±5 % of the total (far beyond 4 sigma).
            for (got, want) in hits.iter().zip([1000, 3000, 6000]) {
                assert!(got.abs_diff(want) < 500, "seed {seed}: {hits:?}");
            }
        }
    }

    #[test]
    fn zero_weights() {
        // Zero weight is never chosen while another has weight, whatever the strategy.
        let mut cands = [cand(0, 0), cand(1, 2), cand(2, 0)];
        cands[0].outstanding = 0;
        cands[1].outstanding = 50;
        cands[0].cost = 1;
        cands[1].cost = 100;
        for s in ALL {
            let hits = histogram(s, &cands, 2000, 5);
            assert_eq!(hits, vec![0, 2000, 0], "{s:?}");
        }
        // All zero: uniform.
        let zeros = [cand(0, 0), cand(1, 0), cand(2, 0), cand(3, 0)];
        let hits = histogram(Strategy::WeightedRandom, &zeros, 8000, 9);
        assert!(hits.iter().all(|&h| h.abs_diff(2000) < 300), "{hits:?}");
        let hits = histogram(Strategy::LatencyAware, &zeros, 8000, 9);
        assert!(hits.iter().all(|&h| h > 1000), "{hits:?}");
    }

    #[test]
    fn least_outstanding_prefers_idle_and_splits_ties_by_weight() {
        let mut cands = [cand(0, 1), cand(1, 1), cand(2, 3)];
        cands[0].outstanding = 5;
        cands[1].outstanding = 2;
        cands[2].outstanding = 2;
        let hits = histogram(Strategy::LeastOutstanding, &cands, 8000, 3);
        assert_eq!(hits[0], 0, "{hits:?}");
        // Tie between 1 (weight 1) and 2 (weight 3): 2000 / 6000 expected.
        assert!(
            hits[1].abs_diff(2000) < 400 && hits[2].abs_diff(6000) < 400,
            "{hits:?}"
        );
        cands[0].outstanding = 0;
        assert_eq!(
            histogram(Strategy::LeastOutstanding, &cands, 100, 3),
            vec![100, 0, 0]
        );
    }

    #[test]
    fn latency_aware_prefers_fast_but_explores() {
        let mut cands = [cand(0, 1), cand(1, 1), cand(2, 1)];
        cands[0].ewma_latency_us = 50_000.0;
        cands[1].ewma_latency_us = 500_000.0;
        cands[2].ewma_latency_us = 900_000.0;
        let hits = histogram(Strategy::LatencyAware, &cands, 9000, 11);
        // The fastest wins whenever it is one of the two sampled: 2/3 of the time.
        assert!(hits[0].abs_diff(6000) < 400, "{hits:?}");
        // The middle one wins against the slowest only: 1/3; the slowest never wins.
        assert!(hits[1].abs_diff(3000) < 400, "{hits:?}");
        assert_eq!(hits[2], 0, "{hits:?}");

        // Load counts: the fast one with a deep queue loses to an idle slower one.
        cands[0].outstanding = 20; // 50 ms × 21 = 1.05 s
        let hits = histogram(Strategy::LatencyAware, &cands, 9000, 12);
        assert!(hits[1] > hits[0] && hits[2] > 0, "{hits:?}");
    }

    #[test]
    fn latency_aware_tries_new_deployments() {
        let mut cands = [cand(0, 1), cand(1, 1)];
        cands[0].ewma_latency_us = 10_000.0;
        // Candidate 1 has no sample yet (0.0): always wins when drawn, and with two
        // candidates both are always drawn.
        assert_eq!(
            histogram(Strategy::LatencyAware, &cands, 500, 4),
            vec![0, 500]
        );
    }

    #[test]
    fn latency_aware_respects_weights_when_sampling() {
        // Equal latency: the winner is whichever is drawn first, so traffic follows
        // the weights of the draws; the heavy one should get the most.
        let mut cands = [cand(0, 1), cand(1, 9), cand(2, 1)];
        for c in &mut cands {
            c.ewma_latency_us = 1000.0;
        }
        let hits = histogram(Strategy::LatencyAware, &cands, 10_000, 21);
        assert!(hits[1] > hits[0] * 3 && hits[1] > hits[2] * 3, "{hits:?}");
    }

    #[test]
    fn cheapest_then_order() {
        let mut cands = [cand(10, 1), cand(11, 1), cand(12, 1), cand(13, 1)];
        cands[0].cost = 300;
        cands[1].cost = 100;
        cands[2].cost = 100;
        cands[3].cost = u64::MAX;
        cands[1].order = 5;
        cands[2].order = 2;
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(pick(Strategy::Cheapest, &cands, &mut rng), Some(12));
        // Unknown prices sort last.
        cands[1].cost = u64::MAX;
        cands[2].cost = u64::MAX;
        assert_eq!(pick(Strategy::Cheapest, &cands, &mut rng), Some(10));
        cands[0].cost = u64::MAX;
        // All unknown: configured order decides.
        assert_eq!(pick(Strategy::Cheapest, &cands, &mut rng), Some(12));
    }

    /// A small hand-rolled property test: for random candidate sets, every strategy
    /// returns the index of a candidate in the set, and never a standby one while a
    /// weighted one exists.
    #[test]
    fn property_picks_a_member() {
        let mut rng = fastrand::Rng::with_seed(99);
        for _ in 0..2000 {
            let len = rng.usize(1..8);
            let cands: Vec<Candidate> = (0..len)
                .map(|i| Candidate {
                    index: 100 + i,
                    weight: rng.u32(0..4),
                    outstanding: rng.u32(0..5),
                    ewma_latency_us: if rng.bool() { 0.0 } else { rng.f64() * 1e6 },
                    cost: if rng.bool() { u64::MAX } else { rng.u64(0..5) },
                    order: rng.usize(0..4),
                })
                .collect();
            let any_weight = cands.iter().any(|c| c.weight > 0);
            for s in ALL {
                let got = pick(s, &cands, &mut rng);
                let chosen = cands.iter().find(|c| Some(c.index) == got);
                match chosen {
                    Some(c) => assert!(!any_weight || c.weight > 0, "{s:?} {cands:?}"),
                    None => panic!("{s:?} picked {got:?} from {cands:?}"),
                }
            }
        }
    }
}
