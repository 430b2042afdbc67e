import t from 'tap'
import { proxyKeyPolicy } from '../client-cli/proxy-server.js'
import { HyperinferError } from '../shared/errors.js'

t.test('which key a proxied request runs with', async t => {
  const own = 'hi_' + 'a'.repeat(43)
  const theirs = 'hi_' + 'b'.repeat(43)
  const withKey = proxyKeyPolicy(own)
  t.equal(withKey(null), own, 'no key: the proxy\'s')
  t.equal(withKey('hyperinfer-proxy'), own, 'a placeholder an SDK insists on: the proxy\'s')
  t.equal(withKey('sk-something'), own, 'an OpenAI-style key meant for elsewhere: the proxy\'s')
  t.equal(withKey(theirs), theirs, 'another hi_ key: that one')
  const without = proxyKeyPolicy(null)
  t.equal(without(theirs), theirs)
  const err = (() => { try { without(null) } catch (e) { return e } })()
  t.type(err, HyperinferError)
  t.equal((err as HyperinferError).code, 'UNAUTHENTICATED', '--no-default-key: a request without a hi_ key is refused')
})
