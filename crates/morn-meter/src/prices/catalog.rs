//! The price catalog: model name → [`Price`], shipped as `defaults.toml` and compiled
//! into the binary so a fresh install prices requests without any setup.
//!
//! Lookups forgive the spellings upstreams and clients actually use: a provider prefix
//! (`openai/gpt-4o`, or Morn's own `<provider>/<upstream model>` deployment names), a
//! date or version suffix (`gpt-4o-2024-08-06`, `claude-sonnet-4-20250514`,
//! `gemini-2.0-flash-001`, `claude-sonnet-4@20250514`) and `-latest`. Every lookup
//! works on slices of the name, so it never allocates.

use serde::Deserialize;

use super::Price;

/// The shipped catalog, in the same shape [`PriceCatalog::from_toml`] reads.
const DEFAULTS: &str = include_str!("defaults.toml");

/// Model name → price, with the date the prices were read. foldhash, not SipHash: the
/// table is only read on the request path (a caller's model name cannot grow it), and
/// every request looks its model up twice.
#[derive(Debug, Clone, Default)]
pub struct PriceCatalog {
    pub date: String,
    pub prices: foldhash::HashMap<String, Price>,
}

/// The file format: the date, then one `[models."name"]` table per model.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    date: String,
    #[serde(default)]
    models: foldhash::HashMap<String, Price>,
}

impl PriceCatalog {
    /// The shipped catalog. Empty (so every cost is unknown, never wrong) if the shipped
    /// file does not parse, which a unit test rules out.
    pub fn builtin() -> Self {
        match Self::from_toml(DEFAULTS) {
            Ok(catalog) => catalog,
            Err(err) => {
                tracing::error!(%err, "shipped price catalog does not parse");
                Self::default()
            }
        }
    }

    /// Parses a catalog in the `defaults.toml` format and checks every price.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, price) in &file.models {
            price
                .validate()
                .map_err(|e| format!("model \"{name}\": {e}"))?;
        }
        Ok(Self {
            date: file.date,
            prices: file.models,
        })
    }

    /// The price of `model` (an upstream model name, provider-qualified or not).
    ///
    /// Tries the exact name, then without the provider prefix, then each of those with
    /// a date, version or `-latest` suffix removed. An exact entry always wins, so
    /// `openai/gpt-4o` can carry OpenRouter's price and `gpt-4o-2024-05-13` its own.
    pub fn get(&self, model: &str) -> Option<&Price> {
        if let Some(price) = self.prices.get(model) {
            return Some(price);
        }
        // `provider/openai/gpt-4o` is tried as `openai/gpt-4o`, then `gpt-4o`.
        let unprefixed = || {
            std::iter::successors(Some(model), |name| name.split_once('/').map(|(_, r)| r)).skip(1)
        };
        unprefixed()
            .find_map(|name| self.prices.get(name))
            .or_else(|| {
                std::iter::once(model)
                    .chain(unprefixed())
                    .filter_map(strip_version)
                    .find_map(|name| self.prices.get(name))
            })
    }

    /// Every entry, sorted by model name (the platform API lists the catalog).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Price)> {
        let mut entries: Vec<(&str, &Price)> = self
            .prices
            .iter()
            .map(|(name, price)| (name.as_str(), price))
            .collect();
        entries.sort_unstable_by_key(|(name, _)| *name);
        entries.into_iter()
    }

    pub fn len(&self) -> usize {
        self.prices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }
}

/// `name` without its trailing date, version or `-latest`, if it has one.
///
/// Recognised suffixes: `@anything` (Vertex AI), `-latest`, `-YYYY-MM-DD`,
/// `-YYYYMMDD`, `-MMDD` (`gpt-4-0613`) and a three-digit version (`-001`). Preview
/// dates (`-preview-05-20`) are left alone on purpose: previews are priced apart.
fn strip_version(name: &str) -> Option<&str> {
    if let Some((base, _)) = name.split_once('@') {
        return Some(base);
    }
    if let Some(base) = name.strip_suffix("-latest") {
        return Some(base);
    }
    // -YYYY-MM-DD
    if name.len() > 11 {
        let (base, tail) = name.split_at(name.len() - 11);
        let b = tail.as_bytes();
        if b[0] == b'-'
            && b[5] == b'-'
            && b[8] == b'-'
            && [1, 2, 3, 4, 6, 7, 9, 10]
                .iter()
                .all(|&i| b[i].is_ascii_digit())
        {
            return Some(base);
        }
    }
    // -YYYYMMDD, -MMDD, -NNN
    let (base, digits) = name.rsplit_once('-')?;
    let all_digits = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit());
    (all_digits && matches!(digits.len(), 3 | 4 | 8) && !base.is_empty()).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalog_parses_and_is_sane() {
        let catalog = PriceCatalog::from_toml(DEFAULTS);
        assert!(catalog.is_ok(), "{:?}", catalog.err());
        let catalog = PriceCatalog::builtin();
        assert!(catalog.date.starts_with("20"), "{}", catalog.date);
        assert!(catalog.len() > 40);
        for (name, p) in catalog.entries() {
            assert!(p.validate().is_ok(), "{name}");
            // Every shipped model charges for what it is used for (embeddings have no
            // output); the one free model is listed free on purpose.
            assert!(p.input > 0 || name == "text-embedding-004", "{name}");
            assert!(p.output >= 0, "{name}");
            let rates = p.rates_for(0);
            assert!(rates.cache_read <= rates.input, "{name}: cache read dearer");
            if let Some(long) = &p.long_context {
                assert!(long.input >= p.input && long.output >= p.output, "{name}");
            }
            if let Some(batch) = &p.batch {
                assert!(batch.input <= p.input && batch.output <= p.output, "{name}");
            }
        }
    }

    #[test]
    fn strips_versions() {
        assert_eq!(strip_version("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(
            strip_version("claude-sonnet-4-20250514"),
            Some("claude-sonnet-4")
        );
        assert_eq!(
            strip_version("claude-sonnet-4@20250514"),
            Some("claude-sonnet-4")
        );
        assert_eq!(strip_version("gpt-4-0613"), Some("gpt-4"));
        assert_eq!(
            strip_version("gemini-2.0-flash-001"),
            Some("gemini-2.0-flash")
        );
        assert_eq!(
            strip_version("claude-3-5-haiku-latest"),
            Some("claude-3-5-haiku")
        );
        assert_eq!(strip_version("gpt-4o"), None);
        assert_eq!(strip_version("claude-sonnet-4"), None);
        assert_eq!(strip_version("o3"), None);
        assert_eq!(strip_version("-1234"), None);
    }
}
