// Network namespaces for the lab: a LAN on a bridge, two NAT routers that masquerade their private
// LAN and drop unsolicited inbound, and no route out of the lab. Everything here shells out to `ip`
// and `iptables`, so it needs root.
import { execFileSync, spawnSync } from 'node:child_process'

export const LAB_PREFIX = 'hilab'
export const LAN_SUBNET = '10.99.0'

export interface Host {
  /** Namespace name. */
  ns: string
  /** The address other hosts of its LAN reach it at. */
  ip: string
}

export interface Topology {
  id: string
  hosts: Record<string, Host>
  /** Every namespace made, for teardown. */
  namespaces: string[]
}

/** Why the lab cannot run here, or null when it can. */
export function labUnavailableReason (): string | null {
  if (process.getuid?.() !== 0) return 'the lab needs root (ip netns, iptables); CI runs as root'
  for (const tool of ['ip', 'iptables']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `\`${tool}\` is not installed (apt-get install iproute2 iptables; .ci/run does)`
  }
  const probe = `${LAB_PREFIX}-probe-${process.pid}`
  const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (made.status !== 0) return `cannot create a network namespace here: ${made.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', probe])
  return null
}

function run (args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
}

function inNs (ns: string, ...args: string[]): void {
  run(['ip', 'netns', 'exec', ns, ...args])
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function listLabNamespaces (): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? ''
  return out.split('\n').map(line => line.split(' ')[0]).filter(name => name.startsWith(`${LAB_PREFIX}-`))
}

/** Removes namespaces left by lab runs whose process is gone (a crash, a kill -9 of the test). */
export function removeStaleLabs (): string[] {
  const removed: string[] = []
  for (const ns of listLabNamespaces()) {
    const pid = Number(ns.split('-')[1])
    if (Number.isInteger(pid) && pidAlive(pid) && pid !== process.pid) continue
    spawnSync('ip', ['netns', 'del', ns])
    removed.push(ns)
  }
  return removed
}

export function destroyTopology (topology: Pick<Topology, 'namespaces'>): void {
  for (const ns of topology.namespaces) spawnSync('ip', ['netns', 'del', ns])
}

/**
 * lan: a bridge. boot, core, w1 and wx sit on it; nat1 and nat2 have a leg on it and a private
 * LAN behind them (wn behind nat1, cl behind nat2). No namespace has a route out of the lab.
 */
export function buildTopology (): Topology {
  const id = `${process.pid}-${Date.now().toString(36).slice(-4)}`
  const name = (host: string): string => `${LAB_PREFIX}-${id}-${host}`
  const namespaces: string[] = []
  const topology: Topology = { id, hosts: {}, namespaces }
  const addNs = (host: string): string => {
    const ns = name(host)
    run(['ip', 'netns', 'add', ns])
    namespaces.push(ns)
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up')
    return ns
  }
  try {
    const lan = addNs('lan')
    inNs(lan, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
    inNs(lan, 'ip', 'link', 'set', 'br0', 'up')
    let port = 0
    const plug = (ns: string, ifname: string, cidr: string): void => {
      const bridgePort = `p${port++}`
      run(['ip', 'link', 'add', ifname, 'netns', ns, 'type', 'veth', 'peer', 'name', bridgePort, 'netns', lan])
      inNs(lan, 'ip', 'link', 'set', bridgePort, 'master', 'br0')
      inNs(lan, 'ip', 'link', 'set', bridgePort, 'up')
      inNs(ns, 'ip', 'addr', 'add', cidr, 'dev', ifname)
      inNs(ns, 'ip', 'link', 'set', ifname, 'up')
    }
    const lanHosts: Array<[string, number]> = [['boot', 2], ['core', 3], ['w1', 4], ['wx', 5]]
    for (const [host, last] of lanHosts) {
      const ns = addNs(host)
      plug(ns, 'eth0', `${LAN_SUBNET}.${last}/24`)
      topology.hosts[host] = { ns, ip: `${LAN_SUBNET}.${last}` }
    }
    const natted: Array<[router: string, wan: number, privateNet: string, host: string]> = [
      ['nat1', 11, '192.168.1', 'wn'],
      ['nat2', 12, '192.168.2', 'cl']
    ]
    for (const [router, wan, privateNet, host] of natted) {
      const r = addNs(router)
      plug(r, 'wan0', `${LAN_SUBNET}.${wan}/24`)
      topology.hosts[router] = { ns: r, ip: `${LAN_SUBNET}.${wan}` }
      const h = addNs(host)
      run(['ip', 'link', 'add', 'eth0', 'netns', h, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', r])
      inNs(r, 'ip', 'addr', 'add', `${privateNet}.1/24`, 'dev', 'lan0')
      inNs(r, 'ip', 'link', 'set', 'lan0', 'up')
      inNs(h, 'ip', 'addr', 'add', `${privateNet}.2/24`, 'dev', 'eth0')
      inNs(h, 'ip', 'link', 'set', 'eth0', 'up')
      inNs(h, 'ip', 'route', 'add', 'default', 'via', `${privateNet}.1`)
      inNs(r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
      inNs(r, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE')
      inNs(r, 'iptables', '-A', 'FORWARD', '-i', 'lan0', '-o', 'wan0', '-j', 'ACCEPT')
      inNs(r, 'iptables', '-A', 'FORWARD', '-i', 'wan0', '-o', 'lan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      inNs(r, 'iptables', '-A', 'FORWARD', '-j', 'DROP')
      inNs(r, 'iptables', '-A', 'INPUT', '-i', 'wan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      inNs(r, 'iptables', '-A', 'INPUT', '-i', 'wan0', '-j', 'DROP')
      topology.hosts[host] = { ns: h, ip: `${privateNet}.2` }
    }
  } catch (err) {
    destroyTopology(topology)
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim()
    throw new Error(`building the lab failed: ${stderr || (err as Error).message}`)
  }
  return topology
}

export interface Isolation {
  /** Namespaces (other than hosts behind a NAT, whose default route ends at their router) with a route out of the lab: should be none. */
  routesOut: string[]
  /** A TCP connect from the LAN to a NAT router's WAN address: 'dropped' (timed out) is what a NAT that drops unsolicited inbound does. */
  natInbound: string
  /** A TCP connect from the LAN to a host behind a NAT: it has no address there. */
  behindNat: string
}

const CONNECT_PROBE = `const s=require('net').connect({host:process.argv[1],port:9});const t=setTimeout(()=>{console.log('dropped');process.exit(0)},1500);` +
  `s.on('connect',()=>{console.log('open');process.exit(0)});s.on('error',e=>{clearTimeout(t);console.log(e.code);process.exit(0)})`

function connectFrom (ns: string, host: string): string {
  const out = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', CONNECT_PROBE, host], { encoding: 'utf8', timeout: 10_000 })
  return (out.stdout ?? '').trim() || `no answer (${out.status})`
}

/** What the lab's traffic can reach: nothing outside, and nothing behind a NAT unless it dialled out. */
export function checkIsolation (topology: Topology): Isolation {
  // Hosts behind a NAT route everything to their router; the routers and the LAN must have no route on.
  const behindNat = new Set([topology.hosts.wn.ns, topology.hosts.cl.ns])
  const routesOut = topology.namespaces.filter(ns => !behindNat.has(ns) &&
    spawnSync('ip', ['netns', 'exec', ns, 'ip', 'route', 'get', '1.1.1.1'], { encoding: 'utf8' }).status === 0)
  return {
    routesOut,
    natInbound: connectFrom(topology.hosts.core.ns, topology.hosts.nat1.ip),
    behindNat: connectFrom(topology.hosts.core.ns, topology.hosts.wn.ip)
  }
}
