//! The simulated model, independent of wire format: providers fill a `Prompt`
//! from their request, `generate` answers it, and providers render the
//! `Answer` back in their own format.

use serde_json::{Value, json};

use crate::directives::{Directives, MessageDirectives};
use crate::schema;
use crate::text::{self, Words};

/// Input tokens counted for each image.
pub const IMAGE_TOKENS: u64 = 85;
/// Tokens added per message (role markers), as real tokenizers do.
const MESSAGE_OVERHEAD: u64 = 3;
/// How many words of the user's text are echoed.
const ECHO_WORDS: usize = 30;
/// Default answer length when nothing asks for one.
const DEFAULT_WORDS: usize = 20;

#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: String,
    pub schema: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Any,
    Named(String),
}

#[derive(Debug, Clone)]
pub enum OutputFormat {
    Text,
    JsonObject,
    JsonSchema(Value),
}

/// A request reduced to what the simulated model looks at.
#[derive(Debug)]
pub struct Prompt {
    user_text: String,
    images: u32,
    tool_result: Option<String>,
    /// The last message was a tool result: a following one adds to it (OpenAI sends
    /// parallel results as consecutive `tool` messages).
    in_tool_run: bool,
    /// Text of a final assistant turn: the answer continues from it (prefill), as
    /// real models do; `None` once any other message follows.
    prefill: Option<String>,
    pub input_tokens: u64,
    pub tools: Vec<ToolSpec>,
    pub tool_choice: ToolChoice,
    pub stop: Vec<String>,
    pub max_tokens: Option<u64>,
    pub format: OutputFormat,
    pub found: MessageDirectives,
}

impl Prompt {
    pub fn new() -> Self {
        Self {
            user_text: String::new(),
            images: 0,
            tool_result: None,
            in_tool_run: false,
            prefill: None,
            input_tokens: MESSAGE_OVERHEAD,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            stop: Vec::new(),
            max_tokens: None,
            format: OutputFormat::Text,
            found: MessageDirectives::default(),
        }
    }

    /// A seed from what the model "reads" (the echoed text, tool results, images), not
    /// from the request bytes: the same prompt gets the same answer whether it was
    /// streamed or not and whichever provider format carried it, so a gateway's
    /// streamed and non-streamed translations can be compared exactly.
    pub fn content_seed(&self) -> u64 {
        let mut key = self.user_text.clone();
        key.push('\u{1}');
        if let Some(result) = &self.tool_result {
            key.push_str(result);
        }
        text::hash64(key.as_bytes()) ^ u64::from(self.images)
    }

    /// Starts a message; a user message replaces the text the answer echoes.
    pub fn begin_message(&mut self, is_user: bool) {
        self.input_tokens += MESSAGE_OVERHEAD;
        self.tool_result = None;
        self.in_tool_run = false;
        self.prefill = None;
        if is_user {
            self.user_text.clear();
            self.images = 0;
        }
    }

    /// Text of a user or system message (directives are honoured and stripped).
    pub fn user_text(&mut self, t: &str, echo: bool) {
        let t = self.found.strip(t);
        self.input_tokens += text::count_words(&t);
        if echo {
            if !self.user_text.is_empty() {
                self.user_text.push(' ');
            }
            self.user_text.push_str(&t);
        }
    }

    /// Text the answer never echoes (assistant turns, tool call arguments).
    pub fn other_text(&mut self, t: &str) {
        self.input_tokens += text::count_words(t);
        if let Some(prefill) = &mut self.prefill {
            prefill.push_str(t);
        }
    }

    /// Starts an assistant message; if it ends the conversation, its text is a prefix
    /// the answer continues from.
    pub fn begin_assistant_message(&mut self) {
        self.begin_message(false);
        self.prefill = Some(String::new());
    }

    pub fn image(&mut self) {
        self.input_tokens += IMAGE_TOKENS;
        self.images += 1;
    }

    /// Starts a message of tool results; consecutive ones form one group of results.
    pub fn begin_tool_message(&mut self) {
        self.input_tokens += MESSAGE_OVERHEAD;
        if !self.in_tool_run {
            self.tool_result = None;
        }
        self.in_tool_run = true;
    }

