import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import { startDicomServer, type RunningDicomServer } from '../../../dev/dicom-server/index.js';
import { makeInstanceFile, uid } from '../../../dev/samples/index.js';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import type { StorageConnection } from '../../../shared/config/storageConnection.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { createQueueClient, createStorageQueue } from '../../../shared/queue/messageQueue.js';
import { decodeStudyMessage } from '../../../shared/queue/studyMessageCodec.js';
import { createCheckpointStore } from '../../../shared/state/checkpointStore.js';
import { createFailureStore } from '../../../shared/state/failureStore.js';
import { createTableClient } from '../../../shared/state/storageClients.js';
import { pollChangeFeed, type PollDependencies } from '../../../shared/sync/poll.js';

/**
 * v1 reads the change feed in sequence windows. A window read empty is stepped over, but never up to the newest
 * sequence itself: a row written after the window was read and before `latest` was asked has that sequence,
 * and stepping onto it would skip it for good. Against the DICOM service stand-in, with the row stored in that
 * very moment.
 */
describe('v1 change feed: a row written just after its window was read empty', () => {
  let azurite: RunningAzurite;
  let dicom: RunningDicomServer;

  before(async () => {
    [azurite, dicom] = await Promise.all([startAzurite(), startDicomServer()]);
  });
  after(async () => {
    await Promise.all([dicom.close(), azurite.close()]);
  });

  it('is read by the next run, not stepped over', async () => {
    const storage: StorageConnection = { kind: 'connectionString', connectionString: azurite.connectionString };
    const suffix = randomBytes(4).toString('hex');
    const queueName = `gap-${suffix}`;
    const real = createChangeFeedClient(
      createServerHttpClient({ baseUrl: dicom.url, authorization: noAuthorization }),
      'v1',
    );
    const late = {
      studyUid: uid('gap', 'study'),
      seriesUid: uid('gap', 'series'),
      sopUid: uid('gap', 'sop'),
      patientId: 'GAP-1',
      patientName: 'Gap^Race',
      modality: 'CT',
    };
    let stored = false;
    const feed: PollDependencies['feed'] = {
      latest: () => real.latest(),
      readV2: (...args) => real.readV2(...args),
      // The first empty window: the instance is stored after the window was read, before `latest` is asked.
      readV1: async (...args) => {
        const rows = await real.readV1(...args);
        if (rows.length === 0 && !stored) {
          stored = true;
          await dicom.storeFiles([makeInstanceFile(late)]);
        }
        return rows;
      },
    };
    const deps: PollDependencies = {
      feed,
      checkpoints: createCheckpointStore(await createTableClient(storage, `gapcp${suffix}`), { endpoint: dicom.url }),
      queue: createStorageQueue(storage, queueName),
      failures: createFailureStore(await createTableClient(storage, `gapfail${suffix}`)),
      now: Date.now,
    };
    const options = { version: 'v1', pageSize: 10, maxRunMs: 60_000 } as const;

    const first = await pollChangeFeed(deps, options);
    assert.equal(stored, true);
    assert.equal(first.entriesRead, 0);
    assert.equal(first.latestSequence, 1, 'the row was there when latest was asked');
    const second = await pollChangeFeed(deps, options);
    assert.equal(second.entriesRead, 1, 'the next run reads the row');

    const { receivedMessageItems } = await createQueueClient(storage, queueName).receiveMessages({
      numberOfMessages: 32,
    });
    const sops = receivedMessageItems.flatMap((item) =>
      decodeStudyMessage(item.messageText).changes.map((change) => change.sop),
    );
    assert.deepEqual(sops, [late.sopUid]);
    assert.deepEqual(second.checkpoint, { version: 'v1', sequence: 1 });
  });
});
