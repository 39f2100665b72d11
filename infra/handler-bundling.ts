import * as path from 'node:path';

/**
 * How every workflow handler is bundled, in esbuild's own terms. The construct translates these into
 * NodejsFunction bundling options and scripts/bundle-sizes.ts passes them to esbuild's API unchanged, so
 * the sizes it prints are the sizes CDK deploys. No CDK import here: the script stays light.
 */
export const HANDLER_ESBUILD = {
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  sourcemap: true,
  // Stack traces need only the mappings; embedding every dependency's source would triple the asset.
  sourcesContent: false,
  // Error class names are what Step Functions' Retry/Catch match: minification must not rename them.
  keepNames: true,
  // The Lambda Node.js runtime ships AWS SDK v3.
  external: ['@aws-sdk/*'],
} as const;

/** The repository root: entries, the lock file and the ASL are found from here wherever the app runs. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** The source file of a handler of lambdas/handlers. */
export const handlerEntry = (file: string): string => path.join(REPO_ROOT, 'lambdas', 'handlers', `${file}.ts`);
