import { useMutation, useQuery } from 'urql';
import { StorefrontCompleteLessonDocument, StorefrontLearningDocument } from '../generated/graphql';
import { date, useT } from '../i18n';
import { ErrorMessage } from '../ErrorMessage';
import { RequireSignIn } from '../App';

export function Learning() {
  return (
    <RequireSignIn>
      <MyLearning />
    </RequireSignIn>
  );
}

function MyLearning() {
  const { t, lang } = useT();
  const [{ data, error }, refetch] = useQuery({ query: StorefrontLearningDocument });
  const [complete, completeLesson] = useMutation(StorefrontCompleteLessonDocument);
  const enrollments = (data?.me?.enrollments ?? []).filter((e) => e.status === 'ACTIVE' || e.status === 'COMPLETED');
  return (
    <section aria-labelledby="learning-title">
      <h1 id="learning-title">{t.learning}</h1>
      <ErrorMessage error={error ?? complete.error} />
      {data && enrollments.length === 0 && <p>{t.noEnrollment}</p>}
      {enrollments.map((e) => (
        <article key={e.id} className="enrollment" aria-labelledby={`enr-${e.id}`}>
          <h2 id={`enr-${e.id}`}>{e.session?.course?.title}</h2>
          {e.session && <p className="meta">{date(e.session.startsAt, lang)}</p>}
          <p>
            {t.progress}: <progress max={100} value={e.progress.percent} aria-label={t.progress} /> <span className="percent">{e.progress.percent} %</span>
            {' '}({e.progress.completedLessons}/{e.progress.totalLessons})
          </p>
          <ol>
            {e.session?.course?.lessons.map((l) => {
              const done = e.completedLessonIds.includes(l.id);
              return (
                <li key={l.id}>
                  {l.title}{' '}
                  {done ? (
                    <span className="done">✓ {t.done}</span>
                  ) : (
                    <button
                      type="button"
                      aria-label={`${t.markDone} — ${l.title}`}
                      disabled={complete.fetching}
                      onClick={async () => {
                        await completeLesson({ enrollmentId: e.id, lessonId: l.id });
                        refetch({ requestPolicy: 'network-only' });
                      }}
                    >
                      {t.markDone}
                    </button>
                  )}
                </li>
              );
            })}
          </ol>
        </article>
      ))}
    </section>
  );
}
