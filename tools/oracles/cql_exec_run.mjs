#!/usr/bin/env node
// Test oracle: evaluate System-only ELM libraries in cql-execution (the reference JS ELM engine)
// and print every define's value as typed JSON.  Test-only; pedqm never runs it.
// See tools/oracles/README.md ("Expression oracle") and tools/oracles/cql_exec.py.
//
//   node tools/oracles/cql_exec_run.mjs           one JSON request on stdin, one response on stdout
//   node tools/oracles/cql_exec_run.mjs --lines   one request per stdin line, one response per line
//
// Request:  {"libraries": [<ELM JSON {"library": ...}>, ...], "defines": null | ["Name", ...]}
// Response: {"results": [{"<define>": <value>, ...}, ...]}  (one object per library)
//           | {"$error": "<message>"}  when the request as a whole cannot be processed.
// Each define is evaluated on its own in an Unfiltered context (no data model, no patient), so one
// failing define does not hide the others; a failure becomes {"error": "<message>"}.
//
// Values: null, booleans and strings as JSON; numbers {"type":"Number","value":<n>} (JS cannot
// tell Integer from Decimal: the ELM result type decides); {"type":"Date","year",..},
// {"type":"DateTime","year",..,"millisecond","offset"}, {"type":"Time","hour",..}, Quantity
// {"value","unit"}, Ratio, Interval {"low","high","lowClosed","highClosed"}, Uncertainty
// {"low","high"}, Code, Concept, Tuple {"elements":{..}}, lists as JSON arrays.
// The clock is fixed (2024-01-01T00:00:00.000Z, offset 0) so runs are reproducible.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

process.env.TZ = "UTC"; // cql-execution falls back to the host offset for offset-less values
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");
const ORACLES_DIR = process.env.PEDQM_ORACLES_DIR || path.join(REPO, ".oracles");

const stdoutWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (...args) => process.stderr.write(...args);
const toStderr = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = toStderr;
const emit = (obj) =>
  new Promise((resolve, reject) => stdoutWrite(JSON.stringify(obj) + "\n", (e) => (e ? reject(e) : resolve())));

if (!existsSync(path.join(ORACLES_DIR, "node_modules", "cql-execution"))) {
  await emit({ $error: `cql-execution not installed under ${ORACLES_DIR}; run: npm ci --prefix .oracles` });
  process.exit(3);
}
const require = createRequire(path.join(ORACLES_DIR, "package.json"));
const cql = require("cql-execution");
const { UnfilteredContext } = require("cql-execution/lib/runtime/context");

const CLOCK = new cql.DateTime(2024, 1, 1, 0, 0, 0, 0, 0);

function num(n) {
  if (typeof n === "bigint") return { type: "Number", value: n.toString() };
  if (!Number.isFinite(n)) return { type: "Number", value: String(n) };
  return { type: "Number", value: n };
}

// Render one cql-execution value as typed JSON (see the header).
function ser(v, depth = 0) {
  if (depth > 50) return { error: "value nested too deeply" };
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return num(v);
  if (Array.isArray(v)) return v.map((x) => ser(x, depth + 1));
  if (v.isUncertainty) return { type: "Uncertainty", low: ser(v.low, depth + 1), high: ser(v.high, depth + 1) };
  if (v.isDateTime) {
    if (typeof v.isTime === "function" && v.isTime()) {
      return { type: "Time", hour: v.hour ?? null, minute: v.minute ?? null, second: v.second ?? null,
        millisecond: v.millisecond ?? null };
    }
    return { type: "DateTime", year: v.year ?? null, month: v.month ?? null, day: v.day ?? null,
      hour: v.hour ?? null, minute: v.minute ?? null, second: v.second ?? null,
      millisecond: v.millisecond ?? null, offset: v.timezoneOffset ?? null };
  }
  if (v.isDate) return { type: "Date", year: v.year ?? null, month: v.month ?? null, day: v.day ?? null };
  if (v.isInterval) {
    return { type: "Interval", low: ser(v.low, depth + 1), high: ser(v.high, depth + 1),
      lowClosed: v.lowClosed, highClosed: v.highClosed };
  }
  if (v.isQuantity) return { type: "Quantity", value: num(v.value), unit: v.unit ?? null };
  if (v.isRatio) return { type: "Ratio", numerator: ser(v.numerator, depth + 1), denominator: ser(v.denominator, depth + 1) };
  if (v.isCode) return { type: "Code", code: v.code ?? null, system: v.system ?? null, version: v.version ?? null,
    display: v.display ?? null };
  if (v.isConcept) return { type: "Concept", codes: (v.codes || []).map((c) => ser(c, depth + 1)), display: v.display ?? null };
  if (typeof v === "object") {
    const elements = {};
    for (const [k, x] of Object.entries(v)) elements[k] = ser(x, depth + 1);
    return { type: "Tuple", elements };
  }
  return { error: `unserializable ${typeof v}` };
}

async function runLibrary(elm, only) {
  const out = {};
  let lib;
  try {
    lib = new cql.Library(elm);
  } catch (e) {
    return { $library_error: String(e && e.message ? e.message : e) };
  }
  const executor = new cql.Executor(lib, new cql.CodeService({}), {});
  for (const [name, expr] of Object.entries(lib.expressions)) {
    if (only && !only.has(name)) continue;
    if (expr.constructor && expr.constructor.name === "FunctionDef") continue;
    try {
      const ctx = new UnfilteredContext(lib, new cql.Results(), executor.codeService, {}, CLOCK,
        new cql.NullMessageListener());
      out[name] = ser(await expr.execute(ctx));
    } catch (e) {
      out[name] = { error: String(e && e.message ? e.message : e).slice(0, 500) };
    }
  }
  return out;
}

async function handle(request) {
  const only = request.defines ? new Set(request.defines) : null;
  const results = [];
  for (const elm of request.libraries || []) results.push(await runLibrary(elm, only));
  return { results };
}

async function main() {
  if (process.argv.includes("--lines")) {
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      let response;
      try {
        response = await handle(JSON.parse(line));
      } catch (e) {
        response = { $error: String(e && e.stack ? e.stack : e) };
      }
      await emit(response);
    }
    return;
  }
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  try {
    await emit(await handle(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
  } catch (e) {
    await emit({ $error: String(e && e.stack ? e.stack : e) });
    process.exitCode = 2;
  }
}

await main();
