import adyen from '@adyen/api-library';
import { LIMITS } from '../../lib/limits.ts';
import { retrieveByReplay } from '../replay.ts';
import type {
  AuthorizeRequest,
  CaptureRequest,
  CompleteAuthenticationRequest,
  Connector,
  ConnectorDefinition,
  ConnectorOutcome,
  ConnectorSettings,
  DisputeEvidenceOutcome,
  DisputeEvidenceRequest,
  InboundWebhook,
  ProbeResult,
  RefundRequest,
  RetrieveOutcome,
  RetrieveRequest,
  VoidRequest,
  WebhookNotice,
} from '../types.ts';
import { attemptNotices, type ProcessorNotice } from '../types.ts';
import { submitAdyenEvidence } from './disputes.ts';
import { AdyenCallError, type AdyenRequestOptions, createAdyenHttpClient } from './http.ts';
import {
  type AdyenModificationRequest,
  type AdyenModificationResponse,
  type AdyenNotification,
  type AdyenPaymentResponse,
  fromAdyenDetailsFailure,
  fromAdyenDetailsResponse,
  fromAdyenFailure,
  fromAdyenModificationResponse,
  fromAdyenNotificationItemNotice,
  fromAdyenPaymentResponse,
  toAdyenDetailsRequest,
  toAdyenPaymentRequest,
} from './transformers.ts';

// The `adyen` connector: the official @adyen/api-library (Checkout API v72)
// with a thin HTTP client that points it at the configured base URL (see
// http.ts). Every call sends our attempt reference as the Idempotency-Key;
// `retrieve` replays the original request under the same key, which Adyen
// answers from its stored response without acting again (keys live at least
// 7 days). Captures, cancels and refunds are asynchronous at Adyen: the 201
// `received` answer is mapped to succeeded, and the CAPTURE / CANCELLATION /
// REFUND webhook confirms or contradicts it later (parseWebhook).

const { CheckoutAPI, Client, DisputesAPI, EnvironmentEnum, hmacValidator } = adyen;
type CheckoutModels = typeof adyen.Types.checkout;
type PaymentRequest = InstanceType<CheckoutModels['PaymentRequest']>;
type PaymentMethodsRequest = InstanceType<CheckoutModels['PaymentMethodsRequest']>;
type CaptureBody = InstanceType<CheckoutModels['PaymentCaptureRequest']>;
type CancelBody = InstanceType<CheckoutModels['PaymentCancelRequest']>;
type RefundBody = InstanceType<CheckoutModels['PaymentRefundRequest']>;
type DetailsBody = InstanceType<CheckoutModels['PaymentDetailsRequest']>;
type DisputesApi = InstanceType<typeof DisputesAPI>['DisputesApi'];
type DefenseReasonsBody = Parameters<DisputesApi['retrieveApplicableDefenseReasons']>[0];
type SupplyDocumentBody = Parameters<DisputesApi['supplyDefenseDocument']>[0];
type DefendBody = Parameters<DisputesApi['defendDispute']>[0];
type DeleteDocumentBody = Parameters<DisputesApi['deleteDisputeDefenseDocument']>[0];

export interface AdyenConnectorOptions {
  /** The clock `retrieve` reads to stay inside the replay window (tests move it). */
  nowMs?: () => number;
}

