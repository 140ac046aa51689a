"""An application's whole workflow written with the official Python SDK (`meilisearch` on
PyPI, pinned in scripts/prerequisites), as its README and docs show it.

    python3 workflow.py URL MASTER_KEY [workflow|batches-and-swap]

Prints one JSON object: step name -> what the application saw. Only what may not differ
between two equally correct deployments is dropped (task uids, dates, keys); hits keep
their order, made unique by sorting on `id`. tests/e2e/tests/sdk_other.rs runs it against
one Meilisearch node and against a Miroir mesh and compares the two transcripts.
"""

import datetime
import json
import sys

import meilisearch
from meilisearch.errors import MeilisearchApiError

INDEX = "sdk_py_movies"
GENRES = ["comedy", "drama", "horror"]
WAIT_MS = 60_000


def movie(i):
    return {
        "id": i,
        "title": f"{'space' if i % 4 == 0 else 'river'} story number {i}",
        "genre": GENRES[i % 3],
        "year": 1990 + i % 25,
    }


def ndjson(docs):
    return "\n".join(json.dumps(d) for d in docs).encode()


def csv(docs):
    lines = ["id:number,title,genre,year:number"]
    lines += [f"{d['id']},{d['title']},{d['genre']},{d['year']}" for d in docs]
    return "\n".join(lines).encode()


class Transcript:
    """Runs each step; records its outcome, or the error the SDK raised, and goes on."""

    def __init__(self):
        self.seen = {}

    def step(self, name, action):
        try:
            self.seen[name] = action()
        except MeilisearchApiError as e:
            self.seen[name] = {"error": e.code, "type": e.type, "http": e.status_code}
        except Exception as e:  # anything else is an SDK-level failure worth seeing
            self.seen[name] = {"unexpected": f"{type(e).__name__}: {e}"}


def task_outcome(task):
    """What a client may rely on: status, type, index, the counts, and the error code."""
    details = {k: v for k, v in (task.details or {}).items() if k not in ("dumpUid",)}
    out = {"status": task.status, "type": task.type, "index": task.index_uid, "details": details}
    if task.error:
        out["error"] = task.error.get("code")
    if task.custom_metadata is not None:
        out["customMetadata"] = task.custom_metadata
    return out


def waited(client, info):
    return task_outcome(client.wait_for_task(info.task_uid, timeout_in_ms=WAIT_MS))


def ids(hits):
    return [h["id"] for h in hits]


