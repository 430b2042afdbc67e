import { accessFor } from '../accounts/node-access.js'
import { MeshNode, type HealthCheck } from '../mesh/mesh-node.js'
import type { NodeRole } from '../mesh/topic.js'
import { ROLE_SECTIONS, type RoleDefinition, type RoleParts, type RoleSectionName, type SectionConfig, type StartedRole, type StartOptions } from './define-role.js'

/**
 * Starts a role in this process, always in the same order: open the node (listening, its methods
 * answering "still starting"), build the role, serve its methods, announce. Closing runs the
 * other way: say goodbye (callers stop routing here), close what build started, close the node.
 */
export async function startRole<K extends RoleSectionName | undefined, H extends object, X extends object> (
  definition: RoleDefinition<K, H, X>,
  options: StartOptions<K, X>
): Promise<StartedRole<H>> {
  const config = sectionConfig(definition.configSection, options.config)
  let parts: RoleParts<H> | null = null
  // Roles outside NodeRole (test fixtures) announce on their own topic; the mesh's types name the product's.
  const role = definition.role as NodeRole
  const node = new MeshNode({
    role,
    access: (definition.access ?? accessFor)(options.authKey),
    authKey: options.authKey,
    dataDir: options.dataDir,
    network: options.network,
    bootstrap: options.bootstrap,
    publicNetwork: options.publicNetwork,
    log: options.log,
    refreshIntervalMs: options.refreshIntervalMs ?? definition.refreshIntervalMs?.(config),
    announce: false,
    healthCheck: (): HealthCheck => parts?.health?.() ?? {}
  })
  await node.open()
  try {
    parts = await definition.build(node, config, options)
  } catch (err) {
    await node.close()
    throw err
  }
  const built = parts
  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      node.sayGoodbye()
      await built.close?.()
      await node.close()
    })()
    return closing
  }
  try {
    node.serve(built.methods)
    await node.discovery.announce(role)
  } catch (err) {
    await close()
    throw err
  }
  node.log.info({ publicKey: node.publicKey.toString('hex') }, `${definition.role} ready`)
  // Assigned onto the handles object itself, so getters among them (e.g. a replica opened later) stay live.
  return Object.assign(built.handles, { node, close })
}

function sectionConfig<K extends RoleSectionName | undefined> (name: K, input: unknown): SectionConfig<K> {
  if (name === undefined) return {} as SectionConfig<K>
  return ROLE_SECTIONS[name as RoleSectionName].parse(input ?? {}) as SectionConfig<K>
}
