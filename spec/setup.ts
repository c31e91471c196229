// Mocha root hooks plugin, loaded through the package.json mocha "require" option (root hooks
// exported as `mochaHooks` are only read from required files, not from "file" ones).
//   - chai gets chai-as-promised, so specs write `await expect(p).to.be.rejectedWith(...)`;
//   - one Redis is started for the whole run (sharedRedis() in helpers/redis.ts) and stopped at the end;
//   - mustCall() expectations are checked after every test, failing that test.
import * as chai from 'chai'
import chaiAsPromised from 'chai-as-promised'
import { startSharedRedis, stopSharedRedis } from './helpers/redis.js'
import { verifyMustCalls } from './helpers/must-call.js'

chai.use(chaiAsPromised)

export const mochaHooks: Mocha.RootHookObject = {
  async beforeAll (this: Mocha.Context) {
    this.timeout(120_000) // pulling redis:7 on a cold Docker host is slow; a spawned server takes ~50 ms
    await startSharedRedis()
  },
  async afterAll (this: Mocha.Context) {
    this.timeout(20_000)
    await stopSharedRedis()
  },
  afterEach (this: Mocha.Context) {
    try {
      verifyMustCalls(this.currentTest?.state === 'failed')
    } catch (err) {
      // hook.error(err) fails the current test only; a throw would fail the root hook and skip
      // every test after it.
      (this.test as Mocha.Hook).error(err)
    }
  },
}