def workflow(url, master_key):
    t = Transcript()
    client = meilisearch.Client(url, master_key)
    index = client.index(INDEX)

    t.step("healthy", client.is_healthy)
    t.step("create index", lambda: waited(client, client.create_index(INDEX, {"primaryKey": "id"})))
    t.step("get index", lambda: {"uid": client.get_index(INDEX).uid, "primaryKey": client.get_index(INDEX).primary_key})
    t.step("list indexes", lambda: [i.uid for i in client.get_indexes({"limit": 10})["results"]])
    t.step("settings", lambda: waited(client, index.update_settings({
        "filterableAttributes": ["genre", "year", "id"],
        "sortableAttributes": ["id", "year"],
        "searchableAttributes": ["title", "genre"],
        "typoTolerance": {"minWordSizeForTypos": {"oneTypo": 4}},
    })))
    t.step("settings read back", lambda: {k: v for k, v in index.get_settings().items()
                                          if k in ("filterableAttributes", "sortableAttributes", "searchableAttributes", "typoTolerance")})
    t.step("sortable read back", index.get_sortable_attributes)

    # Documents, in each of the SDK's usual ways.
    t.step("add documents", lambda: waited(client, index.add_documents([movie(i) for i in range(0, 20)], primary_key="id")))
    t.step("add documents in batches", lambda: [
        task_outcome(client.wait_for_task(info.task_uid, timeout_in_ms=WAIT_MS))
        for info in index.add_documents_in_batches([movie(i) for i in range(20, 40)], batch_size=7)])
    t.step("add documents ndjson", lambda: waited(client, index.add_documents_ndjson(ndjson([movie(i) for i in range(40, 50)]))))
    t.step("add documents csv", lambda: waited(client, index.add_documents_csv(csv([movie(i) for i in range(50, 60)]))))
    t.step("update documents", lambda: waited(client, index.update_documents([{"id": 7, "title": "space walk number 7"}])))
    t.step("update documents csv with a delimiter", lambda: waited(client, index.update_documents_csv(
        "id:number;title\n10;river tale, number 10".encode(), csv_delimiter=";")))
    t.step("document after the csv update", lambda: dict(index.get_document(10)))
    t.step("add documents with metadata", lambda: waited(client, index.update_documents([{"id": 11, "year": 2001}], metadata="sdk-py-import")))
    t.step("update only existing documents", lambda: waited(client, index.update_documents(
        [movie(12), {**movie(1000), "id": 1000}], skip_creation=True)))
    t.step("document not created", lambda: index.get_document(1000))
    t.step("synonyms", lambda: waited(client, index.update_synonyms({"tale": ["story"], "story": ["tale"]})))
    t.step("document missing its id", lambda: waited(client, index.add_documents([{"title": "no id"}])))

    # Search: query, filter, facets, sort, highlight, pages.
    t.step("search", lambda: (lambda r: {"ids": ids(r["hits"]), "estimatedTotalHits": r["estimatedTotalHits"], "query": r["query"]})(
        index.search("space", {"sort": ["id:asc"], "limit": 100})))
    t.step("faceted search", lambda: (lambda r: {"ids": ids(r["hits"]), "facetDistribution": r["facetDistribution"],
                                                 "facetStats": r["facetStats"]})(
        index.search("", {"filter": "year >= 2000", "facets": ["genre", "year"], "sort": ["year:desc", "id:asc"], "limit": 7})))
    t.step("filter as array", lambda: ids(index.search("", {"filter": [["genre = comedy", "genre = horror"], "year < 2000"],
                                                             "sort": ["id:asc"], "limit": 100})["hits"]))
    t.step("highlight and crop", lambda: [h["_formatted"] for h in index.search("space", {
        "sort": ["id:asc"], "limit": 3, "attributesToHighlight": ["title"], "highlightPreTag": "<em>", "highlightPostTag": "</em>",
        "attributesToCrop": ["title"], "cropLength": 2, "attributesToRetrieve": ["id"]})["hits"]])
    t.step("pages", lambda: (lambda r: {"ids": ids(r["hits"]), "totalHits": r["totalHits"], "totalPages": r["totalPages"], "page": r["page"]})(
        index.search("river", {"sort": ["id:desc"], "hitsPerPage": 5, "page": 3})))
    t.step("typo", lambda: (lambda r: {"ids": ids(r["hits"]), "estimatedTotalHits": r["estimatedTotalHits"]})(
        index.search("spade", {"sort": ["id:asc"], "limit": 100})))
    t.step("synonym search", lambda: (lambda r: {"ids": ids(r["hits"]), "estimatedTotalHits": r["estimatedTotalHits"]})(
        index.search("tale", {"sort": ["id:asc"], "limit": 100, "filter": "id < 20"})))
    t.step("distinct search", lambda: (lambda r: {"ids": ids(r["hits"]), "estimatedTotalHits": r["estimatedTotalHits"]})(
        index.search("river", {"distinct": "genre", "sort": ["id:asc"]})))
    t.step("ranking scores", lambda: [(h["id"], h["_rankingScore"]) for h in index.search("space walk", {
        "showRankingScore": True, "sort": ["id:asc"], "limit": 8, "matchingStrategy": "last"})["hits"]])
    t.step("attributes to search on", lambda: [ids(index.search("comedy", {"attributesToSearchOn": [on], "sort": ["id:asc"], "filter": "id < 15"})["hits"]) for on in ("title", "genre")])
    t.step("facet search", lambda: index.facet_search("genre", "com")["facetHits"])
    t.step("facet search with a filter", lambda: index.facet_search("genre", None, {"filter": "year > 2010", "q": "space"})["facetHits"])

    t.step("multi-search", lambda: [
        {"index": r["indexUid"], "ids": ids(r["hits"]), "estimatedTotalHits": r["estimatedTotalHits"]}
        for r in client.multi_search([
            {"indexUid": INDEX, "q": "river", "sort": ["id:asc"], "limit": 5},
            {"indexUid": INDEX, "filter": "genre = drama", "sort": ["id:desc"], "limit": 4},
        ])["results"]])
    t.step("federated multi-search", lambda: (lambda r: {
        "hits": [(h["id"], h["_federation"]["queriesPosition"]) for h in r["hits"]],
        "estimatedTotalHits": r["estimatedTotalHits"], "limit": r["limit"], "offset": r["offset"]})(
        client.multi_search([
            {"indexUid": INDEX, "filter": "genre = drama AND id < 20", "sort": ["id:asc"]},
            {"indexUid": INDEX, "filter": "genre = horror AND id < 20", "sort": ["id:asc"]},
        ], {"limit": 50})))
    t.step("federated facets", lambda: (lambda r: {"facetsByIndex": r["facetsByIndex"], "ids": ids(r["hits"])})(
        client.multi_search([{"indexUid": INDEX, "q": "space", "sort": ["id:asc"]}],
                            {"limit": 5, "facetsByIndex": {INDEX: ["genre", "year"]}})))

    # Tasks, filtered as an application reads them.
    def tasks():
        found = client.get_tasks({"indexUids": [INDEX], "statuses": ["succeeded"], "types": ["documentAdditionOrUpdate"], "limit": 2})
        return {"count": len(found.results), "total": found.total, "has next": found.next_ is not None,
                "types": [r.type for r in found.results], "statuses": [r.status for r in found.results]}
    t.step("task list", tasks)
    t.step("failed tasks", lambda: [(r.type, r.error["code"]) for r in client.get_tasks({"indexUids": [INDEX], "statuses": ["failed"]}).results])
    t.step("one task", lambda: task_outcome(client.get_task(client.get_tasks({"indexUids": [INDEX], "types": ["indexCreation"]}).results[0].uid)))

    t.step("version", lambda: client.get_version()["pkgVersion"])
    t.step("cancel enqueued tasks", lambda: waited(client, client.cancel_tasks({"indexUids": [INDEX], "statuses": ["enqueued"]})))
    t.step("delete failed tasks", lambda: waited(client, client.delete_tasks({"indexUids": [INDEX], "statuses": ["failed"]})))
    t.step("failed tasks after deletion", lambda: client.get_tasks({"indexUids": [INDEX], "statuses": ["failed"]}).total)

    # Documents read back.
    t.step("get document", lambda: dict(index.get_document(7, {"fields": ["id", "title"]})))
    t.step("fetch documents with a filter", lambda: (lambda r: {"docs": [dict(d) for d in r.results], "total": r.total})(
        index.get_documents({"filter": "genre = drama AND year > 2005", "fields": ["id", "year"], "sort": ["id:asc"], "limit": 4, "offset": 1})))
    t.step("get documents by ids", lambda: [dict(d) for d in index.get_documents(
        {"ids": [33, 3, 1000, 21], "fields": ["id", "genre"], "sort": ["id:desc"]}).results])
    t.step("change the primary key", lambda: waited(client, index.update(primary_key="title")))
    t.step("index info", lambda: index.fetch_info().primary_key)
    t.step("reset synonyms", lambda: waited(client, index.reset_synonyms()))
    t.step("synonyms after reset", index.get_synonyms)
    t.step("list documents", lambda: (lambda r: {"count": len(r.results), "total": r.total, "limit": r.limit})(
        index.get_documents({"limit": 25})))

    # Keys: a search-only key restricted to the index; a tenant token the SDK signs.
    key = {}
    t.step("create key", lambda: (lambda k: key.update(uid=k.uid, key=k.key) or {"actions": k.actions, "indexes": k.indexes, "name": k.name})(
        client.create_key({"actions": ["search"], "indexes": [INDEX], "expiresAt": None, "name": "searcher"})))
    t.step("get key", lambda: (lambda k: {"same uid": k.uid == key["uid"], "actions": k.actions, "indexes": k.indexes})(client.get_key(key["key"])))
    t.step("update key", lambda: client.update_key(key["key"], {"name": "renamed searcher"}).name)
    t.step("key listed", lambda: any(k.uid == key["uid"] for k in client.get_keys({"limit": 100}).results))
    searcher = meilisearch.Client(url, key.get("key", "missing"))
    t.step("search with the key", lambda: ids(searcher.index(INDEX).search("space", {"sort": ["id:asc"], "limit": 100})["hits"]))
    t.step("write with the search key", lambda: searcher.index(INDEX).add_documents([movie(1)]).task_uid)
    t.step("settings with the search key", lambda: searcher.index(INDEX).get_settings())
    t.step("client without a key", lambda: meilisearch.Client(url).index(INDEX).delete_document(1).task_uid)
    t.step("wrong key", lambda: meilisearch.Client(url, "not-a-key").index(INDEX).search("space"))

    def tenant():
        token = client.generate_tenant_token(key["uid"], {INDEX: {"filter": "genre = comedy"}}, api_key=key["key"])
        tenant = meilisearch.Client(url, token)
        hits = tenant.index(INDEX).search("space", {"sort": ["id:asc"], "limit": 100})["hits"]
        assert all(h["genre"] == "comedy" for h in hits), "the token's rule applies"
        return {"search": ids(hits),
                "facet search": tenant.index(INDEX).facet_search("genre")["facetHits"],
                "multi-search": [ids(r["hits"]) for r in tenant.multi_search([{"indexUid": INDEX, "q": "river", "sort": ["id:asc"], "limit": 100}])["results"]],
                "write": tenant_write(tenant),
                "expiring, every index": ids(meilisearch.Client(url, client.generate_tenant_token(
                    key["uid"], ["*"], api_key=key["key"], expires_at=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1),
                )).index(INDEX).search("space", {"sort": ["id:asc"], "limit": 3})["hits"])}
    t.step("tenant token", tenant)

    t.step("stats", lambda: (lambda g, s: {"global": g["indexes"][INDEX]["numberOfDocuments"], "index": s.number_of_documents,
                                           "fields": {f: n for f, n in vars(s.field_distribution).items() if not f.startswith("_")}, "indexing": s.is_indexing})(
        client.get_all_stats(), index.get_stats()))

    # Error cases the SDK surfaces as MeilisearchApiError.
    t.step("index not found", lambda: client.get_index("sdk_py_nowhere"))
    t.step("search a missing index", lambda: client.index("sdk_py_nowhere").search("space"))
    t.step("invalid filter", lambda: index.search("space", {"filter": "genre = "}))
    t.step("filter on a non-filterable attribute", lambda: index.search("space", {"filter": "title = x"}))
    t.step("sort on a non-sortable attribute", lambda: index.search("space", {"sort": ["genre:asc"]}))
    t.step("invalid document filter", lambda: index.get_documents({"filter": "year >>> 3"}))
    t.step("document not found", lambda: index.get_document(12345))
    t.step("invalid index uid", lambda: client.create_index("not a valid uid!"))
    t.step("facet search on a non-facet", lambda: index.facet_search("title", "space"))
    t.step("unknown search parameter", lambda: index.search("space", {"notAParameter": 1}))

    # Deletions.
    t.step("delete documents by ids", lambda: waited(client, index.delete_documents(ids=[0, 1, 2, 3, 4], metadata="sdk-py-by-ids")))
    t.step("delete documents by filter", lambda: waited(client, index.delete_documents(filter="genre = horror AND year < 1995", metadata="sdk-py-by-filter")))
    t.step("delete one document", lambda: waited(client, index.delete_document(59, metadata="sdk-py-one")))
    t.step("documents left", lambda: index.get_stats().number_of_documents)
    t.step("delete key", lambda: client.delete_key(key["key"]) and None)
    t.step("search with a deleted key", lambda: searcher.index(INDEX).search("space"))
    t.step("delete all documents", lambda: waited(client, index.delete_all_documents(metadata="sdk-py-all")))
    t.step("delete index", lambda: waited(client, client.delete_index(INDEX)))
    t.step("index gone", lambda: client.get_index(INDEX))
    return t.seen


