import type { Command } from 'commander'
import type { z } from 'zod'
import type { Config } from '../config/load-config.js'
import type { MeshAddress } from '../config/network.js'
import { authSection, gatewaySection, inferenceSection, metricsSection, webSection } from '../config/sections.js'
import type { Logger } from '../log.js'
import type { AccessControl } from '../mesh/access.js'
import type { BootstrapNode } from '../mesh/dht.js'
import type { HealthCheck, MeshNode } from '../mesh/mesh-node.js'
import type { ServedMethod } from '../mesh/rpc-server.js'
import type { NetworkId, NodeRole } from '../mesh/topic.js'

/** The config sections a role may own, by name (config/default.json's top-level keys). */
export const ROLE_SECTIONS = { auth: authSection, gateway: gatewaySection, inference: inferenceSection, metrics: metricsSection, web: webSection }
export type RoleSectionName = keyof typeof ROLE_SECTIONS
/** A role's parsed config: its section with defaults filled in (nothing for a role without one). */
export type SectionConfig<K extends RoleSectionName | undefined> = K extends RoleSectionName ? Config[K] : Record<string, never>
/** What a caller may pass for it: any part of the section. */
export type SectionInput<K extends RoleSectionName | undefined> = K extends RoleSectionName ? z.input<(typeof ROLE_SECTIONS)[K]> : Record<string, never>

/** Where a node is and who it trusts: the same for every role, declared here once. */
export interface NodePlacement {
  dataDir: string
  network: NetworkId
  /** Required unless `publicNetwork` is set: see shared/mesh/dht.ts. */
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  log?: Logger
  /** The pinned auth node: the root of trust of every other role. */
  authKey?: Buffer
  /** How often discovery looks for and probes peers (the role's own default otherwise). */
  refreshIntervalMs?: number
}

/** What startRole takes: the placement, the role's config section, and the role's own extras. */
export type StartOptions<K extends RoleSectionName | undefined, X extends object = object> = NodePlacement & { config?: SectionInput<K> } & X

/** What a role builds on its opened node. The kit serves `methods`, then announces. */
export interface RoleParts<H extends object> {
  methods: readonly ServedMethod[]
  /** Status and typed details for every `health` call. */
  health?: () => HealthCheck
  /** Stops what build started, in reverse; the kit closes the node after it. */
  close?: () => Promise<void>
  /** What the started role exposes besides `node` and `close` (tests, the devnet). */
  handles: H
}

/** The command line of a role: its own flags, mapped to dotted config paths (they win over env and files). */
export interface RoleFlags {
  declare (cmd: Command): void
  toConfig (values: Record<string, unknown>): Record<string, unknown>
}

export type StartedRole<H extends object> = H & {
  readonly node: MeshNode
  close (): Promise<void>
}

/** Run from the command line only: what an operator of this role needs besides the node. */
export interface RoleCommandLineHooks<H extends object> {
  /** Adjust the loaded config before the node starts (e.g. devnet-only settings). */
  prepare? (config: Config, mesh: MeshAddress): void
  /** Once the role is up: tell the operator what they need (URLs, join strings). */
  started? (role: StartedRole<H>, context: { config: Config, mesh: MeshAddress, log: Logger }): void
}

export interface RoleDefinition<K extends RoleSectionName | undefined, H extends object, X extends object = object> {
  /** A product role (NodeRole); test fixtures may name their own (see startRole). */
  role: NodeRole | (string & Record<never, never>)
  describe: string
  configSection: K
  flags?: RoleFlags
  commandLine?: RoleCommandLineHooks<H>
  /** Who may call which method (default: the pinned auth node's registry, open without one). */
  access?: (authKey: Buffer | undefined) => AccessControl
  /** A discovery interval the role sets from its config. */
  refreshIntervalMs?: (config: SectionConfig<K>) => number | undefined
  /** Tells the operator whether the node is approved (default: shared/accounts/node-access.ts). */
  approvalNotice?: (node: MeshNode) => { close (): void }
  build (node: MeshNode, config: SectionConfig<K>, options: StartOptions<K, X>): Promise<RoleParts<H>>
}

/** A role as one declaration: the kit (startRole, runRoleCommand) opens, serves, announces and closes it. */
export function defineRole<K extends RoleSectionName | undefined, H extends object, X extends object = object> (
  definition: RoleDefinition<K, H, X>
): RoleDefinition<K, H, X> {
  return definition
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoleDefinition = RoleDefinition<any, any, any>
