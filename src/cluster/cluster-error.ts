/** Errors of the multi-node cluster (Redis registry, dispatch, drain). */
import { ColloquyError } from '../errors.ts';

export type ClusterErrorCode =
  | 'invalid_redis_url'
  | 'invalid_cluster_config'
  | 'redis_unreachable'
  | 'redis_unavailable'
  | 'redis_busy'
  | 'cluster_full'
  | 'node_draining';

/** A cluster problem; `code` says which (stable), `retryable` when waiting may help. */
export class ClusterError extends ColloquyError {
  declare readonly code: ClusterErrorCode;
  constructor(
    code: ClusterErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, {
      ...options,
      retryable: options.retryable ?? (code !== 'invalid_redis_url' && code !== 'invalid_cluster_config'),
    });
  }
}
