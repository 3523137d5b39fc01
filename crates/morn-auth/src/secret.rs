//! `SecretString`: a string that never shows itself in `Debug` or `Display` output, so a
//! decrypted provider key cannot end up in a log line or an error message by accident.

use std::fmt;

/// An owned secret. Read it with [`SecretString::expose`], on purpose, where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call sites are the places to review.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = SecretString::from("sk-live-abcdef123456");
        let debug = format!("{secret:?} {secret:#?}");
        let display = format!("{secret}");
        assert!(!debug.contains("abcdef"), "{debug}");
        assert!(!display.contains("abcdef"), "{display}");
        assert_eq!(display, "[redacted]");
        assert_eq!(secret.expose(), "sk-live-abcdef123456");
    }

    #[test]
    fn redacted_inside_a_derived_debug() {
        #[derive(Debug)]
        #[expect(dead_code, reason = "only read through Debug")]
        struct Provider {
            name: &'static str,
            key: SecretString,
        }
        let out = format!(
            "{:?}",
            Provider {
                name: "openai",
                key: SecretString::new("sk-123456789")
            }
        );
        assert!(
            out.contains("openai") && !out.contains("sk-123456789"),
            "{out}"
        );
    }
}