export function createAdyenConnector(
  settings: ConnectorSettings,
  options: AdyenConnectorOptions = {},
): Connector {
  const { api_key: apiKey, merchant_account: merchantAccount } = settings.credentials;
  if (!apiKey || !merchantAccount) {
    throw new Error('adyen connector needs credentials.api_key and credentials.merchant_account');
  }
  if (!settings.baseUrl) throw new Error('adyen connector needs a base URL (the Checkout API)');
  const hmacKey = settings.credentials.hmac_key ?? null;
  const nowMs = options.nowMs ?? Date.now;
  // TEST only chooses the host the library writes, which http.ts replaces by
  // the configured base URL (live or test): no traffic goes to Adyen's test
  // host unless the base URL says so.
  const client = new Client(
    {
      apiKey,
      environment: EnvironmentEnum.TEST,
      // Ceiling for a call whose AbortSignal never fires.
      connectionTimeoutMillis: LIMITS.connectorTimeoutMsMax,
    },
    createAdyenHttpClient(settings.baseUrl),
  );
  const checkout = new CheckoutAPI(client);
  const disputes = new DisputesAPI(client).DisputesApi;

  const requestOptions = (reference: string | null, signal: AbortSignal) =>
    ({ ...(reference ? { idempotencyKey: reference } : {}), signal }) as AdyenRequestOptions;

  /** One library call; failures become outcomes, never exceptions. */
  async function call<T>(
    run: () => Promise<T>,
    map: (value: T) => ConnectorOutcome,
  ): Promise<ConnectorOutcome> {
    try {
      return map(await run());
    } catch (error) {
      if (error instanceof AdyenCallError) return fromAdyenFailure(error.failure);
      throw error;
    }
  }

  function authorize(request: AuthorizeRequest, signal: AbortSignal) {
    const built = toAdyenPaymentRequest(request, merchantAccount as string);
    if (!built.ok) return Promise.resolve(built.outcome);
    return call(
      () =>
        checkout.PaymentsApi.payments(
          built.body as unknown as PaymentRequest,
          requestOptions(request.reference, signal),
        ),
      (response) => fromAdyenPaymentResponse(response as AdyenPaymentResponse),
    );
  }

  function modificationBody(request: CaptureRequest | RefundRequest | VoidRequest) {
    const body: AdyenModificationRequest = {
      merchantAccount: merchantAccount as string,
      reference: request.reference,
      amount: { value: request.amountMinor, currency: request.currency.toUpperCase() },
    };
    return body;
  }

  const fromModification = (response: unknown) =>
    fromAdyenModificationResponse(response as AdyenModificationResponse);

  function capture(request: CaptureRequest, signal: AbortSignal) {
    return call(
      () =>
        checkout.ModificationsApi.captureAuthorisedPayment(
          request.authorizationReference,
          modificationBody(request) as CaptureBody,
          requestOptions(request.reference, signal),
        ),
      fromModification,
    );
  }

  function voidAuthorization(request: VoidRequest, signal: AbortSignal) {
    const { amount: _amount, ...body } = modificationBody(request);
    return call(
      () =>
        checkout.ModificationsApi.cancelAuthorisedPaymentByPspReference(
          request.authorizationReference,
          body as CancelBody,
          requestOptions(request.reference, signal),
        ),
      fromModification,
    );
  }

  function refund(request: RefundRequest, signal: AbortSignal) {
    return call(
      () =>
        checkout.ModificationsApi.refundCapturedPayment(
          request.paymentReference,
          modificationBody(request) as RefundBody,
          requestOptions(request.reference, signal),
        ),
      fromModification,
    );
  }

  /** Replays the original request under the same Idempotency-Key; past the window, unknown. */
  async function retrieve(request: RetrieveRequest, signal: AbortSignal): Promise<RetrieveOutcome> {
    return retrieveByReplay(request, signal, {
      nowMs: nowMs(),
      windowMs: LIMITS.adyenReplayWindowMs,
      tooOld: 'older than the Idempotency-Key replay window: resolve in the Adyen Customer Area',
      operations: { authorize, capture, void: voidAuthorization, refund },
    });
  }

  /**
   * POST /payments/details with the shopper's redirectResult, under the
   * completion's reference as Idempotency-Key. Asked again without one
   * (recovery), the same key makes Adyen answer what it stored for the
   * first call, without acting again.
   */
  async function completeAuthentication(
    request: CompleteAuthenticationRequest,
    signal: AbortSignal,
  ): Promise<ConnectorOutcome> {
    const body = toAdyenDetailsRequest(request.details);
    try {
      const response = await checkout.PaymentsApi.paymentsDetails(
        (body ?? { details: {} }) as DetailsBody,
        requestOptions(request.reference, signal),
      );
      return fromAdyenDetailsResponse(response as AdyenPaymentResponse, request);
    } catch (error) {
      if (error instanceof AdyenCallError) return fromAdyenDetailsFailure(error.failure, !body);
      throw error;
    }
  }

  /**
   * Defends the dispute with the evidence (disputes.ts submitAdyenEvidence):
   * the applicable defense reasons, the evidence as one PDF document, then
   * defendDispute (and deleting the document if that is refused). Each call
   * carries an Idempotency-Key derived from the submission's reference
   * (adyenStepKey, at most 64 characters), so a retry of the same evidence is
   * answered, not repeated.
   */
  function submitDisputeEvidence(
    request: DisputeEvidenceRequest,
    signal: AbortSignal,
  ): Promise<DisputeEvidenceOutcome> {
    const options = (key: string) => requestOptions(key, signal);
    return submitAdyenEvidence(request, merchantAccount as string, {
      reasons: (body, key) =>
        disputes.retrieveApplicableDefenseReasons(body as DefenseReasonsBody, options(key)),
      supply: (body, key) =>
        disputes.supplyDefenseDocument(body as SupplyDocumentBody, options(key)),
      defend: (body, key) => disputes.defendDispute(body as DefendBody, options(key)),
      deleteDocument: (body, key) =>
        disputes.deleteDisputeDefenseDocument(body as DeleteDocumentBody, options(key)),
    });
  }

  /** POST /paymentMethods for the merchant account: authenticated and acts on nothing. */
  async function probe(signal: AbortSignal): Promise<ProbeResult> {
    const startedMs = performance.now();
    const latency = () => Math.round(performance.now() - startedMs);
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(LIMITS.probeTimeoutMs)]);
    try {
      await checkout.PaymentsApi.paymentMethods(
        { merchantAccount } as PaymentMethodsRequest,
        requestOptions(null, deadline),
      );
      return { ok: true, latencyMs: latency(), detail: 'POST /paymentMethods ok' };
    } catch (error) {
      const detail =
        error instanceof AdyenCallError
          ? JSON.stringify(error.failure)
          : error instanceof Error
            ? error.message
            : String(error);
      return { ok: false, latencyMs: latency(), detail: `POST /paymentMethods failed: ${detail}` };
    }
  }

  /** Adyen's standard notification JSON; every item must carry a valid hmacSignature. */
  function parseNotices(webhook: InboundWebhook): ProcessorNotice[] {
    if (!hmacKey) throw new Error('adyen connector has no hmac_key: cannot verify webhooks');
    let body: AdyenNotification;
    try {
      body = JSON.parse(webhook.rawBody) as AdyenNotification;
    } catch {
      throw new Error('adyen webhook body is not JSON');
    }
    if (!Array.isArray(body?.notificationItems)) {
      throw new Error('adyen webhook has no notificationItems');
    }
    const validator = new hmacValidator();
    const notices: ProcessorNotice[] = [];
    for (const entry of body.notificationItems) {
      const item = entry?.NotificationRequestItem;
      if (!item?.additionalData?.hmacSignature) {
        throw new Error('adyen notification item without additionalData.hmacSignature');
      }
      // The library computes the signature over the documented fields in order.
      const valid = validator.validateHMAC(item as never, hmacKey);
      if (!valid) throw new Error('adyen notification HMAC signature is invalid');
      const notice = fromAdyenNotificationItemNotice(item);
      if (notice) notices.push(notice);
    }
    return notices;
  }

  function parseWebhook(webhook: InboundWebhook): WebhookNotice[] {
    return attemptNotices(parseNotices(webhook));
  }

  return {
    name: settings.id,
    type: 'adyen',
    authorize,
    capture,
    void: voidAuthorization,
    refund,
    retrieve,
    probe,
    parseWebhook,
    parseNotices,
    submitDisputeEvidence,
    completeAuthentication,
    // Adyen's redirect appends redirectResult (or payload): without either
    // there is nothing to send, and an empty /payments/details could leave a
    // 4xx stored under the completion's key for the real return to replay.
    completionDetailsRequired: ['redirectResult', 'payload'],
  };
}

export const adyenDefinition: ConnectorDefinition = {
  type: 'adyen',
  credentialFields: ['api_key', 'merchant_account'],
  optionalCredentialFields: ['hmac_key'],
  baseUrl: 'required',
  create: (settings) => createAdyenConnector(settings),
};
