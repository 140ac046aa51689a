//! The scripted sessions recorded against a real Meilisearch 1.50 and
//! replayed against the double. Each scenario starts from an empty node.

use super::Request;

pub struct Scenario {
    pub name: &'static str,
    pub server_args: Vec<String>,
    pub steps: Vec<Request>,
}

pub(super) const JSON: &str = "application/json";
const NDJSON: &str = "application/x-ndjson";
const CSV: &str = "text/csv";

pub(super) fn req(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Option<&str>,
) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        content_type: content_type.map(str::to_string),
        body: body.map(str::to_string),
        auth: "master".into(),
        wait: false,
        shape_only: false,
        headers: Vec::new(),
    }
}

pub(super) fn get(path: &str) -> Request {
    req("GET", path, None, None)
}

pub(super) fn delete(path: &str) -> Request {
    req("DELETE", path, None, None)
}

pub(super) fn send(method: &str, path: &str, body: &str) -> Request {
    req(method, path, Some(JSON), Some(body))
}

pub(super) fn post(path: &str, body: &str) -> Request {
    send("POST", path, body)
}

pub(super) trait StepExt {
    fn wait(self) -> Self;
    fn auth(self, auth: &str) -> Self;
    fn shape_only(self) -> Self;
}

impl StepExt for Request {
    fn wait(mut self) -> Self {
        self.wait = true;
        self
    }
    fn auth(mut self, auth: &str) -> Self {
        self.auth = auth.into();
        self
    }
    fn shape_only(mut self) -> Self {
        self.shape_only = true;
        self
    }
}

pub(super) const MOVIES: &str = r#"[
  {"title": "Carol", "id": 1, "genre": "Drama", "year": 2015, "tags": ["romance", "period"]},
  {"id": 2, "title": "Wonder Woman", "genre": "Action", "year": 2017, "rating": 7.4},
  {"id": "3", "title": "Life of Pi", "genre": "Adventure", "year": 2012, "meta": {"director": "Ang Lee"}},
  {"id": 4, "title": "Mad Max: Fury Road", "genre": "action", "year": 2015},
  {"id": 5, "title": "Moana", "genre": "Animation", "year": 2016, "rating": null}
]"#;

pub(super) fn with_movies(index: &str) -> Vec<Request> {
    vec![post(&format!("/indexes/{index}/documents"), MOVIES).wait()]
}

