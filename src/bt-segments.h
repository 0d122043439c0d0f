/* bt-segments.h: sets of byte ranges, and who fetches which (pure)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* [start, end) */
typedef struct
{
  guint64 start;
  guint64 end;
} BtRange;

typedef struct _BtRangeSet BtRangeSet;

BtRangeSet *bt_range_set_new (void);
BtRangeSet *bt_range_set_copy (const BtRangeSet *self);
void bt_range_set_free (BtRangeSet *self);
void bt_range_set_clear (BtRangeSet *self);
void bt_range_set_add (BtRangeSet *self, guint64 start, guint64 end);
void bt_range_set_add_set (BtRangeSet *self, const BtRangeSet *other);
void bt_range_set_set_prefix (BtRangeSet *self, guint64 end);
void bt_range_set_clip (BtRangeSet *self, guint64 end);
guint bt_range_set_get_n_ranges (const BtRangeSet *self);
BtRange bt_range_set_get_range (const BtRangeSet *self, guint index);
guint64 bt_range_set_get_total (const BtRangeSet *self);
guint64 bt_range_set_get_prefix (const BtRangeSet *self);
gboolean bt_range_set_is_prefix (const BtRangeSet *self);
gboolean bt_range_set_contains (const BtRangeSet *self, guint64 start, guint64 end);
gboolean bt_range_set_find_gap (const BtRangeSet *self, guint64 from, guint64 limit,
                                guint64 *out_start, guint64 *out_end);
BtRangeSet *bt_range_set_difference (const BtRangeSet *self, const BtRangeSet *other);
gboolean bt_range_set_equal (const BtRangeSet *a, const BtRangeSet *b);
GVariant *bt_range_set_to_variant (const BtRangeSet *self);
BtRangeSet *bt_range_set_new_from_variant (GVariant *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtRangeSet, bt_range_set_free)

/* What one connection of a segmented download fetches: from pos (the next
 * byte it writes) up to end, at rate bytes per second lately (0: not known
 * yet) */
typedef struct
{
  guint64 pos;
  guint64 end;
  guint64 rate;
} BtSegment;

gboolean bt_segments_next (const BtRangeSet *done, guint64 total, const BtRangeSet *wanted,
                           BtSegment *active, guint n_active, guint64 near, guint64 min_split,
                           BtSegment *out, gint *out_victim);
gboolean bt_segments_redirect (const BtRangeSet *done, guint64 total, const BtRangeSet *wanted,
                               BtSegment *active, guint n_active, guint64 near, BtSegment *out,
                               gint *out_victim);

G_END_DECLS
