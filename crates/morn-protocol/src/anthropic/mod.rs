//! anthropic protocol (being written).
