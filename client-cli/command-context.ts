import type { Command } from 'commander'
import type { Config } from '../shared/config/load-config.js'
import type { MeshClient } from '../shared/mesh/mesh-client.js'

/** The global flags of the `hyperinfer` program, whichever subcommand runs. */
export function globalOptions (cmd: Command): Record<string, unknown> {
  return cmd.optsWithGlobals()
}

// Config (zod) and the mesh (hyperdht & co.) load only in commands that use them: `--help` stays instant.
export async function cliConfig (cmd: Command): Promise<Config> {
  const [{ loadConfig }, { meshConfigFromFlags }] = await Promise.all([import('../shared/config/load-config.js'), import('../shared/config/network.js')])
  return loadConfig({ flags: meshConfigFromFlags(globalOptions(cmd)) })
}

export function wantsJson (cmd: Command): boolean {
  return globalOptions(cmd).json === true
}

/** Runs `fn` with a mesh client built from the global flags (or the devnet file), closing it after. */
export async function withMesh<T> (cmd: Command, fn: (mesh: MeshClient, config: Config) => Promise<T>): Promise<T> {
  const config = await cliConfig(cmd)
  const [{ resolveMesh }, { MeshClient }] = await Promise.all([import('../shared/config/network.js'), import('../shared/mesh/mesh-client.js')])
  const mesh = new MeshClient(resolveMesh(config))
  try {
    return await fn(mesh, config)
  } finally {
    await mesh.close()
  }
}
