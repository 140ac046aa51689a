// An application's whole workflow written with the official JavaScript SDK (`meilisearch`
// on npm, pinned in package-lock.json), as its README and docs show it.
//
//     node workflow.mjs URL MASTER_KEY [workflow|batches-and-swap]
//
// Prints one JSON object: step name -> what the application saw. Only what may not differ
// between two equally correct deployments is dropped (task uids, dates, keys); hits keep
// their order, made unique by sorting on `id`. tests/e2e/tests/sdk_other.rs runs it against
// one Meilisearch node and against a Miroir mesh and compares the two transcripts.

import { Meilisearch, MeilisearchApiError } from "meilisearch";
import { generateTenantToken } from "meilisearch/token";

const INDEX = "sdk_js_movies";
const GENRES = ["comedy", "drama", "horror"];
const WAIT = { timeout: 60_000, interval: 50 };

const movie = (i) => ({
  id: i,
  title: `${i % 4 === 0 ? "space" : "river"} story number ${i}`,
  genre: GENRES[i % 3],
  year: 1990 + (i % 25),
});
const range = (from, to) => Array.from({ length: to - from }, (_, k) => movie(from + k));
const ids = (hits) => hits.map((h) => h.id);

/** Runs each step; records its outcome, or the error the SDK threw, and goes on. */
class Transcript {
  seen = {};
  async step(name, action) {
    try {
      const outcome = await action();
      this.seen[name] = outcome === undefined ? null : outcome;
    } catch (e) {
      if (e instanceof MeilisearchApiError) {
        this.seen[name] = { error: e.cause?.code ?? null, type: e.cause?.type ?? null, http: e.response.status };
      } else {
        this.seen[name] = { unexpected: `${e?.name}: ${e?.message}` };
      }
    }
  }
}

/** What a client may rely on: status, type, index, the counts, and the error code. */
function taskOutcome(task) {
  const out = { status: task.status, type: task.type, index: task.indexUid ?? null, details: task.details ?? {} };
  if (task.error) out.error = task.error.code;
  if (task.customMetadata !== undefined) out.customMetadata = task.customMetadata;
  return out;
}
const waited = async (enqueued) => taskOutcome(await enqueued.waitTask(WAIT));

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

