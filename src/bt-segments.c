/* bt-segments.c: sets of byte ranges, and who fetches which
 *
 * Pure functions, unit-tested (tests/unit/test-segments.c):
 *
 *  - BtRangeSet: sorted, merged [start, end) ranges with their total; the
 *    data of a download on disk (RangesDownloaded, its checkpoint), the
 *    ranges an app asked for first (RequestRange);
 *  - the work of the connections of a segmented download, as aria2 does
 *    it: a connection that is free takes what the app asked for first,
 *    else the first part nobody fetches, else half of the largest segment
 *    left to another connection (work stealing), so that no connection
 *    idles while bytes remain;
 *  - where to send a connection when the app asks for a range that no
 *    connection reaches soon and none is free (a media player seeking).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-segments.h"

struct _BtRangeSet
{
  GArray *ranges; /* of BtRange, sorted, neither overlapping nor touching */
  guint64 total;
};

BtRangeSet *
bt_range_set_new (void)
{
  BtRangeSet *self = g_new0 (BtRangeSet, 1);

  self->ranges = g_array_new (FALSE, FALSE, sizeof (BtRange));
  return self;
}

BtRangeSet *
bt_range_set_copy (const BtRangeSet *self)
{
  BtRangeSet *copy = bt_range_set_new ();

  g_array_append_vals (copy->ranges, self->ranges->data, self->ranges->len);
  copy->total = self->total;
  return copy;
}

void
bt_range_set_free (BtRangeSet *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->ranges);
  g_free (self);
}

void
bt_range_set_clear (BtRangeSet *self)
{
  g_array_set_size (self->ranges, 0);
  self->total = 0;
}

/* The index of the first range that ends at or after @offset */
static guint
first_ending_at_or_after (const BtRangeSet *self, guint64 offset)
{
  guint lo = 0, hi = self->ranges->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (self->ranges, BtRange, mid).end < offset)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* Adds [start, end), merging what it overlaps or touches */
void
bt_range_set_add (BtRangeSet *self, guint64 start, guint64 end)
{
  guint first, last;
  BtRange merged = { start, end };

  if (start >= end)
    return;
  /* The common case: data that continues the last range */
  if (self->ranges->len > 0)
    {
      BtRange *tail = &g_array_index (self->ranges, BtRange, self->ranges->len - 1);

      if (tail->start <= start && start <= tail->end)
        {
          if (end > tail->end)
            {
              self->total += end - tail->end;
              tail->end = end;
            }
          return;
        }
    }
  first = first_ending_at_or_after (self, start);
  last = first;
  while (last < self->ranges->len && g_array_index (self->ranges, BtRange, last).start <= end)
    {
      BtRange *r = &g_array_index (self->ranges, BtRange, last);

      merged.start = MIN (merged.start, r->start);
      merged.end = MAX (merged.end, r->end);
      self->total -= r->end - r->start;
      last++;
    }
  if (last > first)
    g_array_remove_range (self->ranges, first, last - first);
  g_array_insert_val (self->ranges, first, merged);
  self->total += merged.end - merged.start;
}

void
bt_range_set_add_set (BtRangeSet *self, const BtRangeSet *other)
{
  for (guint i = 0; i < other->ranges->len; i++)
    {
      BtRange r = g_array_index (other->ranges, BtRange, i);

      bt_range_set_add (self, r.start, r.end);
    }
}

/* Makes the set [0, end): data written from the start without a gap */
void
bt_range_set_set_prefix (BtRangeSet *self, guint64 end)
{
  BtRange r = { 0, end };

  g_array_set_size (self->ranges, 0);
  self->total = 0;
  if (end == 0)
    return;
  g_array_append_val (self->ranges, r);
  self->total = end;
}

/* Drops everything at or beyond @end */
void
bt_range_set_clip (BtRangeSet *self, guint64 end)
{
  while (self->ranges->len > 0)
    {
      BtRange *tail = &g_array_index (self->ranges, BtRange, self->ranges->len - 1);

      if (tail->start >= end)
        {
          self->total -= tail->end - tail->start;
          g_array_set_size (self->ranges, self->ranges->len - 1);
          continue;
        }
      if (tail->end > end)
        {
          self->total -= tail->end - end;
          tail->end = end;
        }
      break;
    }
}

guint
bt_range_set_get_n_ranges (const BtRangeSet *self)
{
  return self->ranges->len;
}

BtRange
bt_range_set_get_range (const BtRangeSet *self, guint index)
{
  g_return_val_if_fail (index < self->ranges->len, (BtRange){ 0 });
  return g_array_index (self->ranges, BtRange, index);
}

guint64
bt_range_set_get_total (const BtRangeSet *self)
{
  return self->total;
}

/* Returns: how many bytes from offset 0 on are in the set without a gap */
guint64
bt_range_set_get_prefix (const BtRangeSet *self)
{
  if (self->ranges->len == 0 || g_array_index (self->ranges, BtRange, 0).start != 0)
    return 0;
  return g_array_index (self->ranges, BtRange, 0).end;
}

