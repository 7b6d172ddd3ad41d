/** Services a test file may need besides the embedded ones (PGlite, the memory queue). */
export type TestService = 'postgres' | 'rabbitmq';

/**
 * Whether this test run has `service`. The workspace's test setup probes PostgreSQL and RabbitMQ once and
 * exports what it found as `ETL_TEST_SERVICES` (comma-separated); outside that setup every service counts
 * as present, so a missing one fails loudly instead of being passed over.
 */
export function testServiceAvailable(service: TestService): boolean {
  const listed = process.env.ETL_TEST_SERVICES;
  if (listed === undefined) return true;
  return listed.split(',').includes(service);
}

/**
 * The database kinds a test file should cover: always embedded PGlite, plus PostgreSQL when the run has it.
 *
 * @example
 * describe.each(testDbKinds())('engine on %s', (kind) => { … openTestDb(kind) … });
 */
export function testDbKinds(): ('pglite' | 'postgres')[] {
  return testServiceAvailable('postgres') ? ['pglite', 'postgres'] : ['pglite'];
}
