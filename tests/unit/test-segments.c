/* Unit tests of the range sets and the work of a segmented download's
 * connections (src/bt-segments.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-segments.h"

#define MIB (G_GUINT64_CONSTANT (1) << 20)

/* The set as "start-end start-end" */
static char *
describe (const BtRangeSet *set)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < bt_range_set_get_n_ranges (set); i++)
    {
      BtRange r = bt_range_set_get_range (set, i);

      g_string_append_printf (out, "%s%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, i > 0 ? " " : "",
                              r.start, r.end);
    }
  return g_string_free (out, FALSE);
}

static void
assert_set (const BtRangeSet *set, const char *expected, guint64 total)
{
  g_autofree char *got = describe (set);

  g_assert_cmpstr (got, ==, expected);
  g_assert_cmpuint (bt_range_set_get_total (set), ==, total);
}

static void
test_add_merges (void)
{
  g_autoptr (BtRangeSet) set = bt_range_set_new ();

  bt_range_set_add (set, 30, 40);
  bt_range_set_add (set, 10, 20);
  bt_range_set_add (set, 50, 50); /* empty: nothing */
  assert_set (set, "10-20 30-40", 20);
  bt_range_set_add (set, 20, 30); /* touching both: one range */
  assert_set (set, "10-40", 30);
  bt_range_set_add (set, 45, 60);
  bt_range_set_add (set, 5, 12);
  bt_range_set_add (set, 35, 50); /* overlapping two */
  assert_set (set, "5-60", 55);
  bt_range_set_add (set, 100, 110);
  bt_range_set_add (set, 70, 80);
  bt_range_set_add (set, 0, 200); /* swallowing all */
  assert_set (set, "0-200", 200);
  g_assert_true (bt_range_set_is_prefix (set));
  g_assert_cmpuint (bt_range_set_get_prefix (set), ==, 200);

  /* Data that continues the last range (the fast path) */
  bt_range_set_add (set, 200, 300);
  bt_range_set_add (set, 250, 260);
  assert_set (set, "0-300", 300);
}

static void
test_queries (void)
{
  g_autoptr (BtRangeSet) set = bt_range_set_new ();
  g_autoptr (BtRangeSet) other = bt_range_set_new ();
  g_autoptr (BtRangeSet) diff = NULL;
  guint64 start = 0, end = 0;

  bt_range_set_add (set, 10, 20);
  bt_range_set_add (set, 30, 40);
  g_assert_false (bt_range_set_is_prefix (set));
  g_assert_cmpuint (bt_range_set_get_prefix (set), ==, 0);
  g_assert_true (bt_range_set_contains (set, 10, 20));
  g_assert_true (bt_range_set_contains (set, 12, 15));
  g_assert_false (bt_range_set_contains (set, 15, 31));
  g_assert_false (bt_range_set_contains (set, 20, 21));
  g_assert_false (bt_range_set_contains (set, 0, 1));
  g_assert_true (bt_range_set_contains (set, 5, 5));

  g_assert_true (bt_range_set_find_gap (set, 0, 100, &start, &end));
  g_assert_cmpuint (start, ==, 0);
  g_assert_cmpuint (end, ==, 10);
  g_assert_true (bt_range_set_find_gap (set, 12, 100, &start, &end));
  g_assert_cmpuint (start, ==, 20);
  g_assert_cmpuint (end, ==, 30);
  g_assert_true (bt_range_set_find_gap (set, 35, 100, &start, &end));
  g_assert_cmpuint (start, ==, 40);
  g_assert_cmpuint (end, ==, 100);
  g_assert_true (bt_range_set_find_gap (set, 22, 25, &start, &end));
  g_assert_cmpuint (end, ==, 25);
  g_assert_false (bt_range_set_find_gap (set, 30, 40, &start, &end));
  g_assert_false (bt_range_set_find_gap (set, 100, 100, &start, &end));

  bt_range_set_add (other, 0, 12);
  bt_range_set_add (other, 15, 35);
  diff = bt_range_set_difference (set, other);
  assert_set (diff, "12-15 35-40", 8);

  bt_range_set_clip (set, 35);
  assert_set (set, "10-20 30-35", 15);
  bt_range_set_clip (set, 15);
  assert_set (set, "10-15", 5);
  bt_range_set_set_prefix (set, 7);
  assert_set (set, "0-7", 7);
  bt_range_set_clear (set);
  assert_set (set, "", 0);
  g_assert_true (bt_range_set_is_prefix (set));
}

