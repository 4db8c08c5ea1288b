/**
 * The walls of the tree (docs/architecture.md, "Who may import whom").
 * `npm run check:layout` runs this; .ci/run fails on any violation, naming
 * the rule. test/layout/ holds a fixture that breaks each rule on purpose.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'edge-not-to-cloud',
      comment: 'The edge runtime never imports the hub: what both need lives in shared/.',
      severity: 'error',
      from: { path: '^edge/' },
      to: { path: '^cloud/' },
    },
    {
      name: 'cloud-not-to-edge',
      comment: 'The hub never imports the edge runtime: what both need lives in shared/.',
      severity: 'error',
      from: { path: '^cloud/' },
      to: { path: '^edge/' },
    },
    {
      name: 'shared-stays-below-the-sides',
      comment: 'shared/ is the layer both sides build on: it imports neither side, nor the CLI, models, benchmarks or tests.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(edge|cloud|cli|models|firmware|bench|test)/' },
    },
    {
      name: 'product-not-to-bench-or-test',
      comment: 'Product code (edge, cloud, shared, models, firmware) never imports benchmarks or test harnesses.',
      severity: 'error',
      from: { path: '^(edge|cloud|shared|models|firmware)/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'cli-not-to-test',
      comment: 'The CLI ships; test harnesses do not.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^test/' },
    },
    {
      name: 'models-not-to-sides',
      comment: 'models/ (training, backtests) builds on shared/ only: the detector lives in shared/anomaly.',
      severity: 'error',
      from: { path: '^models/' },
      to: { path: '^(edge|cloud)/' },
    },
    {
      name: 'no-cycles',
      comment: 'No import cycles anywhere.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // test/layout/fixture breaks every rule on purpose (test/layout/layout-check.test.ts runs it on its own).
    exclude: { path: '^(node_modules|dist|test/layout/fixture)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
  },
}
