//! A usage record as one write-ahead line: the JSON `serde_json` would write, written
//! by hand.
//!
//! Every acknowledged request encodes one record on the request path, and the derived
//! serializer spent ~6,300 instructions on it (callgrind, bench/README.md), most of
//! them in per-field dispatch and escape scanning of ids that never need escaping.
//! This writes the same bytes in struct order with `itoa` for numbers and a copy for
//! strings without characters JSON must escape; a string that has one goes through
//! `serde_json`, so the escaping rules are serde's. Replay still reads lines with
//! `serde_json`, and a test holds the two byte for byte.

use morn_store::UsageRecord;

/// A field's separator and name, `,"name":`, made at compile time: one copy per field
/// instead of four pushes. Names are plain ASCII, never escaped.
macro_rules! field {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}

/// Appends `record` as a JSON object (no newline) to `out`.
pub(crate) fn encode(record: &UsageRecord, out: &mut Vec<u8>) {
    let mut w = Writer { out };
    w.out.extend_from_slice(b"{\"request_id\":");
    morn_protocol::write_json_string(w.out, &record.request_id);
    w.int(field!("created_at"), record.created_at);
    w.opt_text(field!("org_id"), record.org_id.as_deref());
    w.opt_text(field!("workspace_id"), record.workspace_id.as_deref());
    w.opt_text(field!("user_id"), record.user_id.as_deref());
    w.opt_text(field!("key_id"), record.key_id.as_deref());
    w.text(field!("endpoint"), &record.endpoint);
    w.text(field!("model"), &record.model);
    w.opt_text(field!("deployment"), record.deployment.as_deref());
    w.flag(field!("stream"), record.stream);
    w.int(field!("status"), record.status);
    w.opt_text(field!("error_class"), record.error_class.as_deref());
    w.int(field!("input_tokens"), record.input_tokens);
    w.int(field!("output_tokens"), record.output_tokens);
    w.int(field!("cache_read_tokens"), record.cache_read_tokens);
    w.int(field!("cache_write_tokens"), record.cache_write_tokens);
    w.int(field!("reasoning_tokens"), record.reasoning_tokens);
    w.int(field!("cost_micros"), record.cost_micros);
    w.flag(field!("estimated"), record.estimated);
    w.flag(field!("cache_hit"), record.cache_hit);
    w.int(field!("latency_ms"), record.latency_ms);
    match record.ttft_ms {
        Some(ms) => w.int(field!("ttft_ms"), ms),
        None => w.raw(field!("ttft_ms"), b"null"),
    }
    w.opt_text(
        field!("client_request_id"),
        record.client_request_id.as_deref(),
    );
    w.out.push(b'}');
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// A field's `,"name":` (from [`field!`]).
    fn name(&mut self, name: &str) {
        self.out.extend_from_slice(name.as_bytes());
    }

    fn raw(&mut self, name: &str, value: &[u8]) {
        self.name(name);
        self.out.extend_from_slice(value);
    }

    fn int(&mut self, name: &str, value: i64) {
        self.name(name);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn flag(&mut self, name: &str, value: bool) {
        self.raw(name, if value { b"true" } else { b"false" });
    }

    fn text(&mut self, name: &str, value: &str) {
        self.name(name);
        morn_protocol::write_json_string(self.out, value);
    }

    fn opt_text(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(value) => self.text(name, value),
            None => self.raw(name, b"null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> UsageRecord {
        UsageRecord {
            request_id: "01a2065b-710b-7170-b3eb-9600cdae48bf".into(),
            created_at: 1_795_000_000_123,
            org_id: Some("org".into()),
            workspace_id: Some("ws".into()),
            user_id: Some("user".into()),
            key_id: Some("key".into()),
            endpoint: "chat".into(),
            model: "gpt-4o-mini".into(),
            deployment: Some("mock/gpt-4o-mini".into()),
            stream: true,
            status: 200,
            error_class: Some("stream_broken".into()),
            input_tokens: 12,
            output_tokens: 34,
            cache_read_tokens: 5,
            cache_write_tokens: 6,
            reasoning_tokens: 7,
            cost_micros: 1_234_567,
            estimated: true,
            cache_hit: true,
            latency_ms: 89,
            ttft_ms: Some(10),
            client_request_id: Some("caller-1".into()),
        }
    }

    fn same_as_serde(record: &UsageRecord) -> Result<(), serde_json::Error> {
        let mut ours = Vec::new();
        encode(record, &mut ours);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serde_json::to_vec(record)?)
        );
        assert_eq!(&serde_json::from_slice::<UsageRecord>(&ours)?, record);
        Ok(())
    }

    #[test]
    fn writes_what_serde_writes() -> Result<(), serde_json::Error> {
        same_as_serde(&full())?;
        same_as_serde(&UsageRecord::default())?;
        same_as_serde(&UsageRecord {
            created_at: i64::MIN,
            cost_micros: i64::MAX,
            status: -1,
            ttft_ms: Some(0),
            ..UsageRecord::default()
        })
    }

    #[test]
    fn escapes_what_json_must_escape() -> Result<(), serde_json::Error> {
        for odd in [
            "a \"quoted\" id",
            "back\\slash",
            "line\nbreak\ttab\r",
            "bell\u{7}nul\u{0}esc\u{1b}",
            "ünïcödé ✓ 🚀",
            "\u{7f}\u{2028}",
        ] {
            same_as_serde(&UsageRecord {
                request_id: odd.into(),
                model: odd.into(),
                key_id: Some(odd.into()),
                error_class: Some(odd.into()),
                client_request_id: Some(odd.into()),
                ..full()
            })?;
        }
        Ok(())
    }
}
