import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModule, parseSync } from 'libpg-query';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { entityTables } from './model/canonical.js';

/**
 * One module owns each table (STYLE.md habit 16). This test reads every SQL statement in core's production code
 * with the TypeScript compiler, parses it with PostgreSQL's own parser and fails when a table is written from a
 * module other than its owner, when a table has no owner, or when SQL appears outside the owning modules.
 * A new table: add it to a migration and to `owners` here (and to the table in ARCHITECTURE.md).
 */
const owners: Record<string, string> = {
  etl_jobs: 'stores/job-store.ts',
  etl_job_streams: 'stores/job-store.ts',
  raw_extraction_data: 'stores/raw-store.ts',
  etl_checkpoints: 'stores/checkpoint-store.ts',
  etl_integrations: 'stores/integration-store.ts',
  etl_mappings: 'stores/mapping-store.ts',
  etl_events: 'stores/event-log.ts',
  etl_rate_limits: 'stores/rate-limit.ts',
  etl_request_slots: 'stores/rate-limit.ts',
  etl_migrations: 'db/migrate.ts',
  etl_vector_store_collections: 'vector/pgvector-store.ts',
  // The canonical model: written through one upsert per kind, its table name chosen by kind.
  ...Object.fromEntries(Object.values(entityTables).map((table) => [table, 'loader/postgres-loader.ts'])),
};
/** Modules whose SQL names its table from a variable, and what that may be. */
const dynamicWriters: Record<string, string> = {
  'loader/postgres-loader.ts': 'a canonical table',
  'vector/pgvector-store.ts': 'a collection table',
};
/** Tables their owner creates at run time rather than in a migration. */
const runtimeTables = ['etl_migrations', 'etl_vector_store_collections'];
/** Modules allowed SQL that touches no table (transactions, `SELECT 1`) or only drops test schemas. */
const tableFreeSql = ['db/db.ts', 'testing/db.ts'];
const DYNAMIC = 'dynamic_table';

const srcDir = fileURLToPath(new URL('.', import.meta.url));

interface Statement {
  file: string;
  line: number;
  sql: string;
  writes: string[];
  reads: string[];
}

async function productionFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const sqlStart =
  /^\s*(WITH|SELECT|INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|TRUNCATE|BEGIN|COMMIT|ROLLBACK)\b/i;
/** Placeholders tried for a hole; a table named by the first one is a table named at run time. */
const candidates = ['hole', '1', '', 'hole = 1'];

/** Renders a template literal as SQL: constants it interpolates are resolved, other holes get placeholders. */
function render(
  node: ts.Expression,
  checker: ts.TypeChecker,
  depth = 0,
): { text: string; holes: number[] } | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
    return { text: node.text, holes: [] };
  if (!ts.isTemplateExpression(node) || depth > 5) return undefined;
  let text = node.head.text;
  const holes: number[] = [];
  for (const span of node.templateSpans) {
    const inner = resolveConstant(span.expression, checker, depth);
    if (inner) text += inner;
    else {
      holes.push(text.length);
      text += '\u0000';
    }
    text += span.literal.text;
  }
  return { text, holes };
}

function resolveConstant(expr: ts.Expression, checker: ts.TypeChecker, depth: number): string | undefined {
  if (!ts.isIdentifier(expr)) return undefined;
  const declaration = checker.getSymbolAtLocation(expr)?.valueDeclaration;
  if (!declaration || !ts.isVariableDeclaration(declaration) || !declaration.initializer) return undefined;
  const rendered = render(declaration.initializer, checker, depth + 1);
  return rendered && rendered.holes.length === 0 ? rendered.text : rendered ? fillFixed(rendered) : undefined;
}

/** Holes with one reading: `${schema}.` is a schema, `.${name}` a table chosen at run time, `$${n}` a parameter. */
function fillFixed(r: { text: string; holes: number[] }): string {
  let out = '';
  let last = 0;
  for (const at of r.holes) {
    out += r.text.slice(last, at);
    const prev = r.text[at - 1];
    const next = r.text[at + 1];
    out += next === '.' ? '"schema"' : prev === '.' ? DYNAMIC : prev === '$' ? '1' : '\u0000';
    last = at + 1;
  }
  return out + r.text.slice(last);
}

/** Parses SQL with open holes, trying placeholders for the hole nearest each syntax error. */
function parseWithHoles(template: string): { ast: unknown; sql: string } {
  const parts = template.split('\u0000');
  const choice = parts.slice(1).map(() => 0);
  for (let tries = 0; tries < 200; tries++) {
    const starts: number[] = [];
    let sql = parts[0]!;
    choice.forEach((c, i) => {
      starts.push(sql.length);
      sql += candidates[c]! + parts[i + 1]!;
    });
    try {
      return { ast: parseSync(sql), sql };
    } catch (error) {
      const position =
        (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition ?? 0;
      let hole = -1;
      for (let i = starts.length - 1; i >= 0; i--) {
        if (starts[i]! <= position && choice[i]! < candidates.length - 1) {
          hole = i;
          break;
        }
      }
      if (hole < 0) throw new Error(`unparseable SQL (${String(error)}): ${sql}`);
      choice[hole]!++;
      for (let j = hole + 1; j < choice.length; j++) choice[j] = 0;
    }
  }
  throw new Error(`unparseable SQL: ${template}`);
}

function tablesIn(ast: unknown): { writes: string[]; reads: string[] } {
  const writes = new Set<string>();
  const reads = new Set<string>();
  const walk = (node: unknown, key?: string) => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, key));
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(record)) {
      if (
        [
          'InsertStmt',
          'UpdateStmt',
          'DeleteStmt',
          'MergeStmt',
          'CreateStmt',
          'IndexStmt',
          'AlterTableStmt',
        ].includes(k)
      ) {
        const relation = (v as { relation?: { relname?: string } }).relation;
        if (relation?.relname) writes.add(relation.relname === 'hole' ? DYNAMIC : relation.relname);
      }
      if (k === 'TruncateStmt') {
        for (const r of (v as { relations?: { RangeVar?: { relname: string } }[] }).relations ?? [])
          if (r.RangeVar) writes.add(r.RangeVar.relname);
      }
      if (k === 'RangeVar') reads.add((v as { relname: string }).relname);
      walk(v, k);
    }
  };
  walk(ast);
  const ctes = new Set<string>();
  const collectCtes = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(collectCtes);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === 'CommonTableExpr') ctes.add((v as { ctename: string }).ctename);
      collectCtes(v);
    }
  };
  collectCtes(ast);
  return { writes: [...writes], reads: [...reads].filter((t) => !ctes.has(t)) };
}

