import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Functions short enough to read at once. Every function in core's production code (everything under `src`
 * but the tests) is measured with the TypeScript compiler: its own lines, that is its span minus the spans of
 * the functions nested in it (a store factory's methods are measured one by one). `createEngine` composes the
 * engine and is measured whole: options, stores, stages and the API it returns fit on one screen.
 */
const maxLines = 80;
const measuredWhole = ['createEngine'];

const srcDir = fileURLToPath(new URL('.', import.meta.url));

interface Measured {
  where: string;
  name: string;
  span: number;
  own: number;
}

async function productionFiles(): Promise<string[]> {
  const entries = await readdir(srcDir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

function nameOf(node: ts.FunctionLikeDeclaration): string {
  if (node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) return node.name.text;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

function lineCount(source: ts.SourceFile, node: ts.Node): number {
  const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
  const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
  return end - start + 1;
}

/** Every function of a file with its whole span and its own lines. */
function measureFunctions(file: string, text: string): Measured[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Measured[] = [];
  const visit = (node: ts.Node, enclosing: Measured | undefined) => {
    let next = enclosing;
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const span = lineCount(source, fn);
      const line = source.getLineAndCharacterOfPosition(fn.getStart(source)).line + 1;
      const measured = {
        where: `${relative(srcDir, file).split(sep).join('/')}:${line}`,
        name: nameOf(fn),
        span,
        own: span,
      };
      // A nested function's lines are its own, not its parent's (keeping the line the parent calls it on).
      if (enclosing) enclosing.own -= span - 1;
      out.push(measured);
      next = measured;
    }
    ts.forEachChild(node, (child) => visit(child, next));
  };
  visit(source, undefined);
  return out;
}

describe('function length', () => {
  it(`no production function in core has more than ${maxLines} lines of its own`, async () => {
    const measured = (
      await Promise.all(
        (await productionFiles()).map(async (f) => measureFunctions(f, await readFile(f, 'utf8'))),
      )
    ).flat();
    expect(measured.length).toBeGreaterThan(100);
    const tooLong = measured
      .filter((m) => (measuredWhole.includes(m.name) ? m.span : m.own) > maxLines)
      .map((m) => `${m.where} ${m.name}: ${measuredWhole.includes(m.name) ? m.span : m.own} lines`);
    expect(tooLong).toEqual([]);
  });

  it('measures createEngine whole', async () => {
    const file = join(srcDir, 'engine', 'engine.ts');
    const createEngine = measureFunctions(file, await readFile(file, 'utf8')).find(
      (m) => m.name === 'createEngine',
    );
    expect(createEngine, 'createEngine is declared in engine/engine.ts').toBeDefined();
    expect(createEngine!.span).toBeLessThanOrEqual(maxLines);
  });

  it('fails on a long function, counting nested functions apart', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `export function outer() {\n${body(70)}\n  function inner() {\n${body(30)}\n  }\n  return inner;\n}\nexport const long = () => {\n${body(90)}\n};\n`;
    const measured = measureFunctions('x.ts', text);
    const outer = measured.find((m) => m.name === 'outer')!;
    expect(outer.span).toBe(105);
    expect(outer.own).toBe(74);
    expect(measured.find((m) => m.name === 'inner')!.own).toBe(32);
    expect(measured.find((m) => m.name === 'long')!.own).toBe(92);
  });
});