/* Whether the set is empty or one range from 0: data written in order */
gboolean
bt_range_set_is_prefix (const BtRangeSet *self)
{
  return self->ranges->len == 0
         || (self->ranges->len == 1 && g_array_index (self->ranges, BtRange, 0).start == 0);
}

/* Whether all of [start, end) is in the set */
gboolean
bt_range_set_contains (const BtRangeSet *self, guint64 start, guint64 end)
{
  guint i;

  if (start >= end)
    return TRUE;
  i = first_ending_at_or_after (self, start + 1);
  if (i >= self->ranges->len)
    return FALSE;
  return g_array_index (self->ranges, BtRange, i).start <= start
         && g_array_index (self->ranges, BtRange, i).end >= end;
}

/*
 * bt_range_set_find_gap:
 * @from: where to start looking
 * @limit: where to stop (the size of the resource)
 *
 * Returns: whether a byte in [@from, @limit) is missing from the set; the
 *   first missing run is then [*out_start, *out_end)
 */
gboolean
bt_range_set_find_gap (const BtRangeSet *self, guint64 from, guint64 limit, guint64 *out_start,
                       guint64 *out_end)
{
  guint64 start = from;
  guint i = first_ending_at_or_after (self, from + 1);

  if (i < self->ranges->len && g_array_index (self->ranges, BtRange, i).start <= start)
    {
      start = g_array_index (self->ranges, BtRange, i).end;
      i++;
    }
  if (start >= limit)
    return FALSE;
  *out_start = start;
  *out_end
      = i < self->ranges->len ? MIN (g_array_index (self->ranges, BtRange, i).start, limit) : limit;
  return TRUE;
}

/* Returns: (transfer full): what is in @self and not in @other */
BtRangeSet *
bt_range_set_difference (const BtRangeSet *self, const BtRangeSet *other)
{
  BtRangeSet *out = bt_range_set_new ();

  for (guint i = 0; i < self->ranges->len; i++)
    {
      BtRange r = g_array_index (self->ranges, BtRange, i);
      guint64 start, end;
      guint64 from = r.start;

      while (from < r.end && bt_range_set_find_gap (other, from, r.end, &start, &end))
        {
          bt_range_set_add (out, start, end);
          from = end;
        }
    }
  return out;
}

gboolean
bt_range_set_equal (const BtRangeSet *a, const BtRangeSet *b)
{
  return a->ranges->len == b->ranges->len
         && memcmp (a->ranges->data, b->ranges->data, a->ranges->len * sizeof (BtRange)) == 0;
}

/* Returns: (transfer floating): the set as sorted (offset, length) pairs,
 *   a(tt), as RangesDownloaded and RangesAdded carry it */
GVariant *
bt_range_set_to_variant (const BtRangeSet *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tt)"));
  for (guint i = 0; i < self->ranges->len; i++)
    {
      BtRange r = g_array_index (self->ranges, BtRange, i);

      g_variant_builder_add (&builder, "(tt)", r.start, r.end - r.start);
    }
  return g_variant_builder_end (&builder);
}

/*
 * bt_range_set_new_from_variant:
 * @value: (offset, length) pairs, a(tt), in any order
 *
 * Returns: (transfer full) (nullable): the set, or %NULL if @value is not
 *   a(tt) or a range goes beyond 2⁶⁴
 */
BtRangeSet *
bt_range_set_new_from_variant (GVariant *value)
{
  g_autoptr (BtRangeSet) self = NULL;
  GVariantIter iter;
  guint64 offset, length;

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE ("a(tt)")))
    return NULL;
  self = bt_range_set_new ();
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(tt)", &offset, &length))
    {
      if (length > G_MAXUINT64 - offset)
        return NULL;
      bt_range_set_add (self, offset, offset + length);
    }
  return g_steal_pointer (&self);
}

/* ---- The connections' work ---------------------------------------------- */

/* What is on disk or being fetched, leaving out the connection @skip */
static BtRangeSet *
claimed_set (const BtRangeSet *done, const BtSegment *active, guint n_active, gint skip)
{
  BtRangeSet *claimed = bt_range_set_copy (done);

  for (guint i = 0; i < n_active; i++)
    if ((gint) i != skip)
      bt_range_set_add (claimed, active[i].pos, active[i].end);
  return claimed;
}

/* The connection that will write @offset, or -1 */
static gint
owner_of (const BtSegment *active, guint n_active, guint64 offset)
{
  for (guint i = 0; i < n_active; i++)
    if (active[i].pos <= offset && offset < active[i].end)
      return (gint) i;
  return -1;
}

/* The first byte the app asked for that is neither on disk nor coming
 * soon: nobody fetches it (*out_owner = -1), or the connection that will
 * is more than @near bytes before it */
