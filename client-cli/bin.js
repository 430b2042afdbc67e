#!/usr/bin/env node
// Runs the CLI from the TypeScript sources through tsx, for tests and for hacking on a checkout
// without rebuilding. The installed `hyperinfer` command is the compiled dist/client-cli/main.js.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