    /// A tool result; if it ends the conversation the answer reports on it.
    pub fn tool_result(&mut self, t: &str) {
        let t = self.found.strip(t);
        self.input_tokens += text::count_words(&t);
        match &mut self.tool_result {
            Some(prev) => {
                prev.push(' ');
                prev.push_str(&t);
            }
            None => self.tool_result = Some(t.into_owned()),
        }
    }

    /// Counts tool definitions as input, the way providers bill them.
    pub fn tool_definitions(&mut self, defs: &Value) {
        self.input_tokens += text::count_words(&defs.to_string());
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
    StopSequence(String),
    ToolCalls,
}

#[derive(Debug, Clone)]
pub struct ToolCall {
    pub name: String,
    /// Arguments as compact JSON text.
    pub arguments: String,
    pub args: Value,
}

#[derive(Debug, Clone)]
pub struct Answer {
    /// Visible text, one token per entry (may be empty when only tools are called).
    pub tokens: Vec<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Finish,
    /// Visible output tokens (text plus tool call arguments), without reasoning.
    pub output_tokens: u64,
}

impl Answer {
    pub fn text(&self) -> String {
        self.tokens.concat()
    }

    /// Text deltas for streaming, grouped by the `chunks` directive.
    pub fn deltas(&self, d: &Directives) -> Vec<String> {
        match d.chunks {
            Some(k) => text::group(&self.tokens, k),
            None => self.tokens.clone(),
        }
    }
}

/// Answers the prompt. `variant` distinguishes choices of one request (`n`).
pub fn generate(p: &Prompt, d: &Directives, variant: u64) -> Answer {
    let mut words = Words::new(text::mix(p.content_seed() ^ variant.wrapping_mul(0x9e37)));
    if let Some(calls) = tool_calls(p, d, &mut words) {
        let output_tokens: u64 = calls
            .iter()
            .map(|c| text::piece_tokens(&c.arguments).len() as u64 + 3)
            .sum();
        let tokens = if p.tool_choice == ToolChoice::Auto {
            // Unforced calls come with a short preamble, as real models write.
            ["I ", "will ", "call ", "a ", "tool."]
                .map(String::from)
                .to_vec()
        } else {
            Vec::new()
        };
        let output_tokens = output_tokens + tokens.len() as u64;
        return Answer {
            tokens,
            tool_calls: calls,
            finish: Finish::ToolCalls,
            output_tokens,
        };
    }
    let mut tokens = prose(p, d, &mut words);
    continue_after_prefill(&mut tokens, p.prefill.as_deref());
    match &p.format {
        OutputFormat::Text => {}
        OutputFormat::JsonObject => {
            let answer = tokens.concat();
            tokens = text::piece_tokens(&json!({ "answer": answer.trim_end() }).to_string());
        }
        OutputFormat::JsonSchema(s) => {
            tokens = text::piece_tokens(&schema::instance(s, &mut words).to_string());
        }
    }
    let mut finish = Finish::Stop;
    if let Some((cut, seq)) = find_stop(&tokens, &p.stop) {
        truncate_at(&mut tokens, cut);
        finish = Finish::StopSequence(seq);
    }
    if let Some(max) = p.max_tokens {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        if tokens.len() > max {
            tokens.truncate(max);
            finish = Finish::Length;
        }
    }
    let output_tokens = tokens.len() as u64;
    Answer {
        tokens,
        tool_calls: Vec::new(),
        finish,
        output_tokens,
    }
}

/// With a prefill that is a token-aligned prefix of the answer, drops it: the model
/// "continues" exactly where the given text stopped. Any other prefill is ignored.
fn continue_after_prefill(tokens: &mut Vec<String>, prefill: Option<&str>) {
    let Some(prefill) = prefill.filter(|p| !p.is_empty()) else {
        return;
    };
    let mut len = 0;
    for (i, token) in tokens.iter().enumerate() {
        if len == prefill.len() {
            if tokens.concat().starts_with(prefill) {
                tokens.drain(..i);
            }
            return;
        }
        len += token.len();
    }
    if len == prefill.len() && tokens.concat() == prefill {
        tokens.clear();
    }
}

/// "You said: <echo>." (or "Tool result: <echo>.") followed by filler words.
fn prose(p: &Prompt, d: &Directives, words: &mut Words) -> Vec<String> {
    let mut tokens = Vec::with_capacity(32);
    match &p.tool_result {
        Some(r) => {
            tokens.push("Tool ".to_string());
            tokens.push("result: ".to_string());
            text::word_tokens(r, ECHO_WORDS, &mut tokens);
        }
        None => {
            tokens.push("You ".to_string());
            tokens.push("said: ".to_string());
            text::word_tokens(&p.user_text, ECHO_WORDS, &mut tokens);
            match p.images {
                0 => {}
                1 => tokens.push("[1 image] ".to_string()),
                n => tokens.push(format!("[{n} images] ")),
            }
        }
    }
    if let Some(last) = tokens.last_mut() {
        last.insert(last.len() - 1, '.');
    }
    let total = d
        .words
        .unwrap_or_else(|| DEFAULT_WORDS.max(tokens.len() + 4));
    tokens.truncate(total);
    while tokens.len() < total {
        tokens.push(format!("{} ", words.next_word()));
    }
    tokens
}

fn tool_calls(p: &Prompt, d: &Directives, words: &mut Words) -> Option<Vec<ToolCall>> {
    if p.tools.is_empty() || p.tool_choice == ToolChoice::None {
        return None;
    }
    let forced = matches!(p.tool_choice, ToolChoice::Any | ToolChoice::Named(_));
    // A tool result ends an unforced loop: the directive stays in the history.
    let wanted = d.tool_calls.filter(|n| *n > 0 && p.tool_result.is_none());
    if !forced && wanted.is_none() {
        return None;
    }
    let n = wanted.unwrap_or(1);
    let calls = (0..n)
        .map(|i| {
            let tool = match &p.tool_choice {
                ToolChoice::Named(name) => p.tools.iter().find(|t| &t.name == name),
                _ => p.tools.get(i % p.tools.len()),
            };
            let (name, args) = match tool {
                Some(t) => (t.name.clone(), schema::instance(&t.schema, words)),
                None => (
                    p.tools.first().map(|t| t.name.clone()).unwrap_or_default(),
                    json!({}),
                ),
            };
            ToolCall {
                name,
                arguments: args.to_string(),
                args,
            }
        })
        .collect();
    Some(calls)
}

/// Earliest stop sequence in the concatenated text: (byte offset, sequence).
fn find_stop(tokens: &[String], stops: &[String]) -> Option<(usize, String)> {
    if stops.is_empty() {
        return None;
    }
    let full = tokens.concat();
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| full.find(s.as_str()).map(|pos| (pos, s.clone())))
        .min_by_key(|(pos, _)| *pos)
}