pub(super) const BOOKS: &str = r#"[
  {"id": 1, "title": "The Hobbit", "author": "J. R. R. Tolkien", "genre": "fantasy", "year": 1937, "summary": "A hobbit goes on an adventure with dwarves and a dragon"},
  {"id": 2, "title": "Harry Potter and the Philosopher's Stone", "author": "J. K. Rowling", "genre": "Fantasy", "year": 1997, "summary": "A young wizard discovers his magical heritage"},
  {"id": 3, "title": "Dune", "author": "Frank Herbert", "genre": "scifi", "year": 1965, "summary": "A desert planet and the spice that rules the universe"},
  {"id": 4, "title": "The Lord of the Rings", "author": "J. R. R. Tolkien", "genre": "fantasy", "year": 1954, "summary": "The dark lord Sauron and the one ring"},
  {"id": 5, "title": "Foundation", "author": "Isaac Asimov", "genre": "scifi", "year": 1951, "summary": "The fall of the galactic empire"},
  {"id": 6, "title": "The Silmarillion", "author": "J. R. R. Tolkien", "genre": "fantasy", "year": 1977, "summary": "The history of Middle-earth and the rings"},
  {"id": 7, "title": "Neuromancer", "author": "William Gibson", "genre": "cyberpunk", "year": 1984, "summary": "A hacker in a dark future"},
  {"id": 8, "title": "Ring World", "author": "Larry Niven", "genre": "scifi", "year": 1970, "summary": "A ring around a star"}
]"#;

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "health_version_auth",
            server_args: vec![],
            steps: vec![
                get("/health").auth("none"),
                get("/version"),
                get("/indexes").auth("none"),
                get("/indexes").auth("wrong"),
                get("/indexes").auth("basic"),
                get("/indexes").auth("empty"),
                get("/version").auth("none"),
                get("/nope"),
                req("PUT", "/indexes", Some(JSON), Some("{}")),
                post("/indexes/movies/settings/nope", "{}"),
                get("/indexes/movies/settings/nope"),
                send("PATCH", "/indexes/movies/settings/sortable-attributes", "[]"),
            ],
        },
        Scenario {
            name: "indexes",
            server_args: vec![],
            steps: vec![
                post("/indexes", r#"{"uid":"movies","primaryKey":"id"}"#).wait(),
                post("/indexes", r#"{"uid":"books"}"#).wait(),
                post("/indexes", r#"{"uid":"movies"}"#).wait(),
                get("/tasks/2"),
                get("/indexes"),
                get("/indexes?limit=1&offset=1"),
                get("/indexes?limit=x"),
                get("/indexes?bogus=1"),
                get("/indexes/movies"),
                get("/indexes/nope"),
                get("/indexes/bad%20uid"),
                post("/indexes", r#"{"uid":"bad uid"}"#),
                post("/indexes", r#"{"uid":1}"#),
                post("/indexes", r#"{"uidd":"x"}"#),
                post("/indexes", r#"{}"#),
                post("/indexes", r#"[]"#),
                post("/indexes", r#"{"uid":"x","primaryKey":3}"#),
                req("POST", "/indexes", None, Some(r#"{"uid":"x"}"#)),
                req("POST", "/indexes", Some("text/plain"), Some(r#"{"uid":"x"}"#)),
                req("POST", "/indexes", Some("application/json; charset=utf-8"), Some(r#"{"uid":"charset"}"#)).wait(),
                post("/indexes", ""),
                post("/indexes", r#"{"uid""#),
                send("PATCH", "/indexes/books", r#"{"primaryKey":"isbn"}"#).wait(),
                get("/indexes/books"),
                send("PATCH", "/indexes/books", r#"{"primaryKey":1}"#),
                send("PATCH", "/indexes/books", r#"{"foo":1}"#),
                send("PATCH", "/indexes/nope", r#"{"primaryKey":"id"}"#).wait(),
                delete("/indexes/books").wait(),
                delete("/indexes/nope").wait(),
                get("/indexes/books"),
                get("/tasks"),
            ],
        },
        Scenario {
            name: "documents_json",
            server_args: vec![],
            steps: vec![
                post("/indexes", r#"{"uid":"movies","primaryKey":"id"}"#).wait(),
                post("/indexes/movies/documents", MOVIES).wait(),
                get("/tasks/1"),
                get("/indexes/movies/documents"),
                get("/indexes/movies/documents?limit=2&offset=1"),
                get("/indexes/movies/documents?fields=title,meta.director"),
                get("/indexes/movies/documents/1"),
                get("/indexes/movies/documents/3?fields=title"),
                get("/indexes/movies/documents/999"),
                get("/indexes/movies/documents/1?foo=bar"),
                get("/indexes/movies/documents?foo=bar"),
                get("/indexes/movies/documents?limit=x"),
                get("/indexes/nope/documents"),
                get("/indexes/nope/documents/1"),
                send("PUT", "/indexes/movies/documents", r#"[{"id": "1", "rating": 9, "title": "Carol (2015)"}]"#).wait(),
                get("/indexes/movies/documents/1"),
                post("/indexes/movies/documents", r#"{"id": 2, "title": "Replaced"}"#).wait(),
                get("/indexes/movies/documents/2"),
                post("/indexes/auto/documents", r#"[{"sku":"a-1","movie_id":7,"name":"x"}]"#).wait(),
                get("/indexes/auto"),
                get("/indexes/auto/documents"),
                post("/indexes/movies/documents/fetch", r#"{"ids":[1,"3"],"fields":["title"]}"#),
                post("/indexes/movies/documents/fetch", r#"{"limit":-1}"#),
                post("/indexes/movies/documents/fetch", r#"{"bogus":1}"#),
                get("/tasks?indexUids=movies"),
            ],
        },
        Scenario {
            name: "documents_ndjson_csv",
            server_args: vec![],
            steps: vec![
                req("POST", "/indexes/nd/documents", Some(NDJSON), Some("{\"id\":1,\"a\":\"x\"}\n{\"id\":2,\"b\":[1,2]}\n")).wait(),
                get("/indexes/nd/documents"),
                req(
                    "POST",
                    "/indexes/csv/documents",
                    Some(CSV),
                    Some("id:number,title,price:number,available:boolean,note:string\n1,Hello,9.5,true,\n2,,3,false,ok\n"),
                )
                .wait(),
                get("/indexes/csv/documents"),
                req("POST", "/indexes/csv2/documents?csvDelimiter=%3B", Some(CSV), Some("sku;label;ref_id\nA1;first;r1\nB2;second;r2\n"))
                    .wait(),
                get("/indexes/csv2/documents"),
                get("/indexes/csv2"),
                req("POST", "/indexes/csv3/documents?primaryKey=code", Some(CSV), Some("name,code\nx,c1\n")).wait(),
                get("/indexes/csv3/documents"),
                get("/tasks"),
            ],
        },
        Scenario {
            name: "bad_payloads",
            server_args: vec![],
            steps: vec![
                req("POST", "/indexes/movies/documents", None, Some(r#"[{"id":1}]"#)),
                req("POST", "/indexes/movies/documents", Some("text/plain"), Some(r#"[{"id":1}]"#)),
                req("PUT", "/indexes/movies/documents", Some("application/xml"), Some("<a/>")),
                req("POST", "/indexes/movies/documents?csvDelimiter=%3B", Some(JSON), Some(r#"[{"id":1}]"#)),
                req("POST", "/indexes/movies/documents?csvDelimiter=%3B", Some(NDJSON), Some(r#"{"id":1}"#)),
                req("POST", "/indexes/movies/documents?csvDelimiter=ab", Some(CSV), Some("id\n1\n")),
                req("POST", "/indexes/movies/documents?csvDelimiter=%C3%A9", Some(CSV), Some("id\n1\n")),
                req("POST", "/indexes/movies/documents", Some(JSON), Some("")),
                req("POST", "/indexes/movies/documents", Some(NDJSON), Some("")),
                req("POST", "/indexes/movies/documents", Some(CSV), Some("")),
                req("POST", "/indexes/movies/documents", Some(JSON), Some(r#"[{"id":1}"#)),
                req("POST", "/indexes/movies/documents", Some(JSON), Some(r#"{"id":1,}"#)),
                req("POST", "/indexes/movies/documents", Some(JSON), Some("[1,2]")),
                req("POST", "/indexes/movies/documents", Some(JSON), Some(r#""just a string""#)),
                req("POST", "/indexes/movies/documents", Some(NDJSON), Some("{\"id\":1}\n{\"id\":")),
                req("POST", "/indexes/movies/documents", Some(NDJSON), Some("{\"id\":1}\n5\n")),
                req("POST", "/indexes/movies/documents", Some(CSV), Some("id:number,n:number\n1,abc\n")),
                req("POST", "/indexes/movies/documents", Some(CSV), Some("id,ok:boolean\n1,yes\n")),
                req("POST", "/indexes/movies/documents", Some(CSV), Some("id,a\n1,2,3\n")),
                req("POST", "/indexes/movies/documents?foo=1", Some(JSON), Some(r#"[{"id":1}]"#)),
                req("POST", "/indexes/bad%20uid/documents", Some(JSON), Some(r#"[{"id":1}]"#)),
                get("/tasks"),
            ],
        },
        Scenario {
            name: "payload_too_large",
            server_args: vec!["--http-payload-size-limit".into(), "1000".into()],
            steps: vec![
                req("POST", "/indexes/movies/documents", Some(JSON), Some(&format!(r#"[{{"id":1,"text":"{}"}}]"#, "x".repeat(2000)))),
                req("POST", "/indexes/movies/documents", Some(JSON), Some(r#"[{"id":1,"text":"small"}]"#)).wait(),
                get("/indexes/movies/documents"),
                post("/indexes/movies/search", &format!(r#"{{"q":"{}"}}"#, "x".repeat(2000))),
                send("PATCH", "/indexes/movies/settings", &format!(r#"{{"stopWords":["{}"]}}"#, "x".repeat(2000))),
                req("POST", "/indexes/movies/documents", Some(NDJSON), Some(&format!("{{\"id\":2,\"t\":\"{}\"}}\n", "y".repeat(980)))),
                req("POST", "/indexes/movies/documents", Some(CSV), Some(&format!("id,t\n3,{}\n", "z".repeat(1000)))),
            ],
        },
        Scenario {
            name: "failed_tasks",
            server_args: vec![],
            steps: vec![
                post("/indexes", r#"{"uid":"movies","primaryKey":"id"}"#).wait(),
                post("/indexes/movies/documents", r#"[{"id":10},{"title":"no id"}]"#).wait(),
                get("/tasks/1"),
                post("/indexes/movies/documents", r#"[{"id":"a b"}]"#).wait(),
                get("/tasks/2"),
                post("/indexes/movies/documents", r#"[{"id":1.5}]"#).wait(),
                get("/tasks/3"),
                post("/indexes/movies/documents?primaryKey=title", r#"[{"id":11,"title":"x"}]"#).wait(),
                get("/tasks/4"),
                post("/indexes/fresh1/documents", r#"[{"title":"no id"}]"#).wait(),
                get("/tasks/5"),
                post("/indexes/fresh2/documents", r#"[{"id":1,"uid":2}]"#).wait(),
                get("/tasks/6"),
                post("/indexes/fresh3/documents", r#"[]"#).wait(),
                get("/tasks/7"),
                get("/indexes"),
                get("/indexes/movies/documents"),
                delete("/indexes/nope/documents/1").wait(),
                get("/tasks/8"),
                get("/tasks?statuses=failed"),
            ],
        },
        Scenario {
            name: "document_deletes",
            server_args: vec![],
            steps: {
                let mut s = with_movies("movies");
                s.extend(vec![
                    delete("/indexes/movies/documents/3").wait(),
                    get("/tasks/1"),
                    post("/indexes/movies/documents/delete-batch", r#"[1, "77"]"#).wait(),
                    get("/tasks/2"),
                    post("/indexes/movies/documents/delete-batch", r#"{"a":1}"#),
                    post("/indexes/movies/documents/delete", r#"{"filter":"genre = action"}"#).wait(),
                    get("/tasks/3"),
                    send("PATCH", "/indexes/movies/settings", r#"{"filterableAttributes":["genre","year"]}"#).wait(),
                    post("/indexes/movies/documents/delete", r#"{"filter":"genre = action"}"#).wait(),
                    get("/tasks/5"),
                    get("/indexes/movies/documents"),
                    post("/indexes/movies/documents/delete", r#"{}"#),
                    post("/indexes/movies/documents/delete", r#"{"filter":""}"#),
                    post("/indexes/movies/documents/delete", r#"{"filter":true}"#),
                    post("/indexes/movies/documents/delete", r#"{"filter":"genre ="}"#),
                    post("/indexes/movies/documents/delete", r#"{"filter":"genre = a", "foo": 1}"#),
                    get("/indexes/movies/documents?filter=title%20%3D%20A"),
                    get("/indexes/movies/documents?filter=genre%20%3D%20animation&fields=title,id"),
                    post("/indexes/movies/documents/fetch", r#"{"filter":"year > 2015"}"#),
                    post("/indexes/movies/documents/fetch", r#"{"filter":"genre = "}"#),
                    post("/indexes/movies/documents/fetch", r#"{"filter":["genre = a", ["title = x", "year = 1"]]}"#),
                    delete("/indexes/movies/documents").wait(),
                    get("/tasks/6"),
                    get("/indexes/movies/documents"),
                    get("/tasks?types=documentDeletion"),
                ]);
                s
            },
        },
        Scenario {
            name: "settings",
            server_args: vec![],
            steps: vec![
                post("/indexes", r#"{"uid":"movies"}"#).wait(),
                get("/indexes/movies/settings"),
                send(
                    "PATCH",
                    "/indexes/movies/settings",
                    r#"{"filterableAttributes":["genre","year"],"sortableAttributes":["year","title","year"],"faceting":{"maxValuesPerFacet":10},"rankingRules":["words","typo","year:desc"],"synonyms":{"movie":["film"]},"stopWords":["the","a"]}"#,
                )
                .wait(),
                get("/tasks/1"),
                get("/indexes/movies/settings"),
                send("PATCH", "/indexes/movies/settings", r#"{"foo":1}"#),
                send("PATCH", "/indexes/movies/settings", r#"{"filterableAttributes":"genre"}"#),
                send("PATCH", "/indexes/movies/settings", r#"{"rankingRules":["nope"]}"#),
                send("PATCH", "/indexes/movies/settings", r#"{"pagination":{"maxTotalHits":"x"}}"#),
                get("/indexes/movies/settings/filterable-attributes"),
                send("PUT", "/indexes/movies/settings/filterable-attributes", r#"["genre","rating"]"#).wait(),
                get("/indexes/movies/settings/filterable-attributes"),
                delete("/indexes/movies/settings/filterable-attributes").wait(),
                get("/indexes/movies/settings/filterable-attributes"),
                send("PUT", "/indexes/movies/settings/sortable-attributes", r#"["b","a"]"#).wait(),
                get("/indexes/movies/settings/sortable-attributes"),
                send("PUT", "/indexes/movies/settings/sortable-attributes", r#""x""#),
                send("PUT", "/indexes/movies/settings/searchable-attributes", r#"["title","overview"]"#).wait(),
                get("/indexes/movies/settings/searchable-attributes"),
                send("PUT", "/indexes/movies/settings/displayed-attributes", r#"["title","id"]"#).wait(),
                get("/indexes/movies/settings/displayed-attributes"),
                send("PUT", "/indexes/movies/settings/ranking-rules", r#"["words","sort"]"#).wait(),
                get("/indexes/movies/settings/ranking-rules"),
                send("PUT", "/indexes/movies/settings/distinct-attribute", r#""genre""#).wait(),
                get("/indexes/movies/settings/distinct-attribute"),
                send("PATCH", "/indexes/movies/settings/faceting", r#"{"sortFacetValuesBy":{"genre":"count"}}"#).wait(),
                get("/indexes/movies/settings/faceting"),
                send("PUT", "/indexes/movies/settings/faceting", r#"{}"#),
                send("PATCH", "/indexes/movies/settings/pagination", r#"{"maxTotalHits":50}"#).wait(),
                get("/indexes/movies/settings/pagination"),
                send("PUT", "/indexes/movies/settings/stop-words", r#"["of"]"#).wait(),
                get("/indexes/movies/settings/stop-words"),
                send("PUT", "/indexes/movies/settings/synonyms", r#"{"b":["c"],"a":["z","y"]}"#).wait(),
                get("/indexes/movies/settings/synonyms"),
                delete("/indexes/movies/settings/synonyms").wait(),
                get("/indexes/movies/settings"),
                delete("/indexes/movies/settings").wait(),
                get("/tasks/14"),
                get("/indexes/movies/settings"),
                get("/indexes/nope/settings"),
                send("PATCH", "/indexes/created/settings", r#"{"sortableAttributes":["x"]}"#).wait(),
                get("/indexes/created"),
                get("/tasks?types=settingsUpdate&limit=3"),
            ],
        },
        Scenario {
            name: "stats",
            server_args: vec![],
            steps: {
                let mut s = with_movies("movies");
                s.extend(vec![
                    post("/indexes", r#"{"uid":"empty"}"#).wait(),
                    get("/indexes/movies/stats"),
                    get("/indexes/empty/stats"),
                    get("/indexes/nope/stats"),
                    get("/stats"),
                ]);
                s
            },
        },
        Scenario {
            name: "tasks",
            server_args: vec![],
            steps: {
                let mut s = with_movies("movies");
                s.extend(vec![
                    post("/indexes", r#"{"uid":"other"}"#).wait(),
                    post("/indexes", r#"{"uid":"other"}"#).wait(),
                    get("/tasks"),
                    get("/tasks?limit=1"),
                    get("/tasks?limit=1&from=1"),
                    get("/tasks?statuses=failed"),
                    get("/tasks?statuses=succeeded,failed&types=indexCreation"),
                    get("/tasks?indexUids=other"),
                    get("/tasks?uids=0,2"),
                    get("/tasks?reverse=true"),
                    get("/tasks?statuses=foo"),
                    get("/tasks?types=foo"),
                    get("/tasks?uids=a"),
                    get("/tasks?indexUids=a%20b"),
                    get("/tasks?limit=x"),
                    get("/tasks?bogus=1"),
                    get("/tasks/abc"),
                    get("/tasks/9999"),
                    get("/tasks/0"),
                ]);
                s
            },
        },
        Scenario {
            name: "search",
            server_args: vec![],
            steps: {
                let mut s = with_movies("movies");
                s.extend(vec![
                    send(
                        "PATCH",
                        "/indexes/movies/settings",
                        r#"{"filterableAttributes":["genre","year","tags","rating"],"sortableAttributes":["year","title"]}"#,
                    )
                    .wait(),
                    post("/indexes/movies/search", r#"{}"#),
                    post("/indexes/movies/search", r#"{"q":"wonder"}"#),
                    post("/indexes/movies/search", r#"{"q":"wondr"}"#),
                    post("/indexes/movies/search", r#"{"q":"mad ma"}"#),
                    post("/indexes/movies/search", r#"{"q":"life xyz"}"#),
                    post("/indexes/movies/search", r#"{"q":"life xyz","matchingStrategy":"all"}"#),
                    post("/indexes/movies/search", r#"{"q":"","facets":["genre","year"]}"#),
                    post("/indexes/movies/search", r#"{"filter":"year > 2014 AND genre = action","showRankingScore":true}"#),
                    post("/indexes/movies/search", r#"{"filter":["year = 2015", ["genre = drama", "genre = action"]]}"#),
                    post("/indexes/movies/search", r#"{"filter":"rating EXISTS"}"#),
                    post("/indexes/movies/search", r#"{"filter":"rating IS NULL"}"#),
                    post("/indexes/movies/search", r#"{"filter":"year 2012 TO 2015","sort":["year:desc","title:asc"]}"#),
                    post("/indexes/movies/search", r#"{"filter":"genre IN [drama, animation]"}"#),
                    post("/indexes/movies/search", r#"{"page":2,"hitsPerPage":2,"sort":["year:asc"]}"#),
                    post("/indexes/movies/search", r#"{"limit":2,"offset":1,"attributesToRetrieve":["title"]}"#),
                    get("/indexes/movies/search?q=moana&attributesToRetrieve=title,year"),
                    get("/indexes/movies/search?filter=genre%20%3D%20drama&limit=1"),
                    post("/indexes/movies/search", r#"{"filter":"title = x"}"#),
                    post("/indexes/movies/search", r#"{"filter":"genre = a AND (year > 1 OR title != \"x y\")"}"#),
                    post("/indexes/movies/search", r#"{"filter":"genre ="}"#),
                    post("/indexes/movies/search", r#"{"filter":true}"#),
                    post("/indexes/movies/search", r#"{"sort":["genre:asc"]}"#),
                    post("/indexes/movies/search", r#"{"sort":["year:up"]}"#),
                    post("/indexes/movies/search", r#"{"facets":["title"]}"#),
                    post("/indexes/movies/search", r#"{"bogus":1}"#),
                    post("/indexes/movies/search", r#"{"limit":"x"}"#),
                    post("/indexes/movies/search", r#"{"q":1}"#),
                    post("/indexes/movies/search", r#"{"matchingStrategy":"foo"}"#),
                    post("/indexes/movies/search", r#"{"rankingScoreThreshold":2}"#),
                    post("/indexes/movies/search", r#"{"distinct":"title"}"#),
                    get("/indexes/movies/search?limit=x"),
                    get("/indexes/movies/search?bogus=x"),
                    post("/indexes/nope/search", r#"{}"#),
                ]);
                s
            },
        },
        Scenario {
            name: "search_ranking",
            server_args: vec![],
            steps: {
                let mut s = vec![
                    post("/indexes/books/documents", BOOKS).wait(),
                    send(
                        "PATCH",
                        "/indexes/books/settings",
                        r#"{"filterableAttributes":["genre","year","author"],"sortableAttributes":["year","title"],"searchableAttributes":["title","author","summary"]}"#,
                    )
                    .wait(),
                ];
                for body in [
                    r#"{"q":"the lord","showRankingScore":true}"#,
                    r#"{"q":"lord the","showRankingScore":true}"#,
                    r#"{"q":"hary poter","showRankingScore":true}"#,
                    r#"{"q":"ring","showRankingScore":true}"#,
                    r#"{"q":"rings","showRankingScore":true}"#,
                    r#"{"q":"tolkien ring"}"#,
                    r#"{"q":"dark"}"#,
                    r#"{"q":"dark","attributesToSearchOn":["summary"]}"#,
                    r#"{"q":"a dark future","matchingStrategy":"frequency"}"#,
                    r#"{"q":"dwarves dragon hobbit","matchingStrategy":"last"}"#,
                    r#"{"q":"tolk","filter":"year < 1960","sort":["year:asc"]}"#,
                    r#"{"q":"","facets":["genre","author"],"limit":0}"#,
                    r#"{"q":"the","facets":["genre"],"attributesToRetrieve":["id"]}"#,
                    r#"{"q":"hobbit","attributesToHighlight":["title","summary"],"attributesToRetrieve":["title","summary"]}"#,
                    r#"{"q":"the","rankingScoreThreshold":0.9,"attributesToRetrieve":["id"],"showRankingScore":true}"#,
                    r#"{"q":"the","distinct":"author","attributesToRetrieve":["id","author"]}"#,
                    r#"{"filter":"author = "J. R. R. Tolkien" AND NOT year = 1954","attributesToRetrieve":["id"]}"#,
                    r#"{"filter":"year >= 1970 OR genre = cyberpunk","sort":["title:desc"],"attributesToRetrieve":["id","title"]}"#,
                    r#"{"q":"dune","attributesToSearchOn":["genre"]}"#,
                ] {
                    s.push(post("/indexes/books/search", body));
                }
                s.push(
                    send(
                        "PATCH",
                        "/indexes/books/settings",
                        r#"{"faceting":{"maxValuesPerFacet":2,"sortFacetValuesBy":{"*":"count"}},"pagination":{"maxTotalHits":3},"rankingRules":["words","typo","year:desc","proximity","attribute","sort","exactness"]}"#,
                    )
                    .wait(),
                );
                for body in [
                    r#"{"q":"","facets":["genre","author"],"attributesToRetrieve":["id"]}"#,
                    r#"{"q":"the","attributesToRetrieve":["id","year"]}"#,
                    r#"{"q":"","page":2,"hitsPerPage":2,"attributesToRetrieve":["id"]}"#,
                    r#"{"q":"","offset":2,"limit":5,"attributesToRetrieve":["id"]}"#,
                ] {
                    s.push(post("/indexes/books/search", body));
                }
                s.push(get("/indexes/books/search?q=ring&facets=genre&attributesToRetrieve=id,title&sort=year:asc"));
                s
            },
        },
        Scenario {
            name: "search_details",
            server_args: vec![],
            steps: {
                // `_rankingScoreDetails` with the default rules (attributeRank
                // and wordPosition apart), then custom rules, `attribute`,
                // hidden sort rules and missing/mixed sort values
                let mut s = vec![
                    post("/indexes/books/documents", BOOKS).wait(),
                    send(
                        "PATCH",
                        "/indexes/books/settings",
                        r#"{"filterableAttributes":["genre","year","author"],"sortableAttributes":["year","title"],"searchableAttributes":["title","author","summary"]}"#,
                    )
                    .wait(),
                ];
                for body in [
                    r#"{"q":"the lord"}"#,
                    r#"{"q":"hobit"}"#,
                    r#"{"q":"dune"}"#,
                    r#"{"q":"ring"}"#,
                    r#"{"q":"the ring","matchingStrategy":"all"}"#,
                    r#"{"q":"lord of the rings","matchingStrategy":"all"}"#,
                    r#"{"q":"a dark future","matchingStrategy":"frequency"}"#,
                    r#"{"q":"the dark"}"#,
                    r#"{"q":"tolkien ring"}"#,
                    r#"{"q":"r tolkien"}"#,
                    r#"{"q":"the tolkein","matchingStrategy":"all"}"#,
                    r#"{"q":"the dragon dark","matchingStrategy":"frequency"}"#,
                    r#"{"q":"dragon dark the","matchingStrategy":"frequency"}"#,
                    r#"{}"#,
                    r#"{"sort":["year:desc"]}"#,
                    r#"{"sort":["title:asc","year:asc"],"limit":4}"#,
                    r#"{"q":"ring","sort":["year:asc"]}"#,
                    r#"{"q":"the","sort":["title:desc"],"offset":1,"limit":3}"#,
                    r#"{"q":"the","page":2,"hitsPerPage":2}"#,
                    r#"{"q":"the","rankingScoreThreshold":0.5}"#,
                    r#"{"q":"the","distinct":"author","facets":["genre"]}"#,
                    r#"{"q":"the","filter":"genre = fantasy","attributesToSearchOn":["summary"]}"#,
                ] {
                    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
                    body["showRankingScoreDetails"] = true.into();
                    body["showRankingScore"] = true.into();
                    body["attributesToRetrieve"] = serde_json::json!(["id"]);
                    s.push(post("/indexes/books/search", &body.to_string()));
                }
                s.push(get("/indexes/books/search?q=hobbit&showRankingScoreDetails=true&attributesToRetrieve=id"));
                s.push(post("/indexes/books/search", r#"{"q":"the","showRankingScoreDetails":false,"attributesToRetrieve":["id"],"limit":1}"#));
                s.push(post("/indexes/books/search", r#"{"showRankingScoreDetails":"yes"}"#));
                s.push(get("/indexes/books/search?showRankingScoreDetails=maybe"));
                s.push(
                    post(
                        "/indexes/lib/documents",
                        r#"[
                          {"id": 1, "title": "The Hobbit", "year": 1937, "tag": "b"},
                          {"id": 2, "title": "Dune", "year": 1965},
                          {"id": 3, "title": "  Ring World ", "tag": "a"},
                          {"id": 4, "title": "The Ring", "year": "1950", "tag": ["c", 3]},
                          {"id": 5, "title": "Lord of the ring", "year": [1954, 1955]},
                          {"id": 6, "title": "ring ring", "year": 1965, "tag": "B"}
                        ]"#,
                    )
                    .wait(),
                );
                s.push(
                    send(
                        "PATCH",
                        "/indexes/lib/settings",
                        r#"{"sortableAttributes":["year","title","tag","nope"],"rankingRules":["words","typo","year:desc","proximity","attribute","sort","exactness"]}"#,
                    )
                    .wait(),
                );
                let lib = [
                    r#"{}"#,
                    r#"{"q":"ring"}"#,
                    r#"{"q":"ring","sort":["title:asc"]}"#,
                    r#"{"q":"the ring"}"#,
                    r#"{"q":"the ring","matchingStrategy":"all"}"#,
                    r#"{"sort":["year:asc"]}"#,
                    r#"{"sort":["tag:desc","nope:asc"]}"#,
                    r#"{"sort":["tag:asc"],"rankingScoreThreshold":0.2}"#,
                ];
                for body in lib {
                    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
                    body["showRankingScoreDetails"] = true.into();
                    body["showRankingScore"] = true.into();
                    s.push(post("/indexes/lib/search", &body.to_string()));
                }
                s.push(
                    send(
                        "PATCH",
                        "/indexes/lib/settings",
                        r#"{"displayedAttributes":["id","title"],"typoTolerance":{"enabled":false},"rankingRules":["tag:asc","typo","words","sort","attribute","exactness"]}"#,
                    )
                    .wait(),
                );
                for body in lib {
                    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
                    body["showRankingScoreDetails"] = true.into();
                    s.push(post("/indexes/lib/search", &body.to_string()));
                }
                s
            },
        },
        Scenario {
            name: "documents_more",
            server_args: vec![],
            steps: vec![
                post("/indexes/disp/documents", r#"[{"id":1,"a":"x","b":{"c":1,"d":2},"e":[{"f":1,"g":2},{"f":3}]},{"id":2,"a":"b"}]"#).wait(),
                send("PATCH", "/indexes/disp/settings", r#"{"displayedAttributes":["id","b"],"sortableAttributes":["a"]}"#).wait(),
                get("/indexes/disp/documents"),
                get("/indexes/disp/documents/1"),
                get("/indexes/disp/documents/1?fields=a,b.c,e.f"),
                get("/indexes/disp/documents?sort=a:asc"),
                get("/indexes/disp/documents?sort=id:asc"),
                get("/indexes/disp/documents?sort=a:up"),
                post("/indexes/disp/documents/fetch", r#"{"sort":["a:desc"],"fields":["id"]}"#),
                post("/indexes/disp/search", r#"{"attributesToRetrieve":["a","id"]}"#),
                post("/indexes/nest/documents?primaryKey=p.q", r#"[{"p":{"q":"k1"},"v":1},{"v":2,"p":{"q":"k2"}}]"#).wait(),
                get("/indexes/nest/documents"),
                get("/indexes/nest/documents/k2"),
                get("/indexes/nest"),
                post("/indexes/nest/documents", r#"[{"p":{"r":1}}]"#).wait(),
                get("/tasks/3"),
                send("PUT", "/indexes/disp/documents", r#"[{"id":3,"new":true},{"id":1,"a":"y"}]"#).wait(),
                get("/indexes/disp/documents"),
                post("/indexes/disp/documents", r#"[{"id":1,"z":0},{"id":1,"a":"twice"}]"#).wait(),
                get("/tasks/5"),
                get("/indexes/disp/documents/1"),
                get("/indexes/disp/stats"),
            ],
        },
        Scenario {
            name: "filters",
            server_args: vec![],
            steps: {
                let mut s = vec![
                    post(
                        "/indexes/f/documents",
                        r#"[
                          {"id": 1, "name": "Alpha", "n": 10, "tags": ["red", "Blue"], "ok": true, "meta": {"year": 2001, "kind": "A"}, "empty": ""},
                          {"id": 2, "name": "beta", "n": 20.5, "tags": [], "ok": false, "meta": {"year": 1999}, "empty": []},
                          {"id": 3, "name": "Gamma Ray", "n": "30", "tags": ["blue"], "ok": null, "cast": [{"who": "Ann"}, {"who": "Bob"}]},
                          {"id": "4", "name": "delta", "tags": "green", "meta": {"kind": "b"}, "empty": {}},
                          {"id": 5, "name": " Epsilon ", "n": -1, "tags": ["RED", 7], "ok": true}
                        ]"#,
                    )
                    .wait(),
                    send(
                        "PATCH",
                        "/indexes/f/settings",
                        r#"{"filterableAttributes":["id","name","n","tags","ok","meta","cast.who","empty"]}"#,
                    )
                    .wait(),
                ];
                for f in [
                    "id = 4",
                    "id = \"4\"",
                    "id != 1",
                    "id IN [1, 3, 4]",
                    "id NOT IN [1, 3]",
                    "name = alpha",
                    "name = epsilon",
                    "name = 'Gamma Ray'",
                    "name > c",
                    "name <= beta",
                    "name a TO c",
                    "n > 10",
                    "n >= 10",
                    "n < 0",
                    "n 10 TO 25",
                    "n = 30",
                    "n EXISTS",
                    "n NOT EXISTS",
                    "tags = red",
                    "tags = 7",
                    "tags != red",
                    "tags IS EMPTY",
                    "tags IS NOT EMPTY",
                    "empty IS EMPTY",
                    "ok = true",
                    "ok = false",
                    "ok IS NULL",
                    "ok IS NOT NULL",
                    "ok EXISTS",
                    "meta.year > 2000",
                    "meta.kind = a OR meta.kind = B",
                    "meta EXISTS",
                    "cast.who = bob",
                    "NOT (id = 1 OR id = 2) AND n EXISTS",
                    "(tags = blue AND ok = true) OR name = delta",
                    "name CONTAINS amm",
                    "name STARTS WITH del",
                    "id = 1 AND",
                    "id = (1)",
                    "id IN [1, 2",
                    "id IN 1",
                    "OR = 1",
                    "id EXIST",
                    "'id' = 1 extra",
                    "n > 1e1",
                ] {
                    s.push(post("/indexes/f/search", &format!(r#"{{"filter":{},"attributesToRetrieve":["id"]}}"#, serde_json::to_string(f).unwrap())));
                }
                s.push(post("/indexes/f/search", r#"{"filter":[["id = 1","id = 2"],"ok = true"],"attributesToRetrieve":["id"]}"#));
                s.push(post("/indexes/f/search", r#"{"facets":["tags","ok","n","meta.year"],"limit":0}"#));
                s.push(post("/indexes/f/documents/fetch", r#"{"filter":"tags = red","fields":["id"]}"#));
                s.push(post("/indexes/f/documents/fetch", r#"{"filter":"name = 'x","fields":["id"]}"#));
                s
            },
        },
    ]
}
