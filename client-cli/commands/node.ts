import type { Command } from 'commander'
import { ROLES, type NodeRole } from '../../shared/mesh/topic.js'
import { HyperinferError } from '../../shared/errors.js'
import { globalOptions } from '../command-context.js'
import { keepProcessAlive } from '../output.js'

/**
 * The program's own options are parsed wherever they stand, so `hyperinfer node gateway
 * --network N` hands --network to the program, not to the role: give them back to the role.
 */
const SHARED_FLAGS: Array<[key: string, flag: string]> = [
  ['home', '--home'], ['network', '--network'], ['networkSecret', '--network-secret'],
  ['bootstrap', '--bootstrap'], ['join', '--join'], ['publicNetwork', '--public-network'], ['authKey', '--auth-key']
]

export function sharedFlagArgs (options: Record<string, unknown>): string[] {
  const args: string[] = []
  for (const [key, flag] of SHARED_FLAGS) {
    const value = options[key]
    if (value === true) args.push(flag)
    else if (typeof value === 'string') args.push(flag, value)
  }
  return args
}

/** `hyperinfer node <role> [flags]`: run one node of the mesh (or the DHT bootstrap) in this process. */
export function registerNodeCommands (program: Command): void {
  program.command('node')
    .description(`run a node of the mesh: ${ROLES.join(', ')}, or bootstrap (see \`hyperinfer node <role> --help\`)`)
    .argument('<role>', 'the role to run')
    .argument('[flags...]', 'the role\'s own flags')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (role: string, flags: string[], _opts: unknown, cmd: Command) => {
      const argv = [...sharedFlagArgs(globalOptions(cmd)), ...flags]
      if (role === 'bootstrap') {
        const { runBootstrapCommand } = await import('./bootstrap.js')
        keepProcessAlive()
        await runBootstrapCommand(argv, { json: globalOptions(cmd).json === true })
        return
      }
      if (!(ROLES as readonly string[]).includes(role)) {
        throw new HyperinferError('INVALID_ARGUMENT', `unknown role "${role}": one of ${ROLES.join(', ')}, bootstrap`)
      }
      const [{ ROLE_DEFINITIONS }, { runRoleCommand }] = await Promise.all([
        import('../../services/roles.js'),
        import('../../shared/role/run-role.js')
      ])
      const definition = await ROLE_DEFINITIONS[role as NodeRole]()
      keepProcessAlive()
      await runRoleCommand(definition, argv)
    })
}
