//! API key actions: the names Meilisearch 1.50 accepts, how wildcard
//! actions expand, and which action each route of the double needs
//! (meilisearch-types `keys.rs`, meilisearch-auth `store.rs`, the routes'
//! `ActionPolicy`).

/// Every action name, in Meilisearch's order (its error messages list them so).
pub const ACTIONS: &[&str] = &[
    "*",
    "search",
    "documents.*",
    "documents.add",
    "documents.get",
    "documents.delete",
    "indexes.*",
    "indexes.create",
    "indexes.get",
    "indexes.update",
    "indexes.delete",
    "indexes.swap",
    "tasks.*",
    "tasks.cancel",
    "tasks.delete",
    "tasks.get",
    "settings.*",
    "settings.get",
    "settings.update",
    "stats.*",
    "stats.get",
    "metrics.*",
    "metrics.get",
    "dumps.*",
    "dumps.create",
    "snapshots.*",
    "snapshots.create",
    "version",
    "keys.create",
    "keys.get",
    "keys.update",
    "keys.delete",
    "experimental.get",
    "experimental.update",
    "export",
    "network.get",
    "network.update",
    "chatCompletions",
    "chats.*",
    "chats.get",
    "chats.delete",
    "chatsSettings.*",
    "chatsSettings.get",
    "chatsSettings.update",
    "*.get",
    "webhooks.get",
    "webhooks.update",
    "webhooks.delete",
    "webhooks.create",
    "webhooks.*",
    "indexes.compact",
    "fields.post",
    "tasks.compact",
    "dynamicSearchRules.get",
    "dynamicSearchRules.create",
    "dynamicSearchRules.update",
    "dynamicSearchRules.delete",
    "dynamicSearchRules.*",
];

/// The actions `*.get` grants (Meilisearch's `Action::is_read`).
const READ: &[&str] = &[
    "search",
    "documents.get",
    "export",
    "indexes.get",
    "tasks.get",
    "settings.get",
    "stats.get",
    "metrics.get",
    "version",
    "experimental.get",
    "network.get",
    "chats.get",
    "chatsSettings.get",
    "webhooks.get",
    "fields.post",
    "dynamicSearchRules.get",
];

/// Whether a key holding `granted` may perform `action`.
pub fn grants(granted: &[String], action: &str) -> bool {
    granted.iter().any(|g| match g.as_str() {
        "*" => true,
        "*.get" => READ.contains(&action),
        g => match g.strip_suffix(".*") {
            Some(family) => action.split_once('.').is_some_and(|(f, _)| f == family),
            None => g == action,
        },
    })
}

/// The action a request needs, and the index uid in its path. `None` for
/// public routes (`/health`) and for the double's own routes (master key only).
pub fn required(method: &str, path: &str) -> Option<(&'static str, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let get = method == "GET";
    let action = match parts.as_slice() {
        ["health"] => return None,
        ["version"] => "version",
        ["stats"] => "stats.get",
        ["multi-search"] => "search",
        ["swap-indexes"] => "indexes.swap",
        ["experimental-features"] => {
            if get {
                "experimental.get"
            } else {
                "experimental.update"
            }
        }
        ["keys"] | ["keys", _] => match method {
            "GET" => "keys.get",
            "POST" => "keys.create",
            "PATCH" => "keys.update",
            _ => "keys.delete",
        },
        ["tasks"] => match method {
            "DELETE" => "tasks.delete",
            _ => "tasks.get",
        },
        ["tasks", "cancel"] => "tasks.cancel",
        ["tasks", ..] | ["batches", ..] => "tasks.get",
        ["indexes"] => {
            if get {
                "indexes.get"
            } else {
                "indexes.create"
            }
        }
        ["indexes", uid, rest @ ..] => {
            let action = match (method, rest) {
                ("GET", []) => "indexes.get",
                ("PATCH", []) => "indexes.update",
                (_, []) => "indexes.delete",
                (_, ["search"]) | (_, ["facet-search"]) | (_, ["similar"]) => "search",
                ("GET", ["documents", ..]) | (_, ["documents", "fetch"]) => "documents.get",
                ("POST" | "PUT", ["documents"]) => "documents.add",
                (_, ["documents", ..]) => "documents.delete",
                ("GET", ["settings", ..]) => "settings.get",
                (_, ["settings", ..]) => "settings.update",
                (_, ["stats"]) => "stats.get",
                (_, ["fields"]) => "fields.post",
                _ => "*",
            };
            return Some((action, Some(percent_decode(uid))));
        }
        _ => "*",
    };
    Some((action, None))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_expand_like_meilisearch() {
        let k = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(grants(&k(&["*"]), "keys.create"));
        assert!(grants(&k(&["documents.*"]), "documents.add"));
        assert!(!grants(&k(&["documents.*"]), "search"));
        assert!(grants(&k(&["*.get"]), "search") && grants(&k(&["*.get"]), "version"));
        assert!(!grants(&k(&["*.get"]), "keys.get"));
        assert!(grants(&k(&["indexes.*"]), "indexes.swap"));
    }

    #[test]
    fn routes_need_their_action() {
        assert_eq!(required("GET", "/health"), None);
        assert_eq!(
            required("POST", "/indexes/books/search"),
            Some(("search", Some("books".into())))
        );
        assert_eq!(
            required("POST", "/indexes/books/documents/fetch"),
            Some(("documents.get", Some("books".into())))
        );
        assert_eq!(
            required("DELETE", "/indexes/books/documents/1"),
            Some(("documents.delete", Some("books".into())))
        );
        assert_eq!(
            required("PATCH", "/indexes/books/settings/faceting"),
            Some(("settings.update", Some("books".into())))
        );
        assert_eq!(
            required("POST", "/tasks/cancel"),
            Some(("tasks.cancel", None))
        );
        assert_eq!(required("GET", "/batches/1"), Some(("tasks.get", None)));
    }
}
