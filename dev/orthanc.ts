import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './azurite.js';

/**
 * A real Orthanc (Debian's `orthanc` and `orthanc-dicomweb`) on loopback for the local stack and the tests: a
 * temporary folder with its config, storage and index, random free HTTP and DICOM ports, the DICOMweb plugin, and
 * HTTP Basic authentication with one registered user. Stopped by its pid (SIGTERM), never by name.
 */
export const orthancBinary = process.env.ORTHANC_BINARY ?? '/usr/sbin/Orthanc';
export const orthancPluginFolder = process.env.ORTHANC_PLUGINS ?? '/usr/share/orthanc/plugins';
export const orthancInstallHint = 'apt-get install -y orthanc orthanc-dicomweb (Debian/Ubuntu)';

export function orthancInstalled(): boolean {
  return existsSync(orthancBinary) && existsSync(join(orthancPluginFolder, 'libOrthancDicomWeb.so'));
}

export interface OrthancOptions {
  /** The registered user (HTTP Basic); a random password is made when not given. */
  username?: string;
  password?: string;
  /** Seconds without new instances before Stable* rows (Orthanc's StableAge; default 2). */
  stableAge?: number;
  overwriteInstances?: boolean;
  startTimeoutMs?: number;
}

export interface RunningOrthanc {
  /** REST API root, e.g. http://127.0.0.1:41234 */
  url: string;
  /** DICOMweb root: `${url}/dicom-web` */
  dicomWebUrl: string;
  username: string;
  password: string;
  /** The `Authorization` header value for direct calls in tests. */
  authorization: string;
  pid(): number | undefined;
  /** Stops (SIGTERM, then waits) and starts again on the same ports and storage. */
  restart(): Promise<void>;
  /** Stops, deletes storage and index (a wiped database), starts again on the same ports. */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid) return;
  const done = exited(child);
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 15_000);
  await done;
  clearTimeout(timer);
}

export async function startOrthanc(options: OrthancOptions = {}): Promise<RunningOrthanc> {
  if (!orthancInstalled()) throw new Error(`Orthanc is not installed: ${orthancInstallHint}`);
  const dir = await mkdtemp(join(tmpdir(), 'dicomcast-orthanc-'));
  const [httpPort, dicomPort] = await freePorts(2);
  const username = options.username ?? 'dicomcast';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const url = `http://127.0.0.1:${httpPort}`;
  const config = {
    Name: 'dicomcast-test',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [username]: password },
    StableAge: options.stableAge ?? 2,
    SaveJobs: false,
    OverwriteInstances: options.overwriteInstances ?? true,
    HttpTimeout: 30,
    Plugins: [orthancPluginFolder],
    DicomWeb: { Enable: true, Root: '/dicom-web/', Host: `127.0.0.1:${httpPort}`, Ssl: false },
  };
  const configPath = join(dir, 'orthanc.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

  let child: ChildProcess | undefined;
  let output = '';
  const launch = async () => {
    output = '';
    child = spawn(orthancBinary, [configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Orthanc exited with ${child.exitCode}: ${output}`);
      try {
        const response = await fetch(`${url}/system`, { headers: { Authorization: authorization } });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop(child);
        throw new Error(`Orthanc did not answer on ${url} in time: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await launch();

  return {
    url,
    dicomWebUrl: `${url}/dicom-web`,
    username,
    password,
    authorization,
    pid: () => child?.pid,
    async restart() {
      await stop(child);
      await launch();
    },
    async wipe() {
      await stop(child);
      await rm(join(dir, 'storage'), { recursive: true, force: true });
      await rm(join(dir, 'index'), { recursive: true, force: true });
      await launch();
    },
    async close() {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
