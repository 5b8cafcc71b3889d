// web/openapi.json against the real answers (issue 14 item 17): a real `facematch serve --port 0` with a
// gallery is called on every documented operation with photos of shared/faces, error cases included, and
// each answer is validated (ajv, JSON Schema 2020-12, the dialect of OpenAPI 3.1) against the schema the
// document gives for its status. Run through tests/openapi/run.sh, which sets:
//   FACEMATCH_BIN           the facematch binary
//   FACEMATCH_OPENAPI_DEPS  folder with node_modules (npm ci of tests/openapi/package-lock.json)
//   FACEMATCH_SHARED        shared/ with faces/
//   FACEMATCH_OPENAPI_DOC   the checked-in web/openapi.json (the server must serve exactly it)
// That every route of the server's route table is documented is checked in C++
// (Server.OpenApiDescribesEveryRoute), from the table itself.
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { startServer, stopServer } from "../serve.mjs";

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this test through tests/openapi/run.sh`);
  return value;
}

const BIN = env("FACEMATCH_BIN");
const FACES = path.join(env("FACEMATCH_SHARED"), "faces");
const DOC_FILE = env("FACEMATCH_OPENAPI_DOC");
const require = createRequire(path.join(env("FACEMATCH_OPENAPI_DEPS"), "package.json"));
const Ajv2020 = require("ajv/dist/2020").default;
const { PNG } = require("pngjs");

const DOC = JSON.parse(fs.readFileSync(DOC_FILE, "utf8"));
const SCHEMA_ID = "facematch-openapi";
// Strict, so that a misspelt keyword or a type-less object schema fails here, except strictRequired: a
// schema may require a member that the schema it refers to defines (EmbeddedImage's chosen_face). Formats
// are OpenAPI's ("binary" for a form's file fields), not validated.
const ajv = new Ajv2020({
  allErrors: true,
  strictSchema: true,
  strictNumbers: true,
  strictTypes: true,
  strictTuples: true,
  strictRequired: false,
  validateFormats: false,
});
// The document as one schema resource, so that its "#/components/schemas/..." resolve inside it; its own
// members are keywords without validation (only the schemas they hold are compiled, when referenced).
ajv.addVocabulary(["components", "paths"]);
ajv.addSchema({ $id: SCHEMA_ID, components: DOC.components, paths: DOC.paths });

function photo(name) {
  const file = path.join(FACES, name);
  assert.ok(fs.existsSync(file), `missing ${file}: shared/ must sit beside the repo (or set FACEMATCH_SHARED)`);
  return fs.readFileSync(file);
}
const b64 = (name) => photo(name).toString("base64");

// The original clients' image: the photo resized to 224x224 (nearest pixel here) as nested BGR rows.
function legacyImage(pngName) {
  const png = PNG.sync.read(photo(pngName));
  const rows = [];
  for (let y = 0; y < 224; y++) {
    const row = [];
    const sy = Math.floor((y * png.height) / 224);
    for (let x = 0; x < 224; x++) {
      const i = 4 * (sy * png.width + Math.floor((x * png.width) / 224));
      row.push([png.data[i + 2], png.data[i + 1], png.data[i]]);
    }
    rows.push(row);
  }
  return [rows];
}

let server;
let galleryDir;
const exercised = new Set();  // "METHOD /template" of every operation called
const validated = [];         // one line per answer checked, printed at the end

before(async () => {
  galleryDir = fs.mkdtempSync(path.join(os.tmpdir(), "facematch-openapi-"));
  server = await startServer(BIN, ["--workers", "2", "--gallery", path.join(galleryDir, "gallery.sqlite")]);
});

after(async () => {
  await stopServer(server);
  if (galleryDir) fs.rmSync(galleryDir, { recursive: true, force: true });
  console.log(`validated ${validated.length} answers:\n  ${validated.join("\n  ")}`);
});

const pointer = (...parts) => parts.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

// Calls `method` `url` (a path under the server) documented as `template`, and checks the answer against
// the document: the status is listed (or a default is), the media type is the documented one, and a JSON
// body is valid against that status's schema. Returns the status and the parsed body.
async function call(method, template, url, { json, form, text, headers = {}, expect } = {}) {
  const operation = DOC.paths[template]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${template} is not in web/openapi.json`);
  exercised.add(`${method} ${template}`);
  const init = { method, headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form) {
    init.body = form;
  } else if (text !== undefined) {
    init.body = text;
    init.headers["Content-Type"] = "text/plain";
  }
  const response = await fetch(server.url + url, init);
  const raw = Buffer.from(await response.arrayBuffer());
  const status = response.status;
  const where = `${method} ${url} -> ${status}`;
  if (expect !== undefined) assert.equal(status, expect, `${where}: ${raw.toString().slice(0, 400)}`);
  const key = String(status) in operation.responses ? String(status) : "default";
  const documented = operation.responses[key];
  assert.ok(documented, `${where}: status ${status} is not documented (and there is no default)`);
  const content = documented.content;
  if (!content) {
    assert.equal(raw.length, 0, `${where}: documented without a body, answered ${raw.length} bytes`);
    validated.push(`${where} (no body)`);
    return { status, body: null, raw };
  }
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  assert.ok(type in content, `${where}: Content-Type ${type}, documented ${Object.keys(content).join(", ")}`);
  if (type !== "application/json") {
    assert.ok(raw.length > 0, `${where}: empty body`);
    validated.push(`${where} ${type}`);
    return { status, body: raw.toString(), raw };
  }
  const body = JSON.parse(raw.toString());
  const schemaRef = `${SCHEMA_ID}#/paths/${pointer(template, method.toLowerCase(), "responses", key, "content", type, "schema")}`;
  const validate = ajv.getSchema(schemaRef);
  assert.ok(validate, `${where}: no schema at ${schemaRef}`);
  const valid = validate(body);
  assert.ok(valid, `${where}: the answer does not match web/openapi.json (${key}):\n` +
    `${ajv.errorsText(validate.errors, { separator: "\n" })}\nanswer: ${JSON.stringify(body).slice(0, 2000)}`);
  validated.push(`${where} ${key === "default" ? "default" : "schema " + key}`);
  return { status, body, raw };
}

