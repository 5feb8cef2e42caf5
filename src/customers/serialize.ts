import { fromJson } from '../db/database.ts';
import type { CustomersTable } from '../db/schema.ts';

export interface ApiCustomer {
  id: string;
  object: 'customer';
  address: unknown;
  balance: number;
  created: number;
  currency: string | null;
  default_source: null;
  delinquent: boolean;
  description: string | null;
  email: string | null;
  invoice_prefix: string;
  invoice_settings: { custom_fields: null; default_payment_method: string | null; footer: null };
  livemode: boolean;
  metadata: Record<string, string>;
  name: string | null;
  phone: string | null;
  preferred_locales: string[];
  shipping: unknown;
  tax_exempt: 'none';
}

export function serializeCustomer(row: CustomersTable): ApiCustomer {
  return {
    id: row.id,
    object: 'customer',
    address: fromJson(row.address),
    balance: 0,
    created: row.created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: row.description,
    email: row.email,
    invoice_prefix: row.invoice_prefix,
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null },
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    name: row.name,
    phone: row.phone,
    preferred_locales: [],
    shipping: fromJson(row.shipping),
    tax_exempt: 'none',
  };
}

export function serializeDeletedCustomer(id: string) {
  return { id, object: 'customer' as const, deleted: true as const };
}
