export { type StartTracingOptions, startTracing, type Tracing } from './start-tracing';
export {
  defaultTracesEndpoint,
  type TracingConfig,
  tracingConfigSection,
  tracingEnvBindings,
} from './tracing-config';
