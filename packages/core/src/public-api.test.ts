import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The public API is curated: `@etl/core` and `@etl/core/testing` list every export by name (no `export *`),
 * each export has a doc comment, internal helpers stay internal, and no exported declaration says `any`.
 */
const srcDir = fileURLToPath(new URL('.', import.meta.url));
const entries = { '@etl/core': `${srcDir}index.ts`, '@etl/core/testing': `${srcDir}testing/index.ts` };

const program = ts.createProgram(Object.values(entries), {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  customConditions: ['etl-source'],
  strict: true,
  skipLibCheck: true,
  noEmit: true,
});
const checker = program.getTypeChecker();

interface Exported {
  name: string;
  documented: boolean;
  saysAny: boolean;
  mainDeclaration: ts.Declaration | undefined;
}

function containsAny(node: ts.Node): boolean {
  if (node.kind === ts.SyntaxKind.AnyKeyword) return true;
  return ts.forEachChild(node, (child) => (containsAny(child) ? true : undefined)) ?? false;
}

function exportsOf(file: string): Exported[] {
  const source = program.getSourceFile(file)!;
  const moduleSymbol = checker.getSymbolAtLocation(source)!;
  return checker.getExportsOfModule(moduleSymbol).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const declarations = target.declarations ?? [];
    return {
      name: symbol.name,
      documented: ts.displayPartsToString(target.getDocumentationComment(checker)).trim().length > 0,
      // Function bodies are implementation, not public type: only signatures and type declarations count.
      saysAny: declarations.some((d) =>
        ts.isFunctionDeclaration(d)
          ? [...d.parameters, ...(d.type ? [d.type] : [])].some(containsAny)
          : !ts.isVariableDeclaration(d) && !ts.isClassDeclaration(d) && containsAny(d),
      ),
      mainDeclaration: declarations[0],
    };
  });
}

describe.each(Object.entries(entries))('the public API of %s', (_entry, file) => {
  const exported = exportsOf(file);

  it('names every export (no export *)', () => {
    const source = program.getSourceFile(file)!;
    const starExports = source.statements.filter(
      (s) => ts.isExportDeclaration(s) && s.exportClause === undefined,
    );
    expect(starExports.map((s) => s.getText(source))).toEqual([]);
    expect(exported.length).toBeGreaterThan(10);
  });

  it('documents every export', () => {
    expect(exported.filter((e) => !e.documented).map((e) => e.name)).toEqual([]);
  });

  it('says `any` in no exported declaration', () => {
    expect(exported.filter((e) => e.saysAny).map((e) => e.name)).toEqual([]);
  });
});

describe('what stays internal', () => {
  const names = new Set(exportsOf(entries['@etl/core']).map((e) => e.name));

  it('keeps internal helpers out of @etl/core', () => {
    const internal = [
      'addCounts',
      'zeroCounts',
      'canonicalColumns',
      'dedupeEntities',
      'formatIssues',
      'issuesText',
      'invalidInput',
      'streamOrder',
      'chunk',
      'groupBy',
      'engineRuntime',
      'jobStore',
      'rawStore',
      'integrationStore',
      'testConnector',
    ];
    expect(internal.filter((name) => names.has(name))).toEqual([]);
  });

  it('gives the main entry points an example', () => {
    const main = ['createEngine', 'openDb', 'memoryQueue', 'EtlError', 'validateConnector', 'parseOptions'];
    const withoutExample = exportsOf(entries['@etl/core'])
      .filter((e) => main.includes(e.name))
      .filter((e) => !ts.getJSDocTags(e.mainDeclaration!).some((tag) => tag.tagName.text === 'example'))
      .map((e) => e.name);
    expect(withoutExample).toEqual([]);
  });
});
