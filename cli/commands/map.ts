/**
 * `dicom-cast map <input>`: the FHIR transaction the writer would send to an empty FHIR server for DICOM
 * instances on disk. It calls the writer's own builder (buildStudyTransaction with an empty FHIR state) and
 * its R4 check, so what it prints is what the writer would send.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { getString, Tag, type DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { dicomJsonProblems } from '../../shared/dicomweb/dicomJsonShape.js';
import { looksLikePart10, readPart10 } from '../../shared/dicomweb/part10.js';
import type { MappingOptions, TagIssue } from '../../shared/mapping/index.js';
import type { Failure } from '../../shared/errors/errors.js';
import { buildStudyTransaction } from '../../shared/mapping/transaction/studyTransaction.js';
import { validateR4 } from '../../shared/validation/index.js';
import { terminalSafe } from '../terminalText.js';

export const defaultEndpoint = 'https://dicom.example.invalid';

export const help = `Usage: dicom-cast map <input> [options]

Prints on stdout, as JSON, the FHIR transaction Bundle the writer would send to an EMPTY FHIR server for
the DICOM instances in <input>: the Endpoint, Patient and ImagingStudy, and the radiation dose Observations
of dose SR instances. Tag warnings, rejected instances and resources that fail the FHIR R4 check go to
stderr. With instances of several studies the output is a JSON array of Bundles (one per study, the writer
sends one transaction per study), ordered by Study Instance UID.

<input>   a DICOM JSON file (one instance object, or an array of them as WADO-RS study metadata returns),
          a DICOM Part-10 file, or a folder: every *.json file and every Part-10 file (DICM prefix) in it
          and below; other files in a folder are skipped (named on stderr).

Options (the writer's settings in brackets):
  --endpoint URL            the DICOMweb endpoint E [DicomWeb:Endpoint]; default ${defaultEndpoint}
  --patient-system S        the Patient identifier system [Patient:PatientSystemId]; default none
  --issuer-as-system        use IssuerOfPatientID (0010,0021) as the system [Patient:IsIssuerIdUsed]
  --timezone-offset +HH:MM  offset when TimezoneOffsetFromUTC is absent [DicomCast:DefaultTimezoneOffset];
                            default +00:00
  --enforce-validation      an invalid tag value fails its instance [DicomCast:Features:EnforceValidationOfTagValues]
  --no-observations         no dose Observations [DicomCast:Features:GenerateObservations=false]
  -h, --help                this text

Exit status: 0 when a Bundle was printed (read stderr for warnings and rejected instances); 1 when an input
file cannot be read or nothing can be mapped (stderr names the file or instance and the problem);
2 for a usage error.

Example:
  npx dicom-cast map ./study-folder --endpoint https://dicom.contoso.com --patient-system urn:oid:1.2.3 > bundle.json`;

export interface MapIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: MapIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
};

class UsageError extends Error {}

/** A problem with one input file; the message names the file. */
export class InputError extends Error {}

/** The options `map` starts from: the app's defaults, with a placeholder endpoint. */
export const defaultMapOptions: Readonly<MappingOptions> = {
  endpoint: defaultEndpoint,
  patientSystemId: '',
  isIssuerIdUsed: false,
  defaultTimezoneOffset: '+00:00',
  enforceValidation: false,
  generateObservations: true,
};

interface Arguments {
  input: string;
  options: MappingOptions;
}

