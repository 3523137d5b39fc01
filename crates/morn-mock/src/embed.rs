//! Deterministic embeddings by feature hashing: lower-cased words and
//! character trigrams are hashed into a fixed number of signed buckets, then
//! the vector is L2-normalised. Texts that share words and spellings get a high
//! cosine similarity; unrelated texts land near zero.

use base64::Engine;

use crate::text::hash64;

/// Dimension used when the request does not ask for one.
pub const DEFAULT_DIM: usize = 256;

const WORD_WEIGHT: f32 = 1.0;
const TRIGRAM_WEIGHT: f32 = 0.5;

pub fn embed(text: &str, dim: usize) -> Vec<f32> {
    let dim = dim.max(1);
    let mut v = vec![0f32; dim];
    let lower = text.to_lowercase();
    let mut add = |bytes: &[u8], weight: f32| {
        let h = hash64(bytes);
        let idx = (h % dim as u64) as usize;
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        if let Some(slot) = v.get_mut(idx) {
            *slot += sign * weight;
        }
    };
    let mut padded = String::new();
    for word in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        add(word.as_bytes(), WORD_WEIGHT);
        padded.clear();
        padded.push(' ');
        padded.push_str(word);
        padded.push(' ');
        let chars: Vec<char> = padded.chars().collect();
        let mut buf = String::new();
        for tri in chars.windows(3) {
            buf.clear();
            buf.extend(tri);
            add(buf.as_bytes(), TRIGRAM_WEIGHT);
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else if let Some(first) = v.first_mut() {
        // Empty text still gets a valid unit vector.
        *first = 1.0;
    }
    v
}

/// Little-endian f32 bytes, base64: OpenAI's `encoding_format: "base64"`.
pub fn to_base64(v: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(v.len() * 4);
    for x in v {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn similar_beats_unrelated() {
        let a = embed("The cat sat on the mat", 256);
        let b = embed("A cat sat on a mat", 256);
        let c = embed("Quarterly revenue grew in Europe", 256);
        assert!(cos(&a, &b) > 0.5, "{}", cos(&a, &b));
        assert!(cos(&a, &c) < 0.3, "{}", cos(&a, &c));
    }
}