static void
test_variant (void)
{
  g_autoptr (BtRangeSet) set = bt_range_set_new ();
  g_autoptr (BtRangeSet) back = NULL;
  g_autoptr (GVariant) v = NULL;
  g_autoptr (GVariant) unsorted
      = g_variant_ref_sink (g_variant_new_parsed ("[(@t 30, @t 5), (0, 10), (10, 5), (100, 0)]"));
  g_autoptr (GVariant) overflow
      = g_variant_ref_sink (g_variant_new_parsed ("[(@t 18446744073709551615, @t 2)]"));
  g_autoptr (GVariant) wrong = g_variant_ref_sink (g_variant_new_parsed ("[(@u 1, @u 2)]"));
  g_autoptr (BtRangeSet) merged = bt_range_set_new_from_variant (unsorted);

  bt_range_set_add (set, 0, 10);
  bt_range_set_add (set, 20, 25);
  v = g_variant_ref_sink (bt_range_set_to_variant (set));
  g_assert_cmpstr (g_variant_get_type_string (v), ==, "a(tt)");
  {
    g_autofree char *text = g_variant_print (v, FALSE);

    g_assert_cmpstr (text, ==, "[(0, 10), (20, 5)]");
  }
  back = bt_range_set_new_from_variant (v);
  g_assert_true (bt_range_set_equal (set, back));

  /* Sorted and merged, whatever came in */
  assert_set (merged, "0-15 30-35", 20);
  g_assert_null (bt_range_set_new_from_variant (overflow));
  g_assert_null (bt_range_set_new_from_variant (wrong));
  g_assert_null (bt_range_set_new_from_variant (NULL));
}

/* A download of @total bytes over @n connections of different speeds,
 * step by step: every byte is written exactly once, every connection
 * that finishes its segment takes new work while at least two halves of
 * min_split remain, and the lead's single segment is split by stealing
 * into n segments at the start */
static void
simulate (guint64 total, guint n, const guint64 *speeds, guint64 min_split,
          const BtRangeSet *wanted, const BtRangeSet *done_before)
{
  g_autoptr (BtRangeSet) done
      = done_before != NULL ? bt_range_set_copy (done_before) : bt_range_set_new ();
  BtSegment seg[16];
  gboolean busy[16] = { FALSE };
  guint steps = 0;

  g_assert_cmpuint (n, <=, G_N_ELEMENTS (seg));
  /* One connection after another joins, as they do after the first answer */
  for (guint c = 0; c < n; c++)
    {
      BtSegment others[16];
      guint map[16], n_others = 0;
      gint victim;

      for (guint i = 0; i < n; i++)
        if (busy[i])
          {
            map[n_others] = i;
            others[n_others++] = seg[i];
          }
      if (!bt_segments_next (done, total, wanted, others, n_others, MIB, min_split, &seg[c],
                             &victim))
        break;
      if (victim >= 0)
        seg[map[victim]].end = others[victim].end;
      seg[c].rate = 0; /* not measured yet */
      busy[c] = TRUE;
    }

  while (bt_range_set_get_total (done) < total)
    {
      g_assert_cmpuint (++steps, <, 1000000);
      for (guint c = 0; c < n; c++)
        {
          guint64 step;

          if (!busy[c])
            continue;
          step = MIN (speeds[c], seg[c].end - seg[c].pos);
          {
            g_autoptr (BtRangeSet) w = bt_range_set_new ();
            g_autoptr (BtRangeSet) overlap = NULL;

            bt_range_set_add (w, seg[c].pos, seg[c].pos + step);
            overlap = bt_range_set_difference (w, done);
            /* Never a byte twice */
            g_assert_cmpuint (bt_range_set_get_total (overlap), ==, step);
          }
          bt_range_set_add (done, seg[c].pos, seg[c].pos + step);
          seg[c].pos += step;
          seg[c].rate = speeds[c]; /* a step is a second */
          if (seg[c].pos < seg[c].end)
            continue;

          /* Free: it takes new work, or stops if none is worth it */
          {
            BtSegment others[16];
            guint map[16], n_others = 0;
            gint victim;
            gboolean worth = FALSE;

            busy[c] = FALSE;
            for (guint i = 0; i < n; i++)
              if (busy[i])
                {
                  map[n_others] = i;
                  others[n_others++] = seg[i];
                  worth = worth || seg[i].end - seg[i].pos >= 2 * MAX (min_split, seg[i].rate);
                }
            if (bt_segments_next (done, total, wanted, others, n_others, MIB, min_split, &seg[c],
                                  &victim))
              {
                g_assert_cmpuint (seg[c].pos, <, seg[c].end);
                seg[c].rate = speeds[c];
                if (victim >= 0)
                  {
                    g_assert_cmpuint (others[victim].end, >, seg[map[victim]].pos);
                    seg[map[victim]].end = others[victim].end;
                  }
                busy[c] = TRUE;
              }
            else
              {
                /* Idle only when nothing is left worth stealing: no
                 * other connection would need two seconds for what it has
                 * left, or its halves would be under min_split */
                g_assert_false (worth);
              }
          }
        }
    }
  g_assert_cmpuint (bt_range_set_get_n_ranges (done), ==, 1);
  g_assert_cmpuint (bt_range_set_get_prefix (done), ==, total);
}

