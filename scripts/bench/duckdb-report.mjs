// Runs scripts/bench/abstat.sql over one log with DuckDB's Node API and
// prints the per-variant rows: the DuckDB side of scripts/bench-abstat.
//   node duckdb-report.mjs SQL_FILE LOG
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [sqlFile, log] = process.argv.slice(2);
const sql = readFileSync(sqlFile, 'utf8').replaceAll('{{LOG}}', log);
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const reader = await connection.runAndReadAll(sql);
for (const row of reader.getRowObjectsJson()) {
    console.log(JSON.stringify(row));
}