async function workflow(url, masterKey) {
  const t = new Transcript();
  const client = new Meilisearch({ host: url, apiKey: masterKey, defaultWaitOptions: WAIT });
  const index = client.index(INDEX);

  await t.step("healthy", () => client.isHealthy());
  await t.step("create index", () => waited(client.createIndex(INDEX, { primaryKey: "id" })));
  await t.step("get index", async () => {
    const got = await client.getIndex(INDEX);
    return { uid: got.uid, primaryKey: got.primaryKey };
  });
  await t.step("list indexes", async () => (await client.getIndexes({ limit: 10 })).results.map((i) => i.uid));
  await t.step("settings", () => waited(index.updateSettings({
    filterableAttributes: ["genre", "year", "id"],
    sortableAttributes: ["id", "year"],
    searchableAttributes: ["title", "genre"],
    typoTolerance: { minWordSizeForTypos: { oneTypo: 4 } },
  })));
  await t.step("settings read back", async () => {
    const s = await index.getSettings();
    return { filterableAttributes: s.filterableAttributes, sortableAttributes: s.sortableAttributes,
      searchableAttributes: s.searchableAttributes, typoTolerance: s.typoTolerance };
  });
  await t.step("filterable read back", () => index.getFilterableAttributes());

  // Documents, in each of the SDK's usual ways.
  await t.step("add documents", () => waited(index.addDocuments(range(0, 20), { primaryKey: "id" })));
  await t.step("add documents in batches", async () => {
    const tasks = await client.tasks.waitForTasks(index.addDocumentsInBatches(range(20, 40), 7), WAIT);
    return tasks.map(taskOutcome);
  });
  await t.step("add documents ndjson", () => waited(index.addDocumentsFromString(
    range(40, 50).map((d) => JSON.stringify(d)).join("\n"), "application/x-ndjson")));
  await t.step("add documents csv", () => waited(index.addDocumentsFromString(
    ["id:number,title,genre,year:number", ...range(50, 60).map((d) => `${d.id},${d.title},${d.genre},${d.year}`)].join("\n"),
    "text/csv")));
  await t.step("update documents", () => waited(index.updateDocuments([{ id: 7, title: "space walk number 7" }])));
  await t.step("update documents csv", () => waited(index.updateDocumentsFromString("id,title\n9,space walk number 9", "text/csv")));
  await t.step("update documents csv with a delimiter", () => waited(index.updateDocumentsFromString(
    "id:number;title\n10;river tale, number 10", "text/csv", { csvDelimiter: ";" })));
  await t.step("document after the csv update", () => index.getDocument(10));
  await t.step("add documents with metadata", async () => {
    const enqueued = await index.updateDocuments([{ id: 11, year: 2001 }], { customMetadata: "sdk-js-import" });
    return { enqueued: enqueued.customMetadata ?? null, task: taskOutcome(await client.tasks.waitForTask(enqueued.taskUid, WAIT)) };
  });
  await t.step("update only existing documents", () => waited(index.updateDocuments([movie(12), movie(1000)], { skipCreation: true })));
  await t.step("document not created", () => index.getDocument(1000));
  await t.step("synonyms", () => waited(index.updateSynonyms({ tale: ["story"], story: ["tale"] })));
  await t.step("document missing its id", () => waited(index.addDocuments([{ title: "no id" }])));

  // Search: query, filter, facets, sort, highlight, pages, GET search.
  await t.step("search", async () => {
    const r = await index.search("space", { sort: ["id:asc"], limit: 100 });
    return { ids: ids(r.hits), estimatedTotalHits: r.estimatedTotalHits, query: r.query };
  });
  await t.step("search with GET", async () => {
    const r = await index.searchGet("space", { sort: ["id:asc"], limit: 100, filter: "year > 2000" });
    return { ids: ids(r.hits), estimatedTotalHits: r.estimatedTotalHits };
  });
  await t.step("faceted search", async () => {
    const r = await index.search("", { filter: "year >= 2000", facets: ["genre", "year"], sort: ["year:desc", "id:asc"], limit: 7 });
    return { ids: ids(r.hits), facetDistribution: r.facetDistribution, facetStats: r.facetStats };
  });
  await t.step("filter as array", async () => ids((await index.search("", {
    filter: [["genre = comedy", "genre = horror"], "year < 2000"], sort: ["id:asc"], limit: 100 })).hits));
  await t.step("highlight and crop", async () => (await index.search("space", {
    sort: ["id:asc"], limit: 3, attributesToHighlight: ["title"], highlightPreTag: "<em>", highlightPostTag: "</em>",
    attributesToCrop: ["title"], cropLength: 2, attributesToRetrieve: ["id"] })).hits.map((h) => h._formatted));
  await t.step("pages", async () => {
    const r = await index.search("river", { sort: ["id:desc"], hitsPerPage: 5, page: 3 });
    return { ids: ids(r.hits), totalHits: r.totalHits, totalPages: r.totalPages, page: r.page };
  });
  await t.step("matches position", async () => (await index.search("walk", { sort: ["id:asc"], showMatchesPosition: true }))
    .hits.map((h) => [h.id, h._matchesPosition]));
  await t.step("synonym search", async () => {
    const r = await index.search("tale", { sort: ["id:asc"], limit: 100, filter: "id < 20" });
    return { ids: ids(r.hits), estimatedTotalHits: r.estimatedTotalHits };
  });
  await t.step("distinct search", async () => {
    const r = await index.search("river", { distinct: "genre", sort: ["id:asc"] });
    return { ids: ids(r.hits), estimatedTotalHits: r.estimatedTotalHits };
  });
  await t.step("ranking scores", async () => (await index.search("space walk", {
    showRankingScore: true, sort: ["id:asc"], limit: 8, matchingStrategy: "last" })).hits.map((h) => [h.id, h._rankingScore]));
  await t.step("attributes to search on", async () => Promise.all(["title", "genre"].map(async (on) =>
    ids((await index.search("comedy", { attributesToSearchOn: [on], sort: ["id:asc"], filter: "id < 15" })).hits))));
  await t.step("facet search", async () => (await index.searchForFacetValues({ facetName: "genre", facetQuery: "com" })).facetHits);
  await t.step("facet search with a filter", async () => (await index.searchForFacetValues({
    facetName: "genre", filter: "year > 2010", q: "space" })).facetHits);

  await t.step("multi-search", async () => (await client.multiSearch({ queries: [
    { indexUid: INDEX, q: "river", sort: ["id:asc"], limit: 5 },
    { indexUid: INDEX, filter: "genre = drama", sort: ["id:desc"], limit: 4 },
  ] })).results.map((r) => ({ index: r.indexUid, ids: ids(r.hits), estimatedTotalHits: r.estimatedTotalHits })));
  await t.step("federated multi-search", async () => {
    const r = await client.multiSearch({ federation: { limit: 50 }, queries: [
      { indexUid: INDEX, filter: "genre = drama AND id < 20", sort: ["id:asc"] },
      { indexUid: INDEX, filter: "genre = horror AND id < 20", sort: ["id:asc"] },
    ] });
    return { hits: r.hits.map((h) => [h.id, h._federation.queriesPosition]), estimatedTotalHits: r.estimatedTotalHits,
      limit: r.limit, offset: r.offset };
  });

  await t.step("federated facets", async () => {
    const r = await client.multiSearch({ federation: { limit: 5, facetsByIndex: { [INDEX]: ["genre", "year"] } },
      queries: [{ indexUid: INDEX, q: "space", sort: ["id:asc"] }] });
    return { facetsByIndex: r.facetsByIndex, ids: ids(r.hits) };
  });

  // Tasks, filtered as an application reads them.
  await t.step("task list", async () => {
    const found = await client.tasks.getTasks({ indexUids: [INDEX], statuses: ["succeeded"], types: ["documentAdditionOrUpdate"], limit: 2 });
    return { count: found.results.length, total: found.total, hasNext: found.next !== null,
      types: found.results.map((r) => r.type), statuses: found.results.map((r) => r.status) };
  });
  await t.step("failed tasks", async () => (await client.tasks.getTasks({ indexUids: [INDEX], statuses: ["failed"] }))
    .results.map((r) => [r.type, r.error.code]));
  await t.step("one task", async () => {
    const created = (await client.tasks.getTasks({ indexUids: [INDEX], types: ["indexCreation"] })).results[0];
    return taskOutcome(await client.tasks.getTask(created.uid));
  });

  await t.step("version", async () => (await client.getVersion()).pkgVersion);
  await t.step("cancel enqueued tasks", () => waited(client.tasks.cancelTasks({ indexUids: [INDEX], statuses: ["enqueued"] })));
  await t.step("delete failed tasks", () => waited(client.tasks.deleteTasks({ indexUids: [INDEX], statuses: ["failed"] })));
  await t.step("failed tasks after deletion", async () => (await client.tasks.getTasks({ indexUids: [INDEX], statuses: ["failed"] })).total);

  // Documents read back.
  await t.step("get document", () => index.getDocument(7, { fields: ["id", "title"] }));
  await t.step("fetch documents with a filter", async () => {
    const r = await index.getDocuments({ filter: "genre = drama AND year > 2005", fields: ["id", "year"], sort: ["id:asc"], limit: 4, offset: 1 });
    return { docs: r.results, total: r.total };
  });
  await t.step("get documents by ids", async () => (await index.getDocuments({
    ids: [33, 3, 1000, 21], fields: ["id", "genre"], sort: ["id:desc"] })).results);
  await t.step("change the primary key", () => waited(index.update({ primaryKey: "title" })));
  await t.step("index info", async () => (await index.fetchInfo()).primaryKey);
  await t.step("reset synonyms", () => waited(index.resetSynonyms()));
  await t.step("synonyms after reset", () => index.getSynonyms());
  await t.step("list documents", async () => {
    const r = await index.getDocuments({ limit: 25 });
    return { count: r.results.length, total: r.total, limit: r.limit };
  });

  // Keys: a search-only key restricted to the index; a tenant token the SDK signs.
  let key = { key: "missing", uid: "missing" };
  await t.step("create key", async () => {
    key = await client.createKey({ actions: ["search"], indexes: [INDEX], expiresAt: null, name: "searcher" });
    return { actions: key.actions, indexes: key.indexes, name: key.name };
  });
  await t.step("get key", async () => {
    const k = await client.getKey(key.key);
    return { sameUid: k.uid === key.uid, actions: k.actions, indexes: k.indexes };
  });
  await t.step("update key", async () => (await client.updateKey(key.key, { name: "renamed searcher" })).name);
  await t.step("key listed", async () => (await client.getKeys({ limit: 100 })).results.some((k) => k.uid === key.uid));
  const searcher = new Meilisearch({ host: url, apiKey: key.key });
  await t.step("search with the key", async () => ids((await searcher.index(INDEX).search("space", { sort: ["id:asc"], limit: 100 })).hits));
  await t.step("write with the search key", async () => (await searcher.index(INDEX).addDocuments([movie(1)])).taskUid);
  await t.step("settings with the search key", () => searcher.index(INDEX).getSettings());
  await t.step("client without a key", async () => (await new Meilisearch({ host: url }).index(INDEX).deleteDocument(1)).taskUid);
  await t.step("wrong key", () => new Meilisearch({ host: url, apiKey: "not-a-key" }).index(INDEX).search("space"));
  await t.step("tenant token", async () => {
    const token = await generateTenantToken({ apiKey: key.key, apiKeyUid: key.uid, searchRules: { [INDEX]: { filter: "genre = comedy" } } });
    const tenant = new Meilisearch({ host: url, apiKey: token });
    const hits = (await tenant.index(INDEX).search("space", { sort: ["id:asc"], limit: 100 })).hits;
    if (!hits.every((h) => h.genre === "comedy")) throw new Error("the token's rule is not applied");
    const multi = await tenant.multiSearch({ queries: [{ indexUid: INDEX, q: "river", sort: ["id:asc"], limit: 100 }] });
    let write;
    try {
      await tenant.index(INDEX).addDocuments([movie(1)]);
      write = "accepted";
    } catch (e) {
      write = e instanceof MeilisearchApiError ? { error: e.cause?.code, http: e.response.status } : `${e}`;
    }
    return { search: ids(hits), facetSearch: (await tenant.index(INDEX).searchForFacetValues({ facetName: "genre" })).facetHits,
      multiSearch: multi.results.map((r) => ids(r.hits)), write };
  });

  await t.step("stats", async () => {
    const [all, s] = [await client.getStats(), await index.getStats()];
    return { global: all.indexes[INDEX]?.numberOfDocuments, index: s.numberOfDocuments, fields: s.fieldDistribution, indexing: s.isIndexing };
  });

  // Error cases the SDK surfaces as MeilisearchApiError.
  await t.step("index not found", () => client.getIndex("sdk_js_nowhere"));
  await t.step("search a missing index", () => client.index("sdk_js_nowhere").search("space"));
  await t.step("invalid filter", () => index.search("space", { filter: "genre = " }));
  await t.step("filter on a non-filterable attribute", () => index.search("space", { filter: "title = x" }));
  await t.step("sort on a non-sortable attribute", () => index.search("space", { sort: ["genre:asc"] }));
  await t.step("invalid document filter", () => index.getDocuments({ filter: "year >>> 3" }));
  await t.step("document not found", () => index.getDocument(12345));
  await t.step("invalid index uid", () => client.createIndex("not a valid uid!"));
  await t.step("facet search on a non-facet", () => index.searchForFacetValues({ facetName: "title", facetQuery: "space" }));
  await t.step("invalid csv", () => waited(index.addDocumentsFromString("id,title\n1,\"unclosed", "text/csv")));
  await t.step("invalid json", () => index.addDocumentsFromString("[{\"id\": 1,", "application/json"));
  await t.step("delete index if exists, missing", () => client.deleteIndexIfExists("sdk_js_nowhere"));

  // Deletions.
  await t.step("delete documents by ids", () => waited(index.deleteDocuments([0, 1, 2, 3, 4], { customMetadata: "sdk-js-by-ids" })));
  await t.step("delete documents by filter", () => waited(index.deleteDocuments({ filter: "genre = horror AND year < 1995" }, { customMetadata: "sdk-js-by-filter" })));
  await t.step("delete one document", () => waited(index.deleteDocument(59, { customMetadata: "sdk-js-one" })));
  await t.step("documents left", async () => (await index.getStats()).numberOfDocuments);
  await t.step("delete key", () => client.deleteKey(key.key));
  await t.step("search with a deleted key", () => searcher.index(INDEX).search("space"));
  await t.step("delete all documents", () => waited(index.deleteAllDocuments({ customMetadata: "sdk-js-all" })));
  await t.step("delete index", () => waited(client.deleteIndex(INDEX)));
  await t.step("index gone", () => client.getIndex(INDEX));
  return t.seen;
}

