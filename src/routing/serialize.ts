import { fromJson } from '../db/database.ts';
import type { ConnectorAccountsTable, MaintenanceWindowsTable } from '../db/schema.ts';
import type { RoutingConfig } from './types.ts';

// API objects of connector accounts, maintenance windows and the routing
// configuration. Credentials never leave through here: only their hints.

const PPM_PER_PERCENT = 10_000;

/** 29000 ppm → "2.9": integer arithmetic, so the percentage round-trips exactly. */
export function ppmToPercent(ppm: number): string {
  const whole = Math.floor(ppm / PPM_PER_PERCENT);
  const fraction = String(ppm % PPM_PER_PERCENT)
    .padStart(4, '0')
    .replace(/0+$/, '');
  return fraction === '' ? String(whole) : `${whole}.${fraction}`;
}

const MASK = '••••••••';
const HINT_VISIBLE_CHARS = 4;
const HINT_FULL_MASK_LENGTH_MAX = 8;

/** Shows the last 4 characters of a credential, or nothing of a short one; hides the length. */
export function maskCredential(value: string): string {
  if (value.length <= HINT_FULL_MASK_LENGTH_MAX) return MASK;
  return MASK + value.slice(-HINT_VISIBLE_CHARS);
}

export interface ApiConnector {
  id: string;
  object: 'connector';
  type: string;
  name: string;
  status: 'active' | 'disabled';
  base_url: string | null;
  currencies: string[] | null;
  /** FX: the currency this processor pays out in; null: the presentment currency. */
  settlement_currency: string | null;
  payment_method_types: string[];
  fees: { percent: string; fixed: number };
  /** Fixed fee per dispute, in the settlement currency's minor unit. */
  dispute_fee: number;
  timeout_ms: number;
  /** Masked hints only; the values are write-only. */
  credentials: Record<string, string>;
  livemode: boolean;
  metadata: Record<string, string>;
  created: number;
}

export function serializeConnector(row: ConnectorAccountsTable): ApiConnector {
  return {
    id: row.id,
    object: 'connector',
    type: row.type,
    name: row.name,
    status: row.status,
    base_url: row.base_url,
    currencies: fromJson<string[]>(row.currencies),
    settlement_currency: row.settlement_currency ?? null,
    payment_method_types: fromJson<string[]>(row.payment_method_types) ?? [],
    fees: { percent: ppmToPercent(row.fee_rate_ppm), fixed: row.fee_fixed },
    dispute_fee: Number(row.dispute_fee ?? 0),
    timeout_ms: row.timeout_ms,
    credentials: fromJson<Record<string, string>>(row.credentials_hint) ?? {},
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    created: row.created,
  };
}

export function serializeDeletedConnector(id: string) {
  return { id, object: 'connector' as const, deleted: true as const };
}

export type MaintenanceStatus = 'scheduled' | 'in_progress' | 'completed' | 'canceled';

export function maintenanceStatus(row: MaintenanceWindowsTable, nowSeconds: number) {
  if (row.status === 'canceled') return 'canceled';
  if (nowSeconds < row.starts_at) return 'scheduled';
  return nowSeconds < row.ends_at ? 'in_progress' : 'completed';
}

export interface ApiMaintenanceWindow {
  id: string;
  object: 'maintenance_window';
  connector: string;
  start: number;
  end: number;
  note: string | null;
  status: MaintenanceStatus;
  created: number;
  livemode: boolean;
}

export function serializeMaintenanceWindow(
  row: MaintenanceWindowsTable,
  nowSeconds: number,
): ApiMaintenanceWindow {
  return {
    id: row.id,
    object: 'maintenance_window',
    connector: row.connector_id,
    start: row.starts_at,
    end: row.ends_at,
    note: row.note,
    status: maintenanceStatus(row, nowSeconds),
    created: row.created,
    livemode: row.livemode === 1,
  };
}

export interface StoredRoutingConfig {
  config: RoutingConfig;
  /** 0 while the account uses the default configuration. */
  version: number;
  /** Unix seconds of the last change; null for the default. */
  updated: number | null;
  livemode: boolean;
}

export function serializeRoutingConfig(stored: StoredRoutingConfig) {
  return {
    object: 'routing_config' as const,
    ...stored.config,
    livemode: stored.livemode,
    updated: stored.updated,
    version: stored.version,
  };
}
