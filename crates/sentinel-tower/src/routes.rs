//! Per-route policies: (method, route) → the name of an engine policy.

use std::collections::HashMap;

use http::Method;

/// The route table, built and validated by the layer builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct Routes {
    /// Route → (method or any, policy name).
    by_route: HashMap<String, Vec<(Option<Method>, String)>>,
}

impl Routes {
    /// Adds a route; `false` when (method, route) is already there.
    pub(crate) fn insert(&mut self, method: Option<Method>, route: &str, policy: &str) -> bool {
        let entries = self.by_route.entry(route.to_owned()).or_default();
        if entries.iter().any(|(m, _)| *m == method) {
            return false;
        }
        entries.push((method, policy.to_owned()));
        true
    }

    /// The policy for `method` on `route`: an entry for the method first, else one for any
    /// method; `None` means the engine's default policy.
    pub(crate) fn policy(&self, method: &Method, route: &str) -> Option<&str> {
        let entries = self.by_route.get(route)?;
        entries
            .iter()
            .find(|(m, _)| m.as_ref() == Some(method))
            .or_else(|| entries.iter().find(|(m, _)| m.is_none()))
            .map(|(_, p)| p.as_str())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_route.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_entry_wins_over_any_method_and_unknown_routes_have_none() {
        let mut r = Routes::default();
        assert!(r.insert(None, "/login", "login_any"));
        assert!(r.insert(Some(Method::POST), "/login", "login_post"));
        assert!(!r.insert(Some(Method::POST), "/login", "again"));
        assert_eq!(r.policy(&Method::POST, "/login"), Some("login_post"));
        assert_eq!(r.policy(&Method::GET, "/login"), Some("login_any"));
        assert_eq!(r.policy(&Method::GET, "/other"), None);
    }
}
