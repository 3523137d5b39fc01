//! Tool-call ids for Gemini function calls, and the thought signatures they carry.
//!
//! Gemini function calls usually have no id, so Morn makes a deterministic one,
//! `call_<choice>_<n>` (`n` counts calls within the choice from 0), the same for a
//! streamed and a whole answer.
//!
//! Gemini 2.5+ attaches an opaque `thoughtSignature` to (the first) function call of a
//! turn, and Gemini 3 rejects a later request whose replayed function call lacks it.
//! The canonical `ToolCall` has no field for it, but every client echoes tool-call ids
//! back verbatim, so the signature travels inside the id:
//! `<id>__thought__<signature as unpadded base64url>` (base64url keeps the id within
//! `[A-Za-z0-9_-]`, which Anthropic-style ids require). The request encoder splits it
//! off again and restores the standard base64 Gemini sent.

/// What separates the id proper from the embedded signature.
const SIGNATURE_SEPARATOR: &str = "__thought__";

/// The canonical id for a Gemini function call.
pub(super) fn tool_call_id(
    choice: u32,
    n: u32,
    upstream_id: Option<&str>,
    signature: Option<&str>,
) -> String {
    let mut id = match upstream_id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("call_{choice}_{n}"),
    };
    if let Some(signature) = signature.filter(|s| !s.is_empty()) {
        id.reserve(SIGNATURE_SEPARATOR.len() + signature.len());
        id.push_str(SIGNATURE_SEPARATOR);
        for c in signature.chars() {
            match c {
                '+' => id.push('-'),
                '/' => id.push('_'),
                '=' => {}
                c => id.push(c),
            }
        }
    }
    id
}

/// The thought signature embedded in a canonical tool-call id, as standard padded
/// base64, if there is one.
pub(super) fn signature_of(id: &str) -> Option<String> {
    let (_, encoded) = id.split_once(SIGNATURE_SEPARATOR)?;
    if encoded.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(encoded.len() + 3);
    for c in encoded.chars() {
        match c {
            '-' => out.push('+'),
            '_' => out.push('/'),
            c => out.push(c),
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_without_signature_are_positional_or_upstream() {
        assert_eq!(tool_call_id(0, 2, None, None), "call_0_2");
        assert_eq!(tool_call_id(1, 0, Some(""), Some("")), "call_1_0");
        assert_eq!(tool_call_id(0, 0, Some("fc-7"), None), "fc-7");
        assert_eq!(signature_of("call_0_0"), None);
        assert_eq!(signature_of("toolu_01A"), None);
    }

    #[test]
    fn signatures_round_trip_through_url_safe_ids() {
        for sig in ["CiQB0e2Kb+/xyQ==", "AAAA", "a+b/c/d=", "Cv8BAd8/"] {
            let id = tool_call_id(0, 0, None, Some(sig));
            assert!(id.starts_with("call_0_0__thought__"), "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{id}"
            );
            assert_eq!(signature_of(&id).as_deref(), Some(sig));
        }
    }
}
