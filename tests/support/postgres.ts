import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Throwaway PostgreSQL clusters for tests: initdb in a temp dir, listening on a free loopback
 * port only, trust authentication (nothing else can reach 127.0.0.1 on a CI box that matters),
 * fsync off (the data is thrown away). As root, the server runs as the `postgres` user
 * (postgres refuses to run as root: postgresql.org/docs/15/app-postgres.html).
 */
export interface PostgresCluster {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  dir: string;
  stop(): void;
  /** Stops and starts the server on the same port and data (a "PostgreSQL restart"). */
  restart(options?: { downMs?: number }): Promise<void>;
  pause(): void;
  resume(): void;
}

export function postgresBinDir(): string | undefined {
  const fromPath = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = [
    fromPath.status === 0 ? fromPath.stdout.trim() : '',
    ...(existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .sort((a, b) => Number(b) - Number(a))
          .map((version) => `/usr/lib/postgresql/${version}/bin`)
      : []),
  ];
  return candidates.find((dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'shipmate-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]): void => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]]
      : [join(bin, command), args];
    execFileSync(file, argv, { stdio: 'pipe', cwd: dir });
  };
  if (asRoot) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  // The real server, configured for throwaway data:
  // - listen_addresses=127.0.0.1 and a socket dir of its own: nothing outside the machine can
  //   connect (postgresql.org/docs/15/runtime-config-connection.html);
  // - trust authentication from initdb --auth=trust, fine on loopback only
  //   (postgresql.org/docs/15/auth-trust.html);
  // - fsync/full_page_writes off: "may be reasonable ... where the data can be re-created"
  //   (postgresql.org/docs/15/runtime-config-wal.html#GUC-FSYNC); only a machine crash loses
  //   data then, and the suite never survives one;
  // - synchronous_commit stays on: with it off, "an immediate-mode shutdown is equivalent to a
  //   server crash, and will therefore cause loss of any unflushed asynchronous commits"
  //   (postgresql.org/docs/15/wal-async-commit.html), so the restart tests would lose jobs the
  //   server had reported committed, which a production server never does;
  // - max_connections above the default 100: three processes with pools of 10 plus a LISTEN
  //   connection each, and every test file's databases (runtime-config-connection.html).
  const options = [
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir}`,
    '-c fsync=off -c full_page_writes=off',
    '-c max_connections=300 -c shared_buffers=64MB',
  ].join(' ');
  // `-m immediate` aborts every server process without a clean shutdown, so the next start
  // runs crash recovery: a PostgreSQL that went away, as clients see it
  // (postgresql.org/docs/15/app-pg-ctl.html).
  let running = false;
  const stop = (mode = 'fast') => {
    if (!running) return;
    run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
    running = false;
  };
  const start = () => {
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start']);
    running = true;
  };
  start();
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        stop('immediate');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async restart(options = {}) {
      stop('immediate');
      await new Promise((resolve) => setTimeout(resolve, options.downMs ?? 0));
      start();
    },
    pause() {
      stop('immediate');
    },
    resume() {
      start();
    },
  };
}

/** A fresh, empty database on the suite's cluster; dropped by the returned function. */
export async function createTestDatabase(
  adminUrl: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
