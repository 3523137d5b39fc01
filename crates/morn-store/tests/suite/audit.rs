//! The audit trail.

use morn_store::{AuditEvent, AuditFilter, Page};
use serde_json::json;

use super::{Shared, collect_pages, expect_reference, id, new_org};

fn event(org_id: &str, ws: Option<&str>, actor: &str, action: &str, at: i64) -> AuditEvent {
    AuditEvent {
        id: id(),
        org_id: org_id.to_owned(),
        workspace_id: ws.map(str::to_owned),
        actor_type: "user".into(),
        actor_id: actor.to_owned(),
        action: action.to_owned(),
        target_type: "api_key".into(),
        target_id: Some(id()),
        ip: Some("198.51.100.1".into()),
        user_agent: None,
        details: json!({"before": {"name": "a"}, "after": {"name": "b"}}),
        created_at: at,
    }
}

pub async fn audit_filters(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let other = new_org(&store).await?;
    let o = org.id.as_str();
    let events = [
        event(o, Some("ws-1"), "alice", "api_key.create", 100),
        event(o, Some("ws-1"), "bob", "api_key.revoke", 200),
        event(o, Some("ws-2"), "alice", "api_key.revoke", 300),
        event(o, None, "carol", "org.rename", 400),
    ];
    for e in &events {
        store.append_audit(e).await?;
    }
    store
        .append_audit(&event(
            &other.id,
            Some("ws-1"),
            "alice",
            "api_key.create",
            150,
        ))
        .await?;

    let ids = |filter: AuditFilter| {
        let store = store.clone();
        let org_id = org.id.clone();
        async move {
            let page = store.list_audit(&org_id, &filter, Page::default()).await?;
            anyhow::Ok(page.data.into_iter().map(|e| e.id).collect::<Vec<_>>())
        }
    };
    let id_of = |i: usize| events[i].id.clone();

    let all = store
        .list_audit(&org.id, &AuditFilter::default(), Page::default())
        .await?;
    assert_eq!(all.data.len(), 4, "other orgs' events are invisible");
    assert_eq!(
        all.data[0], events[3],
        "newest first, every field round-trips"
    );

    let by_ws = AuditFilter {
        workspace_id: Some("ws-1".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(by_ws).await?, vec![id_of(1), id_of(0)]);
    let by_actor = AuditFilter {
        actor_id: Some("alice".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(by_actor).await?, vec![id_of(2), id_of(0)]);
    let by_action = AuditFilter {
        action: Some("api_key.revoke".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(by_action).await?, vec![id_of(2), id_of(1)]);
    let window = AuditFilter {
        since: Some(200),
        until: Some(400),
        ..AuditFilter::default()
    };
    assert_eq!(
        ids(window).await?,
        vec![id_of(2), id_of(1)],
        "since inclusive, until exclusive"
    );
    let combined = AuditFilter {
        workspace_id: Some("ws-1".into()),
        actor_id: Some("bob".into()),
        action: Some("api_key.revoke".into()),
        since: Some(100),
        until: Some(201),
    };
    assert_eq!(ids(combined).await?, vec![id_of(1)]);
    let nothing = AuditFilter {
        actor_id: Some("mallory".into()),
        ..AuditFilter::default()
    };
    assert!(ids(nothing).await?.is_empty());

    expect_reference(store.append_audit(&event(&id(), None, "x", "y", 1)).await)?;
    Ok(())
}

pub async fn audit_pages_newest_first(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let mut appended = Vec::new();
    for i in 0..7 {
        // Two events share each timestamp: the id breaks the tie.
        let e = event(&org.id, None, "alice", "key.use", 1_000 + i / 2);
        store.append_audit(&e).await?;
        appended.push(e.id);
    }
    let (ids, pages) = collect_pages(
        3,
        |e: &AuditEvent| e.id.clone(),
        |page| {
            let store = store.clone();
            let org_id = org.id.clone();
            async move {
                store
                    .list_audit(&org_id, &AuditFilter::default(), page)
                    .await
            }
        },
    )
    .await?;
    assert_eq!(pages, 3);
    appended.reverse();
    assert_eq!(ids, appended, "newest first, no duplicates, none missing");
    Ok(())
}
