import { notRunLine, prepareTestServices } from './services.js';

/**
 * Runs once per test run, in the main process, after the config has probed the services (the probe is
 * kept, not repeated). Its teardown comes after the summary and prints the one line naming the suites
 * left out for lack of a service, with how to include them.
 */
export default async function setup() {
  const services = await prepareTestServices();
  return () => {
    const line = notRunLine(services);
    // Vitest may call the teardown of the root project and of a project that inherited it: say it once.
    if (line && process.env.ETL_TEST_SERVICES_REPORTED !== '1') process.stdout.write(`\n${line}\n`);
    process.env.ETL_TEST_SERVICES_REPORTED = '1';
  };
}
