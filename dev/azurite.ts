import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fixed, public development-storage account of Azurite and the Storage Emulator (not a secret). */
export const devStoreAccount = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

export interface AzuriteOptions {
  /** Persist to this folder; without it Azurite keeps everything in memory. */
  location?: string;
  /** How long to wait for the three ports to answer (default 30 s). */
  startTimeoutMs?: number;
}

export interface RunningAzurite {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  close(): Promise<void>;
}

const host = '127.0.0.1';

/** Finds the azurite script by walking up from this file, so it works from both `dev/` and `dist/dev/`. */
function azuriteScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('azurite is not installed (node_modules/azurite not found)');
    dir = parent;
  }
}

/** Three distinct free loopback ports: all are held open at once so the OS cannot hand out one twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      ports.push((server.address() as AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export function devStorageConnectionString(ports: { blob: number; queue: number; table: number }): string {
  const account = devStoreAccount.name;
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${account}`,
    `AccountKey=${devStoreAccount.key}`,
    `BlobEndpoint=http://${host}:${ports.blob}/${account}`,
    `QueueEndpoint=http://${host}:${ports.queue}/${account}`,
    `TableEndpoint=http://${host}:${ports.table}/${account}`,
  ].join(';');
}

/** Starts Azurite (blob, queue, table) on free loopback ports and resolves once all three accept connections. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const [blob, queue, table] = await freePorts(3);
  if (blob === undefined || queue === undefined || table === undefined) throw new Error('no free ports');
  const ports = { blob, queue, table };
  const scratch = options.location ? undefined : await mkdtemp(join(tmpdir(), 'azurite-'));
  const args = [
    azuriteScript(),
    '--blobHost',
    host,
    '--blobPort',
    String(blob),
    '--queueHost',
    host,
    '--queuePort',
    String(queue),
    '--tableHost',
    host,
    '--tablePort',
    String(table),
    ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
  ];
  // In memory, Azurite refuses --location but may still write small files to its working directory.
  const child = spawn(process.execPath, args, { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  // If the parent ends without calling close (a crashed test run), do not leave Azurite behind holding ports.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const close = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (!hasExited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (hasExited) {
      await close();
      throw new Error(`azurite exited during start: ${stderr.trim() || '(no output)'}`);
    }
    const answers = await Promise.all([blob, queue, table].map(portAnswers));
    if (answers.every(Boolean)) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`azurite did not open its ports within the start timeout: ${stderr.trim() || '(no output)'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { connectionString: devStorageConnectionString(ports), ports, close };
}