function formOf(fields) {
  const form = new FormData();
  for (const [name, value] of fields) {
    if (Buffer.isBuffer(value)) form.append(name, new Blob([value], { type: "image/jpeg" }), `${name}.jpg`);
    else form.append(name, value);
  }
  return form;
}

test("the server serves the checked-in document, which is OpenAPI 3.1 with valid schemas", async () => {
  const { raw } = await call("GET", "/openapi.json", "/openapi.json", { expect: 200 });
  assert.equal(raw.toString(), fs.readFileSync(DOC_FILE, "utf8"), "the served document is not web/openapi.json");
  assert.match(DOC.openapi, /^3\.1\./);
  // Every schema compiles (strict mode: no unknown keyword, no dangling $ref).
  for (const name of Object.keys(DOC.components.schemas))
    assert.ok(ajv.getSchema(`${SCHEMA_ID}#/components/schemas/${pointer(name)}`), name);
});

test("health, readiness, metrics", async () => {
  await call("GET", "/healthz", "/healthz", { expect: 200 });
  await call("GET", "/readyz", "/readyz", { expect: 200 });
  const { body } = await call("GET", "/metrics", "/metrics", { expect: 200 });
  assert.match(body, /facematch_http_requests_total/);
});

test("/verify: two photos, a group photo, every error", async () => {
  let { body } = await call("POST", "/verify", "/verify", { json: { img1: b64("obama_1.jpg"), img2: b64("obama_2.jpg") }, expect: 200 });
  assert.equal(body.match, "Yes");
  ({ body } = await call("POST", "/verify", "/verify", {
    form: formOf([["img1", photo("biden_1.jpg")], ["img2", photo("multi_obama_biden.jpg")]]), expect: 200 }));
  assert.equal(body.warnings.length, 1);
  assert.ok(body.img2.faces.every((f) => typeof f.distance === "number"));
  ({ body } = await call("POST", "/verify", "/verify", { json: { img1: b64("noface_grass.jpg"), img2: b64("obama_1.jpg") }, expect: 422 }));
  assert.equal(body.error.image, "img1");
  ({ body } = await call("POST", "/verify", "/verify", { json: { img1: b64("obama_1.jpg"), img2: "not base64!" }, expect: 400 }));
  assert.equal(body.error.image, "img2");
  await call("POST", "/verify", "/verify", { json: { img1: b64("obama_1.jpg"), img2: b64("obama_2.jpg"), treshold: 1 }, expect: 400 });
  await call("POST", "/verify", "/verify", { text: "img1=a", expect: 415 });
});

test("/verify: a method the path does not serve is documented as an error", async () => {
  const response = await fetch(`${server.url}/verify`);
  assert.equal(response.status, 405);
  const body = await response.json();
  const validate = ajv.getSchema(`${SCHEMA_ID}#/components/schemas/Error`);
  assert.ok(validate(body), ajv.errorsText(validate.errors));
});

test("/detect: faces, no face, not an image", async () => {
  let { body } = await call("POST", "/detect", "/detect", { json: { img: b64("multi_four_people.jpg") }, expect: 200 });
  assert.ok(body.faces.length >= 4);
  ({ body } = await call("POST", "/detect", "/detect", { form: formOf([["img", photo("noface_grass.jpg")]]), expect: 200 }));
  assert.equal(body.faces.length, 0);
  ({ body } = await call("POST", "/detect", "/detect", { json: { img: b64("corrupt_broken.jpg") }, expect: 400 }));
  assert.equal(body.error.image, "img");
});

