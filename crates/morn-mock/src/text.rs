//! Deterministic text utilities: hashing, the filler vocabulary, word counting
//! and splitting text into "tokens" (one word with its trailing space).

/// Filler vocabulary for generated answers; chosen by hash, never at random.
pub const VOCAB: &[&str] = &[
    "the",
    "model",
    "answer",
    "is",
    "clear",
    "and",
    "simple",
    "because",
    "every",
    "request",
    "gets",
    "a",
    "careful",
    "reply",
    "with",
    "useful",
    "detail",
    "about",
    "data",
    "systems",
    "often",
    "need",
    "more",
    "context",
    "so",
    "we",
    "consider",
    "options",
    "that",
    "balance",
    "speed",
    "cost",
    "quality",
    "while",
    "keeping",
    "results",
    "stable",
    "over",
    "time",
    "in",
    "practice",
    "this",
    "means",
    "testing",
    "each",
    "step",
    "then",
    "measuring",
    "what",
    "changes",
    "when",
    "load",
    "grows",
    "across",
    "many",
    "users",
    "who",
    "expect",
    "fast",
    "correct",
    "output",
    "today",
];

/// FNV-1a over bytes: cheap, stable across runs and platforms.
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64 finaliser: turns a counter or seed into well-spread bits.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// An endless deterministic sequence of vocabulary words.
#[derive(Debug, Clone)]
pub struct Words {
    state: u64,
}

impl Words {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_word(&mut self) -> &'static str {
        self.state = mix(self.state);
        let len = VOCAB.len() as u64;
        VOCAB
            .get((self.state % len) as usize)
            .copied()
            .unwrap_or("the")
    }
}

/// Approximate token count: the number of alphanumeric runs.
pub fn count_words(text: &str) -> u64 {
    let mut n = 0;
    let mut in_word = false;
    for c in text.chars() {
        let w = c.is_alphanumeric();
        if w && !in_word {
            n += 1;
        }
        in_word = w;
    }
    n
}

/// Splits text into tokens: each whitespace-separated word with one trailing space.
pub fn word_tokens(text: &str, limit: usize, out: &mut Vec<String>) {
    for w in text.split_whitespace().take(limit) {
        out.push(format!("{w} "));
    }
}

/// Splits JSON (or any text) into small pieces so it streams over several deltas.
pub fn piece_tokens(text: &str) -> Vec<String> {
    const MAX: usize = 8;
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if c == ' ' || cur.len() >= MAX {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Groups tokens into exactly `k` deltas (or fewer when there are fewer tokens).
pub fn group(tokens: &[String], k: usize) -> Vec<String> {
    if k == 0 || k >= tokens.len() {
        return tokens.to_vec();
    }
    let n = tokens.len();
    (0..k)
        .map(|i| {
            let start = i * n / k;
            let end = (i + 1) * n / k;
            tokens
                .get(start..end)
                .map(|s| s.concat())
                .unwrap_or_default()
        })
        .collect()
}

/// Lowercase hex of a 64-bit value padded to 16 digits.
pub fn hex(v: u64) -> String {
    format!("{v:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_makes_exact_count() {
        let toks: Vec<String> = (0..10).map(|i| format!("w{i} ")).collect();
        let g = group(&toks, 3);
        assert_eq!(g.len(), 3);
        assert_eq!(g.concat(), toks.concat());
    }

    #[test]
    fn words_are_counted() {
        assert_eq!(count_words("Hello, world! {\"a\": 1}"), 4);
    }
}
