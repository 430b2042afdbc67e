import type { Command } from 'commander'
import { HyperinferError } from '../../shared/errors.js'
import type { PeerInfo } from '../../shared/mesh/discovery.js'
import type { MeshClient } from '../../shared/mesh/mesh-client.js'
import { ROLES } from '../../shared/mesh/topic.js'
import type { MeshNodeHealth, SystemHealthResponse } from '../../shared/schemas/metrics.js'
import { withMesh, wantsJson } from '../command-context.js'
import { printJson } from '../output.js'

export interface StatusReport extends SystemHealthResponse {
  /** Where the report came from: the metrics node, or the CLI's own DHT lookups when none runs. */
  source: 'metrics' | 'discovery'
  note?: string
}

const NO_METRICS_NODE = 'no metrics node is running, so this is what the DHT shows right now (nodes that stopped ' +
  'answering long ago are not listed); start one with `hyperinfer node metrics` or the devnet with `npm start`'

/** status: the mesh as a table, from the metrics node's systemHealth (or discovery if there is none). */
export function registerStatusCommands (program: Command): void {
  program.command('status')
    .description('show every node of the mesh: role, status, version, uptime, last seen, models')
    .option('--wait <ms>', 'how long to look for a metrics node before probing the DHT directly', '5000')
    .action(async (opts: { wait: string }, cmd: Command) => {
      const waitMs = Number(opts.wait)
      if (!Number.isFinite(waitMs) || waitMs < 0) throw new HyperinferError('INVALID_ARGUMENT', `--wait must be a number of milliseconds, got "${opts.wait}"`)
      const report = await withMesh(cmd, async mesh => withApproval(mesh, await meshStatus(mesh, waitMs)))
      if (wantsJson(cmd)) printJson(report)
      else process.stdout.write(formatStatus(report))
    })
}

export type Approval = 'approved' | 'not approved' | 'unknown'
const APPROVAL_WAIT_MS = 5_000

/** Each node's approval for its role, as the pinned auth node's registry says (unknown when nothing is pinned or auth does not answer). */
async function withApproval (mesh: MeshClient, report: StatusReport): Promise<StatusReport> {
  if (!mesh.trust.pinned) return { ...report, nodes: report.nodes.map(node => ({ ...node, approval: 'unknown' as Approval })) }
  const check = async (role: MeshNodeHealth['role'], publicKey: string): Promise<Approval> => {
    const timeout = new Promise<Approval>(resolve => setTimeout(() => resolve('unknown'), APPROVAL_WAIT_MS).unref())
    const answer = mesh.trust.isApproved(role, Buffer.from(publicKey, 'hex')).then(ok => ok ? 'approved' as const : 'not approved' as const, () => 'unknown' as const)
    return Promise.race([answer, timeout])
  }
  const nodes = await Promise.all(report.nodes.map(async node => ({ ...node, approval: await check(node.role, node.publicKey) })))
  return { ...report, nodes }
}

export async function meshStatus (mesh: MeshClient, waitMs: number): Promise<StatusReport> {
  let metricsNodes: PeerInfo[] = []
  try {
    metricsNodes = await mesh.discovery.waitFor('metrics', { timeoutMs: waitMs })
  } catch (err) {
    if (!(err instanceof HyperinferError && err.code === 'UNAVAILABLE')) throw err
  }
  const { systemHealth } = await import('../../shared/schemas/metrics.js')
  for (const peer of metricsNodes) {
    try {
      return { ...await mesh.client(peer.publicKey).call(systemHealth, {}), source: 'metrics' }
    } catch (err) {
      mesh.log.debug({ err }, 'metrics node did not answer systemHealth')
    }
  }
  return await probeDirectly(mesh)
}

/**
 * How long the DHT fallback keeps redialling listed nodes that never answered. A fresh process's
 * first dial often stalls past the probe timeout while an immediate redial opens at once: one round
 * showed a running worker as down with no models.
 */
const REDIAL_UNREACHED_MS = 6_000

async function probeDirectly (mesh: MeshClient): Promise<StatusReport> {
  await Promise.all(ROLES.map(role => mesh.discovery.refresh(role)))
  const deadline = Date.now() + REDIAL_UNREACHED_MS
  for (;;) {
    const unreached = ROLES.filter(role => mesh.discovery.redialUnreached(role) > 0)
    if (unreached.length === 0 || Date.now() >= deadline) break
    await Promise.all(unreached.map(role => mesh.discovery.refresh(role)))
  }
  // Loaded here: its zod schemas would otherwise load with every command, --help included.
  const { servedModels } = await import('../../shared/schemas/health-details.js')
  const now = Date.now()
  const nodes: MeshNodeHealth[] = ROLES.flatMap(role => mesh.discovery.known(role)).map(peer => ({
    publicKey: peer.id,
    node: peer.id.slice(0, 12),
    role: peer.role,
    status: peer.status === 'down' ? 'down' : peer.health?.status ?? 'up',
    version: peer.health?.version ?? null,
    uptimeSeconds: peer.status === 'up' ? peer.health?.uptimeSeconds ?? null : null,
    startedAt: peer.health?.startedAt ?? null,
    lastSeen: peer.lastSeen ? new Date(peer.lastSeen).toISOString() : null,
    lastSeenAgoMs: peer.lastSeen ? now - peer.lastSeen : null,
    models: servedModels(peer.health?.details),
    scrape: { ok: false, at: null },
    self: false
  }))
  const counts: SystemHealthResponse['counts'] = {}
  for (const node of nodes) {
    counts[node.role] ??= { up: 0, degraded: 0, down: 0 }
    counts[node.role][node.status]++
  }
  const up = nodes.filter(n => n.status === 'up').length
  return {
    generatedAt: new Date(now).toISOString(),
    status: nodes.length > 0 && up === nodes.length ? 'up' : up === 0 ? 'down' : 'degraded',
    nodes,
    counts,
    source: 'discovery',
    note: NO_METRICS_NODE
  }
}

export function formatStatus (report: StatusReport): string {
  const header = ['ROLE', 'NODE', 'STATUS', 'APPROVAL', 'VERSION', 'UPTIME', 'LAST SEEN', 'MODELS']
  const rows = report.nodes.map(node => [
    node.role + (node.self ? ' (this)' : ''),
    node.node,
    node.status === 'down' ? `down (${node.lastSeenAgoMs !== null ? `last seen ${duration(node.lastSeenAgoMs / 1000)} ago` : 'never answered'})` : node.status,
    (node as { approval?: Approval }).approval ?? '-',
    node.version ?? '-',
    node.uptimeSeconds !== null ? duration(node.uptimeSeconds) : '-',
    node.lastSeenAgoMs !== null ? `${duration(node.lastSeenAgoMs / 1000)} ago` : '-',
    node.models.length > 0 ? node.models.join(', ') : '-'
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map(row => row[i].length)))
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()
  const out = [
    `mesh: ${report.status} (${report.nodes.length} node${report.nodes.length === 1 ? '' : 's'}, from ${report.source === 'metrics' ? 'the metrics node' : 'the DHT'})`,
    ''
  ]
  if (rows.length === 0) out.push('no nodes found')
  else out.push(line(header), ...rows.map(line))
  if (report.note) out.push('', `note: ${report.note}`)
  return out.join('\n') + '\n'
}

function duration (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, '0')}m`
  return `${Math.floor(s / 86_400)}d${String(Math.floor(s % 86_400 / 3600)).padStart(2, '0')}h`
}
