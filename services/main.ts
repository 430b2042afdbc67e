// `node services/main.js <role> [flags]`: one node of the mesh in this process (the devnet starts one per role).
import { HyperinferError } from '../shared/errors.js'
import { ROLES, type NodeRole } from '../shared/mesh/topic.js'
import { runRoleMain } from '../shared/role/run-role.js'
import { ROLE_DEFINITIONS } from './roles.js'

const [role, ...argv] = process.argv.slice(2)
if (!(ROLES as readonly string[]).includes(role ?? '')) {
  const err = new HyperinferError('INVALID_ARGUMENT', `unknown role "${role ?? ''}": one of ${ROLES.join(', ')}`)
  process.stderr.write(`hyperinfer node: ${err.code}: ${err.message}\n`)
  process.exit(1)
}
runRoleMain(await ROLE_DEFINITIONS[role as NodeRole](), argv)
