//! openai protocol (being written).
