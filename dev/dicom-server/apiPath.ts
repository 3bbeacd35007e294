/** The URL layout of the Azure DICOM service: optional version and partition prefixes, then the resource. */

export const DEFAULT_PARTITION = 'Microsoft.Default';
export const PARTITION_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Where a request points: the optional version and partition prefixes stripped off. */
export interface ApiPath {
  /** e.g. '/v2' or '' */
  versionPrefix: string;
  version: number | undefined;
  partition: string;
  /** e.g. '/partitions/p1' or '' */
  partitionPrefix: string;
  segments: string[];
}

export function parseApiPath(pathname: string): ApiPath {
  const segments = pathname.split('/').filter((segment) => segment !== '');
  let versionPrefix = '';
  let version: number | undefined;
  const versionMatch = /^v(\d+)(\.\d+)?(-prerelease)?$/i.exec(segments[0] ?? '');
  if (versionMatch) {
    versionPrefix = `/${segments.shift()}`;
    version = Number(versionMatch[1]);
  }
  let partition = DEFAULT_PARTITION;
  let partitionPrefix = '';
  if (segments[0] === 'partitions' && segments.length >= 2) {
    partition = decodeURIComponent(segments[1]!);
    partitionPrefix = `/partitions/${segments[1]}`;
    segments.splice(0, 2);
  }
  return { versionPrefix, version, partition, partitionPrefix, segments: segments.map(decodeURIComponent) };
}

/** /studies/{s}[/series/{se}[/instances/{i}]][/metadata]: depth 1..3, with or without metadata. */
export function resourceOf(s: readonly string[]): { depth: 1 | 2 | 3; metadata: boolean } | undefined {
  const metadata = s.at(-1) === 'metadata';
  const core = metadata ? s.slice(0, -1) : s;
  if (core.length === 2) return { depth: 1, metadata };
  if (core.length === 4 && core[2] === 'series') return { depth: 2, metadata };
  if (core.length === 6 && core[2] === 'series' && core[4] === 'instances') return { depth: 3, metadata };
  return undefined;
}
