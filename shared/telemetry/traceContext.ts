import {
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C `traceparent` header value read into a span context; undefined when absent or malformed. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparentPattern.exec(traceparent?.trim().toLowerCase() ?? '');
  if (!match || match[1] === 'ff') return undefined;
  const spanContext: SpanContext = {
    traceId: match[2] as string,
    spanId: match[3] as string,
    traceFlags: parseInt(match[4] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** `00-<trace id>-<span id>-<flags>`; undefined for an invalid span context (no SDK, or nothing recorded). */
export function formatTraceparent(spanContext: SpanContext | undefined): string | undefined {
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** A context whose parent is the remote span a traceparent names; the base context when there is none. */
export function contextFromTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  const spanContext = parseTraceparent(traceparent);
  return spanContext ? trace.setSpanContext(base, spanContext) : base;
}

/** What a function adapter knows about its invocation, handed to the handlers for correlation. */
export interface InvocationInfo {
  /** The host's invocation id (App Insights `InvocationId`). */
  id?: string;
  /** The host's trace context for this invocation (`context.traceContext.traceParent`). */
  traceparent?: string;
}

/** Reads the invocation id and trace context from an @azure/functions InvocationContext-like object. */
export function invocationInfo(context: {
  invocationId?: string;
  traceContext?: { traceParent?: string | null | undefined };
}): InvocationInfo {
  const traceparent = context.traceContext?.traceParent ?? undefined;
  return {
    ...(context.invocationId ? { id: context.invocationId } : {}),
    ...(traceparent ? { traceparent } : {}),
  };
}
