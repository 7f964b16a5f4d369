import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { freePort, listening } from './environment';

let installed: boolean | undefined;

/** Whether `redis-server` can be started here (asked once, on first call). `.ci/run` installs it. */
export function canStartRedisServer(): boolean {
  installed ??= spawnSync('redis-server', ['--version']).status === 0;
  return installed;
}

/**
 * A throw-away `redis-server` of the test's own, on a free port and without persistence, that a test may kill and
 * start again on the same port (Redis going away and coming back).
 */
export class OwnRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.resume();
    return redis;
  }

  /** Start it (again) on its port and wait until it accepts connections; nothing when it runs. */
  async resume(): Promise<void> {
    if (this.child && this.child.exitCode === null) return;
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 5_000;
    while (!(await listening(this.url, this.port, 200))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Kill it (SIGKILL: as a crash, nothing flushed). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
