/**
 * The layering rules `npm run lint` enforces (README, "Development"). The arrows point one way:
 *   infra ─► functions ─► functions/core          handlers, compose.ts, middleware/, aws/ ─► core
 *   core features ─► core/model, core/ports.ts, core/util, core/errors.ts
 * and between the core's feature folders only downwards (see FEATURE_LAYERS), so no two folders import each other.
 */

/** Lower layers may be imported by higher ones, never the reverse; folders in one layer never import each other. */
const FEATURE_LAYERS = [
  ['attachments', 'security', 'integrity'],
  ['ekuaibao', 'jobs'],
  ['copy', 'sync', 'verify'],
  // Form packages plan with the 合思 client and the sync's form walk, queue with job creation and archive with the
  // copy engine; nothing below imports them (the sync gets its package job starter injected).
  ['packages'],
];
const SHARED = '^functions/core/(model/|util/|ports[.]ts$|errors[.]ts$)';

const layerRules = FEATURE_LAYERS.flatMap((layer, i) => {
  const sameOrHigher = FEATURE_LAYERS.slice(i).flat();
  return layer.map((folder) => ({
    name: 'core-feature-layers',
    severity: 'error',
    comment: `core/${folder} may import only the shared core and feature folders below its layer (${FEATURE_LAYERS.slice(0, i).flat().join(', ') || 'none'})`,
    from: { path: `^functions/core/${folder}/` },
    to: { path: `^functions/core/(${sameOrHigher.filter((f) => f !== folder).join('|')})/` },
  }));
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module must not reach itself through its imports.',
      from: { path: '^(functions|infra)/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles-in-core',
      severity: 'error',
      comment: 'Folders of the core must not import each other in a loop.',
      scope: 'folder',
      from: { path: '^functions/core/' },
      to: { path: '^functions/core/', circular: true },
    },
    {
      name: 'core-stays-inside',
      severity: 'error',
      comment:
        'The core imports nothing outside functions/core (no config, adapters, handlers, infra or tests).',
      from: { path: '^functions/core/' },
      to: { path: '^(functions/(?!core/)|infra/|test/)' },
    },
    {
      name: 'core-is-free-of-aws-and-lambda',
      severity: 'error',
      comment: 'The core knows no AWS SDK, Lambda types, middy or Powertools: those belong to the adapters.',
      from: { path: '^functions/core/' },
      to: { path: '(^|/)node_modules/(@aws-sdk|@smithy|@types/aws-lambda|@middy|@aws-lambda-powertools)/' },
    },
    {
      name: 'shared-core-imports-no-feature',
      severity: 'error',
      comment:
        'core/model, core/util, core/ports.ts and core/errors.ts are the bottom layer: they import no feature.',
      from: { path: SHARED },
      to: { path: '^functions/core/', pathNot: SHARED },
    },
    ...layerRules,
    {
      name: 'aws-sdk-only-in-adapters',
      severity: 'error',
      comment:
        'Inside functions/, only functions/aws/ uses @aws-sdk/* (the composition root may name its types).',
      from: { path: '^functions/', pathNot: '^functions/aws/' },
      to: { path: '(^|/)node_modules/@aws-sdk/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'functions-do-not-import-infra',
      severity: 'error',
      comment: 'The functions are deployed alone: nothing in functions/ may import infra/ or test/.',
      from: { path: '^functions/' },
      to: { path: '^(infra|test)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // TypeScript 7 has no compiler API for dependency-cruiser yet; swc parses the sources instead, and it sees
    // type-only imports as they are written, so a cycle made of types is still reported.
    parser: 'swc',
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
