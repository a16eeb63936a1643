/**
 * `colloquy start` exports its traces over OTLP/HTTP (JSON) when the standard OpenTelemetry
 * environment asks for it: `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set,
 * or `OTEL_TRACES_EXPORTER=otlp` (the default endpoint, `http://localhost:4318/v1/traces`).
 * `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` turn it off. The exporter itself reads its
 * endpoint and `OTEL_EXPORTER_OTLP_HEADERS`; the service is `OTEL_SERVICE_NAME` (else `colloquy`).
 *
 * The SDK packages are optional peers, loaded only then:
 * `npm install @opentelemetry/api @opentelemetry/sdk-trace @opentelemetry/resources @opentelemetry/exporter-trace-otlp-http`.
 */
import { requireOptional } from '../optional-dependency.ts';

type Env = Readonly<Record<string, string | undefined>>;

const FEATURE = 'OTLP trace export (OTEL_EXPORTER_OTLP_ENDPOINT)';

/** The parts of the OpenTelemetry SDK packages used here (their types stay out of the declarations). */
interface SdkTrace {
  TracerProvider: new (options: {
    resource?: unknown;
    spanProcessors?: unknown[];
  }) => {
    forceFlush(): Promise<void>;
    shutdown(): Promise<void>;
  };
  BatchSpanProcessor: new (options: { exporter: unknown }) => unknown;
}
interface OtlpHttp {
  OTLPTraceExporter: new () => unknown;
}
interface Resources {
  resourceFromAttributes(attributes: Record<string, string>): unknown;
}
interface Api {
  trace: { setGlobalTracerProvider(provider: unknown): boolean; disable(): void };
}

/** A tracer provider exporting over OTLP, registered as the process's global one. */
export interface OtlpTracing {
  /** Sends what is buffered. */
  flush(): Promise<void>;
  /** Sends what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/** True when the environment asks for OTLP trace export. */
export function otlpTracingWanted(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return false;
  if (exporters.includes('otlp')) return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/**
 * Registers a tracer provider that batches spans to the OTLP/HTTP endpoint of the environment, or
 * returns undefined when the environment does not ask for it. Throws `MissingDependencyError` (one
 * line naming the install command) when an SDK package is missing.
 */
export function startOtlpTracing(env: Env): OtlpTracing | undefined {
  if (!otlpTracingWanted(env)) return undefined;
  const api = requireOptional<Api>('@opentelemetry/api', FEATURE);
  const sdk = requireOptional<SdkTrace>('@opentelemetry/sdk-trace', FEATURE);
  const resources = requireOptional<Resources>('@opentelemetry/resources', FEATURE);
  const { OTLPTraceExporter } = requireOptional<OtlpHttp>('@opentelemetry/exporter-trace-otlp-http', FEATURE);
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME?.trim() || 'colloquy',
    }),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  api.trace.setGlobalTracerProvider(provider);
  return {
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown();
      api.trace.disable();
    },
  };
}
