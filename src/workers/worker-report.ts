/**
 * The worker side of `colloquy start --workers N`: tells the primary where it listens and which
 * sessions start and end on it (the primary routes by session id and sends new sessions to the
 * least-loaded worker), and answers the primary's metrics requests with its own.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS, type DiagnosticsMessages } from '../diagnostics.ts';
import { enableProcessMetrics } from '../observability/process-metrics.ts';
import { isPrimaryMessage, type WorkerMessage } from './worker-messages.ts';

/** Reports to the primary over IPC; returns the stop. No-op without an IPC channel. */
export function reportToPrimary(port: number): () => void {
  if (typeof process.send !== 'function') return () => {};
  const send = (message: WorkerMessage) => {
    if (process.connected) process.send?.(message);
  };
  const metrics = enableProcessMetrics();
  const live = new Set<string>();
  const created = (m: unknown) => {
    const { sessionId } = m as DiagnosticsMessages['sessionCreated'];
    live.add(sessionId);
    send({ colloquy: 1, type: 'session', sessionId, live: true, count: live.size });
  };
  const closed = (m: unknown) => {
    const { sessionId } = m as DiagnosticsMessages['sessionClosed'];
    live.delete(sessionId);
    send({ colloquy: 1, type: 'session', sessionId, live: false, count: live.size });
  };
  const onMessage = (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    send({ colloquy: 1, type: 'metrics', requestId: message.requestId, metrics: metrics.snapshot() });
  };
  diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.sessionCreated, created);
  diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.sessionClosed, closed);
  process.on('message', onMessage);
  send({ colloquy: 1, type: 'listening', port });
  return () => {
    diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNELS.sessionCreated, created);
    diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNELS.sessionClosed, closed);
    process.off('message', onMessage);
  };
}
