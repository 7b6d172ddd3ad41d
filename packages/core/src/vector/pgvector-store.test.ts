// @etl-test-services postgres-optional
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../errors.js';
import { pgvectorStore } from './pgvector-store.js';
import { openTestDb, testServiceAvailable, testVectorStore, type TestDb } from '../testing/index.js';

describe('pgvector on embedded PGlite', () => {
  let testDb: TestDb;
  testVectorStore({
    async create() {
      testDb = await openTestDb('pglite');
      return pgvectorStore({ db: testDb.db, schema: testDb.schema });
    },
    cleanup: () => testDb.close(),
  });
});

// The suite runs on PostgreSQL where the server offers pgvector; elsewhere the store must say what is missing.
// Without PostgreSQL in the run (see the workspace's test setup) only the embedded cases run.
const withPostgres = testServiceAvailable('postgres');
let pgvectorInstalled = false;
if (withPostgres) {
  const probe = await openTestDb('postgres');
  pgvectorInstalled =
    (await probe.db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`)).rows.length > 0;
  await probe.close();
}

if (pgvectorInstalled) {
  describe('pgvector on PostgreSQL', () => {
    let testDb: TestDb;
    testVectorStore({
      async create() {
        testDb = await openTestDb('postgres');
        return pgvectorStore({ db: testDb.db, schema: testDb.schema });
      },
      cleanup: () => testDb.close(),
    });
  });
} else if (withPostgres) {
  describe('pgvector on PostgreSQL without the extension', () => {
    let testDb: TestDb;
    beforeAll(async () => {
      testDb = await openTestDb('postgres');
    });
    afterAll(() => testDb.close());

    it('refuses to create a collection with an error naming pgvector', async () => {
      const store = pgvectorStore({ db: testDb.db, schema: testDb.schema });
      const error = await store.ensureCollection('probe', { dimension: 3 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isEtlError(error, 'unsupported'), String(error)).toBe(true);
      expect(String(error)).toContain('pgvector');
    });
  });
}
