// A module resolution hook: resolves the workspace packages to their TypeScript sources (the `etl-source`
// export condition), as `node --conditions=etl-source` does.
export async function resolve(specifier, context, next) {
  return next(specifier, { ...context, conditions: [...context.conditions, 'etl-source'] });
}
