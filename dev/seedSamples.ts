import axios from 'axios';
import { encodeStowBody } from './dicom-server/index.js';
import { makeInstanceFile, makeSampleStudies, type InstanceSpec, type SampleStudiesOptions } from './samples/index.js';

/** Stores generated Part-10 studies on a DICOMweb server with real STOW-RS requests, a batch per request. */
export async function storeSampleStudies(
  dicomUrl: string,
  options: SampleStudiesOptions,
  batchSize = 50,
): Promise<InstanceSpec[]> {
  const specs = makeSampleStudies(options);
  await stowInstances(dicomUrl, specs, batchSize);
  return specs;
}

export async function stowInstances(dicomUrl: string, specs: readonly InstanceSpec[], batchSize = 50): Promise<void> {
  for (let start = 0; start < specs.length; start += batchSize) {
    const files = specs.slice(start, start + batchSize).map(makeInstanceFile);
    const { body, contentType } = encodeStowBody(files);
    const response = await axios.post(`${dicomUrl.replace(/\/+$/, '')}/v2/studies`, body, {
      headers: { 'Content-Type': contentType, Accept: 'application/dicom+json' },
      validateStatus: () => true,
      maxBodyLength: Infinity,
    });
    if (response.status !== 200) {
      throw new Error(`STOW-RS to ${dicomUrl} answered ${response.status}`);
    }
  }
}
