// A real Redis Cluster owned by the test run: three masters, no replicas, on free loopback
// ports. Each node is a spawned `redis-server --cluster-enabled yes` (helpers/redis.ts, in its
// own temp dir with its own nodes.conf); `redis-cli --cluster create` assigns the 16384
// slots, and startRedisCluster() resolves once every node says cluster_state:ok and knows
// every other. stop() ends every node; their dirs go with them.
import { execFile } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { startRedis, type RedisHandle } from './redis.js'

const execFileAsync = promisify(execFile)

const READY_TIMEOUT_MS = 20_000

export interface RedisClusterHandle {
  readonly nodes: readonly RedisHandle[]
  /** `127.0.0.1:P1,127.0.0.1:P2,…`: the value of CHRONOS_REDIS_CLUSTER_NODES. */
  readonly nodeList: string
  stop: () => Promise<void>
}

export async function startRedisCluster (masters = 3): Promise<RedisClusterHandle> {
  const nodes = await Promise.all(Array.from({ length: masters }, async () => await startRedis({ clusterNode: true })))
  const stop = async (): Promise<void> => { await Promise.all(nodes.map(async (node) => await node.stop())) }
  try {
    const addresses = nodes.map((node) => `${node.host}:${node.port}`)
    await execFileAsync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: READY_TIMEOUT_MS })
    await waitForClusterOk(nodes)
    return { nodes, nodeList: addresses.join(','), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Every node: cluster_state:ok, all slots assigned and every other node known. */
async function waitForClusterOk (nodes: readonly RedisHandle[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const infos = await Promise.all(nodes.map(async (node) => await withNode(node, async (redis) => await redis.cluster('INFO'))))
    const isOk = (info: string): boolean => info.includes('cluster_state:ok') && info.includes('cluster_slots_assigned:16384') &&
      info.includes(`cluster_known_nodes:${nodes.length}`)
    if (infos.every(isOk)) return
    if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok within ${READY_TIMEOUT_MS} ms: ${infos.join('\n---\n')}`)
    await sleep(100)
  }
}

/** Runs `use` on a short-lived plain connection to one node. */
async function withNode<T> (node: RedisHandle, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  try {
    await redis.connect()
    return await use(redis)
  } finally {
    redis.disconnect()
  }
}
