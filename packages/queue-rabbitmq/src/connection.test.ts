import { describe, expect, it } from 'vitest';
import { connectError, reconnectDelay, safeUrl } from './connection.js';

describe('reconnectDelay', () => {
  it('doubles from the initial delay up to the cap', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 40].map((attempt) => reconnectDelay(attempt, 250, 5_000, middle))).toEqual([
      250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ]);
  });

  it('spreads each delay by ±20%', () => {
    expect(reconnectDelay(3, 250, 10_000, () => 0)).toBe(800);
    expect(reconnectDelay(3, 250, 10_000, () => 0.999999)).toBe(1_200);
    const samples = Array.from({ length: 200 }, () => reconnectDelay(2, 1_000, 10_000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(1_600);
    expect(Math.max(...samples)).toBeLessThanOrEqual(2_400);
    expect(new Set(samples).size).toBeGreaterThan(10);
  });
});

describe('connection errors', () => {
  it('never show credentials', () => {
    expect(safeUrl('amqp://etl:hunter22@rabbit:5672/prod?heartbeat=5')).toBe('amqp://rabbit:5672/prod');
    const error = connectError(
      new Error('connect ECONNREFUSED 10.0.0.1:5672'),
      'amqp://etl:hunter22@rabbit:5672',
      1_000,
    );
    expect(error.code).toBe('unreachable');
    expect(error.message).not.toContain('hunter22');
  });

  it('tell a refused login from a refused virtual host', () => {
    const url = 'amqp://etl:pw@rabbit:5672/prod';
    expect(
      connectError(
        new Error('403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"'),
        url,
        1,
      ).code,
    ).toBe('auth_failed');
    expect(
      connectError(
        new Error('530 (NOT-ALLOWED) with message "NOT_ALLOWED - access to vhost \'prod\' refused"'),
        url,
        1,
      ).code,
    ).toBe('forbidden');
  });
});
