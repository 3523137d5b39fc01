//! Prices as a caller sees them: cost of a usage record, reservations, the shipped
//! catalog and its lookup, and the override format the platform API accepts.
#![expect(clippy::unwrap_used, reason = "tests")]

use morn_meter::prices::{BatchPrice, LongContext, Price, PriceCatalog};
use morn_protocol::Usage;

fn sonnet_like() -> Price {
    Price {
        cache_read: Some(300_000),
        cache_write: Some(3_750_000),
        ..Price::new(3_000_000, 15_000_000)
    }
}

#[test]
fn cost_charges_each_part_of_the_usage_at_its_rate() {
    let usage = Usage {
        input_tokens: 10_000,
        output_tokens: 2_000,
        cache_read_tokens: 4_000,
        cache_write_tokens: 1_000,
        reasoning_tokens: 500,
    };
    let cost = sonnet_like().cost(&usage);
    // 5,000 uncached × $3 + 4,000 read × $0.30 + 1,000 written × $3.75
    // + 1,500 output × $15 + 500 reasoning × $15 (defaults to output), per million.
    assert_eq!(cost.input_micros, 15_000);
    assert_eq!(cost.cache_read_micros, 1_200);
    assert_eq!(cost.cache_write_micros, 3_750);
    assert_eq!(cost.output_micros, 22_500);
    assert_eq!(cost.reasoning_micros, 7_500);
    assert_eq!(cost.micros, 49_950);
}

#[test]
fn reasoning_has_its_own_rate_when_set() {
    let price = Price {
        reasoning: Some(1_000_000),
        ..Price::new(0, 10_000_000)
    };
    let usage = Usage {
        output_tokens: 1_000,
        reasoning_tokens: 600,
        ..Usage::default()
    };
    // 400 × $10 + 600 × $1 per million = 4,000 + 600 micro-units.
    assert_eq!(price.cost(&usage).micros, 4_600);
}

#[test]
fn cost_is_rounded_once_not_per_part() {
    // 0.7 + 0.7 micro-units: rounding each part would bill 2, the sum is 1.4 → 1.
    let cost = Price::new(1, 1).cost(&Usage {
        input_tokens: 700_000,
        output_tokens: 700_000,
        ..Usage::default()
    });
    assert_eq!((cost.input_micros, cost.output_micros), (1, 1));
    assert_eq!(cost.micros, 1);
}

#[test]
fn long_context_tier_applies_above_the_threshold() {
    let catalog = PriceCatalog::builtin();
    let sonnet = catalog.get("claude-sonnet-4").unwrap();
    let usage = |input| Usage {
        input_tokens: input,
        output_tokens: 1_000,
        ..Usage::default()
    };
    // At 200k exactly: $3 / $15. One token more: the whole request at $6 / $22.50.
    assert_eq!(sonnet.cost(&usage(200_000)).micros, 600_000 + 15_000);
    assert_eq!(sonnet.cost(&usage(200_001)).micros, 1_200_006 + 22_500);

    let gemini = catalog.get("gemini-2.5-pro").unwrap();
    let cached = Usage {
        input_tokens: 300_000,
        cache_read_tokens: 100_000,
        output_tokens: 0,
        ..Usage::default()
    };
    // 200k uncached × $2.50 + 100k cached × $0.25.
    assert_eq!(gemini.cost(&cached).micros, 500_000 + 25_000);
}

#[test]
fn max_cost_is_the_worst_case_and_rounds_up() {
    // Every input token at the dearer cache-write rate, output at $15.
    assert_eq!(sonnet_like().max_cost(1_000, 100), 3_750 + 1_500);
    // Reasoning dearer than output: output tokens are reserved at the reasoning rate.
    let p = Price {
        reasoning: Some(20_000_000),
        ..Price::new(1_000_000, 10_000_000)
    };
    assert_eq!(p.max_cost(0, 1_000), 20_000);
    // The long tier is chosen by the prompt size.
    let catalog = PriceCatalog::builtin();
    let gemini = catalog.get("gemini-2.5-pro").unwrap();
    assert_eq!(gemini.max_cost(300_000, 1_000), 750_000 + 15_000);
    // A millionth of a micro-unit is still reserved as one.
    assert_eq!(Price::new(1, 0).max_cost(1, 0), 1);
    // Never below the final cost of any usage that fits.
    let usage = Usage {
        input_tokens: 1_000,
        output_tokens: 100,
        cache_write_tokens: 1_000,
        ..Usage::default()
    };
    assert!(sonnet_like().max_cost(1_000, 100) >= sonnet_like().cost(&usage).micros);
}

