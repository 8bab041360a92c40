#!/usr/bin/env node
// Test oracle: run fqm-execution (the reference FHIR measure calculator) for pedqm's tests.
//
// fqm-execution and its engines live in <repo>/.oracles/node_modules (or $PEDQM_ORACLES/node_modules);
// they are never pedqm runtime dependencies.
//
// Protocol (JSON in, JSON out; everything written to stdout is protocol, engine chatter goes to stderr):
//   one-shot:   node fqm_run.mjs < request.json          -> one response object
//   persistent: node fqm_run.mjs --serve                  -> one request per stdin line, one response per stdout line
//
// request  = {"id": any, "measure_bundle": "<path to measure-bundle.json>",
//             "patients": [<Bundle of one patient's resources>, ...],
//             "options": {"measurementPeriodStart": "2025-01-01", "measurementPeriodEnd": "2025-12-31",
//                         "trustMetaProfile": true, "calculateSDEs": false},
//             "statements": false, "report": false}
// response = {"id": ..., "ok": true, "results": [
//               {"index": i, "patientId": "...", "error": null | "...",
//                "groups": [{"groupId": "...", "counts": {"initial-population": 1, ...}}],
//                "statements": {"<Library>": {"<define>": <value>}},   // when "statements" is true
//                "measureReport": {...}}]}                              // when "report" is true
//          | {"id": ..., "ok": false, "error": "..."}
// A request {"cmd": "ping"} answers {"ok": true, "versions": {...}}.
//
// Statement values are JSON renderings of cql-execution values: FHIR resources as
// {"$resource": "Type/id"}, other FHIR elements as {"$fhir": type, "json": ...}, DateTime/Date as
// {"$datetime"|"$date": "..."}, Interval as {"$interval": [low, high], "lowClosed", "highClosed"},
// Code/Concept/Quantity/Ratio as tagged objects, tuples as plain objects, lists as arrays.
// A statement that was never evaluated (an included library's define no population needed) is left out.

import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as readline from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const oraclesDir = process.env.PEDQM_ORACLES
  ? resolve(process.env.PEDQM_ORACLES)
  : resolve(here, '..', '..', '.oracles');
if (!existsSync(join(oraclesDir, 'node_modules', 'fqm-execution'))) {
  process.stdout.write(JSON.stringify({ ok: false, missing: true, error: `fqm-execution not installed under ${oraclesDir}` }) + '\n');
  process.exit(3);
}
const require = createRequire(join(oraclesDir, 'package.json'));

// Keep stdout for the protocol: the engines log warnings with console.log / console.warn.
const toStderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.log = toStderr;
console.info = toStderr;
console.warn = toStderr;
console.debug = toStderr;

const fqm = require('fqm-execution');
const MeasureReportBuilder = require('fqm-execution/build/calculation/MeasureReportBuilder').default;
const cql = require('cql-execution');

const bundleCache = new Map();
function measureBundle(path) {
  const key = resolve(path);
  if (!bundleCache.has(key)) {
    bundleCache.set(key, JSON.parse(readFileSync(key, 'utf8')));
  }
  return bundleCache.get(key);
}

function popCode(pop) {
  const coding = (pop.code && pop.code.coding) || [];
  return coding.length ? coding[0].code : undefined;
}

// ---- rendering cql-execution values as JSON ----
function render(value, depth = 0) {
  if (value === null || value === undefined) return null;
  if (depth > 12) return '…';
  const t = typeof value;
  if (t === 'boolean' || t === 'string') return value;
  if (t === 'number') return Number.isFinite(value) ? value : String(value);
  if (t === 'function') return '<function>';
  if (Array.isArray(value)) return value.map(v => render(v, depth + 1));
  if (value._json !== undefined && value._typeInfo !== undefined) {
    const json = value._json;
    if (json && typeof json === 'object' && json.resourceType) {
      return { $resource: `${json.resourceType}/${json.id}` };
    }
    const typeName = value._typeInfo && value._typeInfo.name;
    return { $fhir: typeName, json };
  }
  if (value instanceof cql.DateTime) return { $datetime: value.toString() };
  if (value instanceof cql.Date) return { $date: value.toString() };
  if (value.isInterval || value instanceof cql.Interval) {
    return { $interval: [render(value.low, depth + 1), render(value.high, depth + 1)], lowClosed: value.lowClosed, highClosed: value.highClosed };
  }
  if (value.isQuantity) return { $quantity: { value: value.value, unit: value.unit } };
  if (value.isRatio) return { $ratio: [render(value.numerator, depth + 1), render(value.denominator, depth + 1)] };
  if (value.isConcept) return { $concept: (value.codes || []).map(c => render(c, depth + 1)), display: value.display ?? null };
  if (value.isCode) return { $code: { code: value.code, system: value.system ?? null, version: value.version ?? null, display: value.display ?? null } };
  if (value.isDateTime || value.isDate) return { $datetime: value.toString() };
  if (t === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = render(v, depth + 1);
    return out;
  }
  return String(value);
}

