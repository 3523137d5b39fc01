//! The authenticated caller of a request.

use std::sync::Arc;

use super::CachedKey;

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The master key: every endpoint, every model.
    Master,
    /// A workspace API key.
    Key(Arc<CachedKey>),
}

/// What an API key may call. A key without scopes may call every gateway endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/v1/chat/completions` and `/v1/messages`.
    Chat,
    Embeddings,
    Models,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Embeddings => "embeddings",
            Self::Models => "models",
        }
    }

    /// The scope a `/v1` path needs.
    pub fn for_path(path: &str) -> Option<Self> {
        let path = path.strip_prefix("/v1").unwrap_or(path);
        if path.starts_with("/chat/") || path.starts_with("/messages") {
            Some(Self::Chat)
        } else if path.starts_with("/embeddings") {
            Some(Self::Embeddings)
        } else if path.starts_with("/models") {
            Some(Self::Models)
        } else {
            None
        }
    }
}

impl Principal {
    /// Whether this caller may use `model`.
    pub fn allows_model(&self, model: &str) -> bool {
        match self {
            Self::Master => true,
            Self::Key(key) => {
                key.allowed_models.is_empty() || key.allowed_models.iter().any(|m| m == model)
            }
        }
    }

    /// Whether this caller may call an endpoint of `scope`.
    pub fn allows_scope(&self, scope: Scope) -> bool {
        match self {
            Self::Master => true,
            Self::Key(key) => {
                key.scopes.is_empty() || key.scopes.iter().any(|s| s == scope.as_str() || s == "*")
            }
        }
    }

    /// The workspace whose key this is.
    pub fn workspace_id(&self) -> Option<&str> {
        match self {
            Self::Master => None,
            Self::Key(key) => Some(&key.workspace_id),
        }
    }
}
