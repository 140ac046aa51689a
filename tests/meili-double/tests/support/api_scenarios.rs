//! Scenarios for the rest of the API (multi-search and federation, facet
//! search, API keys and tenant tokens, task cancelation/deletion, batches,
//! swaps, experimental features, fields), recorded like the others.

use serde_json::json;

use super::scenarios::{delete, get, post, send, Scenario, StepExt, BOOKS, MOVIES};
use super::tokens::{key_value, tenant_token};
use super::Request;

/// Books and movies with filterable and sortable attributes.
fn library() -> Vec<Request> {
    vec![
        post("/indexes/books/documents", BOOKS),
        post("/indexes/movies/documents", MOVIES),
        send(
            "PATCH",
            "/indexes/books/settings",
            r#"{"filterableAttributes":["genre","author","year"],"sortableAttributes":["year","title"]}"#,
        ),
        send(
            "PATCH",
            "/indexes/movies/settings",
            r#"{"filterableAttributes":["genre","year","tags"],"sortableAttributes":["year","title"]}"#,
        )
        .wait(),
    ]
}

fn ms(body: &str) -> Request {
    post("/multi-search", body)
}

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "multi_search",
            server_args: vec![],
            steps: {
                let mut s = library();
                s.extend(vec![
                    ms(r#"{"queries":[{"indexUid":"books","q":"ring"},{"indexUid":"movies","q":"mad","limit":1}]}"#),
                    ms(r#"{"queries":[{"indexUid":"books","q":"the","page":1,"hitsPerPage":2,"facets":["genre"]},{"indexUid":"movies","filter":"year > 2014","showRankingScore":true,"sort":["year:desc"]}]}"#),
                    ms(r#"{"queries":[]}"#),
                    ms(r#"{"queries":[{"indexUid":"books","q":"dune"},{"indexUid":"nope","q":"x"}]}"#),
                    ms(r#"{"queries":[{"indexUid":"books","limit":"x"}]}"#),
                    ms(r#"{"queries":[{"indexUid":"books","filter":"title = x"}]}"#),
                    ms(r#"{"queries":[{"q":"x"}]}"#),
                    ms(r#"{"queries":[{"indexUid":"books","bogus":1}]}"#),
                    ms(r#"{"queries":{"indexUid":"books"}}"#),
                    ms(r#"{}"#),
                    ms(r#"{"queries":[{"indexUid":"books","federationOptions":{"weight":2}}]}"#),
                    ms(r#"{"queries":[{"indexUid":"books","q":"ring","showRankingScoreDetails":true,"attributesToRetrieve":["title"]}]}"#),
                ]);
                s
            },
        },
        Scenario {
            name: "federated_search",
            server_args: vec![],
            steps: {
                let mut s = library();
                s.extend(vec![
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"ring"},{"indexUid":"movies","q":"road"}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"the"},{"indexUid":"movies","q":"the","federationOptions":{"weight":2.5}}]}"#),
                    ms(r#"{"federation":{"offset":1,"limit":3},"queries":[{"indexUid":"books"},{"indexUid":"movies"}]}"#),
                    ms(r#"{"federation":{"page":2,"hitsPerPage":3},"queries":[{"indexUid":"books","q":"the"},{"indexUid":"movies"}]}"#),
                    ms(r#"{"federation":{"hitsPerPage":4},"queries":[{"indexUid":"books"},{"indexUid":"movies","q":"life"}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"dark","showRankingScore":true},{"indexUid":"movies","q":"wonder","showRankingScoreDetails":true}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"ring"},{"indexUid":"books","q":"tolkien"}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","sort":["year:desc"]},{"indexUid":"movies","sort":["year:desc"]}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","filter":"genre = fantasy","q":"the","attributesToRetrieve":["title"],"federationOptions":{"weight":0.5}},{"indexUid":"movies","attributesToRetrieve":["title"],"showRankingScore":true}]}"#),
                    ms(r#"{"federation":{"facetsByIndex":{"books":["genre","year"],"movies":["genre"]}},"queries":[{"indexUid":"books","q":"the"},{"indexUid":"movies"}]}"#),
                    ms(r#"{"federation":{"facetsByIndex":{"books":["genre","year"],"movies":["genre","year"]},"mergeFacets":{}},"queries":[{"indexUid":"books"},{"indexUid":"movies"}],"limit":0}"#),
                    ms(r#"{"federation":{"facetsByIndex":{"books":["genre","year"],"movies":["genre","year"]},"mergeFacets":{"maxValuesPerFacet":3}},"queries":[{"indexUid":"books"},{"indexUid":"movies"}]}"#),
                    ms(r#"{"federation":{"facetsByIndex":{"books":["title"]}},"queries":[{"indexUid":"books"}]}"#),
                    ms(r#"{"federation":{"facetsByIndex":{"movies":["genre"]}},"queries":[{"indexUid":"books"}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","limit":2}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","facets":["genre"]}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books"},{"indexUid":"nope"}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","federationOptions":{"weight":-1}}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","federationOptions":{"bogus":1}}]}"#),
                    ms(r#"{"federation":{"bogus":1},"queries":[{"indexUid":"books"}]}"#),
                    ms(r#"{"federation":{"limit":"x"},"queries":[{"indexUid":"books"}]}"#),
                    ms(r#"{"federation":{},"queries":[]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","sort":["year:desc"]},{"indexUid":"movies","sort":["year:asc"]}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"ring"},{"indexUid":"movies","sort":["year:asc"]}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"ring","sort":["year:desc"]},{"indexUid":"books","q":"dune","matchingStrategy":"all","sort":["year:desc","title:asc"]},{"indexUid":"movies","q":"mad","sort":["year:asc"]}]}"#),
                    ms(r#"{"federation":{"distinct":"genre"},"queries":[{"indexUid":"books"},{"indexUid":"movies","attributesToRetrieve":["title"]}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"ring","filter":"year > 1960"},{"indexUid":"movies","q":"mad max","matchingStrategy":"all"}]}"#),
                    send("PATCH", "/indexes/movies/settings/faceting", r#"{"sortFacetValuesBy":{"genre":"count"}}"#).wait(),
                    ms(r#"{"federation":{"facetsByIndex":{"books":["genre","year"],"movies":["genre"]},"mergeFacets":{}},"queries":[{"indexUid":"books"},{"indexUid":"movies"}]}"#),
                    ms(r#"{"federation":{"facetsByIndex":{"books":["year"],"movies":["genre","year"]},"mergeFacets":{}},"queries":[{"indexUid":"books"},{"indexUid":"movies"}]}"#),
                    ms(r#"{"federation":{"facetsByIndex":{"books":["genre"],"movies":["genre"]}},"queries":[{"indexUid":"books"},{"indexUid":"movies"}]}"#),
                    send("PUT", "/indexes/movies/settings/ranking-rules", r#"["typo","words","year:desc","sort","typo","exactness"]"#).wait(),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"books","q":"the"},{"indexUid":"movies","q":"the"}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"movies","q":"the","sort":["title:asc"]},{"indexUid":"books","q":"the","sort":["year:desc"]}]}"#),
                    ms(r#"{"federation":{},"queries":[{"indexUid":"movies"},{"indexUid":"books","sort":["year:asc"]}]}"#),
                ]);
                s
            },
        },
        Scenario {
            name: "facet_search",
            server_args: vec![],
            steps: {
                let mut s = library();
                s.extend(vec![
                    post("/indexes/books/facet-search", r#"{"facetName":"genre"}"#),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","facetQuery":"fan"}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","facetQuery":"scfi"}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"author","facetQuery":"j"}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","q":"ring"}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","q":"the ring","matchingStrategy":"all"}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"author","filter":"year < 1960"}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","q":"tolkien","attributesToSearchOn":["title"]}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","exhaustiveFacetCount":true}"#,
                    ),
                    post("/indexes/books/facet-search", r#"{"facetName":"year"}"#),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"year","facetQuery":"19"}"#,
                    ),
                    post("/indexes/books/facet-search", r#"{"facetName":"title"}"#),
                    post("/indexes/books/facet-search", r#"{}"#),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","bogus":1}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","facetQuery":1}"#,
                    ),
                    post(
                        "/indexes/books/facet-search",
                        r#"{"facetName":"genre","filter":"title = x"}"#,
                    ),
                    post("/indexes/nope/facet-search", r#"{"facetName":"genre"}"#),
                    post("/indexes/movies/facet-search", r#"{"facetName":"tags"}"#),
                    send(
                        "PATCH",
                        "/indexes/books/settings/faceting",
                        r#"{"sortFacetValuesBy":{"*":"count"}}"#,
                    )
                    .wait(),
                    post("/indexes/books/facet-search", r#"{"facetName":"genre"}"#),
                    send(
                        "PATCH",
                        "/indexes/books/settings/faceting",
                        r#"{"maxValuesPerFacet":2}"#,
                    )
                    .wait(),
                    post("/indexes/books/facet-search", r#"{"facetName":"genre"}"#),
                    send(
                        "PATCH",
                        "/indexes/books/settings",
                        r#"{"facetSearch":false}"#,
                    )
                    .wait(),
                    post("/indexes/books/facet-search", r#"{"facetName":"genre"}"#),
                ]);
                s
            },
        },
        Scenario {
            name: "keys",
            server_args: vec![],
            steps: keys_steps(),
        },
        Scenario {
            name: "tenant_tokens",
            server_args: vec![],
            steps: token_steps(),
        },
        Scenario {
            name: "tasks_more",
            server_args: vec![],
            steps: {
                let mut s = library();
                s.extend(vec![
                    post("/indexes", r#"{"uid":"books"}"#).wait(),
                    get("/tasks?batchUids=0"),
                    get("/tasks?types=settingsUpdate,documentAdditionOrUpdate&statuses=succeeded"),
                    get("/tasks?indexUids=books&limit=2"),
                    get("/tasks?afterEnqueuedAt=2000-01-01&beforeEnqueuedAt=2100-01-01T00:00:00Z&limit=1"),
                    get("/tasks?beforeEnqueuedAt=2000-01-01"),
                    get("/tasks?afterStartedAt=2000-01-01&afterFinishedAt=2000-01-01&beforeStartedAt=2100-01-01&beforeFinishedAt=2100-01-01"),
                    get("/tasks?afterEnqueuedAt=yesterday"),
                    get("/tasks?canceledBy=1"),
                    get("/tasks?from=3&limit=2&reverse=true"),
                    get("/tasks?uids=1,3&reverse=true"),
                    get("/tasks?statuses=*&types=*&indexUids=*"),
                    post("/tasks/cancel", ""),
                    req_empty("POST", "/tasks/cancel"),
                    req_empty("POST", "/tasks/cancel?statuses=enqueued,processing").wait(),
                    get("/tasks/5"),
                    req_empty("POST", "/tasks/cancel?uids=0,1").wait(),
                    get("/tasks/6"),
                    req_empty("POST", "/tasks/cancel?bogus=1"),
                    req_empty("DELETE", "/tasks"),
                    req_empty("DELETE", "/tasks?uids=0,1&statuses=succeeded").wait(),
                    get("/tasks/7"),
                    get("/tasks/0"),
                    get("/tasks?limit=3"),
                    req_empty("DELETE", "/tasks?types=taskCancelation").wait(),
                    get("/tasks/8"),
                    req_empty("DELETE", "/tasks?uids=x"),
                    get("/tasks?types=taskDeletion,taskCancelation"),
                    get("/batches?limit=2").shape_only(),
                    get("/batches/2").shape_only(),
                    get("/batches/999"),
                    get("/batches/x"),
                    get("/batches?uids=3&reverse=true").shape_only(),
                    get("/batches?statuses=failed"),
                ]);
                s
            },
        },
        Scenario {
            name: "misc_routes",
            server_args: vec![],
            steps: {
                let mut s = library();
                s.extend(vec![
                    post("/indexes", r#"{"uid":"empty"}"#).wait(),
                    post("/swap-indexes", r#"[{"indexes":["books","movies"]}]"#).wait(),
                    get("/tasks/4"),
                    post(
                        "/indexes/books/documents/fetch",
                        r#"{"limit":2,"fields":["title"]}"#,
                    ),
                    post("/swap-indexes", r#"[{"indexes":["books","nope"]}]"#).wait(),
                    get("/tasks/5"),
                    post("/swap-indexes", r#"[{"indexes":["books"]}]"#),
                    post(
                        "/swap-indexes",
                        r#"[{"indexes":["books","movies"]},{"indexes":["movies","empty"]}]"#,
                    ),
                    post("/swap-indexes", r#"{"indexes":["books","movies"]}"#),
                    post(
                        "/swap-indexes",
                        r#"[{"indexes":["books","renamed"],"rename":true}]"#,
                    )
                    .wait(),
                    get("/tasks/6"),
                    get("/indexes"),
                    get("/experimental-features"),
                    send("PATCH", "/experimental-features", r#"{"metrics":true}"#),
                    get("/experimental-features"),
                    send("PATCH", "/experimental-features", r#"{"bogus":true}"#),
                    send("PATCH", "/experimental-features", r#"{"metrics":"yes"}"#),
                    get("/stats"),
                    post("/indexes/renamed/fields", r#"{}"#),
                    post("/indexes/renamed/fields", r#"{"limit":2,"offset":1}"#),
                    post(
                        "/indexes/renamed/fields",
                        r#"{"filter":{"filterable":true}}"#,
                    ),
                    post("/indexes/nope/fields", r#"{}"#),
                    post(
                        "/indexes/movies/documents/fetch",
                        r#"{"ids":["4","1"],"sort":["year:desc"]}"#,
                    ),
                    get("/indexes/movies/documents?sort=year:asc&ids=1,2,3&fields=id,year"),
                    metadata(post("/indexes/movies/search", r#"{"q":"ring","attributesToRetrieve":["id"]}"#)),
                    metadata(get("/indexes/movies/search?attributesToRetrieve=id&limit=1")),
                    metadata(post("/indexes/empty/search", r#"{"q":""}"#)),
                    metadata(ms(r#"{"queries":[{"indexUid":"movies","q":"ring","limit":1,"attributesToRetrieve":["id"]},{"indexUid":"renamed","limit":1,"attributesToRetrieve":["id"]}]}"#)),
                    metadata(ms(r#"{"federation":{"limit":2},"queries":[{"indexUid":"renamed","q":"life","attributesToRetrieve":["id"]},{"indexUid":"movies","attributesToRetrieve":["id"]}]}"#)),
                    post("/indexes/movies/search", r#"{"filter":"genre CONTAINS ntas","attributesToRetrieve":["id"]}"#),
                    send("PATCH", "/experimental-features", r#"{"containsFilter":true}"#),
                    post("/indexes/movies/search", r#"{"filter":"genre CONTAINS ntas","attributesToRetrieve":["id"]}"#),
                    post("/indexes/movies/search", r#"{"filter":"genre NOT CONTAINS ntas AND author CONTAINS \"r. r\"","attributesToRetrieve":["id"]}"#),
                    post("/indexes/movies/documents/fetch", r#"{"filter":"author CONTAINS tolk","fields":["id"]}"#),
                ]);
                s
            },
        },
    ]
}

fn metadata(mut step: Request) -> Request {
    step.headers
        .push(("Meili-Include-Metadata".into(), "true".into()));
    step
}

fn req_empty(method: &str, path: &str) -> Request {
    super::scenarios::req(method, path, None, None)
}

const SEARCH_UID: &str = "11111111-1111-4111-8111-111111111111";
const BOOKS_UID: &str = "22222222-2222-4222-8222-222222222222";
const ADMIN_UID: &str = "33333333-3333-4333-8333-333333333333";
const DOCS_UID: &str = "44444444-4444-4444-8444-444444444444";
const STAR_UID: &str = "55555555-5555-4555-8555-555555555555";
const TASKS_UID: &str = "77777777-7777-4777-8777-777777777777";

fn with_key(step: Request, uid: &str) -> Request {
    step.auth(&format!("bearer:{}", key_value(uid)))
}

fn keys_steps() -> Vec<Request> {
    let mut s = library();
    let search_key = format!(
        r#"{{"uid":"{SEARCH_UID}","name":"search","description":"search only","actions":["search"],"indexes":["*"],"expiresAt":null}}"#
    );
    s.extend(vec![
        get("/keys"),
        get("/keys?offset=1&limit=1"),
        get("/keys?limit=x"),
        post("/keys", &search_key),
        post("/keys", &search_key),
        post("/keys", &format!(r#"{{"uid":"{BOOKS_UID}","actions":["search","documents.get"],"indexes":["books"],"expiresAt":"2100-01-01T00:00:00Z"}}"#)),
        post("/keys", &format!(r#"{{"uid":"{ADMIN_UID}","name":"admin","actions":["indexes.*","tasks.get","settings.get","stats.get","version","keys.get"],"indexes":["*"],"expiresAt":null}}"#)),
        post("/keys", &format!(r#"{{"uid":"{DOCS_UID}","actions":["documents.add","documents.delete","documents.*"],"indexes":["mov*"],"expiresAt":null}}"#)),
        post("/keys", &format!(r#"{{"uid":"{STAR_UID}","actions":["*"],"indexes":["*"],"expiresAt":null}}"#)),
        post("/keys", r#"{"actions":["search"],"indexes":["*"]}"#),
        post("/keys", r#"{"actions":["nope"],"indexes":["*"],"expiresAt":null}"#),
        post("/keys", r#"{"indexes":["*"],"expiresAt":null}"#),
        post("/keys", r#"{"actions":["search"],"expiresAt":null}"#),
        post("/keys", r#"{"actions":["search"],"indexes":["*"],"expiresAt":"2000-01-01T00:00:00Z"}"#),
        post("/keys", r#"{"actions":["search"],"indexes":["*"],"expiresAt":"tomorrow"}"#),
        post("/keys", r#"{"uid":"not-a-uuid","actions":["search"],"indexes":["*"],"expiresAt":null}"#),
        post("/keys", r#"{"actions":["search"],"indexes":["a b"],"expiresAt":null}"#),
        post("/keys", r#"{"actions":["search"],"indexes":["*"],"expiresAt":null,"bogus":1}"#),
        get(&format!("/keys/{SEARCH_UID}")),
        get(&format!("/keys/{}", key_value(BOOKS_UID))),
        get("/keys/66666666-6666-4666-8666-666666666666"),
        get("/keys/whatever"),
        send("PATCH", &format!("/keys/{SEARCH_UID}"), r#"{"name":"renamed","description":null}"#),
        send("PATCH", &format!("/keys/{SEARCH_UID}"), r#"{"actions":["*"]}"#),
        send("PATCH", &format!("/keys/{SEARCH_UID}"), r#"{"name":1}"#),
        get("/keys?limit=3"),
        // what each key may do
        with_key(post("/indexes/books/search", r#"{"q":"dune"}"#), SEARCH_UID),
        with_key(get("/indexes/movies/search?q=moana"), SEARCH_UID),
        with_key(ms(r#"{"queries":[{"indexUid":"books","q":"dune"}]}"#), SEARCH_UID),
        with_key(post("/indexes/books/documents", r#"[{"id":99}]"#), SEARCH_UID),
        with_key(get("/indexes"), SEARCH_UID),
        with_key(get("/keys"), SEARCH_UID),
        with_key(get("/version"), SEARCH_UID),
        with_key(get("/health"), SEARCH_UID),
        with_key(post("/indexes/books/search", r#"{"q":"dune"}"#), BOOKS_UID),
        with_key(post("/indexes/movies/search", r#"{"q":"moana"}"#), BOOKS_UID),
        with_key(ms(r#"{"queries":[{"indexUid":"books"},{"indexUid":"movies"}]}"#), BOOKS_UID),
        with_key(get("/indexes/books/documents/1"), BOOKS_UID),
        with_key(get("/indexes/books/documents?limit=1"), BOOKS_UID),
        with_key(post("/indexes/books/facet-search", r#"{"facetName":"genre"}"#), BOOKS_UID),
        with_key(get("/indexes"), ADMIN_UID),
        with_key(get("/indexes/books"), ADMIN_UID),
        with_key(get("/indexes/books/settings"), ADMIN_UID),
        with_key(send("PATCH", "/indexes/books/settings", r#"{"distinctAttribute":null}"#), ADMIN_UID),
        with_key(get("/indexes/books/stats"), ADMIN_UID),
        with_key(get("/stats"), ADMIN_UID),
        with_key(get("/tasks?limit=1"), ADMIN_UID),
        with_key(get("/tasks/0"), ADMIN_UID),
        with_key(get("/version"), ADMIN_UID),
        with_key(get("/keys?limit=1"), ADMIN_UID),
        with_key(post("/keys", r#"{"actions":["search"],"indexes":["*"],"expiresAt":null}"#), ADMIN_UID),
        with_key(post("/indexes/books/search", r#"{}"#), ADMIN_UID),
        with_key(post("/indexes", r#"{"uid":"made_by_admin"}"#), ADMIN_UID).wait(),
        with_key(delete("/indexes/made_by_admin"), ADMIN_UID).wait(),
        with_key(post("/indexes/movies/documents", r#"[{"id":77,"title":"Seventy Seven"}]"#), DOCS_UID).wait(),
        with_key(get("/indexes/movies/documents/77"), DOCS_UID),
        with_key(delete("/indexes/movies/documents/77"), DOCS_UID).wait(),
        with_key(post("/indexes/books/documents", r#"[{"id":77}]"#), DOCS_UID),
        with_key(get("/tasks"), DOCS_UID),
        with_key(get("/indexes"), STAR_UID),
        with_key(get(&format!("/keys/{SEARCH_UID}")), STAR_UID),
        with_key(post("/keys", r#"{"actions":["search"],"indexes":["*"],"expiresAt":null}"#), STAR_UID),
        delete(&format!("/keys/{SEARCH_UID}")),
        delete(&format!("/keys/{SEARCH_UID}")),
        with_key(post("/indexes/books/search", r#"{"q":"dune"}"#), SEARCH_UID),
        get("/keys?offset=10"),
        post("/keys", &format!(r#"{{"uid":"{TASKS_UID}","actions":["tasks.get"],"indexes":["books"],"expiresAt":null}}"#)),
        with_key(get("/tasks?limit=3"), TASKS_UID),
        with_key(get("/tasks/1"), TASKS_UID),
        with_key(get("/tasks/0"), TASKS_UID),
        with_key(get("/batches?limit=1"), TASKS_UID).shape_only(),
        with_key(get("/tasks?indexUids=movies"), TASKS_UID),
    ]);
    s
}

fn token_steps() -> Vec<Request> {
    let mut s = library();
    s.push(post(
        "/keys",
        &format!(
            r#"{{"uid":"{SEARCH_UID}","actions":["search"],"indexes":["*"],"expiresAt":null}}"#
        ),
    ));
    s.push(post(
        "/keys",
        &format!(
            r#"{{"uid":"{BOOKS_UID}","actions":["search"],"indexes":["books"],"expiresAt":null}}"#
        ),
    ));
    s.push(post(
        "/keys",
        &format!(r#"{{"uid":"{ADMIN_UID}","actions":["documents.get"],"indexes":["*"],"expiresAt":null}}"#),
    ));
    let far = 4102444800u64; // 2100-01-01
    let token =
        |uid: &str, claims: serde_json::Value| format!("bearer:{}", tenant_token(uid, claims));
    let fantasy = token(
        SEARCH_UID,
        json!({"apiKeyUid": SEARCH_UID, "searchRules": {"books": {"filter": "genre = fantasy"}, "movies": null}, "exp": far}),
    );
    let only_books = token(
        SEARCH_UID,
        json!({"apiKeyUid": SEARCH_UID, "searchRules": ["books"]}),
    );
    let star = token(
        SEARCH_UID,
        json!({"apiKeyUid": SEARCH_UID, "searchRules": {"*": {"filter": "year > 1960"}}}),
    );
    let expired = token(
        SEARCH_UID,
        json!({"apiKeyUid": SEARCH_UID, "searchRules": ["*"], "exp": 1000000000}),
    );
    let wider = token(
        BOOKS_UID,
        json!({"apiKeyUid": BOOKS_UID, "searchRules": ["movies"]}),
    );
    let no_search = token(
        ADMIN_UID,
        json!({"apiKeyUid": ADMIN_UID, "searchRules": ["*"]}),
    );
    let unknown = token(
        "66666666-6666-4666-8666-666666666666",
        json!({"apiKeyUid": "66666666-6666-4666-8666-666666666666", "searchRules": ["*"]}),
    );
    let no_rules = token(SEARCH_UID, json!({"apiKeyUid": SEARCH_UID}));
    let no_uid = token(SEARCH_UID, json!({"searchRules": ["*"]}));
    let mut forged = tenant_token(
        SEARCH_UID,
        json!({"apiKeyUid": SEARCH_UID, "searchRules": ["*"]}),
    );
    forged.pop();
    forged.push('A');
    let forged = format!("bearer:{forged}");
    s.extend(vec![
        post("/indexes/books/search", r#"{"attributesToRetrieve":["title"]}"#).auth(&fantasy),
        post("/indexes/books/search", r#"{"q":"the","filter":"year > 1950","attributesToRetrieve":["title"]}"#).auth(&fantasy),
        get("/indexes/books/search?q=ring&attributesToRetrieve=title").auth(&fantasy),
        post("/indexes/movies/search", r#"{"limit":1}"#).auth(&fantasy),
        ms(r#"{"queries":[{"indexUid":"books","filter":["year > 1950"]},{"indexUid":"movies","limit":1}]}"#).auth(&fantasy),
        ms(r#"{"federation":{},"queries":[{"indexUid":"books","attributesToRetrieve":["title"]},{"indexUid":"movies","attributesToRetrieve":["title"]}]}"#).auth(&fantasy),
        post("/indexes/books/facet-search", r#"{"facetName":"author"}"#).auth(&fantasy),
        post("/indexes/books/search", r#"{"limit":2}"#).auth(&only_books),
        post("/indexes/movies/search", r#"{}"#).auth(&only_books),
        ms(r#"{"queries":[{"indexUid":"books","limit":1},{"indexUid":"movies"}]}"#).auth(&only_books),
        post("/indexes/books/search", r#"{"attributesToRetrieve":["year"]}"#).auth(&star),
        post("/indexes/movies/search", r#"{"attributesToRetrieve":["year"]}"#).auth(&star),
        post("/indexes/books/search", r#"{}"#).auth(&expired),
        post("/indexes/movies/search", r#"{}"#).auth(&wider),
        post("/indexes/books/search", r#"{}"#).auth(&no_search),
        post("/indexes/books/search", r#"{}"#).auth(&unknown),
        post("/indexes/books/search", r#"{}"#).auth(&no_rules),
        post("/indexes/books/search", r#"{}"#).auth(&no_uid),
        post("/indexes/books/search", r#"{}"#).auth(&forged),
        post("/indexes/books/search", r#"{}"#).auth("bearer:not.a.jwt"),
        get("/indexes/books/documents?limit=1").auth(&fantasy),
        get("/indexes").auth(&fantasy),
    ]);
    s
}
