#!/usr/bin/env node
// Test oracle: a thin command-line wrapper around the reference CQL-to-ELM translator
// (@cqframework/cql, the Kotlin/JS build of the Java translator).  Used only by pedqm's
// tests and tools, never by pedqm at run time.  See tools/oracles/README.md.
//
//   node tools/oracles/translate.mjs           one JSON request on stdin, one JSON response on stdout
//   node tools/oracles/translate.mjs --lines   one request per stdin line, one response per stdout line
//   node tools/oracles/translate.mjs --version prints {"translator": "<version>", ...}
//
// Request:  {"libraries": {"<Name>": "<cql>", ...}, "translate": ["<Name>", ...], "options": {...}}
// Response: {"<Name>": {"elm": {"library": {...}} | null, "errors": [{severity, message, line,
//            column, endLine, endColumn, library}, ...]}, ...}
// A request that cannot be processed at all yields {"$error": "<message>"}.
//
// Environment: PEDQM_MODELINFO_DIR (default <repo>/../shared/modelinfo),
//              PEDQM_ORACLES_DIR (default <repo>/.oracles, where node_modules lives).

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import readline from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");
const ORACLES_DIR = process.env.PEDQM_ORACLES_DIR || path.join(REPO, ".oracles");
const MODELINFO_DIR = process.env.PEDQM_MODELINFO_DIR || path.resolve(REPO, "..", "shared", "modelinfo");
const PKG_DIR = path.join(ORACLES_DIR, "node_modules", "@cqframework", "cql");

// Keep stdout for protocol output only: anything the runtime logs goes to stderr.  Kotlin's
// println writes to process.stdout directly (kotlin-logging prints an "initializing" banner), so
// process.stdout.write itself is redirected and protocol lines go through `emit`.
const stdoutWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (...args) => process.stderr.write(...args);
const emit = (obj) =>
  new Promise((resolve, reject) => stdoutWrite(JSON.stringify(obj) + "\n", (err) => (err ? reject(err) : resolve())));
const toStderr = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = toStderr;

// Defaults mirror the options recorded in published eCQM packages (MADiE / translator defaults:
// EnableLocators, DisableListDemotion, DisableListPromotion; signature level Overloads), minus
// EnableAnnotations (large, not needed) and plus EnableResultTypes.
export const DEFAULT_OPTIONS = Object.freeze({
  compilerOptions: ["EnableLocators", "EnableResultTypes", "DisableListDemotion", "DisableListPromotion"],
  signatureLevel: "Overloads",
  compatibilityLevel: "1.5",
  validateUnits: true,
});

function translatorVersion() {
  return JSON.parse(fs.readFileSync(path.join(PKG_DIR, "package.json"), "utf8")).version;
}

let cql = null; // the imported cql-to-elm module
let modelInfoLookup = null; // (id, system, version) -> Source of the model info XML
let ucumService = null; // Lazy<UcumService> backed by @lhncbc/ucum-lhc (the JS build has no default)

async function loadTranslator() {
  if (cql) return cql;
  const entry = path.join(PKG_DIR, "cql-to-elm.mjs");
  if (!fs.existsSync(entry)) {
    throw new Error(`@cqframework/cql not found at ${PKG_DIR}; run: npm ci --prefix .oracles`);
  }
  cql = await import(pathToFileURL(entry).href);
  modelInfoLookup = makeModelInfoLookup(MODELINFO_DIR);
  ucumService = makeUcumService();
  return cql;
}

// A ModelManager caches one version per model name ("Could not load model information for model
// QICore, version 6.0.0 because version 4.1.1 is already loaded."), so managers are pooled by the
// set of `using` declarations found in the request, and a request that still hits that error is
// retried once with a fresh manager.
const MODEL_MANAGER_POOL_SIZE = 8;
const modelManagers = new Map();

function newModelManager() {
  const mm = new cql.ModelManager();
  mm.modelInfoLoader.registerModelInfoProvider(cql.createModelInfoProvider(modelInfoLookup), true);
  return mm;
}

