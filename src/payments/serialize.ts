import { fromJson } from '../db/database.ts';
import type { ChargesTable, PaymentAttemptsTable, PaymentIntentsTable } from '../db/schema.ts';
import type { ApiBalanceTransaction } from './expand.ts';

// Stripe's payment_intent and charge objects, and Payrail's payment_attempt.

export type ApiPaymentIntent = ReturnType<typeof serializeIntent>;
export type ApiCharge = ReturnType<typeof serializeCharge>;

export function serializeIntent(row: PaymentIntentsTable, expanded: { charge?: ApiCharge } = {}) {
  return {
    id: row.id,
    object: 'payment_intent' as const,
    amount: row.amount,
    amount_capturable: row.amount_capturable,
    amount_details: { tip: {} },
    amount_received: row.amount_received,
    application: null,
    application_fee_amount: row.application_fee_amount ?? null,
    automatic_payment_methods: null,
    canceled_at: row.canceled_at,
    cancellation_reason: row.cancellation_reason,
    capture_method: row.capture_method,
    client_secret: row.client_secret,
    confirmation_method: row.confirmation_method,
    created: row.created,
    currency: row.currency,
    customer: row.customer_id,
    description: row.description,
    last_payment_error: fromJson<Record<string, unknown>>(row.last_payment_error),
    latest_charge: expanded.charge ?? row.latest_charge,
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    next_action: fromJson<Record<string, unknown>>(row.next_action),
    on_behalf_of: null,
    payment_method: row.payment_method_id,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: fromJson<string[]>(row.payment_method_types) ?? ['card'],
    processing: null,
    receipt_email: row.receipt_email,
    review: null,
    setup_future_usage: row.setup_future_usage,
    shipping: null,
    source: null,
    statement_descriptor: row.statement_descriptor,
    statement_descriptor_suffix: null,
    status: row.status,
    transfer_data: transferData(row),
    transfer_group: null,
  };
}

/** Stripe's transfer_data of a destination charge; `amount` null: the rest after the fee. */
function transferData(row: Pick<ChargesTable, 'transfer_destination'>) {
  const destination = row.transfer_destination ?? null;
  return destination === null ? null : { amount: null, destination };
}

export function serializeCharge(
  row: ChargesTable,
  expanded: { balanceTransaction?: ApiBalanceTransaction } = {},
) {
  const captured = row.captured === 1;
  return {
    id: row.id,
    object: 'charge' as const,
    amount: row.amount,
    amount_captured: row.amount_captured,
    amount_refunded: row.amount_refunded,
    application: null,
    application_fee: null,
    application_fee_amount: row.application_fee_amount ?? null,
    /** The txn_ of the capture's posting (null before capture), or that object when expanded. */
    balance_transaction: expanded.balanceTransaction ?? row.balance_transaction ?? null,
    billing_details: { address: null, email: null, name: null, phone: null },
    calculated_statement_descriptor: null,
    captured,
    created: row.created,
    currency: row.currency,
    customer: row.customer_id,
    description: row.description,
    destination: row.transfer_destination ?? null,
    disputed: row.disputed === 1,
    failure_balance_transaction: null,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    fraud_details: {},
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    on_behalf_of: null,
    outcome: fromJson<Record<string, unknown>>(row.outcome),
    paid: row.status === 'succeeded',
    payment_intent: row.payment_intent_id,
    payment_method: row.payment_method_id,
    payment_method_details: fromJson<Record<string, unknown>>(row.payment_method_details),
    receipt_email: row.receipt_email,
    receipt_number: null,
    receipt_url: null,
    refunded: captured && row.amount_captured > 0 && row.amount_refunded === row.amount_captured,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: row.status,
    transfer_data: transferData(row),
    transfer_group: null,
  };
}

export function serializeAttempt(row: PaymentAttemptsTable) {
  return {
    id: row.id,
    object: 'payment_attempt' as const,
    operation: row.operation,
    connector: row.connector,
    connector_reference: row.connector_reference,
    status: row.status,
    amount: row.amount,
    currency: row.currency,
    error_code: row.error_code,
    decline_code: row.decline_code,
    error_message: row.error_message,
    refund: row.refund_id,
    routing_reason: row.routing_reason,
    latency_ms: row.latency_ms,
    /** When the outcome became unknown, and how that was resolved. */
    unknown_at: row.unknown_at_ms === null ? null : Math.floor(row.unknown_at_ms / 1000),
    resolution: row.resolution,
    reverses_attempt: row.reverses_attempt_id,
    created: Math.floor(row.created_ms / 1000),
    livemode: row.livemode === 1,
  };
}
