import type { Command } from 'commander'
import { loadConfig, type Config } from '../shared/config/index.js'
import { resolveMesh } from '../shared/config/network.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { meshConfigFlags } from '../shared/runner.js'

/** The global flags of the `hyperinfer` program, whichever subcommand runs. */
export function globalOptions (cmd: Command): Record<string, unknown> {
  return cmd.optsWithGlobals()
}

export function cliConfig (cmd: Command): Config {
  return loadConfig({ flags: meshConfigFlags(globalOptions(cmd)) })
}

export function wantsJson (cmd: Command): boolean {
  return globalOptions(cmd).json === true
}

/** Runs `fn` with a mesh client built from the global flags (or the devnet file), closing it after. */
export async function withMesh<T> (cmd: Command, fn: (mesh: MeshClient, config: Config) => Promise<T>): Promise<T> {
  const config = cliConfig(cmd)
  const address = resolveMesh(config)
  const mesh = new MeshClient(address)
  try {
    return await fn(mesh, config)
  } finally {
    await mesh.close()
  }
}