/** Every SQL statement written as a string or template literal in `files`, with the tables it writes and reads. */
export function sqlStatements(files: string[], root: string): Statement[] {
  const program = ts.createProgram({
    rootNames: files,
    options: { noResolve: true, noLib: true, types: [] },
  });
  const checker = program.getTypeChecker();
  const out: Statement[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node) => {
      if (
        ts.isStringLiteral(node) ||
        ts.isNoSubstitutionTemplateLiteral(node) ||
        ts.isTemplateExpression(node)
      ) {
        const rendered = render(node, checker);
        if (rendered && sqlStart.test(rendered.text)) {
          const { ast, sql } = parseWithHoles(fillFixed(rendered));
          out.push({
            file: relative(root, file).split(sep).join('/'),
            line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1,
            sql,
            ...tablesIn(ast),
          });
        }
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

/** What breaks the ownership rules: a write from a non-owner, an unowned table, SQL in a module that owns nothing. */
export function violations(statements: Statement[]): string[] {
  const owning = new Set([...Object.values(owners), ...Object.keys(dynamicWriters)]);
  const problems: string[] = [];
  for (const st of statements) {
    const where = `${st.file}:${st.line}`;
    for (const table of st.writes) {
      if (table === DYNAMIC) {
        if (!dynamicWriters[st.file])
          problems.push(
            `${where} writes a table named at run time; only ${Object.keys(dynamicWriters).join(', ')} may`,
          );
        continue;
      }
      const owner = owners[table];
      if (!owner)
        problems.push(
          `${where} writes ${table}, which has no owner: add it to owners in sql-ownership.test.ts`,
        );
      else if (owner !== st.file)
        problems.push(`${where} writes ${table}, which ${owner} owns: call the owner instead`);
    }
    const touchesTables = st.writes.length > 0 || st.reads.length > 0;
    if (touchesTables ? !owning.has(st.file) : !owning.has(st.file) && !tableFreeSql.includes(st.file)) {
      problems.push(`${where} runs SQL outside the stores and the loader: ${st.sql.slice(0, 80)}`);
    }
  }
  return problems;
}

describe('SQL ownership', () => {
  beforeAll(async () => {
    await loadModule();
  });

  it('every table core writes is written only by its owning module, and SQL lives only in the owners', async () => {
    const files = (await productionFiles(srcDir)).filter(
      (f) => !relative(srcDir, f).startsWith(`testing${sep}`),
    );
    const statements = sqlStatements(files, srcDir);
    expect(statements.length).toBeGreaterThan(50);
    expect(statements.filter((s) => s.writes.length > 0).length).toBeGreaterThan(30);
    expect(violations(statements)).toEqual([]);
  });

  it('every table the migrations create has an owner, and every owner names a table that exists', async () => {
    const dir = join(srcDir, 'db', 'migrations');
    const created = new Set<string>();
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sql'))) {
      const sql = (await readFile(join(dir, file), 'utf8')).replaceAll(':schema', '"schema"');
      for (const table of tablesIn(parseSync(sql)).writes) created.add(table);
    }
    for (const table of runtimeTables) created.add(table);
    expect([...created].filter((t) => !owners[t])).toEqual([]);
    expect(Object.keys(owners).filter((t) => !created.has(t))).toEqual([]);
  });

  it('catches a write from another module, through a table constant, inside a CTE', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sql-ownership-'));
    try {
      await mkdir(join(root, 'stages'));
      const file = join(root, 'stages', 'sneaky.ts');
      await writeFile(
        file,
        [
          'declare const db: { query(text: string, values?: unknown[]): Promise<unknown> };',
          'declare function quoteIdent(name: string): string;',
          'const s = quoteIdent("etl");',
          'const streams = `${s}.etl_job_streams`;',
          'export async function sneak(values: string[], limit: number) {',
          '  await db.query(`WITH f AS (UPDATE ${streams} SET status = $1 WHERE job_id = $${values.length} RETURNING 1) SELECT count(*) FROM f LIMIT ${limit}`);',
          '  await db.query(`SELECT cursor FROM ${s}.etl_checkpoints WHERE stream = $1`);',
          '}',
        ].join('\n'),
      );
      const statements = sqlStatements([file], root);
      expect(statements.map((s) => s.writes)).toEqual([['etl_job_streams'], []]);
      expect(violations(statements)).toEqual([
        expect.stringMatching(
          /^stages\/sneaky\.ts:6 writes etl_job_streams, which stores\/job-store\.ts owns/,
        ),
        expect.stringMatching(/^stages\/sneaky\.ts:6 runs SQL outside the stores/),
        expect.stringMatching(/^stages\/sneaky\.ts:7 runs SQL outside the stores/),
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
