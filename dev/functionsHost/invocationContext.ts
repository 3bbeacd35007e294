import azureFunctions, {
  type InvocationContext as InvocationContextType,
  type TriggerMetadata,
} from '@azure/functions';
import { randomUUID } from 'node:crypto';

// Under native ESM the classes of @azure/functions are reachable only through its default export.
const { InvocationContext } = azureFunctions;

export type HostLog = (level: string, functionName: string, ...args: unknown[]) => void;

/** An InvocationContext like the one the Functions host builds for a real invocation. */
export function createInvocationContext(
  functionName: string,
  triggerMetadata: TriggerMetadata,
  log: HostLog,
): InvocationContextType {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    triggerMetadata,
    logHandler: (level, ...args) => log(level, functionName, ...args),
  });
}