#[test]
fn override_json_round_trips_and_rejects_unknown_fields() {
    let json = r#"{"input": 1000000, "output": 2000000,
        "long_context": {"threshold": 128000, "input": 2000000, "output": 4000000},
        "batch": {"input": 500000, "output": 1000000}}"#;
    let price: Price = serde_json::from_str(json).unwrap();
    assert_eq!(
        price.long_context,
        Some(LongContext {
            threshold: 128_000,
            input: 2_000_000,
            output: 4_000_000,
            ..LongContext::default()
        })
    );
    assert_eq!(
        price.batch,
        Some(BatchPrice {
            input: 500_000,
            output: 1_000_000
        })
    );
    let back = serde_json::to_value(&price).unwrap();
    assert!(
        back.get("cache_read").is_none(),
        "unset fields are omitted: {back}"
    );
    assert_eq!(serde_json::from_value::<Price>(back).unwrap(), price);

    let err = serde_json::from_str::<Price>(r#"{"input": 1, "output": 1, "cache_raed": 1}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `cache_raed`"), "{err}");
    assert!(
        err.contains("cache_read"),
        "the message lists valid fields: {err}"
    );
    let err = serde_json::from_str::<Price>(
        r#"{"input": 1, "output": 1, "batch": {"input": 1, "output": 1, "cached": 1}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `cached`"), "{err}");
}

#[test]
fn negative_prices_are_refused() {
    let p = Price::new(-5, 1);
    assert!(p.validate().unwrap_err().contains("input is -5"));
    let p = Price {
        long_context: Some(LongContext {
            threshold: 0,
            ..LongContext::default()
        }),
        ..Price::new(1, 1)
    };
    assert!(p.validate().unwrap_err().contains("threshold"));
}

#[test]
fn catalog_lookup_forgives_prefixes_and_versions() {
    let catalog = PriceCatalog::builtin();
    let input = |model: &str| catalog.get(model).map(|p| p.input);
    assert_eq!(input("gpt-4o"), Some(2_500_000));
    for (alias, canonical) in [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("mock_openai/gpt-4o-mini", "gpt-4o-mini"),
        ("azure/gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-4-0613", "gpt-4"),
        ("mistral-large-latest", "mistral-large"),
        ("my_router/openai/gpt-4o", "openai/gpt-4o"),
    ] {
        assert!(input(canonical).is_some(), "{canonical} is in the catalog");
        assert_eq!(input(alias), input(canonical), "{alias}");
    }
    // An exact entry beats normalisation.
    assert_eq!(input("gpt-4o-2024-05-13"), Some(5_000_000));
    for unknown in ["m", "gpt", "gpt-4o-turbo-ultra", "claude", "", "/", "x/"] {
        assert_eq!(input(unknown), None, "{unknown}");
    }
}

#[test]
fn simulator_models_have_a_nonzero_price() {
    // The models examples/simulated.toml and the server's tests route to.
    let catalog = PriceCatalog::builtin();
    let usage = Usage {
        input_tokens: 1_000,
        output_tokens: 1_000,
        ..Usage::default()
    };
    for model in [
        "gpt-4o-mini",
        "gpt-4o",
        "gpt-4.1",
        "claude-sonnet-4-5",
        "gemini-2.5-flash",
        "text-embedding-3-small",
        "gemini-embedding-001",
    ] {
        let price = catalog
            .get(model)
            .unwrap_or_else(|| panic!("{model} has no price"));
        assert!(price.cost(&usage).micros > 0, "{model}");
    }
}

#[test]
fn shipped_catalog_covers_the_listed_providers() {
    let catalog = PriceCatalog::builtin();
    assert!(catalog.date.starts_with("2026-"), "{}", catalog.date);
    for model in [
        "gpt-4.1-nano",
        "o1",
        "o1-mini",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "text-embedding-3-large",
        "text-embedding-ada-002",
        "claude-opus-4-1",
        "claude-opus-4",
        "claude-3-7-sonnet",
        "claude-haiku-4-5",
        "gemini-2.5-flash-lite",
        "gemini-2.0-flash",
        "text-embedding-004",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4",
        "google/gemini-2.5-pro",
        "meta-llama/llama-3.3-70b-instruct",
        "deepseek/deepseek-chat",
        "deepseek/deepseek-r1",
        "mistralai/mistral-large",
        "qwen/qwen-2.5-72b-instruct",
    ] {
        assert!(catalog.prices.contains_key(model), "{model} missing");
    }
    // Anthropic models carry cache prices; first-party models a 50% batch price.
    let haiku = catalog.get("claude-haiku-4-5").unwrap();
    assert_eq!(
        (haiku.cache_write, haiku.cache_read),
        (Some(1_250_000), Some(100_000))
    );
    for model in ["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash"] {
        let p = catalog.get(model).unwrap();
        let batch = p.batch.as_ref().unwrap();
        assert_eq!(
            (batch.input * 2, batch.output * 2),
            (p.input, p.output),
            "{model}"
        );
    }
    let names: Vec<&str> = catalog.entries().map(|(name, _)| name).collect();
    assert_eq!(names.len(), catalog.len());
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "entries are sorted by name"
    );
}

#[test]
fn from_toml_reports_what_is_wrong() {
    let ok = PriceCatalog::from_toml("date = \"2026-01-01\"\n[models.m]\ninput = 1\noutput = 2\n")
        .unwrap();
    assert_eq!(ok.get("m"), Some(&Price::new(1, 2)));

    let err =
        PriceCatalog::from_toml("date = \"2026-01-01\"\n[models.m]\ninput = -1\noutput = 2\n")
            .unwrap_err();
    assert!(
        err.contains("model \"m\"") && err.contains("input is -1"),
        "{err}"
    );
    let err =
        PriceCatalog::from_toml("date = \"2026-01-01\"\n[models.m]\ninput = 1\n").unwrap_err();
    assert!(err.contains("missing field `output`"), "{err}");
    let err = PriceCatalog::from_toml("[models.m]\ninput = 1\noutput = 1\n").unwrap_err();
    assert!(err.contains("missing field `date`"), "{err}");
    let err =
        PriceCatalog::from_toml("date = \"x\"\n[models.m]\ninput = 1\noutput = 1\nouptut = 1\n")
            .unwrap_err();
    assert!(err.contains("unknown field `ouptut`"), "{err}");
}
