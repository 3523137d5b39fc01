//! Domain records the store reads and writes, plus pagination and patch types.
//!
//! Records are plain data. The service layer makes ids (UUID v7 strings, so ordering
//! by id is ordering by creation time) and timestamps (unix milliseconds); the store
//! writes what it is given.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tenant: owns workspaces, members, secrets, providers and models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    /// Unique across the installation.
    pub slug: String,
    pub created_at: i64,
}

/// A team or project inside an organization; API keys belong to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub org_id: String,
    pub name: String,
    /// Unique within the organization.
    pub slug: String,
    pub created_at: i64,
}

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// Unique; the store lower-cases it on write and on lookup.
    pub email: String,
    pub name: String,
    /// `None` for users who only sign in through an identity provider.
    pub password_hash: Option<String>,
    pub is_active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a member may do, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

impl Role {
    /// The text stored in the database (and checked by a CHECK constraint).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// A user's role in an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgMembership {
    pub org_id: String,
    pub user_id: String,
    pub role: Role,
    pub created_at: i64,
}

/// A user's role in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceMembership {
    pub workspace_id: String,
    pub user_id: String,
    pub role: Role,
    pub created_at: i64,
}

/// An organization a user belongs to, with the user's role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserOrg {
    pub org: Organization,
    pub role: Role,
}

/// A workspace a user belongs to, with the user's role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserWorkspace {
    pub workspace: Workspace,
    pub role: Role,
}

/// A gateway API key. Only the hash of the secret part is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub workspace_id: String,
    /// The user who created it; `None` for service keys (and after the user is deleted).
    pub user_id: Option<String>,
    pub name: String,
    /// The visible part shown in lists; unique.
    pub prefix: String,
    /// Hex digest of the whole key; unique; what authentication looks up.
    pub hash: String,
    pub scopes: Vec<String>,
    /// Empty means every model the workspace can use.
    pub allowed_models: Vec<String>,
    pub metadata: Value,
    pub expires_at: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The key this one replaced.
    pub rotated_from: Option<String>,
    /// After a rotation, the old key keeps working until this instant.
    pub grace_until: Option<i64>,
}

/// Changes to an API key; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyPatch {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub allowed_models: Option<Vec<String>>,
    pub metadata: Option<Value>,
    /// `Some(None)` removes the expiry.
    pub expires_at: Option<Option<i64>>,
    pub disabled: Option<bool>,
}

/// Changes to a user; `None` leaves a field as it is. `updated_at` is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPatch {
    pub name: Option<String>,
    /// `Some(None)` removes the password (identity-provider sign-in only).
    pub password_hash: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub updated_at: i64,
}

/// One refresh token of a session. A session is a family of tokens, each used once to
/// get the next; reusing a used token revokes the whole family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    /// Hex digest of the token; unique.
    pub hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Something that happened, who did it, to what. Append only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub org_id: String,
    /// Not a foreign key: events outlive the workspace they talk about.
    pub workspace_id: Option<String>,
    /// `user`, `api_key`, `system`...
    pub actor_type: String,
    pub actor_id: String,
    /// Dotted verb such as `api_key.revoke`.
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: Value,
    pub created_at: i64,
}

/// Which audit events to list; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub workspace_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    /// Inclusive lower bound on `created_at`.
    pub since: Option<i64>,
    /// Exclusive upper bound on `created_at`.
    pub until: Option<i64>,
}

/// An encrypted secret (a provider API key, say). The store never sees plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultSecret {
    pub id: String,
    pub org_id: String,
    /// `None` for an organization-wide secret.
    pub workspace_id: Option<String>,
    /// Unique per (organization, workspace or none).
    pub name: String,
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    /// Which master key encrypted it (master-key rotation re-encrypts by this).
    pub key_id: String,
    /// A few visible characters for the UI, like `sk-...f3a9`.
    pub hint: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// New ciphertext for a secret, written by master-key rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretCiphertext {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_id: String,
    pub updated_at: i64,
}

/// A configured upstream (OpenAI, Anthropic, a local vLLM...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderRecord {
    pub id: String,
    pub org_id: String,
    /// `None` for an organization-wide provider.
    pub workspace_id: Option<String>,
    /// Unique per (organization, workspace or none).
    pub name: String,
    /// Adapter name: `openai`, `anthropic`, `gemini`, `openai_compatible`...
    pub kind: String,
    pub base_url: Option<String>,
    /// The vault secret holding the upstream credential.
    pub secret_id: Option<String>,
    /// Extra upstream headers as a JSON object.
    pub headers: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A model name clients can ask for, with its routing spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    pub id: String,
    pub org_id: String,
    /// `None` for an organization-wide model.
    pub workspace_id: Option<String>,
    /// Unique per (organization, workspace or none).
    pub name: String,
    /// Deployments, strategy and fallbacks, owned by the gateway crate.
    pub spec: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Which slice of a keyset-paginated list to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Clamped to `1..=200`.
    pub limit: u32,
    /// The last id of the previous page (`Paged::next_after`); `None` for the first.
    pub after: Option<String>,
}

impl Page {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// The page after the item with id `after`.
    pub fn after(limit: u32, after: impl Into<String>) -> Self {
        Self {
            limit,
            after: Some(after.into()),
        }
    }

    /// The limit actually used.
    pub fn effective_limit(&self) -> u32 {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::first(Self::DEFAULT_LIMIT)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paged<T> {
    pub data: Vec<T>,
    /// Pass as `Page::after` for the next page; `None` when this is the last one.
    pub next_after: Option<String>,
}