static gboolean
first_unserved (const BtRangeSet *done, guint64 total, const BtRangeSet *wanted,
                const BtSegment *active, guint n_active, guint64 near, guint64 *out_offset,
                gint *out_owner)
{
  g_autoptr (BtRangeSet) missing = NULL;

  if (wanted == NULL)
    return FALSE;
  missing = bt_range_set_difference (wanted, done);
  bt_range_set_clip (missing, total);
  for (guint i = 0; i < bt_range_set_get_n_ranges (missing); i++)
    {
      BtRange m = bt_range_set_get_range (missing, i);
      guint64 offset = m.start;

      while (offset < m.end)
        {
          gint owner = owner_of (active, n_active, offset);

          if (owner < 0 || offset - active[owner].pos >= near)
            {
              *out_offset = offset;
              *out_owner = owner;
              return TRUE;
            }
          offset = active[owner].end; /* it gets there soon, and goes on */
        }
    }
  return FALSE;
}

/*
 * bt_segments_next:
 * @done: the data on disk
 * @total: the size of the resource
 * @wanted: (nullable): what the app asked for first (RequestRange)
 * @active: (array length=n_active) (inout): what the other connections
 *   fetch; one of them may give up the end of its segment
 * @near: a connection this close before a wanted byte brings it soon
 * @min_split: the smallest half worth stealing
 * @out: (out): the work of the free connection
 * @out_victim: (out): the index in @active of the connection whose end
 *   was moved back to @out's start, or -1
 *
 * The work for a connection that is free (new, or done with its
 * segment): what the app asked for first; else the first run of bytes
 * nobody fetches, whole; else the second half of the largest segment left
 * (aria2's work stealing), if both halves are at least @min_split and its
 * connection would need two seconds or more for it at its rate: a half it
 * would soon have fetched is mostly on its way already (the server sends
 * ahead), and would come twice.
 *
 * Returns: %FALSE when nothing is left worth another connection
 */
gboolean
bt_segments_next (const BtRangeSet *done, guint64 total, const BtRangeSet *wanted,
                  BtSegment *active, guint n_active, guint64 near, guint64 min_split,
                  BtSegment *out, gint *out_victim)
{
  g_autoptr (BtRangeSet) claimed = claimed_set (done, active, n_active, -1);
  guint64 offset, start, end;
  gint owner, best = -1;

  *out_victim = -1;
  out->rate = 0;
  if (first_unserved (done, total, wanted, active, n_active, near, &offset, &owner))
    {
      if (owner < 0 && bt_range_set_find_gap (claimed, offset, total, &start, &end))
        {
          out->pos = start;
          out->end = end;
          return TRUE;
        }
      if (owner >= 0)
        {
          out->pos = offset;
          out->end = active[owner].end;
          active[owner].end = offset;
          *out_victim = owner;
          return TRUE;
        }
    }
  if (bt_range_set_find_gap (claimed, 0, total, &start, &end))
    {
      out->pos = start;
      out->end = end;
      return TRUE;
    }
  for (guint i = 0; i < n_active; i++)
    {
      guint64 left = active[i].end - active[i].pos;

      if (left >= MAX (2 * MAX (min_split, active[i].rate), 2)
          && (best < 0 || left > active[best].end - active[best].pos))
        best = (gint) i;
    }
  if (best < 0)
    return FALSE;
  out->pos = active[best].pos + (active[best].end - active[best].pos) / 2;
  out->end = active[best].end;
  out->rate = 0;
  active[best].end = out->pos;
  *out_victim = best;
  return TRUE;
}

/*
 * bt_segments_redirect:
 * @active: (array length=n_active) (inout): what the connections fetch;
 *   the one redirected gets @out
 * @out: (out): the new work of the connection redirected
 * @out_victim: (out): its index in @active
 *
 * When every connection is busy and the app asks for a range that none
 * brings soon (a media player seeking): the connection that would reach
 * it last jumps there, or, if nobody fetches it, the one with the most
 * left to fetch; what it leaves behind is fetched later. From the wanted
 * byte on, it goes on to the end of the run nobody else fetches, as a
 * player reads on from where it seeks.
 *
 * Returns: %FALSE if no connection needs to move
 */
gboolean
bt_segments_redirect (const BtRangeSet *done, guint64 total, const BtRangeSet *wanted,
                      BtSegment *active, guint n_active, guint64 near, BtSegment *out,
                      gint *out_victim)
{
  g_autoptr (BtRangeSet) claimed = NULL;
  guint64 offset, start, end;
  gint owner, victim = -1;

  *out_victim = -1;
  if (n_active == 0
      || !first_unserved (done, total, wanted, active, n_active, near, &offset, &owner))
    return FALSE;
  out->rate = 0;
  if (owner >= 0)
    {
      out->pos = offset;
      out->end = active[owner].end;
      out->rate = active[owner].rate;
      active[owner] = *out;
      *out_victim = owner;
      return TRUE;
    }
  for (guint i = 0; i < n_active; i++)
    if (victim < 0 || active[i].end - active[i].pos > active[victim].end - active[victim].pos)
      victim = (gint) i;
  claimed = claimed_set (done, active, n_active, victim);
  if (!bt_range_set_find_gap (claimed, offset, total, &start, &end))
    return FALSE;
  out->pos = start;
  out->end = end;
  out->rate = active[victim].rate;
  active[victim] = *out;
  *out_victim = victim;
  return TRUE;
}
