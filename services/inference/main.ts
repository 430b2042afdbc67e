import { runRoleMain } from '../../shared/runner.js'
import { program } from './program.js'

runRoleMain(program)
