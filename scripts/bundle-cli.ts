// `npm run build`'s second step: the `hyperinfer` command as a bundle (dist/cli/main.mjs). Loaded
// from ~180 files, a one-token `infer` spent most of its 0.6 s resolving, reading and compiling
// modules; from a few chunks it starts ~140 ms sooner. Commands still load lazily (code splitting
// keeps each dynamic import a chunk of its own), and packages that load native addons or files at
// run time stay outside the bundle, resolved from node_modules as before.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'
import { CLI_BUNDLE, PACKAGE_ROOT } from '../shared/paths.js'

/** Loaded at run time by path, not by import: bundling them would break them. */
const RUNTIME_LOADED = ['node-llama-cpp', 'fastify', '@fastify/*', 'pino', 'thread-stream', 'openai', 'ollama', 'require-addon']

/** Packages in node_modules that ship a native addon (prebuilds, a binding.gyp or a CMake build). */
function nativePackages (): string[] {
  const root = join(PACKAGE_ROOT, 'node_modules')
  const names = readdirSync(root).flatMap(name => name.startsWith('@')
    ? readdirSync(join(root, name)).map(inner => `${name}/${inner}`)
    : [name])
  return names.filter(name => ['prebuilds', 'binding.gyp', 'CMakeLists.txt'].some(marker => existsSync(join(root, name, marker))))
}

const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
// Chunk names carry content hashes: without this, every build would leave the last one's behind.
rmSync(dirname(CLI_BUNDLE), { recursive: true, force: true })
await build({
  entryPoints: [join(PACKAGE_ROOT, 'dist', 'client-cli', 'main.js')],
  outdir: dirname(CLI_BUNDLE),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [...RUNTIME_LOADED, ...nativePackages()],
  // The CommonJS packages inside an ES module bundle still call require() for node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  // Coverage (tests run the bundle) and stack traces under --enable-source-maps lead back to the TypeScript.
  sourcemap: true,
  logLevel: 'warning'
})
console.log(`bundle-cli: hyperinfer ${version} bundled to dist/cli/main.mjs`)
