//! Finding the line of the config file that set a key, for error messages.
//!
//! A light scan, not a TOML parser: it follows `[table]` and `[[array]]` headers and
//! `key = value` lines, which is how Morn's config is written. Keys it cannot place
//! are reported without a line.

/// The 1-based line that sets `key` (`server.listen`, `models[1].provider`).
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let mut prefix = String::new();
    let mut array_counts: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    let mut table_line = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let name = clean(name);
            let n = array_counts.entry(name.clone()).or_insert(0);
            prefix = format!("{name}[{n}]");
            *n += 1;
            table_line = Some(i + 1);
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            prefix = clean(name);
            table_line = Some(i + 1);
        } else if let Some((k, _)) = line.split_once('=') {
            if line.starts_with('#') {
                continue;
            }
            let k = clean(k);
            let full = if prefix.is_empty() {
                k
            } else {
                format!("{prefix}.{k}")
            };
            if full == key {
                return Some(i + 1);
            }
        }
        if prefix == key {
            return table_line;
        }
    }
    None
}

fn clean(name: &str) -> String {
    name.split('.')
        .map(|s| s.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_tables_and_arrays() {
        let text = "[server]\nlisten = \"x\"\n\n[providers.\"mock\"]\nkind = \"openai\"\n\n[[models]]\nname = \"a\"\n[[models]]\nname = \"b\"\nprovider = \"p\"\n";
        assert_eq!(line_of(text, "server.listen"), Some(2));
        assert_eq!(line_of(text, "providers.mock.kind"), Some(5));
        assert_eq!(line_of(text, "models[1].provider"), Some(11));
        assert_eq!(line_of(text, "models[1]"), Some(9));
        assert_eq!(line_of(text, "nope"), None);
    }
}
