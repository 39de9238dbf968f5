import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page, type Review } from '../api.ts';
import { Card, ErrorNote, when } from '../ui.tsx';
import { TextArea } from './form-parts.tsx';

/** A listing's reviews, newest first, each with the partner's answer (write one, or edit it). */
export function ListingReviews({ listingId, canWrite }: { listingId: string; canWrite: boolean }) {
  const reviews = useQuery({
    queryKey: ['listing-reviews', listingId],
    queryFn: () => api<Page<Review>>('GET', `/v1/marketplace/listings/${listingId}/reviews?limit=50`),
  });
  return (
    <Card title="Reviews">
      <ErrorNote error={reviews.error} />
      {reviews.data?.data.length === 0 && <p>No reviews yet.</p>}
      <ol className="reviews">
        {reviews.data?.data.map((r) => (
          <ReviewItem key={r.id} review={r} listingId={listingId} canWrite={canWrite} />
        ))}
      </ol>
    </Card>
  );
}

function ReviewItem({ review: r, listingId, canWrite }: { review: Review; listingId: string; canWrite: boolean }) {
  const qc = useQueryClient();
  const [answer, setAnswer] = useState(r.response?.body ?? '');
  const respond = useMutation({
    mutationFn: () => api<Review>('PUT', `/v1/marketplace/reviews/${r.id}/response`, { body: answer }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['listing-reviews', listingId] }),
  });
  return (
    <li>
      <p>
        <strong>
          <span aria-hidden="true">{'★'.repeat(r.rating)}</span>
          <span className="sr-only">{r.rating} of 5 stars</span>
        </strong>{' '}
        by {r.customer_id} · {when(r.submitted_at)}
        {r.hidden ? ' · hidden by a moderator' : ''}
      </p>
      <p className="prewrap">{r.body}</p>
      {r.response && (
        <blockquote>
          <strong>Your answer</strong> ({when(r.response.updated_at)}): {r.response.body}
        </blockquote>
      )}
      {canWrite && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            respond.mutate();
          }}
        >
          <TextArea label={`Answer to the review by ${r.customer_id}`} value={answer} onChange={setAnswer} rows={2} />
          <ErrorNote error={respond.error} />
          <button type="submit" disabled={respond.isPending}>
            {r.response ? 'Update answer' : 'Answer'}
          </button>
        </form>
      )}
    </li>
  );
}
