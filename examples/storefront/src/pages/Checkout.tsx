import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { CreateOrderDocument, StorefrontOrderStatusDocument } from '../generated/graphql';
import { config } from '../config';
import { go } from '../router';
import { money, useT } from '../i18n';
import { ErrorMessage } from '../ErrorMessage';
import { RequireSignIn } from '../App';

const StripePayment = lazy(() => import('./StripePayment'));

export function Checkout({ sessionId }: { sessionId: string }) {
  return (
    <RequireSignIn>
      <CheckoutForm sessionId={sessionId} />
    </RequireSignIn>
  );
}

function CheckoutForm({ sessionId }: { sessionId: string }) {
  const { t, lang } = useT();
  // One key per checkout: a retried submission returns the same order instead of a second one.
  const idempotencyKey = useMemo(() => `storefront-${crypto.randomUUID()}`, []);
  const [{ data, error, fetching }, createOrder] = useMutation(CreateOrderDocument);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    await createOrder({
      input: {
        idempotencyKey,
        lines: [{ sessionId }],
        billing: {
          name: String(f.get('billingName')),
          address: {
            line1: String(f.get('line1')),
            postalCode: String(f.get('postalCode')),
            city: String(f.get('city')),
            country: String(f.get('country')).toUpperCase(),
          },
        },
      },
    });
  };
  const created = data?.createOrder;
  return (
    <section aria-labelledby="checkout-title">
      <h1 id="checkout-title">{t.checkout}</h1>
      {!created && (
        <form onSubmit={submit}>
          <label>{t.billingName}<input name="billingName" required autoComplete="name" /></label>
          <label>{t.line1}<input name="line1" required autoComplete="address-line1" /></label>
          <label>{t.postalCode}<input name="postalCode" required autoComplete="postal-code" /></label>
          <label>{t.city}<input name="city" required autoComplete="address-level2" /></label>
          <label>{t.country}<input name="country" required defaultValue="FR" maxLength={2} autoComplete="country" /></label>
          <ErrorMessage error={error} />
          <button type="submit" disabled={fetching}>{t.placeOrder}</button>
        </form>
      )}
      {created && (
        <>
          <p className="meta">
            {created.order.lines?.[0]?.description} · {created.order.total && money(created.order.total.amountCents, created.order.total.currency, lang)}
          </p>
          {created.clientSecret && <Payment orderId={created.order.id} clientSecret={created.clientSecret} />}
        </>
      )}
    </section>
  );
}

/**
 * The payment step. In production (`stripe.publishableKey`) Stripe Elements takes the card
 * (`StripePayment`). Against the test stand-in (`stripe.testApiBase`), the page confirms with
 * one of Stripe's test payment methods the way Stripe.js would. Either way, Pupitre learns the
 * outcome from Stripe's signed webhook, and the order page waits for it. Without Stripe
 * settings the page says where the payment goes.
 */
function Payment({ orderId, clientSecret }: { orderId: string; clientSecret: string }) {
  const { t } = useT();
  const [card, setCard] = useState('pm_card_visa');
  const [failure, setFailure] = useState<string | null>(null);
  const stripe = config.stripe;
  if (!stripe) {
    return (
      <p>
        {t.paymentProduction} <a href={`#/order/${orderId}`}>{t.orderStatus}</a>
      </p>
    );
  }
  if (!stripe.testApiBase) {
    return (
      <Suspense fallback={<p aria-live="polite">{t.loading}</p>}>
        <StripePayment publishableKey={stripe.publishableKey} clientSecret={clientSecret} orderId={orderId} />
      </Suspense>
    );
  }
  const pay = async () => {
    const intent = clientSecret.split('_secret_')[0];
    const res = await fetch(`${stripe.testApiBase}/v1/payment_intents/${intent}/confirm`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stripe.publishableKey}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ payment_method: card, client_secret: clientSecret }),
    });
    if (res.ok) go(`/order/${orderId}`);
    else setFailure((await res.json())?.error?.message ?? String(res.status));
  };
  return (
    <div className="payment">
      <label>
        {t.testCard}
        <select name="card" value={card} onChange={(e) => setCard(e.target.value)}>
          <option value="pm_card_visa">Visa 4242 4242 4242 4242</option>
          <option value="pm_card_chargeDeclined">Visa 4000 0000 0000 0002 ({t.PAYMENT_FAILED})</option>
        </select>
      </label>
      {failure && <p role="alert" className="error">{failure}</p>}
      <button type="button" onClick={pay}>{t.pay}</button>
    </div>
  );
}

export function OrderPage({ id }: { id: string }) {
  return (
    <RequireSignIn>
      <OrderStatus id={id} />
    </RequireSignIn>
  );
}

/** Statuses after which nothing changes without the buyer. */
const SETTLED = new Set(['PAID', 'CANCELLED', 'REFUNDED', 'PARTIALLY_REFUNDED', 'PAYMENT_FAILED']);

function OrderStatus({ id }: { id: string }) {
  const { t, lang } = useT();
  const [{ data, error }, refetch] = useQuery({ query: StorefrontOrderStatusDocument, variables: { id } });
  const status = data?.order?.status;
  const settled = !!error || (data && !data.order) || (status ? SETTLED.has(status) : false);
  // The webhook may arrive a moment after the card was confirmed: ask again (every second,
  // then less often) until the order settles or the API answers an error.
  const [tries, setTries] = useState(0);
  useEffect(() => {
    if (settled || tries > 120) return;
    const timer = setTimeout(() => {
      setTries((n) => n + 1);
      refetch({ requestPolicy: 'network-only' });
    }, tries < 30 ? 1000 : 5000);
    return () => clearTimeout(timer);
  }, [settled, tries, refetch]);
  const o = data?.order;
  return (
    <section aria-labelledby="order-title">
      <h1 id="order-title">{t.orderStatus}</h1>
      <ErrorMessage error={error} />
      <div aria-live="polite">
        {o && (
          <p data-status={o.status ?? ''}>
            <strong className="status">{o.status ? t[o.status] : ''}</strong>
            {o.total && ` · ${money(o.total.amountCents, o.total.currency, lang)}`}
          </p>
        )}
        {o && (o.status === 'AWAITING_PAYMENT' || o.status === 'PENDING') && <p>{t.waitingPayment}</p>}
        {o?.status === 'PAYMENT_FAILED' && <p role="alert">{t.paymentFailed}</p>}
        {o?.status === 'PAID' && <p><a href="#/learning">{t.learning}</a></p>}
      </div>
    </section>
  );
}
