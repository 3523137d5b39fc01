//! Users.

use async_trait::async_trait;

use super::{map_row, map_rows, paged, paginate};
use crate::StoreError;
use crate::backend::{Backend, Query, RowRead, args, classify};
use crate::records::{Page, Paged, User, UserPatch};

/// People who sign in.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores the email lower-cased. `Conflict { what: "user email" }` when the
    /// email (in any case) is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError>;

    /// Case-insensitive.
    async fn get_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;

    async fn list_users(&self, page: Page) -> Result<Paged<User>, StoreError>;

    /// Applies the set fields of `patch`; returns the updated user.
    async fn update_user(&self, id: &str, patch: &UserPatch) -> Result<User, StoreError>;
}

const USER_COLS: &str = "id, email, name, password_hash, is_active, created_at, updated_at";

fn user_row(row: &impl RowRead) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.text("id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        password_hash: row.opt_text("password_hash")?,
        is_active: row.flag("is_active")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn select_user() -> Query {
    Query::new("SELECT ")
        .sql(USER_COLS)
        .sql(" FROM users WHERE ")
}

#[async_trait]
impl<B: Backend> UserStore for B {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO users (")
            .sql(USER_COLS)
            .sql(") VALUES (");
        let query = query
            .binds(args![
                &user.id,
                user.email.to_lowercase().as_str(),
                &user.name,
                &user.password_hash,
                user.is_active,
                user.created_at,
                user.updated_at,
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "user email"))?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let row = self
            .fetch_optional(select_user().sql("id = ").bind(id))
            .await?;
        map_row(row, user_row)
    }

    async fn get_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let query = select_user()
            .sql("email = ")
            .bind(email.to_lowercase().as_str());
        map_row(self.fetch_optional(query).await?, user_row)
    }

    async fn list_users(&self, page: Page) -> Result<Paged<User>, StoreError> {
        let query = paginate(select_user().sql("1 = 1"), &page, "id");
        let rows = map_rows(self.fetch_all(query).await?, user_row)?;
        Ok(paged(rows, &page, |user| &user.id))
    }

    async fn update_user(&self, id: &str, patch: &UserPatch) -> Result<User, StoreError> {
        let mut query = Query::new("UPDATE users SET updated_at = ").bind(patch.updated_at);
        if let Some(name) = &patch.name {
            query = query.sql(", name = ").bind(name);
        }
        if let Some(password_hash) = &patch.password_hash {
            query = query.sql(", password_hash = ").bind(password_hash);
        }
        if let Some(is_active) = patch.is_active {
            query = query.sql(", is_active = ").bind(is_active);
        }
        let query = query
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" RETURNING ")
            .sql(USER_COLS);
        map_row(self.fetch_optional(query).await?, user_row)?
            .ok_or(StoreError::NotFound { what: "user" })
    }
}
