/**
 * `dicom-cast map <input>`: the FHIR transaction the writer would send to an empty FHIR server for DICOM
 * instances on disk. It calls the writer's own builder (buildStudyTransaction with an empty FHIR state) and
 * its R4 check, so what it prints is what the writer would send.
 */
import type { MappingOptions } from '../../shared/mapping/index.js';
import { defineCommand, runCommand, UsageError, type OptionValues } from '../commandLine.js';
import type { CliIo } from '../io.js';
import { terminalSafe } from '../terminalText.js';
import { mapDatasets } from './map/mapDatasets.js';
import { InputError, loadInput, type LoadedDataset } from './map/readInput.js';

export const defaultEndpoint = 'https://dicom.example.invalid';

/** The options `map` starts from: the app's defaults, with a placeholder endpoint. */
export const defaultMapOptions: Readonly<MappingOptions> = {
  endpoint: defaultEndpoint,
  patientSystemId: '',
  isIssuerIdUsed: false,
  defaultTimezoneOffset: '+00:00',
  enforceValidation: false,
  generateObservations: true,
};

export const command = defineCommand({
  name: 'map',
  synopsis: ['<input> [options]'],
  positionals: '<input>',
  description: `Prints on stdout, as JSON, the FHIR transaction Bundle the writer would send to an EMPTY FHIR server for
the DICOM instances in <input>: the Endpoint, Patient and ImagingStudy, and the radiation dose Observations
of dose SR instances. Tag warnings, rejected instances and resources that fail the FHIR R4 check go to
stderr. With instances of several studies the output is a JSON array of Bundles (one per study, the writer
sends one transaction per study), ordered by Study Instance UID.

<input>   a DICOM JSON file (one instance object, or an array of them as WADO-RS study metadata returns),
          a DICOM Part-10 file, or a folder: every *.json file and every Part-10 file (DICM prefix) in it
          and below; other files in a folder are skipped (named on stderr).

The writer's setting each option stands for is in brackets.`,
  options: {
    endpoint: {
      type: 'string',
      value: 'URL',
      help: `the DICOMweb endpoint E [DicomWeb:Endpoint]; default ${defaultEndpoint}`,
    },
    'patient-system': {
      type: 'string',
      value: 'S',
      help: 'the Patient identifier system [Patient:PatientSystemId]; default none',
    },
    'issuer-as-system': {
      type: 'boolean',
      help: 'use IssuerOfPatientID (0010,0021) as the system [Patient:IsIssuerIdUsed]',
    },
    'timezone-offset': {
      type: 'string',
      value: '+HH:MM',
      help: 'offset when TimezoneOffsetFromUTC is absent [DicomCast:DefaultTimezoneOffset];\ndefault +00:00',
    },
    'enforce-validation': {
      type: 'boolean',
      help: 'an invalid tag value fails its instance [DicomCast:Features:EnforceValidationOfTagValues]',
    },
    'no-observations': {
      type: 'boolean',
      help: 'no dose Observations [DicomCast:Features:GenerateObservations=false]',
    },
  },
  footer: `Exit status: 0 when a Bundle was printed (read stderr for warnings and rejected instances); 1 when an input
file cannot be read or nothing can be mapped (stderr names the file or instance and the problem);
2 for a usage error.

Example:
  npx dicom-cast map ./study-folder --endpoint https://dicom.contoso.com --patient-system urn:oid:1.2.3 > bundle.json`,
});

/** The writer's settings the options stand for. */
function mappingOptions(values: OptionValues<typeof command.options>): MappingOptions {
  const options: MappingOptions = { ...defaultMapOptions };
  if (values.endpoint !== undefined) {
    if (!/^https?:\/\/\S+$/.test(values.endpoint)) throw new UsageError('--endpoint must be an http(s) URL');
    options.endpoint = values.endpoint;
  }
  if (values['patient-system'] !== undefined) options.patientSystemId = values['patient-system'];
  if (values['issuer-as-system']) options.isIssuerIdUsed = true;
  const offset = values['timezone-offset'];
  if (offset !== undefined) {
    if (!/^[+-](0\d|1[0-3]):[0-5]\d$|^[+-]14:00$/.test(offset)) {
      throw new UsageError('--timezone-offset must be +HH:MM or -HH:MM');
    }
    options.defaultTimezoneOffset = offset;
  }
  if (values['enforce-validation']) options.enforceValidation = true;
  if (values['no-observations']) options.generateObservations = false;
  return options;
}

/** The command: returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(command, args, io, async ({ values, positionals }) => {
    const [input, extra] = positionals;
    if (input === undefined) throw new UsageError('missing <input>');
    if (extra !== undefined) throw new UsageError(`one input only (got ${input} and ${extra})`);
    const options = mappingOptions(values);
    let datasets: LoadedDataset[];
    try {
      datasets = await loadInput(input, (text) => io.err(text));
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      io.err(`dicom-cast map: ${terminalSafe(error.message)}`);
      return 1;
    }
    const result = mapDatasets(datasets, options);
    for (const line of result.messages) io.err(terminalSafe(line));
    if (result.bundles.length === 0) {
      io.err(`dicom-cast map: nothing to map in ${input}: no instance could be mapped (see above)`);
      return 1;
    }
    const output = result.bundles.length === 1 ? result.bundles[0] : result.bundles;
    io.out(JSON.stringify(output, null, 2));
    return 0;
  });
}