test("/embed: each image on its own, and every image failing", async () => {
  let { body } = await call("POST", "/embed", "/embed", {
    json: { images: [b64("obama_1.jpg"), b64("noface_grass.jpg"), "not base64!", b64("hugh_laurie_1.jpg")] }, expect: 200 });
  assert.equal(body.images[1].error.code, "no_face");
  assert.equal(body.images[2].error.image, "images[2]");
  await call("POST", "/embed", "/embed", { form: formOf([["img", photo("obama_2.jpg")]]), expect: 200 });
  ({ body } = await call("POST", "/embed", "/embed", { json: { images: [b64("noface_grass.jpg"), b64("noface_penguin_drawing.jpg")] }, expect: 422 }));
  assert.equal(body.images.length, 2);
  await call("POST", "/embed", "/embed", { json: { images: ["not base64!", b64("noface_grass.jpg")] }, expect: 400 });
  await call("POST", "/embed", "/embed", { json: { images: [] }, expect: 400 });
});

test("the gallery: enrol, list, show, identify, verify a subject, delete", async () => {
  let { body } = await call("POST", "/subjects/{subject}/faces", "/subjects/obama/faces", { json: { img: b64("obama_1.jpg") }, expect: 201 });
  const obamaFace = body.face_id;
  await call("POST", "/subjects/{subject}/faces", "/subjects/biden/faces", {
    form: formOf([["img", photo("biden_1.jpg")], ["label", "vice president"]]), expect: 201 });
  ({ body } = await call("POST", "/subjects/{subject}/faces", "/subjects/x/faces", { json: { img: b64("noface_grass.jpg") }, expect: 422 }));
  assert.equal(body.error.image, "img");
  await call("POST", "/subjects/{subject}/faces", "/subjects/a%20b/faces", { json: { img: b64("obama_1.jpg") }, expect: 400 });

  ({ body } = await call("GET", "/subjects", "/subjects?limit=1", { expect: 200 }));
  assert.equal(body.next_after, "biden");
  await call("GET", "/subjects", "/subjects?limit=0", { expect: 400 });
  ({ body } = await call("GET", "/subjects/{subject}", "/subjects/biden", { expect: 200 }));
  assert.equal(body.faces[0].label, "vice president");
  await call("GET", "/subjects/{subject}", "/subjects/nobody", { expect: 404 });

  ({ body } = await call("POST", "/identify", "/identify", { json: { img: b64("obama_2.jpg") }, expect: 200 }));
  assert.equal(body.identified, "obama");
  await call("POST", "/identify", "/identify", { form: formOf([["img", photo("hugh_laurie_1.jpg")], ["top_k", "1"]]), expect: 200 });
  await call("POST", "/identify", "/identify", { json: { img: b64("obama_2.jpg"), top_k: 0 }, expect: 400 });

  ({ body } = await call("POST", "/verify", "/verify", { json: { img1: b64("obama_2.jpg"), subject: "obama" }, expect: 200 }));
  assert.equal(body.subject, "obama");
  await call("POST", "/verify", "/verify", { json: { img1: b64("obama_2.jpg"), subject: "nobody" }, expect: 404 });

  await call("DELETE", "/subjects/{subject}/faces/{face_id}", `/subjects/obama/faces/${obamaFace}`, { expect: 204 });
  await call("DELETE", "/subjects/{subject}/faces/{face_id}", `/subjects/obama/faces/${obamaFace}`, { expect: 404 });
  await call("DELETE", "/subjects/{subject}/faces/{face_id}", "/subjects/obama/faces/abc", { expect: 400 });
  await call("DELETE", "/subjects/{subject}", "/subjects/biden", { expect: 204 });
  await call("DELETE", "/subjects/{subject}", "/subjects/biden", { expect: 404 });
});

test("the original route: a verdict, and its errors with Match", async () => {
  const face = legacyImage("alex_lacamoire_3.png");
  let { body } = await call("POST", "/", "/", { json: { truth: face, check: face }, expect: 200 });
  assert.equal(body.Match, "Yes");
  const flat = [Array.from({ length: 224 }, (_, y) => Array.from({ length: 224 }, (_, x) => [x, y, (x + y) >> 1]))];
  ({ body } = await call("POST", "/", "/", { json: { truth: flat, check: face }, expect: 422 }));
  assert.equal(body.Match, "No");
  await call("POST", "/", "/", { json: { truth: face }, expect: 400 });
  await call("POST", "/", "/", { text: JSON.stringify({ truth: face, check: face }), expect: 200 });
});

test("the web page and its files", async () => {
  await call("GET", "/", "/", { expect: 200 });
  for (const file of Object.keys(DOC.paths).filter((p) => /^\/[^/]+\.[a-z]+$/.test(p)))
    await call("GET", file, file, { expect: 200 });
});

test("every documented operation was called", () => {
  const documented = [];
  for (const [template, item] of Object.entries(DOC.paths))
    for (const method of Object.keys(item)) documented.push(`${method.toUpperCase()} ${template}`);
  const missed = documented.filter((op) => !exercised.has(op));
  assert.deepEqual(missed, [], "documented operations this test never called");
});
