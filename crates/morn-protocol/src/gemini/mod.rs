//! gemini protocol (being written).
