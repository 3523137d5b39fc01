//! Image references shared by the adapters: canonical images are URLs, and inline
//! images are `data:` URIs.

/// Splits `data:<mime>;base64,<data>` into `(mime, data)`. Anything else is `None`.
pub fn parse_data_uri(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime, data))
}

/// Builds a `data:` URI from a media type and base64 data.
pub fn data_uri(mime: &str, base64_data: &str) -> String {
    format!("data:{mime};base64,{base64_data}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_round_trip() {
        let uri = data_uri("image/png", "iVBOR");
        assert_eq!(parse_data_uri(&uri), Some(("image/png", "iVBOR")));
        assert_eq!(parse_data_uri("https://example.com/a.png"), None);
        assert_eq!(parse_data_uri("data:image/png,raw"), None);
    }
}
