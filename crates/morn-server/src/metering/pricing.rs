//! Which price applies to a request: the most specific override of the caller's
//! organization, else the catalog's price for the deployment's upstream model, else
//! the catalog's price for the Morn model name.
//!
//! Override precedence: workspace + deployment, workspace + model, organization +
//! deployment, organization + model.

use morn_meter::prices::{Price, PriceCatalog};

use super::policy::PolicySet;

/// Who is asking, for override lookup.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tenant<'a> {
    pub org_id: Option<&'a str>,
    pub workspace_id: Option<&'a str>,
}

/// The price of `model` served by `deployment` (`<provider>/<upstream model>`), if any
/// is known.
pub fn resolve<'a>(
    catalog: &'a PriceCatalog,
    policies: &'a PolicySet,
    tenant: Tenant<'_>,
    model: &str,
    deployment: Option<&str>,
) -> Option<&'a Price> {
    if let Some(price) = tenant
        .org_id
        .and_then(|org| policies.prices.get(org))
        .and_then(|list| {
            let rank = |o: &&super::policy::Override| {
                let ws = match (&o.workspace_id, tenant.workspace_id) {
                    (None, _) => Some(0),
                    (Some(w), Some(t)) if w == t => Some(2),
                    _ => None,
                }?;
                let dep = match (&o.deployment, deployment) {
                    (None, _) => Some(0),
                    (Some(d), Some(t)) if d == t => Some(1),
                    _ => None,
                }?;
                (o.model == model).then_some(ws + dep)
            };
            list.iter()
                .filter_map(|o| rank(&o).map(|r| (r, o)))
                .max_by_key(|(r, _)| *r)
                .map(|(_, o)| &o.price)
        })
    {
        return Some(price);
    }
    let upstream = deployment.and_then(|d| {
        catalog.get(d).or_else(|| {
            d.split_once('/')
                .and_then(|(_, upstream)| catalog.get(upstream))
        })
    });
    upstream.or_else(|| catalog.get(model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metering::policy::Override;

    fn price(input: i64) -> Price {
        Price {
            input,
            output: input,
            ..Price::default()
        }
    }

    #[test]
    fn most_specific_override_wins() {
        let mut catalog = PriceCatalog::default();
        catalog.prices.insert("up".into(), price(1));
        let mut set = PolicySet::default();
        let o = |ws: Option<&str>, dep: Option<&str>, p| Override {
            workspace_id: ws.map(str::to_owned),
            model: "m".into(),
            deployment: dep.map(str::to_owned),
            price: price(p),
        };
        set.prices.insert(
            "org".into(),
            vec![
                o(None, None, 10),
                o(None, Some("p/up"), 20),
                o(Some("ws"), None, 30),
                o(Some("other"), Some("p/up"), 99),
            ],
        );
        let t = |ws| Tenant {
            org_id: Some("org"),
            workspace_id: ws,
        };
        let input = |p: Option<&Price>| p.map(|p| p.input);
        assert_eq!(
            input(resolve(&catalog, &set, t(Some("ws")), "m", Some("p/up"))),
            Some(30)
        );
        assert_eq!(
            input(resolve(&catalog, &set, t(None), "m", Some("p/up"))),
            Some(20)
        );
        assert_eq!(
            input(resolve(&catalog, &set, t(None), "m", Some("p/x"))),
            Some(10)
        );
        // Another organization sees the catalog.
        let other = Tenant {
            org_id: Some("else"),
            workspace_id: None,
        };
        assert_eq!(
            input(resolve(&catalog, &set, other, "m", Some("p/up"))),
            Some(1)
        );
        assert_eq!(input(resolve(&catalog, &set, other, "m", None)), None);
    }
}