function statementValues(result) {
  const out = {};
  const groups = result.detailedResults || [];
  if (!groups.length) return out;
  for (const s of groups[0].statementResults || []) {
    if (s.isFunction || s.raw === undefined) continue;
    (out[s.libraryName] ??= {})[s.statementName] = render(s.raw);
  }
  return out;
}

function countsFromReport(report) {
  return (report.group || []).map(g => {
    const counts = {};
    (g.population || []).forEach(p => {
      const code = popCode(p);
      if (code === undefined) return;
      let key = code;
      for (let n = 2; Object.prototype.hasOwnProperty.call(counts, key); n++) key = `${code}#${n}`;
      counts[key] = p.count ?? 0;
    });
    return { groupId: g.id ?? null, counts };
  });
}

function calcOptions(opts, statements) {
  return {
    trustMetaProfile: true,
    calculateSDEs: false,
    calculateRAVs: false,
    ...opts,
    calculateHTML: false,
    calculateClauseCoverage: false,
    calculateClauseUncoverage: false,
    calculateCoverageDetails: false,
    buildStatementLevelHTML: false,
    verboseCalculationResults: !!statements,
    reportType: 'individual',
  };
}

async function calculateMany(bundle, patients, opts, statements, report) {
  const options = calcOptions(opts, statements);
  const { results } = await fqm.Calculator.calculate(bundle, patients, options);
  const reports = MeasureReportBuilder.buildMeasureReports(bundle, results, options);
  return results.map((r, i) => {
    const out = { patientId: r.patientId, error: null, groups: countsFromReport(reports[i]) };
    if (statements) out.statements = statementValues(r);
    if (report) out.measureReport = reports[i];
    return out;
  });
}

function patientIdOf(b) {
  const p = (b.entry || []).map(e => e.resource).find(r => r && r.resourceType === 'Patient');
  return p ? p.id : null;
}

async function handle(req) {
  if (req.cmd === 'ping') {
    const version = name => {
      try { return require(`${name}/package.json`).version; } catch { return null; }
    };
    return { ok: true, versions: { 'fqm-execution': version('fqm-execution'), 'cql-execution': version('cql-execution'), 'cql-exec-fhir': version('cql-exec-fhir') } };
  }
  const bundle = measureBundle(req.measure_bundle);
  const patients = req.patients || [];
  const opts = req.options || {};
  const statements = !!req.statements;
  const report = !!req.report;
  let results;
  try {
    // one engine run for all patients; fqm-execution keeps the patients' order
    const all = await calculateMany(bundle, patients, opts, statements, report);
    const ids = patients.map(patientIdOf);
    if (all.length !== patients.length || all.some((r, i) => r.patientId !== ids[i])) throw new Error('patient order not kept');
    results = all;
  } catch (exc) {
    // a run-time error aborts cql-execution's whole run: isolate it by running each patient alone
    if (patients.length <= 1) {
      results = patients.map(p => ({ patientId: patientIdOf(p), error: String(exc && exc.message ? exc.message : exc), groups: [] }));
    } else {
      results = [];
      for (const p of patients) {
        try {
          results.push((await calculateMany(bundle, [p], opts, statements, report))[0]);
        } catch (e) {
          results.push({ patientId: patientIdOf(p), error: String(e && e.message ? e.message : e), groups: [] });
        }
      }
    }
  }
  return { ok: true, results: results.map((r, index) => ({ index, ...r })) };
}

async function answer(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (exc) {
    return { ok: false, error: `bad request: ${exc.message}` };
  }
  try {
    return { id: req.id ?? null, ...(await handle(req)) };
  } catch (exc) {
    return { id: req.id ?? null, ok: false, error: String(exc && exc.stack ? exc.stack : exc) };
  }
}

async function main() {
  if (process.argv.includes('--serve')) {
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      process.stdout.write(JSON.stringify(await answer(line)) + '\n');
    }
    return;
  }
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  process.stdout.write(JSON.stringify(await answer(Buffer.concat(chunks).toString('utf8'))) + '\n');
}

main().catch(exc => {
  process.stderr.write(String(exc && exc.stack ? exc.stack : exc) + '\n');
  process.exit(1);
});
