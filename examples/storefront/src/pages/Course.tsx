import { useQuery } from 'urql';
import { StorefrontCourseDocument } from '../generated/graphql';
import { date, money, useT } from '../i18n';
import { ErrorMessage } from '../ErrorMessage';

export function CoursePage({ slug }: { slug: string }) {
  const { t, lang } = useT();
  const [{ data, error, fetching }] = useQuery({ query: StorefrontCourseDocument, variables: { slug } });
  const c = data?.course;
  if (fetching && !c) return <p aria-live="polite">{t.loading}</p>;
  if (!c) return <ErrorMessage error={error} />;
  return (
    <article aria-labelledby="course-title">
      <h1 id="course-title">{c.title}</h1>
      <p className="meta">
        {money(c.price.amountCents, c.price.currency, lang)}
        {c.format && ` · ${t[c.format]}`}
        {c.level && ` · ${t[c.level]}`}
      </p>
      <p>{c.description}</p>
      <h2>{t.sessions}</h2>
      <ul className="sessions">
        {c.sessions.map((s) => (
          <li key={s.id}>
            <span>{date(s.startsAt, lang)} – {date(s.endsAt, lang)}</span>
            {s.location && <span> · {s.location}</span>}
            {s.instructor && <span> · {s.instructor.displayName}</span>}
            <span className="seats"> · {t.seatsLeft(s.seatsLeft)}</span>
            <a
              className="button"
              aria-disabled={s.seatsLeft === 0}
              aria-label={`${t.buy} — ${date(s.startsAt, lang)}`}
              href={s.seatsLeft > 0 ? `#/checkout/${s.id}` : undefined}
            >
              {t.buy}
            </a>
          </li>
        ))}
      </ul>
      <p><a href={`#/apply/${c.id}`}>{t.applyEo}</a></p>
      <h2>{t.lessons}</h2>
      <ol>
        {c.lessons.map((l) => <li key={l.id}>{l.title}{l.durationMinutes ? ` (${l.durationMinutes} min)` : ''}</li>)}
      </ol>
    </article>
  );
}