/** The SDK's batches and swap calls: two indexes, swapped, and the batches read back. */
async function batchesAndSwap(url, masterKey) {
  const t = new Transcript();
  const client = new Meilisearch({ host: url, apiKey: masterKey, defaultWaitOptions: WAIT });
  const [a, b] = ["sdk_js_swap_a", "sdk_js_swap_b"];
  const sortedIds = async (uid) => ids((await client.index(uid).search("", { limit: 100 })).hits).sort((x, y) => x - y);
  await t.step("fill a", () => waited(client.index(a).addDocuments(range(0, 10), { primaryKey: "id" })));
  await t.step("fill b", () => waited(client.index(b).addDocuments(range(10, 13), { primaryKey: "id" })));
  await t.step("batches", async () => {
    const found = await client.batches.getBatches({ limit: 20 });
    const first = found.results[0];
    return { some: found.results.length > 0, firstHasStats: first?.stats !== undefined,
      oneBatch: first ? (await client.batches.getBatch(first.uid)).uid === first.uid : null };
  });
  await t.step("batches of index a", async () => (await client.batches.getBatches({ indexUids: [a] })).results.map((b) => ({
    stats: { totalNbTasks: b.stats.totalNbTasks, status: b.stats.status, types: b.stats.types, indexUids: b.stats.indexUids },
    details: b.details })));
  await t.step("swap", () => waited(client.swapIndexes([{ indexes: [a, b] }])));
  await t.step("a after swap", () => sortedIds(a));
  await t.step("b after swap", () => sortedIds(b));
  await t.step("swap a missing index", () => waited(client.swapIndexes([{ indexes: [a, "sdk_js_swap_nowhere"] }])));
  await t.step("delete a", () => waited(client.deleteIndex(a)));
  await t.step("delete b", () => waited(client.deleteIndex(b)));
  return t.seen;
}

const [url, masterKey, mode = "workflow"] = process.argv.slice(2);
if (!url || !masterKey) {
  console.error("usage: node workflow.mjs URL MASTER_KEY [workflow|batches-and-swap]");
  process.exit(2);
}
const run = { workflow, "batches-and-swap": batchesAndSwap }[mode];
if (!run) {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
console.log(JSON.stringify(sortKeys(await run(url, masterKey)), null, 1));
