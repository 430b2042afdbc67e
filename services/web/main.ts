import { program } from './program.js'
import { runRoleMain } from '../../shared/runner.js'

runRoleMain(program)