function parseArguments(args: string[]): Arguments | 'help' {
  const options: MappingOptions = { ...defaultMapOptions };
  let input: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = (): string => {
      const next = inline ?? args[++index];
      if (next === undefined || (inline === undefined && next.startsWith('--'))) {
        throw new UsageError(`${flag} needs a value`);
      }
      return next;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--endpoint':
        options.endpoint = value();
        if (!/^https?:\/\/\S+$/.test(options.endpoint)) throw new UsageError('--endpoint must be an http(s) URL');
        break;
      case '--patient-system':
        options.patientSystemId = value();
        break;
      case '--issuer-as-system':
        options.isIssuerIdUsed = true;
        break;
      case '--timezone-offset': {
        const offset = value();
        if (!/^[+-](0\d|1[0-3]):[0-5]\d$|^[+-]14:00$/.test(offset)) {
          throw new UsageError('--timezone-offset must be +HH:MM or -HH:MM');
        }
        options.defaultTimezoneOffset = offset;
        break;
      }
      case '--enforce-validation':
        options.enforceValidation = true;
        break;
      case '--no-observations':
        options.generateObservations = false;
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        if (input !== undefined) throw new UsageError(`one input only (got ${input} and ${arg})`);
        input = arg;
    }
  }
  if (input === undefined) throw new UsageError('missing <input>');
  return { input, options };
}

