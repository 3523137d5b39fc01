//! Counter names. A counter's name is `<kind><policy id><what>[<window start>]`, e.g.
//! `rl:<rule id>:r:<minute start>`; the counters (in process or in Redis) know nothing
//! else about it. Names are built once per policy and window, not per request: every
//! governed request needs several, and building them showed in profiles.

use std::sync::{Arc, Mutex, PoisonError};

/// A name ending in a window start, rebuilt only when the window moves.
#[derive(Debug)]
pub struct WindowName {
    prefix: String,
    current: Mutex<Option<(i64, Arc<str>)>>,
}

impl WindowName {
    fn new(kind: &str, id: &str, what: &str) -> Self {
        Self {
            prefix: [kind, id, what].concat(),
            current: Mutex::new(None),
        }
    }

    /// The name for the window starting at `window`.
    pub fn at(&self, window: i64) -> Arc<str> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match &*current {
            Some((start, name)) if *start == window => name.clone(),
            _ => {
                let mut name = String::with_capacity(self.prefix.len() + 20);
                name.push_str(&self.prefix);
                push_int(&mut name, window);
                let name: Arc<str> = name.into();
                *current = Some((window, name.clone()));
                name
            }
        }
    }
}

/// The counters of one rate-limit rule.
#[derive(Debug)]
pub struct LimitNames {
    /// Requests this minute.
    pub requests: WindowName,
    /// Tokens this minute.
    pub tokens: WindowName,
    /// Requests in flight (no window).
    pub concurrency: Arc<str>,
}

impl LimitNames {
    pub fn new(rule_id: &str) -> Self {
        Self {
            requests: WindowName::new("rl:", rule_id, ":r:"),
            tokens: WindowName::new("rl:", rule_id, ":t:"),
            concurrency: ["rl:", rule_id, ":c"].concat().into(),
        }
    }
}

/// Appends the decimal digits of `n` (no `format!`: names are rebuilt every window).
fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Only ASCII digits were written, so this never falls back.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// The spend counter of a budget, per period.
pub fn budget_name(budget_id: &str) -> WindowName {
    WindowName::new("bd:", budget_id, ":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_formatted_and_follow_the_window() {
        let names = LimitNames::new("abc");
        assert_eq!(
            &*names.requests.at(1_700_000_040_000),
            "rl:abc:r:1700000040000"
        );
        assert_eq!(&*names.tokens.at(60_000), "rl:abc:t:60000");
        assert_eq!(&*names.concurrency, "rl:abc:c");
        let first = names.requests.at(60_000);
        assert!(Arc::ptr_eq(&first, &names.requests.at(60_000)), "reused");
        assert_eq!(&*names.requests.at(120_000), "rl:abc:r:120000");
        let budget = budget_name("b1");
        assert_eq!(&*budget.at(0), "bd:b1:0");
        assert_eq!(&*budget.at(-42), "bd:b1:-42");
        assert_eq!(&*budget.at(i64::MIN), format!("bd:b1:{}", i64::MIN));
    }
}
