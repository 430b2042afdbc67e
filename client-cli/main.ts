#!/usr/bin/env node
// Only commander loads up front; each command imports what it needs when it runs.
import { Command } from 'commander'
import { VERSION } from '../shared/version.js'
import { registerAdminCommands } from './commands/admin.js'
import { registerAuthCommands } from './commands/auth.js'
import { registerInferenceCommands } from './commands/inference.js'
import { registerNodeCommands } from './commands/node.js'
import { registerOperatorCommands } from './commands/operator.js'
import { registerProxyCommand } from './commands/proxy.js'
import { registerStatusCommands } from './commands/status.js'
import { runCli } from './output.js'

const program = new Command('hyperinfer')
  .description('hyperinfer: a peer-to-peer AI inference mesh')
  .version(VERSION)
  .option('--home <dir>', 'hyperinfer home: where the devnet file is (env HYPERINFER_HOME, default ./.hyperinfer)')
  .option('--network <name>', 'network name (env HYPERINFER_NETWORK)')
  .option('--network-secret <secret>', 'network secret (env HYPERINFER_NETWORK_SECRET)')
  .option('--bootstrap <host:port,...>', 'bootstrap nodes (env HYPERINFER_BOOTSTRAP; default: the devnet in the home dir)')
  .option('--public-network', 'use the public HyperDHT (env HYPERINFER_PUBLIC_NETWORK)')
  .option('--join <string>', 'network, secret and bootstrap in one string from `hyperinfer init` (env HYPERINFER_JOIN)')
  .option('--auth-key <hex>', 'the auth node\'s public key: keys, passwords and prompts go only to nodes it approved (env HYPERINFER_AUTH_KEY; the devnet file has it)')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()

registerAuthCommands(program)
registerAdminCommands(program)
registerInferenceCommands(program)
registerStatusCommands(program)
registerNodeCommands(program)
registerOperatorCommands(program)
registerProxyCommand(program)

await runCli(program, process.argv)
