import { describe, expect, it } from 'vitest';
import { relativeBaseHref, renderIndexHtml } from './spa-assets.js';

describe('relativeBaseHref', () => {
  it.each([
    ['/', 'etl', './'],
    ['/jobs', 'etl', './'],
    ['/jobs/', 'etl', '../'],
    ['/jobs/abc', 'etl', '../'],
    ['/a/b/c', null, '../../'],
    ['', 'etl', 'etl/'],
    ['', 'a b:c', 'a%20b%3Ac/'],
  ])('%s below a mount ending in %s → %s', (pathInUi, mountSegment, expected) => {
    expect(relativeBaseHref(pathInUi, mountSegment)).toBe(expected);
  });

  it('resolves back to the UI root from every page, under any prefix', () => {
    for (const page of ['/', '/jobs', '/jobs/abc', '/raw']) {
      for (const prefix of ['', '/etl', '/proxy/tools/etl']) {
        const base = new URL(
          relativeBaseHref(page, prefix.split('/').pop() || null),
          `https://h${prefix}${page}`,
        );
        expect(base.pathname).toBe(`${prefix}/`);
      }
    }
  });
});

describe('renderIndexHtml', () => {
  it('escapes what it puts in attributes and text', () => {
    const html = renderIndexHtml({ baseHref: '"><script>x</script>', readOnly: false, title: '<b>ETL</b>' });
    expect(html).not.toContain('<script>x');
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
    expect(html).toContain('<title>&lt;b&gt;ETL&lt;/b&gt;</title>');
    expect(html).not.toMatch(/<script>/);
  });
});