function usingSignature(libraries) {
  const seen = new Set();
  const re = /^\s*using\s+("[^"]+"|`[^`]+`|[A-Za-z_][\w]*)(?:\s+version\s+'([^']*)')?/gm;
  for (const text of Object.values(libraries)) {
    if (typeof text !== "string") continue;
    for (const m of text.matchAll(re)) seen.add(`${m[1].replace(/^["`]|["`]$/g, "")}@${m[2] ?? "*"}`);
  }
  return [...seen].sort().join(",");
}

function pooledModelManager(signature) {
  let mm = modelManagers.get(signature);
  if (mm) {
    modelManagers.delete(signature); // re-insert: Map order doubles as LRU order
  } else {
    mm = newModelManager();
    if (modelManagers.size >= MODEL_MANAGER_POOL_SIZE) modelManagers.delete(modelManagers.keys().next().value);
  }
  modelManagers.set(signature, mm);
  return mm;
}

// ---------------------------------------------------------------------------------------------
// UCUM: the Kotlin/JS translator has no built-in UCUM service ("No default UCUM service
// available." on every quantity literal), so unit validation is delegated to @lhncbc/ucum-lhc
// (installed with cql-execution).  Only validateUnit/convertUnit are needed for translation.

function makeUcumService() {
  let utils = null;
  const ucum = () => {
    if (utils === null) {
      const req = createRequire(path.join(ORACLES_DIR, "package.json"));
      utils = req("@lhncbc/ucum-lhc").UcumLhcUtils.getInstance();
    }
    return utils;
  };
  const validateUnit = (unit) => {
    const r = ucum().validateUnitString(unit, true);
    return r.status === "valid" ? null : (r.msg || []).join(" ") || `${unit} is not a valid UCUM unit`;
  };
  const convertUnit = (value, from, to) => {
    const r = ucum().convertUnitTo(from, Number(value), to);
    if (r.status !== "succeeded") throw new Error((r.msg || []).join(" ") || `cannot convert ${from} to ${to}`);
    return String(r.toVal);
  };
  const unsupported = () => {
    throw new Error("UCUM multiply/divide is not supported by the translator oracle");
  };
  return cql.createUcumService(convertUnit, validateUnit, unsupported, unsupported);
}

// ---------------------------------------------------------------------------------------------
// Model info: every *.xml in the directory, keyed by the root element's name/version attributes.

function compareVersions(a, b) {
  const pa = String(a).split(/[.-]/);
  const pb = String(b).split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    const nx = Number(x);
    const ny = Number(y);
    const c = !Number.isNaN(nx) && !Number.isNaN(ny) && x !== "" && y !== "" ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

function scanModelInfoDir(dir) {
  if (!fs.existsSync(dir)) throw new Error(`model info directory not found: ${dir}`);
  const entries = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.toLowerCase().endsWith(".xml")) continue;
    const full = path.join(dir, file);
    const head = fs.readFileSync(full, "utf8").slice(0, 8192);
    const root = head.match(/<(?:[A-Za-z_][\w.-]*:)?modelInfo\b([^>]*)>/);
    if (!root) continue;
    const attr = (n) => (root[1].match(new RegExp(`\\s${n}="([^"]*)"`)) || [])[1] ?? null;
    entries.push({ name: attr("name"), version: attr("version"), url: attr("url"), file: full });
  }
  return entries;
}

function makeModelInfoLookup(dir) {
  const entries = scanModelInfoDir(dir);
  const texts = new Map();
  return (id, _system, version) => {
    let hits = entries.filter((e) => e.name === id);
    if (version) hits = hits.filter((e) => e.version === version);
    if (hits.length === 0) return null;
    hits.sort((a, b) => compareVersions(b.version, a.version)); // newest first when unversioned
    const file = hits[0].file;
    if (!texts.has(file)) texts.set(file, fs.readFileSync(file, "utf8"));
    return cql.stringAsSource(texts.get(file));
  };
}

// ---------------------------------------------------------------------------------------------
// One request.

function buildCompilerOptions(requested) {
  const o = { ...DEFAULT_OPTIONS, ...(requested || {}) };
  const opts = new cql.CqlCompilerOptions();
  opts.setOptions(o.compilerOptions.map((n) => cql.CqlCompilerOptions.Options.valueOf(n)));
  opts.signatureLevel = cql.LibraryBuilder.SignatureLevel.valueOf(o.signatureLevel);
  opts.compatibilityLevel = String(o.compatibilityLevel);
  opts.validateUnits = Boolean(o.validateUnits);
  return opts;
}

