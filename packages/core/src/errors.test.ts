import { describe, expect, it } from 'vitest';
import { EtlError, describeError, redact, registerSecret } from './errors.js';

describe('EtlError', () => {
  it('keeps a plain message, code, plugin, status and cause; formatted, it names the plugin', () => {
    const cause = new Error('socket hang up');
    const error = new EtlError('unreachable', 'cannot reach https://acme.atlassian.net', {
      plugin: 'jira',
      status: 503,
      cause,
    });
    expect(error.message).toBe('cannot reach https://acme.atlassian.net');
    expect(String(error)).toBe('[etl] [jira] cannot reach https://acme.atlassian.net');
    expect(describeError(error)).toBe('[etl] [jira] cannot reach https://acme.atlassian.net');
    expect(error).toMatchObject({ code: 'unreachable', plugin: 'jira', status: 503, cause });
    expect(EtlError.wrap(error, 'internal', 'x')).toBe(error);
    expect(String(EtlError.wrap(new Error('boom'), 'source_error', 'github', 'GET /repos'))).toBe(
      '[etl] [github] GET /repos: boom',
    );
  });

  it('redacts credentials in URLs, auth headers, token fields and registered secrets', () => {
    expect(redact('amqp://etl:hunter2@127.0.0.1:5672')).toBe('amqp://etl:[redacted]@127.0.0.1:5672');
    expect(redact('Authorization: Bearer abc.def.ghi')).toBe('Authorization: [redacted]');
    expect(redact('{"apiToken":"s3cr3t-value","name":"x"}')).toBe('{"apiToken":"[redacted]","name":"x"}');
    expect(redact('token ghp_abcdefghijklmnopqrstuvwxyz0123')).not.toContain('ghp_abcdefghijklmnop');
    registerSecret('very-private-value-42');
    expect(new EtlError('auth_failed', 'sent very-private-value-42 and failed').message).not.toContain(
      'very-private-value-42',
    );
    expect(describeError(new Error('x very-private-value-42'))).toBe('x [redacted]');
    const basic = Buffer.from('ops@acme.test:very-private-value-42').toString('base64');
    expect(redact(`echoed ${basic}`)).not.toContain(basic.slice(20, 40));
  });

  it('keeps messages readable: field names followed by their error are not taken for secrets', () => {
    registerSecret('short');
    expect(redact('apiToken: must not be empty')).toBe('apiToken: must not be empty');
    expect(redact('re-enter token: the site changed')).toBe('re-enter token: the site changed');
    expect(redact('invalid config — password: required; secret: too short')).toBe(
      'invalid config — password: required; secret: too short',
    );
    expect(redact('token: tok-12345 was refused')).toBe('token: [redacted] was refused');
    expect(redact('?access_token=abcdef&x=1')).toBe('?access_token=[redacted]&x=1');
  });
});
