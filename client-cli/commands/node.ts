import type { Command } from 'commander'
import { ROLES, type Role } from '../../shared/mesh/topic.js'
import { HyperinferError } from '../../shared/errors.js'
import { runRole, type RoleProgram } from '../../shared/runner.js'
import { keepProcessAlive } from '../output.js'

/** `hyperinfer node <role> [flags]`: run one node of the mesh in this process. */
export function registerNodeCommands (program: Command): void {
  program.command('node')
    .description(`run a node of the mesh: ${ROLES.join(', ')} (see \`hyperinfer node <role> --help\`)`)
    .argument('<role>', 'the role to run')
    .argument('[flags...]', 'the role\'s own flags')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (role: string, flags: string[]) => {
      if (!(ROLES as readonly string[]).includes(role)) {
        throw new HyperinferError('INVALID_ARGUMENT', `unknown role "${role}": one of ${ROLES.join(', ')}`)
      }
      const { program: roleProgram } = await import(`../../services/${role as Role}/program.js`) as { program: RoleProgram }
      keepProcessAlive()
      await runRole(roleProgram, flags)
    })
}