/// Keeps the text before byte offset `cut`, still one token per word.
fn truncate_at(tokens: &mut Vec<String>, cut: usize) {
    let mut seen = 0;
    let mut keep = 0;
    for tok in tokens.iter_mut() {
        if seen + tok.len() <= cut {
            seen += tok.len();
            keep += 1;
            continue;
        }
        let part = cut - seen;
        if part > 0 {
            tok.truncate(part);
            keep += 1;
        }
        break;
    }
    tokens.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(text: &str) -> Prompt {
        let mut p = Prompt::new();
        p.begin_message(true);
        p.user_text(text, true);
        p
    }

    #[test]
    fn echoes_and_fills() {
        let a = generate(&prompt("hello there"), &Directives::default(), 0);
        assert!(a.text().starts_with("You said: hello there. "));
        assert_eq!(a.tokens.len(), 20);
        assert_eq!(a.finish, Finish::Stop);
    }

    #[test]
    fn stop_sequence_cuts_before() {
        let mut p = prompt("alpha banana gamma");
        p.stop = vec!["banana".into()];
        let a = generate(&p, &Directives::default(), 0);
        assert_eq!(a.text(), "You said: alpha ");
        assert_eq!(a.finish, Finish::StopSequence("banana".into()));
    }

    #[test]
    fn max_tokens_is_length() {
        let mut p = prompt("hi");
        p.max_tokens = Some(5);
        let a = generate(&p, &Directives::default(), 0);
        assert_eq!(a.tokens.len(), 5);
        assert_eq!(a.finish, Finish::Length);
    }
}