/** The command: returns the exit code. */
export async function run(args: string[], io: MapIo = processIo): Promise<number> {
  let parsed: Arguments | 'help';
  try {
    parsed = parseArguments(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`dicom-cast map: ${error.message}\n\n${help}`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout(help);
    return 0;
  }
  let datasets: LoadedDataset[];
  try {
    datasets = await loadInput(parsed.input, io);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    io.stderr(`dicom-cast map: ${terminalSafe(error.message)}`);
    return 1;
  }
  const result = mapDatasets(datasets, parsed.options);
  for (const line of result.messages) io.stderr(terminalSafe(line));
  if (result.bundles.length === 0) {
    io.stderr(`dicom-cast map: nothing to map in ${parsed.input}: no instance could be mapped (see above)`);
    return 1;
  }
  const output = result.bundles.length === 1 ? result.bundles[0] : result.bundles;
  io.stdout(JSON.stringify(output, null, 2));
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

export interface LoadedDataset {
  dataset: DicomJsonDataset;
  /** The file (and the item, for an array) it came from. */
  source: string;
}

async function loadInput(input: string, io: MapIo): Promise<LoadedDataset[]> {
  let info;
  try {
    info = await stat(input);
  } catch (error) {
    throw new InputError(`${input}: ${systemMessage(error)}`);
  }
  if (!info.isDirectory()) return await loadFile(input, input, true);
  const files = await listFiles(input);
  const out: LoadedDataset[] = [];
  const unreadable: string[] = [];
  for (const file of files) {
    try {
      const loaded = await loadFile(file, file, false);
      if (loaded.length === 0) io.stderr(`skipped: ${file}: neither a DICOM JSON (.json) nor a Part-10 file`);
      out.push(...loaded);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      unreadable.push(error.message);
    }
  }
  // All or nothing: a Bundle that silently misses an unreadable file would mislead.
  if (unreadable.length === 1) throw new InputError(unreadable[0] ?? '');
  if (unreadable.length > 1)
    throw new InputError(`${unreadable.length} files cannot be read:\n  ${unreadable.join('\n  ')}`);
  if (out.length === 0) throw new InputError(`${input}: no DICOM JSON or Part-10 file in this folder`);
  return out;
}

async function listFiles(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new InputError(`${folder}: ${systemMessage(error)}`);
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/**
 * One file: `.json` is DICOM JSON, anything else Part-10. In a folder (`explicit` false) a file that is
 * neither gives nothing; named on the command line it is an error.
 */
async function loadFile(path: string, shown: string, explicit: boolean): Promise<LoadedDataset[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(`${shown}: ${systemMessage(error)}`);
  }
  if (extname(path).toLowerCase() === '.json') return parseDicomJson(bytes, shown);
  if (!explicit && !looksLikePart10(bytes)) return [];
  try {
    return [{ dataset: readPart10(bytes), source: shown }];
  } catch (error) {
    throw new InputError(`${shown}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A DICOM JSON instance, or an array of them; checks the shape, not the values. */
export function parseDicomJson(bytes: Buffer, shown: string): LoadedDataset[] {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new InputError(`${shown}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) throw new InputError(`${shown}: an empty array: no DICOM JSON instance`);
  return items.map((item, index) => {
    const where = Array.isArray(json) ? `${shown}[${index}]` : shown;
    const problem = dicomJsonProblem(item);
    if (problem) throw new InputError(`${where}: not DICOM JSON (PS3.18 Annex F): ${problem}`);
    return { dataset: item as DicomJsonDataset, source: where };
  });
}

function dicomJsonProblem(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return 'expected an object keyed by tags';
  const keys = Object.keys(item);
  if (keys.length === 0) return 'an empty object';
  for (const key of keys) {
    if (!/^[0-9A-Fa-f]{8}$/.test(key)) return `key "${key}" is not a tag (8 hex digits)`;
    const attribute = (item as Record<string, unknown>)[key];
    if (attribute === null || typeof attribute !== 'object' || typeof (attribute as { vr?: unknown }).vr !== 'string') {
      return `attribute ${key} has no "vr"`;
    }
  }
  return undefined;
}

function systemMessage(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder';
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------------------
// Mapping

export interface MapResult {
  /** One transaction Bundle per study that has something to write, by Study Instance UID. */
  bundles: Bundle[];
  /** For stderr: warnings, rejected instances, invalid resources. */
  messages: string[];
}

/** The writer's transaction per study, for an empty FHIR server. */
export function mapDatasets(datasets: LoadedDataset[], options: MappingOptions): MapResult {
  const messages: string[] = [];
  const byStudy = new Map<string, DicomJsonDataset[]>();
  for (const { dataset, source } of datasets) {
    // The writer's own check of what it reads (see syncStudy): a malformed instance is left out, located.
    const problems = dicomJsonProblems(dataset);
    if (problems.length > 0) {
      const shown = problems.map((problem) => `${problem.tag} ${problem.reason}`).join('; ');
      messages.push(`rejected: ${source}: malformed DICOM JSON: ${shown}; left out`);
      continue;
    }
    const study = getString(dataset, Tag.StudyInstanceUID);
    if (study === undefined) {
      messages.push(`rejected: ${source}: no StudyInstanceUID (0020,000D): the change feed cannot name its study`);
      continue;
    }
    byStudy.set(study, [...(byStudy.get(study) ?? []), dataset]);
  }
  const bundles: Bundle[] = [];
  for (const study of [...byStudy.keys()].sort()) {
    const plan = buildStudyTransaction(
      { study, datasets: byStudy.get(study) ?? [], state: {}, applyDemographics: true, validate: validateR4 },
      options,
    );
    messages.push(...plan.warnings.map(describeWarning));
    messages.push(...plan.failures.map((failure) => describeFailure(study, failure)));
    if (plan.action === 'write') bundles.push(plan.transaction.bundle);
    else if (plan.action === 'invalid')
      messages.push(`study ${study}: not written: a resource it needs is not valid R4`);
  }
  return { bundles, messages };
}

function describeWarning(issue: TagIssue): string {
  const where = [
    `study ${issue.study}`,
    issue.series && `series ${issue.series}`,
    issue.instance && `instance ${issue.instance}`,
  ]
    .filter(Boolean)
    .join(', ');
  const value = issue.value === undefined ? '' : ` = ${JSON.stringify(issue.value)}`;
  return `warning: ${issue.keyword} ${issue.tag}${value}: ${issue.reason} (${where}); skipped`;
}

function describeFailure(study: string, failure: Failure): string {
  if (failure.category === 'invalid-resource') return `invalid: study ${study}: ${failure.reason}`;
  const where = [
    `study ${study}`,
    failure.series && `series ${failure.series}`,
    failure.instance && `instance ${failure.instance}`,
  ]
    .filter(Boolean)
    .join(', ');
  return `rejected: ${failure.reason}${failure.tag ? ` [${failure.tag}]` : ''} (${where})`;
}