static void
test_split_by_stealing (void)
{
  BtSegment active[4] = { { 0, 64 * MIB } };
  g_autoptr (BtRangeSet) done = bt_range_set_new ();
  BtSegment out;
  gint victim;

  /* The lead's segment, halved, then the largest halved, twice */
  g_assert_true (bt_segments_next (done, 64 * MIB, NULL, active, 1, MIB, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 0);
  g_assert_cmpuint (active[0].end, ==, 32 * MIB);
  g_assert_cmpuint (out.pos, ==, 32 * MIB);
  g_assert_cmpuint (out.end, ==, 64 * MIB);
  active[1] = out;
  active[0].pos = 2 * MIB; /* it moved on meanwhile */
  bt_range_set_add (done, 0, 2 * MIB);
  g_assert_true (bt_segments_next (done, 64 * MIB, NULL, active, 2, MIB, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 1);
  g_assert_cmpuint (out.pos, ==, 48 * MIB);
  active[2] = out;
  g_assert_true (bt_segments_next (done, 64 * MIB, NULL, active, 3, MIB, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 0);
  g_assert_cmpuint (out.pos, ==, 17 * MIB);
  g_assert_cmpuint (out.end, ==, 32 * MIB);

  /* Nothing worth stealing: two halves of at least min_split */
  bt_range_set_set_prefix (done, 10);
  active[0] = (BtSegment){ 10, 10 + 2 * MIB - 1 };
  g_assert_false (
      bt_segments_next (done, 10 + 2 * MIB - 1, NULL, active, 1, MIB, MIB, &out, &victim));
}

/* A half a fast connection would soon have fetched is not stolen (it is on
 * its way already); the same half from a slow one is */
static void
test_steal_needs_time (void)
{
  g_autoptr (BtRangeSet) done = bt_range_set_new ();
  BtSegment fast[1] = { { 10 * MIB, 16 * MIB, 4 * MIB } };
  BtSegment slow[1] = { { 10 * MIB, 16 * MIB, 1 * MIB } };
  BtSegment out;
  gint victim;

  bt_range_set_set_prefix (done, 10 * MIB);
  bt_range_set_add (done, 16 * MIB, 64 * MIB);
  g_assert_false (bt_segments_next (done, 64 * MIB, NULL, fast, 1, MIB, MIB, &out, &victim));
  g_assert_true (bt_segments_next (done, 64 * MIB, NULL, slow, 1, MIB, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 0);
  g_assert_cmpuint (out.pos, ==, 13 * MIB);
  g_assert_cmpuint (slow[0].end, ==, 13 * MIB);
  g_assert_cmpuint (out.rate, ==, 0);
}

static void
test_downloads (void)
{
  static const guint64 even[] = { 1 * MIB, 1 * MIB, 1 * MIB, 1 * MIB };
  static const guint64 uneven[] = { 64 * 1024, 3 * MIB, 700 * 1024, 5 * 1024 * 1024 + 3 };
  static const guint64 sixteen[] = { 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000,
                                     9000, 1000, 2000, 3000, 4000, 5000, 6000, 7000 };
  g_autoptr (BtRangeSet) holes = bt_range_set_new ();
  g_autoptr (BtRangeSet) wanted = bt_range_set_new ();

  simulate (64 * MIB, 4, even, MIB, NULL, NULL);
  simulate (64 * MIB + 12345, 4, uneven, MIB, NULL, NULL);
  simulate (3 * MIB, 16, sixteen, 64 * 1024, NULL, NULL);
  simulate (100, 4, even, MIB, NULL, NULL);
  simulate (10 * MIB, 1, uneven, MIB, NULL, NULL);

  /* Resumed: the holes are fetched, nothing on disk again */
  bt_range_set_add (holes, 0, 5 * MIB);
  bt_range_set_add (holes, 9 * MIB, 20 * MIB);
  bt_range_set_add (holes, 40 * MIB + 17, 41 * MIB);
  simulate (64 * MIB, 4, uneven, MIB, NULL, holes);

  /* What the app asks for first does not change the outcome */
  bt_range_set_add (wanted, 63 * MIB, 64 * MIB);
  simulate (64 * MIB, 4, uneven, MIB, wanted, NULL);
  simulate (64 * MIB, 1, even, MIB, wanted, holes);
}

static void
test_wanted (void)
{
  g_autoptr (BtRangeSet) done = bt_range_set_new ();
  g_autoptr (BtRangeSet) wanted = bt_range_set_new ();
  BtSegment active[2] = { { 0, 32 * MIB }, { 32 * MIB, 64 * MIB } };
  BtSegment out;
  gint victim;

  /* Far from the connection that would bring it: a free one goes there,
   * and on to the end of that connection's segment */
  bt_range_set_add (wanted, 63 * MIB, 64 * MIB);
  g_assert_true (bt_segments_next (done, 64 * MIB, wanted, active, 2, MIB, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 1);
  g_assert_cmpuint (out.pos, ==, 63 * MIB);
  g_assert_cmpuint (out.end, ==, 64 * MIB);
  g_assert_cmpuint (active[1].end, ==, 63 * MIB);

  /* Near the connection that brings it: the usual work (stealing) */
  active[0] = (BtSegment){ 0, 62 * MIB + 512 * 1024 };
  active[1] = (BtSegment){ 62 * MIB + 512 * 1024, 64 * MIB };
  g_assert_true (bt_segments_next (done, 64 * MIB, wanted, active, 2, MIB, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 0);
  g_assert_cmpuint (out.pos, ==, 31 * MIB + 256 * 1024);

  /* Already on disk: nothing special */
  active[0] = (BtSegment){ 0, 32 * MIB };
  active[1] = (BtSegment){ 32 * MIB, 60 * MIB };
  bt_range_set_add (done, 60 * MIB, 64 * MIB);
  g_assert_true (bt_segments_next (done, 64 * MIB, wanted, active, 2, MIB, MIB, &out, &victim));
  g_assert_cmpuint (out.pos, ==, 16 * MIB);

  /* Nobody fetches it: a free connection takes it and what follows */
  bt_range_set_clear (done);
  active[0] = (BtSegment){ 0, 10 * MIB };
  bt_range_set_clear (wanted);
  bt_range_set_add (wanted, 20 * MIB, 21 * MIB);
  g_assert_true (bt_segments_next (done, 64 * MIB, wanted, active, 1, MIB, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, -1);
  g_assert_cmpuint (out.pos, ==, 20 * MIB);
  g_assert_cmpuint (out.end, ==, 64 * MIB);
}

static void
test_redirect (void)
{
  g_autoptr (BtRangeSet) done = bt_range_set_new ();
  g_autoptr (BtRangeSet) wanted = bt_range_set_new ();
  BtSegment one[1] = { { 5 * MIB, 64 * MIB } };
  BtSegment two[2] = { { 5 * MIB, 20 * MIB }, { 30 * MIB, 64 * MIB } };
  BtSegment out, next;
  gint victim;

  bt_range_set_add (done, 0, 5 * MIB);
  bt_range_set_add (wanted, 63 * MIB, 64 * MIB);

  /* One connection: it jumps to the wanted byte and goes on from there */
  g_assert_true (bt_segments_redirect (done, 64 * MIB, wanted, one, 1, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 0);
  g_assert_cmpuint (out.pos, ==, 63 * MIB);
  g_assert_cmpuint (out.end, ==, 64 * MIB);
  g_assert_cmpuint (one[0].pos, ==, 63 * MIB);
  /* Once there, it comes back for what it left */
  bt_range_set_add (done, 63 * MIB, 64 * MIB);
  g_assert_true (bt_segments_next (done, 64 * MIB, wanted, NULL, 0, MIB, MIB, &next, &victim));
  g_assert_cmpuint (next.pos, ==, 5 * MIB);
  g_assert_cmpuint (next.end, ==, 63 * MIB);

  /* Near enough: nobody moves */
  bt_range_set_clear (wanted);
  bt_range_set_add (wanted, 5 * MIB + 1000, 6 * MIB);
  g_assert_false (bt_segments_redirect (done, 64 * MIB, wanted, two, 2, MIB, &out, &victim));

  /* Nobody fetches it: the one with the most left goes */
  bt_range_set_clear (wanted);
  bt_range_set_add (wanted, 25 * MIB, 26 * MIB);
  g_assert_true (bt_segments_redirect (done, 64 * MIB, wanted, two, 2, MIB, &out, &victim));
  g_assert_cmpint (victim, ==, 1);
  g_assert_cmpuint (out.pos, ==, 25 * MIB);
  g_assert_cmpuint (out.end, ==, 63 * MIB); /* where the data on disk starts */

  /* Nothing runs: not a redirect (a new connection's work) */
  g_assert_false (bt_segments_redirect (done, 64 * MIB, wanted, NULL, 0, MIB, &out, &victim));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segments/range-set/add", test_add_merges);
  g_test_add_func ("/segments/range-set/queries", test_queries);
  g_test_add_func ("/segments/range-set/variant", test_variant);
  g_test_add_func ("/segments/split-by-stealing", test_split_by_stealing);
  g_test_add_func ("/segments/steal-needs-time", test_steal_needs_time);
  g_test_add_func ("/segments/downloads", test_downloads);
  g_test_add_func ("/segments/wanted", test_wanted);
  g_test_add_func ("/segments/redirect", test_redirect);
  return g_test_run ();
}