def tenant_write(tenant):
    try:
        tenant.index(INDEX).add_documents([movie(1)])
        return "accepted"
    except MeilisearchApiError as e:
        return {"error": e.code, "http": e.status_code}


def batches_and_swap(url, master_key):
    """The SDK's batches and swap calls: two indexes, swapped, and the batches read back."""
    t = Transcript()
    client = meilisearch.Client(url, master_key)
    a, b = "sdk_py_swap_a", "sdk_py_swap_b"
    t.step("fill a", lambda: waited(client, client.index(a).add_documents([movie(i) for i in range(0, 10)], primary_key="id")))
    t.step("fill b", lambda: waited(client, client.index(b).add_documents([movie(i) for i in range(10, 13)], primary_key="id")))

    def batches():
        found = client.get_batches({"limit": 20})
        first = found.results[0] if found.results else None
        return {"some": len(found.results) > 0, "first has stats": first is not None and first.stats is not None,
                "one batch": client.get_batch(first.uid).uid == first.uid if first else None}
    t.step("batches", batches)
    t.step("batches of index a", lambda: [
        {"stats": {k: v for k, v in b.stats.items() if k in ("totalNbTasks", "status", "types", "indexUids")}, "details": b.details}
        for b in client.get_batches({"indexUids": [a]}).results])
    t.step("swap", lambda: waited(client, client.swap_indexes([{"indexes": [a, b]}])))
    t.step("a after swap", lambda: sorted(ids(client.index(a).search("", {"limit": 100})["hits"])))
    t.step("b after swap", lambda: sorted(ids(client.index(b).search("", {"limit": 100})["hits"])))
    t.step("swap a missing index", lambda: waited(client, client.swap_indexes([{"indexes": [a, "sdk_py_swap_nowhere"]}])))
    t.step("delete a", lambda: waited(client, client.delete_index(a)))
    t.step("delete b", lambda: waited(client, client.delete_index(b)))
    return t.seen


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: workflow.py URL MASTER_KEY [workflow|batches-and-swap]")
    mode = sys.argv[3] if len(sys.argv) > 3 else "workflow"
    run = {"workflow": workflow, "batches-and-swap": batches_and_swap}[mode]
    print(json.dumps(run(sys.argv[1], sys.argv[2]), sort_keys=True, indent=1, default=lambda o: f"unexpected: {type(o).__name__}"))
