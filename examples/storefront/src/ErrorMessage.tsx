import type { CombinedError } from 'urql';
import { useT } from './i18n';

/** An API error as the person can act on it: the message, and the field it names. */
export function ErrorMessage({ error }: { error?: CombinedError | { message: string; extensions?: Record<string, unknown> }[] | null }) {
  const { t } = useT();
  if (!error) return null;
  const list = Array.isArray(error) ? error : error.graphQLErrors.length ? error.graphQLErrors : [{ message: error.message, extensions: {} }];
  return (
    <div role="alert" className="error">
      {list.map((e, i) => (
        <p key={i}>
          {t.error} {String(e.extensions?.code ?? '')}: {e.message}
          {e.extensions?.field ? ` (${String(e.extensions.field)})` : ''}
        </p>
      ))}
    </div>
  );
}
