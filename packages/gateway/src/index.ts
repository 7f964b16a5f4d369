export {
  AlertManager,
  type AlertManagerOptions,
  type AlertsView,
  type BudgetSource,
} from './alerts/alert-manager';
export type { KeyBudget } from './alerts/alert-rules';
export type { ActiveAlert, AlertCondition, AlertNotification, AlertTransition } from './alerts/alert-state';
export {
  type AlertsPoll,
  GatewayAlertsClient,
  type GatewayAlertsClientOptions,
  gatewayApiKeyOf,
  gatewayUrlOf,
} from './alerts/alerts-client';
export {
  type AlertKind,
  type AlertRuleConfig,
  type AlertsConfig,
  alertsConfigSchema,
  type WebhookConfig,
} from './alerts/alerts-config';
export type { AlertsListing } from './alerts/alerts-route';
export type { ChatWire } from './chat-wire';
export type { CorsSettings } from './cors';
export { GatewayError, type GatewayErrorCode, type GatewayErrorOptions } from './errors';
export { type BusEvent, type BusListener, EventBus, type EventBusOptions } from './event-bus';
export {
  createGateway,
  defaultHost,
  defaultPort,
  type Gateway,
  type GatewayOptions,
  type ShutdownOptions,
  type ShutdownResult,
} from './gateway';
export type {
  GatewayAttempt,
  GatewayChatRequest,
  GatewayChatResponse,
  GatewayModelInfo,
  GatewayPullProgress,
  GatewayRouter,
  GatewayRunningModel,
  GatewayStreamEvent,
} from './gateway-router';
export { parseDuration } from './keys/admin-routes';
export { gatewayDataDir, type OpenVirtualKeysOptions, openVirtualKeys } from './keys/open-virtual-keys';
export { defaultPrices, type ModelPrice, type PriceTable } from './keys/prices';
export type {
  Admission,
  AdmissionLimits,
  AdmissionRequest,
  BudgetPeriod,
  KeyRecord,
  KeyStore,
  Reservation,
  Settlement,
  SpendQuery,
  SpendRow,
  UsageStore,
} from './keys/store';
export {
  type CreateKeyInput,
  type KeyedRequest,
  type KeyView,
  type SpendReport,
  VirtualKeys,
  type VirtualKeysOptions,
} from './keys/virtual-keys';
export { GatewayMetrics, type GatewayMetricsOptions } from './metrics';
export { type CatalogModel, ModelCatalog, type ModelCatalogOptions, type ModelRoute } from './model-catalog';
export { type OpenRedisVirtualKeysOptions, openRedisVirtualKeys } from './redis/redis-virtual-keys';
export { catalogFromConfig, type ServerConfig, serverConfigSchema } from './server-config';
export { type RunningServer, type StartServerOptions, startServer } from './start-server';
export type { Readiness } from './telemetry-routes';
