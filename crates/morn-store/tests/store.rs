//! The store suite, once per backend: `cargo nextest run -p morn-store` runs
//! `sqlite::*` on a temporary SQLite file and `postgres::*` on a fresh PostgreSQL
//! database each (see `suite/harness.rs` for `TEST_POSTGRES_URL`).

mod suite;

suite::store_suite! {
    tenancy::backend_basics,
    tenancy::org_round_trip,
    tenancy::orgs_paginate,
    tenancy::workspace_round_trip,
    tenancy::delete_workspace_cascades,
    tenancy::create_org_with_owner_commits_everything,
    tenancy::failed_transaction_leaves_nothing,
    members::org_membership_upsert_list_remove,
    members::workspace_membership_and_user_listings,
    members::last_owner_is_kept,
    members::concurrent_owner_removals_keep_one,
    users::user_round_trip_and_email_case,
    users::update_user_patch,
    users::users_paginate,
    keys::api_key_round_trip_and_conflicts,
    keys::api_keys_paginate_per_workspace,
    keys::update_api_key_patch,
    keys::revoke_and_touch,
    keys::rotate_api_key,
    keys::failed_rotation_leaves_old_key_untouched,
    keys::list_active_api_keys,
    keys::keys_of_inactive_users_are_not_active,
    sessions::refresh_token_round_trip,
    sessions::concurrent_mark_used_has_one_winner,
    sessions::family_revocation,
    sessions::user_sessions_and_expiry,
    audit::audit_filters,
    audit::audit_pages_newest_first,
    vault::vault_replace_by_name,
    vault::vault_rotation_and_delete,
    catalog::catalog_scoping,
    catalog::catalog_update_and_delete,
    catalog::catalog_rejects_cross_tenant_references,
    policy::rate_limit_round_trip,
    policy::rate_limit_constraints,
    policy::budget_round_trip,
    policy::budget_alert_fires_once,
    policy::price_override_round_trip,
    usage::usage_insert_is_idempotent,
    usage::usage_totals_and_filters,
    usage::usage_report_by_dimension,
    usage::usage_report_by_time_bucket,
    usage::usage_large_batch,
    usage::usage_ranges_off_the_hour_match_the_records,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_upgrade_sums_stored_records() -> anyhow::Result<()> {
    suite::upgrade::sqlite_upgrade_sums_stored_records().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrade_sums_stored_records() -> anyhow::Result<()> {
    suite::upgrade::postgres_upgrade_sums_stored_records().await
}