function ktList(list) {
  if (list == null) return [];
  return typeof list.asJsReadonlyArrayView === "function" ? Array.from(list.asJsReadonlyArrayView()) : Array.from(list);
}

// TrackBack's fields are name-mangled in the Kotlin/JS build; its toString() is stable.
function locatorOf(tb) {
  if (tb == null) return { line: null, column: null, endLine: null, endColumn: null, library: null };
  const s = String(tb);
  const num = (k) => {
    const m = s.match(new RegExp(`${k}=(-?\\d+)`));
    return m ? Number(m[1]) : null;
  };
  let library = null;
  for (const v of Object.values(tb)) {
    if (v && typeof v === "object" && "id" in v && "version" in v) {
      library = v.id ?? null;
      break;
    }
  }
  return { line: num("startLine"), column: num("startChar"), endLine: num("endLine"), endColumn: num("endChar"), library };
}

function errorRecord(e) {
  const sev = e?.severity?.name;
  return {
    severity: sev ? sev.toLowerCase() : "error",
    message: String(e?.message ?? e),
    ...locatorOf(e?.locator),
  };
}

function translateRequest(req) {
  const first = translateWith(req, null);
  if (!first.conflict) return first.out;
  return translateWith(req, newModelManager()).out;
}

function translateWith(req, freshModelManager) {
  if (req == null || typeof req !== "object" || Array.isArray(req)) throw new Error("request must be a JSON object");
  const libraries = req.libraries || {};
  if (typeof libraries !== "object" || Array.isArray(libraries)) throw new Error("'libraries' must be an object");
  const names = req.translate ?? Object.keys(libraries);
  if (!Array.isArray(names)) throw new Error("'translate' must be an array of library names");
  const options = buildCompilerOptions(req.options);
  const modelManager = freshModelManager ?? pooledModelManager(usingSignature(libraries));

  const libraryManager = new cql.LibraryManager(modelManager, options, undefined, ucumService);
  // Includes resolve by "<Name>|<version>" first, then by "<Name>" (version not checked here; the
  // translator itself reports an error when the found library declares a different version).
  const has = (k) => Object.prototype.hasOwnProperty.call(libraries, k) && typeof libraries[k] === "string";
  libraryManager.librarySourceLoader.registerProvider(
    cql.createLibrarySourceProvider((id, _system, version) => {
      const key = version && has(`${id}|${version}`) ? `${id}|${version}` : has(id) ? id : null;
      return key === null ? null : cql.stringAsSource(libraries[key]);
    }),
  );

  const out = {};
  for (const name of names) {
    const text = libraries[name];
    if (typeof text !== "string") {
      out[name] = { elm: null, errors: [{ severity: "error", message: `library ${name} not in request`, line: null, column: null, endLine: null, endColumn: null, library: name }] };
      continue;
    }
    try {
      const tr = cql.CqlTranslator.fromText(text, libraryManager);
      const errors = ktList(tr.exceptions).map(errorRecord);
      let elm = null;
      try {
        elm = JSON.parse(tr.toJson());
      } catch (e) {
        errors.push({ ...errorRecord(e), message: `ELM serialization failed: ${e?.message ?? e}`, library: name });
      }
      out[name] = { elm, errors };
    } catch (e) {
      out[name] = { elm: null, errors: [{ ...errorRecord(e), message: `translator crashed: ${e?.message ?? e}`, library: name }] };
    }
  }
  const conflict = Object.values(out).some((r) =>
    r.errors.some((e) => /Could not load model information for model .* is already loaded/.test(e.message)),
  );
  return { out, conflict };
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return { $error: `invalid JSON request: ${e.message}` };
  }
  try {
    await loadTranslator();
    return translateRequest(req);
  } catch (e) {
    return { $error: String(e?.stack ?? e) };
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes("--version")) {
    await emit({ translator: translatorVersion(), modelinfoDir: MODELINFO_DIR, defaults: DEFAULT_OPTIONS });
    return;
  }
  if (args.includes("--lines")) {
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      if (line.trim() === "") continue;
      await emit(await handle(line));
    }
    return;
  }
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const res = await handle(Buffer.concat(chunks).toString("utf8"));
  await emit(res);
  if (res.$error) process.exitCode = 2;
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + "\n");
  process.exit(1);
});
