#!/usr/bin/env node
// Test oracle: fqm-execution's clause coverage (calculateClauseCoverage) for a deck of patients,
// for comparing with `pedqm test --coverage`. One-shot: node fqm_coverage.mjs < request.json.
//
// request  = {"measure_bundle": "<path>", "patients": [<patient Bundle>, ...],
//             "options": {"measurementPeriodStart": ..., "measurementPeriodEnd": ...}}
// response = {"ok": true,
//             "details": {<groupId>: {totalClauseCount, coveredClauseCount, uncoveredClauses: [...]}},
//             "clauses": {<groupId>: [{"library", "statement", "localId", "finals": {"TRUE": n, ...}}]},
//             "statements": {<groupId>: [{"library", "statement", "isFunction", "relevant": bool}]}}
// Clause and statement lists are fqm-execution's own detailed results, folded over the patients.

import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const oraclesDir = process.env.PEDQM_ORACLES ? resolve(process.env.PEDQM_ORACLES) : resolve(here, '..', '..', '.oracles');
if (!existsSync(join(oraclesDir, 'node_modules', 'fqm-execution'))) {
  process.stdout.write(JSON.stringify({ ok: false, missing: true, error: `fqm-execution not installed under ${oraclesDir}` }) + '\n');
  process.exit(3);
}
const require = createRequire(join(oraclesDir, 'package.json'));
const toStderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.log = toStderr; console.info = toStderr; console.warn = toStderr; console.debug = toStderr;
const fqm = require('fqm-execution');

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const bundle = JSON.parse(readFileSync(req.measure_bundle, 'utf8'));
  const options = {
    trustMetaProfile: true, calculateSDEs: false, calculateRAVs: false, ...(req.options || {}),
    calculateHTML: false, calculateClauseCoverage: true, calculateClauseUncoverage: false,
    calculateCoverageDetails: true, verboseCalculationResults: true, disableHTMLOrdering: true,
  };
  const out = await fqm.Calculator.calculate(bundle, req.patients, options);
  const clauses = {};
  const statements = {};
  for (const r of out.results) {
    for (const dr of r.detailedResults || []) {
      const g = dr.groupId;
      const cs = (clauses[g] ||= new Map());
      for (const c of dr.clauseResults || []) {
        const key = `${c.libraryName}|${c.localId}`;
        if (!cs.has(key)) cs.set(key, { library: c.libraryName, statement: c.statementName, localId: c.localId, finals: {} });
        const e = cs.get(key);
        e.finals[c.final] = (e.finals[c.final] || 0) + 1;
      }
      const ss = (statements[g] ||= new Map());
      for (const s of dr.statementResults || []) {
        const key = `${s.libraryName}|${s.statementName}`;
        if (!ss.has(key)) ss.set(key, { library: s.libraryName, statement: s.statementName, isFunction: !!s.isFunction, relevant: false });
        if (s.relevance !== 'NA') ss.get(key).relevant = true;
      }
    }
  }
  const plain = m => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v.values()]]));
  process.stdout.write(JSON.stringify({ ok: true, details: out.groupClauseCoverageDetails || {}, clauses: plain(clauses), statements: plain(statements) }) + '\n');
}

main().catch(exc => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(exc && exc.stack ? exc.stack : exc) }) + '\n');
  process.exit(1);
});
