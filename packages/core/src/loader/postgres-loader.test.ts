// @etl-test-services postgres-optional
import { createEngine } from '../engine/engine.js';
import { memoryQueue } from '../queue/memory-queue.js';
import { postgresLoader } from './postgres-loader.js';
import { entityTables } from '../model/canonical.js';
import { openTestDb } from '../testing/db.js';
import { testLoader } from '../testing/loader-suite.js';
import { testDbKinds } from '../testing/services.js';

for (const kind of testDbKinds()) {
  testLoader({
    async create() {
      const t = await openTestDb(kind);
      await createEngine({ db: t.db, schema: t.schema, queue: memoryQueue() });
      return {
        db: t.db,
        loader: postgresLoader({ schema: t.schema }),
        async count(entityKind, integrationId) {
          const { rows } = await t.db.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${t.schema}"."${entityTables[entityKind]}" WHERE integration_id = $1`,
            [integrationId],
          );
          return Number(rows[0]!.n);
        },
        close: t.close,
      };
    },
  });
}
