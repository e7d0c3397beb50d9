// Production payment: Stripe Elements collects the card in Stripe's own iframe and
// `stripe.confirmPayment` confirms the PaymentIntent with its client secret; no card data
// reaches the storefront or Pupitre, which learns the outcome from Stripe's signed webhook.
// Loaded lazily, so that a page that never pays never fetches Stripe.js. (Not exercised by the
// end-to-end test, which runs against the Stripe stand-in: js.stripe.com is not reachable there.)
import { useMemo, useState } from 'react';
import { loadStripe } from '@stripe/stripe-js';
import { Elements, PaymentElement, useElements, useStripe } from '@stripe/react-stripe-js';
import { go } from '../router';
import { useT } from '../i18n';

export default function StripePayment({ publishableKey, clientSecret, orderId }: { publishableKey: string; clientSecret: string; orderId: string }) {
  const { lang } = useT();
  const stripe = useMemo(() => loadStripe(publishableKey, { locale: lang }), [publishableKey, lang]);
  return (
    <Elements stripe={stripe} options={{ clientSecret, locale: lang }}>
      <PayForm orderId={orderId} />
    </Elements>
  );
}

function PayForm({ orderId }: { orderId: string }) {
  const { t } = useT();
  const stripe = useStripe();
  const elements = useElements();
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const pay = async () => {
    if (!stripe || !elements) return;
    setBusy(true);
    const result = await stripe.confirmPayment({
      elements,
      redirect: 'if_required',
      confirmParams: { return_url: `${window.location.origin}/#/order/${orderId}` },
    });
    setBusy(false);
    if (result.error) setFailure(result.error.message ?? t.error);
    else go(`/order/${orderId}`);
  };
  return (
    <div className="payment">
      <PaymentElement />
      {failure && <p role="alert" className="error">{failure}</p>}
      <button type="button" disabled={!stripe || busy} onClick={pay}>{t.pay}</button>
    </div>
  );
}
