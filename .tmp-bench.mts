import { startFhirServer } from './dev/fhir-server/index.js';
const s = await startFhirServer();
const post = (path: string, body: unknown) => fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) }).then(async r => ({ status: r.status, body: await r.json() as any }));
const t0 = performance.now();
const studies = 20, perStudy = Number(process.env.PER ?? 250);
const p = await post('/Patient', { resourceType: 'Patient', identifier: [{ value: 'P' }] });
const state: any[] = [];
for (let s2 = 0; s2 < studies; s2++) state.push((await post('/ImagingStudy', { resourceType: 'ImagingStudy', status: 'available', subject: { reference: `Patient/${p.body.id}` }, identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:1.2.${s2}` }], series: [{ uid: `1.2.${s2}.1`, modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }, instance: [{ uid: `1.2.${s2}.1.0`, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.2' } }] }] })).body);
let searchMs = 0;
for (let i = 1; i < perStudy; i++) {
  for (let k = 0; k < studies; k++) {
    const st = state[k];
    const ts = performance.now();
    const found = await fetch(`${s.url}/ImagingStudy?identifier=urn:dicom:uid|urn:oid:1.2.${k}`).then(r => r.json() as any);
    searchMs += performance.now() - ts;
    if (found.total !== 1) throw new Error('search');
    st.series[0].instance.push({ uid: `1.2.${k}.1.${i}`, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.2' }, number: i });
    const r = await fetch(`${s.url}/ImagingStudy/${st.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', 'if-match': `W/"${st.meta.versionId}"` }, body: JSON.stringify(st) });
    if (r.status !== 200) throw new Error('put ' + r.status + await r.text());
    state[k] = await r.json();
  }
}
const ms = performance.now() - t0;
globalThis.gc?.();
console.log({ writes: studies * perStudy, ms: Math.round(ms), searchMs: Math.round(searchMs), heapMB: Math.round(process.memoryUsage().heapUsed / 1e6), counts: s.requestCounts() });
await s.close();
